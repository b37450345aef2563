// Package workflow reads and checks CNCF Serverless Workflow 0.8 definitions
// in the dialect SonataFlow runs (.sw.yaml, .sw.json).
//
// Parse turns a file into a Workflow whose string shorthands are already
// expanded into one canonical form, with states, functions, events, errors,
// retries and auth definitions indexed by name, so an interpreter can walk it
// without re-checking shapes. Validate reports what would make a definition
// fail or misbehave at run time, each finding with its file, line and path.
//
// The package does no I/O of its own: files referenced by a definition are
// read through a Loader supplied by the caller.
package workflow

import "encoding/json"

// Workflow is a parsed workflow definition.
type Workflow struct {
	ID             string
	Key            string
	Name           string
	Version        string
	Description    string
	SpecVersion    string
	ExpressionLang string // "jq" when the file does not say
	Annotations    []string
	Metadata       map[string]any

	// DataInputSchema is nil when the workflow does not declare one.
	DataInputSchema *DataSchema
	// OutputSchema comes from SonataFlow's workflow-output-schema extension.
	OutputSchema *DataSchema
	// URIDefinitions comes from SonataFlow's workflow-uri-definitions
	// extension: alias -> URI of an OpenAPI document.
	URIDefinitions map[string]string
	// Extensions holds every extension as written, known or not.
	Extensions []Extension

	// Start is never nil after Parse; see Start.Implicit.
	Start       *Start
	States      []*State
	Functions   []*Function
	Events      []*Event
	Errors      []*ErrorDef
	Retries     []*Retry
	Auth        []*Auth
	Secrets     []string
	Constants   map[string]any
	Timeouts    *Timeouts
	KeepActive  bool
	AutoRetries bool

	// File is the name the workflow was parsed under and Source its text,
	// kept so that the API can return the definition as the author wrote it.
	File   string
	Source []byte

	states    map[string]*State
	functions map[string]*Function
	events    map[string]*Event
	errors    map[string]*ErrorDef
	retries   map[string]*Retry
	auths     map[string]*Auth

	pos      map[string]Position
	warnings []Finding // problems Parse tolerated, reported by Validate
	loader   Loader
}

// State returns the state with the given name, or nil.
func (w *Workflow) State(name string) *State { return w.states[name] }

// Function returns the function definition with the given name, or nil.
func (w *Workflow) Function(name string) *Function { return w.functions[name] }

// Event returns the event definition with the given name, or nil.
func (w *Workflow) Event(name string) *Event { return w.events[name] }

// Error returns the error definition with the given name, or nil.
func (w *Workflow) Error(name string) *ErrorDef { return w.errors[name] }

// Retry returns the retry definition with the given name, or nil.
func (w *Workflow) Retry(name string) *Retry { return w.retries[name] }

// AuthDef returns the auth definition with the given name, or nil.
func (w *Workflow) AuthDef(name string) *Auth { return w.auths[name] }

// Position returns where the element at the given JSON path (for example
// "states[1].transition") was written. When the path itself was not written
// (a default value), the position of its closest written parent is returned.
func (w *Workflow) Position(path string) Position {
	for {
		if p, ok := w.pos[path]; ok {
			return p
		}
		if path == "" {
			return Position{File: w.File}
		}
		path = parentPath(path)
	}
}

// Position is a place in a source file. Line is 1-based; 0 means unknown.
type Position struct {
	File   string
	Line   int
	Column int
}

// DataSchema is a JSON Schema the workflow's input or output must match.
type DataSchema struct {
	// Ref is the schema's location as written, relative to the workflow
	// file; empty when the schema is inline.
	Ref string
	// Document is the schema's JSON text (loaded from Ref, or the inline
	// schema re-encoded), nil when it could not be loaded.
	Document json.RawMessage
	// LoadErr is why Document could not be loaded; Validate reports it.
	LoadErr error
	// FailOnValidationErrors defaults to true.
	FailOnValidationErrors bool
}

