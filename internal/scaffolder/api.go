package scaffolder

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/errs"
	"github.com/portico-dev/portico/internal/events"
)

// CreateRequest is what POST /v2/tasks carries.
type CreateRequest struct {
	// TemplateRef names the template ("template:default/x"; kind defaults
	// to template, namespace to default).
	TemplateRef string            `json:"templateRef"`
	Values      map[string]any    `json:"values"`
	Secrets     map[string]string `json:"secrets,omitempty"`
	// UserRef is the creating user's entity ref ("" for services).
	UserRef string `json:"-"`
	// Token is the caller's token, kept as the backstageToken secret.
	Token string `json:"-"`
	// CanRunStep, when set, decides whether a step tagged with
	// backstage:permissions stays in the task (the HTTP API asks the
	// permission policy).
	CanRunStep func(TaskStep) bool `json:"-"`
}

// NormalizeTemplateRef fills in the default kind and namespace of a
// template ref and lower-cases it.
func NormalizeTemplateRef(ref string) (string, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return "", errs.InputErrorf("templateRef is required, e.g. template:default/my-template")
	}
	kind, rest := "template", ref
	if k, r, ok := strings.Cut(ref, ":"); ok && !strings.Contains(k, "/") {
		kind, rest = k, r
	}
	ns, name := "default", rest
	if n, m, ok := strings.Cut(rest, "/"); ok {
		ns, name = n, m
	}
	if name == "" || ns == "" || kind == "" {
		return "", errs.InputErrorf("templateRef %q is not an entity ref such as template:default/my-template", ref)
	}
	return strings.ToLower(kind + ":" + ns + "/" + name), nil
}

// Template reads a template from the catalog.
func (s *Service) Template(ctx context.Context, ref string) (*Template, error) {
	norm, err := NormalizeTemplateRef(ref)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(norm, "template:") {
		return nil, errs.InputErrorf("Invalid kind, only 'Template' kind is supported (got %s)", ref)
	}
	if s.catalog == nil {
		return nil, templateNotFound(norm)
	}
	body, err := s.catalog.EntityJSON(ctx, norm)
	if errs.KindOf(err) == errs.NotFound {
		return nil, templateNotFound(norm)
	}
	if err != nil {
		return nil, err
	}
	return ParseTemplate(body)
}

// CreateTask validates the values against the template, runs its form
// decorators, stores the task and wakes a worker. It returns the task id.
func (s *Service) CreateTask(ctx context.Context, req CreateRequest) (string, error) {
	tpl, err := s.Template(ctx, req.TemplateRef)
	if err != nil {
		return "", err
	}
	values := req.Values
	if values == nil {
		values = map[string]any{}
	}
	secrets := maps.Clone(req.Secrets)
	if secrets == nil {
		secrets = map[string]string{}
	}
	if uses := tpl.Spec.Decorators(); len(uses) > 0 {
		dc := &DecoratorContext{Values: values, Secrets: secrets, User: req.UserRef}
		if err := s.decorate(ctx, uses, dc); err != nil {
			return "", err
		}
		values, secrets = dc.Values, dc.Secrets
	}
	if err := tpl.ValidateValues(values, secrets); err != nil {
		return "", err
	}
	if req.Token != "" {
		secrets["backstageToken"] = req.Token
	}
	spec := s.taskSpec(ctx, tpl, values, req.UserRef)
	if req.CanRunStep != nil {
		kept := spec.Steps[:0]
		for _, st := range spec.Steps {
			if st.Permissions == nil || req.CanRunStep(st) {
				kept = append(kept, st)
			}
		}
		spec.Steps = kept
	}
	id, err := s.store.create(ctx, spec, req.UserRef, secrets)
	if err != nil {
		return "", err
	}
	s.Wake()
	s.publishTask(ctx)
	return id, nil
}

