package workflow

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/portico-dev/portico/internal/workflow/expr"
)

// Validate checks a parsed workflow and returns what is wrong with it,
// errors first in file order, then warnings. A workflow with no error
// findings can be run. Validate reads schema and OpenAPI files through the
// loader the workflow was parsed with.
func Validate(ctx context.Context, w *Workflow) []Finding {
	v := &validator{ctx: ctx, w: w}
	v.out = append(v.out, w.warnings...)
	v.top()
	v.duplicates()
	for i, f := range w.Functions {
		v.function(indexPath("functions", i), f)
	}
	for i, e := range w.Events {
		v.event(indexPath("events", i), e)
	}
	for i, r := range w.Retries {
		v.retry(indexPath("retries", i), r)
	}
	for i, s := range w.States {
		v.state(indexPath("states", i), s)
	}
	v.reachability()
	v.schemas()
	slices.SortStableFunc(v.out, func(a, b Finding) int {
		if a.Severity != b.Severity {
			return int(a.Severity) - int(b.Severity)
		}
		if a.File != b.File {
			return strings.Compare(a.File, b.File)
		}
		return a.Line - b.Line
	})
	return v.out
}

type validator struct {
	ctx context.Context
	w   *Workflow
	out []Finding
	fns map[string]string
}

func (v *validator) add(sev Severity, path, format string, args ...any) {
	p := v.w.Position(path)
	file := p.File
	if file == "" {
		file = v.w.File
	}
	v.out = append(v.out, Finding{Severity: sev, File: file, Line: p.Line, Path: path, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) errorf(path, format string, args ...any) {
	v.add(SeverityError, path, format, args...)
}

func (v *validator) warnf(path, format string, args ...any) {
	v.add(SeverityWarning, path, format, args...)
}

func (v *validator) top() {
	w := v.w
	if w.ID == "" && w.Key == "" {
		v.errorf("", "the workflow has no id; add an id such as id: %s", suggestID(w.File))
	}
	if !knownLang(w.ExpressionLang) {
		v.errorf("expressionLang", "unknown expression language %q; use jq (the default) or jsonpath", w.ExpressionLang)
	}
	if len(w.States) == 0 {
		v.errorf("states", "the workflow has no states; add at least one state")
		return
	}
	if w.Start.Implicit {
		// The 0.8 specification would start at the first state, but
		// SonataFlow refuses such files ("Workflow does not define a
		// starting state"); refusing keeps definitions portable both ways.
		v.errorf("", "the workflow has no start; add start: %s (the first state) or the name of the state to run first", yamlString(w.States[0].Name))
	} else if w.Start.StateName == "" {
		v.errorf("start", "start has no state name; set it to the name of the state to run first")
	} else if w.State(w.Start.StateName) == nil {
		v.errorf("start", "unknown state %q; define a state named %q or change start to one of: %s", w.Start.StateName, w.Start.StateName, v.stateNames())
	} else if w.State(w.Start.StateName).UsedForCompensation {
		v.errorf("start", "state %q is used for compensation and cannot be the start state", w.Start.StateName)
	}
	if s := w.Start.Schedule; s != nil && s.Interval == "" && (s.Cron == nil || s.Cron.Expression == "") {
		v.errorf("start.schedule", "schedule needs an interval or a cron expression")
	}
	if t := w.Timeouts; t != nil {
		v.timeouts("timeouts", t)
		if we := t.WorkflowExecTimeout; we != nil && we.RunBefore != "" && w.State(we.RunBefore) == nil {
			v.errorf("timeouts.workflowExecTimeout.runBefore", "unknown state %q; define a state named %q or fix runBefore", we.RunBefore, we.RunBefore)
		}
	}
	for i, a := range w.Auth {
		p := indexPath("auth", i)
		if a.Name == "" {
			v.errorf(p, "auth definition without a name; add name")
		}
		switch a.Scheme {
		case AuthBasic, AuthBearer, AuthOAuth2:
		default:
			v.errorf(p+".scheme", "unknown auth scheme %q; use basic, bearer or oauth2", string(a.Scheme))
		}
	}
}

func suggestID(file string) string {
	base := file[strings.LastIndex(file, "/")+1:]
	if i := strings.Index(base, "."); i > 0 {
		base = base[:i]
	}
	if base == "" {
		return "my-workflow"
	}
	return base
}

// yamlString quotes a name only when it would not read back as a string.
func yamlString(s string) string {
	if plainKey(s) {
		return s
	}
	return fmt.Sprintf("%q", s)
}

func (v *validator) stateNames() string {
	names := make([]string, 0, len(v.w.States))
	for _, s := range v.w.States {
		names = append(names, fmt.Sprintf("%q", s.Name))
	}
	return strings.Join(names, ", ")
}

func (v *validator) duplicates() {
	w := v.w
	dup := func(kind, list string, names []string) {
		first := map[string]int{}
		for i, n := range names {
			if n == "" {
				continue
			}
			if j, ok := first[n]; ok {
				v.errorf(indexPath(list, i)+".name", "duplicate %s name %q (%s[%d] has it too); rename one of them", kind, n, list, j)
				continue
			}
			first[n] = i
		}
	}
	names := func(n int, name func(int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = name(i)
		}
		return out
	}
	dup("state", "states", names(len(w.States), func(i int) string { return w.States[i].Name }))
	dup("function", "functions", names(len(w.Functions), func(i int) string { return w.Functions[i].Name }))
	dup("event", "events", names(len(w.Events), func(i int) string { return w.Events[i].Name }))
	dup("error", "errors", names(len(w.Errors), func(i int) string { return w.Errors[i].Name }))
	dup("retry", "retries", names(len(w.Retries), func(i int) string { return w.Retries[i].Name }))
	dup("auth", "auth", names(len(w.Auth), func(i int) string { return w.Auth[i].Name }))
}

func (v *validator) function(path string, f *Function) {
	if f.Name == "" {
		v.errorf(path, "function without a name; add name")
	}
	if f.Operation == "" {
		v.errorf(path, "function %q has no operation; add one (for example specs/api.yaml#operationId)", f.Name)
		return
	}
	if f.AuthRef != "" && v.w.AuthDef(f.AuthRef) == nil {
		v.errorf(path+".authRef", "unknown auth definition %q; define it under auth or fix authRef", f.AuthRef)
	}
	op := path + ".operation"
	switch f.Type {
	case FunctionREST:
		v.openAPI(op, f)
	case FunctionExpression:
		v.expr(op, f.Operation)
	case FunctionCustom:
		v.custom(op, f)
	case FunctionAsyncAPI, FunctionRPC, FunctionGraphQL, FunctionOData:
		v.errorf(path+".type", "function %q has type %s, which Portico does not support yet; use a rest (OpenAPI), expression or custom rest:/sysout function", f.Name, f.Type)
	default:
		v.errorf(path+".type", "function %q has unknown type %q; use rest, expression or custom", f.Name, string(f.Type))
	}
}

// openAPI checks that a rest function's OpenAPI document can be found.
// Whether the operation exists in it is left to the runtime, which parses
// the document anyway.
func (v *validator) openAPI(path string, f *Function) {
	doc, _, ok := f.OpenAPIOperation()
	if !ok {
		v.errorf(path, "function %q: a rest operation must look like specs/api.yaml#operationId", f.Name)
		return
	}
	if v.w.loader == nil {
		return
	}
	if _, _, err := v.w.OpenAPIDocument(v.ctx, f); err != nil && !errors.Is(err, ErrRemoteReference) {
		v.errorf(path, "function %q: cannot load OpenAPI document %q: %v; check the path, which is relative to the workflow file", f.Name, doc, err)
	}
}

var sysoutLevels = []string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR"}

// custom checks SonataFlow's custom function operations.
func (v *validator) custom(path string, f *Function) {
	kind, rest, _ := strings.Cut(f.Operation, ":")
	switch kind {
	case "sysout":
		if rest != "" && !slices.Contains(sysoutLevels, strings.ToUpper(rest)) {
			v.errorf(path, "function %q: unknown sysout level %q; use one of %s", f.Name, rest, strings.Join(sysoutLevels, ", "))
		}
	case "rest":
		method, target, ok := strings.Cut(rest, ":")
		switch strings.ToLower(method) {
		case "get", "post", "put", "patch", "delete", "head", "options":
		default:
			v.errorf(path, "function %q: a custom rest operation must look like rest:<method>:<url or path>, with method get, post, put, patch or delete", f.Name)
			return
		}
		if !ok || target == "" {
			v.errorf(path, "function %q: missing URL or path after rest:%s:", f.Name, method)
		}
	default:
		v.errorf(path, "function %q: custom operation %q is not supported yet; Portico runs custom rest:<method>:<url> and sysout[:LEVEL] functions", f.Name, kind)
	}
}

func (v *validator) event(path string, e *Event) {
	if e.Name == "" {
		v.errorf(path, "event without a name; add name")
	}
	if e.Type == "" {
		v.errorf(path, "event %q has no type; add the CloudEvent type it matches", e.Name)
	}
	switch e.Kind {
	case EventConsumed, EventProduced:
	default:
		v.errorf(path+".kind", "event %q has unknown kind %q; use consumed or produced", e.Name, string(e.Kind))
	}
	for i, c := range e.Correlation {
		if c.ContextAttributeName == "" {
			v.errorf(indexPath(path+".correlation", i), "correlation without contextAttributeName; name the CloudEvent attribute to correlate on")
		}
	}
}

func (v *validator) retry(path string, r *Retry) {
	if r.Name == "" {
		v.errorf(path, "retry definition without a name; add name")
	}
	v.duration(path+".delay", r.Delay)
	v.duration(path+".maxDelay", r.MaxDelay)
	v.duration(path+".increment", r.Increment)
	v.duration(path+".jitter", r.Jitter.Duration)
	if r.Jitter.Fraction < 0 || r.Jitter.Fraction > 1 {
		v.errorf(path+".jitter", "jitter %v is out of range; use a fraction between 0.0 and 1.0 or a duration such as PT1S", r.Jitter.Fraction)
	}
	if r.MaxAttempts < 0 {
		v.errorf(path+".maxAttempts", "maxAttempts must not be negative")
	}
	if r.Multiplier < 0 {
		v.errorf(path+".multiplier", "multiplier must not be negative")
	}
}

func (v *validator) duration(path, s string) {
	if s == "" {
		return
	}
	if _, err := ParseDuration(s); err != nil {
		v.errorf(path, "%v", err)
	}
}

func (v *validator) timeouts(path string, t *Timeouts) {
	if we := t.WorkflowExecTimeout; we != nil {
		if we.Duration == "" {
			v.errorf(path+".workflowExecTimeout", "workflowExecTimeout needs a duration such as PT1H")
		}
		v.duration(path+".workflowExecTimeout", we.Duration)
	}
	if st := t.StateExecTimeout; st != nil {
		v.duration(path+".stateExecTimeout", st.Total)
		v.duration(path+".stateExecTimeout.single", st.Single)
	}
	v.duration(path+".actionExecTimeout", t.ActionExecTimeout)
	v.duration(path+".branchExecTimeout", t.BranchExecTimeout)
	v.duration(path+".eventTimeout", t.EventTimeout)
}

// expr checks a workflow expression. A whole-expression "fn:name" must
// name an expression function.
func (v *validator) expr(path, e string) {
	if strings.TrimSpace(e) == "" || !knownLang(v.w.ExpressionLang) {
		return
	}
	if name, ok := strings.CutPrefix(expr.Trim(e), "fn:"); ok {
		name = strings.TrimSpace(name)
		switch f := v.w.Function(name); {
		case f == nil:
			v.errorf(path, "unknown function %q in %q; define an expression function named %q", name, e, name)
			return
		case f.Type != FunctionExpression:
			v.errorf(path, "fn:%s refers to a %s function; fn: works only with expression functions", name, f.Type)
			return
		}
	}
	if err := checkExpr(e, v.w.ExpressionLang, v.exprFunctions()); err != nil {
		v.errorf(path, "%v; fix the expression (the ${ } around it is optional)", err)
	}
}

func knownLang(lang string) bool { return lang == expr.LangJQ || lang == expr.LangJSONPath }

// exprFunctions maps the names of expression functions to their
// operations, built once per validation.
func (v *validator) exprFunctions() map[string]string {
	if v.fns == nil {
		v.fns = map[string]string{}
		for _, f := range v.w.Functions {
			if f.Type == FunctionExpression {
				if _, dup := v.fns[f.Name]; !dup {
					v.fns[f.Name] = f.Operation
				}
			}
		}
	}
	return v.fns
}

// exprValue checks a field holding an expression string or an object.
func (v *validator) exprValue(path string, val any) {
	if s, ok := val.(string); ok {
		v.expr(path, s)
	}
}

// args checks function arguments. SonataFlow passes argument strings that
// are not valid jq as literal text, so only ${ }-wrapped strings are sure
// to be expressions.
func (v *validator) args(path string, val any) {
	switch x := val.(type) {
	case string:
		if isWrappedExpr(x) {
			v.expr(path, x)
		}
	case map[string]any:
		for k, e := range x {
			v.args(joinPath(path, k), e)
		}
	case []any:
		for i, e := range x {
			v.args(indexPath(path, i), e)
		}
	}
}

func (v *validator) state(path string, s *State) {
	w := v.w
	if s.Name == "" {
		v.errorf(path, "state without a name; add name")
	}
	if !s.Type.Known() {
		if s.Type == "" {
			v.errorf(path, "state %q has no type; add type: one of event, operation, switch, sleep, parallel, inject, foreach, callback", s.Name)
		} else {
			v.errorf(path+".type", "state %q has unknown type %q; use one of event, operation, switch, sleep, parallel, inject, foreach, callback", s.Name, string(s.Type))
		}
		return
	}
	if f := s.StateDataFilter; f != nil {
		v.expr(path+".stateDataFilter.input", f.Input)
		v.expr(path+".stateDataFilter.output", f.Output)
	}
	if s.Timeouts != nil {
		if s.Timeouts.WorkflowExecTimeout != nil {
			v.errorf(path+".timeouts.workflowExecTimeout", "workflowExecTimeout can only be set at the top level; move it to the workflow's timeouts")
		}
		v.timeouts(path+".timeouts", s.Timeouts)
	}
	for i, oe := range s.OnErrors {
		p := indexPath(path+".onErrors", i)
		if oe.ErrorRef == "" && len(oe.ErrorRefs) == 0 {
			v.errorf(p, "onErrors entry without errorRef or errorRefs; name the errors it handles")
		}
		if oe.ErrorRef != "" && w.Error(oe.ErrorRef) == nil {
			v.errorf(p+".errorRef", "unknown error %q; define it under errors (with the code to match) or fix the errorRef", oe.ErrorRef)
		}
		for j, r := range oe.ErrorRefs {
			if w.Error(r) == nil {
				v.errorf(indexPath(p+".errorRefs", j), "unknown error %q; define it under errors (with the code to match) or fix the errorRef", r)
			}
		}
		v.next(p, s, oe.Transition, oe.End, true)
	}

	switch s.Type {
	case StateSwitch:
		v.switchState(path, s)
		if s.Transition != nil || s.End != nil {
			v.warnf(path, "a switch state's own transition or end is ignored; put them in its conditions or defaultCondition")
		}
	default:
		if !s.UsedForCompensation || s.Transition != nil {
			v.next(path, s, s.Transition, s.End, !s.UsedForCompensation)
		}
	}

	if s.CompensatedBy != "" {
		v.compensatedBy(path, s)
	}
	if s.UsedForCompensation {
		if s.Type == StateEvent {
			v.errorf(path+".usedForCompensation", "an event state cannot be used for compensation; use an operation state")
		}
		if s.End != nil {
			v.warnf(path+".end", "end is ignored on a compensation state: compensation returns to where it was triggered")
		}
	}

	switch s.Type {
	case StateEvent:
		if len(s.OnEvents) == 0 {
			v.errorf(path, "event state %q has no onEvents; add the events it waits for", s.Name)
		}
		for i, oe := range s.OnEvents {
			p := indexPath(path+".onEvents", i)
			if len(oe.EventRefs) == 0 {
				v.errorf(p, "onEvents entry without eventRefs; name the events to wait for")
			}
			for j, r := range oe.EventRefs {
				v.eventRef(indexPath(p+".eventRefs", j), r, EventConsumed)
			}
			v.actionMode(p+".actionMode", oe.ActionMode)
			v.eventDataFilter(p+".eventDataFilter", oe.EventDataFilter)
			v.actions(p+".actions", oe.Actions)
		}
	case StateOperation:
		v.actionMode(path+".actionMode", s.ActionMode)
		v.actions(path+".actions", s.Actions)
	case StateSleep:
		if s.Duration == "" {
			v.errorf(path, "sleep state %q has no duration; add one such as duration: PT30S", s.Name)
		}
		v.duration(path+".duration", s.Duration)
	case StateParallel:
		if len(s.Branches) == 0 {
			v.errorf(path, "parallel state %q has no branches; add at least one", s.Name)
		}
		for i, b := range s.Branches {
			p := indexPath(path+".branches", i)
			if b.Name == "" {
				// The spec requires it, SonataFlow does not; it names the
				// branch in logs and the Data Index.
				v.warnf(p, "branch without a name; add name so it can be told apart in logs")
			}
			if b.Timeouts != nil {
				v.timeouts(p+".timeouts", b.Timeouts)
			}
			v.actions(p+".actions", b.Actions)
		}
		switch s.CompletionType {
		case CompletionAllOf:
		case CompletionAtLeast:
			if s.NumCompletedExpr != "" {
				v.expr(path+".numCompleted", s.NumCompletedExpr)
			} else if s.NumCompleted < 1 || s.NumCompleted > len(s.Branches) {
				v.errorf(path+".numCompleted", "completionType atLeast needs numCompleted between 1 and the number of branches (%d)", len(s.Branches))
			}
		default:
			v.errorf(path+".completionType", "unknown completionType %q; use allOf or atLeast", string(s.CompletionType))
		}
	case StateInject:
		if s.Data == nil {
			v.warnf(path, "inject state %q has no data; add data: {...} or use another state type", s.Name)
		}
	case StateForEach:
		if s.InputCollection == "" {
			v.errorf(path, "foreach state %q has no inputCollection; add an expression selecting the array to iterate", s.Name)
		}
		v.expr(path+".inputCollection", s.InputCollection)
		v.expr(path+".outputCollection", s.OutputCollection)
		switch s.Mode {
		case ForEachParallel, ForEachSequential:
		default:
			v.errorf(path+".mode", "unknown foreach mode %q; use parallel or sequential", string(s.Mode))
		}
		if s.BatchSize < 0 {
			v.errorf(path+".batchSize", "batchSize must be positive")
		}
		v.actions(path+".actions", s.Actions)
	case StateCallback:
		if s.Action == nil {
			v.errorf(path, "callback state %q has no action; add the action that triggers the callback", s.Name)
		} else {
			v.action(path+".action", s.Action)
		}
		if s.EventRef == "" {
			v.errorf(path, "callback state %q has no eventRef; name the event that completes it", s.Name)
		} else {
			v.eventRef(path+".eventRef", s.EventRef, EventConsumed)
		}
		v.eventDataFilter(path+".eventDataFilter", s.EventDataFilter)
	}
}

func (v *validator) actionMode(path string, m ActionMode) {
	if m != ActionSequential && m != ActionParallel {
		v.errorf(path, "unknown actionMode %q; use sequential or parallel", string(m))
	}
}

func (v *validator) eventDataFilter(path string, f *EventDataFilter) {
	if f == nil {
		return
	}
	v.expr(path+".data", f.Data)
	v.expr(path+".toStateData", f.ToStateData)
}

// eventRef checks a reference to an event definition. Using an event the
// other way round (waiting for a produced one) is only a warning: SonataFlow
// does not check kinds.
func (v *validator) eventRef(path, name string, want EventKind) {
	e := v.w.Event(name)
	if e == nil {
		v.errorf(path, "unknown event %q; define it under events or fix the reference", name)
		return
	}
	if e.Kind != want {
		v.warnf(path, "event %q is defined with kind %s but used as a %s event; set its kind to %s", name, e.Kind, want, want)
	}
}

// next checks a transition or end. need says one of them is required.
func (v *validator) next(path string, from *State, t *Transition, e *End, need bool) {
	if t != nil && e != nil {
		v.errorf(path, "both transition and end are set; keep one")
	}
	if t == nil && e == nil {
		if need {
			v.errorf(path, "neither transition nor end is set; add transition: <state name> or end: true")
		}
		return
	}
	if t != nil {
		v.transition(path+".transition", from, t)
	}
	if e != nil {
		p := path + ".end"
		v.produceEvents(p, e.ProduceEvents)
		if c := e.ContinueAs; c != nil {
			if c.WorkflowID == "" {
				v.errorf(p+".continueAs", "continueAs needs a workflowId")
			}
			v.exprValue(p+".continueAs.data", c.Data)
			if c.WorkflowExecTimeout != nil {
				v.duration(p+".continueAs.workflowExecTimeout", c.WorkflowExecTimeout.Duration)
			}
		}
	}
}

func (v *validator) transition(path string, from *State, t *Transition) {
	v.produceEvents(path, t.ProduceEvents)
	if t.NextState == "" {
		v.errorf(path, "transition without nextState; name the state to go to")
		return
	}
	to := v.w.State(t.NextState)
	switch {
	case to == nil:
		v.errorf(path, "unknown state %q; define a state named %q or fix the transition", t.NextState, t.NextState)
	case to.UsedForCompensation && !from.UsedForCompensation:
		v.errorf(path, "state %q is used for compensation and cannot be entered by a transition; it runs only through compensatedBy", t.NextState)
	case from.UsedForCompensation && !to.UsedForCompensation:
		v.errorf(path, "compensation state %q may only transition to other compensation states; set usedForCompensation: true on %q or end the compensation here", from.Name, t.NextState)
	}
}

func (v *validator) produceEvents(path string, pes []*ProduceEvent) {
	for i, pe := range pes {
		p := indexPath(path+".produceEvents", i)
		if pe.EventRef == "" {
			v.errorf(p, "produceEvents entry without eventRef; name the event to send")
		} else {
			v.eventRef(p+".eventRef", pe.EventRef, EventProduced)
		}
		v.exprValue(p+".data", pe.Data)
	}
}

func (v *validator) compensatedBy(path string, s *State) {
	p := path + ".compensatedBy"
	c := v.w.State(s.CompensatedBy)
	switch {
	case c == nil:
		v.errorf(p, "unknown state %q; define a compensation state named %q (with usedForCompensation: true) or fix compensatedBy", s.CompensatedBy, s.CompensatedBy)
	case c == s:
		v.errorf(p, "a state cannot compensate itself; point compensatedBy at a separate state with usedForCompensation: true")
	case !c.UsedForCompensation:
		v.errorf(p, "state %q compensates %q but does not set usedForCompensation: true; add it to %q", c.Name, s.Name, c.Name)
	case c.Type == StateEvent:
		v.errorf(p, "state %q is an event state, which cannot be used for compensation", c.Name)
	}
	if s.UsedForCompensation {
		v.errorf(p, "compensation is not recursive: compensation state %q cannot itself have compensatedBy; remove it", s.Name)
	}
}

func (v *validator) switchState(path string, s *State) {
	switch {
	case len(s.DataConditions) == 0 && len(s.EventConditions) == 0:
		v.errorf(path, "switch state %q has no dataConditions or eventConditions; add at least one condition, or use a transition if there is nothing to decide", s.Name)
	case len(s.DataConditions) > 0 && len(s.EventConditions) > 0:
		v.errorf(path, "switch state %q has both dataConditions and eventConditions; a switch decides on data or on events, not both", s.Name)
	}
	for i, c := range s.DataConditions {
		p := indexPath(path+".dataConditions", i)
		if strings.TrimSpace(c.Condition) == "" {
			v.errorf(p, "data condition without condition; add a jq expression that yields true or false")
		} else {
			v.expr(p+".condition", c.Condition)
		}
		v.next(p, s, c.Transition, c.End, true)
	}
	for i, c := range s.EventConditions {
		p := indexPath(path+".eventConditions", i)
		if c.EventRef == "" {
			v.errorf(p, "event condition without eventRef; name the event it waits for")
		} else {
			v.eventRef(p+".eventRef", c.EventRef, EventConsumed)
		}
		v.eventDataFilter(p+".eventDataFilter", c.EventDataFilter)
		v.next(p, s, c.Transition, c.End, true)
	}
	if s.DefaultCondition == nil {
		// Required by the spec but not by SonataFlow, which real files rely on.
		v.warnf(path, "switch state %q has no defaultCondition; when no condition matches the instance fails; add defaultCondition with a transition or end", s.Name)
	} else {
		v.next(path+".defaultCondition", s, s.DefaultCondition.Transition, s.DefaultCondition.End, true)
	}
}

func (v *validator) actions(path string, actions []*Action) {
	for i, a := range actions {
		v.action(indexPath(path, i), a)
	}
}

func (v *validator) action(path string, a *Action) {
	w := v.w
	n := 0
	for _, set := range []bool{a.FunctionRef != nil, a.EventRef != nil, a.SubFlowRef != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		v.errorf(path, "an action needs exactly one of functionRef, eventRef or subFlowRef (found %d)", n)
	}
	if f := a.FunctionRef; f != nil {
		p := path + ".functionRef"
		switch {
		case f.RefName == "":
			v.errorf(p, "functionRef without refName; name the function to call")
		case w.Function(f.RefName) == nil:
			v.errorf(p, "unknown function %q; define it under functions or fix the refName", f.RefName)
		}
		if f.ArgumentsExpr != "" && isWrappedExpr(f.ArgumentsExpr) {
			v.expr(p+".arguments", f.ArgumentsExpr)
		}
		v.args(p+".arguments", f.Arguments)
	}
	if e := a.EventRef; e != nil {
		p := path + ".eventRef"
		if e.TriggerEventRef == "" {
			v.errorf(p, "eventRef without triggerEventRef; name the event to send")
		} else {
			v.eventRef(p+".triggerEventRef", e.TriggerEventRef, EventProduced)
		}
		if e.ResultEventRef != "" {
			v.eventRef(p+".resultEventRef", e.ResultEventRef, EventConsumed)
		}
		v.duration(p+".resultEventTimeout", e.ResultEventTimeout)
		v.exprValue(p+".data", e.Data)
	}
	if s := a.SubFlowRef; s != nil {
		p := path + ".subFlowRef"
		if s.WorkflowID == "" {
			v.errorf(p, "subFlowRef without workflowId; name the workflow to run")
		}
		if s.OnParentComplete != "terminate" && s.OnParentComplete != "continue" {
			v.errorf(p+".onParentComplete", "unknown onParentComplete %q; use terminate or continue", s.OnParentComplete)
		}
	}
	if s := a.Sleep; s != nil {
		v.duration(path+".sleep.before", s.Before)
		v.duration(path+".sleep.after", s.After)
	}
	if a.RetryRef != "" && w.Retry(a.RetryRef) == nil {
		v.errorf(path+".retryRef", "unknown retry definition %q; define it under retries or fix retryRef", a.RetryRef)
	}
	if len(a.RetryableErrors) > 0 && w.AutoRetries {
		v.warnf(path+".retryableErrors", "retryableErrors is ignored when autoRetries is true (every error but nonRetryableErrors is retried); use nonRetryableErrors or set autoRetries: false")
	}
	if len(a.NonRetryableErrors) > 0 && !w.AutoRetries {
		v.warnf(path+".nonRetryableErrors", "nonRetryableErrors is ignored unless autoRetries is true (only retryableErrors are retried); use retryableErrors or set autoRetries: true")
	}
	for i, e := range a.RetryableErrors {
		if w.Error(e) == nil {
			v.errorf(indexPath(path+".retryableErrors", i), "unknown error %q; define it under errors or fix the name", e)
		}
	}
	for i, e := range a.NonRetryableErrors {
		if w.Error(e) == nil {
			v.errorf(indexPath(path+".nonRetryableErrors", i), "unknown error %q; define it under errors or fix the name", e)
		}
	}
	if f := a.ActionDataFilter; f != nil {
		p := path + ".actionDataFilter"
		v.expr(p+".fromStateData", f.FromStateData)
		v.expr(p+".results", f.Results)
		v.expr(p+".toStateData", f.ToStateData)
	}
	v.expr(path+".condition", a.Condition)
}

// reachability warns about states no path from the start leads to.
func (v *validator) reachability() {
	w := v.w
	if w.State(w.Start.StateName) == nil {
		return // already an error; every state would look unreachable
	}
	seen := map[*State]bool{}
	var visit func(name string)
	visit = func(name string) {
		s := w.State(name)
		if s == nil || seen[s] {
			return
		}
		seen[s] = true
		next := func(t *Transition) {
			if t != nil {
				visit(t.NextState)
			}
		}
		next(s.Transition)
		for _, c := range s.DataConditions {
			next(c.Transition)
		}
		for _, c := range s.EventConditions {
			next(c.Transition)
		}
		if s.DefaultCondition != nil {
			next(s.DefaultCondition.Transition)
		}
		for _, oe := range s.OnErrors {
			next(oe.Transition)
		}
		if s.CompensatedBy != "" {
			visit(s.CompensatedBy)
		}
	}
	visit(w.Start.StateName)
	if t := w.Timeouts; t != nil && t.WorkflowExecTimeout != nil && t.WorkflowExecTimeout.RunBefore != "" {
		visit(t.WorkflowExecTimeout.RunBefore)
	}
	for i, s := range w.States {
		if !seen[s] && w.State(s.Name) == s {
			v.warnf(indexPath("states", i), "state %q is never reached from the start state %q; remove it or add a transition to it", s.Name, w.Start.StateName)
		}
	}
}

func (v *validator) schemas() {
	check := func(path string, s *DataSchema) {
		if s == nil {
			return
		}
		warning, err := checkSchema(v.ctx, v.w, s)
		if err != nil {
			v.errorf(path, "%v", err)
		} else if warning != "" {
			v.warnf(path, "%s", warning)
		}
	}
	check("dataInputSchema", v.w.DataInputSchema)
	for i, e := range v.w.Extensions {
		if e.ID == ExtensionOutputSchema {
			check(indexPath("extensions", i)+".outputSchema", v.w.OutputSchema)
		}
	}
}
