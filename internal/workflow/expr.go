package workflow

import (
	"regexp"
	"strings"

	"github.com/itchyny/gojq"
)

// stripExpr removes the optional ${ } around an expression, or the legacy
// {{ }} that SonataFlow still accepts.
func stripExpr(s string) string {
	t := strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(t, "${") && strings.HasSuffix(t, "}"):
		return strings.TrimSpace(t[2 : len(t)-1])
	case strings.HasPrefix(t, "{{") && strings.HasSuffix(t, "}}"):
		return strings.TrimSpace(t[2 : len(t)-2])
	}
	return t
}

// isWrappedExpr reports whether s is written as ${ ... }, i.e. surely meant
// as an expression rather than literal text.
func isWrappedExpr(s string) bool {
	t := strings.TrimSpace(s)
	return strings.HasPrefix(t, "${") && strings.HasSuffix(t, "}")
}

var jqVariable = regexp.MustCompile(`\$[A-Za-z_][A-Za-z0-9_]*`)

// checkJQ reports whether expr (with or without ${ }) compiles as jq.
// Variables are not checked: SonataFlow exposes process variables such as
// $initiatorEntity that only exist at run time. This is the one place to
// swap in the expression package's own check once it exists.
func checkJQ(expr string) error {
	src := stripExpr(expr)
	err := compileJQ(src)
	if err == nil {
		return nil
	}
	// SonataFlow retries an expression that does not compile as a string
	// interpolation ("Hello \(.name)"); only text with \( is meant that way.
	if strings.Contains(src, `\(`) && compileJQ(`"`+strings.ReplaceAll(src, `"`, `\"`)+`"`) == nil {
		return nil
	}
	return err
}

func compileJQ(src string) error {
	q, err := gojq.Parse(src)
	if err != nil {
		return err
	}
	var vars []string
	seen := map[string]bool{}
	for _, v := range jqVariable.FindAllString(src, -1) {
		if !seen[v] && v != "$__loc__" && v != "$ENV" {
			seen[v] = true
			vars = append(vars, v)
		}
	}
	_, err = gojq.Compile(q, gojq.WithVariables(vars))
	return err
}
