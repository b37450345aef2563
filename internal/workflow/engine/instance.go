package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/portico-dev/portico/internal/workflow"
	"github.com/portico-dev/portico/internal/workflow/expr"
)

// Cursor is the position of an instance at the top level: the state it is
// in and the data it entered with, plus compensation bookkeeping. It is
// recorded with every StateEntered entry, so the last one is all the
// top-level position a restore needs.
type Cursor struct {
	Step    int       `json:"step"`
	State   string    `json:"state"`
	Data    any       `json:"data"`
	Entered time.Time `json:"entered"`
	// Compensable lists the completed states that have compensatedBy, in
	// completion order.
	Compensable []string `json:"compensable,omitempty"`
	// Compensating is true while compensation states run; Pending holds
	// the compensation states still to run after the current chain.
	Compensating bool     `json:"compensating,omitempty"`
	Pending      []string `json:"pending,omitempty"`
	// After is where to continue once compensation is over.
	After *Choice `json:"after,omitempty"`
	// Finishing is set while the workflowExecTimeout's runBefore state
	// runs: the instance ends after it.
	Finishing bool `json:"finishing,omitempty"`
}

// Choice names the transition or end a state took, so that it can be
// recorded and looked up again: Ref is "transition", "end", "data:N",
// "event:N", "default", "error:N", or "abort".
type Choice struct {
	From string `json:"from"`
	Ref  string `json:"ref"`
}

// Instance is one running workflow instance. It is not safe for concurrent
// use: the host must serialize Run, Deliver and Abort (for example with a
// lease on the instance).
type Instance struct {
	def     *Definition
	journal Journal

	start       *StartInfo
	startedAt   time.Time
	status      Status
	seq         int64
	cur         *Cursor
	output      any
	err         *Error
	correlation map[string]string
	expired     bool // workflowExecTimeout fired
	lastStep    int  // step of the last state entered
	// responseHeaders are those of the last function call that had any.
	responseHeaders map[string]string

	// Per step (cleared when a state is entered):
	memo    map[string]*Entry // ActionCompleted / ActionFailed by key
	started map[string]*Entry // ActionStarted by key
	waits   map[string]*Wait  // WaitStarted by id
	signals map[string]*Entry // Signal entries by wait id
	global  map[string]*Wait  // waits that outlive a state (workflow timeout)

	mu      sync.Mutex // guards append and the maps above during a step
	out     *Outcome
	pending map[string]Wait // waits requested by the running step
}

func newInstance(d *Definition, j Journal) *Instance {
	return &Instance{
		def: d, journal: j, status: StatusActive,
		memo: map[string]*Entry{}, started: map[string]*Entry{}, waits: map[string]*Wait{},
		signals: map[string]*Entry{}, global: map[string]*Wait{}, correlation: map[string]string{},
	}
}

// ID returns the instance id.
func (in *Instance) ID() string { return in.start.InstanceID }

// Status returns the instance's status.
func (in *Instance) Status() Status { return in.status }

// Definition returns the definition the instance runs.
func (in *Instance) Definition() *Definition { return in.def }

// append numbers entries, applies them to the instance and hands them to
// the journal. A journal failure is returned as is: the host could not
// record the step, so the instance must not go on.
func (in *Instance) append(ctx context.Context, entries ...Entry) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	for i := range entries {
		in.seq++
		entries[i].Seq = in.seq
		if entries[i].Time.IsZero() {
			entries[i].Time = in.def.eng.now()
		}
	}
	if in.journal != nil {
		if err := in.journal.Append(ctx, entries...); err != nil {
			in.seq -= int64(len(entries))
			return fmt.Errorf("journal: %w", err)
		}
	}
	for i := range entries {
		in.applyLocked(&entries[i])
	}
	return nil
}

// apply updates the instance from one entry; Restore replays the journal
// through it and append uses it for new entries, so both paths agree.
func (in *Instance) apply(e *Entry) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.seq = e.Seq
	in.applyLocked(e)
}

