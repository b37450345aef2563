package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/portico-dev/portico/internal/workflow"
	"github.com/portico-dev/portico/internal/workflow/expr"
)

// outcome of one action: its result, and whether it ran at all (its
// condition may skip it; async invocations have no result).
type actionResult struct {
	result any
	merge  bool
	err    error
}

func actionFilter(a *workflow.Action) expr.ActionFilter {
	f := a.ActionDataFilter
	if f == nil {
		return expr.ActionFilter{}
	}
	return expr.ActionFilter{FromStateData: f.FromStateData, Results: f.Results, ToStateData: f.ToStateData, IgnoreResults: !f.UseResults}
}

// actions runs a list of actions and merges their results into data, in
// definition order whatever the mode.
func (s *step) actions(ctx context.Context, key string, actions []*workflow.Action, mode workflow.ActionMode, data any, vars expr.Vars) (any, error) {
	if mode != workflow.ActionParallel || len(actions) < 2 {
		for i, a := range actions {
			r := s.action(ctx, fmt.Sprintf("%s/a%d", key, i), a, data, vars)
			if r.err != nil {
				return nil, r.err
			}
			if r.merge {
				var err error
				if data, err = s.in.def.ev.MergeActionResult(ctx, actionFilter(a), data, r.result, vars); err != nil {
					return nil, s.actionErr(a, err)
				}
				vars.Workflow.PrevActionResult = r.result
			}
		}
		return data, nil
	}
	results := make([]actionResult, len(actions))
	concurrently(ctx, len(actions), 0, func(ctx context.Context, i int) {
		results[i] = s.action(ctx, fmt.Sprintf("%s/a%d", key, i), actions[i], data, vars)
	})
	if err := firstError(results); err != nil {
		return nil, err
	}
	for i, r := range results {
		if !r.merge {
			continue
		}
		var err error
		if data, err = s.in.def.ev.MergeActionResult(ctx, actionFilter(actions[i]), data, r.result, vars); err != nil {
			return nil, s.actionErr(actions[i], err)
		}
	}
	return data, nil
}

// firstError returns the first real error by position; if the only
// failures are waits, errSuspended.
func firstError(rs []actionResult) error {
	suspended := false
	for _, r := range rs {
		switch {
		case r.err == nil:
		case errors.Is(r.err, errSuspended):
			suspended = true
		default:
			return r.err
		}
	}
	if suspended {
		return errSuspended
	}
	return nil
}

// concurrently runs f(0..n-1) on up to limit goroutines (0: all at once)
// and waits for all of them; an early failure does not cancel the others,
// which are independent units of work.
func concurrently(ctx context.Context, n, limit int, f func(context.Context, int)) {
	if limit <= 0 || limit > n {
		limit = n
	}
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			f(ctx, i)
		})
	}
	wg.Wait()
}

func (s *step) actionErr(a *workflow.Action, err error) error {
	var je *journalError
	if errors.As(err, &je) || errors.Is(err, errSuspended) {
		return err
	}
	return classify(err, s.st.Name, a.DisplayName())
}

