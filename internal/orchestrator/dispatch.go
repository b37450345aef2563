package orchestrator

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/portico-dev/portico/internal/store"
)

// batchSize bounds the instances one dispatcher pass claims.
const batchSize = 32

// Run does the runtime's background work until ctx ends: it fires due
// timers and delivers assigned events and sub-flow ends (claiming each
// instance in a transaction, so that exactly one replica does it),
// reclaims instances whose lease expired, keeps this replica's leases
// alive, matches events left in the inbox and sends the outbox.
func (rt *Runtime) Run(ctx context.Context) error {
	stmts := hotStatements
	if rt.group != nil {
		stmts = append(slices.Clip(stmts), groupStatements...)
	}
	if err := rt.db.Prepare(ctx, stmts...); err != nil {
		// Unprepared statements still run, only slower.
		rt.log.Warn("prepare the runtime's statements", "error", err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		rt.heartbeat(ctx)
	}()
	if rt.sink != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rt.sendOutbox(ctx)
		}()
	}
	defer wg.Wait()
	// Resumes run on after ctx ends (see dispatch); wait for them.
	defer rt.inflight.Wait()
	lastSweep := time.Time{}
	t := time.NewTimer(rt.poll)
	defer t.Stop()
	for {
		more, err := rt.dispatch(ctx)
		if err != nil && ctx.Err() == nil {
			rt.log.Warn("dispatch", "error", err)
		}
		if time.Since(lastSweep) > time.Second {
			lastSweep = time.Now()
			if err := rt.sweepInbox(ctx); err != nil && ctx.Err() == nil {
				rt.log.Warn("match inbox", "error", err)
			}
			if err := rt.syncSchedules(ctx); err != nil && ctx.Err() == nil {
				rt.log.Warn("sync schedules", "error", err)
			}
			if err := rt.sweepOrphans(ctx); err != nil && ctx.Err() == nil {
				rt.log.Warn("redo cut-short starts", "error", err)
			}
		}
		if err := rt.fireSchedules(ctx); err != nil && ctx.Err() == nil {
			rt.log.Warn("scheduled starts", "error", err)
		}
		if more {
			continue
		}
		t.Reset(rt.poll)
		select {
		case <-ctx.Done():
			return nil
		case <-rt.wake:
		case <-t.C:
		}
	}
}

// free returns how many more instances this replica can resume now.
func (rt *Runtime) free() int { return min(batchSize, rt.workers-len(rt.slots)) }

// dispatch claims instances with due waits or expired leases, as many as
// it has free workers for, and resumes each in its own goroutine, so that
// a slow call in one instance does not hold up the timers of the others.
// more reports that it claimed all it could, so there may be more due.
func (rt *Runtime) dispatch(ctx context.Context) (more bool, err error) {
	limit := rt.free()
	if limit <= 0 {
		return false, nil // a finishing resume wakes the dispatcher
	}
	now := store.Now()
	// A cheap read first: most polls find nothing, and on SQLite a write
	// transaction would take the writer for nothing.
	var found int
	err = rt.db.QueryRowContext(ctx, `SELECT CASE
		WHEN EXISTS (SELECT 1 FROM orchestrator_waits WHERE due_at <= $1) THEN 1
		WHEN EXISTS (SELECT 1 FROM orchestrator_instances WHERE lease_owner IS NOT NULL AND lease_expiry < $1) THEN 1
		ELSE 0 END`, now).Scan(&found)
	if err != nil || found == 0 {
		return false, err
	}
	var ids []string
	err = rt.db.Tx(ctx, func(tx *sql.Tx) error {
		ids = ids[:0]
		rows, err := tx.QueryContext(ctx, `SELECT id FROM orchestrator_instances
			WHERE id IN (SELECT instance_id FROM orchestrator_waits WHERE due_at <= $1 ORDER BY due_at LIMIT $2)
			AND (lease_owner IS NULL OR lease_expiry < $1) AND state = 'ACTIVE'
			LIMIT $2 `+rt.db.SkipLocked(), now, limit)
		if err != nil {
			return err
		}
		ids, err = scanIDs(rows, ids)
		if err != nil {
			return err
		}
		if len(ids) < limit {
			rows, err := tx.QueryContext(ctx, `SELECT id FROM orchestrator_instances
				WHERE lease_owner IS NOT NULL AND lease_expiry < $1 AND state = 'ACTIVE'
				LIMIT $2 `+rt.db.SkipLocked(), now, limit-len(ids))
			if err != nil {
				return err
			}
			if ids, err = scanIDs(rows, ids); err != nil {
				return err
			}
		}
		if len(ids) == 0 {
			return nil
		}
		args := []any{rt.owner, now.Add(rt.lease)}
		var in []string
		for _, id := range ids {
			args = append(args, id)
			in = append(in, fmt.Sprintf("$%d", len(args)))
		}
		_, err = tx.ExecContext(ctx, `UPDATE orchestrator_instances SET lease_owner = $1, lease_expiry = $2 WHERE id IN (`+strings.Join(in, ", ")+`)`, args...)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("claim instances: %w", err)
	}
	// Claimed instances run to their next wait even when shutdown begins:
	// cutting a run short would leave its lease to expire and make an
	// interrupted action run again elsewhere.
	runCtx := context.WithoutCancel(ctx)
	for _, id := range ids {
		rt.slots <- struct{}{}
		rt.inflight.Add(1)
		go func() {
			defer rt.Wake()
			defer func() { <-rt.slots }()
			defer rt.inflight.Done()
			if err := rt.resume(runCtx, id); err != nil {
				rt.log.Error("resume instance", "instance", id, "error", err)
			}
		}()
	}
	return len(ids) == limit, nil
}

func scanIDs(rows *sql.Rows, ids []string) ([]string, error) {
	defer rows.Close()
	seen := map[string]bool{}
	for _, id := range ids {
		seen[id] = true
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, rows.Err()
}

// heartbeat extends the leases of the instances this replica is running.
func (rt *Runtime) heartbeat(ctx context.Context) {
	t := time.NewTicker(rt.lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rt.mu.Lock()
		args := []any{store.Now().Add(rt.lease), rt.owner}
		var in []string
		for id := range rt.running {
			args = append(args, id)
			in = append(in, fmt.Sprintf("$%d", len(args)))
		}
		rt.mu.Unlock()
		if len(in) == 0 {
			continue
		}
		_, err := rt.db.ExecContext(ctx, `UPDATE orchestrator_instances SET lease_expiry = $1 WHERE lease_owner = $2 AND id IN (`+strings.Join(in, ", ")+`)`, args...)
		if err != nil && ctx.Err() == nil {
			rt.log.Warn("extend leases", "error", err)
		}
	}
}
