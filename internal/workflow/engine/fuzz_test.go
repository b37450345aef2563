package engine_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/portico-dev/portico/internal/workflow"
	"github.com/portico-dev/portico/internal/workflow/engine"
	"github.com/portico-dev/portico/internal/workflow/function"
)

// FuzzRun runs a workflow whose input, condition, filters and expression
// function come from the fuzzer: whatever they are, the run must end
// (completed or failed) without panicking, and a restore from its journal
// must reach the same status.
func FuzzRun(f *testing.F) {
	f.Add(`{"a":1}`, `.a > 0`, `.a`, `{b: .a}`)
	f.Add(`{}`, `.x.y.z`, `${ .missing }`, `.a / 0`)
	f.Add(`{"list":[1,2,3]}`, `(.list | length) == 3`, `.list[]`, `error("boom")`)
	f.Add(`[1]`, `not valid jq (`, `$WORKFLOW.id`, `.[0]`)
	f.Fuzz(func(t *testing.T, input, cond, filter, fn string) {
		def := map[string]any{
			"id": "fuzz", "start": "Do",
			"functions": []any{map[string]any{"name": "f", "type": "expression", "operation": fn}},
			"states": []any{
				map[string]any{
					"name": "Do", "type": "operation",
					"actions":         []any{map[string]any{"functionRef": "f", "actionDataFilter": map[string]any{"results": filter}}},
					"stateDataFilter": map[string]any{"output": filter},
					"transition":      "Choose",
				},
				map[string]any{
					"name": "Choose", "type": "switch",
					"dataConditions":   []any{map[string]any{"condition": cond, "end": true}},
					"defaultCondition": map[string]any{"transition": "Each"},
				},
				map[string]any{
					"name": "Each", "type": "foreach", "inputCollection": filter, "outputCollection": ".out",
					"actions": []any{map[string]any{"functionRef": "f"}}, "end": true,
				},
			},
		}
		src, _ := json.Marshal(def)
		ctx := context.Background()
		w, err := workflow.Parse(ctx, "fuzz.sw.json", src, nil)
		if err != nil {
			return
		}
		eng := engine.NewEngine(&function.Invoker{})
		d, err := eng.Prepare(ctx, w, nil)
		if err != nil {
			return
		}
		var in any
		if json.Unmarshal([]byte(input), &in) != nil {
			return
		}
		j := &engine.MemoryJournal{}
		_, out, err := d.Start(ctx, j, engine.StartOptions{Input: in})
		if err != nil {
			return // invalid input
		}
		if out.Status != engine.StatusCompleted && out.Status != engine.StatusError {
			t.Fatalf("status %s", out.Status)
		}
		re, err := d.Restore(j.Entries(), nil)
		if err != nil || re.Status() != out.Status {
			t.Fatalf("restore: %v, status %v, want %v", err, re.Status(), out.Status)
		}
	})
}
