package engine

import (
	"context"
	"log/slog"
	"time"

	"github.com/portico-dev/portico/internal/workflow"
	"github.com/portico-dev/portico/internal/workflow/expr"
)

// FunctionInvoker executes the function an action refers to. The engine
// evaluates the arguments first; the invoker does the I/O. An error that
// implements StatusCode() int (an HTTP failure) is matched by onErrors
// codes such as "404".
type FunctionInvoker interface {
	Invoke(ctx context.Context, call *Call) (any, error)
}

// Call is one function invocation.
type Call struct {
	Workflow *workflow.Workflow
	Function *workflow.Function
	// Arguments are the functionRef's arguments, evaluated against Input;
	// nil when the functionRef has none.
	Arguments any
	// Input is the state data the action sees (after fromStateData).
	Input any
	// Vars are the expression variables of the instance at this point.
	Vars      expr.Vars
	Evaluator *expr.Evaluator
	// Properties are the workflow's configuration properties
	// (application.properties style).
	Properties map[string]string
	InstanceID string
	State      string
	Action     string
	Logger     *slog.Logger
}

// Response is what a FunctionInvoker may return instead of a plain value
// when the call has response headers: the engine merges Body and exposes
// the headers of the last call as $WORKFLOW.responseHeaders, as SonataFlow
// does for REST functions.
type Response struct {
	Body    any
	Headers map[string]string
}

// WaitKind says what an instance waits for.
type WaitKind string

// Wait kinds.
const (
	WaitTimer   WaitKind = "timer"
	WaitEvent   WaitKind = "event"
	WaitSubFlow WaitKind = "subflow"
)

// Wait is something an instance waits for. The host resolves it by calling
// Instance.Deliver with a Signal naming its ID: a timer when At has come, an
// event that matches one of Events, or the end of the sub-flow.
type Wait struct {
	ID    string    `json:"id"`
	Kind  WaitKind  `json:"kind"`
	State string    `json:"state,omitempty"`
	Step  int       `json:"step,omitempty"`
	At    time.Time `json:"at,omitzero"` // timers
	// Reason says why a timer exists: sleep, actionSleep, retry,
	// eventTimeout, stateExecTimeout, branchExecTimeout,
	// actionExecTimeout, workflowExecTimeout.
	Reason  string          `json:"reason,omitempty"`
	Events  []EventMatch    `json:"events,omitempty"`
	SubFlow *SubFlowRequest `json:"subFlow,omitempty"`
}

// EventMatch describes an event a wait accepts. Correlation maps context
// attribute names to required values; an empty value accepts any value
// (and, for the first such event, binds the instance to it).
type EventMatch struct {
	Name        string            `json:"name"`
	Type        string            `json:"type"`
	Source      string            `json:"source,omitempty"`
	Correlation map[string]string `json:"correlation,omitempty"`
	// MatchSource is set when another event definition of the workflow has
	// the same type: the source then tells them apart. Otherwise, as in
	// SonataFlow, the type alone selects the event.
	MatchSource bool `json:"matchSource,omitempty"`
}

// Matches reports whether ev is accepted.
func (m EventMatch) Matches(ev *Event) bool {
	if ev == nil || ev.Type != m.Type || m.MatchSource && ev.Source != m.Source {
		return false
	}
	for k, want := range m.Correlation {
		got, ok := ev.Extensions[k]
		if !ok {
			return false
		}
		if want != "" && expr.Text(got) != want {
			return false
		}
	}
	return true
}

// Signal resolves a Wait.
type Signal struct {
	WaitID string `json:"waitId"`
	// Event is the event received, for event waits.
	Event *Event `json:"event,omitempty"`
	// Result is a sub-flow's output data; Error is set when it failed.
	Result any        `json:"result,omitempty"`
	Error  *ErrorInfo `json:"error,omitempty"`
}

// Event is a CloudEvent as the engine sees it.
type Event struct {
	ID              string         `json:"id"`
	Source          string         `json:"source"`
	Type            string         `json:"type"`
	Subject         string         `json:"subject,omitempty"`
	Time            time.Time      `json:"time,omitzero"`
	DataContentType string         `json:"datacontenttype,omitempty"`
	Data            any            `json:"data,omitempty"`
	Extensions      map[string]any `json:"extensions,omitempty"`
}

// object is the whole event as workflows see it when an event definition
// says dataOnly: false.
func (e *Event) object() map[string]any {
	m := map[string]any{"id": e.ID, "source": e.Source, "type": e.Type, "specversion": "1.0", "data": e.Data}
	if e.Subject != "" {
		m["subject"] = e.Subject
	}
	if !e.Time.IsZero() {
		m["time"] = e.Time.UTC().Format(time.RFC3339Nano)
	}
	if e.DataContentType != "" {
		m["datacontenttype"] = e.DataContentType
	}
	for k, v := range e.Extensions {
		m[k] = v
	}
	return m
}

// SubFlowRequest asks the host to run another workflow. InstanceID is
// derived from the parent's id and the action's key, so a host that starts
// it twice (after a crash) can tell.
type SubFlowRequest struct {
	InstanceID string `json:"instanceId"`
	WorkflowID string `json:"workflowId"`
	Version    string `json:"version,omitempty"`
	Input      any    `json:"input"`
	// Variables are process variables the child sees as $name (a foreach
	// iteration parameter, for one).
	Variables        map[string]any `json:"variables,omitempty"`
	ParentID         string         `json:"parentId,omitempty"`
	Async            bool           `json:"async,omitempty"`
	OnParentComplete string         `json:"onParentComplete,omitempty"`
}

// Status is an instance's state, named as the Data Index names it.
type Status string

// Instance statuses.
const (
	StatusActive    Status = "ACTIVE"
	StatusCompleted Status = "COMPLETED"
	StatusAborted   Status = "ABORTED"
	StatusError     Status = "ERROR"
)

// Outcome is where an instance stands after Run or Deliver.
type Outcome struct {
	Status Status
	// Data is the workflow data: the output once completed, the current
	// state's data otherwise.
	Data any
	// Waits are all the waits open now; the host schedules the new ones
	// and drops those no longer listed.
	Waits []Wait
	// Error is set when Status is ERROR.
	Error *Error
	// Produced and SubFlows are the events produced and async sub-flows
	// started by this call (also in the journal).
	Produced []Event
	SubFlows []SubFlowRequest
	// ContinueAs is set when the workflow ended with continueAs.
	ContinueAs *SubFlowRequest
	// State is the current (or last) state.
	State string
}
