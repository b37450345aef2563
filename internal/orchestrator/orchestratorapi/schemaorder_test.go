package orchestratorapi_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/jsonorder/jsonordertest"
)

// The RHDH plugin renders the run form from /v2/workflows/{id}/inputSchema
// in the order of its properties, so they must come in the author's order,
// also with a re-run's pre-filled data.
func TestInputSchemaKeepsKeyOrder(t *testing.T) {
	both(t, func(t *testing.T, postgres bool) {
		e := start(t, postgres)
		files := map[string]string{
			"ordered/schemas/input.json": `{"type": "object", "title": "Ordered", "properties": {
  "zeta": {"type": "string"},
  "alpha": {"type": "object", "properties": {"z2": {"type": "string"}, "a2": {"type": "string"}}},
  "mid": {"type": "array", "items": {"type": "object", "properties": {"yy": {"type": "string"}, "bb": {"type": "string"}}}},
  "more": {"$ref": "parts.json#/part"}},
  "required": ["zeta"]}`,
			"ordered/schemas/parts.json": `{"part": {"type": "object", "properties": {"second": {"type": "string"}, "first": {"type": "string"}}}}`,
			"ordered/ordered.sw.yaml": `
id: ordered
version: "1.0"
specVersion: "0.8"
name: Ordered
dataInputSchema: schemas/input.json
start: Done
states:
  - name: Done
    type: inject
    data: {done: true}
    end: true
`,
		}
		for name, text := range files {
			p := filepath.Join(e.dir, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		var raw []byte
		for deadline := time.Now().Add(10 * time.Second); ; {
			status, b := e.alice.do("GET", "/v2/workflows/ordered/inputSchema", "")
			if status == 200 {
				raw = b
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the workflow was not loaded: %d %s", status, b)
			}
			time.Sleep(20 * time.Millisecond)
		}
		check := func(raw []byte) {
			t.Helper()
			for _, c := range []struct {
				path []any
				want []string
			}{
				{[]any{"inputSchema"}, []string{"type", "title", "properties", "required"}},
				{[]any{"inputSchema", "properties"}, []string{"zeta", "alpha", "mid", "more"}},
				{[]any{"inputSchema", "properties", "alpha", "properties"}, []string{"z2", "a2"}},
				{[]any{"inputSchema", "properties", "mid", "items", "properties"}, []string{"yy", "bb"}},
				{[]any{"inputSchema", "properties", "more", "properties"}, []string{"second", "first"}},
			} {
				if got := jsonordertest.KeysAt(t, raw, c.path...); !slices.Equal(got, c.want) {
					t.Errorf("%v = %v, want %v", c.path, got, c.want)
				}
			}
		}
		check(raw)

		id := execute(e.alice, "ordered", `{"inputData": {"zeta": "z", "mid": [{"bb": "b", "yy": "y"}], "other": 1}}`)
		raw = e.alice.json("GET", "/v2/workflows/ordered/inputSchema?instanceId="+id, "", 200, nil)
		check(raw)
		// Pre-filled: the schema's top-level properties the instance had.
		if got := jsonordertest.KeysAt(t, raw, "data"); !slices.Equal(slices.Sorted(slices.Values(got)), []string{"mid", "zeta"}) {
			t.Errorf("data = %v, want mid and zeta", got)
		}
		if r := e.alice.json("POST", "/v2/workflows/ordered/execute", `{"inputData": {"alpha": {}}}`, 400, nil); len(r) == 0 {
			t.Error("no error body for input without zeta")
		}
	})
}
