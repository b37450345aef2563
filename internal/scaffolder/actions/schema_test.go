package actions_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/portico-dev/portico/internal/scaffolder/actions"
)

// Every built-in action has a description, an example and input (and
// output) schemas that compile, as GET /v2/actions lists them.
func TestBuiltinSchemas(t *testing.T) {
	deps := actions.Deps{Catalog: nil}
	all := actions.Builtins(deps)
	var ids []string
	for _, a := range all {
		ids = append(ids, a.ID)
		if a.Description == "" || len(a.Examples) == 0 || a.Handler == nil {
			t.Errorf("%s: description, examples and handler are required", a.ID)
		}
		for kind, s := range map[string]map[string]any{"input": a.Schema.Input, "output": a.Schema.Output} {
			if s == nil {
				if kind == "input" {
					t.Errorf("%s has no input schema", a.ID)
				}
				continue
			}
			data, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(data)))
			if err != nil {
				t.Fatal(err)
			}
			c := jsonschema.NewCompiler()
			if err := c.AddResource("mem:///"+strings.ReplaceAll(a.ID, ":", "-")+"/"+kind, doc); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Compile("mem:///" + strings.ReplaceAll(a.ID, ":", "-") + "/" + kind); err != nil {
				t.Errorf("%s %s schema: %v", a.ID, kind, err)
			}
		}
	}
	want := []string{"debug:log", "debug:wait", "fetch:plain", "fetch:plain:file", "fetch:template", "fetch:template:file",
		"fs:delete", "fs:rename", "fs:readdir", "publish:git", "publish:github", "catalog:write"}
	for _, id := range want {
		if !slices.Contains(ids, id) {
			t.Errorf("Builtins lacks %s", id)
		}
	}
	if slices.Contains(ids, "catalog:register") || slices.Contains(ids, "orchestrator:workflow:run") {
		t.Errorf("actions without their dependency are listed: %v", ids)
	}
}
