package scaffolder

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/portico-dev/portico/internal/errs"
	"github.com/portico-dev/portico/internal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations create the scaffolder's tables.
var Migrations = store.EmbeddedMigrations("scaffolder", migrationFS, "migrations")

// taskStore reads and writes tasks and their events. Writes by a running
// task name the run that claimed it (run_id), so a replica that lost the
// task (recovered elsewhere, failed by the janitor) cannot write over it.
type taskStore struct {
	db     *store.DB
	sealer *sealer
}

// errLostClaim means the task is no longer this run's: another replica
// recovered it, or it ended.
var errLostClaim = errors.New("the task is no longer held by this run")

func (s *taskStore) create(ctx context.Context, spec *TaskSpec, createdBy string, secrets map[string]string) (string, error) {
	id := uuid.NewString()
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return "", err
	}
	sealed, err := s.sealer.seal(secrets)
	if err != nil {
		return "", err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO scaffolder_tasks (id, spec, status, created_at, created_by, secrets) VALUES ($1, $2, $3, $4, $5, $6)`,
		id, string(specJSON), StatusOpen, store.Now(), nullString(createdBy), sealed)
	if err != nil {
		return "", fmt.Errorf("store task: %w", err)
	}
	return id, nil
}

// claimedTask is a task a run has claimed.
type claimedTask struct {
	ID        string
	RunID     string
	Spec      TaskSpec
	Secrets   map[string]string
	State     taskState
	CreatedBy string
	// Recovered is set when the task ran before (recovery or retry).
	Recovered bool
	// StartOver is set when the latest recovery asked to start over.
	StartOver bool
}

// claim takes the oldest open task, or returns nil. Secrets stay stored
// only when recovery may need them again.
func (s *taskStore) claim(ctx context.Context, keepSecrets bool) (*claimedTask, error) {
	// A task that cannot run (damaged row, secrets sealed with another key)
	// is failed in place, and the next one is tried, so that one bad row
	// does not stop the queue.
	for {
		c, unusable, err := s.claimOne(ctx, keepSecrets)
		if err != nil || !unusable {
			return c, err
		}
	}
}

func (s *taskStore) claimOne(ctx context.Context, keepSecrets bool) (c *claimedTask, unusable bool, err error) {
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		c, unusable = nil, false
		var id, specJSON string
		var sealed, state, createdBy sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT id, spec, secrets, state, created_by FROM scaffolder_tasks WHERE status = 'open' ORDER BY created_at, id LIMIT 1 `+s.db.SkipLocked()).
			Scan(&id, &specJSON, &sealed, &state, &createdBy)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		ct := &claimedTask{ID: id, RunID: uuid.NewString(), CreatedBy: createdBy.String}
		var problem error
		if err := json.Unmarshal([]byte(specJSON), &ct.Spec); err != nil {
			problem = fmt.Errorf("the task's stored spec is damaged: %w", err)
		} else if state.Valid && state.String != "" {
			if err := json.Unmarshal([]byte(state.String), &ct.State); err != nil {
				problem = fmt.Errorf("the task's stored state is damaged: %w", err)
			}
		}
		if problem == nil {
			var secretsPtr *string
			if sealed.Valid {
				secretsPtr = &sealed.String
			}
			if ct.Secrets, err = s.sealer.open(secretsPtr); err != nil {
				problem = err
			}
		}
		if problem != nil {
			unusable = true
			if _, err := tx.ExecContext(ctx, `UPDATE scaffolder_tasks SET status = 'failed', secrets = NULL, run_id = NULL WHERE id = $1`, id); err != nil {
				return err
			}
			_, err := s.addEvent(ctx, tx, id, EventCompletion, map[string]any{
				"message": "Run completed with status: failed",
				"error":   map[string]string{"name": "Error", "message": "The task cannot run: " + problem.Error()},
			})
			return err
		}
		// Has this task run before? A recovered event says so, and says
		// whether to start over.
		var body sql.NullString
		err = tx.QueryRowContext(ctx, `SELECT body FROM scaffolder_task_events WHERE task_id = $1 AND event_type = 'recovered' ORDER BY id DESC LIMIT 1`, id).Scan(&body)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		default:
			ct.Recovered = true
			var rb struct {
				RecoverStrategy string `json:"recoverStrategy"`
			}
			_ = json.Unmarshal([]byte(body.String), &rb)
			ct.StartOver = rb.RecoverStrategy == "startOver"
		}
		set := ""
		if !keepSecrets && !ct.Spec.startOver() {
			set = ", secrets = NULL"
		}
		if _, err := tx.ExecContext(ctx, `UPDATE scaffolder_tasks SET status = 'processing', last_heartbeat_at = $2, run_id = $3`+set+` WHERE id = $1`,
			id, store.Now(), ct.RunID); err != nil {
			return err
		}
		c = ct
		return nil
	})
	return c, unusable, err
}

