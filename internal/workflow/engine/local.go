package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// LocalHost drives instances in process, with an in-memory journal and
// in-memory timers: the local runner (portico workflow run) and tests use
// it. Timers really wait unless FastTimers is set, in which case time
// jumps to the next timer at once. It is not durable: a durable host keeps
// the same loop but stores the journal and the timers.
type LocalHost struct {
	// SubFlow returns the definition of a workflow a subFlowRef names;
	// nil refuses sub-flows.
	SubFlow func(ctx context.Context, workflowID, version string) (*Definition, error)
	// Events are delivered, in order, when an instance waits for a
	// matching event; each is delivered once.
	Events []*Event
	// FastTimers fires timers without waiting for them.
	FastTimers bool
	// OnEntries sees every journal batch of every instance (transitions
	// for the runner's log).
	OnEntries func(instanceID string, entries []Entry)
	// OnProduced sees every produced event.
	OnProduced func(Event)
	// Sleep waits; nil uses a timer honouring ctx.
	Sleep func(ctx context.Context, d time.Duration) error
	// Journals holds each instance's journal after Run.
	Journals map[string]*MemoryJournal
	// MaxSignals bounds the signals delivered to one instance (0: no
	// bound), for workflows that poll forever.
	MaxSignals int
	// Async collects the outcomes of the async sub-flows started, which
	// run to their end (or first unresolvable wait) before the parent goes
	// on.
	Async []*Outcome

	clock time.Time // with FastTimers, the time reached so far
}

// ErrStuck is returned when an instance waits for something that can
// never come (an event that was not given).
var ErrStuck = errors.New("the instance waits for something that will not come")

// Run starts an instance of def and drives it until it is no longer
// active, or until it waits only for things that cannot come.
func (h *LocalHost) Run(ctx context.Context, def *Definition, opts StartOptions) (*Instance, *Outcome, error) {
	if h.Journals == nil {
		h.Journals = map[string]*MemoryJournal{}
	}
	j := &MemoryJournal{}
	in, err := def.New(ctx, j, opts)
	if err != nil {
		return nil, nil, err
	}
	h.Journals[in.ID()] = j
	if h.OnEntries != nil {
		h.OnEntries(in.ID(), j.Entries())
		j.OnAppend = func(es []Entry) { h.OnEntries(in.ID(), es) }
	}
	out, err := in.Run(ctx)
	if err != nil {
		return in, nil, err
	}
	out, err = h.Drive(ctx, in, out)
	return in, out, err
}

// Drive resolves in's waits until it is no longer active.
func (h *LocalHost) Drive(ctx context.Context, in *Instance, out *Outcome) (*Outcome, error) {
	for n := 0; ; n++ {
		h.report(ctx, out)
		if h.MaxSignals > 0 && n >= h.MaxSignals && out.Status == StatusActive {
			return out, fmt.Errorf("%w: gave up after %d signals", ErrStuck, n)
		}
		if out.Status != StatusActive || len(out.Waits) == 0 {
			return out, nil
		}
		if err := ctx.Err(); err != nil {
			return out, err
		}
		sig, wait, err := h.next(ctx, in, out.Waits)
		if err != nil {
			return out, err
		}
		if wait > 0 {
			if err := h.sleep(ctx, wait); err != nil {
				return out, err
			}
		}
		next, err := in.Deliver(ctx, sig)
		if errors.Is(err, ErrNoSuchWait) {
			next = in.outcome()
		} else if err != nil {
			return out, err
		}
		out = next
	}
}

func (h *LocalHost) report(ctx context.Context, out *Outcome) {
	if out == nil {
		return
	}
	if h.OnProduced != nil {
		for _, ev := range out.Produced {
			h.OnProduced(ev)
		}
	}
	out.Produced = nil
	subs := out.SubFlows
	out.SubFlows = nil
	for _, req := range subs {
		if h.SubFlow == nil {
			continue
		}
		def, err := h.SubFlow(ctx, req.WorkflowID, req.Version)
		if err != nil {
			h.Async = append(h.Async, &Outcome{Status: StatusError, Error: &Error{Kind: KindSubFlow, Message: err.Error()}})
			continue
		}
		_, child, err := h.Run(ctx, def, StartOptions{InstanceID: req.InstanceID, Input: req.Input, Variables: req.Variables, ParentID: req.ParentID})
		if err != nil && child == nil {
			child = &Outcome{Status: StatusError, Error: &Error{Kind: KindSubFlow, Message: err.Error()}}
		}
		h.Async = append(h.Async, child)
	}
}

// next picks the signal to deliver: a given event a wait accepts, else a
// sub-flow run to its end, else the earliest timer.
func (h *LocalHost) next(ctx context.Context, in *Instance, waits []Wait) (Signal, time.Duration, error) {
	for i, ev := range h.Events {
		for _, w := range waits {
			if w.Kind != WaitEvent {
				continue
			}
			for _, m := range w.Events {
				if m.Matches(ev) {
					h.Events = slices.Delete(h.Events, i, i+1)
					return Signal{WaitID: w.ID, Event: ev}, 0, nil
				}
			}
		}
	}
	for _, w := range waits {
		if w.Kind != WaitSubFlow {
			continue
		}
		sig := Signal{WaitID: w.ID}
		res, err := h.runSubFlow(ctx, w.SubFlow)
		if err != nil {
			var we *Error
			if !errors.As(err, &we) {
				we = &Error{Kind: KindSubFlow, Message: err.Error()}
			}
			sig.Error = we.Info()
		} else {
			sig.Result = res
		}
		return sig, 0, nil
	}
	var first *Wait
	for i := range waits {
		if waits[i].Kind == WaitTimer && (first == nil || waits[i].At.Before(first.At)) {
			first = &waits[i]
		}
	}
	if first == nil {
		var names []string
		for _, w := range waits {
			for _, m := range w.Events {
				names = append(names, fmt.Sprintf("%s (type %s)", m.Name, m.Type))
			}
		}
		return Signal{}, 0, fmt.Errorf("%w: state %q waits for events %v", ErrStuck, waits[0].State, names)
	}
	var d time.Duration
	if h.FastTimers {
		if first.At.After(h.clock) {
			h.clock = first.At
		}
	} else {
		d = time.Until(first.At)
	}
	return Signal{WaitID: first.ID}, d, nil
}

func (h *LocalHost) sleep(ctx context.Context, d time.Duration) error {
	if h.Sleep != nil {
		return h.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// runSubFlow runs a sub-flow to its end and returns its output.
func (h *LocalHost) runSubFlow(ctx context.Context, req *SubFlowRequest) (any, error) {
	if h.SubFlow == nil {
		return nil, fmt.Errorf("sub-flow %q: sub-flows are not available here", req.WorkflowID)
	}
	def, err := h.SubFlow(ctx, req.WorkflowID, req.Version)
	if err != nil {
		return nil, err
	}
	_, out, err := h.Run(ctx, def, StartOptions{InstanceID: req.InstanceID, Input: req.Input, Variables: req.Variables, ParentID: req.ParentID})
	if err != nil {
		return nil, err
	}
	switch out.Status {
	case StatusCompleted:
		return out.Data, nil
	case StatusError:
		return nil, out.Error
	}
	return nil, fmt.Errorf("sub-flow %q ended %s", req.WorkflowID, out.Status)
}
