package nunjucks

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// node is a node of a parsed template. Positions are 0-based.
type node interface{ position() (line, col int) }

type pos struct{ line, col int }

func (p pos) position() (int, int) { return p.line, p.col }

// Expression nodes.
type (
	litNode struct {
		pos
		val any
	}
	symNode struct {
		pos
		name string
	}
	groupNode struct {
		pos
		items []node
	}
	arrayNode struct {
		pos
		items []node
	}
	pairNode struct {
		pos
		key   node
		value node
	}
	dictNode struct {
		pos
		pairs []*pairNode
	}
	lookupNode struct {
		pos
		target, key node
	}
	callNode struct {
		pos
		fn     node
		args   []node
		kwargs []*pairNode
		name   string // for error messages, as the template wrote it
	}
	filterNode struct {
		pos
		name   string
		args   []node // args[0] is the filtered value
		kwargs []*pairNode
	}
	compareItem struct {
		op   string
		expr node
	}
	compareNode struct {
		pos
		expr node
		ops  []compareItem
	}
	inlineIfNode struct {
		pos
		cond, body, els node // els may be nil
	}
	inNode struct {
		pos
		left, right node
	}
	isNode struct {
		pos
		left   node
		test   string
		args   []node
		kwargs []*pairNode
	}
	binNode struct {
		pos
		op          string // and or + ~ - * / // % **
		left, right node
	}
	unaryNode struct {
		pos
		op     string // not - +
		target node
	}
)

// Statement nodes.
type (
	dataNode struct {
		pos
		text string
	}
	outputNode struct {
		pos
		expr node
	}
	ifNode struct {
		pos
		cond node
		body []node
		els  []node
	}
	forNode struct {
		pos
		names []string
		arr   node
		body  []node
		els   []node
	}
	setNode struct {
		pos
		targets []string
		value   node   // nil for a block set
		body    []node // block set body
	}
	captureNode struct {
		pos
		body []node
	}
	switchCase struct {
		cond node
		body []node
	}
	switchNode struct {
		pos
		expr  node
		cases []switchCase
		def   []node
	}
	// badNode is code Nunjucks' compiler rejects. It fails when the
	// expression it is part of is finished (jsify), not when parsed,
	// because Nunjucks never compiles some parts of a tree (the right side
	// of an `is` that is not a test name).
	badNode struct {
		pos
		msg string
	}
	// runtimeErrNode fails when evaluated.
	runtimeErrNode struct {
		pos
		msg string
	}
	blockNode struct {
		pos
		body []node
	}
	// callerNode is the body of a call block, as a macro.
	callerNode struct {
		pos
		macro *macroNode
	}
	macroNode struct {
		pos
		name     string
		params   []string
		defaults map[string]node
		body     []node
	}
)

// parser turns tokens into nodes, following the grammar and the operator
// precedence of Nunjucks 3.2.4 exactly (including its oddities, such as
// filters binding tighter than unary minus's operand's operators).
type parser struct {
	lex                   *lexer
	peeked                token
	hasPeeked             bool
	breakOnBlocks         []string
	dropLeadingWhitespace bool
	depth                 int
	exprDepth             int
	jinja                 bool    // Jinja compatibility: slices a[1:3]
	open                  []token // the tags being parsed, for "not closed" errors
}

// unclosed names the innermost open tag in end-of-file errors.
func (p *parser) unclosed() string {
	if len(p.open) == 0 {
		return ""
	}
	t := p.open[len(p.open)-1]
	return fmt.Sprintf(" (the %s tag at line %d, column %d is not closed)", t.val, t.line+1, t.col+1)
}

// parseError aborts parsing; parse recovers it into an *Error.
type parseError struct{ err error }

func (p *parser) fail(line, col int, format string, args ...any) {
	panic(parseError{&Error{Line: line + 1, Column: col + 1, Msg: fmt.Sprintf(format, args...)}})
}

func (p *parser) failAtPeek(format string, args ...any) {
	t := p.peek()
	if t.typ == tokEOF {
		p.fail(p.lex.line, p.lex.col, format, args...)
	}
	p.fail(t.line, t.col, format, args...)
}

func (p *parser) next() token {
	if p.hasPeeked {
		t := p.peeked
		p.peeked, p.hasPeeked = eof, false
		return t
	}
	t, err := p.lex.next()
	if err != nil {
		panic(parseError{err})
	}
	return t
}

func (p *parser) peek() token {
	if !p.hasPeeked {
		p.peeked = p.next()
		p.hasPeeked = true
	}
	return p.peeked
}

func (p *parser) push(t token) {
	if p.hasPeeked {
		// Nunjucks can only put back one token; `a not b` needs two and
		// fails there, so it fails here too.
		p.fail(t.line, t.col, "unexpected %s", t.val)
	}
	p.peeked, p.hasPeeked = t, true
}

