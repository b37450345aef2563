package nunjucks

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
)

// frame is a variable scope. A for loop pushes one; `set` writes to the
// nearest frame that already holds the name, else to the current one, as
// Nunjucks does.
type frame struct {
	vars   map[string]any
	parent *frame
	// isolated stops writes from reaching parents: a macro's variables stay
	// its own.
	isolated bool
	// lexical are the names Nunjucks binds when compiling (loop variables,
	// macro parameters), which a call block's body sees directly.
	lexical []string
}

func (f *frame) lookup(name string) (any, bool) {
	for cur := f; cur != nil; cur = cur.parent {
		if v, ok := cur.vars[name]; ok && !isUndefined(v) {
			return v, true
		}
	}
	return nil, false
}

func (f *frame) set(name string, v any) {
	for cur := f; cur != nil; cur = cur.parent {
		if old, ok := cur.vars[name]; ok && !isUndefined(old) {
			cur.vars[name] = v
			return
		}
		if cur.isolated {
			break
		}
	}
	if f.vars == nil {
		f.vars = map[string]any{}
	}
	f.vars[name] = v
}

// renderer holds the state of one render.
type renderer struct {
	ctx      context.Context
	env      *Environment
	data     map[string]any
	frame    *frame
	root     *frame
	ctxVars  map[string]any // the context's variables: top-level sets and macros
	out      *strings.Builder
	written  int
	steps    int
	maxSteps int
	maxOut   int
	depth    int
}

// ErrStepLimit is wrapped by the error of a render that exceeded
// Options.MaxSteps.
var ErrStepLimit = errors.New("template step budget exceeded")

// ErrOutputLimit is wrapped by the error of a render whose output (or a
// string it built) exceeded Options.MaxOutputBytes.
var ErrOutputLimit = errors.New("template output limit exceeded")

// errValueTooLarge is panicked by toString and JSON encoding when a value
// prints to more than maxStringBuild bytes; Render recovers it.
var errValueTooLarge = errors.New("value too large to print")

func (r *renderer) errAt(n node, err error) error {
	var te *Error
	if errors.As(err, &te) {
		return err
	}
	l, c := n.position()
	return &Error{Line: l + 1, Column: c + 1, Msg: err.Error(), Err: err}
}

func (r *renderer) errorf(n node, format string, args ...any) error {
	l, c := n.position()
	return &Error{Line: l + 1, Column: c + 1, Msg: fmt.Sprintf(format, args...)}
}

// step spends one unit of the step budget and checks for cancellation.
func (r *renderer) step(n node) error {
	r.steps++
	if r.steps > r.maxSteps {
		return r.errAt(n, fmt.Errorf("%w (more than %d steps): the template loops too much", ErrStepLimit, r.maxSteps))
	}
	if r.steps&1023 == 0 {
		if err := r.ctx.Err(); err != nil {
			return r.errAt(n, fmt.Errorf("render cancelled: %w", err))
		}
	}
	return nil
}

// checkSize rejects strings and arrays larger than the output cap, so a
// template cannot build huge values by repeated concatenation.
func (r *renderer) checkSize(n node, size int) error {
	if size > r.maxOut {
		return r.errAt(n, fmt.Errorf("%w: a value of %d bytes exceeds the %d byte limit", ErrOutputLimit, size, r.maxOut))
	}
	return nil
}

func (r *renderer) write(n node, s string) error {
	r.written += len(s)
	if r.written > r.maxOut {
		return r.errAt(n, fmt.Errorf("%w: more than %d bytes", ErrOutputLimit, r.maxOut))
	}
	r.out.WriteString(s)
	return nil
}

// norm turns data values into the engine's kinds (int into float64, other
// Go types through fromGo).
func norm(v any) any {
	switch x := v.(type) {
	case nil, undefinedType, string, bool, float64, []any, map[string]any, *object, Func, *jsRegexp, Kwargs, *safeString:
		return v
	case int:
		return float64(x)
	}
	return fromGo(v)
}

func (r *renderer) renderNodes(nodes []node) error {
	for _, n := range nodes {
		if err := r.renderNode(n); err != nil {
			return err
		}
	}
	return nil
}

