// Package nunjucks is Portico's template engine for scaffolder templates: a
// Go implementation of the Nunjucks 3.2.4 template language with
// JavaScript value semantics, so software templates written for Backstage
// render the same, byte for byte.
//
// Templates are user input. The engine reads only the data it is given: it
// has no access to files, the network or the process; includes, imports
// and extends are rejected. Every render is bounded by a step budget, a
// context and an output size cap, and never panics.
//
// Supported: `${{ expr }}` output (delimiters configurable), `{% if %}`,
// `{% elif %}`/`{% elseif %}`, `{% for %}` (with `else` and `loop.*`),
// `{% set %}` (and block set), `{% raw %}`, `{% filter %}`, `{% switch %}`,
// `{% macro %}`, `{% call %}`, `{% block %}` (rendered in place), asyncEach/asyncAll/
// ifAsync (rendered synchronously), comments, whitespace control,
// trimBlocks/lstripBlocks, the Nunjucks operators (with the precedence of
// the JavaScript Nunjucks generates), tests and built-in filters, and the
// common methods of JavaScript strings and arrays. Not supported: include,
// import and extends (no loader), and the autoescape mode.
//
// Known differences from nunjucks.js: Go maps have no key order, so a
// map[string]any prints and iterates with sorted keys (objects built in a
// template or decoded by ParseJSON keep their order); `**` with a non-integer result may differ in
// the last digit (V8's Math.pow is not Go's math.Pow); regular expression
// literals use Go's RE2 syntax (no look-around or back-references); the
// Jinja layer offers only the read-only list and dict methods.
package nunjucks

import (
	"container/list"
	"context"
	"fmt"
	"strings"
	"sync"
)

// Options configure an Environment.
type Options struct {
	// VariableStart/VariableEnd delimit expressions: "${{" / "}}" for the
	// scaffolder (the default), "{{" / "}}" for cookiecutterCompat. Blocks
	// are "{%" "%}" and comments "{#" "#}", as in Nunjucks.
	VariableStart, VariableEnd string
	// TrimBlocks drops the first newline after a block tag; LstripBlocks
	// drops the white space before a block tag on its line.
	TrimBlocks, LstripBlocks bool
	// Filters are added to the built-in filters (and may override them).
	Filters map[string]Filter
	// Globals are variables every template sees, after the render data.
	Globals map[string]any
	// MaxOutputBytes caps a render's output and any string it builds
	// (default 10 MiB).
	MaxOutputBytes int
	// MaxSteps caps the nodes evaluated and loop iterations of one render
	// (default 5,000,000), so hostile templates finish in bounded time.
	MaxSteps int
	// CacheSize is how many compiled templates are kept (default 1024).
	CacheSize int
	// RandomSeed seeds the `random` filter, which is deterministic.
	RandomSeed uint64
	// JinjaCompat turns on what the scaffolder's cookiecutterCompat adds
	// besides the delimiters: True/False/None, Python-style methods on
	// lists and dicts (items, keys, values, get, count, index, …), slices
	// (`name[1:3]`) and the jsonify filter.
	JinjaCompat bool
}

const (
	defaultMaxOutput = 10 << 20
	defaultMaxSteps  = 5_000_000
	defaultCacheSize = 1024
	// maxCachedSource keeps very large sources out of the cache.
	maxCachedSource = 256 << 10
)

// Environment renders templates with one set of options. It is safe for
// concurrent use and caches compiled templates in a bounded LRU.
type Environment struct {
	opts    Options
	tags    tags
	filters map[string]Filter
	globals map[string]any

	mu    sync.Mutex
	cache map[string]*list.Element
	lru   *list.List
}

type cacheEntry struct {
	src string
	tpl *Template
}

// New returns an Environment with opts (zero fields take their defaults).
func New(opts Options) *Environment {
	if opts.VariableStart == "" {
		opts.VariableStart = "${{"
	}
	if opts.VariableEnd == "" {
		opts.VariableEnd = "}}"
	}
	if opts.MaxOutputBytes <= 0 {
		opts.MaxOutputBytes = defaultMaxOutput
	}
	if opts.MaxSteps <= 0 {
		opts.MaxSteps = defaultMaxSteps
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = defaultCacheSize
	}
	e := &Environment{
		opts: opts,
		tags: tags{
			blockStart: "{%", blockEnd: "%}",
			varStart: opts.VariableStart, varEnd: opts.VariableEnd,
			commentStart: "{#", commentEnd: "#}",
		},
		filters: builtinFilters(opts.RandomSeed),
		globals: builtinGlobals(),
		cache:   map[string]*list.Element{},
		lru:     list.New(),
	}
	if opts.JinjaCompat {
		e.filters["jsonify"] = e.filters["dump"]
	}
	for name, f := range opts.Filters {
		e.filters[name] = f
	}
	for name, v := range opts.Globals {
		e.globals[name] = fromGo(v)
	}
	return e
}

