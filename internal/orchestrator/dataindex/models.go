package dataindex

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/portico-dev/portico/internal/orchestrator"
)

// ProcessInstance is a workflow instance as the Data Index shows it.
type ProcessInstance struct {
	ID                      string                `json:"id"`
	ProcessID               string                `json:"processId"`
	Version                 *string               `json:"version,omitempty"`
	ProcessName             *string               `json:"processName,omitempty"`
	ParentProcessInstanceID *string               `json:"parentProcessInstanceId,omitempty"`
	RootProcessInstanceID   *string               `json:"rootProcessInstanceId,omitempty"`
	RootProcessID           *string               `json:"rootProcessId,omitempty"`
	State                   *ProcessInstanceState `json:"state,omitempty"`
	Endpoint                string                `json:"endpoint"`
	ServiceURL              *string               `json:"serviceUrl,omitempty"`
	Variables               RawJSON               `json:"variables,omitempty"`
	Start                   *time.Time            `json:"start,omitempty"`
	End                     *time.Time            `json:"end,omitempty"`
	Error                   *ProcessInstanceError `json:"error,omitempty"`
	LastUpdate              time.Time             `json:"lastUpdate"`
	BusinessKey             *string               `json:"businessKey,omitempty"`

	// Fields workflows have no use for: always null.
	Roles            []string     `json:"roles,omitempty"`
	Milestones       []*Milestone `json:"milestones,omitempty"`
	Addons           []string     `json:"addons,omitempty"`
	Diagram          *string      `json:"diagram,omitempty"`
	Identity         *string      `json:"identity,omitempty"`
	CreatedBy        *string      `json:"createdBy,omitempty"`
	UpdatedBy        *string      `json:"updatedBy,omitempty"`
	SLADueDate       *time.Time   `json:"slaDueDate,omitempty"`
	CloudEventID     *string      `json:"cloudEventId,omitempty"`
	CloudEventSource *string      `json:"cloudEventSource,omitempty"`

	// The nested fields, filled by Service.load for a whole page at once
	// when the query selects them (one query per field, not per
	// instance); gqlgen then reads them like any other field.
	Nodes                 []*NodeInstance    `json:"nodes,omitempty"`
	ExecutionSummary      []*string          `json:"executionSummary,omitempty"`
	Timers                []*TimerInstance   `json:"timers,omitempty"`
	ParentProcessInstance *ProcessInstance   `json:"parentProcessInstance,omitempty"`
	ChildProcessInstances []*ProcessInstance `json:"childProcessInstances,omitempty"`
	Definition            *ProcessDefinition `json:"definition,omitempty"`
	NodeDefinitions       []*Node            `json:"nodeDefinitions,omitempty"`
	Source                *string            `json:"source,omitempty"`

	// hash is the definition version the instance runs.
	hash string
	// What load has filled in already.
	nodesLoaded, timersLoaded, parentLoaded, childrenLoaded bool
}

// ProcessDefinition is a deployed workflow.
type ProcessDefinition struct {
	ID          string   `json:"id"`
	Name        *string  `json:"name,omitempty"`
	Version     *string  `json:"version,omitempty"`
	Nodes       []*Node  `json:"nodes,omitempty"`
	Source      *string  `json:"source,omitempty"`
	Addons      []string `json:"addons,omitempty"`
	Roles       []string `json:"roles,omitempty"`
	Type        *string  `json:"type,omitempty"`
	Endpoint    *string  `json:"endpoint,omitempty"`
	ServiceURL  *string  `json:"serviceUrl,omitempty"`
	Description *string  `json:"description,omitempty"`
	Annotations []*string
	Metadata    RawJSON `json:"metadata,omitempty"`

	// metadata is Metadata decoded, for filters.
	metadata map[string]any
	wf       *orchestrator.Workflow
}