// action runs one action: condition, sleep before, the call with its
// retries, sleep after. It returns the raw result; the caller merges it.
func (s *step) action(ctx context.Context, key string, a *workflow.Action, data any, vars expr.Vars) actionResult {
	ev := s.in.def.ev
	if a.Condition != "" {
		ok, err := ev.Condition(ctx, a.Condition, data, vars)
		if err != nil {
			return actionResult{err: s.actionErr(a, err)}
		}
		if !ok {
			return actionResult{}
		}
	}
	input, err := ev.ActionInput(ctx, actionFilter(a), data, vars)
	if err != nil {
		return actionResult{err: s.actionErr(a, err)}
	}
	if a.Sleep != nil && a.Sleep.Before != "" && a.EventRef == nil {
		if err := s.actionSleep(key+"/before", a.Sleep.Before); err != nil {
			return actionResult{err: s.actionErr(a, err)}
		}
	}
	var res any
	merge := true
	for attempt := 1; ; attempt++ {
		res, merge, err = s.invoke(ctx, fmt.Sprintf("%s#%d", key, attempt), a, input, vars)
		if err == nil || errors.Is(err, errSuspended) {
			break
		}
		var je *journalError
		if errors.As(err, &je) || s.host.Err() != nil {
			return actionResult{err: err}
		}
		we := classify(err, s.st.Name, a.DisplayName())
		delay, retry := s.retryDelay(a, we, attempt)
		if !retry {
			return actionResult{err: we}
		}
		id := fmt.Sprintf("%s/retry#%d", key, attempt)
		if _, _, err := s.waitAny(s.timer(id, "retry", delay)); err != nil {
			return actionResult{err: err}
		}
	}
	if err != nil {
		return actionResult{err: s.actionErr(a, err)}
	}
	if a.Sleep != nil && a.Sleep.After != "" && a.EventRef == nil {
		if err := s.actionSleep(key+"/after", a.Sleep.After); err != nil {
			return actionResult{err: s.actionErr(a, err)}
		}
	}
	return actionResult{result: res, merge: merge}
}

func (s *step) actionSleep(id, dur string) error {
	d, err := workflow.ParseDuration(dur)
	if err != nil {
		return &Error{Kind: KindDefinition, State: s.st.Name, Message: err.Error()}
	}
	_, _, err = s.waitAny(s.timer(id, "actionSleep", d))
	return err
}

// invoke performs one attempt of an action. merge is false when the
// action has no result to merge (async invocations).
func (s *step) invoke(ctx context.Context, key string, a *workflow.Action, input any, vars expr.Vars) (any, bool, error) {
	in := s.in
	name := a.DisplayName()
	switch {
	case a.FunctionRef != nil:
		fr := a.FunctionRef
		fn := in.def.W.Function(fr.RefName)
		if fn == nil {
			return nil, false, &Error{Kind: KindDefinition, State: s.st.Name, Action: name, Message: fmt.Sprintf("unknown function %q", fr.RefName)}
		}
		var args any
		var err error
		switch {
		case fr.Arguments != nil:
			args, err = in.def.ev.Template(ctx, fr.Arguments, input, vars)
		case fr.ArgumentsExpr != "":
			args, err = in.def.ev.Eval(ctx, fr.ArgumentsExpr, input, vars)
		}
		if err != nil {
			return nil, false, err
		}
		call := &Call{
			Workflow: in.def.W, Function: fn, Arguments: args, Input: input, Vars: vars, Evaluator: in.def.ev,
			Properties: in.def.Properties, InstanceID: in.ID(), State: s.st.Name, Action: name, Logger: in.def.eng.logger(),
		}
		if fr.Invoke == workflow.InvokeAsync {
			// Fire and forget: the workflow does not wait, and nothing of
			// the call is recorded but its start, so a resumed instance
			// does not start it again.
			if !s.wasStarted(key) {
				if err := in.append(ctx, Entry{Kind: EntryActionStarted, Step: in.cur.Step, State: s.st.Name, Key: key, Name: name, NodeType: "WorkItemNode"}); err != nil {
					return nil, false, &journalError{err}
				}
				go func() {
					actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
					defer cancel()
					if _, err := s.invokeFunction(actx, call); err != nil {
						in.def.eng.logger().Warn("async function failed", "instance", in.ID(), "function", fn.Name, "error", err)
					}
				}()
			}
			return nil, false, nil
		}
		res, err := s.effect(ctx, key, name, "WorkItemNode", func(ctx context.Context) (any, error) {
			if d := in.timeoutOf(s.st, actionExecTimeout); d > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, d)
				defer cancel()
			}
			return s.invokeFunction(ctx, call)
		})
		return res, true, err
	case a.EventRef != nil:
		return s.eventAction(ctx, key, a, input, vars)
	case a.SubFlowRef != nil:
		return s.subFlow(ctx, key, a, input, vars)
	}
	return nil, false, &Error{Kind: KindDefinition, State: s.st.Name, Action: name, Message: "the action has no functionRef, eventRef or subFlowRef"}
}

