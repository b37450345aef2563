package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/portico-dev/portico/internal/workflow"
	"github.com/portico-dev/portico/internal/workflow/expr"
)

// step runs the current state once: from the data it was entered with, with
// what the journal recorded for it answered from memory.
type step struct {
	in   *Instance
	st   *workflow.State
	host context.Context // the caller's context: its end is not a workflow error
	key  string          // prefix of every key in this step
}

// lookup returns the recorded result of key, if any.
func (s *step) lookup(key string) *Entry {
	s.in.mu.Lock()
	defer s.in.mu.Unlock()
	return s.in.memo[key]
}

func (s *step) wasStarted(key string) bool {
	s.in.mu.Lock()
	defer s.in.mu.Unlock()
	return s.in.started[key] != nil
}

func (s *step) signal(id string) *Entry {
	s.in.mu.Lock()
	defer s.in.mu.Unlock()
	return s.in.signals[id]
}

func (s *step) addPending(w Wait) {
	s.in.mu.Lock()
	defer s.in.mu.Unlock()
	w.State, w.Step = s.st.Name, s.in.cur.Step
	if old, ok := s.in.waits[w.ID]; ok {
		w = *old // keep the deadline recorded when the wait began
	}
	s.in.pending[w.ID] = w
}

// timer returns a timer wait that fires d after it was first requested.
func (s *step) timer(id, reason string, d time.Duration) Wait {
	s.in.mu.Lock()
	old, ok := s.in.waits[id]
	s.in.mu.Unlock()
	if ok {
		return *old
	}
	return Wait{ID: id, Kind: WaitTimer, At: s.in.def.eng.now().Add(d), Reason: reason}
}

// waitAny returns the index of the first of ws to have been signalled (in
// journal order) and its signal, or registers all of ws and suspends.
func (s *step) waitAny(ws ...Wait) (int, *Signal, error) {
	best, bestSeq := -1, int64(0)
	var sig *Signal
	for i, w := range ws {
		if e := s.signal(w.ID); e != nil && (best < 0 || e.Seq < bestSeq) {
			best, bestSeq, sig = i, e.Seq, e.Signal
		}
	}
	if best >= 0 {
		return best, sig, nil
	}
	for _, w := range ws {
		s.addPending(w)
	}
	return -1, nil, errSuspended
}

// effect runs f once per key: a recorded result or error is returned
// without running f again. Start and end are journaled around f.
func (s *step) effect(ctx context.Context, key, name, nodeType string, f func(context.Context) (any, error)) (any, error) {
	if e := s.lookup(key); e != nil {
		if e.Kind == EntryActionFailed {
			return nil, e.Error.Err()
		}
		return e.Result, nil
	}
	if err := s.in.append(ctx, Entry{Kind: EntryActionStarted, Step: s.in.cur.Step, State: s.st.Name, Key: key, Name: name, NodeType: nodeType}); err != nil {
		return nil, &journalError{err}
	}
	res, err := f(ctx)
	var headers map[string]string
	if r, ok := res.(*Response); ok {
		res = nil
		if r != nil {
			res, headers = r.Body, r.Headers
		}
	}
	if err != nil && s.host.Err() != nil {
		// The host is shutting down: not a failure of the action, which
		// will run again when the instance is resumed.
		return nil, s.host.Err()
	}
	entry := Entry{Kind: EntryActionCompleted, Step: s.in.cur.Step, State: s.st.Name, Key: key, Name: name, NodeType: nodeType, Result: res, Headers: headers}
	if err != nil {
		we := classify(err, s.st.Name, name)
		entry.Kind, entry.Result, entry.Error = EntryActionFailed, nil, we.Info()
		err = we
	} else if res, err = expr.Normalize(res); err != nil {
		we := &Error{Kind: KindFunction, State: s.st.Name, Action: name, Message: "result: " + err.Error()}
		entry.Kind, entry.Result, entry.Error = EntryActionFailed, nil, we.Info()
		err = we
	} else {
		entry.Result = res
	}
	if jerr := s.in.append(ctx, entry); jerr != nil {
		return nil, &journalError{jerr}
	}
	return res, err
}

