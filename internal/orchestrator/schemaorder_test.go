package orchestrator_test

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/portico-dev/portico/internal/jsonorder/jsonordertest"
)

// orderedWorkflows have schemas whose properties are deliberately not
// sorted: forms show fields in the order of the schema's keys, so every
// route that serves a schema must keep the author's order.
var orderedWorkflows = map[string]string{
	"shared/defs.json": `{"definitions": {
  "address": {"type": "object", "properties": {"street": {"type": "string"}, "city": {"type": "string"}, "at": {"$ref": "#/definitions/point"}}},
  "point": {"type": "object", "properties": {"lon": {"type": "number"}, "lat": {"type": "number"}}}}}`,
	"ordered/schemas/input.json": `{
  "type": "object",
  "title": "Ordered",
  "properties": {
    "zeta": {"type": "string"},
    "alpha": {"type": "object", "properties": {"z2": {"type": "string"}, "a2": {"type": "string"}}},
    "mid": {"type": "array", "items": {"type": "object", "properties": {"yy": {"type": "string"}, "bb": {"type": "string"}}}},
    "home": {"$ref": "../../shared/defs.json#/definitions/address", "title": "Home", "description": "Where"}
  },
  "required": ["zeta"]
}`,
	"ordered/schemas/output.json": `{"type": "object", "properties": {"zz": {"type": "string"}, "aa": {"type": "string"}}}`,
	"ordered/ordered.sw.yaml": `
id: ordered
version: "1.0"
specVersion: "0.8"
name: Ordered schema
dataInputSchema: schemas/input.json
extensions:
  - extensionid: workflow-output-schema
    outputSchema: {schema: schemas/output.json, failOnValidationErrors: false}
start: Done
states:
  - name: Done
    type: inject
    data: {ok: true}
    end: true
`,
	// Inline schemas in a JSON workflow file: the parser converts them
	// through maps.
	"inline/inline.sw.json": `{
  "id": "inline",
  "version": "1.0",
  "specVersion": "0.8",
  "name": "Inline schema",
  "dataInputSchema": {"failOnValidationErrors": true, "schema": {
    "type": "object",
    "properties": {
      "zeta": {"type": "string"},
      "alpha": {"type": "object", "properties": {"z2": {"type": "string"}, "a2": {"type": "string"}}},
      "mid": {"type": "array", "items": {"type": "object", "properties": {"yy": {"type": "string"}, "bb": {"type": "string"}}}}
    }}},
  "extensions": [{"extensionid": "workflow-output-schema", "outputSchema": {"schema": {"type": "object", "properties": {"zz": {"type": "string"}, "aa": {"type": "string"}}}}}],
  "start": "Done",
  "states": [{"name": "Done", "type": "inject", "data": {"ok": true}, "end": true}]
}`,
	// A schema file written in YAML.
	"yamlschema/schemas/input.yaml": `
type: object
properties:
  zeta: {type: string}
  alpha:
    type: object
    properties:
      z2: {type: string}
      a2: {type: string}
  mid:
    type: array
    items:
      type: object
      properties:
        yy: {type: string}
        bb: {type: string}
`,
	"yamlschema/yamlschema.sw.yaml": `
id: yamlschema
version: "1.0"
specVersion: "0.8"
name: YAML schema
dataInputSchema: schemas/input.yaml
start: Done
states:
  - name: Done
    type: inject
    data: {ok: true}
    end: true
`,
}