func (in *Instance) applyLocked(e *Entry) {
	switch e.Kind {
	case EntryStarted:
		in.start = e.Start
		in.startedAt = e.Time
		if ev := e.Start.Event; ev != nil {
			in.bindCorrelation(ev)
		}
	case EntryStateEntered:
		in.cur = e.Cursor
		in.lastStep = e.Cursor.Step
		clear(in.memo)
		clear(in.started)
		clear(in.signals)
		for id := range in.waits {
			delete(in.waits, id)
		}
	case EntryActionStarted:
		in.started[e.Key] = e
	case EntryActionCompleted, EntryActionFailed:
		in.memo[e.Key] = e
		if e.Headers != nil {
			in.responseHeaders = e.Headers
		}
	case EntryWaitStarted:
		if e.Wait.Reason == "workflowExecTimeout" {
			in.global[e.Wait.ID] = e.Wait
		} else {
			in.waits[e.Wait.ID] = e.Wait
		}
	case EntrySignal:
		in.signals[e.Signal.WaitID] = e
		if ev := e.Signal.Event; ev != nil {
			in.bindCorrelation(ev)
		}
	case EntryExpired:
		in.expired = true
		delete(in.global, e.Key)
	case EntryCompleted:
		in.status = StatusCompleted
		in.output = e.Data
		in.cur = nil
	case EntryFailed:
		in.status = StatusError
		in.err = e.Error.Err()
	case EntryAborted:
		in.status = StatusAborted
		if in.cur != nil {
			in.output = in.cur.Data
		}
		if e.Data != nil {
			in.output = e.Data
		}
		in.cur = nil
	case EntryKeptActive:
		in.output = e.Data
		in.cur = nil
	case EntryDataUpdated:
		if in.cur == nil {
			in.output = e.Data
			break
		}
		// Entries may be shared with the journal: the cursor is replaced,
		// never changed in place.
		c := *in.cur
		c.Data = e.Data
		in.cur = &c
	}
}

// bindCorrelation binds the instance to the correlation attributes of the
// first event that carries them; later events must carry the same values.
func (in *Instance) bindCorrelation(ev *Event) {
	for k, v := range ev.Extensions {
		if _, bound := in.correlation[k]; !bound && in.isCorrelationKey(k) {
			in.correlation[k] = expr.Text(v)
		}
	}
}

func (in *Instance) isCorrelationKey(name string) bool {
	for _, ev := range in.def.W.Events {
		for _, c := range ev.Correlation {
			if c.ContextAttributeName == name {
				return true
			}
		}
	}
	return false
}

// vars returns the expression variables of the instance.
func (in *Instance) vars() expr.Vars {
	var extra map[string]any
	if in.responseHeaders != nil {
		h := make(map[string]any, len(in.responseHeaders))
		for k, v := range in.responseHeaders {
			h[k] = v
		}
		extra = map[string]any{"responseHeaders": h}
	}
	return expr.Vars{
		Const:   in.def.W.Constants,
		Secrets: in.def.secrets,
		Workflow: expr.Workflow{
			ID: in.def.W.ID, Name: in.def.W.Name, InstanceID: in.start.InstanceID,
			Headers: in.start.Headers, Input: in.start.Input, Extra: extra, Identity: in.start.Identity,
		},
		Process: in.start.Variables,
	}
}

// Data returns the current workflow data: the output when completed, the
// data the current state was entered with otherwise.
func (in *Instance) Data() any {
	if in.cur == nil {
		return in.output
	}
	return in.cur.Data
}

// errSuspended unwinds a step that has to wait.
var errSuspended = errors.New("waiting")

// Run continues the instance until it completes, fails or waits. The
// returned error is an infrastructure failure (the journal could not be
// written, the context was cancelled): the instance then stays where the
// journal says and can be run again. Workflow failures are reported in the
// Outcome with Status ERROR.
func (in *Instance) Run(ctx context.Context) (*Outcome, error) {
	in.out = &Outcome{}
	if err := in.armWorkflowTimeout(ctx); err != nil {
		return nil, err
	}
	for in.status == StatusActive && in.cur != nil {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		st := in.def.W.State(in.cur.State)
		if st == nil {
			if err := in.fail(ctx, &Error{Kind: KindDefinition, State: in.cur.State, Message: "no such state"}); err != nil {
				return nil, err
			}
			break
		}
		in.pending = map[string]Wait{}
		data, choice, err := in.runState(ctx, st)
		if errors.Is(err, errSuspended) {
			return in.suspend(ctx)
		}
		var jerr *journalError
		if errors.As(err, &jerr) {
			return nil, jerr.err
		}
		if err == nil {
			err = in.checkErrorMetadata(ctx, st, data)
		}
		if err != nil {
			if in.workflowDeadlinePassed() {
				if err := in.expire(ctx); err != nil {
					return nil, err
				}
				continue
			}
			if ctxErr := ctx.Err(); ctxErr != nil {
				return nil, ctxErr
			}
			we := classify(err, st.Name, "")
			ref := in.onError(st, we)
			if ref < 0 {
				if err := in.fail(ctx, we); err != nil {
					return nil, err
				}
				break
			}
			data, choice = in.cur.Data, Choice{From: st.Name, Ref: fmt.Sprintf("error:%d", ref)}
		}
		if err := in.advance(ctx, st, data, choice); err != nil {
			return nil, err
		}
	}
	return in.outcome(), nil
}

