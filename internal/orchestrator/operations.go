package orchestrator

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/portico-dev/portico/internal/store"
	"github.com/portico-dev/portico/internal/workflow/engine"
)

// ErrUnsupported is returned for an operator action Portico does not
// offer (cancelling a single node instance, say).
var ErrUnsupported = errors.New("not supported")

// UpdateData replaces the workflow data of an active or failed instance
// (SonataFlow's PUT /{workflowId}/{id}); with merge the new data is merged
// into the current data at the top level instead (PATCH). The instance
// continues from its current state with the new data.
func (rt *Runtime) UpdateData(ctx context.Context, processID, id string, data any, merge bool, actor string) (*Result, error) {
	if err := rt.checkProcess(ctx, processID, id); err != nil {
		return nil, err
	}
	if err := rt.claimWait(ctx, id, "ACTIVE", "ERROR"); err != nil {
		return nil, err
	}
	return rt.operate(ctx, id, func(in *engine.Instance) (*engine.Outcome, error) {
		next := data
		if merge {
			cur, _ := in.Data().(map[string]any)
			patch, ok := data.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%w: a patch must be a JSON object", engine.ErrInvalidInput)
			}
			merged := make(map[string]any, len(cur)+len(patch))
			for k, v := range cur {
				merged[k] = v
			}
			for k, v := range patch {
				merged[k] = v
			}
			next = merged
		}
		if err := in.UpdateData(ctx, next); err != nil {
			return nil, err
		}
		rt.audit(ctx, actor, "updateData", processID, id, map[string]any{"workflowdata": redact(next)})
		// Running the current state again re-establishes its waits from
		// the journal; nothing already done runs again.
		return in.Run(ctx)
	})
}

// Skip continues an instance past its current state as if that state had
// completed with the data it was entered with. An instance in error is
// continued past the state that failed.
func (rt *Runtime) Skip(ctx context.Context, processID, id, actor string) (*Result, error) {
	if err := rt.checkProcess(ctx, processID, id); err != nil {
		return nil, err
	}
	if err := rt.claimWait(ctx, id, "ACTIVE", "ERROR"); err != nil {
		return nil, err
	}
	if err := rt.setAsideFailure(ctx, id); err != nil {
		rt.unlease(ctx, id)
		return nil, fmt.Errorf("skip: %w", err)
	}
	return rt.operate(ctx, id, func(in *engine.Instance) (*engine.Outcome, error) {
		rt.audit(ctx, actor, "skip", processID, id, nil)
		return in.Skip(ctx)
	})
}

// TriggerNode moves an active or failed instance to the state named by
// nodeID (a node definition id is a state's name) and runs on from there.
func (rt *Runtime) TriggerNode(ctx context.Context, processID, id, nodeID, actor string) (*Result, error) {
	if err := rt.checkProcess(ctx, processID, id); err != nil {
		return nil, err
	}
	if wf, ok := rt.reg.Get(processID); ok && wf.Definition.W.State(nodeID) == nil {
		return nil, fmt.Errorf("node %q of %s: %w", nodeID, processID, ErrNotFound)
	}
	if err := rt.claimWait(ctx, id, "ACTIVE", "ERROR"); err != nil {
		return nil, err
	}
	if err := rt.setAsideFailure(ctx, id); err != nil {
		rt.unlease(ctx, id)
		return nil, fmt.Errorf("trigger node: %w", err)
	}
	return rt.operate(ctx, id, func(in *engine.Instance) (*engine.Outcome, error) {
		rt.audit(ctx, actor, "triggerNode", processID, id, map[string]any{"node": nodeID})
		return in.Goto(ctx, nodeID)
	})
}

