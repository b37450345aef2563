package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/portico-dev/portico/internal/workflow"
	"github.com/portico-dev/portico/internal/workflow/engine"
	"github.com/portico-dev/portico/internal/workflow/function"
)

const operatorWorkflow = `
id: ops
specVersion: "0.8"
start: Wait
events:
  - name: go
    source: tests
    type: go
states:
  - name: Wait
    type: event
    onEvents:
      - eventRefs: [go]
    transition: Check
  - name: Check
    type: switch
    dataConditions:
      - condition: ${ .fast }
        transition: Fast
    defaultCondition:
      transition: Slow
  - name: Fast
    type: inject
    data: {path: fast}
    end: true
  - name: Slow
    type: inject
    data: {path: slow}
    end: true
`

// TestOperatorActions checks that data updates, skips and jumps are
// journaled: a restore from the journal ends where the live instance is.
func TestOperatorActions(t *testing.T) {
	ctx := context.Background()
	eng := engine.NewEngine(&function.Invoker{})
	w, err := workflow.Parse(ctx, "ops.sw.yaml", []byte(operatorWorkflow), workflow.MapLoader{})
	if err != nil {
		t.Fatal(err)
	}
	def, err := eng.Prepare(ctx, w, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		op   func(in *engine.Instance) (*engine.Outcome, error)
		want string
	}{
		{"update then skip", func(in *engine.Instance) (*engine.Outcome, error) {
			if err := in.UpdateData(ctx, map[string]any{"fast": true}); err != nil {
				return nil, err
			}
			// Skipping Wait leads to Check, which sees the new data.
			return in.Skip(ctx)
		}, `{"fast":true,"path":"fast"}`},
		{"goto a switch", func(in *engine.Instance) (*engine.Outcome, error) {
			return in.Goto(ctx, "Check")
		}, `{"n":1,"path":"slow"}`},
		{"goto", func(in *engine.Instance) (*engine.Outcome, error) {
			return in.Goto(ctx, "Slow")
		}, `{"n":1,"path":"slow"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			j := &engine.MemoryJournal{}
			in, _, err := def.Start(ctx, j, engine.StartOptions{Input: map[string]any{"n": 1}})
			if err != nil {
				t.Fatal(err)
			}
			out, err := c.op(in)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(out.Data)
			if out.Status != engine.StatusCompleted || string(got) != c.want {
				t.Fatalf("%s %s, want %s", out.Status, got, c.want)
			}
			re, err := def.Restore(j.Entries(), nil)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := json.Marshal(re.Data())
			if re.Status() != engine.StatusCompleted || string(again) != c.want {
				t.Errorf("restored: %s %s", re.Status(), again)
			}
			if _, err := in.Skip(ctx); !errors.Is(err, engine.ErrNotRunning) {
				t.Errorf("skip of an ended instance: %v", err)
			}
		})
	}
}
