package expr

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Workflows whose expressionLang is "jsonpath" write expressions as
// JSONPath, which SonataFlow evaluates with the Jayway library. This file
// implements the part of Jayway's JSONPath those workflows use: $ and @,
// .name, ['name'] and ['a','b'], [n] and [n,m], [start:end], [*] and .*,
// ..name deep scan, and [?(...)] filters with comparisons (== != < <= > >=),
// =~ /regex/, existence tests, &&, || and !. Functions such as length() and
// the in/nin/size family are reported as not supported when compiled.
//
// As in Jayway, a definite path (no wildcard, deep scan, filter, slice or
// index list) yields its value and fails when a step is missing; any other
// path yields the array of what it matched. $CONST, $SECRET and $WORKFLOW
// are read as SonataFlow reads them, as if they were keys of the root.

type jpath struct {
	relative bool // starts with @ rather than $
	steps    []jstep
}

type jstepKind int

const (
	stepProps    jstepKind = iota // names: one name is definite
	stepIndexes                   // indexes: one index is definite
	stepWildcard                  // [*] or .*
	stepDeep                      // ..name (names[0]) or ..* (names empty)
	stepSlice                     // [start:end]
	stepFilter                    // [?(...)]
)

type jstep struct {
	kind       jstepKind
	names      []string
	indexes    []int
	start, end *int
	filter     jfilter
}