// peekRef is peek without copying the token, for the hot skip checks.
func (p *parser) peekRef() *token {
	if !p.hasPeeked {
		p.peeked = p.next()
		p.hasPeeked = true
	}
	return &p.peeked
}

func (p *parser) skip(typ tokenType) bool {
	if t := p.peekRef(); t.typ == tokEOF || t.typ != typ {
		return false
	}
	p.hasPeeked = false
	return true
}

func (p *parser) skipValue(typ tokenType, val string) bool {
	if t := p.peekRef(); t.typ == tokEOF || t.typ != typ || t.val != val {
		return false
	}
	p.hasPeeked = false
	return true
}

func (p *parser) skipSymbol(val string) bool { return p.skipValue(tokSymbol, val) }

func (p *parser) expect(typ tokenType) token {
	t := p.next()
	if t.typ == tokEOF {
		p.fail(p.lex.line, p.lex.col, "expected %s, got end of file", typ)
	}
	if t.typ != typ {
		p.fail(t.line, t.col, "expected %s, got %s", typ, t.typ)
	}
	return t
}

func (p *parser) advanceAfterBlockEnd(name string) token {
	if name == "" {
		t := p.peek()
		if t.typ == tokEOF {
			p.fail(p.lex.line, p.lex.col, "unexpected end of file%s", p.unclosed())
		}
		if t.typ != tokSymbol {
			p.fail(t.line, t.col, "expected a tag name")
		}
		name = p.next().val
	}
	t := p.next()
	if t.typ == tokEOF || t.typ != tokBlockEnd {
		if t.typ == tokEOF {
			p.fail(p.lex.line, p.lex.col, "expected block end in %s statement", name)
		}
		p.fail(t.line, t.col, "expected block end in %s statement", name)
	}
	if t.val[0] == '-' {
		p.dropLeadingWhitespace = true
	}
	return t
}

func (p *parser) advanceAfterVariableEnd() {
	t := p.next()
	if t.typ != tokEOF && t.typ == tokVariableEnd {
		p.dropLeadingWhitespace = strings.HasPrefix(t.val, "-")
		return
	}
	p.push(t)
	p.failAtPeek("expected variable end")
}

func (p *parser) enter() {
	p.depth++
	if p.depth > maxNesting {
		p.failAtPeek("template nests too deeply (more than %d levels)", maxNesting)
	}
}

func (p *parser) leave() { p.depth-- }

// maxNesting bounds the parser's recursion so hostile input cannot exhaust
// the stack.
const maxNesting = 200

func (p *parser) parseFor() node {
	forTok := p.peek()
	// asyncEach and asyncAll render like for when rendering is synchronous.
	endBlock := ""
	switch {
	case p.skipSymbol("for"):
		endBlock = "endfor"
	case p.skipSymbol("asyncEach"):
		endBlock = "endeach"
	case p.skipSymbol("asyncAll"):
		endBlock = "endall"
	default:
		p.fail(forTok.line, forTok.col, "expected for")
	}
	n := &forNode{pos: pos{forTok.line, forTok.col}}
	first := p.parsePrimary(false)
	sym, ok := first.(*symNode)
	if !ok {
		p.failAtPeek("variable name expected for loop")
	}
	n.names = []string{sym.name}
	if t := p.peek(); t.typ != tokEOF && t.typ == tokComma {
		for p.skip(tokComma) {
			prim := p.parsePrimary(false)
			s, ok := prim.(*symNode)
			if !ok {
				l, c := prim.position()
				p.fail(l, c, "variable name expected for loop")
			}
			n.names = append(n.names, s.name)
		}
	}
	if !p.skipSymbol("in") {
		p.fail(forTok.line, forTok.col, `expected "in" keyword for loop`)
	}
	n.arr = p.parseExpression()
	p.advanceAfterBlockEnd(forTok.val)
	n.body = p.parseUntilBlocks(endBlock, "else")
	if p.skipSymbol("else") {
		p.advanceAfterBlockEnd("else")
		n.els = p.parseUntilBlocks(endBlock)
	}
	p.advanceAfterBlockEnd("")
	return n
}

