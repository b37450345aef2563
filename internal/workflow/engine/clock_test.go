package engine_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/workflow/engine"
	"github.com/portico-dev/portico/internal/workflow/function"
)

// fakeClock is the engine's clock in tests: timers are computed from it
// and the test moves it.
type fakeClock struct{ now atomic.Pointer[time.Time] }

func (c *fakeClock) Now() time.Time      { return *c.now.Load() }
func (c *fakeClock) set(t time.Time)     { c.now.Store(&t) }
func (c *fakeClock) add(d time.Duration) { c.set(c.Now().Add(d)) }

// TestTimerDeadlines checks the deadline of every kind of timer against an
// injected clock, and that a restored instance keeps them.
func TestTimerDeadlines(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := &fakeClock{}
	clock.set(t0)
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "busy", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	h, p, _ := strings.Cut(strings.TrimPrefix(srv.URL, "http://"), ":")
	eng := engine.NewEngine(&function.Invoker{})
	eng.Now = clock.Now
	eng.Rand = func() float64 { return 0 }
	def := prepareYAML(t, eng, `
id: clocks
start: Nap
timeouts:
  workflowExecTimeout: PT1H
  stateExecTimeout: PT10M
functions:
  - {name: call, type: custom, operation: "rest:post:/x"}
retries:
  - {name: r, delay: PT10S, multiplier: 3, maxAttempts: 2}
events:
  - {name: e, type: e, source: t}
states:
  - name: Nap
    type: sleep
    duration: PT5M
    transition: Wait
  - name: Wait
    type: event
    timeouts: {eventTimeout: PT30S}
    onEvents: [{eventRefs: [e]}]
    transition: Call
  - name: Call
    type: operation
    actions: [{functionRef: call, retryRef: r, sleep: {before: PT1S}}]
    end: true
`, map[string]string{"kogito.sw.functions.call.host": h, "kogito.sw.functions.call.port": p})
	ctx := context.Background()
	j := &engine.MemoryJournal{}
	in, out, err := def.Start(ctx, j, engine.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	at := func(out *engine.Outcome) map[string]time.Duration {
		m := map[string]time.Duration{}
		for _, w := range out.Waits {
			if w.Kind == engine.WaitTimer {
				m[w.Reason] = w.At.Sub(t0)
			}
		}
		return m
	}
	expect := func(out *engine.Outcome, want map[string]time.Duration) {
		t.Helper()
		got := at(out)
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s timer at +%v, want +%v (all %v)", k, got[k], v, got)
			}
		}
		if len(got) != len(want) {
			t.Errorf("timers %v, want %v", got, want)
		}
	}
	fire := func(reason string) {
		t.Helper()
		for _, w := range out.Waits {
			if w.Reason == reason {
				clock.set(w.At)
				if out, err = in.Deliver(ctx, engine.Signal{WaitID: w.ID}); err != nil {
					t.Fatal(err)
				}
				return
			}
		}
		t.Fatalf("no %s timer in %+v", reason, out.Waits)
	}
	expect(out, map[string]time.Duration{"sleep": 5 * time.Minute, "stateExecTimeout": 10 * time.Minute, "workflowExecTimeout": time.Hour})
	fire("sleep")
	// The event state was entered at +5m.
	expect(out, map[string]time.Duration{"eventTimeout": 5*time.Minute + 30*time.Second, "stateExecTimeout": 15 * time.Minute, "workflowExecTimeout": time.Hour})

	// A restored instance reports the same deadlines.
	re, err := def.Restore(j.Entries(), j)
	if err != nil {
		t.Fatal(err)
	}
	clock.add(time.Second)
	rout, err := re.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	expect(rout, map[string]time.Duration{"eventTimeout": 5*time.Minute + 30*time.Second, "stateExecTimeout": 15 * time.Minute, "workflowExecTimeout": time.Hour})
	in = re
	out = rout

	fire("eventTimeout") // +5m30s: Call entered, its sleep.before requested
	expect(out, map[string]time.Duration{"actionSleep": 5*time.Minute + 31*time.Second, "stateExecTimeout": 15*time.Minute + 30*time.Second, "workflowExecTimeout": time.Hour})
	fire("actionSleep") // +5m31s: first call fails, retry after 10s
	expect(out, map[string]time.Duration{"retry": 5*time.Minute + 41*time.Second, "stateExecTimeout": 15*time.Minute + 30*time.Second, "workflowExecTimeout": time.Hour})
	fire("retry") // second call fails, retry after 30s
	expect(out, map[string]time.Duration{"retry": 6*time.Minute + 11*time.Second, "stateExecTimeout": 15*time.Minute + 30*time.Second, "workflowExecTimeout": time.Hour})
	fire("retry") // third call fails: maxAttempts reached
	if out.Status != engine.StatusError || calls.Load() != 3 {
		t.Fatalf("status %s after %d calls, want ERROR after 3", out.Status, calls.Load())
	}
}

