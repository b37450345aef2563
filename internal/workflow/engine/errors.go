package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/internal/workflow/expr"
)

// ErrorKind classifies workflow errors. onErrors codes can name a kind
// (case-insensitive), or one of the Java exception names SonataFlow
// workflows use for it (see kindAliases).
type ErrorKind string

// Error kinds.
const (
	KindFunction   ErrorKind = "FunctionError"   // a function call failed
	KindHTTP       ErrorKind = "HTTPError"       // a non-2xx response; Status is set
	KindIO         ErrorKind = "IOError"         // a connection failure
	KindTimeout    ErrorKind = "TimeoutError"    // a timeout expired
	KindExpression ErrorKind = "ExpressionError" // a jq/JSONPath expression failed
	KindValidation ErrorKind = "ValidationError" // data did not match a schema
	KindSubFlow    ErrorKind = "SubFlowError"    // a sub-flow failed
	KindDefinition ErrorKind = "DefinitionError" // the definition cannot run
	KindWorkflow   ErrorKind = "WorkflowError"   // raised by the workflow itself (errorMessage metadata)
)

// Error is a workflow error: what failed, where, and why.
type Error struct {
	Kind    ErrorKind
	State   string
	Action  string
	Message string
	// Status is the HTTP status of a KindHTTP error.
	Status int
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.State != "" {
		fmt.Fprintf(&b, "state %q", e.State)
		if e.Action != "" {
			fmt.Fprintf(&b, ", action %q", e.Action)
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Info returns the error as plain data for the journal.
func (e *Error) Info() *ErrorInfo {
	return &ErrorInfo{Kind: e.Kind, State: e.State, Action: e.Action, Message: e.Message, Status: e.Status}
}

// ErrorInfo is an Error as stored in the journal.
type ErrorInfo struct {
	Kind    ErrorKind `json:"kind"`
	State   string    `json:"state,omitempty"`
	Action  string    `json:"action,omitempty"`
	Message string    `json:"message"`
	Status  int       `json:"status,omitempty"`
}

// Err turns the journal form back into an *Error.
func (i *ErrorInfo) Err() *Error {
	return &Error{Kind: i.Kind, State: i.State, Action: i.Action, Message: i.Message, Status: i.Status}
}

// statusCoder is implemented by errors that carry an HTTP status.
type statusCoder interface{ StatusCode() int }

// classify turns any error into an *Error attributed to state and action.
func classify(err error, state, action string) *Error {
	var we *Error
	if errors.As(err, &we) {
		if we.State == "" {
			c := *we
			c.State, c.Action = state, action
			return &c
		}
		return we
	}
	e := &Error{Kind: KindFunction, State: state, Action: action, Message: err.Error(), Err: err}
	var sc statusCoder
	var ee *expr.Error
	var ne net.Error
	var oe *net.OpError
	switch {
	case errors.As(err, &sc):
		e.Kind, e.Status = KindHTTP, sc.StatusCode()
	case errors.Is(err, context.DeadlineExceeded):
		e.Kind = KindTimeout
	case errors.As(err, &ee):
		e.Kind = KindExpression
	case errors.As(err, &oe), errors.As(err, &ne):
		if ne != nil && ne.Timeout() {
			e.Kind = KindTimeout
		} else {
			e.Kind = KindIO
		}
	}
	return e
}

// kindAliases maps the Java exception names that SonataFlow workflows put
// in error codes to the kinds they cover.
var kindAliases = map[string][]ErrorKind{
	"java.lang.throwable":                               nil, // nil: every kind
	"java.lang.exception":                               nil,
	"java.lang.runtimeexception":                        nil,
	"java.io.ioexception":                               {KindIO, KindHTTP, KindTimeout},
	"java.net.connectexception":                         {KindIO},
	"java.net.unknownhostexception":                     {KindIO},
	"java.net.sockettimeoutexception":                   {KindTimeout},
	"java.util.concurrent.timeoutexception":             {KindTimeout},
	"jakarta.ws.rs.webapplicationexception":             {KindHTTP},
	"javax.ws.rs.webapplicationexception":               {KindHTTP},
	"java.lang.illegalargumentexception":                {KindExpression, KindValidation},
	"java.lang.illegalstateexception":                   {KindWorkflow, KindDefinition},
	"org.kie.kogito.process.workitemexecutionexception": {KindFunction, KindHTTP, KindIO},
}

// matchCode reports whether an onErrors error code catches err, with
// SonataFlow's rules: an exception or error-kind name, the HTTP status
// ("404" or "anything:404"), or a regular expression that partially matches
// the message.
func matchCode(code string, err *Error) bool {
	if code == "" {
		return false
	}
	lc := strings.ToLower(code)
	if kinds, ok := kindAliases[lc]; ok {
		if kinds == nil {
			return true
		}
		for _, k := range kinds {
			if k == err.Kind {
				return true
			}
		}
		return false
	}
	if strings.EqualFold(code, string(err.Kind)) || strings.EqualFold(code+"Error", string(err.Kind)) {
		return true
	}
	if err.Status != 0 {
		last := code[strings.LastIndexByte(code, ':')+1:]
		if n, convErr := strconv.Atoi(strings.TrimSpace(last)); convErr == nil {
			return n == err.Status
		}
	}
	if re, reErr := regexp.Compile(code); reErr == nil {
		return re.MatchString(err.Message)
	}
	return false
}
