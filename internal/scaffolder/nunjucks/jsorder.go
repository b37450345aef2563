package nunjucks

// Nunjucks compiles a template to JavaScript source and writes most
// operators without parentheses: `a ~ b + c` becomes `a + "" + b + c` and
// `not a == b` becomes `!a == b`. JavaScript then re-associates the text by
// its own precedence, so what a template means is what that text means,
// not what Nunjucks' parse tree says. jsify reproduces this: it flattens
// every run of such operators back into the operand/operator sequence
// Nunjucks would emit and re-parses it with JavaScript precedence.

// flatItem is an operand or an operator of a flattened sequence.
type flatItem struct {
	op string // "" for an operand
	n  node
}

// jsOps are the binary operators after flattening, with JavaScript
// precedence (higher binds tighter).
var jsPrecedence = map[string]int{
	"||": 1, "&&": 2,
	"==": 3, "!=": 3, "===": 3, "!==": 3,
	"<": 4, ">": 4, "<=": 4, ">=": 4,
	"+": 5, "-": 5,
	"*": 6, "/": 6, "%": 6,
}

// flatBinOps maps Nunjucks' flat-emitted binary operators to JavaScript's.
var flatBinOps = map[string]string{"or": "||", "and": "&&", "+": "+", "-": "-", "*": "*", "/": "/", "%": "%"}

// isFlat reports whether n is emitted without parentheses around it.
func isFlat(n node) bool {
	switch x := n.(type) {
	case *binNode:
		_, ok := flatBinOps[x.op]
		return ok || x.op == "~"
	case *compareNode:
		return true
	case *unaryNode:
		return x.op == "not"
	}
	return false
}

// flatten appends the emitted sequence of n to items; operands are
// jsified on the way.
func flatten(n node, items []flatItem) []flatItem {
	switch x := n.(type) {
	case *binNode:
		if x.op == "~" {
			items = flatten(x.left, items)
			items = append(items, flatItem{op: "+"}, flatItem{n: &litNode{pos: x.pos, val: ""}}, flatItem{op: "+"})
			return flatten(x.right, items)
		}
		if op, ok := flatBinOps[x.op]; ok {
			items = flatten(x.left, items)
			items = append(items, flatItem{op: op})
			return flatten(x.right, items)
		}
	case *compareNode:
		items = flatten(x.expr, items)
		for _, o := range x.ops {
			items = append(items, flatItem{op: o.op})
			items = flatten(o.expr, items)
		}
		return items
	case *unaryNode:
		if x.op == "not" {
			items = append(items, flatItem{op: "!", n: x})
			return flatten(x.target, items)
		}
	}
	return append(items, flatItem{n: jsifyChildren(n)})
}

// jsify rewrites an expression tree to the meaning JavaScript gives the
// code Nunjucks generates for it.
func jsify(n node) node {
	if n == nil {
		return nil
	}
	if !isFlat(n) {
		return jsifyChildren(n)
	}
	items := flatten(n, nil)
	b := &flatParser{items: items}
	return b.parse(0)
}

// jsifyChildren jsifies the sub-expressions of a node that is itself
// emitted as one operand (a call, a group, a literal, …).
func jsifyChildren(n node) node {
	switch x := n.(type) {
	case *badNode:
		panic(parseError{&Error{Line: x.line + 1, Column: x.col + 1, Msg: x.msg}})
	case *binNode:
		switch x.op {
		case "//":
			// Math.floor(left / right): the inside is flat.
			l, c := x.position()
			inner := jsify(&binNode{pos: pos{l, c}, op: "/", left: x.left, right: x.right})
			return &unaryNode{pos: x.pos, op: "floor", target: inner}
		case "**":
			x.left, x.right = jsify(x.left), jsify(x.right)
		}
	case *unaryNode:
		x.target = jsify(x.target)
	case *groupNode:
		for i := range x.items {
			x.items[i] = jsify(x.items[i])
		}
	case *arrayNode:
		for i := range x.items {
			x.items[i] = jsify(x.items[i])
		}
	case *dictNode:
		for _, p := range x.pairs {
			p.value = jsify(p.value)
		}
	case *lookupNode:
		x.target, x.key = jsify(x.target), jsify(x.key)
	case *sliceNode:
		x.target, x.start, x.stop, x.step = jsify(x.target), jsify(x.start), jsify(x.stop), jsify(x.step)
	case *callNode:
		x.fn = jsify(x.fn)
		for i := range x.args {
			x.args[i] = jsify(x.args[i])
		}
		for _, p := range x.kwargs {
			p.value = jsify(p.value)
		}
	case *filterNode:
		for i := range x.args {
			x.args[i] = jsify(x.args[i])
		}
		for _, p := range x.kwargs {
			p.value = jsify(p.value)
		}
	case *inlineIfNode:
		x.cond, x.body = jsify(x.cond), jsify(x.body)
		if x.els != nil {
			x.els = jsify(x.els)
		}
	case *inNode:
		x.left, x.right = jsify(x.left), jsify(x.right)
	case *isNode:
		x.left = jsify(x.left)
		for i := range x.args {
			x.args[i] = jsify(x.args[i])
		}
		for _, p := range x.kwargs {
			p.value = jsify(p.value)
		}
	}
	return n
}

// flatParser re-parses a flattened sequence by precedence climbing.
type flatParser struct {
	items []flatItem
	i     int
}

func (b *flatParser) operand() node {
	it := b.items[b.i]
	b.i++
	if it.op == "!" {
		l, c := it.n.position()
		return &unaryNode{pos: pos{l, c}, op: "not", target: b.operand()}
	}
	return it.n
}

func (b *flatParser) parse(minPrec int) node {
	left := b.operand()
	for b.i < len(b.items) {
		op := b.items[b.i].op
		prec := jsPrecedence[op]
		if prec < minPrec || prec == 0 {
			break
		}
		b.i++
		right := b.parse(prec + 1)
		l, c := left.position()
		left = &binNode{pos: pos{l, c}, op: op, left: left, right: right}
	}
	return left
}
