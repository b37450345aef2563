// Package function executes the functions of Serverless Workflow actions
// for the engine: OpenAPI ("rest") operations, SonataFlow's custom
// "rest:<method>:<url>" and "sysout" functions, and "expression"
// functions. Other function types are refused with ErrNotSupported.
//
// Outbound HTTP calls have a timeout, honour the caller's context and read
// at most MaxResponseBytes of a response. A non-2xx response is an
// *HTTPError whose StatusCode the engine matches against onErrors codes.
package function

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/portico-dev/portico/internal/workflow"
	"github.com/portico-dev/portico/internal/workflow/engine"
	"github.com/portico-dev/portico/internal/workflow/expr"
)

// ErrNotSupported is wrapped by the error for function types Portico does
// not run yet.
var ErrNotSupported = errors.New("not supported yet")

// Invoker implements engine.FunctionInvoker. Its zero value works; fields
// must not change once it is in use.
type Invoker struct {
	// Client sends HTTP requests; nil means a client with Timeout.
	Client *http.Client
	// Timeout bounds one HTTP call (default 30s).
	Timeout time.Duration
	// MaxResponseBytes bounds a response body (default 10 MiB).
	MaxResponseBytes int64
	// Logger receives sysout messages; nil uses the call's logger.
	Logger *slog.Logger

	once   sync.Once
	client *http.Client
	specs  sync.Map // spec cache key -> *openAPISpec
	tokens tokenCache
}

const (
	defaultTimeout     = 30 * time.Second
	defaultMaxResponse = 10 << 20
)

func (inv *Invoker) httpClient() *http.Client {
	inv.once.Do(func() {
		inv.client = inv.Client
		if inv.client == nil {
			t := inv.Timeout
			if t <= 0 {
				t = defaultTimeout
			}
			inv.client = &http.Client{Timeout: t}
		}
	})
	return inv.client
}

func (inv *Invoker) maxResponse() int64 {
	if inv.MaxResponseBytes > 0 {
		return inv.MaxResponseBytes
	}
	return defaultMaxResponse
}

// Invoke runs call.Function.
func (inv *Invoker) Invoke(ctx context.Context, call *engine.Call) (any, error) {
	fn := call.Function
	switch fn.Type {
	case workflow.FunctionExpression:
		return expression(ctx, call)
	case workflow.FunctionREST:
		return inv.openAPI(ctx, call)
	case workflow.FunctionCustom:
		kind, rest, _ := strings.Cut(fn.Operation, ":")
		switch strings.ToLower(kind) {
		case "sysout":
			return nil, inv.sysout(ctx, call, rest)
		case "rest":
			return inv.customREST(ctx, call, rest)
		}
		return nil, fmt.Errorf("function %q: custom type %q is %w", fn.Name, kind, ErrNotSupported)
	}
	return nil, fmt.Errorf("function %q: type %q is %w", fn.Name, fn.Type, ErrNotSupported)
}

// expression evaluates an expression function: against its arguments when
// the functionRef has any, else against the data the action sees.
func expression(ctx context.Context, call *engine.Call) (any, error) {
	input := call.Input
	if m, ok := call.Arguments.(map[string]any); ok && len(m) > 0 {
		input = m
	}
	ev := call.Evaluator
	if ev == nil {
		ev = &expr.Evaluator{}
	}
	return ev.Eval(ctx, call.Function.Operation, input, call.Vars)
}

// sysout logs the "message" argument at the level the operation names
// (sysout:DEBUG...); INFO by default.
func (inv *Invoker) sysout(ctx context.Context, call *engine.Call, level string) error {
	var msg any
	if m, ok := call.Arguments.(map[string]any); ok {
		msg = m["message"]
	} else {
		msg = call.Arguments
	}
	lv := slog.LevelInfo
	switch strings.ToUpper(level) {
	case "TRACE", "DEBUG":
		lv = slog.LevelDebug
	case "WARN", "WARNING":
		lv = slog.LevelWarn
	case "ERROR":
		lv = slog.LevelError
	}
	log := inv.Logger
	if log == nil {
		log = call.Logger
	}
	if log == nil {
		return nil
	}
	log.Log(ctx, lv, expr.Text(msg), "workflow", call.Workflow.ID, "instance", call.InstanceID, "state", call.State)
	return nil
}

// HTTPError is a non-2xx response.
type HTTPError struct {
	Method string
	URL    string
	Status int
	Body   string
}

func (e *HTTPError) Error() string {
	body := e.Body
	if len(body) > 200 {
		body = body[:200] + "..."
	}
	if body != "" {
		return fmt.Sprintf("%s %s: HTTP %d: %s", e.Method, e.URL, e.Status, body)
	}
	return fmt.Sprintf("%s %s: HTTP %d", e.Method, e.URL, e.Status)
}

// StatusCode returns the HTTP status, which onErrors codes match.
func (e *HTTPError) StatusCode() int { return e.Status }
