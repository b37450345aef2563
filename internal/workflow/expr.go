package workflow

import (
	"strings"

	"github.com/portico-dev/portico/internal/workflow/expr"
)

// isWrappedExpr reports whether s is written as ${ ... }, i.e. surely meant
// as an expression rather than literal text.
func isWrappedExpr(s string) bool {
	t := strings.TrimSpace(s)
	return strings.HasPrefix(t, "${") && strings.HasSuffix(t, "}")
}

// checkExpr reports whether src compiles in the workflow's expression
// language, with its expression functions available as fn:name. The
// expression package compiles it, so validation accepts exactly what the
// runtime will run (including SonataFlow's string-interpolation fallback
// and process variables such as $initiatorEntity, which are only known at
// run time).
func checkExpr(src, lang string, functions map[string]string) error {
	return expr.Check(src, expr.WithLanguage(lang), expr.WithFunctions(functions))
}
