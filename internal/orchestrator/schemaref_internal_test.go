package orchestrator

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/portico-dev/portico/internal/workflow/engine"
	"github.com/portico-dev/portico/internal/workflow/function"
)

// A version's hash counts its schemas with sorted keys (as before they kept
// their order), so an upgrade does not make every deployed workflow a new
// version; what is served keeps the order as written.
func TestSchemaOrderAndVersionHash(t *testing.T) {
	load := func(shared string) *Workflow {
		t.Helper()
		fsys := fstest.MapFS{
			"flow/flow.sw.yaml": {Data: []byte(`
id: flow
version: "1.0"
specVersion: "0.8"
name: Flow
dataInputSchema: schemas/input.json
start: Done
states:
  - {name: Done, type: inject, data: {}, end: true}
`)},
			"flow/schemas/input.json": {Data: []byte(`{"type": "object", "properties": {"who": {"$ref": "../../shared/who.json"}}}`)},
			"shared/who.json":         {Data: []byte(shared)},
		}
		log := slog.New(slog.DiscardHandler)
		reg := NewRegistry(engine.NewEngine(&function.Invoker{Logger: log}), []Source{{Name: "test", FS: fsys}}, nil, log)
		if _, err := reg.Load(context.Background()); err != nil {
			t.Fatal(err)
		}
		wf, ok := reg.Get("flow")
		if !ok {
			t.Fatalf("not loaded: %v", reg.Errors())
		}
		return wf
	}
	a := load(`{"type": "object", "properties": {"zeta": {"type": "string"}, "alpha": {"type": "string"}}}`)
	b := load(`{"properties": {"alpha": {"type": "string"}, "zeta": {"type": "string"}}, "type": "object"}`)
	if a.Hash != b.Hash {
		t.Errorf("key order changed the version: %s and %s", a.Hash, b.Hash)
	}
	encA, _ := json.Marshal(a.InputSchema)
	encB, _ := json.Marshal(b.InputSchema)
	if !strings.Contains(string(encA), `"who":{"type":"object","properties":{"zeta":{"type":"string"},"alpha"`) {
		t.Errorf("served = %s", encA)
	}
	if !strings.Contains(string(encB), `"who":{"properties":{"alpha":{"type":"string"},"zeta"`) {
		t.Errorf("served = %s", encB)
	}
	// A different schema is a different version.
	if c := load(`{"type": "object", "properties": {"zeta": {"type": "number"}}}`); c.Hash == a.Hash {
		t.Error("a changed shared schema kept the version")
	}
}