// Error is a template error: a syntax error or a failure while rendering,
// with the 1-based line and column of the cause.
type Error struct {
	Line, Column int
	Msg          string
	// Err is the underlying error, when there is one (a filter's error,
	// ErrStepLimit, ErrOutputLimit, a context error).
	Err error
}

func (e *Error) Error() string {
	return fmt.Sprintf("template error at line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Template is a compiled template, reusable and safe for concurrent use.
type Template struct {
	env   *Environment
	nodes []node
}

// Compile parses src, or returns the cached compilation of the same source.
func (e *Environment) Compile(src string) (*Template, error) {
	e.mu.Lock()
	if el, ok := e.cache[src]; ok {
		e.lru.MoveToFront(el)
		t := el.Value.(*cacheEntry).tpl
		e.mu.Unlock()
		return t, nil
	}
	e.mu.Unlock()
	nodes, err := parse(src, e.tags, e.opts.TrimBlocks, e.opts.LstripBlocks, e.opts.JinjaCompat)
	if err != nil {
		return nil, err
	}
	t := &Template{env: e, nodes: nodes}
	if len(src) <= maxCachedSource {
		e.mu.Lock()
		if _, ok := e.cache[src]; !ok {
			e.cache[src] = e.lru.PushFront(&cacheEntry{src: src, tpl: t})
			for e.lru.Len() > e.opts.CacheSize {
				old := e.lru.Back()
				e.lru.Remove(old)
				delete(e.cache, old.Value.(*cacheEntry).src)
			}
		}
		e.mu.Unlock()
	}
	return t, nil
}

// RenderString renders src with data (JSON-like Go values: map[string]any,
// []any, string, float64, int, bool, nil).
func (e *Environment) RenderString(ctx context.Context, src string, data map[string]any) (string, error) {
	t, err := e.Compile(src)
	if err != nil {
		return "", err
	}
	return t.Render(ctx, data)
}

// RenderValue renders src as the scaffolder renders step inputs: when src
// is exactly one expression (`${{ expr }}` and nothing else, as Backstage
// decides: "${{ x }}\n" from a YAML block stays a string) the expression's value is returned with its type (float64, bool,
// map[string]any, []any, string; undefined becomes nil); otherwise the
// rendered string.
func (e *Environment) RenderValue(ctx context.Context, src string, data map[string]any) (any, error) {
	t, err := e.Compile(src)
	if err != nil {
		return nil, err
	}
	return t.RenderValue(ctx, data)
}

func (t *Template) newRenderer(ctx context.Context, data map[string]any, out *strings.Builder) *renderer {
	if data == nil {
		data = map[string]any{}
	}
	root := &frame{vars: map[string]any{}}
	return &renderer{
		ctx:      ctx,
		env:      t.env,
		data:     data,
		frame:    root,
		root:     root,
		ctxVars:  map[string]any{},
		out:      out,
		maxSteps: t.env.opts.MaxSteps,
		maxOut:   t.env.opts.MaxOutputBytes,
	}
}

// Render renders the template with data.
func (t *Template) Render(ctx context.Context, data map[string]any) (out string, err error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("render cancelled: %w", err)
	}
	var b strings.Builder
	r := t.newRenderer(ctx, data, &b)
	defer recoverPanic(&err)
	if err := r.renderNodes(t.nodes); err != nil {
		return "", err
	}
	return b.String(), nil
}

// RenderValue is Environment.RenderValue for a compiled template.
func (t *Template) RenderValue(ctx context.Context, data map[string]any) (v any, err error) {
	expr := t.soleExpression()
	if expr == nil {
		return t.Render(ctx, data)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("render cancelled: %w", err)
	}
	var b strings.Builder
	r := t.newRenderer(ctx, data, &b)
	defer recoverPanic(&err)
	val, err := r.eval(expr)
	if err != nil {
		return nil, err
	}
	return toGo(val), nil
}

// soleExpression returns the expression of a template made of one output
// tag and nothing else, else nil.
func (t *Template) soleExpression() node {
	var expr node
	for _, n := range t.nodes {
		switch x := n.(type) {
		case *dataNode:
			if x.text != "" {
				return nil
			}
		case *outputNode:
			if expr != nil {
				return nil
			}
			expr = x.expr
		default:
			return nil
		}
	}
	return expr
}

// recoverPanic turns an unexpected panic into an error: templates are user
// input and must never take the process down.
func recoverPanic(err *error) {
	if r := recover(); r != nil {
		if r == errValueTooLarge {
			*err = &Error{Msg: fmt.Sprintf("a value grew beyond %d bytes while printing", maxPrintBytes), Err: ErrOutputLimit}
			return
		}
		*err = &Error{Line: 0, Column: 0, Msg: fmt.Sprintf("internal error: %v", r)}
	}
}