// journalError marks a journal failure inside a step, which must stop the
// run instead of being handled by onErrors.
type journalError struct{ err error }

func (e *journalError) Error() string { return e.err.Error() }
func (e *journalError) Unwrap() error { return e.err }

// suspend records the waits the step asked for and reports them.
func (in *Instance) suspend(ctx context.Context) (*Outcome, error) {
	var entries []Entry
	for _, id := range slices.Sorted(maps.Keys(in.pending)) {
		if _, ok := in.waits[id]; ok {
			continue
		}
		w := in.pending[id]
		entries = append(entries, Entry{Kind: EntryWaitStarted, Step: in.cur.Step, State: in.cur.State, Key: id, Wait: &w})
	}
	if len(entries) > 0 {
		if err := in.append(ctx, entries...); err != nil {
			return nil, err
		}
	}
	// Waits of this step that the step no longer asked for (a branch that
	// has finished) are dropped.
	for id := range in.waits {
		if _, ok := in.pending[id]; !ok {
			delete(in.waits, id)
		}
	}
	return in.outcome(), nil
}

func (in *Instance) outcome() *Outcome {
	o := in.out
	if o == nil {
		o = &Outcome{}
	}
	in.out = nil
	o.Status = in.status
	o.Data = in.Data()
	o.Error = in.err
	if in.cur != nil {
		o.State = in.cur.State
	}
	o.Waits = nil
	if in.status == StatusActive {
		for _, id := range slices.Sorted(maps.Keys(in.waits)) {
			o.Waits = append(o.Waits, *in.waits[id])
		}
		for _, id := range slices.Sorted(maps.Keys(in.global)) {
			o.Waits = append(o.Waits, *in.global[id])
		}
	}
	return o
}

// Waits returns the waits open now.
func (in *Instance) Waits() []Wait { return in.outcome().Waits }

// ErrNoSuchWait is returned by Deliver for a signal no open wait expects
// (a timer already cancelled, an event that came too late).
var ErrNoSuchWait = errors.New("the instance is not waiting for this")

// Deliver resolves one of the instance's open waits and runs the instance
// on. A signal for a wait that is not open gives ErrNoSuchWait and changes
// nothing.
func (in *Instance) Deliver(ctx context.Context, sig Signal) (*Outcome, error) {
	if in.status != StatusActive {
		return nil, ErrNoSuchWait
	}
	if w, ok := in.global[sig.WaitID]; ok {
		return in.fireWorkflowTimeout(ctx, w)
	}
	w, ok := in.waits[sig.WaitID]
	if !ok {
		return nil, ErrNoSuchWait
	}
	if _, done := in.signals[sig.WaitID]; done {
		return nil, ErrNoSuchWait
	}
	if w.Kind == WaitEvent {
		matched := false
		for _, m := range w.Events {
			if m.Matches(sig.Event) {
				matched = true
			}
		}
		if !matched {
			return nil, ErrNoSuchWait
		}
	}
	if err := in.append(ctx, Entry{Kind: EntrySignal, Step: in.cur.Step, State: in.cur.State, Key: sig.WaitID, Signal: &sig}); err != nil {
		return nil, err
	}
	return in.Run(ctx)
}

