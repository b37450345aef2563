package expr

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/itchyny/gojq"
)

// DefaultTimeout bounds one evaluation when no WithTimeout option is given.
// Workflow expressions select and reshape data; anything running this long
// is a runaway such as `def f: f; f`.
const DefaultTimeout = 2 * time.Second

// maxOutputs bounds how many results one evaluation collects, so a filter
// such as `range(1e12)` fails quickly instead of filling memory before the
// timeout.
const maxOutputs = 1 << 20

// Option configures how an expression is compiled and run.
type Option func(*config)

type config struct {
	lang    string
	fns     map[string]string
	vars    []string
	timeout time.Duration
	// suffix is the part of the cache key that options contribute.
	suffix string
}

// WithFunctions makes the workflow's expression functions (functions of
// type "expression": name to operation) available as fn:name, either as the
// whole expression or inside a larger jq program.
func WithFunctions(fns map[string]string) Option {
	own := maps.Clone(fns)
	return func(c *config) {
		if c.fns == nil {
			c.fns = own // never modified: a second WithFunctions copies
			return
		}
		c.fns = maps.Clone(c.fns)
		maps.Copy(c.fns, own)
	}
}

// Expression languages, the values of a workflow's expressionLang.
const (
	LangJQ       = "jq"
	LangJSONPath = "jsonpath"
)

// WithLanguage sets the expression language: LangJQ (the default, also
// for "") or LangJSONPath. Other names fail to compile.
func WithLanguage(lang string) Option {
	return func(c *config) { c.lang = lang }
}

// WithVariables declares extra variable names (with or without "$") besides
// $CONST, $SECRET, $SECRETS and $WORKFLOW. Names the expression mentions are
// declared anyway; this is for names a caller wants declared explicitly.
func WithVariables(names ...string) Option {
	return func(c *config) { c.vars = append(c.vars, names...) }
}

// WithTimeout sets how long one evaluation may run (DefaultTimeout if not
// set); d <= 0 means no limit other than the caller's context.
func WithTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			d = -1
		}
		c.timeout = d
	}
}

func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	c.suffix = c.keySuffix()
	return c
}

// keySuffix encodes everything besides the text that changes the compiled
// program, so that a cache never hands out a program compiled for another
// function set.
func (c *config) keySuffix() string {
	if len(c.vars) == 0 && len(c.fns) == 0 && c.lang == "" {
		return ""
	}
	var b strings.Builder
	b.WriteByte(0)
	b.WriteString(c.lang)
	vars := slices.Clone(c.vars)
	slices.Sort(vars)
	b.WriteByte(0)
	b.WriteString(strings.Join(vars, ","))
	for _, name := range slices.Sorted(maps.Keys(c.fns)) {
		b.WriteByte(0)
		b.WriteString(name)
		b.WriteByte('=')
		b.WriteString(c.fns[name])
	}
	return b.String()
}

// Expression is a compiled workflow expression. It is immutable and safe
// for concurrent use; one Expression serves every run of a workflow.
type Expression struct {
	src     string
	prog    *program
	timeout time.Duration
}

// Compile compiles a workflow expression without caching it. See the
// package documentation for the syntax accepted.
func Compile(src string, opts ...Option) (*Expression, error) {
	c := newConfig(opts)
	p, err := compile(src, &c)
	if err != nil {
		return nil, err
	}
	return &Expression{src: src, prog: p, timeout: c.timeout}, nil
}

// Check reports whether src compiles, returning the *Error that Compile
// would. Validators use it to reject a workflow before it runs.
func Check(src string, opts ...Option) error {
	c := newConfig(opts)
	_, err := compile(src, &c)
	return err
}

func compile(src string, c *config) (*program, error) {
	switch c.lang {
	case "", LangJQ:
	case LangJSONPath:
		return compileJSONPath(src, c)
	default:
		return nil, compileError(src, fmt.Errorf("expression language %q is not supported (use %q or %q)", c.lang, LangJQ, LangJSONPath))
	}
	q, text, err := prepare(src, c.fns)
	if err != nil {
		return nil, compileError(src, err)
	}
	names, used := variables(text, c.vars)
	dollar := make([]string, len(names))
	for i, n := range names {
		dollar[i] = "$" + n
	}
	code, err := gojq.Compile(q, gojq.WithVariables(dollar))
	if err != nil {
		return nil, compileError(src, err)
	}
	return &program{code: code, vars: names, used: used}, nil
}

