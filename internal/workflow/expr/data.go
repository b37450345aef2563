package expr

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
)

// Evaluator evaluates the expressions of one workflow definition: it
// compiles them through a shared Cache with the workflow's options
// (expression functions, timeout) and implements the data filters and
// merging on top. Its zero value works (no cache, no options, SonataFlow's
// array merging). An Evaluator is safe for concurrent use; its fields must
// not change after its first use.
type Evaluator struct {
	// Cache is shared by all workflows; nil compiles every time.
	Cache *Cache
	// Options apply to every expression compiled, e.g. WithFunctions with
	// the workflow's expression functions.
	Options []Option
	// ConcatArrays makes merging an array into an array append the new
	// elements (the spec's example) instead of replacing it (SonataFlow).
	ConcatArrays bool

	// cfg is Options applied once, on first use.
	cfg atomic.Pointer[config]
}

// Compile compiles src with the evaluator's cache and options.
func (ev *Evaluator) Compile(src string) (*Expression, error) {
	cfg := ev.cfg.Load()
	if cfg == nil {
		c := newConfig(ev.Options)
		cfg = &c
		ev.cfg.Store(cfg)
	}
	return ev.Cache.compile(src, cfg)
}

// Eval compiles src and evaluates it as Expression.Eval does.
func (ev *Evaluator) Eval(ctx context.Context, src string, input any, vars Vars) (any, error) {
	e, err := ev.Compile(src)
	if err != nil {
		return nil, err
	}
	return e.Eval(ctx, input, vars)
}

// Condition compiles src and evaluates it as Expression.Condition does.
func (ev *Evaluator) Condition(ctx context.Context, src string, input any, vars Vars) (bool, error) {
	e, err := ev.Compile(src)
	if err != nil {
		return false, err
	}
	return e.Condition(ctx, input, vars)
}

// Text compiles src and evaluates it as Expression.Text does.
func (ev *Evaluator) Text(ctx context.Context, src string, input any, vars Vars) (string, error) {
	e, err := ev.Compile(src)
	if err != nil {
		return "", err
	}
	return e.Text(ctx, input, vars)
}

// Template evaluates a value that may hold expressions, such as an action's
// arguments, the data of a produced event or an expression-function's
// result template: every string in it (at any depth, object keys excepted)
// that compiles as an expression is replaced by its result on input; other
// values are kept. As in SonataFlow, a string that is not an expression
// (plain text such as "Hello world" or "application/json") stays as it is,
// and so does one whose evaluation fails with a jq error. A cancelled
// context or a timeout is returned as an error.
func (ev *Evaluator) Template(ctx context.Context, tmpl any, input any, vars Vars) (any, error) {
	t, err := Normalize(tmpl)
	if err != nil {
		return nil, inputError("<template>", fmt.Errorf("template: %w", err))
	}
	in, err := Normalize(input)
	if err != nil {
		return nil, inputError("<template>", fmt.Errorf("input: %w", err))
	}
	return ev.template(ctx, t, in, &vars)
}

func (ev *Evaluator) template(ctx context.Context, t any, input any, vars *Vars) (any, error) {
	switch t := t.(type) {
	case string:
		e, err := ev.Compile(t)
		if err != nil {
			return t, nil
		}
		v, err := e.Eval(ctx, input, *vars)
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
				return nil, err
			}
			return t, nil
		}
		return v, nil
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			v, err := ev.template(ctx, x, input, vars)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			v, err := ev.template(ctx, x, input, vars)
			if err != nil {
				return nil, err
			}
			out[k] = v
		}
		return out, nil
	}
	return t, nil
}

// StateFilter applies a stateDataFilter's input or output expression to
// state data. An empty filter leaves data as it is; so does a filter that
// selects nothing (no output, or null), as the spec says: "If input is not
// defined or does not select any parts of the state's data input, its data
// input is not filtered" (and likewise for output).
func (ev *Evaluator) StateFilter(ctx context.Context, filter string, data any, vars Vars) (any, error) {
	if filter == "" {
		return data, nil
	}
	v, err := ev.Eval(ctx, filter, data, vars)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return data, nil
	}
	return v, nil
}

// ActionFilter holds an actionDataFilter's fields as written in the
// workflow; empty strings mean the field is absent. The zero value is the
// spec's default filter.
type ActionFilter struct {
	FromStateData string
	Results       string
	ToStateData   string
	// IgnoreResults is the negation of useResults (default true): when set,
	// the action's results are not merged into state data.
	IgnoreResults bool
}

