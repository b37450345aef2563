package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/portico-dev/portico/internal/workflow"
	"github.com/portico-dev/portico/internal/workflow/engine"
	"github.com/portico-dev/portico/internal/workflow/function"
)

// replayWorkflow touches every kind of step: function calls in sequence,
// in parallel branches and in foreach iterations, a sleep, an event wait
// and a retry.
const replayWorkflow = `
id: replay
version: "1.0"
start: Call
functions:
  - name: add
    type: custom
    operation: rest:post:/add/{name}
  - name: flaky
    type: custom
    operation: rest:post:/flaky
events:
  - name: go
    type: go
    source: test
retries:
  - name: again
    delay: PT1S
    maxAttempts: 3
states:
  - name: Call
    type: operation
    actions:
      - functionRef: {refName: add, arguments: {name: first, value: 1}}
        actionDataFilter: {toStateData: .first}
      - functionRef: {refName: flaky, arguments: {n: 1}}
        retryRef: again
        actionDataFilter: {toStateData: .flaky}
    transition: Nap
  - name: Nap
    type: sleep
    duration: PT1H
    transition: Fan
  - name: Fan
    type: parallel
    branches:
      - name: a
        actions:
          - functionRef: {refName: add, arguments: {name: a, value: 2}}
            actionDataFilter: {toStateData: .a}
      - name: b
        actions:
          - functionRef: {refName: add, arguments: {name: b, value: 3}}
            actionDataFilter: {toStateData: .b}
    transition: Wait
  - name: Wait
    type: event
    onEvents:
      - eventRefs: [go]
        eventDataFilter: {toStateData: .event}
        actions:
          - functionRef: {refName: add, arguments: {name: after-event, value: 4}}
            actionDataFilter: {toStateData: .afterEvent}
    transition: Each
  - name: Each
    type: foreach
    inputCollection: .items
    iterationParam: item
    outputCollection: .results
    actions:
      - functionRef: {refName: add, arguments: {name: "${ \"item\" + ($item|tostring) }", value: "${ $item }"}}
        actionDataFilter: {results: .value}
    end: true
`

// countingStub counts calls per path; /flaky fails twice, then works.
type countingStub struct {
	mu    sync.Mutex
	calls map[string]int
}