// Extension is one entry of the top-level extensions list.
type Extension struct {
	ID  string
	Raw json.RawMessage
}

// Known extension ids.
const (
	ExtensionOutputSchema   = "workflow-output-schema"
	ExtensionURIDefinitions = "workflow-uri-definitions"
)

// Start says which state runs first and, optionally, when instances start.
type Start struct {
	StateName string
	Schedule  *Schedule
	// Implicit is true when the file has no start and StateName was taken
	// from the first state, as the specification prescribes.
	Implicit bool
}

// Schedule creates instances at intervals or on a cron expression.
type Schedule struct {
	Interval string // ISO 8601 repeating interval
	Cron     *Cron
	Timezone string
}

// Cron is a cron-based schedule.
type Cron struct {
	Expression string
	ValidUntil string
}

// StateType is the type of a state.
type StateType string

// The state types of Serverless Workflow 0.8.
const (
	StateEvent     StateType = "event"
	StateOperation StateType = "operation"
	StateSwitch    StateType = "switch"
	StateSleep     StateType = "sleep"
	StateParallel  StateType = "parallel"
	StateInject    StateType = "inject"
	StateForEach   StateType = "foreach"
	StateCallback  StateType = "callback"
)

// Known reports whether t is a state type of the specification.
func (t StateType) Known() bool {
	switch t {
	case StateEvent, StateOperation, StateSwitch, StateSleep, StateParallel, StateInject, StateForEach, StateCallback:
		return true
	}
	return false
}

// State is one workflow state. It carries the fields of every state type;
// only those of its Type are meaningful.
type State struct {
	ID   string
	Name string
	Type StateType

	StateDataFilter     *StateDataFilter
	OnErrors            []*OnError
	Transition          *Transition // nil when the state ends or is a switch
	End                 *End        // nil unless the state ends the workflow
	CompensatedBy       string
	UsedForCompensation bool
	Metadata            map[string]any
	Timeouts            *Timeouts

	// event
	Exclusive bool // defaults to true
	OnEvents  []*OnEvent

	// operation; also onEvents[].actionMode
	ActionMode ActionMode
	Actions    []*Action // operation and foreach

	// switch
	DataConditions   []*DataCondition
	EventConditions  []*EventCondition
	DefaultCondition *DefaultCondition

	// sleep
	Duration string

	// parallel
	Branches       []*Branch
	CompletionType CompletionType
	// NumCompleted is how many branches must complete with atLeast.
	// SonataFlow also accepts a jq expression, kept in NumCompletedExpr.
	NumCompleted     int
	NumCompletedExpr string

	// inject
	Data map[string]any

	// foreach
	InputCollection  string
	OutputCollection string
	IterationParam   string
	BatchSize        int // 0 means the size of the input collection
	Mode             ForEachMode

	// callback
	Action          *Action
	EventRef        string
	EventDataFilter *EventDataFilter
}

// ActionMode says whether a state's actions run one after another.
type ActionMode string

// Action modes.
const (
	ActionSequential ActionMode = "sequential"
	ActionParallel   ActionMode = "parallel"
)

// CompletionType says when a parallel state is done.
type CompletionType string

// Completion types.
const (
	CompletionAllOf   CompletionType = "allOf"
	CompletionAtLeast CompletionType = "atLeast"
)

// ForEachMode says whether foreach iterations run concurrently.
type ForEachMode string

// Foreach modes.
const (
	ForEachParallel   ForEachMode = "parallel"
	ForEachSequential ForEachMode = "sequential"
)

// Invoke says whether the caller waits for a function or sub-flow.
type Invoke string

// Invoke modes.
const (
	InvokeSync  Invoke = "sync"
	InvokeAsync Invoke = "async"
)

// StateDataFilter filters a state's input and output.
type StateDataFilter struct {
	Input  string
	Output string
}

// ActionDataFilter selects what an action sees and what of its result is kept.
type ActionDataFilter struct {
	FromStateData string
	UseResults    bool // defaults to true
	Results       string
	ToStateData   string
}

