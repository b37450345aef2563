// Package orchestrator is Portico's durable workflow runtime: it loads
// workflow definitions, keeps instances, their journals, timers and event
// subscriptions in the database, resumes them on any replica, and serves
// SonataFlow's REST API and CloudEvents ingress (http.go).
//
// An instance is driven by one replica at a time, the one holding its
// lease (lease_owner, lease_expiry, extended by heartbeats while it runs).
// Between runs an instance holds no lease and only waits: its open waits
// are rows, and a wait becomes deliverable when its due time passes (a
// timer) or when an event or a sub-flow's end is assigned to it. The
// dispatcher of every replica claims instances with deliverable waits and
// instances whose lease expired (a crashed replica), restores them from
// the journal and runs them on. The engine's journal makes this exactly
// once: a signal already recorded is refused as ErrNoSuchWait, and an
// action whose result is journaled never runs again.
package orchestrator

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/portico-dev/portico/internal/seal"
	"github.com/portico-dev/portico/internal/store"
	"github.com/portico-dev/portico/internal/workflow/engine"
)

// Options configure a Runtime.
type Options struct {
	DB       *store.DB
	Registry *Registry
	// Owner names this replica in leases; default a random id.
	Owner string
	// Lease is how long a lease lasts without a heartbeat (default 30s).
	Lease time.Duration
	// Poll is how often the dispatcher looks for due work that another
	// replica scheduled (default 50ms).
	Poll time.Duration
	// InboxTTL is how long an event nobody waits for is kept (default 24h).
	InboxTTL time.Duration
	// Sink receives produced events; nil keeps no outbox.
	Sink Sink
	// Workers bounds the instances one replica resumes at once (default 16).
	Workers int
	// ServiceURL is the absolute URL callers reach the runtime API at
	// (orchestrator.serviceUrl, else backend.baseUrl): the Data Index
	// reports it as each workflow's serviceUrl, and endpoint below it.
	ServiceURL string
	// Sealer keeps the headers instances start with (bearer tokens)
	// encrypted in the journal; nil stores them as they came.
	Sealer *seal.Sealer
	Logger *slog.Logger
	// Changed, when set, is called after each committed write of an
	// instance (its start, progress, end, an operator's change), for live
	// updates. It runs on the instance's goroutine and must not block.
	Changed func(Change)
}

// Change is a committed change of an instance.
type Change struct {
	InstanceID string `json:"id"`
	ProcessID  string `json:"processId"`
	State      string `json:"state"`
	// Initiator is the instance's initiatorEntity variable (the user who
	// started it through the orchestrator API); "" when it has none.
	Initiator string `json:"-"`
}

// Sink sends a produced CloudEvent (structured mode JSON) to the
// configured event sink.
type Sink interface {
	Send(ctx context.Context, event []byte) error
}

// Runtime runs workflow instances durably.
type Runtime struct {
	db  *store.DB
	reg *Registry
	// savedVersions are the definition hashes stored in
	// orchestrator_definitions by this process (a sync.Map of string).
	savedVersions  sync.Map
	codec          *journalCodec // stores journal rows, sealing start headers
	owner          string
	lease          time.Duration
	poll           time.Duration
	inboxTTL       time.Duration
	sink           Sink
	sinkConfigured bool
	workers        int
	serviceURL     string
	log            *slog.Logger
	changed        func(Change)

	mu      sync.Mutex
	running map[string]int // instances this replica drives now
	wake    chan struct{}
	group   *groupCommit // SQLite only

	slots    chan struct{} // one per instance being resumed
	inflight sync.WaitGroup
}

// New returns a runtime; Run starts its background work.
func New(opts Options) *Runtime {
	rt := &Runtime{
		db: opts.DB, reg: opts.Registry, owner: opts.Owner, lease: opts.Lease, poll: opts.Poll,
		inboxTTL: opts.InboxTTL, sink: opts.Sink, sinkConfigured: opts.Sink != nil, workers: opts.Workers,
		log: opts.Logger, running: map[string]int{}, wake: make(chan struct{}, 1), changed: opts.Changed,
	}
	rt.serviceURL = strings.TrimRight(opts.ServiceURL, "/")
	if rt.owner == "" {
		rt.owner = uuid.NewString()
	}
	if rt.db.Dialect() == store.SQLite {
		rt.group = &groupCommit{db: rt.db}
	}
	rt.codec = newJournalCodec(opts.Sealer, rt.db.Dialect() == store.SQLite)
	if rt.lease <= 0 {
		rt.lease = 30 * time.Second
	}
	if rt.poll <= 0 {
		rt.poll = 50 * time.Millisecond
	}
	if rt.inboxTTL <= 0 {
		rt.inboxTTL = 24 * time.Hour
	}
	if rt.workers <= 0 {
		rt.workers = 16
	}
	rt.slots = make(chan struct{}, rt.workers)
	if rt.log == nil {
		rt.log = slog.New(slog.DiscardHandler)
	}
	return rt
}