// bounded runs f under a deadline at `at` (zero: none). Work in process is
// cancelled then; if f has to wait, a timer named id is added, and once it
// has fired the scope fails with a timeout.
func (s *step) bounded(ctx context.Context, id, reason string, at time.Time, f func(context.Context) error) error {
	if at.IsZero() {
		return f(ctx)
	}
	if s.signal(id) != nil {
		return &Error{Kind: KindTimeout, State: s.st.Name, Message: reason + " expired"}
	}
	cctx, cancel := context.WithTimeout(ctx, at.Sub(s.in.def.eng.now()))
	defer cancel()
	err := f(cctx)
	if errors.Is(err, errSuspended) {
		s.addPending(Wait{ID: id, Kind: WaitTimer, At: at, Reason: reason})
		return err
	}
	if err != nil && cctx.Err() != nil && ctx.Err() == nil {
		return &Error{Kind: KindTimeout, State: s.st.Name, Message: reason + " expired", Err: err}
	}
	return err
}

// runState runs the current state and returns its output data and the
// transition or end it takes.
func (in *Instance) runState(ctx context.Context, st *workflow.State) (any, Choice, error) {
	s := &step{in: in, st: st, host: ctx, key: fmt.Sprintf("s%d", in.cur.Step)}
	if at := in.workflowDeadline(); !at.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, at.Sub(in.def.eng.now()))
		defer cancel()
	}
	var at time.Time
	if d := in.timeoutOf(st, stateExecTimeout); d > 0 {
		at = in.cur.Entered.Add(d)
	}
	var out any
	var choice Choice
	err := s.bounded(ctx, s.key+"/stateExecTimeout", "stateExecTimeout", at, func(ctx context.Context) error {
		var err error
		out, choice, err = s.run(ctx)
		return err
	})
	return out, choice, err
}

func (s *step) run(ctx context.Context) (any, Choice, error) {
	in, st := s.in, s.st
	vars := in.vars()
	data := in.cur.Data
	var err error
	if f := st.StateDataFilter; f != nil && f.Input != "" {
		if data, err = in.def.ev.StateFilter(ctx, f.Input, data, vars); err != nil {
			return nil, Choice{}, err
		}
	}
	choice := stateChoice(st)
	switch st.Type {
	case workflow.StateInject:
		// SonataFlow merges inject data as written: strings in it are not
		// expressions.
		data = expr.Merge(st.Data, data, in.def.ev.ConcatArrays)
	case workflow.StateOperation:
		data, err = s.actions(ctx, s.key, st.Actions, st.ActionMode, data, vars)
	case workflow.StateSwitch:
		data, choice, err = s.doSwitch(ctx, data, vars)
	case workflow.StateSleep:
		err = s.sleepState()
	case workflow.StateParallel:
		data, err = s.parallel(ctx, data, vars)
	case workflow.StateForEach:
		data, err = s.forEach(ctx, data, vars)
	case workflow.StateEvent:
		data, err = s.eventState(ctx, data, vars)
	case workflow.StateCallback:
		data, err = s.callback(ctx, data, vars)
	default:
		err = &Error{Kind: KindDefinition, State: st.Name, Message: fmt.Sprintf("state type %q is not supported", st.Type)}
	}
	if err != nil {
		return nil, Choice{}, err
	}
	if f := st.StateDataFilter; f != nil && f.Output != "" {
		if data, err = in.def.ev.StateFilter(ctx, f.Output, data, vars); err != nil {
			return nil, Choice{}, err
		}
	}
	return data, choice, nil
}