func (s *Service) taskSpec(ctx context.Context, tpl *Template, values map[string]any, userRef string) *TaskSpec {
	spec := &TaskSpec{
		APIVersion: tpl.APIVersion,
		Steps:      tpl.TaskSteps(),
		Recovery:   tpl.Spec.Recovery,
		Output:     tpl.Spec.Output,
		Parameters: values,
		TemplateInfo: TemplateInfo{
			EntityRef: tpl.Ref(),
			BaseURL:   tpl.baseURL(),
			Entity:    map[string]any{"metadata": tpl.Metadata},
		},
	}
	if spec.Output == nil {
		spec.Output = map[string]any{}
	}
	if userRef != "" {
		spec.User.Ref = userRef
		if s.catalog != nil {
			if body, err := s.catalog.EntityJSON(ctx, strings.ToLower(userRef)); err == nil {
				var entity map[string]any
				if json.Unmarshal(body, &entity) == nil {
					spec.User.Entity = entity
				}
			}
		}
	}
	return spec
}

// Task returns a task without its secrets.
func (s *Service) Task(ctx context.Context, id string) (*Task, error) { return s.store.get(ctx, id) }

// ListTasks lists tasks and counts all that match.
func (s *Service) ListTasks(ctx context.Context, o ListOptions) ([]*Task, int, error) {
	return s.store.list(ctx, o)
}

// Events returns a task's events after the event id after.
func (s *Service) Events(ctx context.Context, taskID string, after int64) ([]TaskEvent, error) {
	return s.store.listEvents(ctx, taskID, after)
}

// WaitEvents returns the task's events after after as soon as there are
// any, or an empty list when wait passes or stop closes.
func (s *Service) WaitEvents(ctx context.Context, taskID string, after int64, wait time.Duration, stop <-chan struct{}) ([]TaskEvent, error) {
	sub := s.bus.Subscribe(TopicEvents)
	defer func() { sub.Close() }()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	// A slow poll covers a lost notification (a replica's NOTIFY missed
	// while its listening connection was re-established).
	poll := time.NewTicker(3 * time.Second)
	defer poll.Stop()
	for {
		evs, err := s.store.listEvents(ctx, taskID, after)
		if err != nil {
			return nil, err
		}
		if hasNew(evs, after) {
			return evs, nil
		}
		if sub.Lagged() {
			sub.Close()
			sub = s.bus.Subscribe(TopicEvents)
		}
		if err := waitForEvents(ctx, sub, taskID, timer.C, poll.C, stop); err != nil {
			return []TaskEvent{}, nil
		}
	}
}

// hasNew reports whether evs is worth answering with.
func hasNew(evs []TaskEvent, after int64) bool {
	for _, e := range evs {
		if e.ID > after {
			return true
		}
	}
	return false
}

var errWaitOver = errors.New("wait over")

// waitForEvents blocks until the task may have new events (a bus message
// naming it, or the poll tick) or the wait is over (errWaitOver).
func waitForEvents(ctx context.Context, sub *events.Subscription, taskID string, timeout, poll <-chan time.Time, stop <-chan struct{}) error {
	for {
		select {
		case <-ctx.Done():
			return errWaitOver
		case <-stop:
			return errWaitOver
		case <-timeout:
			return errWaitOver
		case <-poll:
			return nil
		case msg, ok := <-sub.C():
			if !ok {
				// Lagged behind: read again, then rely on the poll.
				return nil
			}
			var m struct {
				TaskID string `json:"taskId"`
			}
			if json.Unmarshal(msg.Data, &m) == nil && m.TaskID == taskID {
				return nil
			}
		}
	}
}

// Cancel asks a task to stop.
func (s *Service) Cancel(ctx context.Context, id string) error {
	ended, err := s.store.cancel(ctx, id)
	if err != nil {
		return err
	}
	if !ended {
		s.cancelLocal(id)
		if err := s.bus.Publish(ctx, TopicCancelled, map[string]string{"taskId": id}); err != nil {
			s.log.Warn("announce a cancel", "task", id, "err", err)
		}
	}
	s.publishEvents(ctx, id)
	return nil
}