// RetriggerNode runs a node instance again: the current state's node
// instance (its step number) is entered anew with the data it had; an
// instance in error is retriggered as Retrigger does.
func (rt *Runtime) RetriggerNode(ctx context.Context, processID, id, nodeInstanceID, actor string) (*Result, error) {
	if err := rt.checkProcess(ctx, processID, id); err != nil {
		return nil, err
	}
	var state, current string
	err := rt.db.QueryRowContext(ctx, `SELECT i.state, n.definition_id FROM orchestrator_instances i
		JOIN orchestrator_node_instances n ON n.instance_id = i.id WHERE i.id = $1 AND n.id = $2`, id, nodeInstanceID).Scan(&state, &current)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("node instance %s of %s: %w", nodeInstanceID, id, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	if state == string(engine.StatusError) {
		return rt.Retrigger(ctx, processID, id, actor)
	}
	if _, err := strconv.Atoi(nodeInstanceID); err != nil {
		return nil, fmt.Errorf("node instance %s is an action, not a state: only state node instances can be retriggered: %w", nodeInstanceID, ErrInvalidState)
	}
	return rt.TriggerNode(ctx, processID, id, current, actor)
}

// CancelNode would end one node instance and leave the instance running
// without it, as SonataFlow's runtime does for an active node of an active
// instance; a Serverless Workflow instance has one path at the top level,
// so Portico offers Skip and Abort instead. What SonataFlow would refuse
// is refused the same way: an instance that is not active, or a node
// instance that is not running (both 404, as SonataFlow finds neither).
func (rt *Runtime) CancelNode(ctx context.Context, processID, id, nodeInstanceID, actor string) (*Result, error) {
	if err := rt.checkProcess(ctx, processID, id); err != nil {
		return nil, err
	}
	var state string
	var exit sql.NullTime
	err := rt.db.QueryRowContext(ctx, `SELECT i.state, n.exit FROM orchestrator_instances i
		JOIN orchestrator_node_instances n ON n.instance_id = i.id WHERE i.id = $1 AND n.id = $2`, id, nodeInstanceID).Scan(&state, &exit)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("node instance %s of %s: %w", nodeInstanceID, id, ErrNotFound)
	case err != nil:
		return nil, err
	case state != string(engine.StatusActive):
		return nil, fmt.Errorf("instance %s is %s, not active: %w", id, state, ErrNotFound)
	case exit.Valid:
		return nil, fmt.Errorf("node instance %s of %s has ended: %w", nodeInstanceID, id, ErrNotFound)
	}
	return nil, fmt.Errorf("cancelling node instance %s: %w (skip the state or abort the instance)", nodeInstanceID, ErrUnsupported)
}

// RescheduleTimer moves a pending timer of an instance to a new due time
// (the Jobs Service's reschedule).
func (rt *Runtime) RescheduleTimer(ctx context.Context, processID, id, timerID string, at time.Time, actor string) (*Timer, error) {
	// Read first: once moved, a timer that is due may fire and be gone
	// before it could be read back.
	t, err := rt.timer(ctx, processID, id, timerID)
	if err != nil {
		return nil, err
	}
	r, err := rt.db.ExecContext(ctx, `UPDATE orchestrator_waits SET due_at = $1 WHERE instance_id = $2 AND wait_id = $3 AND kind = 'timer'`,
		at.UTC(), id, timerID)
	if err != nil {
		return nil, err
	}
	if n, _ := r.RowsAffected(); n != 1 {
		return nil, fmt.Errorf("timer %s of %s (it fired meanwhile): %w", timerID, id, ErrNotFound)
	}
	rt.audit(ctx, actor, "rescheduleTimer", processID, id, map[string]any{"timer": timerID, "at": at.UTC()})
	rt.wakeAt(at)
	t.ExpirationTime = at.UTC()
	return t, nil
}

// CancelTimer removes a pending timer of an instance (the Jobs Service's
// cancel): what waited for it waits on for its other waits, or forever.
func (rt *Runtime) CancelTimer(ctx context.Context, processID, id, timerID, actor string) (*Timer, error) {
	t, err := rt.timer(ctx, processID, id, timerID)
	if err != nil {
		return nil, err
	}
	if _, err := rt.db.ExecContext(ctx, `DELETE FROM orchestrator_waits WHERE instance_id = $1 AND wait_id = $2 AND kind = 'timer'`, id, timerID); err != nil {
		return nil, err
	}
	rt.audit(ctx, actor, "cancelTimer", processID, id, map[string]any{"timer": timerID})
	return t, nil
}