// heartbeat records that the run is alive. It returns errLostClaim when the
// task is no longer the run's, and whether a cancel was asked for.
func (s *taskStore) heartbeat(ctx context.Context, id, runID string) (cancel bool, err error) {
	// RETURNING needs the writer, which on SQLite only a transaction uses.
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `UPDATE scaffolder_tasks SET last_heartbeat_at = $3 WHERE id = $1 AND run_id = $2 AND status = 'processing' RETURNING cancel_requested`,
			id, runID, store.Now()).Scan(&cancel)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return false, errLostClaim
	}
	return cancel, err
}

// log appends one event outside a transaction.
func (s *taskStore) log(ctx context.Context, taskID, typ string, body any) (int64, error) {
	if s.db.Dialect() == store.Postgres {
		// One statement commits by itself: one round trip per log line.
		return s.addEvent(ctx, s.db, taskID, typ, body)
	}
	// On SQLite only the writer may insert, and a transaction uses it.
	var id int64
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = s.addEvent(ctx, tx, taskID, typ, body)
		return err
	})
	return id, err
}

// addEvent appends an event inside tx. body is JSON-encoded.
func (s *taskStore) addEvent(ctx context.Context, q store.Querier, taskID, typ string, body any) (int64, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	var id int64
	err = q.QueryRowContext(ctx, `INSERT INTO scaffolder_task_events (task_id, body, event_type, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
		taskID, string(b), typ, store.Now()).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("store task event: %w", err)
	}
	return id, nil
}

// updateState changes the task's state in one transaction, only while the
// run holds the task.
func (s *taskStore) updateState(ctx context.Context, id, runID string, fn func(*taskState)) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		var state sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT state FROM scaffolder_tasks WHERE id = $1 AND run_id = $2 AND status = 'processing'`, id, runID).Scan(&state)
		if errors.Is(err, sql.ErrNoRows) {
			return errLostClaim
		}
		if err != nil {
			return err
		}
		var st taskState
		if state.Valid && state.String != "" {
			if err := json.Unmarshal([]byte(state.String), &st); err != nil {
				return fmt.Errorf("task %s has a damaged state: %w", id, err)
			}
		}
		fn(&st)
		b, err := json.Marshal(st)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE scaffolder_tasks SET state = $2 WHERE id = $1`, id, string(b))
		return err
	})
}

// complete ends a run: the task takes status, its secrets are dropped and
// a completion event is added.
func (s *taskStore) complete(ctx context.Context, id, runID, status string, body any) (int64, error) {
	var eventID int64
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE scaffolder_tasks SET status = $3, secrets = NULL, run_id = NULL, cancel_requested = FALSE WHERE id = $1 AND run_id = $2 AND status = 'processing'`,
			id, runID, status)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errLostClaim
		}
		eventID, err = s.addEvent(ctx, tx, id, EventCompletion, body)
		return err
	})
	return eventID, err
}