func (p *parser) parseIf() node {
	tag := p.peek()
	if !p.skipSymbol("if") && !p.skipSymbol("elif") && !p.skipSymbol("elseif") && !p.skipSymbol("ifAsync") {
		p.fail(tag.line, tag.col, "expected if, elif, or elseif")
	}
	p.enter()
	defer p.leave()
	n := &ifNode{pos: pos{tag.line, tag.col}}
	n.cond = p.parseExpression()
	p.advanceAfterBlockEnd(tag.val)
	n.body = p.parseUntilBlocks("elif", "elseif", "else", "endif")
	t := p.peek()
	val := ""
	if t.typ != tokEOF {
		val = t.val
	}
	switch val {
	case "elseif", "elif":
		n.els = []node{p.parseIf()}
	case "else":
		p.advanceAfterBlockEnd("")
		n.els = p.parseUntilBlocks("endif")
		p.advanceAfterBlockEnd("")
	case "endif":
		p.advanceAfterBlockEnd("")
	default:
		p.failAtPeek("expected elif, else, or endif, got end of file%s", p.unclosed())
	}
	return n
}

func (p *parser) parseSet() node {
	tag := p.peek()
	if !p.skipSymbol("set") {
		p.fail(tag.line, tag.col, "expected set")
	}
	n := &setNode{pos: pos{tag.line, tag.col}}
	for {
		target := p.parsePrimary(false)
		sym, ok := target.(*symNode)
		if !ok {
			l, c := target.position()
			p.fail(l, c, "set: expected a variable name")
		}
		n.targets = append(n.targets, sym.name)
		if !p.skip(tokComma) {
			break
		}
	}
	if !p.skipValue(tokOperator, "=") {
		if !p.skip(tokBlockEnd) {
			p.fail(tag.line, tag.col, "expected = or block end in set tag")
		}
		n.body = p.parseUntilBlocks("endset")
		p.advanceAfterBlockEnd("")
		return n
	}
	n.value = p.parseExpression()
	p.advanceAfterBlockEnd(tag.val)
	return n
}

func (p *parser) parseSwitch() node {
	tag := p.peek()
	if !p.skipSymbol("switch") && !p.skipSymbol("case") && !p.skipSymbol("default") {
		p.fail(tag.line, tag.col, `expected "switch," "case" or "default"`)
	}
	n := &switchNode{pos: pos{tag.line, tag.col}}
	n.expr = p.parseExpression()
	p.advanceAfterBlockEnd("switch")
	p.parseUntilBlocks("case", "default", "endswitch")
	var t token
	for {
		p.skipSymbol("case")
		cond := p.parseExpression()
		p.advanceAfterBlockEnd("switch")
		body := p.parseUntilBlocks("case", "default", "endswitch")
		n.cases = append(n.cases, switchCase{cond: cond, body: body})
		t = p.peek()
		if t.typ == tokEOF || t.val != "case" {
			break
		}
	}
	val := ""
	if t.typ != tokEOF {
		val = t.val
	}
	switch val {
	case "default":
		p.advanceAfterBlockEnd("")
		n.def = p.parseUntilBlocks("endswitch")
		p.advanceAfterBlockEnd("")
	case "endswitch":
		p.advanceAfterBlockEnd("")
	default:
		p.failAtPeek(`expected "case," "default" or "endswitch," got end of file`)
	}
	return n
}

// parseCall parses `{% call(args) m(…) %}body{% endcall %}`: the body
// becomes a macro passed to m as the keyword argument caller.
func (p *parser) parseCall() node {
	tag := p.peek()
	p.skipSymbol("call")
	caller := &macroNode{pos: pos{tag.line, tag.col}, name: "caller", defaults: map[string]node{}}
	args, kwargs := p.parseSignature(true)
	p.macroParams(caller, args, kwargs)
	call, ok := p.parsePrimary(false).(*callNode)
	if !ok {
		p.fail(tag.line, tag.col, "call: expected a macro call such as {%% call m() %%}")
	}
	p.advanceAfterBlockEnd(tag.val)
	caller.body = p.parseUntilBlocks("endcall")
	p.advanceAfterBlockEnd("")
	call.kwargs = append(call.kwargs, &pairNode{pos: caller.pos, key: &litNode{pos: caller.pos, val: "caller"}, value: &callerNode{pos: caller.pos, macro: caller}})
	return &outputNode{pos: pos{tag.line, tag.col}, expr: call}
}

// macroParams records a macro's parameters: names, then names with
// defaults.
func (p *parser) macroParams(n *macroNode, args []node, kwargs []*pairNode) {
	for _, a := range args {
		s, ok := a.(*symNode)
		if !ok {
			l, c := a.position()
			p.fail(l, c, "macro: parameters must be names")
		}
		n.params = append(n.params, s.name)
	}
	for _, kv := range kwargs {
		lit, _ := kv.key.(*litNode)
		name, ok := "", false
		if lit != nil {
			name, ok = lit.val.(string)
		}
		if !ok {
			l, c := kv.key.position()
			p.fail(l, c, "macro: parameters must be names")
		}
		n.params = append(n.params, name)
		n.defaults[name] = kv.value
	}
}