func (s *step) invokeFunction(ctx context.Context, call *Call) (res any, err error) {
	if s.in.def.eng.Functions == nil {
		return nil, &Error{Kind: KindDefinition, Message: fmt.Sprintf("function %q: no function invoker is configured", call.Function.Name)}
	}
	defer func() {
		// A function implementation must not bring the instance down.
		if r := recover(); r != nil {
			err = fmt.Errorf("function %q panicked: %v", call.Function.Name, r)
		}
	}()
	return s.in.def.eng.Functions.Invoke(ctx, call)
}

// eventAction produces the trigger event and, for sync invocations with a
// result event, waits for it.
func (s *step) eventAction(ctx context.Context, key string, a *workflow.Action, input any, vars expr.Vars) (any, bool, error) {
	in := s.in
	er := a.EventRef
	_, err := s.effect(ctx, key+"/trigger", a.DisplayName(), "EventNode", func(ctx context.Context) (any, error) {
		ev, err := in.buildEvent(ctx, er.TriggerEventRef, er.Data, er.ContextAttributes, input, key)
		if err != nil {
			return nil, err
		}
		if err := in.append(ctx, Entry{Kind: EntryEventProduced, Step: in.cur.Step, State: s.st.Name, Key: ev.ID, Event: ev}); err != nil {
			return nil, &journalError{err}
		}
		in.mu.Lock()
		if in.out != nil {
			in.out.Produced = append(in.out.Produced, *ev)
		}
		in.mu.Unlock()
		return ev.ID, nil
	})
	if err != nil {
		return nil, false, err
	}
	if er.ResultEventRef == "" || er.Invoke == workflow.InvokeAsync {
		return nil, false, nil
	}
	ws := []Wait{{ID: key + "/result", Kind: WaitEvent, Events: []EventMatch{in.def.eventMatch(er.ResultEventRef, in.correlation)}}}
	d := in.timeoutOf(s.st, actionExecTimeout)
	if er.ResultEventTimeout != "" {
		if rd, err := workflow.ParseDuration(er.ResultEventTimeout); err == nil {
			d = rd
		}
	}
	if d > 0 {
		ws = append(ws, s.timer(key+"/resultTimeout", "resultEventTimeout", d))
	}
	i, sig, err := s.waitAny(ws...)
	if err != nil {
		return nil, false, err
	}
	if i == 1 {
		return nil, false, &Error{Kind: KindTimeout, State: s.st.Name, Action: a.DisplayName(), Message: fmt.Sprintf("no %q event within the resultEventTimeout", er.ResultEventRef)}
	}
	return s.eventPayload(er.ResultEventRef, sig.Event), true, nil
}

