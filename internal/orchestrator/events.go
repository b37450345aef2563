package orchestrator

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/portico-dev/portico/internal/store"
	"github.com/portico-dev/portico/internal/workflow/engine"
)

// RefExtension is the CloudEvent extension attribute that names the
// instance an event is for (SonataFlow's kogitoprocrefid).
const RefExtension = "kogitoprocrefid"

// Receipt says what became of a received event.
type Receipt struct {
	// Duplicate is set when an event with the same source and id was
	// received before; nothing else happened.
	Duplicate bool `json:"duplicate,omitempty"`
	// Delivered names the instance whose wait took the event.
	Delivered string `json:"delivered,omitempty"`
	// Started lists the instances the event started.
	Started []string `json:"started,omitempty"`
	// Kept is set when nobody waits for the event yet: it stays in the
	// inbox until an instance waits for it or it expires.
	Kept bool `json:"kept,omitempty"`
}

// ReceiveEvent stores an incoming event, hands it to the instance waiting
// for it (by the kogitoprocrefid extension or by type and correlation) and
// starts the workflows it starts. An event that nobody waits for yet is
// kept, never dropped; an event seen before is ignored.
func (rt *Runtime) ReceiveEvent(ctx context.Context, ev *engine.Event) (*Receipt, error) {
	data, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	target, _ := ev.Extensions[RefExtension].(string)
	rec := &Receipt{}
	err = rt.db.Tx(ctx, func(tx *sql.Tx) error {
		*rec = Receipt{}
		now := store.Now()
		r, err := tx.ExecContext(ctx, `INSERT INTO orchestrator_events (source, id, type, event, received_at, expires_at, instance_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (source, id) DO NOTHING`,
			ev.Source, ev.ID, ev.Type, string(data), now, now.Add(rt.inboxTTL), nullable(target))
		if err != nil {
			return fmt.Errorf("store event: %w", err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			rec.Duplicate = true
			return nil
		}
		inst, err := rt.assignEvent(ctx, tx, ev, target, now)
		if err != nil {
			return err
		}
		rec.Delivered = inst
		return nil
	})
	if err != nil || rec.Duplicate {
		return rec, err
	}
	if rec.Delivered != "" {
		rt.Wake()
		return rec, nil
	}
	if target == "" {
		started, err := rt.startByEvent(ctx, ev)
		if err != nil {
			return nil, err
		}
		rec.Started = started
	}
	if len(rec.Started) > 0 {
		return rec, nil
	}
	rec.Kept = true
	return rec, nil
}

// startByEvent starts the workflows ev starts and marks it consumed. The
// instance ids derive from the event, so that a start retried after a
// crash (by sweepInbox) finds the instance it started before.
func (rt *Runtime) startByEvent(ctx context.Context, ev *engine.Event) ([]string, error) {
	var started []string
	for _, wf := range rt.reg.List() {
		for _, m := range wf.Definition.StartEvents() {
			if !m.Matches(ev) {
				continue
			}
			id := uuid.NewSHA1(uuid.NameSpaceURL, []byte("portico:event:"+ev.Source+"\x00"+ev.ID+"\x00"+wf.ID)).String()
			var exists int
			if err := rt.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM orchestrator_instances WHERE id = $1`, id).Scan(&exists); err != nil {
				return nil, err
			}
			if exists == 0 {
				if _, err := rt.Start(ctx, StartRequest{WorkflowID: wf.ID, Event: ev, Actor: "event:" + ev.Source, instanceID: id}); err != nil {
					rt.log.Error("start workflow from event", "workflow", wf.ID, "event", ev.ID, "error", err)
					break
				}
			}
			started = append(started, id)
			break
		}
	}
	if len(started) > 0 {
		_, err := rt.db.ExecContext(ctx, `UPDATE orchestrator_events SET consumed_at = $1, instance_id = $2 WHERE source = $3 AND id = $4`,
			store.Now(), started[0], ev.Source, ev.ID)
		return started, err
	}
	return nil, nil
}

// orphanAge is how long a start that a crash may have cut short (an
// event's workflow start, a sub-flow's start) is left before the sweep
// does it: far longer than the start itself takes, so the sweep does not
// race the original.
const orphanAge = 30 * time.Second

// sweepOrphans redoes starts a crash cut short: workflows started by an
// event that is stored but not consumed, and sub-flows a parent waits for
// that do not exist.
func (rt *Runtime) sweepOrphans(ctx context.Context) error {
	before := store.Now().Add(-orphanAge)
	types := map[string]bool{}
	for _, wf := range rt.reg.List() {
		for _, m := range wf.Definition.StartEvents() {
			types[m.Type] = true
		}
	}
	if len(types) > 0 {
		args := []any{before}
		var in []string
		for t := range types {
			args = append(args, t)
			in = append(in, fmt.Sprintf("$%d", len(args)))
		}
		events, err := rt.readEvents(ctx, `SELECT event FROM orchestrator_events WHERE consumed_at IS NULL AND instance_id IS NULL
			AND received_at < $1 AND type IN (`+strings.Join(in, ", ")+`) ORDER BY received_at LIMIT 100`, args...)
		if err != nil {
			return err
		}
		for _, ev := range events {
			if _, err := rt.startByEvent(ctx, ev); err != nil {
				return err
			}
		}
	}
	rows, err := rt.db.QueryContext(ctx, `SELECT w.instance_id, w.wait FROM orchestrator_waits w
		JOIN orchestrator_instances p ON p.id = w.instance_id
		WHERE w.child_id IS NOT NULL AND w.signal IS NULL AND p.last_update < $1
		AND NOT EXISTS (SELECT 1 FROM orchestrator_instances c WHERE c.id = w.child_id) LIMIT 100`, before)
	if err != nil {
		return err
	}
	type orphan struct {
		parent string
		wait   engine.Wait
	}
	var orphans []orphan
	for rows.Next() {
		var o orphan
		var data string
		if err := rows.Scan(&o.parent, &data); err != nil {
			rows.Close()
			return err
		}
		if json.Unmarshal([]byte(data), &o.wait) == nil && o.wait.SubFlow != nil {
			orphans = append(orphans, o)
		}
	}
	rows.Close()
	for _, o := range orphans {
		var root, rootP sql.NullString
		var processID string
		if err := rt.db.QueryRowContext(ctx, `SELECT process_id, root_id, root_process_id FROM orchestrator_instances WHERE id = $1`, o.parent).Scan(&processID, &root, &rootP); err != nil {
			continue
		}
		rt.log.Warn("starting a sub-flow whose start was cut short", "parent", o.parent, "child", o.wait.SubFlow.InstanceID)
		rt.startSubFlow(ctx, o.parent, processID, root.String, rootP.String, o.wait.SubFlow)
	}
	return nil
}

func (rt *Runtime) readEvents(ctx context.Context, q string, args ...any) ([]*engine.Event, error) {
	rows, err := rt.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var events []*engine.Event
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return nil, err
		}
		var ev engine.Event
		if json.Unmarshal([]byte(data), &ev) == nil {
			events = append(events, &ev)
		}
	}
	return events, rows.Err()
}

// candidateWait is an open event wait that may take an event.
type candidateWait struct {
	instanceID, waitID string
	wait               engine.Wait
}

// assignEvent gives ev to an open event wait and marks it consumed; it
// returns the instance, or "". As in SonataFlow, an event reaches a
// running instance only when it names it: by the kogitoprocrefid
// extension (target), by the kogitobusinesskey extension, or by the
// correlation attributes the waiting event definition declares. Any other
// event only starts workflows.
func (rt *Runtime) assignEvent(ctx context.Context, tx *sql.Tx, ev *engine.Event, target string, now time.Time) (string, error) {
	q := `SELECT w.instance_id, w.wait_id, w.wait FROM orchestrator_event_waits e
		JOIN orchestrator_waits w ON w.instance_id = e.instance_id AND w.wait_id = e.wait_id
		WHERE e.event_type = $1 AND w.signal IS NULL`
	args := []any{ev.Type}
	bk, _ := ev.Extensions[BusinessKeyExtension].(string)
	switch {
	case target != "":
		q += ` AND w.instance_id = $2`
		args = append(args, target)
	case bk != "":
		q += ` AND w.instance_id IN (SELECT id FROM orchestrator_instances WHERE business_key = $2 AND state = 'ACTIVE')`
		args = append(args, bk)
	}
	q += ` ORDER BY w.instance_id, w.wait_id LIMIT 100`
	cands, err := queryCandidates(ctx, tx, q, args...)
	if err != nil {
		return "", err
	}
	for _, c := range cands {
		if !acceptsEvent(c.wait, ev, target != "" || bk != "") {
			continue
		}
		ok, err := rt.assign(ctx, tx, c, ev, now)
		if err != nil || !ok {
			return "", err
		}
		_, err = tx.ExecContext(ctx, `UPDATE orchestrator_events SET consumed_at = $1, instance_id = $2 WHERE source = $3 AND id = $4`,
			now, c.instanceID, ev.Source, ev.ID)
		return c.instanceID, err
	}
	return "", nil
}

// BusinessKeyExtension is the CloudEvent extension attribute that names
// the instance an event is for by its business key.
const BusinessKeyExtension = "kogitobusinesskey"

// acceptsEvent reports whether a wait takes ev. An event addressed to the
// instance (named) needs only to match; otherwise the match must be made
// by correlation attributes.
func acceptsEvent(w engine.Wait, ev *engine.Event, named bool) bool {
	for _, m := range w.Events {
		if m.Matches(ev) && (named || len(m.Correlation) > 0) {
			return true
		}
	}
	return false
}

// assign stores ev as the signal of a wait and makes the wait due now.
func (rt *Runtime) assign(ctx context.Context, tx *sql.Tx, c candidateWait, ev *engine.Event, now time.Time) (bool, error) {
	sig, err := json.Marshal(engine.Signal{WaitID: c.waitID, Event: ev})
	if err != nil {
		return false, err
	}
	r, err := tx.ExecContext(ctx, `UPDATE orchestrator_waits SET signal = $1, due_at = $2 WHERE instance_id = $3 AND wait_id = $4 AND signal IS NULL`,
		string(sig), now, c.instanceID, c.waitID)
	if err != nil {
		return false, fmt.Errorf("assign event: %w", err)
	}
	n, _ := r.RowsAffected()
	return n == 1, nil
}

func queryCandidates(ctx context.Context, tx *sql.Tx, q string, args ...any) ([]candidateWait, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("find waits: %w", err)
	}
	defer rows.Close()
	var out []candidateWait
	for rows.Next() {
		var c candidateWait
		var data string
		if err := rows.Scan(&c.instanceID, &c.waitID, &data); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(data), &c.wait); err != nil {
			return nil, fmt.Errorf("decode wait: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// matchInbox gives events that arrived before an instance waited for them
// to its new event waits, oldest first.
func (rt *Runtime) matchInbox(ctx context.Context, tx *sql.Tx, id, businessKey string, waits []engine.Wait, now time.Time) (bool, error) {
	args := []any{now, id}
	var types []string
	seen := map[string]bool{}
	for _, w := range waits {
		for _, m := range w.Events {
			if !seen[m.Type] {
				seen[m.Type] = true
				args = append(args, m.Type)
				types = append(types, fmt.Sprintf("$%d", len(args)))
			}
		}
	}
	if len(types) == 0 {
		return false, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT event FROM orchestrator_events
		WHERE consumed_at IS NULL AND expires_at > $1 AND (instance_id IS NULL OR instance_id = $2) AND type IN (`+strings.Join(types, ", ")+`)
		ORDER BY received_at LIMIT 100`, args...)
	if err != nil {
		return false, fmt.Errorf("read inbox: %w", err)
	}
	var events []*engine.Event
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			rows.Close()
			return false, err
		}
		var ev engine.Event
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			continue
		}
		events = append(events, &ev)
	}
	rows.Close()
	if len(events) == 0 {
		return false, nil
	}
	cands, err := queryCandidates(ctx, tx, `SELECT instance_id, wait_id, wait FROM orchestrator_waits WHERE instance_id = $1 AND kind = 'event' AND signal IS NULL ORDER BY wait_id`, id)
	if err != nil {
		return false, err
	}
	assigned := false
	for _, ev := range events {
		ref, _ := ev.Extensions[RefExtension].(string)
		bk, _ := ev.Extensions[BusinessKeyExtension].(string)
		named := ref == id || bk != "" && bk == businessKey
		if ref != "" && ref != id || bk != "" && bk != businessKey {
			continue // addressed to another instance
		}
		for i, c := range cands {
			if c.waitID == "" || !acceptsEvent(c.wait, ev, named) {
				continue
			}
			ok, err := rt.assign(ctx, tx, c, ev, now)
			if err != nil {
				return false, err
			}
			if ok {
				if _, err := tx.ExecContext(ctx, `UPDATE orchestrator_events SET consumed_at = $1, instance_id = $2 WHERE source = $3 AND id = $4`,
					now, id, ev.Source, ev.ID); err != nil {
					return false, err
				}
				assigned = true
				cands[i].waitID = ""
			}
			break
		}
	}
	return assigned, nil
}

