package expr

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/itchyny/gojq"
)

// Names of the variables every expression can use.
const (
	varConst    = "CONST"
	varSecret   = "SECRET"
	varSecrets  = "SECRETS"
	varWorkflow = "WORKFLOW"
)

// maxSourceLen bounds the text compiled, so a huge or deeply nested input
// cannot make the compiler recurse without limit.
const maxSourceLen = 64 << 10

// maxFnDepth bounds chains of fn: references (fn:a whose operation is fn:b
// ...), so a cycle is reported instead of recursing forever.
const maxFnDepth = 32

// Trim removes the optional expression wrapper: surrounding white space and
// a leading "${" with its closing "}" (or the legacy "{{" and "}}"), as
// SonataFlow does. A missing closing brace is tolerated.
func Trim(src string) string {
	s := strings.TrimSpace(src)
	switch {
	case strings.HasPrefix(s, "${"):
		s = strings.TrimSuffix(s[2:], "}")
	case strings.HasPrefix(s, "{{"):
		s = strings.TrimSuffix(s[2:], "}}")
	}
	return strings.TrimSpace(s)
}

// program is the compiled, immutable form of one expression, shared by
// every Expression and every goroutine that uses it.
type program struct {
	code *gojq.Code
	// path is set instead of code for a JSONPath expression.
	path *jpath
	// vars lists the variable names (without "$") in the order gojq
	// expects their values.
	vars []string
	// used marks the variables the text refers to; the others are bound
	// to null without building their value.
	used []bool
}

// prepare turns expression text into the jq program to compile: wrapper
// removed, fn: references replaced by the expression functions they name,
// and string-interpolation fallback applied. It returns the parsed query and
// the jq text it came from.
func prepare(src string, fns map[string]string) (*gojq.Query, string, error) {
	if len(src) > maxSourceLen {
		return nil, "", fmt.Errorf("expression longer than %d bytes", maxSourceLen)
	}
	text, err := resolveFn(src, fns)
	if err != nil {
		return nil, "", err
	}
	defs, body, err := inlineFunctions(text, fns)
	if err != nil {
		return nil, "", err
	}
	q, err := gojq.Parse(defs + body)
	if err == nil {
		return q, defs + body, nil
	}
	// SonataFlow retries text that is not valid jq as the body of a jq
	// string, and keeps it if that string interpolates something:
	// `Hello \(.name)!` means "Hello \(.name)!". Text that already starts
	// with a quote is not retried.
	if !strings.HasPrefix(body, `"`) {
		quoted := `"` + body + `"`
		if iq, ierr := gojq.Parse(quoted); ierr == nil && isInterpolation(iq) {
			if defs != "" {
				iq, ierr = gojq.Parse(defs + quoted)
			}
			if ierr == nil {
				return iq, defs + quoted, nil
			}
		}
	}
	return nil, "", describeParseError(err)
}

// resolveFn removes the wrapper and, when the whole expression is
// "fn:name", replaces it by that function's operation (which may itself be
// wrapped or be another fn: reference).
func resolveFn(src string, fns map[string]string) (string, error) {
	text := Trim(src)
	for depth := 0; strings.HasPrefix(text, "fn:"); depth++ {
		name := strings.TrimSpace(text[3:])
		if depth == maxFnDepth {
			return "", fmt.Errorf("fn:%s: expression functions refer to each other in a cycle", name)
		}
		op, ok := fns[name]
		if !ok {
			return "", fmt.Errorf("fn:%s: no expression function with that name", name)
		}
		text = Trim(op)
	}
	if text == "" {
		return "", errors.New("empty expression")
	}
	return text, nil
}

func isInterpolation(q *gojq.Query) bool {
	return q.Term != nil && q.Left == nil && q.Right == nil && len(q.FuncDefs) == 0 &&
		q.Term.Str != nil && len(q.Term.Str.Queries) > 0 && len(q.Term.SuffixList) == 0
}

func describeParseError(err error) error {
	var pe *gojq.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("syntax error at offset %d: %w", pe.Offset, err)
	}
	return err
}

// inlineFunctions replaces each fn:name inside a larger jq program by a call
// of a jq function defined from that expression function's operation, so
// `.items | map(fn:price) | add` works. It returns the definitions to put
// before the program and the rewritten program. Only names of known
// expression functions are replaced, so an object key such as {fn: .x} is
// left alone.
func inlineFunctions(text string, fns map[string]string) (defs, body string, err error) {
	if len(fns) == 0 || !strings.Contains(text, "fn:") {
		return "", text, nil
	}
	var defList []string
	// state: absent = not seen, false = being defined, true = defined.
	state := map[string]bool{}
	var define func(name, from string, depth int) error
	rewrite := func(s, from string, depth int) (string, error) {
		var b strings.Builder
		var rerr error
		scanCode(s, func(code string) {
			b.WriteString(replaceFnRefs(code, fns, func(name string) {
				if rerr == nil {
					rerr = define(name, from, depth+1)
				}
			}))
		}, func(lit string) { b.WriteString(lit) })
		return b.String(), rerr
	}
	define = func(name, from string, depth int) error {
		done, seen := state[name]
		switch {
		case done || seen && name == from: // jq allows a function to call itself
			return nil
		case seen || depth > maxFnDepth:
			return fmt.Errorf("fn:%s: expression functions refer to each other in a cycle", name)
		}
		state[name] = false
		op, err := rewrite(Trim(fns[name]), name, depth)
		if err != nil {
			return err
		}
		state[name] = true
		defList = append(defList, "def "+fnIdent(name)+": "+op+"; ")
		return nil
	}
	body, err = rewrite(text, "", 0)
	if err != nil {
		return "", "", err
	}
	return strings.Join(defList, ""), body, nil
}

