package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/portico-dev/portico/internal/workflow"
	"github.com/portico-dev/portico/internal/workflow/expr"
)

// Engine holds what every instance shares: how functions run, the
// expression cache, the clock. Its fields must not change once instances
// run.
type Engine struct {
	// Functions executes functionRef actions. Required for workflows that
	// call functions.
	Functions FunctionInvoker
	// Cache shares compiled expressions between workflows; nil means a
	// cache of 4096 entries owned by the engine.
	Cache *expr.Cache
	// Logger receives state transitions at debug level; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now. Timer deadlines are computed
	// from it and recorded in the journal.
	Now func() time.Time
	// Rand returns a number in [0, 1) for retry jitter; nil uses math/rand.
	Rand func() float64
}

// NewEngine returns an engine that calls functions through fn.
func NewEngine(fn FunctionInvoker) *Engine {
	return &Engine{Functions: fn, Cache: expr.NewCache(4096)}
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now().UTC()
	}
	return time.Now().UTC()
}

func (e *Engine) rand() float64 {
	if e.Rand != nil {
		return e.Rand()
	}
	return rand.Float64()
}

func (e *Engine) logger() *slog.Logger {
	if e.Logger != nil {
		return e.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Definition is a workflow prepared to run: expressions bound to its
// functions and language, schemas compiled, properties resolved. It is
// immutable and shared by all instances of the workflow.
type Definition struct {
	W          *workflow.Workflow
	Properties map[string]string

	eng          *Engine
	ev           *expr.Evaluator
	secrets      any
	inputSchema  *jsonschema.Schema
	outputSchema *jsonschema.Schema
	nodeIDs      map[string]int
}

// ErrInvalidInput is wrapped by the errors Start returns when the input
// does not match the workflow's dataInputSchema.
var ErrInvalidInput = errors.New("invalid workflow input")

// Prepare readies w for running. props are the workflow's configuration
// properties (application.properties), visible as $SECRET and used by
// functions to find services.
func (e *Engine) Prepare(ctx context.Context, w *workflow.Workflow, props map[string]string) (*Definition, error) {
	if e.Cache == nil {
		e.Cache = expr.NewCache(4096)
	}
	fns := map[string]string{}
	for _, f := range w.Functions {
		if f.Type == workflow.FunctionExpression {
			fns[f.Name] = f.Operation
		}
	}
	d := &Definition{
		W:          w,
		Properties: props,
		eng:        e,
		ev: &expr.Evaluator{Cache: e.Cache, Options: []expr.Option{
			expr.WithFunctions(fns), expr.WithLanguage(w.ExpressionLang),
		}},
		secrets: expr.SecretsFromProperties(props),
		nodeIDs: make(map[string]int, len(w.States)),
	}
	for i, s := range w.States {
		d.nodeIDs[s.Name] = i + 1
	}
	if w.Start == nil || w.State(w.Start.StateName) == nil {
		return nil, &Error{Kind: KindDefinition, Message: "the workflow has no valid start state"}
	}
	var err error
	if w.DataInputSchema != nil && w.DataInputSchema.FailOnValidationErrors {
		if d.inputSchema, err = w.CompileSchema(ctx, w.DataInputSchema); err != nil {
			// Validate reports this; the workflow still runs, as in
			// SonataFlow when a schema cannot be resolved.
			e.logger().Warn("dataInputSchema cannot be used; input is not validated", "workflow", w.ID, "error", err)
		}
	}
	if w.OutputSchema != nil && w.OutputSchema.FailOnValidationErrors {
		if d.outputSchema, err = w.CompileSchema(ctx, w.OutputSchema); err != nil {
			e.logger().Warn("output schema cannot be used; output is not validated", "workflow", w.ID, "error", err)
		}
	}
	return d, nil
}

// Evaluator returns the definition's expression evaluator.
func (d *Definition) Evaluator() *expr.Evaluator { return d.ev }

// Schedule returns the workflow's start schedule (cron or interval), or nil:
// creating instances on schedule is the host's job.
func (d *Definition) Schedule() *workflow.Schedule {
	if d.W.Start == nil {
		return nil
	}
	return d.W.Start.Schedule
}

// StartEvents returns the events that start an instance when the start
// state is an event state, or nil.
func (d *Definition) StartEvents() []EventMatch {
	st := d.W.State(d.W.Start.StateName)
	if st == nil || st.Type != workflow.StateEvent {
		return nil
	}
	var out []EventMatch
	for _, oe := range st.OnEvents {
		for _, ref := range oe.EventRefs {
			out = append(out, d.eventMatch(ref, nil))
		}
	}
	return out
}

func (d *Definition) eventMatch(ref string, bound map[string]string) EventMatch {
	m := EventMatch{Name: ref}
	if ev := d.W.Event(ref); ev != nil {
		m.Type, m.Source = ev.Type, ev.Source
		for _, other := range d.W.Events {
			if other != ev && other.Type == ev.Type && other.Source != ev.Source && other.Kind != workflow.EventProduced {
				m.MatchSource = true
			}
		}
		for _, c := range ev.Correlation {
			if m.Correlation == nil {
				m.Correlation = map[string]string{}
			}
			v := c.ContextAttributeValue
			if v == "" {
				v = bound[c.ContextAttributeName]
			}
			m.Correlation[c.ContextAttributeName] = v
		}
	}
	return m
}

// ValidateInput checks data against the dataInputSchema, when the workflow
// has one and failOnValidationErrors is true.
func (d *Definition) ValidateInput(data any) error {
	if err := validateSchema(d.inputSchema, data); err != nil {
		return &Error{Kind: KindValidation, Message: "input does not match dataInputSchema: " + err.Error(), Err: errors.Join(ErrInvalidInput, err)}
	}
	return nil
}

func validateSchema(s *jsonschema.Schema, data any) error {
	if s == nil {
		return nil
	}
	// The validator wants values as its own decoder makes them.
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return err
	}
	if err := s.Validate(v); err != nil {
		return errors.New(strings.Join(strings.Fields(err.Error()), " "))
	}
	return nil
}

// StartOptions are what a new instance starts with.
type StartOptions struct {
	// InstanceID defaults to a random UUID.
	InstanceID string
	// Input is the workflow data; nil means {}.
	Input any
	// Variables are extra process variables (initiatorEntity, ...), each
	// visible as $name.
	Variables   map[string]any
	Headers     map[string]string
	BusinessKey string
	ParentID    string
	// Identity is who started the instance, seen as $WORKFLOW.identity.
	Identity any
	// Event starts an instance of a workflow whose start state is an
	// event state.
	Event *Event
}

// Start creates an instance, validates its input, records the start in j
// and runs it until it completes, fails or waits.
func (d *Definition) Start(ctx context.Context, j Journal, opts StartOptions) (*Instance, *Outcome, error) {
	in, err := d.New(ctx, j, opts)
	if err != nil {
		return nil, nil, err
	}
	out, err := in.Run(ctx)
	return in, out, err
}

// New creates an instance and records its start, without running it.
func (d *Definition) New(ctx context.Context, j Journal, opts StartOptions) (*Instance, error) {
	input := opts.Input
	if input == nil {
		input = map[string]any{}
	}
	input, err := expr.Normalize(input)
	if err != nil {
		return nil, &Error{Kind: KindValidation, Message: "input: " + err.Error(), Err: errors.Join(ErrInvalidInput, err)}
	}
	if _, ok := input.(map[string]any); !ok && opts.ParentID == "" {
		// A sub-flow takes whatever its parent's data is, as SonataFlow
		// passes it on; a top-level start must be an object.
		return nil, &Error{Kind: KindValidation, Message: "workflow data input must be a JSON object", Err: ErrInvalidInput}
	}
	if err := d.ValidateInput(input); err != nil {
		return nil, err
	}
	id := opts.InstanceID
	if id == "" {
		id = uuid.NewString()
	}
	vars, err := expr.Normalize(opts.Variables)
	if err != nil {
		return nil, &Error{Kind: KindValidation, Message: "variables: " + err.Error(), Err: errors.Join(ErrInvalidInput, err)}
	}
	vm, _ := vars.(map[string]any)
	start := &StartInfo{
		InstanceID: id, WorkflowID: d.W.ID, Version: d.W.Version, Input: input,
		Variables: vm, Headers: opts.Headers, BusinessKey: opts.BusinessKey, ParentID: opts.ParentID, Event: opts.Event, Identity: opts.Identity,
	}
	in := newInstance(d, j)
	now := d.eng.now()
	cur := &Cursor{Step: 1, State: d.W.Start.StateName, Data: input, Entered: now}
	entries := []Entry{
		{Kind: EntryStarted, Time: now, Start: start, NodeType: "StartNode"},
		{Kind: EntryStateEntered, Time: now, Step: 1, State: cur.State, NodeType: d.NodeType(cur.State), Cursor: cur},
	}
	if err := in.append(ctx, entries...); err != nil {
		return nil, err
	}
	return in, nil
}

// Restore rebuilds an instance from its journal entries (as Append
// received them, or decoded from their JSON). Call Run next: it runs the
// current state again from the journal (re-running only work that has no
// recorded result) and reports the waits that are open, after which
// Deliver can continue it. Appending goes to j from then on.
func (d *Definition) Restore(entries []Entry, j Journal) (*Instance, error) {
	if len(entries) == 0 || entries[0].Kind != EntryStarted || entries[0].Start == nil {
		return nil, errors.New("restore: the journal does not begin with a started entry")
	}
	in := newInstance(d, j)
	for i := range entries {
		in.apply(&entries[i])
	}
	return in, nil
}

// NodeType is the node class name SonataFlow reports for a state (what
// node instances and the Data Index's node definitions carry).
func (d *Definition) NodeType(state string) string {
	st := d.W.State(state)
	if st == nil {
		return ""
	}
	switch st.Type {
	case workflow.StateInject:
		return "ActionNode"
	case workflow.StateSwitch:
		return "Split"
	case workflow.StateSleep:
		return "TimerNode"
	case workflow.StateForEach:
		return "ForEachNode"
	case workflow.StateEvent:
		if state == d.W.Start.StateName {
			return "StartNode"
		}
		return "CompositeContextNode"
	}
	return "CompositeContextNode"
}

// childID derives a stable id (a name-based UUID) for something an
// instance creates, so that doing it again after a crash gives the same id.
func childID(instanceID, key string) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("portico:"+instanceID+"/"+key)).String()
}