// ActionInput returns the part of state data an action sees (its arguments
// are evaluated against it): fromStateData applied to data, or data itself.
func (ev *Evaluator) ActionInput(ctx context.Context, f ActionFilter, data any, vars Vars) (any, error) {
	if f.FromStateData == "" {
		return data, nil
	}
	return ev.Eval(ctx, f.FromStateData, data, vars)
}

// MergeActionResult merges an action's result into state data and returns
// the new state data: nothing when IgnoreResults is set; otherwise the
// result filtered by Results, merged into the element toStateData selects
// (created when missing) or, without toStateData, into the whole state data.
func (ev *Evaluator) MergeActionResult(ctx context.Context, f ActionFilter, data, result any, vars Vars) (any, error) {
	if f.IgnoreResults {
		return data, nil
	}
	return ev.filterAndMerge(ctx, f.Results, f.ToStateData, data, result, vars)
}

// EventFilter holds an eventDataFilter's fields as written in the
// workflow; empty strings mean the field is absent. The zero value is the
// spec's default filter.
type EventFilter struct {
	Data        string
	ToStateData string
	// IgnoreData is the negation of useData (default true): when set, the
	// event's data is not merged into state data.
	IgnoreData bool
}

// MergeEventData merges a consumed event's data (its payload, or the whole
// CloudEvent when the event definition has dataOnly false) into state data,
// the same way MergeActionResult merges an action result.
func (ev *Evaluator) MergeEventData(ctx context.Context, f EventFilter, data, payload any, vars Vars) (any, error) {
	if f.IgnoreData {
		return data, nil
	}
	return ev.filterAndMerge(ctx, f.Data, f.ToStateData, data, payload, vars)
}

// StartEventData returns the workflow data of an instance started by an
// event: SonataFlow does not merge there but builds the data from the
// event alone: an empty object when useData is false, else the payload
// filtered by Data and, with toStateData, placed at that path of a new
// object.
func (ev *Evaluator) StartEventData(ctx context.Context, f EventFilter, payload any, vars Vars) (any, error) {
	if f.IgnoreData {
		return map[string]any{}, nil
	}
	data, err := Normalize(payload)
	if err != nil {
		return nil, inputError(f.Data, fmt.Errorf("event data: %w", err))
	}
	if f.Data != "" {
		if data, err = ev.Eval(ctx, f.Data, data, vars); err != nil {
			return nil, err
		}
	}
	if f.ToStateData == "" {
		return data, nil
	}
	return ev.Assign(f.ToStateData, map[string]any{}, data)
}

func (ev *Evaluator) filterAndMerge(ctx context.Context, results, toStateData string, data, value any, vars Vars) (any, error) {
	value, err := Normalize(value)
	if err != nil {
		return nil, inputError(results, fmt.Errorf("result: %w", err))
	}
	if data, err = Normalize(data); err != nil {
		return nil, inputError(results, fmt.Errorf("state data: %w", err))
	}
	if results != "" {
		if value, err = ev.Eval(ctx, results, value, vars); err != nil {
			return nil, err
		}
	}
	if toStateData == "" {
		return Merge(value, data, ev.ConcatArrays), nil
	}
	return ev.Assign(toStateData, data, value)
}

// Assign merges value into the element of data that a path expression such
// as toStateData or a foreach outputCollection names (".a.b" or
// "${ .a.b }"), creating the objects on the way, and returns the new data.
// data must be an object. SonataFlow reads the current element by
// evaluating the expression; following the path gives the same value
// without failing where an object is missing on the way.
func (ev *Evaluator) Assign(path string, data, value any) (any, error) {
	steps, err := ToStatePath(path)
	if err != nil {
		return nil, compileError(path, err)
	}
	if data, err = Normalize(data); err != nil {
		return nil, inputError(path, fmt.Errorf("state data: %w", err))
	}
	if value, err = Normalize(value); err != nil {
		return nil, inputError(path, fmt.Errorf("value: %w", err))
	}
	out, err := assign(data, steps, Merge(value, lookup(data, steps), ev.ConcatArrays))
	if err != nil {
		return nil, runtimeError(path, err)
	}
	return out, nil
}