// DeliverEvent delivers ev to the first open wait it matches.
func (in *Instance) DeliverEvent(ctx context.Context, ev *Event) (*Outcome, error) {
	if in.status != StatusActive {
		return nil, ErrNoSuchWait
	}
	for _, id := range slices.Sorted(maps.Keys(in.waits)) {
		w := in.waits[id]
		if _, done := in.signals[id]; done || w.Kind != WaitEvent {
			continue
		}
		for _, m := range w.Events {
			if m.Matches(ev) {
				return in.Deliver(ctx, Signal{WaitID: id, Event: ev})
			}
		}
	}
	return nil, ErrNoSuchWait
}

// Abort ends the instance as ABORTED. As in SonataFlow, the states that
// completed and have compensatedBy are compensated first.
func (in *Instance) Abort(ctx context.Context) (*Outcome, error) {
	if in.status != StatusActive {
		return in.outcome(), nil
	}
	in.out = &Outcome{}
	if in.cur != nil && len(in.cur.Compensable) > 0 && !in.cur.Compensating {
		if err := in.compensate(ctx, in.cur.Data, Choice{Ref: "abort"}, nil); err != nil {
			return nil, err
		}
		return in.Run(ctx)
	}
	if err := in.append(ctx, Entry{Kind: EntryAborted, NodeType: "EndNode"}); err != nil {
		return nil, err
	}
	return in.outcome(), nil
}

func (in *Instance) fail(ctx context.Context, e *Error) error {
	in.def.eng.logger().Debug("workflow failed", "instance", in.ID(), "error", e)
	return in.append(ctx, Entry{Kind: EntryFailed, Step: in.lastStep, State: e.State, Error: e.Info()})
}

// onError returns the index of the state's onErrors handler for e, or -1.
func (in *Instance) onError(st *workflow.State, e *Error) int {
	for i, h := range st.OnErrors {
		for _, ref := range h.Refs() {
			def := in.def.W.Error(ref)
			if def == nil {
				continue
			}
			code := def.Code
			if code == "" {
				code = def.Name
			}
			if matchCode(code, e) {
				return i
			}
		}
	}
	return -1
}

// checkErrorMetadata implements SonataFlow's errorMessage state metadata:
// an expression that, when it yields something, fails the state with it.
func (in *Instance) checkErrorMetadata(ctx context.Context, st *workflow.State, data any) error {
	src, ok := st.Metadata["errorMessage"].(string)
	if !ok || src == "" {
		return nil
	}
	v, err := in.def.ev.Eval(ctx, src, data, in.vars())
	if err != nil {
		return err
	}
	if v == nil {
		return nil
	}
	return &Error{Kind: KindWorkflow, State: st.Name, Message: expr.Text(v)}
}

// resolve looks a recorded choice up in the definition.
func (in *Instance) resolve(c Choice) (*workflow.Transition, *workflow.End) {
	st := in.def.W.State(c.From)
	if st == nil {
		return nil, &workflow.End{}
	}
	var n int
	switch {
	case c.Ref == "transition":
		return st.Transition, nil
	case c.Ref == "end":
		return nil, st.End
	case c.Ref == "default":
		if st.DefaultCondition != nil {
			return st.DefaultCondition.Transition, st.DefaultCondition.End
		}
	case scan(c.Ref, "data:%d", &n) && n < len(st.DataConditions):
		return st.DataConditions[n].Transition, st.DataConditions[n].End
	case scan(c.Ref, "event:%d", &n) && n < len(st.EventConditions):
		return st.EventConditions[n].Transition, st.EventConditions[n].End
	case scan(c.Ref, "error:%d", &n) && n < len(st.OnErrors):
		return st.OnErrors[n].Transition, st.OnErrors[n].End
	}
	return nil, &workflow.End{}
}

func scan(s, format string, n *int) bool {
	_, err := fmt.Sscanf(s, format, n)
	return err == nil
}

// stateChoice is the plain transition or end of a state.
func stateChoice(st *workflow.State) Choice {
	if st.Transition != nil {
		return Choice{From: st.Name, Ref: "transition"}
	}
	return Choice{From: st.Name, Ref: "end"}
}