// Retry re-opens an ended task, which resumes at the step that failed.
// Secrets are validated against the template again.
func (s *Service) Retry(ctx context.Context, id string, secrets map[string]string, token string) error {
	t, err := s.store.get(ctx, id)
	if err != nil {
		return err
	}
	if secrets == nil {
		secrets = map[string]string{}
	}
	if tpl, err := s.Template(ctx, t.Spec.TemplateInfo.EntityRef); err == nil {
		if tpl.Spec.Secrets != nil && tpl.Spec.Secrets.Schema != nil {
			if err := tpl.ValidateValues(t.Spec.Parameters, secrets); err != nil {
				var ve *ValidationError
				if errors.As(err, &ve) && ve.What == "invalid secrets" {
					return err
				}
			}
		}
	}
	if token != "" {
		secrets["backstageToken"] = token
	}
	if err := s.store.retry(ctx, id, secrets); err != nil {
		return err
	}
	s.Wake()
	s.publishTask(ctx)
	s.publishEvents(ctx, id)
	return nil
}

// ParameterSchema is the answer of GET /v2/templates/.../parameter-schema.
type ParameterSchema struct {
	Title                string            `json:"title"`
	Description          string            `json:"description,omitempty"`
	Presentation         map[string]any    `json:"presentation,omitempty"`
	UIOptions            any               `json:"ui:options,omitempty"`
	Steps                []ParameterStep   `json:"steps"`
	FormDecorators       []DecoratorUse    `json:"formDecorators,omitempty"`
	LegacyFormDecorators []DecoratorUse    `json:"EXPERIMENTAL_formDecorators,omitempty"`
	Extra                map[string]string `json:"-"`
}

// ParameterStep is one form step.
type ParameterStep struct {
	Title       string         `json:"title"`
	Description string         `json:"description,omitempty"`
	Schema      map[string]any `json:"-"`
	// OrderedSchema is what is served: the step's schema with its keys in
	// the order the template wrote them (a *jsonorder.Object), as forms
	// show properties in the order of the JSON, which Schema, a Go map, has
	// lost. Without one (a template built in Go) it is Schema.
	OrderedSchema any `json:"schema"`
}

// ParameterSchema returns the form steps of a template.
func (s *Service) ParameterSchema(ctx context.Context, ref string) (*ParameterSchema, error) {
	tpl, err := s.Template(ctx, ref)
	if err != nil {
		return nil, err
	}
	title, _ := tpl.Metadata["title"].(string)
	if title == "" {
		title = tpl.Name()
	}
	desc, _ := tpl.Metadata["description"].(string)
	out := &ParameterSchema{
		Title: title, Description: desc, Presentation: tpl.Spec.Presentation,
		UIOptions: tpl.Metadata["ui:options"], Steps: []ParameterStep{},
	}
	for i, p := range tpl.Spec.Parameters {
		st := ParameterStep{Title: "Please enter the following information", Schema: p, OrderedSchema: p}
		if i < len(tpl.Spec.orderedParameters) && tpl.Spec.orderedParameters[i] != nil {
			st.OrderedSchema = tpl.Spec.orderedParameters[i]
		}
		if t, _ := p["title"].(string); t != "" {
			st.Title = t
		}
		st.Description, _ = p["description"].(string)
		out.Steps = append(out.Steps, st)
	}
	// Both names, so clients of either Backstage version find the list.
	if d := tpl.Spec.Decorators(); d != nil {
		out.FormDecorators, out.LegacyFormDecorators = d, d
	}
	return out, nil
}

// DryRunRequest is what POST /v2/dry-run carries.
type DryRunRequest struct {
	Template          json.RawMessage   `json:"template"`
	Values            map[string]any    `json:"values"`
	Secrets           map[string]string `json:"secrets,omitempty"`
	DirectoryContents []DryRunFile      `json:"directoryContents"`
	UserRef           string            `json:"-"`
}

