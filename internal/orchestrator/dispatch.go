package orchestrator

import (
	"context"
	"database/sql"
	"fmt"
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
	lastSweep := time.Time{}
	t := time.NewTimer(rt.poll)
	defer t.Stop()
	for {
		n, err := rt.dispatch(ctx)
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
		if n == batchSize {
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

// dispatch claims instances with due waits or expired leases and resumes
// them, a few at a time; it returns how many it claimed.
func (rt *Runtime) dispatch(ctx context.Context) (int, error) {
	now := store.Now()
	// A cheap read first: most polls find nothing, and on SQLite a write
	// transaction would take the writer for nothing.
	var found int
	err := rt.db.QueryRowContext(ctx, `SELECT CASE
		WHEN EXISTS (SELECT 1 FROM orchestrator_waits WHERE due_at <= $1) THEN 1
		WHEN EXISTS (SELECT 1 FROM orchestrator_instances WHERE lease_owner IS NOT NULL AND lease_expiry < $1) THEN 1
		ELSE 0 END`, now).Scan(&found)
	if err != nil || found == 0 {
		return 0, err
	}
	var ids []string
	err = rt.db.Tx(ctx, func(tx *sql.Tx) error {
		ids = ids[:0]
		rows, err := tx.QueryContext(ctx, `SELECT id FROM orchestrator_instances
			WHERE id IN (SELECT instance_id FROM orchestrator_waits WHERE due_at <= $1 ORDER BY due_at LIMIT $2)
			AND (lease_owner IS NULL OR lease_expiry < $1) AND state = 'ACTIVE'
			LIMIT $2 `+rt.db.SkipLocked(), now, batchSize)
		if err != nil {
			return err
		}
		ids, err = scanIDs(rows, ids)
		if err != nil {
			return err
		}
		if len(ids) < batchSize {
			rows, err := tx.QueryContext(ctx, `SELECT id FROM orchestrator_instances
				WHERE lease_owner IS NOT NULL AND lease_expiry < $1 AND state = 'ACTIVE'
				LIMIT $2 `+rt.db.SkipLocked(), now, batchSize-len(ids))
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
		return 0, fmt.Errorf("claim instances: %w", err)
	}
	// Claimed instances run to their next wait even when shutdown begins:
	// cutting a run short would leave its lease to expire and make an
	// interrupted action run again elsewhere.
	runCtx := context.WithoutCancel(ctx)
	sem := make(chan struct{}, rt.workers)
	var wg sync.WaitGroup
	for _, id := range ids {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := rt.resume(runCtx, id); err != nil {
				rt.log.Error("resume instance", "instance", id, "error", err)
			}
		}()
	}
	wg.Wait()
	return len(ids), nil
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