func (s *countingStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.calls[r.URL.Path]++
	n := s.calls[r.URL.Path]
	s.mu.Unlock()
	if r.URL.Path == "/flaky" && n <= 2 {
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	var body map[string]any
	json.NewDecoder(r.Body).Decode(&body)
	jsonHandler(map[string]any{"value": body["value"], "path": r.URL.Path})(w, r)
}

func (s *countingStub) snapshot() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

var errCrash = errors.New("simulated crash")

// crashJournal stores entries and fails the batch numbered failAt, as if
// the process died while writing it.
type crashJournal struct {
	stored  *[]engine.Entry
	count   *int
	failAt  int
	crashed *[]engine.Entry
}

func (j *crashJournal) Append(_ context.Context, entries ...engine.Entry) error {
	*j.count++
	if *j.count == j.failAt {
		*j.crashed = entries
		return errCrash
	}
	*j.stored = append(*j.stored, entries...)
	return nil
}

func prepareYAML(t testing.TB, eng *engine.Engine, src string, props map[string]string) *engine.Definition {
	t.Helper()
	ctx := context.Background()
	w, err := workflow.Parse(ctx, "test.sw.yaml", []byte(src), workflow.MapLoader{})
	if err != nil {
		t.Fatal(err)
	}
	if fs := workflow.Validate(ctx, w); workflow.HasErrors(fs) {
		t.Fatal(fs)
	}
	d, err := eng.Prepare(ctx, w, props)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// runWithCrash runs the replay workflow, crashing once at journal batch
// failAt (0: never) and restoring from the journal after the crash. It
// returns the output and the calls the stub saw, and whether the failed
// batch recorded an action's completion.
func runWithCrash(t *testing.T, failAt int) (any, map[string]int, bool, int) {
	t.Helper()
	ctx := context.Background()
	stub := &countingStub{calls: map[string]int{}}
	srv := httptest.NewServer(stub)
	defer srv.Close()
	h, p, _ := strings.Cut(strings.TrimPrefix(srv.URL, "http://"), ":")
	props := map[string]string{}
	for _, fn := range []string{"add", "flaky"} {
		props["kogito.sw.functions."+fn+".host"] = h
		props["kogito.sw.functions."+fn+".port"] = p
	}
	eng := engine.NewEngine(&function.Invoker{})
	def := prepareYAML(t, eng, replayWorkflow, props)

	var stored, crashed []engine.Entry
	count := 0
	j := &crashJournal{stored: &stored, count: &count, failAt: failAt, crashed: &crashed}
	var in *engine.Instance
	var out *engine.Outcome
	var err error
	restored := false
	restore := func() {
		t.Helper()
		if restored {
			t.Fatalf("crashed twice")
		}
		restored = true
		// A durable host stores entries as JSON: restore from that form.
		b, merr := json.Marshal(stored)
		if merr != nil {
			t.Fatalf("marshal journal: %v", merr)
		}
		var decoded []engine.Entry
		if uerr := json.Unmarshal(b, &decoded); uerr != nil {
			t.Fatalf("unmarshal journal: %v", uerr)
		}
		stored = decoded
		in, err = def.Restore(stored, j)
		if err != nil {
			t.Fatalf("restore: %v", err)
		}
		out, err = in.Run(ctx)
	}
	in, err = def.New(ctx, j, engine.StartOptions{InstanceID: "i-1", Input: map[string]any{"items": []any{1, 2, 3}}})
	if errors.Is(err, errCrash) {
		if len(stored) == 0 {
			// Nothing was recorded: the instance never started; start again.
			restored = true
			in, err = def.New(ctx, j, engine.StartOptions{InstanceID: "i-1", Input: map[string]any{"items": []any{1, 2, 3}}})
		}
	}
	if err == nil {
		out, err = in.Run(ctx)
	}
	for range 100 {
		if errors.Is(err, errCrash) {
			restore()
			continue
		}
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		if out.Status != engine.StatusActive {
			break
		}
		if len(out.Waits) == 0 {
			t.Fatalf("active with no waits")
		}
		w := out.Waits[0]
		sig := engine.Signal{WaitID: w.ID}
		if w.Kind == engine.WaitEvent {
			sig.Event = ev("go", map[string]any{"hello": "world"})
		}
		out, err = in.Deliver(ctx, sig)
	}
	if out.Status != engine.StatusCompleted {
		t.Fatalf("status %s: %v", out.Status, out.Error)
	}
	completedInCrash := false
	for _, e := range crashed {
		completedInCrash = completedInCrash || e.Kind == engine.EntryActionCompleted || e.Kind == engine.EntryActionFailed
	}
	return out.Data, stub.snapshot(), completedInCrash, count
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestReplayAfterEveryStep crashes the instance at every journal write in
// turn, restores it from what was written and checks that it ends with the
// same data and that no recorded action ran again.
func TestReplayAfterEveryStep(t *testing.T) {
	want, wantCalls, _, batches := runWithCrash(t, 0)
	if wantCalls["/flaky"] != 3 {
		t.Fatalf("flaky called %d times, want 3 (two failures, then success)", wantCalls["/flaky"])
	}
	for failAt := 1; failAt <= batches; failAt++ {
		got, calls, lostCompletion, _ := runWithCrash(t, failAt)
		if g, w := mustJSON(t, got), mustJSON(t, want); g != w {
			t.Errorf("crash at batch %d: output %v, want %v", failAt, got, want)
		}
		extra := 0
		for path, n := range calls {
			extra += n - wantCalls[path]
		}
		// Only a call whose completion was being written when the process
		// died may run again: nothing recorded it.
		if extra < 0 || extra > 1 || extra == 1 && !lostCompletion {
			t.Errorf("crash at batch %d: calls %v, want %v (completion lost: %v)", failAt, calls, wantCalls, lostCompletion)
		}
	}
}