// DryRunFile is one file of a dry run's workspace.
type DryRunFile struct {
	Path          string `json:"path"`
	Executable    bool   `json:"executable,omitempty"`
	Base64Content string `json:"base64Content"`
}

// DryRunResult is the answer of a dry run.
type DryRunResult struct {
	Log               []DryRunLog    `json:"log"`
	DirectoryContents []DryRunFile   `json:"directoryContents"`
	Output            map[string]any `json:"output"`
	Steps             []TaskStep     `json:"steps"`
}

// DryRunLog is one log line of a dry run.
type DryRunLog struct {
	Body map[string]any `json:"body"`
}

// maxDryRunFiles bounds the workspace a dry run returns.
const maxDryRunFiles = 10000

// DryRun runs a template without storing a task: actions that support dry
// runs run in a temporary workspace seeded with DirectoryContents; the
// others are skipped and answer with example outputs.
func (s *Service) DryRun(ctx context.Context, req DryRunRequest) (*DryRunResult, error) {
	tpl, err := ParseTemplate(req.Template)
	if err != nil {
		return nil, err
	}
	values := req.Values
	if values == nil {
		values = map[string]any{}
	}
	if err := tpl.ValidateValues(values, req.Secrets); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(s.workDir, "dry-run-content-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	for i, f := range req.DirectoryContents {
		data, err := base64.StdEncoding.DecodeString(f.Base64Content)
		if err != nil {
			return nil, errs.InputErrorf("directoryContents[%d].base64Content: not base64: %v", i, err)
		}
		clean := filepath.Clean(filepath.FromSlash(f.Path))
		if f.Path == "" || filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
			return nil, errs.InputErrorf("directoryContents[%d].path: %q must be a relative path inside the workspace", i, f.Path)
		}
		if d := filepath.Dir(clean); d != "." {
			if err := root.MkdirAll(d, 0o755); err != nil {
				return nil, errs.InputErrorf("directoryContents[%d].path: %v", i, err)
			}
		}
		mode := os.FileMode(0o644)
		if f.Executable {
			mode = 0o755
		}
		if err := root.WriteFile(clean, data, mode); err != nil {
			return nil, errs.InputErrorf("directoryContents[%d].path: %v", i, err)
		}
	}
	spec := s.taskSpec(ctx, tpl, values, req.UserRef)
	sink := &memorySink{}
	secrets := req.Secrets
	r := &run{
		svc: s, taskID: "dry-run", spec: spec, secrets: secrets, initiator: initiatorOf(req.UserRef),
		redact: newRedactor(secrets, s.settings.EnvironmentSecrets), sink: sink,
		dir: dir, root: root, dryRun: true,
	}
	out, runErr := r.execute(ctx, false)
	res := &DryRunResult{Log: sink.log, Output: out, Steps: spec.Steps, DirectoryContents: []DryRunFile{}}
	if res.Output == nil {
		res.Output = map[string]any{}
	}
	if runErr != nil {
		res.Log = append(res.Log, DryRunLog{Body: map[string]any{"message": r.redact.String(runErr.Error()), "status": StatusFailed}})
	}
	err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if len(res.DirectoryContents) >= maxDryRunFiles {
			return fmt.Errorf("the dry run wrote more than %d files", maxDryRunFiles)
		}
		data, err := fs.ReadFile(root.FS(), p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		res.DirectoryContents = append(res.DirectoryContents, DryRunFile{
			Path: p, Executable: info.Mode()&0o111 != 0, Base64Content: base64.StdEncoding.EncodeToString(data),
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// memorySink keeps a dry run's log in memory.
type memorySink struct{ log []DryRunLog }

func (m *memorySink) event(_ context.Context, _ string, body map[string]any) error {
	m.log = append(m.log, DryRunLog{Body: body})
	return nil
}
func (m *memorySink) saveStep(context.Context, string, map[string]any) error { return nil }
func (m *memorySink) saveCheckpoint(context.Context, string, checkpoint) error {
	return nil
}
func (m *memorySink) serialize(context.Context) error { return nil }
