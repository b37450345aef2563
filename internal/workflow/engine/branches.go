package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/workflow"
	"github.com/portico-dev/portico/internal/workflow/expr"
)

// parallel runs the branches of a parallel state concurrently. Each
// branch works on the state data; the outputs of the completed branches
// are merged into it in branch order.
func (s *step) parallel(ctx context.Context, data any, vars expr.Vars) (any, error) {
	st := s.st
	n := len(st.Branches)
	need := n
	if st.CompletionType == workflow.CompletionAtLeast {
		need = st.NumCompleted
		if st.NumCompletedExpr != "" {
			v, err := s.in.def.ev.Eval(ctx, st.NumCompletedExpr, data, vars)
			if err != nil {
				return nil, err
			}
			f, ok := number(v)
			if !ok {
				return nil, &Error{Kind: KindExpression, State: st.Name, Message: fmt.Sprintf("numCompleted %q is not a number: %v", st.NumCompletedExpr, v)}
			}
			need = int(f)
		}
		need = max(0, min(need, n))
	}
	outs := make([]actionResult, n)
	concurrently(ctx, n, 0, func(ctx context.Context, i int) {
		b := st.Branches[i]
		var at time.Time
		d := s.in.timeoutOf(st, branchExecTimeout)
		if b.Timeouts != nil && b.Timeouts.BranchExecTimeout != "" {
			if bd, err := workflow.ParseDuration(b.Timeouts.BranchExecTimeout); err == nil {
				d = bd
			}
		}
		if d > 0 {
			at = s.in.cur.Entered.Add(d)
		}
		key := fmt.Sprintf("%s/b%d", s.key, i)
		var out any
		err := s.bounded(ctx, key+"/branchExecTimeout", "branchExecTimeout", at, func(ctx context.Context) error {
			var err error
			out, err = s.actions(ctx, key, b.Actions, workflow.ActionSequential, data, vars)
			return err
		})
		outs[i] = actionResult{result: out, merge: err == nil, err: err}
	})
	completed, failed := 0, 0
	for _, r := range outs {
		switch {
		case r.err == nil:
			completed++
		case !errors.Is(r.err, errSuspended):
			failed++
		}
	}
	if completed < need {
		if n-failed < need {
			for _, r := range outs {
				if r.err != nil && !errors.Is(r.err, errSuspended) {
					return nil, r.err
				}
			}
		}
		return nil, errSuspended
	}
	for _, r := range outs {
		if r.merge {
			data = expr.Merge(r.result, data, s.in.def.ev.ConcatArrays)
		}
	}
	return data, nil
}

func number(v any) (float64, bool) {
	switch v := v.(type) {
	case int:
		return float64(v), true
	case float64:
		return v, true
	case string:
		var f float64
		_, err := fmt.Sscanf(v, "%g", &f)
		return f, err == nil
	}
	return 0, false
}

// forEach runs the state's actions for each element of inputCollection,
// with the element as $<iterationParam>. An iteration's output is its
// actions' results merged together; the outputs, in input order, are
// merged into outputCollection.
func (s *step) forEach(ctx context.Context, data any, vars expr.Vars) (any, error) {
	st := s.st
	ev := s.in.def.ev
	v, err := ev.Eval(ctx, st.InputCollection, data, vars)
	if err != nil {
		return nil, err
	}
	var items []any
	switch v := v.(type) {
	case nil:
	case []any:
		items = v
	default:
		return nil, &Error{Kind: KindExpression, State: st.Name, Message: fmt.Sprintf("inputCollection %q is not an array", st.InputCollection)}
	}
	// The spec's examples write "${ .tx }" or read the element as
	// .singleexpression; SonataFlow reads it as $item. Both work: the
	// parameter is a variable and, for object data, also a field of the
	// data the iteration's actions see.
	param := strings.TrimPrefix(strings.TrimSpace(expr.Trim(st.IterationParam)), ".")
	if param == "" {
		param = "item"
	}
	limit := st.BatchSize
	if st.Mode == workflow.ForEachSequential {
		limit = 1
	}
	results := make([]actionResult, len(items))
	iterate := func(ctx context.Context, i int) {
		ivars := vars
		ivars.Process = maps.Clone(vars.Process)
		if ivars.Process == nil {
			ivars.Process = map[string]any{}
		}
		ivars.Process[param] = items[i]
		input := data
		if m, ok := data.(map[string]any); ok {
			c := maps.Clone(m)
			c[param] = items[i]
			input = c
		}
		var out any
		for j, a := range st.Actions {
			r := s.action(ctx, fmt.Sprintf("%s/i%d/a%d", s.key, i, j), a, input, ivars)
			if r.err != nil {
				results[i] = r
				return
			}
			if !r.merge {
				continue
			}
			f := actionFilter(a)
			if out == nil && f.ToStateData != "" {
				out = map[string]any{}
			}
			merged, err := ev.MergeActionResult(ctx, f, out, r.result, ivars)
			if err != nil {
				results[i] = actionResult{err: s.actionErr(a, err)}
				return
			}
			out = merged
			ivars.Workflow.PrevActionResult = r.result
		}
		results[i] = actionResult{result: out, merge: true}
	}
	if limit == 1 {
		// Sequential: an iteration that waits holds the ones after it.
		for i := range items {
			iterate(ctx, i)
			if results[i].err != nil {
				break
			}
		}
	} else {
		concurrently(ctx, len(items), limit, iterate)
	}
	if err := firstError(results); err != nil {
		return nil, err
	}
	if st.OutputCollection == "" {
		return data, nil
	}
	outs := make([]any, len(results))
	for i, r := range results {
		outs[i] = r.result
	}
	return ev.Assign(st.OutputCollection, data, outs)
}