func compileJSONPath(src string, c *config) (*program, error) {
	if len(src) > maxSourceLen {
		return nil, compileError(src, fmt.Errorf("expression longer than %d bytes", maxSourceLen))
	}
	text, err := resolveFn(src, c.fns)
	if err != nil {
		return nil, compileError(src, err)
	}
	text = jsonPathMagic(text)
	path, err := parseJSONPath(text)
	if err != nil {
		return nil, compileError(src, err)
	}
	names, used := jsonPathVars(text)
	return &program{path: path, vars: names, used: used}, nil
}

// String returns the expression text as written.
func (e *Expression) String() string { return e.src }

// Variables returns the names (without "$") of the variables the expression
// mentions, sorted: built-in ones, process variables, and also names bound
// inside it with "as $x". A validator can use it to flag names no run will
// supply.
func (e *Expression) Variables() []string {
	var names []string
	for i, n := range e.prog.vars {
		if e.prog.used[i] {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

// Vars are the variable values of one evaluation. Any of them may be left
// zero; the expression then sees null.
type Vars struct {
	// Const is the workflow's "constants" object, seen as $CONST.
	Const any
	// Secrets is seen as $SECRET (SonataFlow's name) and $SECRETS (the
	// spec's). SecretsFromProperties builds it from flat properties.
	Secrets any
	// Workflow is seen as $WORKFLOW.
	Workflow Workflow
	// Process holds the other process variables, each seen as $name: the
	// RHDH orchestrator's initiatorEntity and targetEntity, a foreach
	// iterationParam such as item.
	Process map[string]any
}

// Workflow is the $WORKFLOW object: facts about the running instance.
type Workflow struct {
	ID         string            // $WORKFLOW.id: the workflow id
	Name       string            // $WORKFLOW.name
	InstanceID string            // $WORKFLOW.instanceId
	Headers    map[string]string // $WORKFLOW.headers: of the request that started the instance
	// PrevActionResult is the result of the previous action of a foreach
	// iteration ($WORKFLOW.prevActionResult).
	PrevActionResult any
	Identity         any // $WORKFLOW.identity: who started the instance
	Input            any // $WORKFLOW.input: the workflow data input
	// Extra adds keys, such as responseHeaders of the last REST call.
	Extra map[string]any
}

func (w *Workflow) value() map[string]any {
	headers := make(map[string]any, len(w.Headers))
	for k, v := range w.Headers {
		headers[k] = v
	}
	m := make(map[string]any, 7+len(w.Extra))
	maps.Copy(m, w.Extra)
	m["id"] = w.ID
	m["name"] = w.Name
	m["instanceId"] = w.InstanceID
	m["headers"] = headers
	m["prevActionResult"] = w.PrevActionResult
	m["identity"] = w.Identity
	m["input"] = w.Input
	return m
}

// SecretsFromProperties turns flat configuration properties into the $SECRET
// object: each key is available as written ($SECRET["a.b"]) and, split at
// dots, as a path ($SECRET.a.b), like SonataFlow's secret lookup. Where a
// key is both a value and a prefix of another key, the value wins.
func SecretsFromProperties(props map[string]string) map[string]any {
	out := make(map[string]any, len(props))
	for k, v := range props {
		out[k] = v
	}
	for _, k := range slices.Sorted(maps.Keys(props)) {
		parts := strings.Split(k, ".")
		if len(parts) < 2 {
			continue
		}
		m := out
		for _, p := range parts[:len(parts)-1] {
			next, ok := m[p].(map[string]any)
			if !ok {
				if _, taken := m[p]; taken {
					m = nil
					break
				}
				next = map[string]any{}
				m[p] = next
			}
			m = next
		}
		if m != nil {
			if _, taken := m[parts[len(parts)-1]]; !taken {
				m[parts[len(parts)-1]] = props[k]
			}
		}
	}
	return out
}

// values builds the variable values in the program's order.
func (p *program) values(vars *Vars) ([]any, error) {
	vals := make([]any, len(p.vars))
	for i, name := range p.vars {
		if !p.used[i] {
			continue
		}
		var v any
		switch name {
		case varConst:
			v = vars.Const
		case varSecret, varSecrets:
			v = vars.Secrets
		case varWorkflow:
			v = vars.Workflow.value()
		default:
			v = vars.Process[name]
		}
		n, err := Normalize(v)
		if err != nil {
			return nil, fmt.Errorf("variable $%s: %w", name, err)
		}
		vals[i] = n
	}
	return vals, nil
}

// All runs the expression on input and returns every output, in order.
func (e *Expression) All(ctx context.Context, input any, vars Vars) ([]any, error) {
	var out []any
	err := e.run(ctx, input, &vars, func(v any) bool {
		out = append(out, v)
		return true
	})
	return out, err
}

// Eval runs the expression on input and returns its result as SonataFlow
// collects it: null when there is no output, the output when there is one,
// and an array of the outputs when there are several.
func (e *Expression) Eval(ctx context.Context, input any, vars Vars) (any, error) {
	out, err := e.All(ctx, input, vars)
	if err != nil {
		return nil, err
	}
	return collect(out), nil
}

func collect(out []any) any {
	switch len(out) {
	case 0:
		return nil
	case 1:
		return out[0]
	}
	return out
}

// First returns the first output and stops the program there. An
// expression with no output gives a runtime error wrapping ErrNoOutput.
func (e *Expression) First(ctx context.Context, input any, vars Vars) (any, error) {
	var first any
	found := false
	err := e.run(ctx, input, &vars, func(v any) bool {
		first, found = v, true
		return false
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, runtimeError(e.src, ErrNoOutput)
	}
	return first, nil
}

// Condition runs the expression as a switch or action condition and
// reports whether its result (collected as by Eval) is true by Truthy.
func (e *Expression) Condition(ctx context.Context, input any, vars Vars) (bool, error) {
	v, err := e.Eval(ctx, input, vars)
	if err != nil {
		return false, err
	}
	if a, ok := v.([]any); ok && e.prog.path != nil {
		// SonataFlow: a JSONPath condition holds when it matches something.
		return len(a) > 0, nil
	}
	return Truthy(v), nil
}

// Text runs the expression and renders its outputs as one string, joined
// by single spaces as SonataFlow does (see the Text function for each
// output's rendering).
func (e *Expression) Text(ctx context.Context, input any, vars Vars) (string, error) {
	var b strings.Builder
	n := 0
	err := e.run(ctx, input, &vars, func(v any) bool {
		if n > 0 {
			b.WriteByte(' ')
		}
		n++
		b.WriteString(Text(v))
		return true
	})
	if err != nil {
		return "", err
	}
	return b.String(), nil
}

// run evaluates the program, handing each output to emit until emit returns
// false. Every failure, including a panic inside gojq, becomes an *Error.
func (e *Expression) run(ctx context.Context, input any, vars *Vars, emit func(any) bool) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = runtimeError(e.src, fmt.Errorf("internal error in jq evaluation: %v", r))
		}
	}()
	in, err := Normalize(input)
	if err != nil {
		return inputError(e.src, fmt.Errorf("input: %w", err))
	}
	vals, err := e.prog.values(vars)
	if err != nil {
		return inputError(e.src, err)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if e.timeout > 0 {
		if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > e.timeout {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, e.timeout)
			defer cancel()
		}
	}
	if err := ctx.Err(); err != nil {
		return runtimeError(e.src, err)
	}
	if e.prog.path != nil {
		v, err := e.prog.evalJSONPath(ctx, in, vals)
		if err != nil {
			return runtimeError(e.src, err)
		}
		emit(v)
		return nil
	}
	iter := e.prog.code.RunWithContext(ctx, in, vals...)
	for n := 0; ; n++ {
		v, ok := iter.Next()
		if !ok {
			return nil
		}
		if err, isErr := v.(error); isErr {
			var halt *gojq.HaltError
			if errors.As(err, &halt) && halt.Value() == nil {
				return nil // `halt` stops the program without an error
			}
			return runtimeError(e.src, err)
		}
		if n == maxOutputs {
			return runtimeError(e.src, fmt.Errorf("more than %d outputs", maxOutputs))
		}
		if !emit(v) {
			return nil
		}
	}
}