// sweepInbox matches kept events against open waits. It catches the race
// where an event and a new wait are committed at the same moment by two
// transactions that could not see each other, and deletes expired events.
func (rt *Runtime) sweepInbox(ctx context.Context) error {
	now := store.Now()
	if _, err := rt.db.ExecContext(ctx, `DELETE FROM orchestrator_events WHERE expires_at < $1`, now); err != nil {
		return err
	}
	rows, err := rt.db.QueryContext(ctx, `SELECT ev.event FROM orchestrator_events ev
		WHERE ev.consumed_at IS NULL AND EXISTS (SELECT 1 FROM orchestrator_event_waits e WHERE e.event_type = ev.type)
		ORDER BY ev.received_at LIMIT 100`)
	if err != nil {
		return err
	}
	var events []*engine.Event
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			rows.Close()
			return err
		}
		var ev engine.Event
		if json.Unmarshal([]byte(data), &ev) == nil {
			events = append(events, &ev)
		}
	}
	rows.Close()
	woke := false
	for _, ev := range events {
		target, _ := ev.Extensions[RefExtension].(string)
		var inst string
		err := rt.db.Tx(ctx, func(tx *sql.Tx) error {
			var consumed sql.NullTime
			if err := tx.QueryRowContext(ctx, `SELECT consumed_at FROM orchestrator_events WHERE source = $1 AND id = $2`, ev.Source, ev.ID).Scan(&consumed); err != nil {
				if errors.Is(err, sql.ErrNoRows) {
					return nil
				}
				return err
			}
			if consumed.Valid {
				return nil
			}
			var err error
			inst, err = rt.assignEvent(ctx, tx, ev, target, store.Now())
			return err
		})
		if err != nil {
			return err
		}
		woke = woke || inst != ""
	}
	if woke {
		rt.Wake()
	}
	return nil
}

