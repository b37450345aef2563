package scaffolder_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/portico-dev/portico/internal/errs"
	"github.com/portico-dev/portico/internal/events"
	"github.com/portico-dev/portico/internal/scaffolder"
	"github.com/portico-dev/portico/internal/scaffolder/nunjucks"
	"github.com/portico-dev/portico/internal/scaffolder/workspaces"
	"github.com/portico-dev/portico/internal/store"
	"github.com/portico-dev/portico/internal/store/storetest"
)

// entities is a catalog of fixed entities, keyed by lower-case ref; the
// scaffolder only reads entities by ref.
type entities map[string][]byte

func (c entities) EntityJSON(_ context.Context, ref string) ([]byte, error) {
	if b, ok := c[strings.ToLower(ref)]; ok {
		return b, nil
	}
	return nil, errs.NotFoundf("no entity %s", ref)
}

// templateYAML turns a template written in YAML into entity JSON.
func templateYAML(t testing.TB, src string) []byte {
	t.Helper()
	var v any
	if err := yaml.Unmarshal([]byte(src), &v); err != nil {
		t.Fatalf("template yaml: %v", err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// counter counts how often each step's action really ran.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) inc(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[key]++
}

func (c *counter) get(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[key]
}

// testActions are actions a test binary registers through the public
// action API, as an integrator would.
func testActions(runs *counter, release <-chan struct{}) []scaffolder.Action {
	return []scaffolder.Action{
		{
			ID: "test:echo",
			Schema: scaffolder.ActionSchema{Input: map[string]any{
				"type": "object", "required": []any{"message"},
				"properties": map[string]any{"message": map[string]any{"type": "string"}},
			}},
			SupportsDryRun: true,
			Handler: func(ctx context.Context, ac *scaffolder.ActionContext) error {
				runs.inc(ac.StepID)
				msg, _ := ac.Input["message"].(string)
				ac.Logger.Info(msg)
				ac.Output("message", msg)
				return nil
			},
		},
		{
			ID: "test:write",
			Handler: func(ctx context.Context, ac *scaffolder.ActionContext) error {
				runs.inc(ac.StepID)
				name, _ := ac.Input["path"].(string)
				content, _ := ac.Input["content"].(string)
				return ac.Workspace.WriteFile(name, []byte(content), 0o644)
			},
		},
		{
			ID: "test:read",
			Handler: func(ctx context.Context, ac *scaffolder.ActionContext) error {
				runs.inc(ac.StepID)
				name, _ := ac.Input["path"].(string)
				data, err := ac.Workspace.ReadFile(name)
				if err != nil {
					return err
				}
				ac.Output("content", string(data))
				return nil
			},
		},
		{
			// test:block waits for release or the end of its context.
			ID: "test:block",
			Handler: func(ctx context.Context, ac *scaffolder.ActionContext) error {
				runs.inc(ac.StepID)
				select {
				case <-release:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			},
		},
		{
			// test:flaky fails on its first run and succeeds afterwards;
			// its checkpoint runs once however often the step runs.
			ID: "test:flaky",
			Handler: func(ctx context.Context, ac *scaffolder.ActionContext) error {
				runs.inc(ac.StepID)
				v, err := ac.Checkpoint(ctx, "create", func(ctx context.Context) (json.RawMessage, error) {
					runs.inc(ac.StepID + ".checkpoint")
					return json.RawMessage(`{"created":"repo-1"}`), nil
				})
				if err != nil {
					return err
				}
				ac.Output("checkpoint", string(v))
				if runs.get(ac.StepID) == 1 {
					return errors.New("the remote said no")
				}
				return nil
			},
		},
		{
			ID: "test:fail",
			Handler: func(ctx context.Context, ac *scaffolder.ActionContext) error {
				runs.inc(ac.StepID)
				return errors.New("boom")
			},
		},
	}
}

type env struct {
	db      *store.DB
	bus     *events.Bus
	catalog entities
	runs    *counter
	release chan struct{}
}

func newEnv(t testing.TB, db *store.DB) *env {
	return &env{db: db, bus: events.New(quietLog()), catalog: entities{}, runs: &counter{}, release: make(chan struct{})}
}

func quietLog() *slog.Logger {
	if os.Getenv("PORTICO_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func (e *env) addTemplate(t testing.TB, src string) {
	t.Helper()
	b := templateYAML(t, src)
	var m struct {
		Metadata struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	_ = json.Unmarshal(b, &m)
	ns := m.Metadata.Namespace
	if ns == "" {
		ns = "default"
	}
	e.catalog["template:"+ns+"/"+strings.ToLower(m.Metadata.Name)] = b
}

// service starts a Service on the env's database; it stops when the test
// ends (or when the returned stop is called).
func (e *env) service(t testing.TB, settings scaffolder.Settings, decorators ...scaffolder.FormDecorator) (*scaffolder.Service, func()) {
	t.Helper()
	if settings.ConcurrentTasksLimit == 0 {
		settings.ConcurrentTasksLimit = 4
	}
	settings.RecoveryEnabled = true
	if settings.StaleTimeout == 0 {
		settings.StaleTimeout = 30 * time.Second
	}
	if settings.RecoveryInterval == 0 {
		settings.RecoveryInterval = time.Second
	}
	if settings.JanitorFrequency == 0 {
		settings.JanitorFrequency = time.Minute
	}
	if settings.TaskTimeout == 0 {
		settings.TaskTimeout = time.Hour
	}
	if settings.GracefulShutdownTimeout == 0 {
		settings.GracefulShutdownTimeout = 5 * time.Second
	}
	var provider scaffolder.WorkspaceProvider
	if settings.WorkspaceProvider == scaffolder.WorkspaceDatabase {
		provider = &workspaces.Database{DB: e.db}
	}
	svc, err := scaffolder.New(context.Background(), scaffolder.Options{
		DB: e.db, Bus: e.bus, Catalog: e.catalog,
		Templater:  nunjucks.New(nunjucks.Options{}),
		Actions:    testActions(e.runs, e.release),
		Workspaces: provider, Decorators: decorators,
		Settings: settings, WorkingDirectory: t.TempDir(), Logger: quietLog(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = svc.Run(ctx)
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
	t.Cleanup(stop)
	return svc, stop
}

func migrations() []store.Migrations {
	return []store.Migrations{scaffolder.Migrations, workspaces.Migrations}
}

// runDB runs fn on SQLite and PostgreSQL.
func runDB(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	storetest.Run(t, fn, migrations()...)
}

// waitDone waits for the task to end and returns it.
func waitDone(t testing.TB, svc *scaffolder.Service, id string) *scaffolder.Task {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		task, err := svc.Task(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		switch task.Status {
		case scaffolder.StatusCompleted, scaffolder.StatusFailed, scaffolder.StatusCancelled:
			return task
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("task %s did not end within 30s", id)
	return nil
}

// waitFor polls cond until it holds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// eventBody is a decoded event body.
type eventBody struct {
	Message         string         `json:"message"`
	StepID          string         `json:"stepId"`
	Status          string         `json:"status"`
	Output          map[string]any `json:"output"`
	Error           *struct{ Name, Message string }
	RecoverStrategy string `json:"recoverStrategy"`
}

// logLines returns the task's events as "type status stepId: message".
func logLines(t testing.TB, svc *scaffolder.Service, id string) ([]string, []eventBody) {
	t.Helper()
	evs, err := svc.Events(context.Background(), id, 0)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	var bodies []eventBody
	for _, e := range evs {
		var b eventBody
		if err := json.Unmarshal(e.Body, &b); err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, b)
		head := e.Type
		for _, part := range []string{b.Status, b.StepID} {
			if part != "" {
				head += " " + part
			}
		}
		lines = append(lines, head+": "+b.Message)
	}
	return lines, bodies
}