func (p *jpath) definite() bool {
	for _, s := range p.steps {
		switch s.kind {
		case stepProps:
			if len(s.names) != 1 {
				return false
			}
		case stepIndexes:
			if len(s.indexes) != 1 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// errPathNotFound is the cause when a definite path has no value.
var errPathNotFound = errors.New("no value at path")

// eval evaluates p with root as $ and cur as @.
func (p *jpath) eval(root, cur any) (any, error) {
	start := root
	if p.relative {
		start = cur
	}
	nodes := []any{start}
	for _, s := range p.steps {
		var next []any
		for _, n := range nodes {
			var err error
			if next, err = s.apply(next, n, root); err != nil {
				return nil, err
			}
		}
		nodes = next
	}
	if p.definite() {
		if len(nodes) == 0 {
			return nil, errPathNotFound
		}
		return nodes[0], nil
	}
	if nodes == nil {
		nodes = []any{}
	}
	return nodes, nil
}

// exists reports whether p matches anything, for filter existence tests.
func (p *jpath) exists(root, cur any) bool {
	v, err := p.eval(root, cur)
	if err != nil {
		return false
	}
	if !p.definite() {
		return len(v.([]any)) > 0
	}
	return true
}

func (s *jstep) apply(out []any, n any, root any) ([]any, error) {
	switch s.kind {
	case stepProps:
		m, ok := n.(map[string]any)
		if !ok {
			return out, nil
		}
		if len(s.names) > 1 {
			// Jayway gathers several properties into one object.
			obj := map[string]any{}
			for _, name := range s.names {
				if v, ok := m[name]; ok {
					obj[name] = v
				}
			}
			return append(out, obj), nil
		}
		if v, ok := m[s.names[0]]; ok {
			out = append(out, v)
		}
		return out, nil
	case stepIndexes:
		a, ok := n.([]any)
		if !ok {
			return out, nil
		}
		for _, i := range s.indexes {
			if i < 0 {
				i += len(a)
			}
			if i >= 0 && i < len(a) {
				out = append(out, a[i])
			}
		}
		return out, nil
	case stepWildcard:
		return appendChildren(out, n), nil
	case stepDeep:
		return deepScan(out, n, s.names), nil
	case stepSlice:
		a, ok := n.([]any)
		if !ok {
			return out, nil
		}
		from, to := 0, len(a)
		if s.start != nil {
			from = clampIndex(*s.start, len(a))
		}
		if s.end != nil {
			to = clampIndex(*s.end, len(a))
		}
		if from < to {
			out = append(out, a[from:to]...)
		}
		return out, nil
	case stepFilter:
		candidates := []any{n}
		if a, ok := n.([]any); ok {
			candidates = a
		}
		for _, c := range candidates {
			ok, err := s.filter.test(root, c)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, c)
			}
		}
		return out, nil
	}
	return out, nil
}

func clampIndex(i, n int) int {
	if i < 0 {
		i += n
	}
	return max(0, min(i, n))
}

func appendChildren(out []any, n any) []any {
	switch n := n.(type) {
	case []any:
		return append(out, n...)
	case map[string]any:
		for _, k := range sortedKeys(n) {
			out = append(out, n[k])
		}
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	return slices.Sorted(maps.Keys(m))
}

func deepScan(out []any, n any, names []string) []any {
	switch v := n.(type) {
	case map[string]any:
		for _, k := range sortedKeys(v) {
			if len(names) == 0 || k == names[0] {
				out = append(out, v[k])
			}
		}
		for _, k := range sortedKeys(v) {
			out = deepScan(out, v[k], names)
		}
	case []any:
		if len(names) == 0 {
			out = append(out, v...)
		}
		for _, x := range v {
			out = deepScan(out, x, names)
		}
	}
	return out
}

// jfilter is a filter predicate.
type jfilter interface {
	test(root, cur any) (bool, error)
}

type jnot struct{ x jfilter }
type jand struct{ l, r jfilter }
type jor struct{ l, r jfilter }
type jexists struct{ p *jpath }
type jcompare struct {
	op   string
	l, r joperand
	re   *regexp.Regexp
}

// joperand is a path or a literal on one side of a comparison.
type joperand struct {
	path *jpath
	lit  any
}

func (f jnot) test(root, cur any) (bool, error) {
	ok, err := f.x.test(root, cur)
	return !ok, err
}

func (f jand) test(root, cur any) (bool, error) {
	ok, err := f.l.test(root, cur)
	if err != nil || !ok {
		return false, err
	}
	return f.r.test(root, cur)
}

func (f jor) test(root, cur any) (bool, error) {
	ok, err := f.l.test(root, cur)
	if err != nil || ok {
		return ok, err
	}
	return f.r.test(root, cur)
}

func (f jexists) test(root, cur any) (bool, error) { return f.p.exists(root, cur), nil }

func (o joperand) value(root, cur any) (any, bool) {
	if o.path == nil {
		return o.lit, true
	}
	v, err := o.path.eval(root, cur)
	return v, err == nil
}

func (f jcompare) test(root, cur any) (bool, error) {
	l, ok := f.l.value(root, cur)
	if !ok {
		return false, nil
	}
	if f.re != nil {
		s, ok := l.(string)
		return ok && f.re.MatchString(s), nil
	}
	r, ok := f.r.value(root, cur)
	if !ok {
		return false, nil
	}
	switch f.op {
	case "==":
		return Equal(l, r), nil
	case "!=":
		return !Equal(l, r), nil
	}
	// Ordering applies to two numbers or two strings only.
	c, comparable := 0, false
	if ln, ok := number(l); ok {
		if rn, ok := number(r); ok {
			c, comparable = cmpFloat(ln, rn), true
		}
	} else if ls, ok := l.(string); ok {
		if rs, ok := r.(string); ok {
			c, comparable = strings.Compare(ls, rs), true
		}
	}
	if !comparable {
		return false, nil
	}
	switch f.op {
	case "<":
		return c < 0, nil
	case "<=":
		return c <= 0, nil
	case ">":
		return c > 0, nil
	case ">=":
		return c >= 0, nil
	}
	return false, fmt.Errorf("unknown operator %s", f.op)
}

func number(v any) (float64, bool) {
	switch v := v.(type) {
	case int:
		return float64(v), true
	case float64:
		return v, true
	}
	return 0, false
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// jsonPathMagic rewrites SonataFlow's variables as keys of the root, the
// way SonataFlow's JSONPath support does ($WORKFLOW.x reads $.$WORKFLOW.x).
func jsonPathMagic(src string) string {
	for _, v := range []string{varConst, varSecret, varWorkflow} {
		src = strings.ReplaceAll(src, "$"+v, "$.$"+v)
	}
	return src
}

// jsonPathVars lists the variables a JSONPath expression reads.
func jsonPathVars(text string) (names []string, used []bool) {
	names = []string{varConst, varSecret, varSecrets, varWorkflow}
	used = make([]bool, len(names))
	for i, n := range names {
		used[i] = strings.Contains(text, "$"+n)
	}
	return names, used
}

// evalJSONPath runs a compiled JSONPath program: the variables become
// extra keys of the root object, as in SonataFlow.
func (p *program) evalJSONPath(ctx context.Context, input any, vals []any) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	root := input
	if m, ok := input.(map[string]any); ok && anyUsed(p.used) {
		r := make(map[string]any, len(m)+3)
		for k, v := range m {
			r[k] = v
		}
		for i, name := range p.vars {
			if p.used[i] {
				r["$"+name] = vals[i]
			}
		}
		root = r
	}
	return p.path.eval(root, root)
}

func anyUsed(used []bool) bool {
	for _, u := range used {
		if u {
			return true
		}
	}
	return false
}

// parseJSONPath compiles JSONPath text.
func parseJSONPath(src string) (*jpath, error) {
	text := strings.TrimSpace(src)
	if !strings.HasPrefix(text, "$") && !strings.HasPrefix(text, "@") {
		// Jayway reads a path without a root as relative to $: "a.b" is
		// "$.a.b" (and ".data" becomes the deep scan "$..data").
		text = "$." + text
	}
	p := &jparser{s: text}
	path, err := p.path()
	if err != nil {
		return nil, err
	}
	if p.skipSpace(); p.i != len(p.s) {
		return nil, p.errorf("unexpected %q", p.s[p.i:])
	}
	return path, nil
}

type jparser struct {
	s string
	i int
}

func (p *jparser) errorf(format string, args ...any) error {
	return fmt.Errorf("JSONPath syntax error at offset %d: %s", p.i, fmt.Sprintf(format, args...))
}

func (p *jparser) skipSpace() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
}

func (p *jparser) peek(prefix string) bool { return strings.HasPrefix(p.s[p.i:], prefix) }

func (p *jparser) path() (*jpath, error) {
	var path jpath
	switch {
	case p.peek("$"):
	case p.peek("@"):
		path.relative = true
	default:
		return nil, p.errorf("a path starts with $ or @")
	}
	p.i++
	for p.i < len(p.s) {
		switch {
		case p.peek(".."):
			p.i += 2
			if p.peek("*") {
				p.i++
				path.steps = append(path.steps, jstep{kind: stepDeep})
				continue
			}
			if p.peek("[") {
				return nil, p.errorf("deep scan with brackets is not supported")
			}
			name := p.name()
			if name == "" {
				return nil, p.errorf("expected a property name after ..")
			}
			path.steps = append(path.steps, jstep{kind: stepDeep, names: []string{name}})
		case p.peek(".["):
			p.i++
		case p.peek("."):
			p.i++
			if p.peek("*") {
				p.i++
				path.steps = append(path.steps, jstep{kind: stepWildcard})
				continue
			}
			name := p.name()
			if name == "" {
				return nil, p.errorf("expected a property name after .")
			}
			if p.peek("(") {
				return nil, p.errorf("function %s() is not supported", name)
			}
			path.steps = append(path.steps, jstep{kind: stepProps, names: []string{name}})
		case p.peek("["):
			step, err := p.bracket()
			if err != nil {
				return nil, err
			}
			path.steps = append(path.steps, step)
		default:
			return &path, nil
		}
	}
	return &path, nil
}

// name reads a property name after a dot: anything up to ., [, space,
// or an operator or parenthesis of a filter.
func (p *jparser) name() string {
	start := p.i
	for p.i < len(p.s) && !strings.ContainsRune(".[] \t\n\r()=!<>&|,", rune(p.s[p.i])) {
		p.i++
	}
	return p.s[start:p.i]
}

func (p *jparser) bracket() (jstep, error) {
	p.i++ // [
	p.skipSpace()
	var step jstep
	switch {
	case p.peek("*"):
		p.i++
		step.kind = stepWildcard
	case p.peek("?("):
		p.i += 2
		f, err := p.orExpr()
		if err != nil {
			return step, err
		}
		p.skipSpace()
		if !p.peek(")") {
			return step, p.errorf("expected ) closing the filter")
		}
		p.i++
		step = jstep{kind: stepFilter, filter: f}
	case p.peek("'") || p.peek(`"`):
		step.kind = stepProps
		for {
			s, err := p.quoted()
			if err != nil {
				return step, err
			}
			step.names = append(step.names, s)
			p.skipSpace()
			if !p.peek(",") {
				break
			}
			p.i++
			p.skipSpace()
		}
	default:
		if err := p.indexes(&step); err != nil {
			return step, err
		}
	}
	p.skipSpace()
	if !p.peek("]") {
		return step, p.errorf("expected ]")
	}
	p.i++
	return step, nil
}

func (p *jparser) indexes(step *jstep) error {
	first, hasFirst := p.integer()
	p.skipSpace()
	if p.peek(":") {
		p.i++
		p.skipSpace()
		step.kind = stepSlice
		if hasFirst {
			step.start = &first
		}
		if end, ok := p.integer(); ok {
			step.end = &end
		}
		p.skipSpace()
		if p.peek(":") {
			return p.errorf("slice steps are not supported")
		}
		return nil
	}
	if !hasFirst {
		return p.errorf("expected an index, a quoted name, * or ?( in brackets")
	}
	step.kind = stepIndexes
	step.indexes = []int{first}
	for p.peek(",") {
		p.i++
		p.skipSpace()
		n, ok := p.integer()
		if !ok {
			return p.errorf("expected an index")
		}
		step.indexes = append(step.indexes, n)
		p.skipSpace()
	}
	return nil
}

func (p *jparser) integer() (int, bool) {
	start := p.i
	if p.peek("-") {
		p.i++
	}
	for p.i < len(p.s) && isDigit(p.s[p.i]) {
		p.i++
	}
	n, err := strconv.Atoi(p.s[start:p.i])
	if err != nil {
		p.i = start
		return 0, false
	}
	return n, true
}

func (p *jparser) quoted() (string, error) {
	q := p.s[p.i]
	var b strings.Builder
	for j := p.i + 1; j < len(p.s); j++ {
		switch c := p.s[j]; {
		case c == '\\' && j+1 < len(p.s):
			j++
			b.WriteByte(p.s[j])
		case c == q:
			p.i = j + 1
			return b.String(), nil
		default:
			b.WriteByte(c)
		}
	}
	return "", p.errorf("unterminated string")
}

func (p *jparser) orExpr() (jfilter, error) {
	l, err := p.andExpr()
	if err != nil {
		return nil, err
	}
	for p.skipSpace(); p.peek("||"); p.skipSpace() {
		p.i += 2
		r, err := p.andExpr()
		if err != nil {
			return nil, err
		}
		l = jor{l, r}
	}
	return l, nil
}

func (p *jparser) andExpr() (jfilter, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.skipSpace(); p.peek("&&"); p.skipSpace() {
		p.i += 2
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = jand{l, r}
	}
	return l, nil
}

func (p *jparser) unary() (jfilter, error) {
	p.skipSpace()
	switch {
	case p.peek("!") && !p.peek("!="):
		p.i++
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return jnot{x}, nil
	case p.peek("("):
		p.i++
		x, err := p.orExpr()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if !p.peek(")") {
			return nil, p.errorf("expected )")
		}
		p.i++
		return x, nil
	}
	l, err := p.operand()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	for _, op := range []string{"==", "!=", "<=", ">=", "=~", "<", ">"} {
		if !p.peek(op) {
			continue
		}
		p.i += len(op)
		p.skipSpace()
		if op == "=~" {
			re, err := p.regex()
			if err != nil {
				return nil, err
			}
			return jcompare{op: op, l: l, re: re}, nil
		}
		r, err := p.operand()
		if err != nil {
			return nil, err
		}
		return jcompare{op: op, l: l, r: r}, nil
	}
	for _, op := range []string{" in ", " nin ", " subsetof ", " anyof ", " noneof ", " size ", " empty "} {
		if p.peek(strings.TrimLeft(op, " ")) {
			return nil, p.errorf("filter operator %s is not supported", strings.TrimSpace(op))
		}
	}
	if l.path == nil {
		return nil, p.errorf("a literal alone is not a filter")
	}
	return jexists{l.path}, nil
}

func (p *jparser) operand() (joperand, error) {
	p.skipSpace()
	switch {
	case p.peek("@") || p.peek("$"):
		path, err := p.path()
		if err != nil {
			return joperand{}, err
		}
		return joperand{path: path}, nil
	case p.peek("'") || p.peek(`"`):
		s, err := p.quoted()
		return joperand{lit: s}, err
	case p.peek("true"):
		p.i += 4
		return joperand{lit: true}, nil
	case p.peek("false"):
		p.i += 5
		return joperand{lit: false}, nil
	case p.peek("null"):
		p.i += 4
		return joperand{lit: nil}, nil
	}
	start := p.i
	for p.i < len(p.s) && strings.ContainsRune("+-.eE0123456789", rune(p.s[p.i])) {
		p.i++
	}
	text := p.s[start:p.i]
	if n, err := strconv.Atoi(text); err == nil {
		return joperand{lit: n}, nil
	}
	if f, err := strconv.ParseFloat(text, 64); err == nil {
		return joperand{lit: f}, nil
	}
	p.i = start
	return joperand{}, p.errorf("expected a path, a string, a number, true, false or null")
}

func (p *jparser) regex() (*regexp.Regexp, error) {
	if !p.peek("/") {
		return nil, p.errorf("expected /regex/ after =~")
	}
	end := -1
	for j := p.i + 1; j < len(p.s); j++ {
		if p.s[j] == '\\' {
			j++
			continue
		}
		if p.s[j] == '/' {
			end = j
			break
		}
	}
	if end < 0 {
		return nil, p.errorf("unterminated regex")
	}
	pattern := p.s[p.i+1 : end]
	p.i = end + 1
	if p.peek("i") {
		p.i++
		pattern = "(?i)" + pattern
	}
	// Jayway matches the whole string.
	re, err := regexp.Compile("^(?:" + pattern + ")$")
	if err != nil {
		return nil, p.errorf("bad regex: %v", err)
	}
	return re, nil
}
