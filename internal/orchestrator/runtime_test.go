package orchestrator

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/store"
	"github.com/portico-dev/portico/internal/store/storetest"
	"github.com/portico-dev/portico/internal/workflow/engine"
	"github.com/portico-dev/portico/internal/workflow/function"
)

const startedByEvent = `
id: starter
version: "1.0"
specVersion: "0.8"
name: Started by an event
start: Begin
events:
  - name: begin
    source: tester
    type: test.begin
states:
  - name: Begin
    type: event
    onEvents:
      - eventRefs: [begin]
    end: true
`

const parentFlow = `
id: parent
version: "1.0"
specVersion: "0.8"
name: Parent
start: Call
states:
  - name: Call
    type: operation
    actions:
      - subFlowRef: child
    end: true
`

const childFlow = `
id: child
version: "1.0"
specVersion: "0.8"
name: Child
start: Done
states:
  - name: Done
    type: inject
    data: {child: done}
    end: true
`

func newTestRuntime(t *testing.T, db *store.DB, files map[string]string) *Runtime {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	log := slog.New(slog.DiscardHandler)
	reg := NewRegistry(engine.NewEngine(&function.Invoker{Logger: log}), []Source{{Name: dir, FS: os.DirFS(dir)}}, nil, log)
	if _, err := reg.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if errs := reg.Errors(); len(errs) > 0 {
		t.Fatalf("load: %v", errs)
	}
	return New(Options{DB: db, Registry: reg, Logger: log, Poll: 10 * time.Millisecond})
}