func (s *step) sleepState() error {
	d, err := workflow.ParseDuration(s.st.Duration)
	if err != nil {
		return &Error{Kind: KindDefinition, State: s.st.Name, Message: err.Error()}
	}
	w := Wait{ID: s.key + "/sleep", Kind: WaitTimer, At: s.in.cur.Entered.Add(d), Reason: "sleep"}
	_, _, err = s.waitAny(w)
	return err
}

func (s *step) doSwitch(ctx context.Context, data any, vars expr.Vars) (any, Choice, error) {
	st := s.st
	if len(st.EventConditions) > 0 {
		return s.eventSwitch(ctx, data, vars)
	}
	for i, c := range st.DataConditions {
		ok, err := s.in.def.ev.Condition(ctx, c.Condition, data, vars)
		if err != nil {
			return nil, Choice{}, err
		}
		if ok {
			return data, Choice{From: st.Name, Ref: fmt.Sprintf("data:%d", i)}, nil
		}
	}
	return data, Choice{From: st.Name, Ref: "default"}, nil
}

func (s *step) eventSwitch(ctx context.Context, data any, vars expr.Vars) (any, Choice, error) {
	st := s.st
	w := Wait{ID: s.key + "/events", Kind: WaitEvent}
	for _, c := range st.EventConditions {
		w.Events = append(w.Events, s.in.def.eventMatch(c.EventRef, s.in.correlation))
	}
	ws := []Wait{w}
	if d := s.in.timeoutOf(st, eventTimeout); d > 0 {
		ws = append(ws, Wait{ID: s.key + "/eventTimeout", Kind: WaitTimer, At: s.in.cur.Entered.Add(d), Reason: "eventTimeout"})
	}
	i, sig, err := s.waitAny(ws...)
	if err != nil {
		return nil, Choice{}, err
	}
	if i == 1 {
		return data, Choice{From: st.Name, Ref: "default"}, nil
	}
	for j, c := range st.EventConditions {
		if s.in.def.eventMatch(c.EventRef, nil).Matches(sig.Event) {
			data, err = s.mergeEvent(ctx, c.EventRef, c.EventDataFilter, data, sig.Event, vars)
			return data, Choice{From: st.Name, Ref: fmt.Sprintf("event:%d", j)}, err
		}
	}
	return data, Choice{From: st.Name, Ref: "default"}, nil
}

// eventPayload is what a workflow sees of an event: its data, or the whole
// event when the definition says dataOnly: false.
func (s *step) eventPayload(ref string, ev *Event) any {
	if def := s.in.def.W.Event(ref); def != nil && !def.DataOnly {
		return ev.object()
	}
	return ev.Data
}

func (s *step) mergeEvent(ctx context.Context, ref string, f *workflow.EventDataFilter, data any, ev *Event, vars expr.Vars) (any, error) {
	ef := expr.EventFilter{}
	if f != nil {
		ef = expr.EventFilter{Data: f.Data, ToStateData: f.ToStateData, IgnoreData: !f.UseData}
	}
	return s.in.def.ev.MergeEventData(ctx, ef, data, s.eventPayload(ref, ev), vars)
}