// advance leaves the current state with data and follows choice.
func (in *Instance) advance(ctx context.Context, st *workflow.State, data any, choice Choice) error {
	cur := in.cur
	now := in.def.eng.now()
	exit := Entry{Kind: EntryStateExited, Time: now, Step: cur.Step, State: st.Name, NodeType: in.def.NodeType(st.Name), Data: data}
	in.def.eng.logger().Debug("state exited", "instance", in.ID(), "state", st.Name)
	compensable := cur.Compensable
	if st.CompensatedBy != "" && !cur.Compensating {
		compensable = append(slices.Clone(compensable), st.Name)
	}
	if cur.Compensating {
		tr, _ := in.resolve(choice)
		if tr != nil && tr.NextState != "" {
			return in.enter(ctx, []Entry{exit}, &Cursor{
				State: tr.NextState, Data: data, Compensating: true, Pending: cur.Pending, After: cur.After, Compensable: compensable,
			})
		}
		if len(cur.Pending) > 0 {
			return in.enter(ctx, []Entry{exit}, &Cursor{
				State: cur.Pending[0], Data: data, Compensating: true, Pending: cur.Pending[1:], After: cur.After, Compensable: compensable,
			})
		}
		return in.follow(ctx, []Entry{exit}, data, *cur.After, compensable, true)
	}
	if in.expired || cur.Finishing {
		return in.finishExpired(ctx, []Entry{exit}, data, cur)
	}
	tr, end := in.resolve(choice)
	if (tr != nil && tr.Compensate) || (end != nil && end.Compensate) {
		in.cur.Compensable = compensable
		return in.compensate(ctx, data, choice, []Entry{exit})
	}
	return in.follow(ctx, []Entry{exit}, data, choice, compensable, false)
}

// compensate starts running the compensation states of the completed
// states, newest first, then continues with after.
func (in *Instance) compensate(ctx context.Context, data any, after Choice, pre []Entry) error {
	var queue []string
	for _, name := range slices.Backward(in.cur.Compensable) {
		if st := in.def.W.State(name); st != nil && st.CompensatedBy != "" {
			queue = append(queue, st.CompensatedBy)
		}
	}
	if len(queue) == 0 {
		return in.follow(ctx, pre, data, after, nil, true)
	}
	return in.enter(ctx, pre, &Cursor{State: queue[0], Data: data, Compensating: true, Pending: queue[1:], After: &after})
}

// follow takes a transition or end (compensation, if asked for, is done).
func (in *Instance) follow(ctx context.Context, pre []Entry, data any, choice Choice, compensable []string, compensated bool) error {
	if choice.Ref == "abort" {
		return in.append(ctx, append(pre, Entry{Kind: EntryAborted, NodeType: "EndNode", Data: data})...)
	}
	tr, end := in.resolve(choice)
	if tr != nil {
		produced, err := in.produce(ctx, tr.ProduceEvents, data, "t"+fmt.Sprint(in.cur.Step))
		if err != nil {
			return in.errorAt(ctx, pre, err)
		}
		return in.enter(ctx, append(pre, produced...), &Cursor{State: tr.NextState, Data: data, Compensable: compensable})
	}
	if end == nil {
		end = &workflow.End{}
	}
	return in.end(ctx, pre, data, end)
}

func (in *Instance) errorAt(ctx context.Context, pre []Entry, err error) error {
	if len(pre) > 0 {
		if aerr := in.append(ctx, pre...); aerr != nil {
			return aerr
		}
	}
	return in.fail(ctx, classify(err, in.cur.State, ""))
}

// end completes the workflow through an end definition.
func (in *Instance) end(ctx context.Context, pre []Entry, data any, end *workflow.End) error {
	produced, err := in.produce(ctx, end.ProduceEvents, data, "e"+fmt.Sprint(in.cur.Step))
	if err != nil {
		return in.errorAt(ctx, pre, err)
	}
	entries := append(pre, produced...)
	if err := validateSchema(in.def.outputSchema, data); err != nil {
		return in.errorAt(ctx, entries, &Error{Kind: KindValidation, State: in.cur.State, Message: "output does not match the output schema: " + err.Error()})
	}
	done := Entry{Kind: EntryCompleted, NodeType: "EndNode", Data: data}
	if ca := end.ContinueAs; ca != nil {
		var next any = data
		if ca.Data != nil {
			if next, err = in.evalData(ctx, ca.Data, data); err != nil {
				return in.errorAt(ctx, entries, err)
			}
		}
		done.ContinueAs = &SubFlowRequest{InstanceID: childID(in.ID(), "continueAs"), WorkflowID: ca.WorkflowID, Version: ca.Version, Input: next}
		if done.ContinueAs.WorkflowID == "" {
			done.ContinueAs.WorkflowID = in.def.W.ID
		}
		if in.out != nil {
			in.out.ContinueAs = done.ContinueAs
		}
	}
	if in.def.W.KeepActive && !end.Terminate && done.ContinueAs == nil {
		// keepActive: the instance stays active with no path running
		// until it is aborted or its workflowExecTimeout expires.
		return in.append(ctx, append(entries, Entry{Kind: EntryKeptActive, Data: data})...)
	}
	return in.append(ctx, append(entries, done)...)
}