// sendOutbox sends produced events to the sink, retrying with backoff
// while it fails.
func (rt *Runtime) sendOutbox(ctx context.Context) {
	for {
		n, err := rt.sendOutboxOnce(ctx)
		if err != nil && ctx.Err() == nil {
			rt.log.Warn("send outbox", "error", err)
		}
		if n > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

type outboxRow struct {
	id, event string
	attempts  int
}

func (rt *Runtime) sendOutboxOnce(ctx context.Context) (int, error) {
	now := store.Now()
	var batch []outboxRow
	// Claiming pushes next_attempt_at ahead, so another replica does not
	// send the same rows meanwhile; a crash mid-send means a resend
	// (at least once, as CloudEvent consumers expect; the id is stable).
	err := rt.db.Tx(ctx, func(tx *sql.Tx) error {
		batch = batch[:0]
		rows, err := tx.QueryContext(ctx, `SELECT id, event, attempts FROM orchestrator_outbox WHERE sent_at IS NULL AND next_attempt_at <= $1
			ORDER BY next_attempt_at LIMIT 20 `+rt.db.SkipLocked(), now)
		if err != nil {
			return err
		}
		for rows.Next() {
			var r outboxRow
			if err := rows.Scan(&r.id, &r.event, &r.attempts); err != nil {
				rows.Close()
				return err
			}
			batch = append(batch, r)
		}
		rows.Close()
		for _, r := range batch {
			if _, err := tx.ExecContext(ctx, `UPDATE orchestrator_outbox SET next_attempt_at = $1 WHERE id = $2`, now.Add(time.Minute), r.id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, r := range batch {
		sendErr := rt.sink.Send(ctx, []byte(r.event))
		if sendErr == nil {
			_, err = rt.db.ExecContext(ctx, `UPDATE orchestrator_outbox SET sent_at = $1, attempts = attempts + 1 WHERE id = $2`, store.Now(), r.id)
		} else {
			backoff := min(time.Second<<min(r.attempts, 6), time.Minute)
			rt.log.Warn("event sink failed; will retry", "event", r.id, "attempt", r.attempts+1, "error", sendErr)
			_, err = rt.db.ExecContext(ctx, `UPDATE orchestrator_outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2 WHERE id = $3`,
				sendErr.Error(), store.Now().Add(backoff), r.id)
		}
		if err != nil {
			return 0, err
		}
	}
	return len(batch), nil
}