func TestSchemasKeepTheirKeyOrder(t *testing.T) {
	each(t, func(t *testing.T, pg bool) {
		dir := t.TempDir()
		for name, src := range orderedWorkflows {
			writeFile(t, filepath.Join(dir, name), src)
		}
		s := startOn(t, dir, pg, "")

		check := func(t *testing.T, raw []byte, prefix []any, withHome bool) {
			t.Helper()
			at := func(p ...any) []any { return append(slices.Clone(prefix), p...) }
			want := map[string][]string{
				"":                   {"zeta", "alpha", "mid"},
				"alpha":              {"z2", "a2"},
				"mid.items":          {"yy", "bb"},
				"home":               {"type", "properties", "title", "description"},
				"home.properties":    {"street", "city", "at"},
				"home.at.properties": {"lon", "lat"},
			}
			if withHome {
				want[""] = append(want[""], "home")
			}
			if got := jsonordertest.KeysAt(t, raw, at("properties")...); !slices.Equal(got, want[""]) {
				t.Errorf("properties = %v, want %v", got, want[""])
			}
			if got := jsonordertest.KeysAt(t, raw, at("properties", "alpha", "properties")...); !slices.Equal(got, want["alpha"]) {
				t.Errorf("alpha's properties = %v, want %v", got, want["alpha"])
			}
			if got := jsonordertest.KeysAt(t, raw, at("properties", "mid", "items", "properties")...); !slices.Equal(got, want["mid.items"]) {
				t.Errorf("mid's item properties = %v, want %v", got, want["mid.items"])
			}
			if !withHome {
				return
			}
			if got := jsonordertest.KeysAt(t, raw, prefix...); !slices.Equal(got, []string{"type", "title", "properties", "required"}) {
				t.Errorf("schema keys = %v", got)
			}
			// Inlined from another file: that file's order, then the
			// keywords written beside $ref.
			if got := jsonordertest.KeysAt(t, raw, at("properties", "home")...); !slices.Equal(got, want["home"]) {
				t.Errorf("home = %v, want %v", got, want["home"])
			}
			if got := jsonordertest.KeysAt(t, raw, at("properties", "home", "properties")...); !slices.Equal(got, want["home.properties"]) {
				t.Errorf("home's properties = %v, want %v", got, want["home.properties"])
			}
			if got := jsonordertest.KeysAt(t, raw, at("properties", "home", "properties", "at", "properties")...); !slices.Equal(got, want["home.at.properties"]) {
				t.Errorf("home.at's properties = %v, want %v", got, want["home.at.properties"])
			}
		}

		for _, id := range []string{"ordered", "inline", "yamlschema"} {
			t.Run(id, func(t *testing.T) {
				withHome := id == "ordered"
				r := s.do(t, "GET", "/management/processes/"+id, nil)
				if r.status != 200 {
					t.Fatalf("GET /management/processes/%s: %d %s", id, r.status, r.raw)
				}
				check(t, r.raw, []any{"inputSchema"}, withHome)
				if id != "yamlschema" {
					if got := jsonordertest.KeysAt(t, r.raw, "outputSchema", "properties"); !slices.Equal(got, []string{"zz", "aa"}) {
						t.Errorf("outputSchema properties = %v", got)
					}
				}
				r = s.do(t, "GET", "/"+id+"/schema", nil)
				if r.status != 200 {
					t.Fatalf("GET /%s/schema: %d %s", id, r.status, r.raw)
				}
				check(t, r.raw, nil, withHome)
				r = s.do(t, "GET", "/q/openapi.json", nil)
				check(t, r.raw, []any{"components", "schemas", id + "_input"}, withHome)
			})
		}

		// The schema still validates input as before.
		if r := s.do(t, "POST", "/ordered", map[string]any{"alpha": map[string]any{}}); r.status != 400 {
			t.Errorf("input without the required zeta: %d %s", r.status, r.raw)
		}
		if r := s.do(t, "POST", "/ordered", map[string]any{"zeta": "z", "home": map[string]any{"at": map[string]any{"lat": 1}}}); r.status != 201 {
			t.Errorf("valid input: %d %s", r.status, r.raw)
		}
		if r := s.do(t, "POST", "/inline", map[string]any{"zeta": 1}); r.status != 400 {
			t.Errorf("inline schema: a number for a string: %d %s", r.status, r.raw)
		}
	})
}