// Registry returns the runtime's workflow registry.
func (rt *Runtime) Registry() *Registry { return rt.reg }

// ServiceURL returns the URL the runtime API is reached at.
func (rt *Runtime) ServiceURL() string { return rt.serviceURL }

// Endpoint returns the URL that starts instances of a workflow.
func (rt *Runtime) Endpoint(workflowID string) string { return rt.serviceURL + "/" + workflowID }

// Owner returns the id this replica takes leases under.
func (rt *Runtime) Owner() string { return rt.owner }

// StartRequest is what a new instance starts with.
type StartRequest struct {
	WorkflowID  string
	Data        any
	Variables   map[string]any
	Headers     map[string]string
	BusinessKey string
	Identity    any
	// Actor is who asked, for the audit log.
	Actor string
	Event *engine.Event

	instanceID              string
	parentID, rootID, rootP string
}

// Result is where an instance stands after a call.
type Result struct {
	ID      string
	Status  engine.Status
	Data    any
	Error   *engine.Error
	NodeID  string // the failed node instance, when Status is ERROR
	Process string
}

// ErrNotFound is returned for an unknown workflow or instance.
var ErrNotFound = errors.New("not found")

// ErrInvalidState is returned for an operation the instance's state does
// not allow (retrigger of an instance not in error, say).
var ErrInvalidState = errors.New("invalid instance state")

// Start creates an instance and runs its synchronous part; it returns
// once that part is committed. Input that fails the workflow's
// dataInputSchema gives an error wrapping engine.ErrInvalidInput.
func (rt *Runtime) Start(ctx context.Context, req StartRequest) (*Result, error) {
	wf, ok := rt.reg.Get(req.WorkflowID)
	if !ok {
		return nil, fmt.Errorf("workflow %q: %w", req.WorkflowID, ErrNotFound)
	}
	id := req.instanceID
	if id == "" {
		id = newID()
	}
	rootID, rootP := req.rootID, req.rootP
	if req.parentID != "" && rootID == "" {
		rootID = req.parentID
	}
	j := &dbJournal{rt: rt, w: wf.Definition.W, id: id, processID: wf.ID, parent: req.parentID != "", create: &newRow{
		processID: wf.ID, processName: wf.Definition.W.Name, version: wf.Definition.W.Version, hash: wf.Hash,
		parentID: req.parentID, rootID: rootID, rootProcessID: rootP,
	}}
	if err := rt.saveDefinition(ctx, wf); err != nil {
		return nil, err
	}
	rt.acquire(id)
	defer rt.release(id)
	in, err := wf.Definition.New(ctx, j, engine.StartOptions{
		InstanceID: id, Input: req.Data, Variables: req.Variables, Headers: req.Headers,
		BusinessKey: req.BusinessKey, ParentID: req.parentID, Identity: req.Identity, Event: req.Event,
	})
	if err != nil {
		return nil, err
	}
	if req.parentID == "" {
		// Written with the instance's first batch: no instance, no audit row.
		j.auditRow = rt.auditEntry(req.Actor, "start", wf.ID, id, map[string]any{"businessKey": req.BusinessKey, "input": redact(req.Data)})
	}
	out, err := in.Run(ctx)
	if err != nil {
		// The journal says where the instance is; the lease expires and
		// another run picks it up.
		return nil, fmt.Errorf("run instance %s: %w", id, err)
	}
	return rt.finish(ctx, in, j, out, nil)
}