// EventDataFilter selects what of an event's payload is kept.
type EventDataFilter struct {
	UseData     bool // defaults to true
	Data        string
	ToStateData string
}

// Transition moves to another state.
type Transition struct {
	NextState     string
	Compensate    bool
	ProduceEvents []*ProduceEvent
}

// End ends the workflow (or, with Terminate, every path of it).
type End struct {
	Terminate     bool
	Compensate    bool
	ProduceEvents []*ProduceEvent
	ContinueAs    *ContinueAs
}

// ProduceEvent is an event sent on a transition or at the end.
type ProduceEvent struct {
	EventRef          string
	Data              any // an expression string or an object
	ContextAttributes map[string]any
}

// ContinueAs starts a new execution when the workflow ends.
type ContinueAs struct {
	WorkflowID          string
	Version             string
	Data                any // an expression string or an object
	WorkflowExecTimeout *WorkflowExecTimeout
}

// OnError handles errors raised in a state.
type OnError struct {
	ErrorRef   string
	ErrorRefs  []string
	Transition *Transition
	End        *End
}

// Refs returns every error name the handler matches.
func (o *OnError) Refs() []string {
	if o.ErrorRef == "" {
		return o.ErrorRefs
	}
	return append([]string{o.ErrorRef}, o.ErrorRefs...)
}

// OnEvent is a set of events an event state waits for and what it does then.
type OnEvent struct {
	EventRefs       []string
	ActionMode      ActionMode
	Actions         []*Action
	EventDataFilter *EventDataFilter
}

// DataCondition is a switch branch taken when Condition is true.
type DataCondition struct {
	Name       string
	Condition  string
	Transition *Transition
	End        *End
	Metadata   map[string]any
}

// EventCondition is a switch branch taken when EventRef arrives.
type EventCondition struct {
	Name            string
	EventRef        string
	Transition      *Transition
	End             *End
	EventDataFilter *EventDataFilter
	Metadata        map[string]any
}

// DefaultCondition is the switch branch taken when nothing else matches.
type DefaultCondition struct {
	Transition *Transition
	End        *End
}

// Branch is one branch of a parallel state.
type Branch struct {
	Name     string
	Actions  []*Action
	Timeouts *Timeouts
}

// Action is one unit of work: a function call, an event exchange or a
// sub-flow. Exactly one of FunctionRef, EventRef and SubFlowRef is set in a
// valid definition.
type Action struct {
	ID                 string
	Name               string
	FunctionRef        *FunctionRef
	EventRef           *EventRef
	SubFlowRef         *SubFlowRef
	Sleep              *ActionSleep
	RetryRef           string
	NonRetryableErrors []string
	RetryableErrors    []string
	ActionDataFilter   *ActionDataFilter // never nil after Parse
	Condition          string
}

// DisplayName names the action in journals, logs and errors: its name, or
// else what it calls (function, sub-flow or trigger event).
func (a *Action) DisplayName() string {
	switch {
	case a.Name != "":
		return a.Name
	case a.FunctionRef != nil:
		return a.FunctionRef.RefName
	case a.SubFlowRef != nil:
		return a.SubFlowRef.WorkflowID
	case a.EventRef != nil:
		return a.EventRef.TriggerEventRef
	}
	return ""
}

// FunctionRef calls a function definition.
type FunctionRef struct {
	RefName string
	// Arguments is set when arguments are an object. SonataFlow also accepts
	// a single jq expression, kept in ArgumentsExpr.
	Arguments     map[string]any
	ArgumentsExpr string
	SelectionSet  string
	Invoke        Invoke
}

// EventRef produces an event and optionally waits for a result event.
type EventRef struct {
	TriggerEventRef    string
	ResultEventRef     string
	ResultEventTimeout string
	Data               any // an expression string or an object
	ContextAttributes  map[string]any
	Invoke             Invoke
}

