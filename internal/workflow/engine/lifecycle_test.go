package engine_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/portico-dev/portico/internal/workflow/engine"
	"github.com/portico-dev/portico/internal/workflow/function"
)

// TestAbortCompensates aborts an instance waiting for an event: as in
// SonataFlow, the completed state with compensatedBy is compensated first.
func TestAbortCompensates(t *testing.T) {
	ctx := context.Background()
	eng := engine.NewEngine(&function.Invoker{})
	defs := loadDir(t, eng, filepath.Join("testdata", "corpus", "compensation-on-abort"), nil)
	def := defs["compensation_aborted.sw.json"]
	j := &engine.MemoryJournal{}
	in, out, err := def.Start(ctx, j, engine.StartOptions{Input: map[string]any{"value": 4}})
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != engine.StatusActive || !contains(out.Data, map[string]any{"value": 8.0}) {
		t.Fatalf("before abort: %s %v", out.Status, out.Data)
	}
	out, err = in.Abort(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != engine.StatusAborted || !contains(out.Data, map[string]any{"value": 4.0}) {
		t.Fatalf("after abort: %s %v", out.Status, out.Data)
	}
	if _, err := in.Deliver(ctx, engine.Signal{WaitID: "x"}); !errors.Is(err, engine.ErrNoSuchWait) {
		t.Errorf("deliver after abort: %v", err)
	}
	// The journal rebuilds the same end.
	re, err := def.Restore(j.Entries(), nil)
	if err != nil || re.Status() != engine.StatusAborted {
		t.Fatalf("restored: %v %v", re.Status(), err)
	}
	nodes := engine.Nodes(j.Entries())
	var names []string
	for _, n := range nodes {
		names = append(names, n.Name+":"+n.Type)
	}
	want := []string{"Start:StartNode", "double:CompositeContextNode", "double:WorkItemNode", "waitEvent:CompositeContextNode", "half:CompositeContextNode", "half:WorkItemNode", "End:EndNode"}
	if len(names) != len(want) {
		t.Fatalf("nodes %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Errorf("node %d = %s, want %s", i, names[i], want[i])
		}
	}
	for _, n := range nodes {
		if n.Exit.IsZero() || n.Exit.Before(n.Enter) {
			t.Errorf("node %s: enter %v exit %v", n.Name, n.Enter, n.Exit)
		}
	}
}

// TestStaleSignals checks that signals for waits that are not open are
// refused and change nothing.
func TestStaleSignals(t *testing.T) {
	ctx := context.Background()
	eng := engine.NewEngine(&function.Invoker{})
	def := prepareYAML(t, eng, `
id: s
start: Choose
events:
  - {name: yes, type: yes, source: t}
  - {name: no, type: no, source: t}
states:
  - name: Choose
    type: switch
    eventConditions:
      - {eventRef: yes, transition: Yes}
      - {eventRef: no, transition: No}
    defaultCondition: {transition: No}
    timeouts: {eventTimeout: PT1M}
  - {name: Yes, type: inject, data: {answer: yes}, end: true}
  - {name: No, type: inject, data: {answer: no}, end: true}
`, nil)
	j := &engine.MemoryJournal{}
	in, out, err := def.Start(ctx, j, engine.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Waits) != 2 {
		t.Fatalf("waits %+v", out.Waits)
	}
	if _, err := in.DeliverEvent(ctx, ev("maybe", nil)); !errors.Is(err, engine.ErrNoSuchWait) {
		t.Errorf("unknown event: %v", err)
	}
	n := len(j.Entries())
	out, err = in.DeliverEvent(ctx, ev("yes", map[string]any{}))
	if err != nil || out.Status != engine.StatusCompleted || !contains(out.Data, map[string]any{"answer": "yes"}) {
		t.Fatalf("yes: %v %+v", err, out)
	}
	if len(j.Entries()) == n {
		t.Error("the event was not journaled")
	}
	// The timeout timer of the finished state fires late: refused.
	if _, err := in.Deliver(ctx, engine.Signal{WaitID: "s1/eventTimeout"}); !errors.Is(err, engine.ErrNoSuchWait) {
		t.Errorf("late timer: %v", err)
	}
}

// TestInvalidInput checks that Start refuses input that is not an object
// or does not match the schema, with ErrInvalidInput.
func TestInvalidInput(t *testing.T) {
	eng := engine.NewEngine(&function.Invoker{})
	def := prepareYAML(t, eng, "id: x\nstart: A\nstates:\n  - {name: A, type: inject, data: {}, end: true}\n", nil)
	for _, in := range []any{[]any{1}, "text", 3} {
		if _, _, err := def.Start(context.Background(), nil, engine.StartOptions{Input: in}); !errors.Is(err, engine.ErrInvalidInput) {
			t.Errorf("input %v: %v", in, err)
		}
	}
}