// subFlow asks the host to run another workflow: a wait for sync
// invocations, a recorded start for async ones.
func (s *step) subFlow(ctx context.Context, key string, a *workflow.Action, input any, vars expr.Vars) (any, bool, error) {
	in := s.in
	sf := a.SubFlowRef
	req := SubFlowRequest{
		InstanceID: childID(in.ID(), key), WorkflowID: sf.WorkflowID, Version: sf.Version, Input: input,
		ParentID: in.ID(), OnParentComplete: sf.OnParentComplete, Variables: vars.Process,
	}
	if sf.Invoke == workflow.InvokeAsync {
		req.Async = true
		_, err := s.effect(ctx, key, a.DisplayName(), "SubProcessNode", func(ctx context.Context) (any, error) {
			if err := in.append(ctx, Entry{Kind: EntrySubFlowStarted, Step: in.cur.Step, State: s.st.Name, Key: key, SubFlow: &req}); err != nil {
				return nil, &journalError{err}
			}
			in.mu.Lock()
			if in.out != nil {
				in.out.SubFlows = append(in.out.SubFlows, req)
			}
			in.mu.Unlock()
			return req.InstanceID, nil
		})
		return nil, false, err
	}
	ws := []Wait{{ID: key + "/subflow", Kind: WaitSubFlow, SubFlow: &req}}
	if d := in.timeoutOf(s.st, actionExecTimeout); d > 0 {
		ws = append(ws, s.timer(key+"/subflowTimeout", "actionExecTimeout", d))
	}
	i, sig, err := s.waitAny(ws...)
	if err != nil {
		return nil, false, err
	}
	if i == 1 {
		return nil, false, &Error{Kind: KindTimeout, State: s.st.Name, Action: a.DisplayName(), Message: fmt.Sprintf("sub-flow %q did not end within the actionExecTimeout", sf.WorkflowID)}
	}
	if sig.Error != nil {
		e := sig.Error.Err()
		return nil, false, &Error{Kind: KindSubFlow, State: s.st.Name, Action: a.DisplayName(), Status: e.Status,
			Message: fmt.Sprintf("sub-flow %q failed: %s", sf.WorkflowID, e.Message), Err: e}
	}
	return sig.Result, true, nil
}

// defaultRetry applies with autoRetries and no retryRef: the spec leaves
// the "default runtime retry definition" to the runtime.
var defaultRetry = workflow.Retry{Name: "default", Delay: "PT1S", Multiplier: 2, MaxAttempts: 3, MaxDelay: "PT30S"}

// retryDelay decides whether attempt (1-based) of a is retried after err,
// and after how long.
func (s *step) retryDelay(a *workflow.Action, err *Error, attempt int) (time.Duration, bool) {
	w := s.in.def.W
	var policy *workflow.Retry
	switch {
	case a.RetryRef != "":
		policy = w.Retry(a.RetryRef)
	case w.AutoRetries:
		policy = &defaultRetry
	}
	if policy == nil || attempt > policy.MaxAttempts {
		return 0, false
	}
	if err.Kind == KindDefinition || err.Kind == KindExpression || err.Kind == KindValidation {
		return 0, false // retrying cannot help
	}
	matches := func(refs []string) bool {
		for _, ref := range refs {
			if def := w.Error(ref); def != nil {
				code := def.Code
				if code == "" {
					code = def.Name
				}
				if matchCode(code, err) {
					return true
				}
			}
		}
		return false
	}
	if w.AutoRetries {
		if matches(a.NonRetryableErrors) {
			return 0, false
		}
	} else if len(a.RetryableErrors) > 0 && !matches(a.RetryableErrors) {
		// An action with a retryRef and no retryableErrors retries every
		// error, which is what workflows written for other runtimes mean.
		return 0, false
	}
	return backoff(policy, attempt, s.in.def.eng.rand()), true
}

// backoff computes the delay before retry number n (1-based): delay, then
// for each further retry multiplied by multiplier and increased by
// increment, capped at maxDelay, plus jitter.
func backoff(p *workflow.Retry, n int, random float64) time.Duration {
	parse := func(s string) time.Duration {
		if s == "" {
			return 0
		}
		d, _ := workflow.ParseDuration(s)
		return d
	}
	d := float64(parse(p.Delay))
	inc := float64(parse(p.Increment))
	maxDelay := parse(p.MaxDelay)
	for range n - 1 {
		if p.Multiplier > 0 {
			d *= p.Multiplier
		}
		d += inc
		if maxDelay > 0 && d > float64(maxDelay) {
			d = float64(maxDelay)
		}
	}
	if p.Jitter.Fraction > 0 {
		d += d * p.Jitter.Fraction * random
	} else if j := parse(p.Jitter.Duration); j > 0 {
		d += float64(j) * random
	}
	if maxDelay > 0 && d > float64(maxDelay) {
		d = float64(maxDelay)
	}
	if d > math.MaxInt64 {
		d = math.MaxInt64
	}
	return time.Duration(d)
}