// finish records the outcome of a run: the waits that are open, the end
// of the lease, early events for new event waits and the parent's wait
// for a sub-flow that ended; then it starts the sub-flows asked for.
func (rt *Runtime) finish(ctx context.Context, in *engine.Instance, j *dbJournal, out *engine.Outcome, rejected []string) (*Result, error) {
	res := &Result{ID: in.ID(), Status: out.Status, Data: out.Data, Error: out.Error, Process: in.Definition().W.ID}
	if out.Status == engine.StatusError {
		res.NodeID = fmt.Sprint(j.step)
	}
	var w *batchWrite
	if len(j.buf) > 0 {
		var err error
		if w, err = j.prepare(&out.State); err != nil {
			return nil, err
		}
	}
	assigned, notified := false, false
	err := rt.writeTx(ctx, func(tx *sql.Tx) error {
		assigned = false
		now := store.Now()
		if w != nil {
			if err := w.exec(ctx, rt.db, tx); err != nil {
				return err
			}
		} else {
			r, err := rt.db.TxExec(ctx, tx, sqlReleaseLease, out.State, in.ID(), rt.owner)
			if err != nil {
				return fmt.Errorf("release lease: %w", err)
			}
			if n, _ := r.RowsAffected(); n != 1 {
				return ErrLeaseLost
			}
		}
		if j.hadWaits || len(out.Waits) > 0 || len(rejected) > 0 {
			if err := rt.saveWaits(ctx, tx, in.ID(), out.Waits, rejected); err != nil {
				return err
			}
		}
		notified = false
		var err error
		if out.Status != engine.StatusActive && j.parent {
			if notified, err = rt.notifyParent(ctx, tx, in.ID(), out, now); err != nil {
				return err
			}
		} else if hasEventWaits(out.Waits) {
			if assigned, err = rt.matchInbox(ctx, tx, in.ID(), j.bk, out.Waits, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	j.written()
	j.hadWaits = len(out.Waits) > 0
	if assigned || notified {
		rt.Wake()
	}
	for _, w := range out.Waits {
		if w.Kind == engine.WaitTimer {
			rt.wakeAt(w.At)
		}
	}
	for _, w := range out.Waits {
		if w.Kind == engine.WaitSubFlow && w.SubFlow != nil {
			rt.startChild(ctx, in, w.SubFlow)
		}
	}
	for i := range out.SubFlows {
		rt.startChild(ctx, in, &out.SubFlows[i])
	}
	if out.ContinueAs != nil {
		rt.startChild(ctx, in, out.ContinueAs)
	}
	return res, nil
}

func hasEventWaits(waits []engine.Wait) bool {
	for _, w := range waits {
		if w.Kind == engine.WaitEvent {
			return true
		}
	}
	return false
}

// saveWaits makes the wait rows match the open waits: those no longer open
// go, new ones are added, and those still open keep an event or sub-flow
// end assigned to them meanwhile. Rejected waits (a signal the engine
// refused) are reset so that they can take another one.
func (rt *Runtime) saveWaits(ctx context.Context, tx *sql.Tx, id string, waits []engine.Wait, rejected []string) error {
	args := []any{id}
	var keep []string
	for _, w := range waits {
		args = append(args, w.ID)
		keep = append(keep, fmt.Sprintf("$%d", len(args)))
	}
	q := `DELETE FROM orchestrator_waits WHERE instance_id = $1`
	q2 := `DELETE FROM orchestrator_event_waits WHERE instance_id = $1`
	if len(keep) > 0 {
		q += ` AND wait_id NOT IN (` + strings.Join(keep, ", ") + `)`
		q2 += ` AND wait_id NOT IN (` + strings.Join(keep, ", ") + `)`
	}
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("drop waits: %w", err)
	}
	if _, err := tx.ExecContext(ctx, q2, args...); err != nil {
		return fmt.Errorf("drop event waits: %w", err)
	}
	for _, wid := range rejected {
		if _, err := tx.ExecContext(ctx, `UPDATE orchestrator_waits SET signal = NULL, due_at = NULL WHERE instance_id = $1 AND wait_id = $2 AND kind <> 'timer'`, id, wid); err != nil {
			return fmt.Errorf("reset wait: %w", err)
		}
	}
	if len(waits) == 0 {
		return nil
	}
	var b, eb strings.Builder
	b.WriteString(`INSERT INTO orchestrator_waits (instance_id, wait_id, kind, reason, due_at, child_id, wait) VALUES `)
	eb.WriteString(`INSERT INTO orchestrator_event_waits (instance_id, wait_id, event_type) VALUES `)
	wargs := []any{id}
	eargs := []any{id}
	for i, w := range waits {
		data, err := json.Marshal(w)
		if err != nil {
			return fmt.Errorf("encode wait: %w", err)
		}
		var due, child any
		if w.Kind == engine.WaitTimer {
			due = w.At.UTC().Truncate(time.Microsecond)
		}
		if w.SubFlow != nil {
			child = w.SubFlow.InstanceID
		}
		if i > 0 {
			b.WriteString(", ")
		}
		n := len(wargs)
		fmt.Fprintf(&b, "($1, $%d, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6)
		wargs = append(wargs, w.ID, string(w.Kind), w.Reason, due, child, string(data))
		seen := map[string]bool{}
		for _, m := range w.Events {
			if seen[m.Type] {
				continue
			}
			seen[m.Type] = true
			if len(eargs) > 1 {
				eb.WriteString(", ")
			}
			n := len(eargs)
			fmt.Fprintf(&eb, "($1, $%d, $%d)", n+1, n+2)
			eargs = append(eargs, w.ID, m.Type)
		}
	}
	b.WriteString(` ON CONFLICT (instance_id, wait_id) DO NOTHING`)
	if _, err := tx.ExecContext(ctx, b.String(), wargs...); err != nil {
		return fmt.Errorf("save waits: %w", err)
	}
	if len(eargs) > 1 {
		eb.WriteString(` ON CONFLICT (instance_id, wait_id, event_type) DO NOTHING`)
		if _, err := tx.ExecContext(ctx, eb.String(), eargs...); err != nil {
			return fmt.Errorf("save event waits: %w", err)
		}
	}
	return nil
}

// notifyParent hands the end of a sub-flow to the parent's wait for it.
func (rt *Runtime) notifyParent(ctx context.Context, tx *sql.Tx, id string, out *engine.Outcome, now time.Time) (bool, error) {
	sig := engine.Signal{}
	switch out.Status {
	case engine.StatusCompleted:
		sig.Result = out.Data
	case engine.StatusError:
		if out.Error != nil {
			sig.Error = out.Error.Info()
		} else {
			sig.Error = &engine.ErrorInfo{Kind: engine.KindSubFlow, Message: "sub-flow failed"}
		}
	default:
		sig.Error = &engine.ErrorInfo{Kind: engine.KindSubFlow, Message: "sub-flow " + strings.ToLower(string(out.Status))}
	}
	data, err := json.Marshal(sig)
	if err != nil {
		return false, err
	}
	r, err := tx.ExecContext(ctx, `UPDATE orchestrator_waits SET signal = $1, due_at = $2 WHERE child_id = $3 AND signal IS NULL`, string(data), now, id)
	if err != nil {
		return false, fmt.Errorf("notify parent: %w", err)
	}
	n, _ := r.RowsAffected()
	return n > 0, nil
}

// startChild starts a sub-flow instance unless it exists (a second start
// after a crash); the sub-flow's id is derived from its parent's.
func (rt *Runtime) startChild(ctx context.Context, parent *engine.Instance, req *engine.SubFlowRequest) {
	var rootID, rootP sql.NullString
	_ = rt.db.QueryRowContext(ctx, `SELECT root_id, root_process_id FROM orchestrator_instances WHERE id = $1`, parent.ID()).Scan(&rootID, &rootP)
	rt.startSubFlow(ctx, parent.ID(), parent.Definition().W.ID, rootID.String, rootP.String, req)
}

func (rt *Runtime) startSubFlow(ctx context.Context, parentID, parentProcess, rootID, rootProcess string, req *engine.SubFlowRequest) {
	var exists int
	err := rt.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM orchestrator_instances WHERE id = $1`, req.InstanceID).Scan(&exists)
	if err != nil || exists > 0 {
		return
	}
	if rootID == "" {
		rootID, rootProcess = parentID, parentProcess
	}
	childParent := req.ParentID
	if childParent == "" {
		childParent = parentID
	}
	_, err = rt.Start(ctx, StartRequest{
		WorkflowID: req.WorkflowID, Data: req.Input, Variables: req.Variables,
		instanceID: req.InstanceID, parentID: childParent, rootID: rootID, rootP: rootProcess,
	})
	if err != nil && !errors.Is(err, errDuplicate) {
		rt.log.Error("start sub-flow", "parent", parentID, "workflow", req.WorkflowID, "error", err)
		// The parent must not wait forever for a child that cannot start.
		if req.Async {
			return
		}
		sig, _ := json.Marshal(engine.Signal{Error: &engine.ErrorInfo{Kind: engine.KindSubFlow, Message: err.Error()}})
		_, _ = rt.db.ExecContext(ctx, `UPDATE orchestrator_waits SET signal = $1, due_at = $2 WHERE instance_id = $3 AND child_id = $4 AND signal IS NULL`,
			string(sig), store.Now(), parentID, req.InstanceID)
		rt.Wake()
	}
}

// writeTx runs an instance's write in a transaction: shared with other
// instances' writes on SQLite (group commit), its own on PostgreSQL, where
// writers run in parallel.
func (rt *Runtime) writeTx(ctx context.Context, fn func(*sql.Tx) error) error {
	if rt.group != nil {
		return rt.group.tx(ctx, fn)
	}
	return rt.db.Tx(ctx, fn)
}

// localTimerHorizon bounds the timers a replica also arms in memory: a
// near timer set here wakes the dispatcher at its due time instead of at
// the next poll; far ones are found by polling.
const localTimerHorizon = time.Minute

// wakeAt wakes the dispatcher when a timer scheduled here is due.
func (rt *Runtime) wakeAt(at time.Time) {
	d := time.Until(at)
	if d > localTimerHorizon {
		return
	}
	if d <= 0 {
		rt.Wake()
		return
	}
	time.AfterFunc(d, rt.Wake)
}

// Wake makes the dispatcher look for due work now.
func (rt *Runtime) Wake() {
	select {
	case rt.wake <- struct{}{}:
	default:
	}
}

func (rt *Runtime) acquire(id string) {
	rt.mu.Lock()
	rt.running[id]++
	rt.mu.Unlock()
}

func (rt *Runtime) release(id string) {
	rt.mu.Lock()
	if rt.running[id]--; rt.running[id] <= 0 {
		delete(rt.running, id)
	}
	rt.mu.Unlock()
}

// instanceRow is the part of an instance row the runtime needs to resume.
type instanceRow struct {
	processID, hash, state string
	parent                 bool
}

// claim takes the lease of one instance if nobody holds it (or it
// expired) and its state is one of states.
func (rt *Runtime) claim(ctx context.Context, id string, states ...string) (bool, error) {
	now := store.Now()
	args := []any{rt.owner, now.Add(rt.lease), id, now}
	var in []string
	for _, s := range states {
		args = append(args, s)
		in = append(in, fmt.Sprintf("$%d", len(args)))
	}
	r, err := rt.db.ExecContext(ctx, `UPDATE orchestrator_instances SET lease_owner = $1, lease_expiry = $2
		WHERE id = $3 AND (lease_owner IS NULL OR lease_expiry < $4) AND state IN (`+strings.Join(in, ", ")+`)`, args...)
	if err != nil {
		return false, fmt.Errorf("claim instance: %w", err)
	}
	n, _ := r.RowsAffected()
	return n == 1, nil
}

// claimWait claims an instance for an API call, retrying while another run
// holds it (a run is short; waiting instances hold no lease).
func (rt *Runtime) claimWait(ctx context.Context, id string, states ...string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok, err := rt.claim(ctx, id, states...)
		if err != nil || ok {
			return err
		}
		var state string
		err = rt.db.QueryRowContext(ctx, `SELECT state FROM orchestrator_instances WHERE id = $1`, id).Scan(&state)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("instance %s: %w", id, ErrNotFound)
		}
		if err != nil {
			return err
		}
		allowed := false
		for _, s := range states {
			allowed = allowed || s == state
		}
		if !allowed && (state == string(engine.StatusCompleted) || state == string(engine.StatusAborted)) {
			// SonataFlow forgets ended instances: to its API they are gone.
			return fmt.Errorf("instance %s has ended (%s): %w", id, state, ErrNotFound)
		}
		if !allowed {
			return fmt.Errorf("instance %s is %s: %w", id, state, ErrInvalidState)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("instance %s is busy", id)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// restore loads an instance this replica holds the lease of.
func (rt *Runtime) restore(ctx context.Context, id string) (*engine.Instance, *dbJournal, *instanceRow, error) {
	var row instanceRow
	var parent sql.NullString
	err := rt.db.QueryRowContext(ctx, `SELECT process_id, definition_hash, state, parent_id FROM orchestrator_instances WHERE id = $1`, id).
		Scan(&row.processID, &row.hash, &row.state, &parent)
	row.parent = parent.Valid
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, nil, fmt.Errorf("instance %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	wf, ok := rt.reg.Version(row.processID, row.hash)
	if !ok || wf.Hash != row.hash {
		if stored, err := rt.storedDefinition(ctx, row.hash); err == nil {
			wf, ok = stored, true
		} else if !errors.Is(err, ErrNotFound) {
			rt.log.Warn("stored workflow version not loaded", "instance", id, "workflow", row.processID, "error", err)
		}
	}
	if !ok {
		return nil, nil, nil, fmt.Errorf("instance %s: workflow %q is not loaded", id, row.processID)
	}
	if wf.Hash != row.hash {
		rt.log.Warn("the version the instance started with is gone; resuming on the current one", "instance", id, "workflow", row.processID)
	}
	entries, pos, err := loadJournal(ctx, rt.db, rt.codec, id)
	if err != nil {
		return nil, nil, nil, err
	}
	j := &dbJournal{rt: rt, w: wf.Definition.W, id: id, pos: pos, processID: row.processID, hadWaits: true, parent: row.parent}
	j.observe(entries)
	in, err := wf.Definition.Restore(entries, j)
	if err != nil {
		return nil, nil, nil, err
	}
	return in, j, &row, nil
}

// dueSignal is a deliverable wait.
type dueSignal struct {
	waitID string
	signal sql.NullString
}

// resume drives an instance this replica has just claimed: it restores it,
// runs it to re-establish its waits and delivers what is due.
func (rt *Runtime) resume(ctx context.Context, id string) error {
	rt.acquire(id)
	defer rt.release(id)
	in, j, _, err := rt.restore(ctx, id)
	if err != nil {
		rt.retryLater(ctx, id)
		return err
	}
	out, err := in.Run(ctx)
	if err != nil {
		return fmt.Errorf("run instance %s: %w", id, err)
	}
	rows, err := rt.db.QueryContext(ctx, `SELECT wait_id, signal FROM orchestrator_waits WHERE instance_id = $1 AND due_at <= $2 ORDER BY due_at, wait_id`, id, store.Now())
	if err != nil {
		return err
	}
	var due []dueSignal
	for rows.Next() {
		var d dueSignal
		if err := rows.Scan(&d.waitID, &d.signal); err != nil {
			rows.Close()
			return err
		}
		due = append(due, d)
	}
	rows.Close()
	var rejected []string
	for _, d := range due {
		if out.Status != engine.StatusActive {
			break
		}
		sig := engine.Signal{WaitID: d.waitID}
		if d.signal.Valid {
			if err := json.Unmarshal([]byte(d.signal.String), &sig); err != nil {
				rt.log.Error("undecodable signal", "instance", id, "wait", d.waitID, "error", err)
				rejected = append(rejected, d.waitID)
				continue
			}
			sig.WaitID = d.waitID
		}
		next, err := in.Deliver(ctx, sig)
		if errors.Is(err, engine.ErrNoSuchWait) {
			rejected = append(rejected, d.waitID)
			continue
		}
		if err != nil {
			return fmt.Errorf("deliver to instance %s: %w", id, err)
		}
		out = next
	}
	_, err = rt.finish(ctx, in, j, out, rejected)
	return err
}

// unlease gives up a lease without running.
func (rt *Runtime) unlease(ctx context.Context, id string) {
	_, _ = rt.db.ExecContext(ctx, `UPDATE orchestrator_instances SET lease_owner = NULL, lease_expiry = NULL WHERE id = $1 AND lease_owner = $2`, id, rt.owner)
}

// retryLater keeps the lease of an instance that cannot run now (its
// workflow is not loaded, say) for a minute without heartbeats: nobody
// claims it meanwhile, and any replica retries it after that.
func (rt *Runtime) retryLater(ctx context.Context, id string) {
	_, _ = rt.db.ExecContext(ctx, `UPDATE orchestrator_instances SET lease_expiry = $1 WHERE id = $2 AND lease_owner = $3`,
		store.Now().Add(time.Minute), id, rt.owner)
}

// newID returns a time-ordered UUID (version 7) for an instance or an
// audit row: rows keyed by it (the instance, its journal and node
// instances) are inserted at the end of their indexes instead of at random
// places, so a commit writes fewer pages.
func newID() string { return uuid.Must(uuid.NewV7()).String() }

// Abort ends an instance as ABORTED.
func (rt *Runtime) Abort(ctx context.Context, processID, id, actor string) (*Result, error) {
	if err := rt.checkProcess(ctx, processID, id); err != nil {
		return nil, err
	}
	if err := rt.claimWait(ctx, id, "ACTIVE", "ERROR", "SUSPENDED"); err != nil {
		return nil, err
	}
	rt.acquire(id)
	defer rt.release(id)
	in, j, row, err := rt.restore(ctx, id)
	if err != nil {
		rt.unlease(ctx, id)
		return nil, err
	}
	var out *engine.Outcome
	if row.state == string(engine.StatusError) {
		// The engine only aborts active instances; an instance in error
		// is ended by recording the abort directly.
		if err := j.Append(ctx, engine.Entry{Seq: j.seq + 1, Kind: engine.EntryAborted, Time: store.Now(), Data: in.Data()}); err != nil {
			return nil, err
		}
		out = &engine.Outcome{Status: engine.StatusAborted, Data: in.Data()}
	} else {
		if out, err = in.Abort(ctx); err != nil {
			return nil, err
		}
	}
	rt.audit(ctx, actor, "abort", processID, id, nil)
	return rt.finish(ctx, in, j, out, nil)
}

// Retrigger runs the failed state of an instance in error again, with the
// data it was entered with. The failure entries are kept in the journal
// but set aside, so that the state's failed actions run again while its
// completed ones are answered from the journal.
func (rt *Runtime) Retrigger(ctx context.Context, processID, id, actor string) (*Result, error) {
	return rt.RetriggerWithHeaders(ctx, processID, id, actor, nil)
}

// checkProcess makes sure an instance belongs to the workflow the URL names.
func (rt *Runtime) checkProcess(ctx context.Context, processID, id string) error {
	var p string
	err := rt.db.QueryRowContext(ctx, `SELECT process_id FROM orchestrator_instances WHERE id = $1`, id).Scan(&p)
	if errors.Is(err, sql.ErrNoRows) || err == nil && p != processID {
		return fmt.Errorf("instance %s of %s: %w", id, processID, ErrNotFound)
	}
	return err
}

// audit records who did what, as a log line and a row.
func (rt *Runtime) audit(ctx context.Context, actor, action, processID, id string, detail map[string]any) {
	a := rt.auditEntry(actor, action, processID, id, detail)
	_, err := rt.db.ExecContext(ctx, `INSERT INTO orchestrator_audit (id, at, actor, action, process_id, instance_id, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		a.id, store.Now(), a.actor, a.action, a.processID, id, a.detail)
	if err != nil {
		rt.log.Warn("audit row not written", "error", err)
	}
}

// auditEntry logs an audited action and returns its row.
func (rt *Runtime) auditEntry(actor, action, processID, id string, detail map[string]any) *auditRow {
	if actor == "" {
		actor = "anonymous"
	}
	var d []byte
	if detail != nil {
		d, _ = json.Marshal(detail)
	}
	rt.log.Info("orchestrator audit", "actor", actor, "action", action, "workflow", processID, "instance", id, "detail", string(d))
	return &auditRow{id: newID(), actor: actor, action: action, processID: processID, detail: string(d)}
}

// redact replaces values under secret-looking keys, for the audit log.
func redact(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, val := range t {
			lk := strings.ToLower(k)
			if strings.Contains(lk, "password") || strings.Contains(lk, "secret") || strings.Contains(lk, "token") || strings.Contains(lk, "key") && !strings.Contains(lk, "businesskey") {
				out[k] = "<redacted>"
				continue
			}
			out[k] = redact(val)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i := range t {
			out[i] = redact(t[i])
		}
		return out
	}
	return v
}
