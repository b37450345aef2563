package scaffolder_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/jsonorder/jsonordertest"
	"github.com/portico-dev/portico/internal/scaffolder"
)

// orderedTemplates have parameters whose keys are deliberately not sorted:
// Backstage's form (rjsf) asks in the order of a schema's properties.
const orderedTemplates = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: ordered-steps}
spec:
  type: service
  parameters:
    - title: First
      required: [zeta]
      properties:
        zeta: {type: string, title: Zeta}
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
    - title: Second
      properties:
        second: {type: string}
        first: {type: string}
  steps:
    - {id: log, action: debug:log, input: {message: hi}}
---
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: ordered-object}
spec:
  type: service
  parameters:
    title: Only
    properties:
      zeta: {type: string}
      alpha: {type: object, properties: {z2: {type: string}, a2: {type: string}}}
      mid: {type: array, items: {properties: {yy: {type: string}, bb: {type: string}}}}
  steps:
    - {id: log, action: debug:log, input: {message: hi}}
`

func TestParameterSchemaKeepsKeyOrder(t *testing.T) {
	inst := startServerWith(t, orderedTemplates, []string{"ordered-steps", "ordered-object"}, "")
	api := inst.URL + "/api/scaffolder/v2/templates/default/template/"

	steps := call(t, "GET", api+"ordered-steps/parameter-schema", "").body
	object := call(t, "GET", api+"ordered-object/parameter-schema", "").body
	for _, c := range []struct {
		raw  []byte
		path []any
		want []string
	}{
		{steps, []any{"steps", 0, "schema"}, []string{"title", "required", "properties"}},
		{steps, []any{"steps", 0, "schema", "properties"}, []string{"zeta", "alpha", "mid"}},
		{steps, []any{"steps", 0, "schema", "properties", "zeta"}, []string{"type", "title"}},
		{steps, []any{"steps", 0, "schema", "properties", "alpha", "properties"}, []string{"z2", "a2"}},
		{steps, []any{"steps", 0, "schema", "properties", "mid", "items", "properties"}, []string{"yy", "bb"}},
		{steps, []any{"steps", 1, "schema", "properties"}, []string{"second", "first"}},
		{object, []any{"steps", 0, "schema", "properties"}, []string{"zeta", "alpha", "mid"}},
		{object, []any{"steps", 0, "schema", "properties", "alpha", "properties"}, []string{"z2", "a2"}},
		{object, []any{"steps", 0, "schema", "properties", "mid", "items", "properties"}, []string{"yy", "bb"}},
	} {
		which := "ordered-steps"
		if &c.raw[0] == &object[0] {
			which = "ordered-object"
		}
		t.Run(which+toString(c.path), func(t *testing.T) {
			if got := jsonordertest.KeysAt(t, c.raw, c.path...); !slices.Equal(got, c.want) {
				t.Errorf("keys = %v, want %v", got, c.want)
			}
		})
	}

	// The schemas still validate values as before.
	if r := call(t, "POST", inst.URL+"/api/scaffolder/v2/tasks", `{"templateRef":"template:default/ordered-steps","values":{}}`); r.status != 400 {
		t.Errorf("values without the required zeta: %d %s", r.status, r.body)
	}
}

func toString(path []any) string {
	var s string
	for _, p := range path {
		switch p := p.(type) {
		case string:
			s += "." + p
		case int:
			s += "[" + strconv.Itoa(p) + "]"
		}
	}
	return s
}

func TestParseTemplateParameters(t *testing.T) {
	entity := func(params string) []byte {
		return []byte(`{"apiVersion":"scaffolder.backstage.io/v1beta3","kind":"Template","metadata":{"name":"t"},
			"spec":{"type":"x","steps":[{"action":"debug:log"}]` + params + `}}`)
	}
	for _, c := range []struct {
		params string
		steps  int
		err    string
	}{
		{``, 0, ""},
		{`,"parameters":null`, 0, ""},
		{`,"parameters":{"properties":{"b":{},"a":{}}}`, 1, ""},
		{`,"parameters":[{"title":"One"},{"title":"Two"}]`, 2, ""},
		{`,"parameters":[]`, 0, ""},
		{`,"parameters":"text"`, 0, "must be a JSON Schema object or a list of them"},
		{`,"parameters":[1]`, 0, "spec.parameters[0]: must be a JSON Schema object"},
	} {
		tpl, err := scaffolder.ParseTemplate(entity(c.params))
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: err = %v, want %q", c.params, err, c.err)
			}
		case err != nil:
			t.Errorf("%s: %v", c.params, err)
		case len(tpl.Spec.Parameters) != c.steps:
			t.Errorf("%s: %d steps, want %d", c.params, len(tpl.Spec.Parameters), c.steps)
		}
	}
	// The maps validation reads are plain maps.
	tpl, err := scaffolder.ParseTemplate(entity(`,"parameters":{"required":["a"],"properties":{"a":{"type":"string"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tpl.Spec.Parameters[0]["properties"].(map[string]any)["a"].(map[string]any); !ok {
		t.Errorf("parameters = %#v", tpl.Spec.Parameters)
	}
	if err := tpl.ValidateValues(map[string]any{}, nil); err == nil || !strings.Contains(err.Error(), "invalid values") {
		t.Errorf("validate without a: %v", err)
	}
}