func (p *parser) parseMacro() node {
	tag := p.peek()
	p.skipSymbol("macro")
	nameNode := p.parsePrimary(true)
	sym, ok := nameNode.(*symNode)
	if !ok {
		p.fail(tag.line, tag.col, "macro: expected a name")
	}
	n := &macroNode{pos: pos{tag.line, tag.col}, name: sym.name, defaults: map[string]node{}}
	args, kwargs := p.parseSignature(false)
	p.macroParams(n, args, kwargs)
	p.advanceAfterBlockEnd(tag.val)
	n.body = p.parseUntilBlocks("endmacro")
	p.advanceAfterBlockEnd("")
	return n
}

// parseBlock parses `{% block name %}…{% endblock %}`. Without extends
// (which templates cannot use here) a block renders in place.
func (p *parser) parseBlock() node {
	tag := p.peek()
	p.skipSymbol("block")
	name := p.parsePrimary(false)
	sym, ok := name.(*symNode)
	if !ok {
		p.fail(tag.line, tag.col, "block: expected a name")
	}
	p.advanceAfterBlockEnd(tag.val)
	body := p.parseUntilBlocks("endblock")
	p.skipSymbol("endblock")
	p.skipSymbol(sym.name)
	t := p.peek()
	if t.typ == tokEOF {
		p.fail(tag.line, tag.col, "expected endblock, got end of file")
	}
	p.advanceAfterBlockEnd(t.val)
	return &blockNode{pos: pos{tag.line, tag.col}, body: body}
}

func (p *parser) parseFilterStatement() node {
	tag := p.peek()
	p.skipSymbol("filter")
	nameTok := p.peek()
	name := p.parseFilterName()
	var args []node
	var kwargs []*pairNode
	if t := p.peek(); t.typ != tokEOF && t.typ == tokLeftParen {
		args, kwargs = p.parseSignature(false)
	}
	p.advanceAfterBlockEnd(tag.val)
	body := &captureNode{pos: pos{nameTok.line, nameTok.col}, body: p.parseUntilBlocks("endfilter")}
	p.advanceAfterBlockEnd("")
	f := &filterNode{pos: pos{nameTok.line, nameTok.col}, name: name, args: append([]node{body}, args...), kwargs: kwargs}
	return &outputNode{pos: pos{nameTok.line, nameTok.col}, expr: f}
}

func (p *parser) parseRaw(tag string) node {
	begun := p.advanceAfterBlockEnd("")
	text := p.lex.extractRaw(tag)
	return &dataNode{pos: pos{begun.line, begun.col}, text: text}
}

func (p *parser) parseStatement() node {
	t := p.peek()
	if t.typ == tokEOF {
		p.fail(p.lex.line, p.lex.col, "tag name expected, got end of file")
	}
	if t.typ != tokSymbol {
		p.fail(t.line, t.col, "tag name expected")
	}
	for _, b := range p.breakOnBlocks {
		if b == t.val {
			return nil
		}
	}
	p.enter()
	defer p.leave()
	p.open = append(p.open, t)
	defer func() { p.open = p.open[:len(p.open)-1] }()
	switch t.val {
	case "raw":
		return p.parseRaw("raw")
	case "verbatim":
		return p.parseRaw("verbatim")
	case "if":
		return p.parseIf()
	case "for":
		return p.parseFor()
	case "set":
		return p.parseSet()
	case "switch":
		return p.parseSwitch()
	case "filter":
		return p.parseFilterStatement()
	case "macro":
		return p.parseMacro()
	case "ifAsync":
		return p.parseIf()
	case "asyncEach", "asyncAll":
		return p.parseFor()
	case "block":
		return p.parseBlock()
	case "call":
		return p.parseCall()
	case "include", "extends", "import", "from":
		p.fail(t.line, t.col, "the %s tag is not supported: templates cannot load other templates", t.val)
	}
	p.fail(t.line, t.col, "unknown block tag: %s", t.val)
	return nil
}

func (p *parser) parsePostfix(n node) node {
	t := p.peek()
	for t.typ != tokEOF {
		switch {
		case t.typ == tokLeftParen:
			null := hasNullName(n)
			args, kwargs := p.parseSignature(false)
			n = &callNode{pos: pos{t.line, t.col}, fn: n, args: args, kwargs: kwargs, name: nodeName(n)}
			if null {
				// Nunjucks names the callee for its error messages with
				// toString(), which fails on a null literal.
				n = &badNode{pos: pos{t.line, t.col}, msg: "cannot call a member of none"}
			}
		case t.typ == tokLeftBracket && p.jinja:
			n = p.parseSubscript(n, t)
		case t.typ == tokLeftBracket:
			agg := p.parseAggregate()
			arr, ok := agg.(*arrayNode)
			if !ok || len(arr.items) > 1 {
				p.fail(t.line, t.col, "invalid index")
			}
			if len(arr.items) == 0 {
				n = &badNode{pos: pos{t.line, t.col}, msg: "invalid index: expected an expression inside []"}
				break
			}
			n = &lookupNode{pos: pos{t.line, t.col}, target: n, key: arr.items[0]}
		case t.typ == tokOperator && t.val == ".":
			p.next()
			v := p.next()
			if v.typ == tokEOF {
				p.fail(t.line, t.col, "expected name as lookup value, got end of file")
			}
			if v.typ != tokSymbol {
				p.fail(v.line, v.col, "expected name as lookup value, got %s", v.val)
			}
			n = &lookupNode{pos: pos{t.line, t.col}, target: n, key: &litNode{pos: pos{v.line, v.col}, val: v.val}}
		default:
			return n
		}
		t = p.peek()
	}
	return n
}