// Starts a crash cut short are redone by the sweep: a workflow whose
// starting event was stored but not consumed, and a sub-flow whose parent
// waits for it but that does not exist.
func TestSweepRedoesCutShortStarts(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		rt := newTestRuntime(t, db, map[string]string{
			"starter/starter.sw.yaml": startedByEvent, "parent/parent.sw.yaml": parentFlow, "child/child.sw.yaml": childFlow,
		})
		old := store.Now().Add(-time.Hour)

		ev := &engine.Event{ID: "e1", Source: "tester", Type: "test.begin", Data: map[string]any{"x": 1}}
		data, _ := json.Marshal(ev)
		if _, err := db.ExecContext(ctx, `INSERT INTO orchestrator_events (source, id, type, event, received_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			ev.Source, ev.ID, ev.Type, string(data), old, store.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}

		// A parent that waits for a child that was never started.
		res, err := rt.Start(ctx, StartRequest{WorkflowID: "parent", Data: map[string]any{}})
		if err != nil {
			t.Fatal(err)
		}
		var child string
		if err := db.QueryRowContext(ctx, `SELECT child_id FROM orchestrator_waits WHERE instance_id = $1`, res.ID).Scan(&child); err != nil {
			t.Fatalf("the parent does not wait for its child: %v", err)
		}
		// The child ran synchronously; make it as if its start was lost.
		for _, q := range []string{`DELETE FROM orchestrator_instances WHERE id = $1`, `DELETE FROM orchestrator_journal WHERE instance_id = $1`} {
			if _, err := db.ExecContext(ctx, q, child); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.ExecContext(ctx, `UPDATE orchestrator_waits SET signal = NULL, due_at = NULL WHERE instance_id = $1`, res.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `UPDATE orchestrator_instances SET last_update = $1 WHERE id = $2`, old, res.ID); err != nil {
			t.Fatal(err)
		}

		if err := rt.sweepOrphans(ctx); err != nil {
			t.Fatal(err)
		}
		var started, consumed int
		_ = db.QueryRowContext(ctx, `SELECT COUNT(*) FROM orchestrator_instances WHERE process_id = 'starter' AND state = 'COMPLETED'`).Scan(&started)
		_ = db.QueryRowContext(ctx, `SELECT COUNT(*) FROM orchestrator_events WHERE consumed_at IS NOT NULL`).Scan(&consumed)
		if started != 1 || consumed != 1 {
			t.Errorf("event start: %d instances, %d consumed events", started, consumed)
		}
		// Sweeping again starts nothing more.
		if err := rt.sweepOrphans(ctx); err != nil {
			t.Fatal(err)
		}
		_ = db.QueryRowContext(ctx, `SELECT COUNT(*) FROM orchestrator_instances WHERE process_id = 'starter'`).Scan(&started)
		if started != 1 {
			t.Errorf("%d instances after a second sweep", started)
		}
		// The child exists again and its end reached the parent.
		if _, err := rt.dispatch(ctx); err != nil {
			t.Fatal(err)
		}
		rt.inflight.Wait()
		var state string
		_ = db.QueryRowContext(ctx, `SELECT state FROM orchestrator_instances WHERE id = $1`, res.ID).Scan(&state)
		if state != "COMPLETED" {
			t.Errorf("parent %s", state)
		}
	}, Migrations)
}

const greetAndFail = `
id: steps
version: "1.0"
specVersion: "0.8"
name: Steps
start: Pick
functions:
  - name: log
    type: custom
    operation: sysout
  - name: down
    type: custom
    operation: rest:get:http://127.0.0.1:9/down
states:
  - name: Pick
    type: switch
    dataConditions:
      - condition: '${ .fail == true }'
        transition: Fail
    defaultCondition:
      transition: Greet
  - name: Greet
    type: operation
    actions:
      - name: say
        functionRef: {refName: log, arguments: {message: hello}}
    transition: Done
  - name: Done
    type: inject
    data: {done: true}
    end: true
  - name: Fail
    type: operation
    actions:
      - functionRef: down
    end: true
`

// The node instance table matches what engine.Nodes derives from the
// journal, for an instance that completes and one that fails.
func TestNodeInstancesFollowTheJournal(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		rt := newTestRuntime(t, db, map[string]string{"steps/steps.sw.yaml": greetAndFail})
		for _, fail := range []bool{false, true} {
			res, err := rt.Start(ctx, StartRequest{WorkflowID: "steps", Data: map[string]any{"fail": fail}})
			if err != nil {
				t.Fatal(err)
			}
			entries, _, err := loadJournal(ctx, db, rt.codec, res.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := engine.Nodes(entries)
			got, err := rt.NodeInstances(ctx, res.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("fail=%v: %d node instances, want %d: %+v", fail, len(got), len(want), got)
			}
			byID := map[string]NodeInstance{}
			for _, n := range got {
				byID[n.ID] = n
			}
			for _, w := range want {
				g, ok := byID[w.ID]
				if !ok {
					t.Errorf("fail=%v: node %s missing", fail, w.ID)
					continue
				}
				if g.DefinitionID != w.DefinitionID || g.Name != w.Name || g.Type != w.Type || g.ErrorMessage != w.Error ||
					!g.Enter.Equal(w.Enter.UTC().Truncate(time.Microsecond)) || (g.Exit == nil) != w.Exit.IsZero() {
					t.Errorf("fail=%v: node %s = %+v, want %+v", fail, w.ID, g, w)
				}
			}
		}
	}, Migrations)
}

const sleeper = `
id: sleeper
version: "1.0"
specVersion: "0.8"
name: Sleeper
start: Sleep
states:
  - name: Sleep
    type: sleep
    duration: PT1H
    transition: Done
  - name: Done
    type: inject
    data: {done: true}
    end: true
`

// A replica whose lease expired cannot write over the replica that took
// the instance over: its next journal write fails with ErrLeaseLost.
func TestLeaseFencing(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		files := map[string]string{"sleeper/sleeper.sw.yaml": sleeper}
		a := newTestRuntime(t, db, files)
		b := newTestRuntime(t, db, files)
		a.lease, b.lease = time.Minute, time.Minute
		res, err := a.Start(ctx, StartRequest{WorkflowID: "sleeper", Data: map[string]any{}})
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := a.claim(ctx, res.ID, "ACTIVE"); err != nil || !ok {
			t.Fatalf("a claims: %v %v", ok, err)
		}
		in, j, _, err := a.restore(ctx, res.ID)
		if err != nil {
			t.Fatal(err)
		}
		// While a's lease holds, b cannot take the instance.
		if ok, _ := b.claim(ctx, res.ID, "ACTIVE"); ok {
			t.Fatal("b claimed an instance a holds")
		}
		// a stalls past its lease (moved into the past rather than waited
		// for, so a slow machine cannot expire it early).
		if _, err := db.ExecContext(ctx, `UPDATE orchestrator_instances SET lease_expiry = $1 WHERE id = $2`, store.Now().Add(-time.Second), res.ID); err != nil {
			t.Fatal(err)
		}
		if ok, err := b.claim(ctx, res.ID, "ACTIVE"); err != nil || !ok {
			t.Fatalf("b claims the expired lease: %v %v", ok, err)
		}
		if _, err := in.Abort(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := a.finish(ctx, in, j, &engine.Outcome{Status: engine.StatusAborted}, nil); err != ErrLeaseLost {
			t.Fatalf("a's write after losing the lease: %v, want ErrLeaseLost", err)
		}
		var state, owner string
		_ = db.QueryRowContext(ctx, `SELECT state, lease_owner FROM orchestrator_instances WHERE id = $1`, res.ID).Scan(&state, &owner)
		if state != "ACTIVE" || owner != b.Owner() {
			t.Errorf("after a's failed write: state %s, owner %s", state, owner)
		}
	}, Migrations)
}

// Paths that name no workflow go to the fallback (a web UI), for GET only.
func TestFallbackForUnknownNames(t *testing.T) {
	db := storetest.SQLite(t, Migrations)
	rt := newTestRuntime(t, db, map[string]string{"sleeper/sleeper.sw.yaml": sleeper})
	h := &HTTP{Runtime: rt, Fallback: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{workflowId}", h.list)
	mux.HandleFunc("/{workflowId}/{rest...}", h.instanceResource)
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/favicon.ico", http.StatusTeapot},
		{"GET", "/catalog/default", http.StatusTeapot},
		{"DELETE", "/catalog/default", http.StatusNotFound},
		{"GET", "/sleeper", http.StatusOK},
		{"GET", "/sleeper/no-such-instance", http.StatusNotFound},
	} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != tc.want {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, rec.Code, tc.want)
		}
	}
}
