package scaffolder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/portico-dev/portico/internal/auth"
	"github.com/portico-dev/portico/internal/errs"
)

// Templater renders template strings; the nunjucks engine implements it.
type Templater interface {
	// RenderValue renders src with data. A string that is exactly one
	// ${{ expr }} gives the expression's value with its type.
	RenderValue(ctx context.Context, src string, data map[string]any) (any, error)
}

// Causes a run's context can end with.
var (
	//lint:ignore ST1005 Backstage's message, which clients show as is.
	errTimedOut  = errors.New("This task was marked as stale as it exceeded its timeout (scaffolder.taskTimeout)")
	errCancelled = errors.New("the task was cancelled")
	errStopping  = errors.New("the replica is stopping")
)

// stepError is a failed step.
type stepError struct {
	stepID string
	err    error
}

func (e *stepError) Error() string { return e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

// runSink is where a run records what happens: the task store for real
// tasks, memory for a dry run.
type runSink interface {
	event(ctx context.Context, typ string, body map[string]any) error
	saveStep(ctx context.Context, stepID string, output map[string]any) error
	saveCheckpoint(ctx context.Context, key string, cp checkpoint) error
	serialize(ctx context.Context) error
}

// run executes one claim of a task.
type run struct {
	svc    *Service
	taskID string
	spec   *TaskSpec
	// initiator is who the task runs for, as permission policies see them.
	initiator auth.Principal
	// state is what earlier runs stored.
	state   taskState
	secrets map[string]string
	redact  *redactor
	sink    runSink
	dir     string
	root    *os.Root
	dryRun  bool

	mu      sync.Mutex
	outputs map[string]map[string]any
	// stopping is set when the replica stops: the run hands the task over
	// before its next step.
	stopping bool
}

// execute runs every step and returns the rendered output, or the first
// step error. Cancellation and shutdown surface as context causes.
func (r *run) execute(ctx context.Context, recovered bool) (map[string]any, error) {
	steps := r.spec.Steps
	done := 0
	for _, st := range steps {
		if s, ok := r.state.State.Steps[st.ID]; ok && s.Status == StatusCompleted {
			done++
		}
	}
	if recovered && done > 0 {
		r.log(ctx, map[string]any{"message": fmt.Sprintf("Task recovered - resuming from last known good state. %d step(s) already completed.", done)})
	} else {
		r.log(ctx, map[string]any{"message": fmt.Sprintf("Starting up task with %d steps", len(steps))})
	}
	r.outputs = map[string]map[string]any{}
	var firstErr error
	for _, st := range steps {
		if cause := context.Cause(ctx); cause != nil {
			return nil, cause
		}
		r.mu.Lock()
		stopping := r.stopping
		r.mu.Unlock()
		if stopping {
			return nil, errStopping
		}
		if s, ok := r.state.State.Steps[st.ID]; ok && s.Status == StatusCompleted {
			r.outputs[st.ID] = s.Output
			r.log(ctx, map[string]any{"message": fmt.Sprintf("Skipping step %s because it was already completed in a previous run", st.ID), "stepId": st.ID, "status": StatusCompleted})
			continue
		}
		if firstErr != nil && !runsAfterFailure(st.If) {
			r.log(ctx, map[string]any{"message": fmt.Sprintf("Skipping step %s because a previous step failed", st.ID), "stepId": st.ID, "status": StatusSkipped})
			continue
		}
		err := r.step(ctx, st, firstErr != nil)
		if err == nil {
			continue
		}
		if cause := context.Cause(ctx); cause != nil {
			if errors.Is(cause, errTimedOut) {
				r.log(ctx, map[string]any{"message": cause.Error(), "stepId": st.ID, "status": StatusFailed})
			}
			if errors.Is(cause, errCancelled) {
				r.event(ctx, EventCancelled, map[string]any{"message": fmt.Sprintf("Step %s has been cancelled.", st.ID), "stepId": st.ID, "status": StatusCancelled})
			}
			return nil, cause
		}
		r.log(ctx, map[string]any{"message": err.Error(), "stepId": st.ID, "status": StatusFailed})
		if firstErr == nil {
			firstErr = &stepError{stepID: st.ID, err: err}
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	out, err := r.renderOutput(ctx)
	if err != nil {
		return nil, fmt.Errorf("render the template output: %w", err)
	}
	return out, nil
}

// runsAfterFailure reports whether a step's if asks to run after a failure
// (failure() or always(), as GitHub Actions does).
func runsAfterFailure(cond any) bool {
	s, ok := cond.(string)
	return ok && statusFuncs.MatchString(s) && !strings.Contains(s, "success()")
}

var statusFuncs = regexp.MustCompile(`\b(always|failure|success)\(\s*\)`)

// step runs one step: each, if, input rendering and validation, the action.
func (r *run) step(ctx context.Context, st TaskStep, failed bool) error {
	action, ok := r.svc.action(st.Action)
	if !ok {
		return fmt.Errorf("Template action with ID '%s' is not registered. See GET /api/scaffolder/v2/actions for the registered ones", st.Action)
	}
	items := []map[string]any{nil}
	if st.Each != nil {
		v, err := r.renderAny(ctx, st.Each, r.context(nil), "each")
		if err != nil {
			return err
		}
		if items, err = eachItems(v); err != nil {
			return fmt.Errorf("step %s: each: %w", st.ID, err)
		}
	}
	began := false
	output := map[string]any{}
	for _, item := range items {
		data := r.context(item)
		if st.If != nil {
			cond := st.If
			if s, ok := cond.(string); ok {
				cond = statusFuncs.ReplaceAllStringFunc(s, func(m string) string {
					switch {
					case strings.HasPrefix(m, "always"):
						return "true"
					case strings.HasPrefix(m, "failure"):
						return strconv.FormatBool(failed)
					default:
						return strconv.FormatBool(!failed)
					}
				})
			}
			v, err := r.renderAny(ctx, cond, data, "if")
			if err != nil {
				return fmt.Errorf("step %s: %w", st.ID, err)
			}
			if !truthy(v) {
				r.log(ctx, map[string]any{"message": fmt.Sprintf("Skipping step %s because its if condition was false", st.ID), "stepId": st.ID, "status": StatusSkipped})
				continue
			}
		}
		if !began {
			began = true
			r.log(ctx, map[string]any{"message": "Beginning step " + st.Name, "stepId": st.ID, "status": StatusProcessing})
		}
		inputAny, err := r.renderAny(ctx, map[string]any(st.Input), data, "input")
		if err != nil {
			return fmt.Errorf("step %s: %w", st.ID, err)
		}
		input, _ := inputAny.(map[string]any)
		if input == nil {
			input = map[string]any{}
		}
		label := action.ID
		if item != nil {
			label = fmt.Sprintf("%s[%v]", action.ID, item["key"])
		}
		if err := r.svc.validateInput(action, input); err != nil {
			//lint:ignore ST1005 Backstage's message, which clients show as is.
			return fmt.Errorf("Invalid input passed to action %s, %w", label, err)
		}
		if err := r.authorizeAction(ctx, action.ID, input); err != nil {
			return err
		}
		if r.dryRun && !action.SupportsDryRun {
			r.log(ctx, map[string]any{"message": fmt.Sprintf("Skipping because %s does not support dry-run", action.ID), "stepId": st.ID})
			maps.Copy(output, exampleOutputs(action.Schema.Output))
			continue
		}
		if err := r.callAction(ctx, st, action, input, item, output); err != nil {
			return err
		}
	}
	if !began {
		return nil
	}
	if err := r.sink.saveStep(ctx, st.ID, output); err != nil {
		return err
	}
	r.mu.Lock()
	r.outputs[st.ID] = output
	r.mu.Unlock()
	r.saveWorkspace(ctx, st.ID)
	r.log(ctx, map[string]any{"message": "Finished step " + st.Name, "stepId": st.ID, "status": StatusCompleted})
	return nil
}

// authorizeAction asks the permission policy whether the task's creator
// may run the action with this input, as each step begins (a retried or
// recovered task is asked again, under the policy of the day). A
// conditional decision is applied to the action and its input.
func (r *run) authorizeAction(ctx context.Context, actionID string, input map[string]any) error {
	if r.svc.perms == nil {
		return nil
	}
	d, c, err := r.svc.perms.DecideConditional(ctx, r.initiator, auth.Request{Permission: PermActionExecute, ResourceRef: actionID})
	if err == nil && d == auth.Conditional {
		var met bool
		met, err = actionMeets(c, actionID, input)
		d = auth.Deny
		if met {
			d = auth.Allow
		}
	}
	if err != nil {
		return fmt.Errorf("check permission to run action %s: %w", actionID, err)
	}
	if d != auth.Allow {
		who := r.initiator.Subject
		if who == "" {
			who = "the service that created the task"
		}
		return errs.NotAllowedf("action %s is not allowed for %s: the permission policy denies %s", actionID, who, PermActionExecute.Name)
	}
	return nil
}

// initiatorOf is the principal a task runs for: the user who created it, or
// a service (tasks keep only a creating user's ref).
func initiatorOf(userRef string) auth.Principal {
	if userRef == "" {
		return auth.Principal{Type: auth.TypeService}
	}
	return auth.Principal{Type: auth.TypeUser, Subject: userRef, OwnershipEntityRefs: []string{userRef}}
}

func (r *run) callAction(ctx context.Context, st TaskStep, action Action, input, item, output map[string]any) error {
	var temps []string
	defer func() {
		for _, d := range temps {
			_ = os.RemoveAll(d)
		}
	}()
	ac := &ActionContext{
		Input:         input,
		Secrets:       maps.Clone(r.secrets),
		Logger:        slog.New(&stepLogHandler{run: r, ctx: ctx, stepID: st.ID}),
		Workspace:     r.root,
		WorkspacePath: r.dir,
		TaskID:        r.taskID,
		StepID:        st.ID,
		StepName:      st.Name,
		TemplateInfo:  r.spec.TemplateInfo,
		User:          r.spec.User,
		Each:          item,
		IsDryRun:      r.dryRun,
		Output: func(name string, value any) {
			r.mu.Lock()
			defer r.mu.Unlock()
			if item != nil {
				list, _ := output[name].([]any)
				output[name] = append(list, value)
				return
			}
			output[name] = value
		},
		Checkpoint: func(ctx context.Context, key string, fn func(ctx context.Context) (json.RawMessage, error)) (json.RawMessage, error) {
			return r.checkpoint(ctx, st.ID, key, fn)
		},
		TempDir: func() (string, error) {
			d, err := os.MkdirTemp("", "portico-step-")
			if err == nil {
				temps = append(temps, d)
			}
			return d, err
		},
	}
	if err := action.Handler(ctx, ac); err != nil {
		return fmt.Errorf("action %s failed: %w", action.ID, err)
	}
	return nil
}

// saveWorkspace stores the workspace for recovery. A failure (a workspace
// over the provider's size limit, say) does not fail the task, which can
// still finish here; the log says that a recovery would lack the files.
func (r *run) saveWorkspace(ctx context.Context, stepID string) {
	if err := r.sink.serialize(ctx); err != nil {
		r.log(ctx, map[string]any{"message": "Could not save the workspace for recovery; if this task is recovered, its files are gone: " + err.Error(), "stepId": stepID})
	}
}

// checkpoint runs fn unless an earlier run stored its result.
func (r *run) checkpoint(ctx context.Context, stepID, key string, fn func(ctx context.Context) (json.RawMessage, error)) (json.RawMessage, error) {
	full := "v1.task.checkpoint." + stepID + "." + key
	r.mu.Lock()
	prev, ok := r.state.State.Checkpoints[full]
	r.mu.Unlock()
	if ok && prev.Status == "success" && prev.Value != nil {
		return prev.Value, nil
	}
	value, err := fn(ctx)
	cp := checkpoint{Status: "success", Value: value}
	if err != nil {
		cp = checkpoint{Status: "failed", Reason: err.Error()}
	} else if len(value) == 0 {
		cp.Value = json.RawMessage("{}")
	}
	r.mu.Lock()
	if r.state.State.Checkpoints == nil {
		r.state.State.Checkpoints = map[string]checkpoint{}
	}
	r.state.State.Checkpoints[full] = cp
	r.mu.Unlock()
	if serr := r.sink.saveCheckpoint(ctx, full, cp); serr != nil {
		return nil, fmt.Errorf("store checkpoint %s: %w", key, serr)
	}
	r.saveWorkspace(ctx, stepID)
	if err != nil {
		return nil, err
	}
	return cp.Value, nil
}

// context is the data templates see.
func (r *run) context(each map[string]any) map[string]any {
	r.mu.Lock()
	steps := make(map[string]any, len(r.outputs))
	for id, out := range r.outputs {
		steps[id] = map[string]any{"output": out}
	}
	r.mu.Unlock()
	secrets := make(map[string]any, len(r.secrets))
	for k, v := range r.secrets {
		secrets[k] = v
	}
	envSecrets := map[string]any{}
	for k, v := range r.svc.settings.EnvironmentSecrets {
		envSecrets[k] = v
	}
	envParams := r.svc.settings.EnvironmentParameters
	if envParams == nil {
		envParams = map[string]any{}
	}
	user := map[string]any{}
	if r.spec.User.Ref != "" {
		user["ref"] = r.spec.User.Ref
	}
	if r.spec.User.Entity != nil {
		user["entity"] = r.spec.User.Entity
	}
	data := map[string]any{
		"parameters":  r.spec.Parameters,
		"steps":       steps,
		"secrets":     secrets,
		"user":        user,
		"context":     map[string]any{"task": map[string]any{"id": r.taskID}},
		"environment": map[string]any{"parameters": envParams, "secrets": envSecrets},
	}
	if data["parameters"] == nil {
		data["parameters"] = map[string]any{}
	}
	if each != nil {
		data["each"] = each
	}
	return data
}

// renderAny renders every string inside v. Keys whose value renders to
// nothing (undefined) are dropped, as Backstage drops them.
func (r *run) renderAny(ctx context.Context, v any, data map[string]any, where string) (any, error) {
	switch t := v.(type) {
	case string:
		out, err := r.svc.templater.RenderValue(ctx, t, data)
		if err != nil {
			return nil, fmt.Errorf("%s: cannot render %q: %w", where, t, err)
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(t))
		for _, k := range slices.Sorted(maps.Keys(t)) {
			x, err := r.renderAny(ctx, t[k], data, where+"."+k)
			if err != nil {
				return nil, err
			}
			if x != nil {
				out[k] = x
			}
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			y, err := r.renderAny(ctx, x, data, fmt.Sprintf("%s[%d]", where, i))
			if err != nil {
				return nil, err
			}
			out[i] = y
		}
		return out, nil
	}
	return v, nil
}

// renderOutput renders spec.output; links and text entries whose if is
// falsy are left out.
func (r *run) renderOutput(ctx context.Context) (map[string]any, error) {
	if len(r.spec.Output) == 0 {
		return map[string]any{}, nil
	}
	data := r.context(nil)
	out := map[string]any{}
	for _, k := range slices.Sorted(maps.Keys(r.spec.Output)) {
		v := r.spec.Output[k]
		if list, ok := v.([]any); ok && (k == "links" || k == "text") {
			kept := []any{}
			for i, item := range list {
				m, ok := item.(map[string]any)
				if !ok {
					continue
				}
				rendered, err := r.renderAny(ctx, m, data, fmt.Sprintf("output.%s[%d]", k, i))
				if err != nil {
					return nil, err
				}
				rm, _ := rendered.(map[string]any)
				if _, has := m["if"]; has {
					if !truthy(rm["if"]) {
						continue
					}
					delete(rm, "if")
				}
				kept = append(kept, rm)
			}
			out[k] = kept
			continue
		}
		rendered, err := r.renderAny(ctx, v, data, "output."+k)
		if err != nil {
			return nil, err
		}
		out[k] = rendered
	}
	return r.redact.Value(out).(map[string]any), nil
}

// log records a log event with secrets redacted.
func (r *run) log(ctx context.Context, body map[string]any) { r.event(ctx, EventLog, body) }

func (r *run) event(ctx context.Context, typ string, body map[string]any) {
	if msg, ok := body["message"].(string); ok {
		body["message"] = r.redact.String(msg)
	}
	// Events are recorded even while the run's context ends, so the log
	// says why a run stopped.
	if err := r.sink.event(context.WithoutCancel(ctx), typ, body); err != nil {
		r.svc.log.Warn("record task event", "task", r.taskID, "err", err)
	}
}

// truthy is JavaScript truthiness, with empty arrays false (Backstage's
// isTruthy).
func truthy(v any) bool {
	switch t := v.(type) {
	case nil:
		return false
	case bool:
		return t
	case string:
		return t != ""
	case float64:
		return t != 0 && t == t
	case int:
		return t != 0
	case int64:
		return t != 0
	case json.Number:
		f, _ := t.Float64()
		return f != 0
	case []any:
		return len(t) > 0
	}
	return true
}

// eachItems turns an each value into {key, value} items.
func eachItems(v any) ([]map[string]any, error) {
	switch t := v.(type) {
	case []any:
		out := make([]map[string]any, len(t))
		for i, x := range t {
			out[i] = map[string]any{"key": strconv.Itoa(i), "value": x}
		}
		return out, nil
	case map[string]any:
		keys := slices.Collect(maps.Keys(t))
		sort.Strings(keys)
		out := make([]map[string]any, len(keys))
		for i, k := range keys {
			out[i] = map[string]any{"key": k, "value": t[k]}
		}
		return out, nil
	}
	return nil, fmt.Errorf("must render to an array or an object, got %s", describeValue(v))
}

func describeValue(v any) string {
	switch t := v.(type) {
	case nil:
		return "nothing"
	case string:
		return fmt.Sprintf("the string %q", t)
	case bool:
		return fmt.Sprintf("the boolean %v", t)
	case float64, int, int64:
		return fmt.Sprintf("the number %v", t)
	}
	return fmt.Sprintf("%T", v)
}

// exampleOutputs gives a dry run plausible outputs from an output schema:
// each property's first example, else a value of its type.
func exampleOutputs(schema map[string]any) map[string]any {
	out := map[string]any{}
	props, _ := schema["properties"].(map[string]any)
	for name, p := range props {
		ps, _ := p.(map[string]any)
		if ex, ok := ps["examples"].([]any); ok && len(ex) > 0 {
			out[name] = ex[0]
			continue
		}
		switch ps["type"] {
		case "number", "integer":
			out[name] = 0
		case "boolean":
			out[name] = false
		case "array":
			out[name] = []any{}
		case "object":
			out[name] = map[string]any{}
		default:
			out[name] = "<example>"
		}
	}
	return out
}

// stepLogHandler turns an action's slog records into task log events.
type stepLogHandler struct {
	run    *run
	ctx    context.Context
	stepID string
	attrs  []slog.Attr
	group  string
}

func (h *stepLogHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *stepLogHandler) Handle(_ context.Context, rec slog.Record) error {
	var b strings.Builder
	b.WriteString(rec.Message)
	write := func(a slog.Attr) bool {
		if a.Equal(slog.Attr{}) {
			return true
		}
		key := a.Key
		if h.group != "" {
			key = h.group + "." + key
		}
		fmt.Fprintf(&b, " %s=%v", key, a.Value.Any())
		return true
	}
	for _, a := range h.attrs {
		write(a)
	}
	rec.Attrs(write)
	h.run.log(h.ctx, map[string]any{"message": b.String(), "stepId": h.stepID})
	return nil
}

func (h *stepLogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(slices.Clone(h.attrs), attrs...)
	return &c
}

func (h *stepLogHandler) WithGroup(name string) slog.Handler {
	c := *h
	if c.group != "" {
		name = c.group + "." + name
	}
	c.group = name
	return &c
}