// testArgsNode stands for the arguments of a test given more than one.
// Nunjucks writes them without commas between them: literals run together
// into one number (`divisibleby(2, 3)` tests 23) or an undefined name
// (`none, true` reads nulltrue), anything else is a syntax error.
func testArgsNode(args []node, kwargs []*pairNode, at pos) node {
	var text strings.Builder
	ok := len(kwargs) == 0
	for _, a := range args {
		lit, isLit := a.(*litNode)
		if !isLit {
			ok = false
			break
		}
		switch v := lit.val.(type) {
		case nil, bool:
			text.WriteString(toString(v))
		case float64:
			text.WriteString(formatNumber(v))
		default:
			ok = false
		}
	}
	joined := text.String()
	switch {
	case ok && joined != "" && joined[0] >= '0' && joined[0] <= '9' && isDecimalLiteral(joined):
		f, _ := strconv.ParseFloat(joined, 64)
		return &litNode{pos: at, val: f}
	case ok && joined != "" && (joined[0] < '0' || joined[0] > '9'):
		return &runtimeErrNode{pos: at, msg: joined + " is not defined"}
	}
	return &badNode{pos: at, msg: "a test takes at most one argument"}
}

// hasNullName reports whether describing callee n meets a none literal.
func hasNullName(n node) bool {
	switch x := n.(type) {
	case *callNode:
		return hasNullName(x.fn)
	case *lookupNode:
		return hasNullName(x.target) || hasNullName(x.key)
	case *litNode:
		return x.val == nil
	}
	return false
}

// nodeName describes a callee in "Unable to call" errors.
func nodeName(n node) string {
	switch x := n.(type) {
	case *symNode:
		return x.name
	case *callNode:
		return "the return value of (" + nodeName(x.fn) + ")"
	case *lookupNode:
		return nodeName(x.target) + `["` + nodeName(x.key) + `"]`
	case *litNode:
		return toString(x.val)
	}
	return "--expression--"
}

func (p *parser) parseExpression() node {
	p.enter()
	defer p.leave()
	p.exprDepth++
	n := p.parseInlineIf()
	p.exprDepth--
	if p.exprDepth == 0 {
		// Once per outermost expression: jsify walks the whole tree.
		n = jsify(n)
	}
	return n
}

func (p *parser) parseInlineIf() node {
	n := p.parseOr()
	if p.skipSymbol("if") {
		cond := p.parseOr()
		l, c := n.position()
		in := &inlineIfNode{pos: pos{l, c}, cond: cond, body: n}
		if p.skipSymbol("else") {
			in.els = p.parseOr()
		}
		return in
	}
	return n
}

func (p *parser) parseOr() node {
	n := p.parseAnd()
	for p.skipSymbol("or") {
		l, c := n.position()
		n = &binNode{pos: pos{l, c}, op: "or", left: n, right: p.parseAnd()}
	}
	return n
}

func (p *parser) parseAnd() node {
	n := p.parseNot()
	for p.skipSymbol("and") {
		l, c := n.position()
		n = &binNode{pos: pos{l, c}, op: "and", left: n, right: p.parseNot()}
	}
	return n
}

func (p *parser) parseNot() node {
	t := p.peek()
	if p.skipSymbol("not") {
		p.enter()
		defer p.leave()
		return &unaryNode{pos: pos{t.line, t.col}, op: "not", target: p.parseNot()}
	}
	return p.parseIn()
}

func (p *parser) parseIn() node {
	n := p.parseIs()
	for {
		if pt := p.peekRef(); pt.typ != tokSymbol || (pt.val != "not" && pt.val != "in") {
			break
		}
		t := p.next()
		if t.typ == tokEOF {
			break
		}
		invert := t.typ == tokSymbol && t.val == "not"
		if !invert {
			p.push(t)
		}
		if p.skipSymbol("in") {
			l, c := n.position()
			n = &inNode{pos: pos{l, c}, left: n, right: p.parseIs()}
			if invert {
				n = &unaryNode{pos: pos{l, c}, op: "not", target: n}
			}
			continue
		}
		if invert {
			p.push(t)
		}
		break
	}
	return n
}