func (r *renderer) renderNode(n node) error {
	if err := r.step(n); err != nil {
		return err
	}
	switch x := n.(type) {
	case *dataNode:
		return r.write(n, x.text)
	case *outputNode:
		v, err := r.eval(x.expr)
		if err != nil {
			return err
		}
		return r.write(n, outputString(v))
	case *ifNode:
		c, err := r.eval(x.cond)
		if err != nil {
			return err
		}
		if truthy(c) {
			return r.renderNodes(x.body)
		}
		return r.renderNodes(x.els)
	case *forNode:
		return r.renderFor(x)
	case *setNode:
		var v any
		if x.value != nil {
			var err error
			if v, err = r.eval(x.value); err != nil {
				return err
			}
		} else {
			s, err := r.capture(x.body)
			if err != nil {
				return err
			}
			v = s
		}
		for _, t := range x.targets {
			r.frame.set(t, v)
			if r.frame == r.root {
				r.ctxVars[t] = v
			}
		}
		return nil
	case *switchNode:
		return r.renderSwitch(x)
	case *macroNode:
		// A top-level macro lives in the context, others in their frame.
		if r.frame == r.root {
			r.ctxVars[x.name] = r.makeMacro(x)
		} else {
			r.frame.set(x.name, r.makeMacro(x))
		}
		return nil
	case *blockNode:
		return r.renderNodes(x.body)
	}
	return r.errorf(n, "internal error: unexpected statement %T", n)
}

func (r *renderer) capture(body []node) (string, error) {
	saved := r.out
	var b strings.Builder
	r.out = &b
	err := r.renderNodes(body)
	r.out = saved
	return b.String(), err
}

func (r *renderer) renderSwitch(x *switchNode) error {
	v, err := r.eval(x.expr)
	if err != nil {
		return err
	}
	start := -1
	for i, c := range x.cases {
		cv, err := r.eval(c.cond)
		if err != nil {
			return err
		}
		if strictEquals(v, cv) {
			start = i
			break
		}
	}
	if start < 0 {
		return r.renderNodes(x.def)
	}
	// A case with an empty body falls through to the next, as in the
	// JavaScript switch statement Nunjucks compiles to.
	for i := start; i < len(x.cases); i++ {
		if len(x.cases[i].body) > 0 {
			return r.renderNodes(x.cases[i].body)
		}
	}
	return r.renderNodes(x.def)
}

func (r *renderer) renderFor(x *forNode) error {
	outer := r.frame
	f := &frame{vars: map[string]any{}, parent: outer, lexical: x.names}
	r.frame = f
	defer func() { r.frame = outer }()
	arr, err := r.eval(x.arr)
	if err != nil {
		return err
	}
	length := -1 // -1: JavaScript's undefined length, which runs the else branch
	loop := newObject(7)
	setLoop := func(i, n int) {
		loop.set("index", float64(i+1))
		loop.set("index0", float64(i))
		loop.set("revindex", float64(n-i))
		loop.set("revindex0", float64(n-i-1))
		loop.set("first", i == 0)
		loop.set("last", i == n-1)
		loop.set("length", float64(n))
		f.vars["loop"] = loop
	}
	if truthy(arr) {
		arr = norm(arr)
		if ss, ok := arr.(*safeString); ok {
			// Loops take iterables through Array.from, which walks a
			// SafeString's text by code points.
			chars := []any{}
			for _, ch := range ss.s {
				chars = append(chars, string(ch))
			}
			arr = chars
		}
		if len(x.names) == 1 {
			var items []any
			switch a := arr.(type) {
			case []any:
				items = a
			case string:
				items = stringChars(a)
			}
			if items != nil {
				length = len(items)
			}
			for i, item := range items {
				if err := r.step(x); err != nil {
					return err
				}
				f.vars[x.names[0]] = norm(item)
				setLoop(i, len(items))
				if err := r.renderNodes(x.body); err != nil {
					return err
				}
			}
		} else if a, ok := arr.([]any); ok {
			length = len(a)
			for i, item := range a {
				if err := r.step(x); err != nil {
					return err
				}
				item = norm(item)
				if isNullish(item) {
					return r.errorf(x, "cannot destructure %s in a for loop over %s", toString(item), strings.Join(x.names, ", "))
				}
				for u, name := range x.names {
					f.vars[name] = memberLookup(item, float64(u))
				}
				setLoop(i, len(a))
				if err := r.renderNodes(x.body); err != nil {
					return err
				}
			}
		} else {
			var keys []string
			var get func(k string) any
			switch a := arr.(type) {
			case string:
				chars := stringChars(a)
				keys = make([]string, len(chars))
				for i := range chars {
					keys[i] = formatNumber(float64(i))
				}
				get = func(k string) any { return memberLookup(a, k) }
			default:
				keys = objectKeys(a)
				get = func(k string) any {
					v, _ := objectGet(a, k)
					return norm(v)
				}
			}
			length = len(keys)
			for i, k := range keys {
				if err := r.step(x); err != nil {
					return err
				}
				f.vars[x.names[0]] = k
				f.vars[x.names[1]] = get(k)
				setLoop(i, len(keys))
				if err := r.renderNodes(x.body); err != nil {
					return err
				}
			}
		}
	}
	if x.els != nil && length <= 0 {
		return r.renderNodes(x.els)
	}
	return nil
}