func fnIdent(name string) string { return "__fn_" + name }

// replaceFnRefs rewrites fn:name tokens in a piece of jq code that holds no
// string literals or comments.
func replaceFnRefs(code string, fns map[string]string, use func(string)) string {
	var b strings.Builder
	for i := 0; i < len(code); {
		j := strings.Index(code[i:], "fn:")
		if j < 0 {
			b.WriteString(code[i:])
			break
		}
		j += i
		end := j + 3
		for end < len(code) && isIdentByte(code[end]) {
			end++
		}
		name := code[j+3 : end]
		startsToken := j == 0 || !isIdentByte(code[j-1]) && code[j-1] != '$'
		if _, ok := fns[name]; ok && startsToken && name != "" {
			b.WriteString(code[i:j])
			b.WriteString(fnIdent(name))
			use(name)
		} else {
			b.WriteString(code[i:end])
		}
		i = end
	}
	return b.String()
}

func isIdentByte(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// scanCode splits jq text into code and literal parts (string literals and
// comments) and hands each to its callback in order; the code inside a
// string's \( ... ) interpolations is handed to code. It does not validate
// anything (the parser does) and reads the text once, however deeply
// strings and interpolations nest.
func scanCode(s string, code, lit func(string)) {
	scanCodeFrom(s, 0, false, code, lit)
}

// scanCodeFrom scans code from s[i]. Inside an interpolation (nested set)
// it stops at the parenthesis that closes it and returns its index;
// otherwise it returns len(s).
func scanCodeFrom(s string, i int, nested bool, code, lit func(string)) int {
	start, depth := i, 0
	for ; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			if depth == 0 && nested {
				code(s[start:i])
				return i
			}
			depth--
		case '"':
			code(s[start:i])
			start = scanString(s, i, code, lit)
			i = start - 1
		case '#':
			code(s[start:i])
			end := strings.IndexByte(s[i:], '\n')
			if end < 0 {
				end = len(s)
			} else {
				end += i
			}
			lit(s[i:end])
			start, i = end, end-1
		}
	}
	code(s[start:])
	return len(s)
}

// scanString scans the string literal starting at s[i] == '"' and returns
// the index just after it.
func scanString(s string, i int, code, lit func(string)) int {
	start := i
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '"':
			lit(s[start : j+1])
			return j + 1
		case '\\':
			if j+1 < len(s) && s[j+1] == '(' {
				lit(s[start : j+2])
				end := scanCodeFrom(s, j+2, true, code, lit)
				start, j = end, end-1
			} else {
				j++
			}
		}
	}
	lit(s[start:])
	return len(s)
}

// variables lists the variables a program declares: the built-in ones, the
// caller's extra names, and every $name the text mentions, so that a
// process variable missing at run time is null rather than a compile error.
func variables(text string, extra []string) (names []string, used []bool) {
	mentioned := map[string]bool{}
	for i := 0; i < len(text); i++ {
		if text[i] != '$' {
			continue
		}
		j := i + 1
		for j < len(text) && isIdentByte(text[j]) {
			j++
		}
		if j > i+1 && !isDigit(text[i+1]) {
			mentioned[text[i+1:j]] = true
		}
		i = j - 1
	}
	// $ENV and $__loc__ belong to jq itself.
	delete(mentioned, "ENV")
	delete(mentioned, "__loc__")
	builtins := []string{varConst, varSecret, varSecrets, varWorkflow}
	var others []string
	for _, n := range extra {
		if n = strings.TrimPrefix(n, "$"); n != "" && n != "ENV" && n != "__loc__" {
			others = append(others, n)
		}
	}
	for n := range mentioned {
		others = append(others, n)
	}
	others = slices.DeleteFunc(others, func(n string) bool { return slices.Contains(builtins, n) })
	slices.Sort(others)
	names = append(builtins, slices.Compact(others)...)
	used = make([]bool, len(names))
	for i, n := range names {
		used[i] = mentioned[n] || n == varSecret && mentioned[varSecrets] || n == varSecrets && mentioned[varSecret]
	}
	return names, used
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