// SubFlowRef runs another workflow.
type SubFlowRef struct {
	WorkflowID       string
	Version          string
	Invoke           Invoke
	OnParentComplete string // "terminate" (default) or "continue"
}

// ActionSleep pauses before and/or after an action.
type ActionSleep struct {
	Before string
	After  string
}

// FunctionType is the kind of a function definition.
type FunctionType string

// Function types of the specification.
const (
	FunctionREST       FunctionType = "rest"
	FunctionAsyncAPI   FunctionType = "asyncapi"
	FunctionRPC        FunctionType = "rpc"
	FunctionGraphQL    FunctionType = "graphql"
	FunctionOData      FunctionType = "odata"
	FunctionExpression FunctionType = "expression"
	FunctionCustom     FunctionType = "custom"
)

// Function is a function definition.
type Function struct {
	Name      string
	Operation string
	Type      FunctionType // "rest" when the file does not say
	AuthRef   string
	Metadata  map[string]any
}

// EventKind says whether the workflow consumes or produces an event.
type EventKind string

// Event kinds.
const (
	EventConsumed EventKind = "consumed"
	EventProduced EventKind = "produced"
)

// Event is an event definition.
type Event struct {
	Name        string
	Source      string
	Type        string
	Kind        EventKind // "consumed" when the file does not say
	Correlation []*Correlation
	DataOnly    bool // defaults to true
	Metadata    map[string]any
}

// Correlation matches events to instances by a CloudEvent extension attribute.
type Correlation struct {
	ContextAttributeName  string
	ContextAttributeValue string
}

// ErrorDef is a checked error the workflow handles by name.
type ErrorDef struct {
	Name        string
	Code        string
	Description string
}

// Retry is a retry policy.
type Retry struct {
	Name        string
	Delay       string
	MaxDelay    string
	Increment   string
	Multiplier  float64 // 0 when not set
	Jitter      Jitter
	MaxAttempts int
}

// Jitter is a random amount added to retry delays: either a fraction of the
// delay (0.0 to 1.0) or an absolute ISO 8601 duration.
type Jitter struct {
	Fraction float64
	Duration string
}

// AuthScheme is the scheme of an auth definition.
type AuthScheme string

// Auth schemes.
const (
	AuthBasic  AuthScheme = "basic"
	AuthBearer AuthScheme = "bearer"
	AuthOAuth2 AuthScheme = "oauth2"
)

// Auth is an auth definition used by functions' authRef.
type Auth struct {
	Name   string
	Scheme AuthScheme // "basic" when the file does not say
	// PropertiesRef is set when properties are given as a string (an
	// expression naming a secret holding them) instead of an object.
	PropertiesRef string
	Basic         *BasicAuth
	Bearer        *BearerAuth
	OAuth2        *OAuth2Auth
}

// BasicAuth holds basic auth properties.
type BasicAuth struct {
	Username string
	Password string
	Metadata map[string]any
}

// BearerAuth holds bearer auth properties.
type BearerAuth struct {
	Token    string
	Metadata map[string]any
}

// OAuth2Auth holds OAuth2 properties.
type OAuth2Auth struct {
	Authority        string
	GrantType        string // password, clientCredentials or tokenExchange
	ClientID         string
	ClientSecret     string
	Scopes           []string
	Username         string
	Password         string
	Audiences        []string
	SubjectToken     string
	RequestedSubject string
	RequestedIssuer  string
	Metadata         map[string]any
}

// Timeouts holds the workflow's or a state's timeouts as ISO 8601 durations.
type Timeouts struct {
	WorkflowExecTimeout *WorkflowExecTimeout // top level only
	StateExecTimeout    *StateExecTimeout
	ActionExecTimeout   string
	BranchExecTimeout   string
	EventTimeout        string
}

// WorkflowExecTimeout bounds a whole workflow execution.
type WorkflowExecTimeout struct {
	Duration  string
	Interrupt bool
	RunBefore string
}

// StateExecTimeout bounds a state: Single for one attempt, Total overall.
type StateExecTimeout struct {
	Single string
	Total  string
}
