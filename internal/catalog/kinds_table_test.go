package catalog

import (
	"context"
	"strings"
	"testing"
)

// Field cases in the manner of Backstage's <Kind>EntityV1alpha1.test.ts:
// for every spec field, missing / wrong type (7) / empty values, with the
// verdict the field's rules give.
func TestBuiltinKindFieldRules(t *testing.T) {
	type field struct {
		path     string // inside spec, dotted
		list     bool   // a list of non-empty strings
		required bool
	}
	kinds := []struct {
		example string
		fields  []field
	}{
		{"Component", []field{
			{path: "type", required: true}, {path: "lifecycle", required: true}, {path: "owner", required: true},
			{path: "system"}, {path: "subcomponentOf"},
			{path: "providesApis", list: true}, {path: "consumesApis", list: true},
			{path: "dependsOn", list: true}, {path: "dependencyOf", list: true},
		}},
		{"API", []field{
			{path: "type", required: true}, {path: "lifecycle", required: true}, {path: "owner", required: true},
			{path: "definition", required: true}, {path: "system"},
		}},
		{"Resource", []field{
			{path: "type", required: true}, {path: "owner", required: true}, {path: "system"},
			{path: "dependsOn", list: true}, {path: "dependencyOf", list: true},
		}},
		{"System", []field{{path: "owner", required: true}, {path: "domain"}}},
		{"Domain", []field{{path: "owner", required: true}, {path: "subdomainOf"}}},
		{"Group", []field{
			{path: "type", required: true}, {path: "parent"},
			{path: "profile.displayName"}, {path: "profile.email"}, {path: "profile.picture"},
			{path: "children", list: true, required: true}, {path: "members", list: true},
		}},
		{"User", []field{
			{path: "profile.displayName"}, {path: "profile.email"}, {path: "profile.picture"},
			{path: "memberOf", list: true, required: true},
		}},
		{"Location", []field{{path: "type"}, {path: "target"}, {path: "targets", list: true}}},
		{"Template", []field{{path: "type", required: true}, {path: "owner"}, {path: "lifecycle"}}},
	}
	p := defaultPipeline(t)
	check := func(t *testing.T, kind, what string, mutate func(spec map[string]any), wantOK bool, mention string) {
		t.Helper()
		e := yamlEntity(t, kindExamples[kind])
		mutate(e.Spec)
		res := p.Process(context.Background(), e, loc)
		switch {
		case wantOK && !res.OK():
			t.Errorf("%s %s: rejected: %v", kind, what, res.Err())
		case !wantOK && res.OK():
			t.Errorf("%s %s: accepted", kind, what)
		case !wantOK && !strings.Contains(res.Err().Error(), mention):
			t.Errorf("%s %s: error %q does not name %s", kind, what, res.Err(), mention)
		}
	}
	for _, k := range kinds {
		for _, f := range k.fields {
			parent, leaf := "", f.path
			if i := strings.LastIndexByte(f.path, '.'); i >= 0 {
				parent, leaf = f.path[:i], f.path[i+1:]
			}
			obj := func(spec map[string]any) map[string]any {
				if parent == "" {
					return spec
				}
				return spec[parent].(map[string]any)
			}
			name := "spec." + f.path
			check(t, k.example, "missing "+f.path, func(s map[string]any) { delete(obj(s), leaf) }, !f.required, name)
			check(t, k.example, "wrong "+f.path, func(s map[string]any) { obj(s)[leaf] = 7 }, false, name)
			if f.list {
				check(t, k.example, "empty item in "+f.path, func(s map[string]any) { obj(s)[leaf] = []any{""} }, false, name+".0")
				check(t, k.example, "null item in "+f.path, func(s map[string]any) { obj(s)[leaf] = []any{nil} }, false, name+".0")
				check(t, k.example, "no "+f.path, func(s map[string]any) { obj(s)[leaf] = []any{} }, true, "")
			} else {
				check(t, k.example, "empty "+f.path, func(s map[string]any) { obj(s)[leaf] = "" }, false, name)
			}
		}
		check(t, k.example, "unknown spec field", func(s map[string]any) { s["x-custom"] = map[string]any{"a": 1} }, true, "")
	}
	check(t, "Group", "unknown profile field", func(s map[string]any) { s["profile"].(map[string]any)["foo"] = "data" }, true, "")
	check(t, "MCP", "a definition instead of remotes", func(s map[string]any) { delete(s, "remotes"); s["definition"] = "x" }, true, "")
	check(t, "MCP", "no remotes", func(s map[string]any) { s["remotes"] = []any{} }, false, "spec.remotes: must have at least 1 item")
	check(t, "MCP", "remote without url", func(s map[string]any) { s["remotes"] = []any{map[string]any{"type": "sse"}} }, false, "spec.remotes.0.url: is required")
	check(t, "Group", "wrong profile", func(s map[string]any) { s["profile"] = 7 }, false, "spec.profile")

	for _, v := range []string{APIVersionV1alpha1, APIVersionV1beta1} {
		e := yamlEntity(t, kindExamples["Group"])
		e.APIVersion = v
		if res := p.Process(context.Background(), e, loc); !res.OK() {
			t.Errorf("Group %s: %v", v, res.Err())
		}
	}
	for _, change := range []func(e *Entity){
		func(e *Entity) { e.APIVersion = "backstage.io/v1beta0" },
		func(e *Entity) { e.Kind = "Wizard" },
	} {
		e := yamlEntity(t, kindExamples["Group"])
		change(e)
		if res := p.Process(context.Background(), e, loc); res.OK() || !strings.Contains(res.Err().Error(), "no processor recognized") {
			t.Errorf("%s %s: %v", e.APIVersion, e.Kind, res.Err())
		}
	}
}