func (rt *Runtime) timer(ctx context.Context, processID, id, timerID string) (*Timer, error) {
	timers, err := rt.Timers(ctx, processID, id)
	if err != nil {
		return nil, err
	}
	for i := range timers {
		if timers[i].TimerID == timerID {
			return &timers[i], nil
		}
	}
	return nil, fmt.Errorf("timer %s of %s: %w", timerID, id, ErrNotFound)
}

// setAsideFailure voids the failure entries of an instance in error (they
// stay in the journal) so that it restores as active in the failed state;
// an active instance is left as it is.
func (rt *Runtime) setAsideFailure(ctx context.Context, id string) error {
	return rt.db.Tx(ctx, func(tx *sql.Tx) error {
		var state string
		if err := tx.QueryRowContext(ctx, `SELECT state FROM orchestrator_instances WHERE id = $1`, id).Scan(&state); err != nil {
			return err
		}
		if state != string(engine.StatusError) {
			return nil
		}
		if err := rt.voidFailures(ctx, tx, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE orchestrator_instances SET state = 'ACTIVE', error_node_definition_id = NULL,
			error_node_instance_id = NULL, error_message = NULL, last_update = $2 WHERE id = $1`, id, store.Now())
		return err
	})
}

// voidFailures marks the failure entries after the last state entered
// void, rewriting the journal rows that hold them (newest first, until
// the row with that state entry).
func (rt *Runtime) voidFailures(ctx context.Context, tx *sql.Tx, id string) error {
	type row struct {
		pos     int64
		entries []storedEntry
	}
	rows, err := tx.QueryContext(ctx, `SELECT pos, entry FROM orchestrator_journal WHERE instance_id = $1 AND void = 0 ORDER BY pos DESC`, id)
	if err != nil {
		return err
	}
	var changed []row
	func() {
		defer rows.Close()
		for rows.Next() {
			var r row
			var data []byte
			if err = rows.Scan(&r.pos, &data); err != nil {
				return
			}
			if r.entries, err = rt.codec.decode(data); err != nil {
				err = fmt.Errorf("decode journal row %d of %s: %w", r.pos, id, err)
				return
			}
			voided, entered := false, false
			for i := len(r.entries) - 1; i >= 0 && !entered; i-- {
				e := &r.entries[i]
				switch {
				case e.Void:
				case e.Kind == engine.EntryStateEntered:
					entered = true
				case e.Kind == engine.EntryFailed || e.Kind == engine.EntryActionFailed:
					e.Void, voided = true, true
				}
			}
			if voided {
				changed = append(changed, r)
			}
			if entered {
				return
			}
		}
		err = rows.Err()
	}()
	if err != nil {
		return err
	}
	for _, r := range changed {
		data, err := rt.codec.encodeStored(r.entries)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE orchestrator_journal SET entry = $1 WHERE instance_id = $2 AND pos = $3`, data, id, r.pos); err != nil {
			return fmt.Errorf("set failures aside: %w", err)
		}
	}
	return nil
}

// operate restores a claimed instance, applies op and records the outcome.
func (rt *Runtime) operate(ctx context.Context, id string, op func(*engine.Instance) (*engine.Outcome, error)) (*Result, error) {
	rt.acquire(id)
	defer rt.release(id)
	in, j, _, err := rt.restore(ctx, id)
	if err != nil {
		rt.unlease(ctx, id)
		return nil, err
	}
	out, err := op(in)
	if err != nil {
		rt.unlease(ctx, id)
		return nil, err
	}
	return rt.finish(ctx, in, j, out, nil)
}