// TestParallelBranchesRunConcurrently checks that branches (and parallel
// foreach iterations) call their services at the same time, and that
// atLeast completes without the branch that waits.
func TestParallelBranchesRunConcurrently(t *testing.T) {
	var inFlight, peak atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(200 * time.Millisecond)
		inFlight.Add(-1)
		w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	h, p, _ := strings.Cut(strings.TrimPrefix(srv.URL, "http://"), ":")
	props := map[string]string{"kogito.sw.functions.call.host": h, "kogito.sw.functions.call.port": p}
	eng := engine.NewEngine(&function.Invoker{})
	def := prepareYAML(t, eng, `
id: par
start: Fan
functions:
  - {name: call, type: custom, operation: "rest:post:/x"}
events:
  - {name: e, type: e, source: t}
states:
  - name: Fan
    type: parallel
    completionType: atLeast
    numCompleted: 3
    branches:
      - {name: a, actions: [{functionRef: call, actionDataFilter: {toStateData: .a}}]}
      - {name: b, actions: [{functionRef: call, actionDataFilter: {toStateData: .b}}]}
      - {name: c, actions: [{functionRef: call, actionDataFilter: {toStateData: .c}}]}
      - {name: d, actions: [{eventRef: {triggerEventRef: e, resultEventRef: e}}]}
    transition: Each
  - name: Each
    type: foreach
    inputCollection: "[1,2,3,4]"
    actions: [{functionRef: call}]
    end: true
`, props)
	start := time.Now()
	_, out, err := def.Start(context.Background(), &engine.MemoryJournal{}, engine.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != engine.StatusCompleted || !contains(out.Data, map[string]any{"a": map[string]any{"ok": true}, "c": map[string]any{"ok": true}}) {
		t.Fatalf("%s %v %v", out.Status, out.Error, out.Data)
	}
	if peak.Load() < 3 {
		t.Errorf("at most %d calls at once, want at least 3", peak.Load())
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("took %v: the calls ran one after another", d)
	}
}

// TestSubFlowWaits checks the sub-flow request a parent hands to its host,
// its actionExecTimeout, and both ways the wait can end.
func TestSubFlowWaits(t *testing.T) {
	eng := engine.NewEngine(&function.Invoker{})
	def := prepareYAML(t, eng, `
id: parent
start: Call
errors: [{name: late, code: TimeoutError}, {name: failed, code: SubFlowError}]
states:
  - name: Call
    type: operation
    timeouts: {actionExecTimeout: PT1M}
    actions: [{subFlowRef: {workflowId: child, version: "2"}, actionDataFilter: {toStateData: .child}}]
    onErrors: [{errorRef: late, transition: Late}, {errorRef: failed, transition: Failed}]
    end: true
  - {name: Late, type: inject, data: {late: true}, end: true}
  - {name: Failed, type: inject, data: {failed: true}, end: true}
`, nil)
	ctx := context.Background()
	for _, c := range []struct {
		name string
		sig  func(sub, timer engine.Wait) engine.Signal
		want map[string]any
	}{
		{"result", func(sub, _ engine.Wait) engine.Signal {
			return engine.Signal{WaitID: sub.ID, Result: map[string]any{"ok": true}}
		}, map[string]any{"child": map[string]any{"ok": true}}},
		{"failure", func(sub, _ engine.Wait) engine.Signal {
			return engine.Signal{WaitID: sub.ID, Error: &engine.ErrorInfo{Kind: engine.KindHTTP, Message: "boom", Status: 500}}
		}, map[string]any{"failed": true}},
		{"timeout", func(_, timer engine.Wait) engine.Signal { return engine.Signal{WaitID: timer.ID} }, map[string]any{"late": true}},
	} {
		in, out, err := def.Start(ctx, &engine.MemoryJournal{}, engine.StartOptions{InstanceID: "p1", Input: map[string]any{"x": 1}})
		if err != nil {
			t.Fatal(err)
		}
		var sub, timer engine.Wait
		for _, w := range out.Waits {
			switch w.Kind {
			case engine.WaitSubFlow:
				sub = w
			case engine.WaitTimer:
				timer = w
			}
		}
		if sub.SubFlow == nil || sub.SubFlow.WorkflowID != "child" || sub.SubFlow.Version != "2" || sub.SubFlow.ParentID != "p1" || timer.Reason != "actionExecTimeout" {
			t.Fatalf("%s: waits %+v", c.name, out.Waits)
		}
		out, err = in.Deliver(ctx, c.sig(sub, timer))
		if err != nil || out.Status != engine.StatusCompleted || !contains(out.Data, c.want) {
			t.Errorf("%s: %v %s %v", c.name, err, out.Status, out.Data)
		}
	}
}