func (p *parser) parseIs() node {
	n := p.parseCompare()
	if p.skipSymbol("is") {
		not := p.skipSymbol("not")
		right := p.parseCompare()
		l, c := n.position()
		is := &isNode{pos: pos{l, c}, left: n}
		// The test is named by the right side's name (or literal value);
		// anything without one names the test "undefined", as Nunjucks'
		// compiler reads it.
		is.test = "undefined"
		switch r := right.(type) {
		case *symNode:
			is.test = r.name
		case *callNode:
			if s, ok := r.fn.(*symNode); ok {
				is.test = s.name
			}
			is.args, is.kwargs = r.args, r.kwargs
		case *filterNode:
			is.test, is.args, is.kwargs = r.name, r.args, r.kwargs
		case *litNode:
			is.test = toString(r.val)
		}
		if len(is.args)+min(len(is.kwargs), 1) > 1 {
			is.args, is.kwargs = []node{testArgsNode(is.args, is.kwargs, pos{l, c})}, nil
		}

		n = is
		if not {
			n = &unaryNode{pos: pos{l, c}, op: "not", target: n}
		}
	}
	return n
}

var compareOps = map[string]bool{"==": true, "===": true, "!=": true, "!==": true, "<": true, ">": true, "<=": true, ">=": true}

func (p *parser) parseCompare() node {
	expr := p.parseConcat()
	var ops []compareItem
	var first token
	hasFirst := false
	for {
		if pt := p.peekRef(); pt.typ != tokOperator || !compareOps[pt.val] {
			break
		}
		t := p.next()
		if !hasFirst {
			first, hasFirst = t, true
		}
		ops = append(ops, compareItem{op: t.val, expr: p.parseConcat()})
	}
	if len(ops) == 0 {
		return expr
	}
	return &compareNode{pos: pos{first.line, first.col}, expr: expr, ops: ops}
}

func (p *parser) parseConcat() node {
	n := p.parseBin(0)
	for p.skipValue(tokTilde, "~") {
		l, c := n.position()
		n = &binNode{pos: pos{l, c}, op: "~", left: n, right: p.parseBin(0)}
	}
	return n
}

// binLevels are Nunjucks' arithmetic levels, loosest first; each level's
// operands are parsed at the next level.
var binLevels = []string{"+", "-", "*", "/", "//", "%", "**"}

func (p *parser) parseBin(level int) node {
	if level == len(binLevels) {
		return p.parseUnary(false)
	}
	n := p.parseBin(level + 1)
	for p.skipValue(tokOperator, binLevels[level]) {
		l, c := n.position()
		n = &binNode{pos: pos{l, c}, op: binLevels[level], left: n, right: p.parseBin(level + 1)}
	}
	return n
}

func (p *parser) parseUnary(noFilters bool) node {
	t := p.peek()
	var n node
	switch {
	case p.skipValue(tokOperator, "-"), p.skipValue(tokOperator, "+"):
		p.enter()
		target := p.parseUnary(true)
		p.leave()
		// Nunjucks compiles `- -x` to JavaScript `--x`, a syntax error;
		// reject it the same way.
		n = &unaryNode{pos: pos{t.line, t.col}, op: t.val, target: target}
		if u, ok := target.(*unaryNode); ok && u.op == t.val {
			n = &badNode{pos: pos{t.line, t.col}, msg: fmt.Sprintf("unexpected %s%s: put the operand in parentheses", t.val, t.val)}
		}
	default:
		n = p.parsePrimary(false)
	}
	if !noFilters {
		n = p.parseFilter(n)
	}
	return n
}

func (p *parser) parsePrimary(noPostfix bool) node {
	t := p.next()
	if t.typ == tokEOF {
		p.fail(p.lex.line, p.lex.col, "expected expression, got end of file")
	}
	var n node
	at := pos{t.line, t.col}
	switch t.typ {
	case tokString:
		n = &litNode{pos: at, val: t.val}
	case tokInt:
		f, err := strconv.ParseFloat(t.val, 64)
		if err != nil {
			f = math.Inf(1)
		}
		n = &litNode{pos: at, val: f}
	case tokFloat:
		f, err := strconv.ParseFloat(strings.TrimSuffix(t.val, "."), 64)
		if err != nil {
			f = math.Inf(1)
		}
		n = &litNode{pos: at, val: f}
	case tokBoolean:
		n = &litNode{pos: at, val: t.val == "true"}
	case tokNone:
		n = &litNode{pos: at, val: nil}
	case tokRegex:
		body, flags, _ := strings.Cut(t.val, "\x00")
		re, err := compileJSRegexp(body, flags)
		if err != nil {
			p.fail(t.line, t.col, "invalid regular expression /%s/: %v", body, err)
		}
		n = &litNode{pos: at, val: re}
	case tokSymbol:
		n = &symNode{pos: at, name: t.val}
	default:
		p.push(t)
		n = p.parseAggregate()
		if n == nil {
			p.fail(t.line, t.col, "unexpected token: %s", t.val)
		}
	}
	if !noPostfix {
		n = p.parsePostfix(n)
	}
	return n
}

