package catalog

import (
	"strings"
	"testing"
)

// The tables below are the cases of Backstage's
// KubernetesValidatorFunctions.test.ts (non-string inputs are caught by
// DecodeEntity instead and are tested there).
func TestDefaultValidators(t *testing.T) {
	a := strings.Repeat
	long253 := a("a", 63) + "." + a("a", 63) + "." + a("a", 63) + "." + a("a", 61)
	long254 := a("a", 63) + "." + a("a", 63) + "." + a("a", 63) + "." + a("a", 62)
	v := DefaultValidators()
	tests := []struct {
		name  string
		valid func(string) bool
		cases map[string]bool
	}{
		{"apiVersion", v.APIVersion.Valid, map[string]bool{
			"": false, "a": true, "AZ09": true, a("a", 63): true, a("a", 64): false,
			"a-b": false, "a_b": false, "a.b": false, "a/a": true, "a/aAb5C": true,
			"a-b.c/v1": true, "a--b.c/v1": false, long253 + "/v1": true, long254 + "/v1": false,
			"a/" + a("a", 63): true, "a/" + a("a", 64): false, "a/b/c": false,
			"backstage.io/v1alpha1": true, "scaffolder.backstage.io/v1beta3": true,
		}},
		{"kind", v.Kind.Valid, map[string]bool{
			"": false, "a": true, "AZ09": true, "9AZ": false, a("a", 63): true, a("a", 64): false, "a-b": false,
		}},
		{"entityName", v.EntityName.Valid, map[string]bool{
			"": false, "a": true, "AZ09": true, a("a", 63): true, a("a", 64): false, "a/b": false,
			"a-b": true, "-a-b": false, "a-b-": false, "a--b": true, "a_b": true, "a.b": true, "a..b": true,
			"Bad Name!": false, "invalid component": false,
		}},
		{"namespace", v.Namespace.Valid, map[string]bool{
			"": false, "a": true, "AZ09": false, a("a", 63): true, a("a", 64): false, "a/b": false,
			"a-b": true, "-a-b": false, "a-b-": false, "a--b": false, "a_b": false, "a.b": false,
		}},
		{"labelKey", v.LabelKey.Valid, map[string]bool{
			"": false, "a": true, "AZ09": true, a("a", 63): true, a("a", 64): false, "a/b": true,
			"a-b": true, "-a-b": false, "a-b-": false, "a--b": true, "a_b": true, "a.b": true, "a..b": true,
			"a/a": true, "a-b.c/a": true, "a--b.c/a": false, long253 + "/a": true, long254 + "/a": false,
			"a/" + a("a", 63): true, "a/" + a("a", 64): false,
		}},
		{"labelValue", v.LabelValue.Valid, map[string]bool{
			"": true, "a": true, "AZ09": true, a("a", 63): true, a("a", 64): false, "a/b": false,
			"a-b": true, "-a-b": false, "a-b-": false, "a--b": true, "a_b": true, "a.b": true, "a..b": true,
			"go1.15.3": true,
		}},
		{"annotationKey", v.AnnotationKey.Valid, map[string]bool{
			"": false, "a": true, "AZ09": true, a("a", 63): true, a("a", 64): false, "a/b": true,
			"a-b": true, "-a-b": false, "a-b-": false, "a--b": true, "a_b": true, "a.b": true, "a..b": true,
			"a/a": true, "a-b.c/a": true, "a--b.c/a": false, long253 + "/a": true, long254 + "/a": false,
			"a/" + a("a", 63): true, "a/" + a("a", 64): false, "backstage.io/managed-by-location": true,
		}},
		{"annotationValue", v.AnnotationValue.Valid, map[string]bool{
			"": true, "a": true, a("/", 6000): true,
		}},
		// Tags follow CommonValidatorFunctions.isValidDnsLabel plus ':', '+' and '#'.
		{"tag", v.Tag.Valid, map[string]bool{
			"": false, "a": true, "java": true, "c++": true, "c#": true, "a:b": true, "a-b": true,
			"a--b": false, "-a": false, "a-": false, "A": false, "go 1.15.3": false, "a_b": false,
			a("a", 63): true, a("a", 64): false,
		}},
	}
	for _, tt := range tests {
		for in, want := range tt.cases {
			if got := tt.valid(in); got != want {
				t.Errorf("%s(%q) = %v, want %v", tt.name, in, got, want)
			}
		}
	}
}

func TestIsValidURL(t *testing.T) {
	for in, want := range map[string]bool{
		"https://example.com":            true,
		"https://example.com/a b?c=d#e":  true,
		"http://localhost:7007/x":        true,
		"mailto:someone@example.com":     true,
		"slack:channel":                  true,
		"  https://example.com  ":        true,
		"https:example.com":              true,
		"http://":                        false,
		"https://exa mple.com":           false,
		"example.com":                    false,
		"/relative/path":                 false,
		"":                               false,
		"http://example.com:99999":       false,
		"file:///etc/passwd":             true,
		"1http://example.com":            false,
		"https://[::1]:8080/":            true,
		"https://user:pw@example.com/":   true,
		"https://example.com:8080/a/b/c": true,
	} {
		if got := isValidURL(in); got != want {
			t.Errorf("isValidURL(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestNewValidatorsOverrides(t *testing.T) {
	v, err := NewValidators(ValidationConfig{
		EntityName: &RuleConfig{Pattern: `[a-zA-Z0-9 _.-]+`, MaxLength: 100},
		Tag:        &RuleConfig{Pattern: `[a-z]+`, Message: "use lower-case letters"},
		Namespace:  &RuleConfig{MinLength: 2, MaxLength: 5},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		val  Validator
		in   string
		want bool
	}{
		{v.EntityName, "Legacy Name_1", true},
		{v.EntityName, "Legacy Name!", false},
		{v.EntityName, strings.Repeat("a", 100), true},
		{v.EntityName, strings.Repeat("a", 101), false},
		{v.Tag, "abc", true},
		{v.Tag, "abc1", false}, // the pattern is anchored
		{v.Namespace, "a", false},
		{v.Namespace, "Ab_9", true},
		{v.Kind, "9AZ", false}, // unchanged default
	} {
		if got := c.val.Valid(c.in); got != c.want {
			t.Errorf("%s(%q) = %v, want %v", c.val.What, c.in, got, c.want)
		}
	}
	if v.Tag.Rule != "use lower-case letters" {
		t.Errorf("Tag.Rule = %q", v.Tag.Rule)
	}
	if v.EntityName.Rule != `match "[a-zA-Z0-9 _.-]+" and use at most 100 characters` {
		t.Errorf("EntityName.Rule = %q", v.EntityName.Rule)
	}
	if _, err := NewValidators(ValidationConfig{Kind: &RuleConfig{Pattern: "("}}); err == nil || !strings.Contains(err.Error(), "catalog.validation.kind: pattern") {
		t.Errorf("bad pattern: err = %v", err)
	}
	if _, err := NewValidators(ValidationConfig{Kind: &RuleConfig{MinLength: 5, MaxLength: 2}}); err == nil {
		t.Error("inverted range should be rejected")
	}
}