// handOver gives a running task back to the queue (a replica is stopping),
// so that the next worker resumes it without waiting for it to go stale.
func (s *taskStore) handOver(ctx context.Context, id, runID string) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE scaffolder_tasks SET status = 'open', run_id = NULL WHERE id = $1 AND run_id = $2 AND status = 'processing'`, id, runID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errLostClaim
		}
		_, err = s.addEvent(ctx, tx, id, EventRecovered, map[string]any{"recoverStrategy": "none", "message": "The replica running this task stopped; the task resumes on the next worker."})
		return err
	})
}

// recoverStale re-opens processing tasks whose heartbeat is older than
// before (all of them when before is zero), each with a recovered event.
func (s *taskStore) recoverStale(ctx context.Context, before time.Time) ([]string, error) {
	var ids []string
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		ids = nil
		query := `SELECT id, spec FROM scaffolder_tasks WHERE status = 'processing'`
		args := []any{}
		if !before.IsZero() {
			query += ` AND (last_heartbeat_at IS NULL OR last_heartbeat_at <= $1)`
			args = append(args, before)
		}
		rows, err := tx.QueryContext(ctx, query+" "+s.db.SkipLocked(), args...)
		if err != nil {
			return err
		}
		type found struct{ id, strategy string }
		var all []found
		for rows.Next() {
			var id, specJSON string
			if err := rows.Scan(&id, &specJSON); err != nil {
				rows.Close()
				return err
			}
			var spec TaskSpec
			_ = json.Unmarshal([]byte(specJSON), &spec)
			strategy := "none"
			if spec.startOver() {
				strategy = "startOver"
			}
			all = append(all, found{id, strategy})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, f := range all {
			if _, err := tx.ExecContext(ctx, `UPDATE scaffolder_tasks SET status = 'open', run_id = NULL, last_heartbeat_at = $2 WHERE id = $1`, f.id, store.Now()); err != nil {
				return err
			}
			if _, err := s.addEvent(ctx, tx, f.id, EventRecovered, map[string]any{"recoverStrategy": f.strategy}); err != nil {
				return err
			}
			ids = append(ids, f.id)
		}
		return nil
	})
	return ids, err
}

// failStale fails processing tasks whose heartbeat is older than before:
// the janitor's answer to hung tasks when recovery is off.
func (s *taskStore) failStale(ctx context.Context, before time.Time) ([]string, error) {
	var ids []string
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		ids = nil
		rows, err := tx.QueryContext(ctx, `SELECT id FROM scaffolder_tasks WHERE status = 'processing' AND last_heartbeat_at <= $1 `+s.db.SkipLocked(), before)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `UPDATE scaffolder_tasks SET status = 'failed', secrets = NULL, run_id = NULL WHERE id = $1`, id); err != nil {
				return err
			}
			msg := "This task was marked as stale as it exceeded its timeout"
			if _, err := s.addEvent(ctx, tx, id, EventLog, map[string]any{"message": msg, "status": StatusFailed}); err != nil {
				return err
			}
			if _, err := s.addEvent(ctx, tx, id, EventCompletion, map[string]any{
				"message": "Run completed with status: failed", "error": map[string]string{"name": "Error", "message": msg},
			}); err != nil {
				return err
			}
		}
		return nil
	})
	return ids, err
}

// cancel asks a task to stop. An open task ends at once; a processing one
// is stopped by its run, which sees the request on its next heartbeat (or
// sooner through the event bus).
func (s *taskStore) cancel(ctx context.Context, id string) (ended bool, err error) {
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		ended = false
		var status string
		err := tx.QueryRowContext(ctx, `SELECT status FROM scaffolder_tasks WHERE id = $1`, id).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.NotFoundf("No task with id '%s' found", id)
		}
		if err != nil {
			return err
		}
		switch status {
		case StatusOpen:
			if _, err := tx.ExecContext(ctx, `UPDATE scaffolder_tasks SET status = 'cancelled', secrets = NULL WHERE id = $1`, id); err != nil {
				return err
			}
			if _, err := s.addEvent(ctx, tx, id, EventCancelled, map[string]any{"message": "Task has been cancelled before it started.", "status": StatusCancelled}); err != nil {
				return err
			}
			if _, err := s.addEvent(ctx, tx, id, EventCompletion, map[string]any{"message": "Run completed with status: cancelled"}); err != nil {
				return err
			}
			ended = true
		case StatusProcessing:
			if _, err := tx.ExecContext(ctx, `UPDATE scaffolder_tasks SET cancel_requested = TRUE WHERE id = $1`, id); err != nil {
				return err
			}
		default:
			return errs.Conflictf("Task %s has already ended with status %s", id, status)
		}
		return nil
	})
	return ended, err
}

// retry re-opens an ended task with new secrets. Its state (completed steps
// and checkpoints) is kept, so it resumes at the step that failed.
func (s *taskStore) retry(ctx context.Context, id string, secrets map[string]string) error {
	sealed, err := s.sealer.seal(secrets)
	if err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		var status string
		err := tx.QueryRowContext(ctx, `SELECT status FROM scaffolder_tasks WHERE id = $1`, id).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.NotFoundf("No task with id '%s' found", id)
		}
		if err != nil {
			return err
		}
		switch status {
		case StatusCancelled, StatusCompleted, StatusFailed, StatusSkipped:
		default:
			return errs.Conflictf("Task with taskId %s cannot be retried", id)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE scaffolder_tasks SET status = 'open', secrets = $2, run_id = NULL, cancel_requested = FALSE, last_heartbeat_at = NULL WHERE id = $1`, id, sealed); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM scaffolder_task_events WHERE task_id = $1 AND event_type IN ('cancelled', 'completion')`, id); err != nil {
			return err
		}
		_, err = s.addEvent(ctx, tx, id, EventRecovered, map[string]any{"recoverStrategy": "none", "message": "Task retried by a user"})
		return err
	})
}

const taskColumns = `id, spec, status, created_at, last_heartbeat_at, created_by`

func scanTask(sc interface{ Scan(...any) error }) (*Task, error) {
	var t Task
	var specJSON string
	var hb sql.NullTime
	var createdBy sql.NullString
	if err := sc.Scan(&t.ID, &specJSON, &t.Status, &t.CreatedAt, &hb, &createdBy); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(specJSON), &t.Spec); err != nil {
		return nil, fmt.Errorf("task %s has a damaged spec: %w", t.ID, err)
	}
	t.CreatedAt = t.CreatedAt.UTC()
	if hb.Valid {
		h := hb.Time.UTC()
		t.LastHeartbeatAt = &h
	}
	t.CreatedBy = createdBy.String
	return &t, nil
}

func (s *taskStore) get(ctx context.Context, id string) (*Task, error) {
	t, err := scanTask(s.db.QueryRowContext(ctx, `SELECT `+taskColumns+` FROM scaffolder_tasks WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("No task with id '%s' found", id)
	}
	return t, err
}