// compileJSRegexp turns a regex literal into Go's RE2. Most everyday
// patterns mean the same in both; look-around and back-references are not
// available.
func compileJSRegexp(body, flags string) (*jsRegexp, error) {
	prefix := ""
	if strings.Contains(flags, "i") {
		prefix += "i"
	}
	if strings.Contains(flags, "m") {
		prefix += "m"
	}
	src := body
	if prefix != "" {
		src = "(?" + prefix + ")" + body
	}
	re, err := regexp.Compile(src)
	if err != nil {
		return nil, err
	}
	return &jsRegexp{source: body, flags: flags, re: re, global: strings.Contains(flags, "g")}, nil
}

func (p *parser) parseFilterName() string {
	t := p.expect(tokSymbol)
	name := t.val
	for p.skipValue(tokOperator, ".") {
		name += "." + p.expect(tokSymbol).val
	}
	return name
}

func (p *parser) parseFilter(n node) node {
	for p.skip(tokPipe) {
		t := p.peek()
		name := p.parseFilterName()
		f := &filterNode{pos: pos{t.line, t.col}, name: name, args: []node{n}}
		if nt := p.peek(); nt.typ != tokEOF && nt.typ == tokLeftParen {
			args, kwargs := p.parseSignature(false)
			f.args = append(f.args, args...)
			f.kwargs = kwargs
		}
		n = f
	}
	return n
}

func (p *parser) parseAggregate() node {
	t := p.next()
	if t.typ == tokEOF {
		p.fail(p.lex.line, p.lex.col, "expected expression, got end of file")
	}
	p.enter()
	defer p.leave()
	at := pos{t.line, t.col}
	var items []node
	var pairs []*pairNode
	switch t.typ {
	case tokLeftParen, tokLeftBracket, tokLeftCurly:
	default:
		p.push(t)
		return nil
	}
	count := 0
	for {
		nt := p.peek()
		if nt.typ == tokEOF {
			p.fail(t.line, t.col, "expected closing bracket, got end of file")
		}
		if nt.typ == tokRightParen || nt.typ == tokRightBracket || nt.typ == tokRightCurly {
			p.next()
			break
		}
		if count > 0 && !p.skip(tokComma) {
			p.fail(t.line, t.col, "expected comma after expression")
		}
		if t.typ == tokLeftCurly {
			key := p.parsePrimary(false)
			if !p.skip(tokColon) {
				p.fail(t.line, t.col, "expected colon after dict key")
			}
			switch k := key.(type) {
			case *symNode:
				key = &litNode{pos: k.pos, val: k.name}
			case *litNode:
				if _, ok := k.val.(string); !ok {
					p.fail(k.line, k.col, "dict keys must be strings or names")
				}
			default:
				l, c := key.position()
				p.fail(l, c, "dict keys must be strings or names")
			}
			l, c := key.position()
			pairs = append(pairs, &pairNode{pos: pos{l, c}, key: key, value: p.parseExpression()})
		} else {
			items = append(items, p.parseExpression())
		}
		count++
	}
	switch t.typ {
	case tokLeftParen:
		if len(items) == 0 {
			p.fail(t.line, t.col, "expected an expression inside ()")
		}
		return &groupNode{pos: at, items: items}
	case tokLeftBracket:
		return &arrayNode{pos: at, items: items}
	}
	return &dictNode{pos: at, pairs: pairs}
}

// parseSignature parses `(a, b, key=value)`.
func (p *parser) parseSignature(tolerant bool) ([]node, []*pairNode) {
	t := p.peek()
	if t.typ == tokEOF || t.typ != tokLeftParen {
		if tolerant {
			return nil, nil
		}
		p.failAtPeek("expected arguments")
	}
	p.next()
	p.enter()
	defer p.leave()
	var args []node
	var kwargs []*pairNode
	checkComma := false
	for {
		t = p.peek()
		if t.typ == tokEOF {
			p.fail(p.lex.line, p.lex.col, "expected ), got end of file")
		}
		if t.typ == tokRightParen {
			p.next()
			break
		}
		if checkComma && !p.skip(tokComma) {
			p.fail(t.line, t.col, "expected comma after expression")
		}
		arg := p.parseExpression()
		if p.skipValue(tokOperator, "=") {
			switch k := arg.(type) {
			case *symNode:
				arg = &litNode{pos: k.pos, val: k.name}
			case *litNode:
				if _, ok := k.val.(string); !ok {
					p.fail(k.line, k.col, "keyword argument names must be names")
				}
			default:
				l, c := arg.position()
				p.fail(l, c, "keyword argument names must be names")
			}
			l, c := arg.position()
			kwargs = append(kwargs, &pairNode{pos: pos{l, c}, key: arg, value: p.parseExpression()})
		} else {
			args = append(args, arg)
		}
		checkComma = true
	}
	return args, kwargs
}