// NodeInstance is one visit of a node.
type NodeInstance struct {
	ID           string      `json:"id"`
	Name         string      `json:"name"`
	Type         string      `json:"type"`
	Enter        time.Time   `json:"enter"`
	Exit         *time.Time  `json:"exit,omitempty"`
	DefinitionID string      `json:"definitionId"`
	NodeID       string      `json:"nodeId"`
	SLADueDate   *time.Time  `json:"slaDueDate,omitempty"`
	Retrigger    *bool       `json:"retrigger,omitempty"`
	ErrorMessage *string     `json:"errorMessage,omitempty"`
	CancelType   *CancelType `json:"cancelType,omitempty"`
	InputArgs    RawJSON     `json:"inputArgs,omitempty"`
	OutputArgs   RawJSON     `json:"outputArgs,omitempty"`
}

// Job is a pending timer of an instance.
type Job struct {
	ID                    string     `json:"id"`
	ProcessID             *string    `json:"processId,omitempty"`
	ProcessInstanceID     *string    `json:"processInstanceId,omitempty"`
	NodeInstanceID        *string    `json:"nodeInstanceId,omitempty"`
	RootProcessInstanceID *string    `json:"rootProcessInstanceId,omitempty"`
	RootProcessID         *string    `json:"rootProcessId,omitempty"`
	Status                JobStatus  `json:"status"`
	ExpirationTime        *time.Time `json:"expirationTime,omitempty"`
	Priority              *int       `json:"priority,omitempty"`
	CallbackEndpoint      *string    `json:"callbackEndpoint,omitempty"`
	RepeatInterval        *int       `json:"repeatInterval,omitempty"`
	RepeatLimit           *int       `json:"repeatLimit,omitempty"`
	ScheduledID           *string    `json:"scheduledId,omitempty"`
	Retries               *int       `json:"retries,omitempty"`
	LastUpdate            *time.Time `json:"lastUpdate,omitempty"`
	ExecutionCounter      *int       `json:"executionCounter,omitempty"`
	Endpoint              *string    `json:"endpoint,omitempty"`
	ExceptionMessage      *string    `json:"exceptionMessage,omitempty"`
	ExceptionDetails      *string    `json:"exceptionDetails,omitempty"`
}

// MarshalDateTime writes a DateTime: RFC 3339 in UTC with milliseconds,
// as the Data Index does.
func MarshalDateTime(t time.Time) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		_, _ = io.WriteString(w, strconv.Quote(t.UTC().Format("2006-01-02T15:04:05.000Z07:00")))
	})
}

// dateLayouts are the DateTime forms accepted on input.
var dateLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"}

// UnmarshalDateTime reads a DateTime: RFC 3339, a local date-time taken as
// UTC, or a bare date (its midnight UTC).
func UnmarshalDateTime(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, userErrorf("a DateTime must be a string such as \"2024-05-01T10:00:00Z\", got %T", v)
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, userErrorf("%q is not a DateTime: use RFC 3339, such as \"2024-05-01T10:00:00Z\"", s)
}

// MarshalJSON writes a JSON scalar given as a Go value.
func MarshalJSON(v any) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		b, err := json.Marshal(v)
		if err != nil {
			_, _ = io.WriteString(w, "null")
			return
		}
		_, _ = w.Write(b)
	})
}

// UnmarshalJSON reads a JSON scalar: any value, object literals included
// (enum-like bare words in a literal arrive as strings).
func UnmarshalJSON(v any) (any, error) { return v, nil }

// RawJSON is a JSON scalar kept as encoded text, so that stored variables
// are written out without being decoded and encoded again.
type RawJSON []byte

// MarshalGQL writes the text as is (null when empty).
func (r RawJSON) MarshalGQL(w io.Writer) {
	if len(r) == 0 {
		_, _ = io.WriteString(w, "null")
		return
	}
	_, _ = w.Write(r)
}

// UnmarshalGQL encodes an input value.
func (r *RawJSON) UnmarshalGQL(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("not a JSON value: %w", err)
	}
	*r = b
	return nil
}

// MarshalJSON lets a RawJSON sit in encoding/json output too.
func (r RawJSON) MarshalJSON() ([]byte, error) {
	if len(r) == 0 {
		return []byte("null"), nil
	}
	return r, nil
}
