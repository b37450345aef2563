package scaffolder

import (
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/auth"
)

func TestConditionRules(t *testing.T) {
	rule := func(name string, params map[string]any) auth.Condition {
		return auth.Condition{Rule: name, Params: params}
	}
	tag := func(t string) auth.Condition { return rule("HAS_TAG", map[string]any{"tag": t}) }
	input := map[string]any{"dry": true, "replicas": float64(3), "repo": map[string]any{"owner": "acme"}}
	tests := []struct {
		name string
		met  func() (bool, error)
		want bool
	}{
		{"tag present", func() (bool, error) { c := tag("ops"); return tagsMeet(&c, []string{"dev", "ops"}) }, true},
		{"tag absent", func() (bool, error) { c := tag("ops"); return tagsMeet(&c, nil) }, false},
		{"any tag", func() (bool, error) {
			return tagsMeet(&auth.Condition{AnyOf: []auth.Condition{tag("a"), tag("b")}}, []string{"b"})
		}, true},
		{"action id", func() (bool, error) {
			c := rule("HAS_ACTION_ID", map[string]any{"actionId": "debug:log"})
			return actionMeets(&c, "debug:log", nil)
		}, true},
		{"another action", func() (bool, error) {
			c := rule("HAS_ACTION_ID", map[string]any{"actionId": "debug:log"})
			return actionMeets(&c, "fetch:plain", nil)
		}, false},
		{"boolean property", func() (bool, error) {
			c := rule("HAS_BOOLEAN_PROPERTY", map[string]any{"key": "dry", "value": true})
			return actionMeets(&c, "x", input)
		}, true},
		{"boolean property, other value", func() (bool, error) {
			c := rule("HAS_BOOLEAN_PROPERTY", map[string]any{"key": "dry", "value": false})
			return actionMeets(&c, "x", input)
		}, false},
		{"number property", func() (bool, error) {
			c := rule("HAS_NUMBER_PROPERTY", map[string]any{"key": "replicas", "value": 3})
			return actionMeets(&c, "x", input)
		}, true},
		{"nested string property, any value", func() (bool, error) {
			c := rule("HAS_STRING_PROPERTY", map[string]any{"key": "repo.owner"})
			return actionMeets(&c, "x", input)
		}, true},
		{"string property of the wrong type", func() (bool, error) {
			c := rule("HAS_STRING_PROPERTY", map[string]any{"key": "replicas"})
			return actionMeets(&c, "x", input)
		}, false},
		{"not", func() (bool, error) {
			return actionMeets(&auth.Condition{Not: &auth.Condition{Rule: "HAS_STRING_PROPERTY", Params: map[string]any{"key": "repo.owner", "value": "acme"}}}, "x", input)
		}, false},
		{"task owner", func() (bool, error) {
			c := rule("IS_TASK_OWNER", map[string]any{"createdBy": []any{"user:default/a"}})
			return taskMeets(&c, "user:default/a")
		}, true},
		{"another owner", func() (bool, error) {
			c := rule("IS_TASK_OWNER", map[string]any{"createdBy": []any{"user:default/a"}})
			return taskMeets(&c, "user:default/b")
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.met()
			if err != nil || got != tt.want {
				t.Fatalf("= %v, %v; want %v", got, err, tt.want)
			}
		})
	}
	// A task list can only be narrowed to owners.
	owners := auth.Condition{AnyOf: []auth.Condition{
		rule("IS_TASK_OWNER", map[string]any{"createdBy": []any{"user:default/a"}}),
		rule("IS_TASK_OWNER", map[string]any{"createdBy": []any{"user:default/b"}})}}
	if got, err := readableCreators(&owners, []string{"user:default/b", "user:default/c"}); err != nil || strings.Join(got, " ") != "user:default/b" {
		t.Errorf("readableCreators = %v, %v", got, err)
	}
	if _, err := taskOwners(&auth.Condition{Not: &owners}); err == nil || !strings.Contains(err.Error(), "IS_TASK_OWNER rules or anyOf them") {
		t.Errorf("a not condition on tasks: %v", err)
	}
}
