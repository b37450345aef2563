package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/portico-dev/portico/internal/store"
	"github.com/portico-dev/portico/internal/workflow/engine"
)

// syncSchedules gives every workflow with a start.schedule a row holding
// its next start, and recomputes it when the definition changed.
func (rt *Runtime) syncSchedules(ctx context.Context) error {
	now := store.Now()
	for _, wf := range rt.reg.List() {
		s := wf.Definition.Schedule()
		if s == nil {
			continue
		}
		var next any
		t, err := engine.NextStart(s, now)
		switch {
		case errors.Is(err, engine.ErrScheduleOver):
		case err != nil:
			rt.log.Warn("workflow schedule", "workflow", wf.ID, "error", err)
			continue
		default:
			next = t.UTC().Truncate(time.Microsecond)
		}
		_, err = rt.db.ExecContext(ctx, `INSERT INTO orchestrator_schedules (workflow_id, definition_hash, next_at) VALUES ($1, $2, $3)
			ON CONFLICT (workflow_id) DO UPDATE SET definition_hash = excluded.definition_hash, next_at = excluded.next_at
			WHERE orchestrator_schedules.definition_hash <> excluded.definition_hash`, wf.ID, wf.Hash, next)
		if err != nil {
			return fmt.Errorf("schedule of %s: %w", wf.ID, err)
		}
	}
	return nil
}

// fireSchedules starts the instances whose scheduled time has come. Each
// replica advances a due row with a compare-and-set on its old time, and
// only the one that succeeds starts the instance.
func (rt *Runtime) fireSchedules(ctx context.Context) error {
	now := store.Now()
	rows, err := rt.db.QueryContext(ctx, `SELECT workflow_id, next_at FROM orchestrator_schedules WHERE next_at <= $1`, now)
	if err != nil {
		return err
	}
	type due struct {
		id string
		at time.Time
	}
	var list []due
	for rows.Next() {
		var d due
		if err := rows.Scan(&d.id, &d.at); err != nil {
			rows.Close()
			return err
		}
		list = append(list, d)
	}
	rows.Close()
	for _, d := range list {
		wf, ok := rt.reg.Get(d.id)
		if !ok || wf.Definition.Schedule() == nil {
			continue
		}
		var next any
		if t, err := engine.NextStart(wf.Definition.Schedule(), now); err == nil {
			next = t.UTC().Truncate(time.Microsecond)
		}
		r, err := rt.db.ExecContext(ctx, `UPDATE orchestrator_schedules SET next_at = $1 WHERE workflow_id = $2 AND next_at = $3`, next, d.id, d.at)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n != 1 {
			continue // another replica started it
		}
		if _, err := rt.Start(ctx, StartRequest{WorkflowID: d.id, Data: map[string]any{}, Actor: "schedule"}); err != nil {
			rt.log.Error("scheduled start", "workflow", d.id, "error", err)
		}
	}
	return nil
}