func (s *step) eventState(ctx context.Context, data any, vars expr.Vars) (any, error) {
	st := s.st
	for _, oe := range st.OnEvents {
		for _, ref := range oe.EventRefs {
			if s.in.def.W.Event(ref) == nil {
				return nil, &Error{Kind: KindDefinition, State: st.Name, Message: fmt.Sprintf("unknown event %q", ref)}
			}
		}
	}
	var timeout []Wait
	if d := s.in.timeoutOf(st, eventTimeout); d > 0 {
		timeout = []Wait{{ID: s.key + "/eventTimeout", Kind: WaitTimer, At: s.in.cur.Entered.Add(d), Reason: "eventTimeout"}}
	}
	// The event that started the instance is the first state's event.
	if s.in.cur.Step == 1 && s.in.start.Event != nil && s.signal(s.key+"/start") == nil {
		s.in.mu.Lock()
		s.in.signals[s.key+"/start"] = &Entry{Signal: &Signal{Event: s.in.start.Event}}
		s.in.mu.Unlock()
	}
	if st.Exclusive {
		w := Wait{ID: s.key + "/events", Kind: WaitEvent}
		for _, oe := range st.OnEvents {
			for _, ref := range oe.EventRefs {
				w.Events = append(w.Events, s.in.def.eventMatch(ref, s.in.correlation))
			}
		}
		var sig *Signal
		if e := s.signal(s.key + "/start"); e != nil {
			sig = e.Signal
		} else {
			i, got, err := s.waitAny(append([]Wait{w}, timeout...)...)
			if err != nil {
				return nil, err
			}
			if i == 1 {
				return data, nil // eventTimeout: go on without the event
			}
			sig = got
		}
		for i, oe := range st.OnEvents {
			for _, ref := range oe.EventRefs {
				if s.in.def.eventMatch(ref, nil).Matches(sig.Event) {
					data, err := s.mergeEvent(ctx, ref, oe.EventDataFilter, data, sig.Event, vars)
					if err != nil {
						return nil, err
					}
					return s.actions(ctx, fmt.Sprintf("%s/on%d", s.key, i), oe.Actions, oe.ActionMode, data, vars)
				}
			}
		}
		return data, nil
	}
	// exclusive: false: every event of every onEvents must arrive.
	type got struct {
		oe, ref int
		sig     *Signal
	}
	var received []got
	var missing []Wait
	startUsed := false
	for i, oe := range st.OnEvents {
		for j, ref := range oe.EventRefs {
			id := fmt.Sprintf("%s/on%d/e%d", s.key, i, j)
			m := s.in.def.eventMatch(ref, s.in.correlation)
			if e := s.signal(s.key + "/start"); e != nil && !startUsed && m.Matches(e.Signal.Event) {
				startUsed = true
				received = append(received, got{i, j, e.Signal})
				continue
			}
			if e := s.signal(id); e != nil {
				received = append(received, got{i, j, e.Signal})
				continue
			}
			missing = append(missing, Wait{ID: id, Kind: WaitEvent, Events: []EventMatch{m}})
		}
	}
	if len(missing) > 0 {
		timedOut := false
		if len(timeout) > 0 && s.signal(timeout[0].ID) != nil {
			timedOut = true
		}
		if !timedOut {
			for _, w := range append(missing, timeout...) {
				s.addPending(w)
			}
			return nil, errSuspended
		}
	}
	var err error
	for i, oe := range st.OnEvents {
		any := false
		for _, g := range received {
			if g.oe == i {
				any = true
				if data, err = s.mergeEvent(ctx, oe.EventRefs[g.ref], oe.EventDataFilter, data, g.sig.Event, vars); err != nil {
					return nil, err
				}
			}
		}
		if any {
			if data, err = s.actions(ctx, fmt.Sprintf("%s/on%d", s.key, i), oe.Actions, oe.ActionMode, data, vars); err != nil {
				return nil, err
			}
		}
	}
	return data, nil
}

func (s *step) callback(ctx context.Context, data any, vars expr.Vars) (any, error) {
	st := s.st
	var err error
	if st.Action != nil {
		if data, err = s.actions(ctx, s.key+"/cb", []*workflow.Action{st.Action}, workflow.ActionSequential, data, vars); err != nil {
			return nil, err
		}
	}
	ws := []Wait{{ID: s.key + "/event", Kind: WaitEvent, Events: []EventMatch{s.in.def.eventMatch(st.EventRef, s.in.correlation)}}}
	if d := s.in.timeoutOf(st, eventTimeout); d > 0 {
		ws = append(ws, s.timer(s.key+"/eventTimeout", "eventTimeout", d))
	}
	i, sig, err := s.waitAny(ws...)
	if err != nil {
		return nil, err
	}
	if i == 1 {
		return data, nil
	}
	return s.mergeEvent(ctx, st.EventRef, st.EventDataFilter, data, sig.Event, vars)
}