// ListOptions filter, order and page a task list.
type ListOptions struct {
	CreatedBy []string
	Status    []string
	Limit     int
	Offset    int
	// Order is a list of "asc:<field>" or "desc:<field>" with field
	// created_at, status or created_by; default "desc:created_at".
	Order []string
}

func (s *taskStore) list(ctx context.Context, o ListOptions) ([]*Task, int, error) {
	var where []string
	var args []any
	in := func(col string, vals []string) {
		ph := make([]string, len(vals))
		for i, v := range vals {
			args = append(args, v)
			ph[i] = fmt.Sprintf("$%d", len(args))
		}
		where = append(where, col+" IN ("+strings.Join(ph, ", ")+")")
	}
	if len(o.CreatedBy) > 0 {
		in("created_by", o.CreatedBy)
	}
	if len(o.Status) > 0 {
		in("status", o.Status)
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM scaffolder_tasks`+cond, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	var order []string
	for _, ord := range o.Order {
		dir, field, ok := strings.Cut(ord, ":")
		if !ok {
			dir, field = "asc", ord
		}
		dir = strings.ToLower(dir)
		if dir != "asc" && dir != "desc" {
			return nil, 0, errs.InputErrorf("order: %q: the direction must be asc or desc, as in desc:created_at", ord)
		}
		switch field {
		case "created_at", "status", "created_by", "id", "last_heartbeat_at":
		default:
			return nil, 0, errs.InputErrorf("order: %q: cannot order by %s; use created_at, status or created_by", ord, field)
		}
		order = append(order, field+" "+strings.ToUpper(dir))
	}
	if len(order) == 0 {
		order = []string{"created_at DESC"}
	}
	order = append(order, "id")
	q := `SELECT ` + taskColumns + ` FROM scaffolder_tasks` + cond + ` ORDER BY ` + strings.Join(order, ", ")
	if o.Limit > 0 {
		args = append(args, o.Limit)
		q += fmt.Sprintf(" LIMIT $%d", len(args))
	} else if o.Offset > 0 {
		q += " LIMIT -1"
		if s.db.Dialect() == store.Postgres {
			q = strings.TrimSuffix(q, " LIMIT -1") + " LIMIT ALL"
		}
	}
	if o.Offset > 0 {
		args = append(args, o.Offset)
		q += fmt.Sprintf(" OFFSET $%d", len(args))
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []*Task{}
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, t)
	}
	return out, total, rows.Err()
}

// listEvents returns the events after the given id, and completion events
// always (so a client that reconnects after the end still sees the end).
// When the latest recovery started the task over, only events from that
// recovery on are returned, as Backstage does.
func (s *taskStore) listEvents(ctx context.Context, taskID string, after int64) ([]TaskEvent, error) {
	var spec string
	err := s.db.QueryRowContext(ctx, `SELECT spec FROM scaffolder_tasks WHERE id = $1`, taskID).Scan(&spec)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("No task with id '%s' found", taskID)
	}
	if err != nil {
		return nil, err
	}
	var ts TaskSpec
	_ = json.Unmarshal([]byte(spec), &ts)
	recoverable := ts.startOver()
	rows, err := s.db.QueryContext(ctx, `SELECT id, body, event_type, created_at FROM scaffolder_task_events WHERE task_id = $1 AND (id > $2 OR event_type = 'completion') ORDER BY id`, taskID, after)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []TaskEvent{}
	for rows.Next() {
		e := TaskEvent{TaskID: taskID, IsTaskRecoverable: recoverable}
		var body string
		if err := rows.Scan(&e.ID, &body, &e.Type, &e.CreatedAt); err != nil {
			return nil, err
		}
		e.Body = json.RawMessage(body)
		e.CreatedAt = e.CreatedAt.UTC()
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Trim to the last start-over recovery.
	for i := len(out) - 1; i >= 0; i-- {
		if out[i].Type == EventRecovered {
			var rb struct {
				RecoverStrategy string `json:"recoverStrategy"`
			}
			_ = json.Unmarshal(out[i].Body, &rb)
			if rb.RecoverStrategy == "startOver" {
				out = out[i:]
			}
			break
		}
	}
	return out, nil
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