// stringChars splits a string into its UTF-16 code units, each a string,
// as indexing a JavaScript string does.
func stringChars(s string) []any {
	if isASCII(s) {
		out := make([]any, len(s))
		for i := 0; i < len(s); i++ {
			out[i] = s[i : i+1]
		}
		return out
	}
	u := toUTF16(s)
	out := make([]any, len(u))
	for i := range u {
		out[i] = fromUTF16(u[i : i+1])
	}
	return out
}

// lookupName resolves a variable: frames, then the render data, then
// globals (data wins over globals, as in Nunjucks).
func (r *renderer) lookupName(name string) any {
	if v, ok := r.frame.lookup(name); ok {
		return v
	}
	if v, ok := r.ctxVars[name]; ok {
		if !isUndefined(v) {
			return v
		}
	} else if v, ok := r.data[name]; ok {
		return norm(v)
	} else if v, ok := r.env.globals[name]; ok {
		return v
	}
	if r.env.opts.JinjaCompat {
		switch name {
		case "True":
			return true
		case "False":
			return false
		case "None":
			return nil
		}
	}
	return Undefined
}

func (r *renderer) eval(n node) (any, error) {
	r.depth++
	defer func() { r.depth-- }()
	if r.depth > maxNesting*4 {
		return nil, r.errorf(n, "expression nests too deeply")
	}
	if err := r.step(n); err != nil {
		return nil, err
	}
	switch x := n.(type) {
	case *litNode:
		return x.val, nil
	case *symNode:
		return r.lookupName(x.name), nil
	case *lookupNode:
		t, err := r.eval(x.target)
		if err != nil {
			return nil, err
		}
		k, err := r.eval(x.key)
		if err != nil {
			return nil, err
		}
		if r.env.opts.JinjaCompat {
			return jinjaMember(t, k), nil
		}
		return memberLookup(t, k), nil
	case *sliceNode:
		return r.evalSlice(x)
	case *callNode:
		return r.evalCall(x)
	case *filterNode:
		return r.evalFilter(x)
	case *binNode:
		return r.evalBin(x)
	case *unaryNode:
		v, err := r.eval(x.target)
		if err != nil {
			return nil, err
		}
		switch x.op {
		case "not":
			return !truthy(v), nil
		case "-":
			return -toNumber(v), nil
		case "floor":
			return math.Floor(toNumber(v)), nil
		}
		return toNumber(v), nil
	case *compareNode:
		left, err := r.eval(x.expr)
		if err != nil {
			return nil, err
		}
		for _, op := range x.ops {
			right, err := r.eval(op.expr)
			if err != nil {
				return nil, err
			}
			left = compareOp(op.op, left, right)
		}
		return left, nil
	case *inlineIfNode:
		c, err := r.eval(x.cond)
		if err != nil {
			return nil, err
		}
		if truthy(c) {
			return r.eval(x.body)
		}
		if x.els == nil {
			return "", nil
		}
		return r.eval(x.els)
	case *inNode:
		k, err := r.eval(x.left)
		if err != nil {
			return nil, err
		}
		c, err := r.eval(x.right)
		if err != nil {
			return nil, err
		}
		res, err := inOperator(k, c)
		if err != nil {
			return nil, r.errAt(n, err)
		}
		return res, nil
	case *isNode:
		return r.evalIs(x)
	case *groupNode:
		var v any
		for _, item := range x.items {
			var err error
			if v, err = r.eval(item); err != nil {
				return nil, err
			}
		}
		return v, nil
	case *arrayNode:
		out := make([]any, 0, len(x.items))
		for _, item := range x.items {
			v, err := r.eval(item)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case *dictNode:
		o := newObject(len(x.pairs))
		for _, p := range x.pairs {
			k, err := r.eval(p.key)
			if err != nil {
				return nil, err
			}
			v, err := r.eval(p.value)
			if err != nil {
				return nil, err
			}
			o.set(toString(k), v)
		}
		return o, nil
	case *captureNode:
		return r.capture(x.body)
	case *runtimeErrNode:
		return nil, r.errorf(x, "%s", x.msg)
	case *callerNode:
		// Nunjucks compiles a call block's body where it stands: names bound
		// at compile time there (loop variables, macro parameters) are
		// visible to it; everything else it looks up from the frame of the
		// macro that calls it.
		lex := map[string]any{}
		for cur := r.frame; cur != nil; cur = cur.parent {
			for _, name := range cur.lexical {
				if _, seen := lex[name]; !seen {
					lex[name] = cur.vars[name]
				}
			}
			if cur.isolated {
				break
			}
		}
		return r.makeMacroIn(x.macro, lex), nil
	}
	return nil, r.errorf(n, "internal error: unexpected expression %T", n)
}

func compareOp(op string, a, b any) bool {
	switch op {
	case "==":
		return looseEquals(a, b)
	case "!=":
		return !looseEquals(a, b)
	case "===":
		return strictEquals(a, b)
	case "!==":
		return !strictEquals(a, b)
	}
	var c int
	var ok bool
	if op == ">" || op == "<=" {
		// JavaScript evaluates a > b as b < a; the result only differs
		// from the symmetric form when NaN is involved, which ok covers.
		c, ok = compareValues(a, b)
	} else {
		c, ok = compareValues(a, b)
	}
	if !ok {
		return false
	}
	switch op {
	case "<":
		return c < 0
	case ">":
		return c > 0
	case "<=":
		return c <= 0
	}
	return c >= 0
}

func (r *renderer) evalBin(x *binNode) (any, error) {
	left, err := r.eval(x.left)
	if err != nil {
		return nil, err
	}
	switch x.op {
	case "and", "&&":
		if !truthy(left) {
			return left, nil
		}
		return r.eval(x.right)
	case "or", "||":
		if truthy(left) {
			return left, nil
		}
		return r.eval(x.right)
	}
	right, err := r.eval(x.right)
	if err != nil {
		return nil, err
	}
	switch x.op {
	case "==", "!=", "===", "!==", "<", ">", "<=", ">=":
		return compareOp(x.op, left, right), nil
	case "~":
		s := toString(left) + toString(right)
		if err := r.checkSize(x, len(s)); err != nil {
			return nil, err
		}
		return s, nil
	case "+":
		v := jsAdd(left, right)
		if s, ok := v.(string); ok {
			if err := r.checkSize(x, len(s)); err != nil {
				return nil, err
			}
		}
		return v, nil
	}
	a, b := toNumber(left), toNumber(right)
	switch x.op {
	case "-":
		return a - b, nil
	case "*":
		return a * b, nil
	case "/":
		return a / b, nil
	case "//":
		return math.Floor(a / b), nil
	case "%":
		return math.Mod(a, b), nil
	case "**":
		return jsPow(a, b), nil
	}
	return nil, r.errorf(x, "internal error: unknown operator %s", x.op)
}

// jsAdd is JavaScript's + operator.
func jsAdd(a, b any) any {
	pa, pb := toPrimitive(a), toPrimitive(b)
	_, as := pa.(string)
	_, bs := pb.(string)
	if as || bs {
		return toString(pa) + toString(pb)
	}
	return toNumber(pa) + toNumber(pb)
}

// jsPow is Math.pow, which differs from math.Pow for NaN exponents and
// ±1 to an infinite power.
func jsPow(a, b float64) float64 {
	if math.IsNaN(b) || (math.Abs(a) == 1 && math.IsInf(b, 0)) {
		return math.NaN()
	}
	return math.Pow(a, b)
}

// objectPrototypeKeys are the properties every object inherits, which
// `in` sees.
var objectPrototypeKeys = map[string]bool{
	"constructor": true, "toString": true, "toLocaleString": true, "valueOf": true, "hasOwnProperty": true,
	"isPrototypeOf": true, "propertyIsEnumerable": true, "__proto__": true, "__defineGetter__": true,
	"__defineSetter__": true, "__lookupGetter__": true, "__lookupSetter__": true,
}

// inOperator is `key in container`.
func inOperator(key, container any) (bool, error) {
	switch c := norm(container).(type) {
	case []any:
		for _, e := range c {
			if strictEquals(norm(e), key) {
				return true, nil
			}
		}
		return false, nil
	case string:
		return jsIndexOf(c, toString(key), 0) >= 0, nil
	case *safeString:
		// `in` on an object also sees inherited String methods.
		k := toString(key)
		_, own := objectGet(c, k)
		return own || !isUndefined(stringMethod(c.s, k)), nil
	case *object, map[string]any, Kwargs:
		k := toString(key)
		_, ok := objectGet(c, k)
		return ok || objectPrototypeKeys[k], nil
	}
	return false, fmt.Errorf(`cannot use "in" operator to search for "%s" in %s`, toString(key), describe(container))
}

func (r *renderer) evalArgs(args []node, kwargs []*pairNode) ([]any, error) {
	out := make([]any, 0, len(args)+1)
	for _, a := range args {
		v, err := r.eval(a)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if len(kwargs) > 0 {
		kw := Kwargs{}
		for _, p := range kwargs {
			k, err := r.eval(p.key)
			if err != nil {
				return nil, err
			}
			v, err := r.eval(p.value)
			if err != nil {
				return nil, err
			}
			kw[toString(k)] = v
		}
		out = append(out, kw)
	}
	return out, nil
}

func (r *renderer) evalCall(x *callNode) (any, error) {
	fn, err := r.eval(x.fn)
	if err != nil {
		return nil, err
	}
	args, err := r.evalArgs(x.args, x.kwargs)
	if err != nil {
		return nil, err
	}
	f, ok := fn.(Func)
	if !ok {
		if !truthy(fn) {
			return nil, r.errorf(x, "Unable to call `%s`, which is undefined or falsey", x.name)
		}
		return nil, r.errorf(x, "Unable to call `%s`, which is not a function", x.name)
	}
	v, err := f(args...)
	if err != nil {
		return nil, r.errAt(x, err)
	}
	if err := r.checkValue(x, v); err != nil {
		return nil, err
	}
	return norm(v), nil
}

// checkValue bounds strings and arrays that functions and filters return.
func (r *renderer) checkValue(n node, v any) error {
	switch x := v.(type) {
	case string:
		return r.checkSize(n, len(x))
	case []any:
		if len(x) > maxArrayLen {
			return r.errAt(n, fmt.Errorf("%w: an array of %d items exceeds the %d item limit", ErrOutputLimit, len(x), maxArrayLen))
		}
	}
	return nil
}

// maxArrayLen bounds arrays that functions and filters build (such as
// repeated concat), which the output cap alone would bound too loosely.
const maxArrayLen = 1 << 20

func (r *renderer) evalFilter(x *filterNode) (any, error) {
	f, ok := r.env.filters[x.name]
	if !ok {
		return nil, r.errorf(x, "filter not found: %s", x.name)
	}
	args, err := r.evalArgs(x.args, x.kwargs)
	if err != nil {
		return nil, err
	}
	v, err := f(args[0], args[1:]...)
	if err != nil {
		return nil, r.errAt(x, fmt.Errorf("filter %s: %w", x.name, err))
	}
	if err := r.checkValue(x, v); err != nil {
		return nil, err
	}
	return norm(v), nil
}

func (r *renderer) evalIs(x *isNode) (any, error) {
	t, ok := tests[x.test]
	if !ok {
		return nil, r.errorf(x, "test not found: %s", x.test)
	}

	left, err := r.eval(x.left)
	if err != nil {
		return nil, err
	}
	args, err := r.evalArgs(x.args, x.kwargs)
	if err != nil {
		return nil, err
	}
	var arg any = Undefined
	if len(args) > 0 {
		arg = args[0]
	}
	res, err := t(left, arg)
	if err != nil {
		return nil, r.errAt(x, err)
	}
	return res, nil
}

// makeMacro turns a macro definition into a function. A macro sees its
// arguments and the context (the render data, and top-level variables as
// last set at the top level), not the caller's frames: Nunjucks gives
// macros a fresh frame.
func (r *renderer) makeMacro(m *macroNode) Func { return r.makeMacroIn(m, nil) }

// makeMacroIn makes a macro. A call block's caller passes the names it
// sees lexically; its frame then continues with the invoking macro's.
func (r *renderer) makeMacroIn(m *macroNode, lexical map[string]any) Func {
	return func(args ...any) (any, error) {
		var kw Kwargs
		if len(args) > 0 {
			if k, ok := args[len(args)-1].(Kwargs); ok {
				kw = k
				args = args[:len(args)-1]
			}
		}
		if r.depth > maxNesting {
			return nil, errors.New("macro calls nest too deeply")
		}
		f := &frame{vars: map[string]any{}, isolated: true, lexical: m.params}
		if lexical != nil {
			f.parent = &frame{vars: lexical, parent: r.frame}
		}
		if c, ok := kw["caller"]; ok {
			f.vars["caller"] = c
		}
		saved := r.frame
		r.frame = f
		defer func() { r.frame = saved }()
		for i, name := range m.params {
			var v any = Undefined
			if i < len(args) {
				v = args[i]
			} else if kv, ok := kw[name]; ok {
				v = kv
			} else if d, ok := m.defaults[name]; ok {
				var err error
				if v, err = r.eval(d); err != nil {
					return nil, err
				}
			}
			f.vars[name] = v
		}
		r.depth += 10
		defer func() { r.depth -= 10 }()
		out, err := r.capture(m.body)
		if err != nil {
			return nil, err
		}
		return markSafe(out), nil
	}
}