func (p *parser) parseUntilBlocks(names ...string) []node {
	prev := p.breakOnBlocks
	p.breakOnBlocks = names
	out := p.parseNodes()
	p.breakOnBlocks = prev
	return out
}

func (p *parser) parseNodes() []node {
	var buf []node
	for {
		t := p.next()
		if t.typ == tokEOF {
			break
		}
		switch t.typ {
		case tokData:
			data := t.val
			nt := p.peek()
			if p.dropLeadingWhitespace {
				data = strings.TrimLeftFunc(data, jsSpace)
				p.dropLeadingWhitespace = false
			}
			if nt.typ != tokEOF && ((nt.typ == tokBlockStart && strings.HasSuffix(nt.val, "-")) ||
				(nt.typ == tokVariableStart && strings.HasSuffix(nt.val, "-")) ||
				(nt.typ == tokComment && strings.HasPrefix(nt.val[len(p.lex.tags.commentStart):], "-"))) {
				data = strings.TrimRightFunc(data, jsSpace)
			}
			if data != "" {
				buf = append(buf, &dataNode{pos: pos{t.line, t.col}, text: data})
			}
		case tokBlockStart:
			p.dropLeadingWhitespace = false
			n := p.parseStatement()
			if n == nil {
				return buf
			}
			buf = append(buf, n)
		case tokVariableStart:
			e := p.parseExpression()
			p.dropLeadingWhitespace = false
			p.advanceAfterVariableEnd()
			buf = append(buf, &outputNode{pos: pos{t.line, t.col}, expr: e})
		case tokComment:
			body := strings.TrimSuffix(t.val, p.lex.tags.commentEnd)
			p.dropLeadingWhitespace = strings.HasSuffix(body, "-") && len(body) > len(p.lex.tags.commentStart)
		default:
			p.fail(t.line, t.col, "unexpected token at top-level: %s", t.typ)
		}
	}
	return buf
}

// parse parses a whole template.
func parse(src string, t tags, trimBlocks, lstripBlocks, jinja bool) (nodes []node, err error) {
	p := &parser{lex: newLexer(src, t, trimBlocks, lstripBlocks), jinja: jinja}
	defer func() {
		if r := recover(); r != nil {
			if pe, ok := r.(parseError); ok {
				err = pe.err
				return
			}
			err = &Error{Line: p.lex.line + 1, Column: p.lex.col + 1, Msg: fmt.Sprintf("internal error while parsing: %v", r)}
		}
	}()
	nodes = p.parseNodes()
	// A stray end tag (an `endif` without `if`) makes parseNodes stop early
	// only inside a block; at the top level it is an unknown tag, reported
	// by parseStatement.
	return nodes, nil
}

// sliceNode is a Jinja slice, `value[start:stop:step]`.
type sliceNode struct {
	pos
	target            node
	start, stop, step node
}

// parseSubscript parses `[index]` or, with Jinja compatibility,
// `[start:stop:step]` (each part optional).
func (p *parser) parseSubscript(target node, open token) node {
	p.next()
	var parts [3]node
	isSlice := false
	for i := 0; i <= 3; i++ {
		if p.skip(tokRightBracket) {
			break
		}
		if i == 3 {
			if isSlice {
				p.fail(open.line, open.col, "too many slice components")
			}
			break
		}
		if p.skip(tokColon) {
			isSlice = true
			continue
		}
		parts[i] = p.parseExpression()
		if p.skip(tokColon) {
			isSlice = true
		}
	}
	at := pos{open.line, open.col}
	if !isSlice {
		if parts[0] == nil {
			p.fail(open.line, open.col, "invalid index: expected an expression inside []")
		}
		return &lookupNode{pos: at, target: target, key: parts[0]}
	}
	for i := range parts {
		if parts[i] == nil {
			var v any
			if i == 2 {
				v = 1.0
			}
			parts[i] = &litNode{pos: at, val: v}
		}
	}
	return &sliceNode{pos: at, target: target, start: parts[0], stop: parts[1], step: parts[2]}
}
