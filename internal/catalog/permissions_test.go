package catalog

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/auth"
	"github.com/portico-dev/portico/internal/store"
)

const permissionEntities = `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: checkout
  labels: {tier: gold}
  annotations: {github.com/project-slug: acme/checkout}
spec: {type: service, lifecycle: production, owner: team-a}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: billing}
spec: {type: website, lifecycle: experimental, owner: user:bob}
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata: {name: orders}
spec: {type: openapi, lifecycle: production, owner: team-b, definition: "openapi: 3.0.0"}
`

func TestConditionFilter(t *testing.T) {
	runDB(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, map[string]string{"c.yaml": permissionEntities}, fileLocation("c.yaml"))
		rule := func(name string, params map[string]any) auth.Condition {
			return auth.Condition{Rule: name, ResourceType: ResourceTypeEntity, Params: params}
		}
		tests := []struct {
			name string
			cond auth.Condition
			want string
		}{
			{"owner", rule("IS_ENTITY_OWNER", map[string]any{"claims": []any{"group:default/team-a", "user:default/bob"}}), "component:default/billing component:default/checkout"},
			{"owner, no claims", rule("IS_ENTITY_OWNER", map[string]any{"claims": []any{}}), ""},
			{"kind", rule("IS_ENTITY_KIND", map[string]any{"kinds": []any{"API"}}), "api:default/orders"},
			{"label", rule("HAS_LABEL", map[string]any{"label": "tier"}), "component:default/checkout"},
			{"annotation", rule("HAS_ANNOTATION", map[string]any{"annotation": "github.com/project-slug"}), "component:default/checkout"},
			{"annotation value", rule("HAS_ANNOTATION", map[string]any{"annotation": "github.com/project-slug", "value": "acme/other"}), ""},
			{"metadata", rule("HAS_METADATA", map[string]any{"key": "name", "value": "orders"}), "api:default/orders"},
			{"spec", rule("HAS_SPEC", map[string]any{"key": "lifecycle", "value": "production"}), "api:default/orders component:default/checkout"},
			{"not", auth.Condition{Not: &auth.Condition{Rule: "IS_ENTITY_KIND", Params: map[string]any{"kinds": []any{"component", "location"}}}}, "api:default/orders"},
			{"all of", auth.Condition{AllOf: []auth.Condition{
				rule("IS_ENTITY_KIND", map[string]any{"kinds": []any{"component"}}),
				rule("HAS_SPEC", map[string]any{"key": "type", "value": "website"})}}, "component:default/billing"},
			{"any of", auth.Condition{AnyOf: []auth.Condition{
				rule("IS_ENTITY_KIND", map[string]any{"kinds": []any{"api"}}),
				rule("HAS_LABEL", map[string]any{"label": "tier"})}}, "api:default/orders component:default/checkout"},
		}
		// Both ways a readable filter narrows a query: from the ids of
		// the few entities it matches, and as a filter when it matches
		// more than the limit.
		for _, limit := range []int{defaultSmallSetLimit, 1} {
			f.s.smallSetLimit = limit
			for _, tt := range tests {
				t.Run(fmt.Sprintf("%s, limit %d", tt.name, limit), func(t *testing.T) {
					filter, err := ConditionFilter(&tt.cond)
					if err != nil {
						t.Fatal(err)
					}
					var got []string
					for _, r := range f.refs("") {
						if strings.HasPrefix(r, "location:") {
							continue
						}
						ok, err := f.s.ConditionRules().Apply(f.ctx, r, &tt.cond)
						if err != nil {
							t.Fatal(err)
						}
						if ok {
							got = append(got, r)
						}
					}
					res, err := f.s.QueryEntities(f.ctx, QueryRequest{Readable: &filter, Filter: &Filter{Op: opNot, Not: &Filter{Op: opKey, Key: "kind", Values: []string{"location"}}}})
					if err != nil {
						t.Fatal(err)
					}
					var listed []string
					for _, item := range res.Items {
						listed = append(listed, refOfBody(item))
					}
					slices.Sort(listed)
					if strings.Join(got, " ") != tt.want || strings.Join(listed, " ") != tt.want {
						t.Errorf("one by one %v, listed %v; want %s", got, listed, tt.want)
					}
				})
			}
		}
	})
}

func TestConditionFilterErrors(t *testing.T) {
	tests := []struct {
		cond auth.Condition
		want string
	}{
		{auth.Condition{Rule: "HAS_LABEL", Params: map[string]any{"label": 3}}, "rule HAS_LABEL: params.label must be a non-empty string"},
		{auth.Condition{Rule: "HAS_SPEC", Params: map[string]any{"key": "type", "value": []any{"a"}}}, "rule HAS_SPEC: params.value must be a string"},
		{auth.Condition{Rule: "IS_ENTITY_KIND", Params: map[string]any{"kinds": "component"}}, "rule IS_ENTITY_KIND: params.kinds must be a list of strings"},
		{auth.Condition{Rule: "IS_ENTITY_OWNER", Params: map[string]any{"claims": []any{1}}}, "rule IS_ENTITY_OWNER: params.claims[0] must be a string"},
		{auth.Condition{Rule: "HAS_TAG", ResourceType: "scaffolder-template"}, "rule HAS_TAG of resource type scaffolder-template does not apply to catalog entities"},
		{auth.Condition{Rule: "IS_FRIEND"}, `"IS_FRIEND" is not a catalog permission rule`},
		{auth.Condition{AnyOf: []auth.Condition{{Rule: "IS_FRIEND"}}}, `"IS_FRIEND" is not a catalog permission rule`},
	}
	for _, tt := range tests {
		if _, err := ConditionFilter(&tt.cond); err == nil || err.Error() != tt.want {
			t.Errorf("ConditionFilter(%+v) = %v, want %q", tt.cond, err, tt.want)
		}
	}
}
