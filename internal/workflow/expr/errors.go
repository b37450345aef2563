package expr

import (
	"errors"
	"fmt"
)

// Kind says at which step an expression failed.
type Kind int

const (
	// KindCompile means the text is not a valid expression: it can never run.
	KindCompile Kind = iota + 1
	// KindRuntime means the expression failed while running: a jq error,
	// a cancelled context or a timeout (test with errors.Is and
	// context.DeadlineExceeded), or no output where one was needed.
	KindRuntime
	// KindInput means a value handed to the expression is not JSON-shaped
	// and could not be converted.
	KindInput
)

func (k Kind) String() string {
	switch k {
	case KindCompile:
		return "compile"
	case KindRuntime:
		return "runtime"
	case KindInput:
		return "input"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Error is the error type of every function in this package that compiles
// or runs an expression. The caller adds where the expression lives (state,
// action); Error says which expression failed and why.
type Error struct {
	Expr string // the expression text as written in the workflow
	Kind Kind
	Err  error
}

func (e *Error) Error() string {
	return fmt.Sprintf("jq expression %q: %s error: %v", e.Expr, e.Kind, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// ErrNoOutput is the cause of a runtime error from an evaluation that needs
// a value when the expression produced none (for example `empty`).
var ErrNoOutput = errors.New("expression produced no output")

// IsCompileError reports whether err is, or wraps, an *Error of KindCompile.
func IsCompileError(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == KindCompile
}

func compileError(src string, err error) *Error {
	return &Error{Expr: src, Kind: KindCompile, Err: err}
}

func runtimeError(src string, err error) *Error {
	return &Error{Expr: src, Kind: KindRuntime, Err: err}
}

func inputError(src string, err error) *Error {
	return &Error{Expr: src, Kind: KindInput, Err: err}
}