// enter records pre (the previous state's exit and what it produced) and
// the entry of the next state in one batch.
func (in *Instance) enter(ctx context.Context, pre []Entry, next *Cursor) error {
	now := in.def.eng.now()
	next.Step = in.lastStep + 1
	next.Entered = now
	if in.cur != nil {
		next.Finishing = next.Finishing || in.cur.Finishing && next.Compensating
	}
	if in.def.W.State(next.State) == nil {
		if err := in.append(ctx, pre...); err != nil {
			return err
		}
		return in.fail(ctx, &Error{Kind: KindDefinition, Message: fmt.Sprintf("transition to unknown state %q", next.State)})
	}
	in.def.eng.logger().Debug("state entered", "instance", in.ID(), "state", next.State)
	return in.append(ctx, append(pre, Entry{Kind: EntryStateEntered, Time: now, Step: next.Step, State: next.State, NodeType: in.def.NodeType(next.State), Cursor: next})...)
}

// produce builds the events of produceEvents.
func (in *Instance) produce(ctx context.Context, pes []*workflow.ProduceEvent, data any, key string) ([]Entry, error) {
	var entries []Entry
	for i, pe := range pes {
		ev, err := in.buildEvent(ctx, pe.EventRef, pe.Data, pe.ContextAttributes, data, fmt.Sprintf("%s/p%d", key, i))
		if err != nil {
			return nil, err
		}
		entries = append(entries, Entry{Kind: EntryEventProduced, Key: ev.ID, Event: ev})
		if in.out != nil {
			in.out.Produced = append(in.out.Produced, *ev)
		}
	}
	return entries, nil
}

// buildEvent makes a produced CloudEvent with SonataFlow's kogito
// extension attributes.
func (in *Instance) buildEvent(ctx context.Context, ref string, dataTmpl any, attrs map[string]any, data any, key string) (*Event, error) {
	def := in.def.W.Event(ref)
	if def == nil {
		return nil, &Error{Kind: KindDefinition, Message: fmt.Sprintf("unknown event %q", ref)}
	}
	payload := data
	if dataTmpl != nil {
		var err error
		if payload, err = in.evalData(ctx, dataTmpl, data); err != nil {
			return nil, err
		}
	}
	src := def.Source
	if src == "" {
		src = "/process/" + in.def.W.ID
	}
	ev := &Event{
		ID: childID(in.ID(), key), Type: def.Type, Source: src, Time: in.def.eng.now(), DataContentType: "application/json", Data: payload,
		Extensions: map[string]any{
			"kogitoprocinstanceid": in.ID(), "kogitoprocid": in.def.W.ID, "kogitoprocrefid": in.ID(),
			"kogitoprocist": "1", "kogitoprocversion": in.def.W.Version,
		},
	}
	if in.start.BusinessKey != "" {
		ev.Extensions["kogitobusinesskey"] = in.start.BusinessKey
	}
	if in.start.ParentID != "" {
		ev.Extensions["kogitoparentprociid"] = in.start.ParentID
	}
	for k, v := range in.correlation {
		ev.Extensions[k] = v
	}
	if len(attrs) > 0 {
		vals, err := in.def.ev.Template(ctx, attrs, data, in.vars())
		if err != nil {
			return nil, err
		}
		if m, ok := vals.(map[string]any); ok {
			maps.Copy(ev.Extensions, m)
		}
	}
	return ev, nil
}

// evalData evaluates an "expression string or object" field.
func (in *Instance) evalData(ctx context.Context, tmpl any, data any) (any, error) {
	if s, ok := tmpl.(string); ok {
		return in.def.ev.Eval(ctx, s, data, in.vars())
	}
	return in.def.ev.Template(ctx, tmpl, data, in.vars())
}
