package scaffolder

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/events"
	"github.com/portico-dev/portico/internal/scaffolder/nunjucks"
	"github.com/portico-dev/portico/internal/store"
	"github.com/portico-dev/portico/internal/store/storetest"
)

type fixedCatalog map[string][]byte

func (c fixedCatalog) EntityJSON(_ context.Context, ref string) ([]byte, error) {
	return c[ref], nil
}

// TestStaleTaskIsRecovered claims a task as a replica would and lets that
// replica "die" (it never heartbeats); a running service recovers the task
// after the stale timeout. Without a strategy the completed step is
// skipped; with startOver it runs again and the event log starts at the
// recovery.
func TestStaleTaskIsRecovered(t *testing.T) {
	for _, strategy := range []string{"none", "startOver"} {
		t.Run(strategy, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T, db *store.DB) {
				tpl := map[string]any{
					"apiVersion": TemplateAPIVersion, "kind": "Template",
					"metadata": map[string]any{"name": "r"},
					"spec": map[string]any{
						"type":                  "service",
						"EXPERIMENTAL_recovery": map[string]any{"EXPERIMENTAL_strategy": strategy},
						"steps": []any{
							map[string]any{"id": "one", "action": "count"},
							map[string]any{"id": "two", "action": "count"},
						},
					},
				}
				body, _ := json.Marshal(tpl)
				var runs [2]atomic.Int32
				count := Action{ID: "count", Handler: func(ctx context.Context, ac *ActionContext) error {
					if ac.StepID == "one" {
						runs[0].Add(1)
					} else {
						runs[1].Add(1)
					}
					return nil
				}}
				log := slog.New(slog.NewTextHandler(io.Discard, nil))
				svc, err := New(context.Background(), Options{
					DB: db, Bus: events.New(log), Catalog: fixedCatalog{"template:default/r": body},
					Templater: nunjucks.New(nunjucks.Options{}), Actions: []Action{count},
					Settings: Settings{
						ConcurrentTasksLimit: 2, RecoveryEnabled: true,
						StaleTimeout: 200 * time.Millisecond, RecoveryInterval: 50 * time.Millisecond,
					},
					WorkingDirectory: t.TempDir(), Logger: log,
				})
				if err != nil {
					t.Fatal(err)
				}
				ctx := context.Background()
				id, err := svc.CreateTask(ctx, CreateRequest{TemplateRef: "r"})
				if err != nil {
					t.Fatal(err)
				}
				// The replica that dies: it claims, completes step one and
				// stops without a word.
				dead, err := svc.store.claim(ctx, true)
				if err != nil || dead == nil || dead.ID != id {
					t.Fatalf("claim: %v %v", dead, err)
				}
				runs[0].Add(1)
				if _, err := svc.store.log(ctx, id, EventLog, map[string]any{"message": "before the crash"}); err != nil {
					t.Fatal(err)
				}
				if err := svc.store.updateState(ctx, id, dead.RunID, func(st *taskState) {
					st.State.Steps = map[string]stepState{"one": {Status: StatusCompleted, Output: map[string]any{}}}
				}); err != nil {
					t.Fatal(err)
				}

				runCtx, cancel := context.WithCancel(ctx)
				done := make(chan struct{})
				go func() { defer close(done); _ = svc.Run(runCtx) }()
				defer func() { cancel(); <-done }()

				deadline := time.Now().Add(20 * time.Second)
				var task *Task
				for time.Now().Before(deadline) {
					if task, err = svc.Task(ctx, id); err != nil {
						t.Fatal(err)
					}
					if task.Status == StatusCompleted || task.Status == StatusFailed {
						break
					}
					time.Sleep(20 * time.Millisecond)
				}
				if task.Status != StatusCompleted {
					t.Fatalf("status %s", task.Status)
				}
				wantOne := int32(1)
				if strategy == "startOver" {
					wantOne = 2
				}
				if runs[0].Load() != wantOne || runs[1].Load() != 1 {
					t.Errorf("step runs = %d, %d; want %d, 1", runs[0].Load(), runs[1].Load(), wantOne)
				}
				evs, err := svc.Events(ctx, id, 0)
				if err != nil {
					t.Fatal(err)
				}
				first := evs[0]
				var rb struct {
					RecoverStrategy string `json:"recoverStrategy"`
				}
				_ = json.Unmarshal(first.Body, &rb)
				switch strategy {
				case "startOver":
					// The log starts at the recovery, and streams stay open
					// past the completion.
					if first.Type != EventRecovered || rb.RecoverStrategy != "startOver" || !first.IsTaskRecoverable {
						t.Errorf("first event %s %s", first.Type, first.Body)
					}
				default:
					if string(first.Body) != `{"message":"before the crash"}` {
						t.Errorf("first event %s %s", first.Type, first.Body)
					}
				}
			}, Migrations)
		})
	}
}

func TestConfigResolve(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name    string
		cfg     Config
		enabled bool
		stale   time.Duration
		ws      string
		bucket  string
		err     string
	}{
		{name: "defaults: recovery on, database workspaces", enabled: true, stale: 30 * time.Second, ws: WorkspaceDatabase},
		{name: "legacy keys", cfg: Config{LegacyRecoverTasks: &yes, LegacyRecoverTasksTimeout: time.Minute,
			LegacyWorkspaceSerialization: &yes, LegacyWorkspaceSerializationProvider: "gcpBucket", LegacyWorkspaceGcpBucketName: "b"},
			enabled: true, stale: time.Minute, ws: WorkspaceGCPBucket, bucket: "gs://b"},
		{name: "legacy off", cfg: Config{LegacyRecoverTasks: &no}, enabled: false, stale: 30 * time.Second, ws: WorkspaceNone},
		{name: "gcp without a bucket", cfg: Config{LegacyWorkspaceSerialization: &yes, LegacyWorkspaceSerializationProvider: "gcpBucket"}, err: "gcsBucket.name"},
		{name: "unknown provider", cfg: func() Config { var c Config; c.TaskRecovery.WorkspaceProvider = "ftp"; return c }(), err: "unknown provider"},
		{name: "new key wins", cfg: func() Config {
			var c Config
			c.TaskRecovery.Enabled, c.LegacyRecoverTasks = &no, &yes
			return c
		}(), enabled: false, stale: 30 * time.Second, ws: WorkspaceNone},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := tc.cfg.Resolve()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.RecoveryEnabled != tc.enabled || s.StaleTimeout != tc.stale || s.WorkspaceProvider != tc.ws || s.BucketURL != tc.bucket {
				t.Errorf("settings = %+v", s)
			}
		})
	}
}
