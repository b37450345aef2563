package nunjucks_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
)

// randomCorpus generates n templates from a small grammar of Nunjucks
// expressions, statements and whitespace control, for the differential
// test against the npm package. Values avoid what JavaScript and Go
// compute differently on purpose (non-integer powers: V8's Math.pow is
// not Go's math.Pow) or cannot be compared as text (lone surrogates).
func randomCorpus(seed uint64, n int) corpus {
	g := &grammar{r: rand.New(rand.NewPCG(seed, seed*7919))}
	var c corpus
	if err := json.Unmarshal([]byte(randomData), &c.Data); err != nil {
		panic(err)
	}
	for i := range n {
		tc := struct {
			Name     string          `json:"name"`
			Template string          `json:"template"`
			Data     json.RawMessage `json:"data,omitempty"`
			Options  struct {
				TrimBlocks   bool `json:"trimBlocks"`
				LstripBlocks bool `json:"lstripBlocks"`
				Cookiecutter bool `json:"cookiecutter"`
			} `json:"options"`
		}{Name: fmt.Sprintf("random-%d-%d", seed, i)}
		switch k := g.r.Float64(); {
		case k < 0.55:
			tc.Template = "${{ " + g.expr(0) + " }}"
		case k < 0.65:
			tc.Template = "{% if " + g.expr(0) + " %}Y{% elif " + g.expr(0) + " %}E{% else %}N{% endif %}"
		case k < 0.75:
			tc.Template = "{% for x in " + g.expr(0) + " %}[${{ x }}:${{ loop.index }}]{% else %}empty{% endfor %}"
		case k < 0.78:
			tc.Template = "{% set v = " + g.expr(0) + " %}{% for x in arr %}{% set v = " + g.expr(0) + " %}{% endfor %}${{ v }}|" +
				"{% macro m(p, q=2) %}${{ p }}${{ q }}${{ v }}{% endmacro %}${{ m(" + g.expr(0) + ") }}"
		case k < 0.8:
			tc.Template = "{% macro w(a) %}{% for i in [a, 2] %}<${{ caller(i) }}>{% endfor %}{% endmacro %}{% for x in sarr %}" +
				"{% call(y) w(" + g.expr(0) + ") %}${{ x }}${{ y }}${{ " + g.expr(0) + " }}{% endcall %}{% endfor %}"
		default:
			tc.Template = g.block(0)
			tc.Options.TrimBlocks = g.r.IntN(2) == 0
			tc.Options.LstripBlocks = g.r.IntN(2) == 0
		}
		if g.r.Float64() < 0.1 {
			tc.Template = strings.ReplaceAll(tc.Template, "${{", "{{")
			tc.Options.Cookiecutter = true
		}
		c.Cases = append(c.Cases, tc)
	}
	return c
}

const randomData = `{"n": 3, "f": 2.5, "neg": -4, "z": 0, "s": "abc", "e": "", "num": "10", "t": true, "fl": false, "nul": null,
	"arr": [3, 1, 2], "sarr": ["b", "A", "c"], "mix": [1, "x", null, true], "ea": [], "obj": {"a": 1, "b": "two"}, "eo": {},
	"objs": [{"k": "x", "v": 2}, {"k": "y", "v": 1}, {"k": "x", "v": 3}], "u": "héllo ✓"}`

type grammar struct{ r *rand.Rand }

func (g *grammar) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }

var (
	randAtoms = []string{"0", "1", "2", "10", "2.5", "-1", "'a'", "''", "'10'", "'abc'", "'A b'", "true", "false", "none",
		"n", "f", "neg", "z", "s", "e", "num", "t", "fl", "nul", "missing", "arr", "sarr", "mix", "ea", "obj", "eo", "objs",
		"u", "[1, 'a']", "[]", "{a: 1}", "{}", "{'2': 1, b: 2}", "range(3)"}
	randOps     = []string{"+", "-", "*", "/", "%", "//", "~", "==", "!=", "===", "!==", "<", ">", "<=", ">=", "and", "or", "in"}
	randFilters = []string{"upper", "lower", "length", "first", "last", "join(',')", "join", "default('d')", "default('d', true)",
		"dump", "int", "float", "abs", "round", "round(1)", "string", "reverse", "sort", "sort(true)", "trim", "capitalize",
		"title", "replace('a', 'b')", "truncate(3)", "list", "sum", "batch(2)", "wordcount", "escape", "safe", "urlencode",
		"center(5)", "indent(2)", "select('odd')", "reject", "dictsort", "groupby('k')", "selectattr('v')", "join('-', 'k')",
		"slice(2)", "first | upper", "striptags", "nl2br", "urlize", "forceescape", "list | join('|')"}
	randMembers = []string{".length", "[0]", "[1]", ".a", ".b", ".k", "['a']", ".toUpperCase()", ".split('b')", ".slice(1)",
		".indexOf('b')", ".join('+')", ".includes('a')", ".startsWith('a')", ".trim()", ".replace('a', 'z')", ".concat('!')",
		".substring(2, 1)", ".substr(-2, 1)", ".lastIndexOf('l')", ".charAt(1)", ".padStart(6, '*')", ".padEnd(2)", ".repeat(2)",
		".at(-1)", ".match(r/[a-z]/g)", ".split(r/[ab]/)", ".replace(r/([a-z])/g, '<$1>')", ".slice(-2)", ".endsWith('c')",
		".toLowerCase()", ".toString()", ".toFixed(1)", ".lastIndexOf(1)", ".concat([9])", ".trimEnd()", "['length']"}
	randTests = []string{"defined", "undefined", "odd", "even", "number", "string", "none", "divisibleby(2)", "truthy",
		"escaped", "mapping", "iterable"}
	randTexts = []string{"a", " ", "\n", "  \n", "\t", "x y", "\r\n", "\n\n", "  ", " b \n  ", "é"}
)

func (g *grammar) expr(d int) string {
	r := g.r.Float64()
	switch {
	case d > 3 || r < 0.3:
		a := g.pick(randAtoms)
		if g.r.Float64() < 0.25 {
			a += g.pick(randMembers)
		}
		return a
	case r < 0.6:
		return g.expr(d+1) + " " + g.pick(randOps) + " " + g.expr(d+1)
	case r < 0.68:
		return g.pick([]string{"not ", "-", "+"}) + g.pick(randAtoms)
	case r < 0.84:
		return g.expr(d+1) + " | " + g.pick(randFilters)
	case r < 0.9:
		return "(" + g.expr(d+1) + ")"
	case r < 0.95:
		s := g.expr(d+1) + " if " + g.expr(d+1)
		if g.r.IntN(3) > 0 {
			s += " else " + g.expr(d+1)
		}
		return s
	}
	return g.expr(d+1) + " is " + g.pick(randTests)
}

func (g *grammar) dash() string { return g.pick([]string{"", "-"}) }

func (g *grammar) text() string {
	var b strings.Builder
	for range g.r.IntN(4) {
		b.WriteString(g.pick(randTexts))
	}
	return b.String()
}

// block is a template of text, tags and whitespace control.
func (g *grammar) block(d int) string {
	var b strings.Builder
	for range 1 + g.r.IntN(4) {
		b.WriteString(g.text())
		switch r := g.r.Float64(); {
		case r < 0.25:
			b.WriteString("${{" + g.dash() + " " + g.pick([]string{"n", "s", "missing", "arr", "'q'"}) + " " + g.dash() + "}}")
		case r < 0.45 && d < 3:
			b.WriteString("{%" + g.dash() + " if " + g.pick([]string{"t", "fl", "n > 2"}) + " " + g.dash() + "%}" + g.block(d+1))
			if g.r.IntN(2) == 0 {
				b.WriteString("{%" + g.dash() + " else " + g.dash() + "%}" + g.block(d+1))
			}
			b.WriteString("{%" + g.dash() + " endif " + g.dash() + "%}")
		case r < 0.6 && d < 3:
			b.WriteString("{%" + g.dash() + " for x in arr " + g.dash() + "%}" + g.block(d+1) + "${{ x }}{%" + g.dash() + " endfor " + g.dash() + "%}")
		case r < 0.7:
			b.WriteString("{#" + g.dash() + " c " + g.dash() + "#}")
		case r < 0.78:
			b.WriteString("{%" + g.dash() + " set v = " + g.pick([]string{"1", "'s'"}) + " " + g.dash() + "%}")
		case r < 0.84:
			b.WriteString("{% raw %}" + g.text() + "${{ n }}" + g.text() + "{% endraw %}")
		case r < 0.9 && d < 3:
			b.WriteString("{%" + g.dash() + " set cap " + g.dash() + "%}" + g.block(d+1) + "{%" + g.dash() + " endset " + g.dash() + "%}${{ cap }}")
		}
	}
	b.WriteString(g.text())
	return b.String()
}
