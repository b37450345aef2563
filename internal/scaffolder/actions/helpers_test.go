package actions_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/portico-dev/portico/internal/scaffolder"
	"github.com/portico-dev/portico/internal/scaffolder/actions"
)

// logSink records what an action logs.
type logSink struct {
	mu    sync.Mutex
	lines []string
}

func (s *logSink) Enabled(context.Context, slog.Level) bool { return true }
func (s *logSink) Handle(_ context.Context, r slog.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lines = append(s.lines, r.Message)
	return nil
}
func (s *logSink) WithAttrs([]slog.Attr) slog.Handler { return s }
func (s *logSink) WithGroup(string) slog.Handler      { return s }

func (s *logSink) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.lines, "\n")
}

// run is one call of an action in a fresh workspace, as a task step
// would make it.
type run struct {
	t          testing.TB
	ws         string
	root       *os.Root
	log        *logSink
	outputs    map[string]any
	checkpoint map[string]json.RawMessage
	baseURL    string
	secrets    map[string]string
	taskID     string
}

func newRun(t testing.TB) *run {
	t.Helper()
	ws := t.TempDir()
	root, err := os.OpenRoot(ws)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	return &run{t: t, ws: ws, root: root, log: &logSink{}, outputs: map[string]any{}, checkpoint: map[string]json.RawMessage{}, taskID: "task-1"}
}

// call runs the action with input through the public Builtins surface.
func (r *run) call(ctx context.Context, deps actions.Deps, id string, input map[string]any) error {
	r.t.Helper()
	var act *scaffolder.Action
	for _, a := range actions.Builtins(deps) {
		if a.ID == id {
			act = &a
			break
		}
	}
	if act == nil {
		r.t.Fatalf("no built-in action %s", id)
	}
	ac := &scaffolder.ActionContext{
		Input:         input,
		Secrets:       r.secrets,
		Logger:        slog.New(r.log),
		Workspace:     r.root,
		WorkspacePath: r.ws,
		TaskID:        r.taskID,
		StepID:        "step",
		StepName:      id,
		TemplateInfo:  scaffolder.TemplateInfo{EntityRef: "template:default/test", BaseURL: r.baseURL},
		Output:        func(name string, v any) { r.outputs[name] = v },
		Checkpoint: func(ctx context.Context, key string, fn func(ctx context.Context) (json.RawMessage, error)) (json.RawMessage, error) {
			if v, ok := r.checkpoint[key]; ok {
				return v, nil
			}
			v, err := fn(ctx)
			if err != nil {
				return nil, err
			}
			r.checkpoint[key] = v
			return v, nil
		},
		TempDir: func() (string, error) { return os.MkdirTemp(r.t.TempDir(), "tmp") },
	}
	return act.Handler(ctx, ac)
}

// write puts a file into the workspace.
func (r *run) write(name, content string) {
	r.t.Helper()
	p := filepath.Join(r.ws, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// read returns a workspace file, or "<missing>".
func (r *run) read(name string) string {
	r.t.Helper()
	data, err := os.ReadFile(filepath.Join(r.ws, filepath.FromSlash(name)))
	if os.IsNotExist(err) {
		return "<missing>"
	}
	if err != nil {
		r.t.Fatal(err)
	}
	return string(data)
}

// files lists the workspace's files (slash paths, sorted).
func (r *run) files() []string {
	r.t.Helper()
	var out []string
	err := filepath.WalkDir(r.ws, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(r.ws, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return out
}

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one mentioning %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not mention %q", err, p)
		}
	}
}

func osChmod(p string, mode os.FileMode) error { return os.Chmod(p, mode) }
