package catalog

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/errs"
)

func mustEntity(t testing.TB, js string) *Entity {
	t.Helper()
	var e Entity
	if err := json.Unmarshal([]byte(js), &e); err != nil {
		t.Fatalf("decode %s: %v", js, err)
	}
	return &e
}

func TestDefaultPolicies(t *testing.T) {
	policies := DefaultPolicies(DefaultValidators())
	tests := []struct {
		name string
		in   string
		want string // "" = valid
	}{
		{"valid", `{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"a","labels":{"a.b/c":"d"},"annotations":{"x":""},"tags":["java"],"links":[{"url":"https://x.io","title":"X"}]},"spec":{}}`, ""},
		{"bad name", `{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"Bad Name!"}}`,
			`metadata.name: "Bad Name!" is not a valid name: use 1–63 characters [a-zA-Z0-9] separated by [-_.]`},
		{"bad namespace", `{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"a","namespace":"AZ09"}}`,
			`metadata.namespace: "AZ09" is not a valid namespace: use 1–63 characters [a-z0-9] separated by single [-]`},
		{"bad apiVersion and kind together", `{"apiVersion":"a-b","kind":"9AZ","metadata":{"name":"a"}}`,
			`apiVersion: "a-b" is not a valid apiVersion: use [<prefix>/]<version> where the prefix is a DNS subdomain (labels of [a-z0-9] separated by [-], joined by dots) and the version is 1–63 characters [a-zA-Z0-9]; kind: "9AZ" is not a valid kind: use 1–63 characters [a-zA-Z0-9] starting with a letter`},
		{"bad label key", `{"apiVersion":"v1","kind":"K","metadata":{"name":"a","labels":{"a--b.c/a":"x"}}}`,
			`metadata.labels: "a--b.c/a" is not a valid label key: ` + rulePrefixed},
		{"bad label value", `{"apiVersion":"v1","kind":"K","metadata":{"name":"a","labels":{"a":"-a-b"}}}`,
			`metadata.labels.a: "-a-b" is not a valid label value: use an empty string or 1–63 characters [a-zA-Z0-9] separated by [-_.]`},
		{"bad annotation key", `{"apiVersion":"v1","kind":"K","metadata":{"name":"a","annotations":{"a/b/c":"x"}}}`,
			`metadata.annotations: "a/b/c" is not a valid annotation key: ` + rulePrefixed},
		{"bad tag", `{"apiVersion":"v1","kind":"K","metadata":{"name":"a","tags":["ok","go 1.15.3"]}}`,
			`metadata.tags.1: "go 1.15.3" is not a valid tag: use 1–63 characters [a-z0-9:+#] separated by single [-]`},
		{"bad link", `{"apiVersion":"v1","kind":"K","metadata":{"name":"a","links":[{"url":"not a url","title":"  "}]}}`,
			`metadata.links.0.url: "not a url" is not a valid URL: use an absolute URL such as https://example.com/docs; metadata.links.0.title: must not be blank`},
		{"foreign root fields", `{"apiVersion":"v1","kind":"K","metadata":{"name":"a"},"relations":[],"extra":1}`,
			`relations: unknown field: relations are computed by the catalog; only apiVersion, kind, metadata and spec may be given; extra: unknown field: only apiVersion, kind, metadata and spec may be given at the root`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustEntity(t, tt.in)
			err := policies.Enforce(e)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tt.want {
				t.Fatalf("got  %v\nwant %s", err, tt.want)
			}
			if !errs.Is(err, errs.Input) {
				t.Errorf("error kind = %s, want InputError", errs.KindOf(err))
			}
		})
	}
}

func TestDefaultNamespacePolicy(t *testing.T) {
	e := mustEntity(t, `{"apiVersion":"v1","kind":"K","metadata":{"name":"a"}}`)
	if err := DefaultNamespacePolicy(e); err != nil || e.Metadata.Namespace != "default" {
		t.Errorf("namespace = %q, err = %v", e.Metadata.Namespace, err)
	}
	e.Metadata.Namespace = "other"
	_ = DefaultNamespacePolicy(e)
	if e.Metadata.Namespace != "other" {
		t.Errorf("an explicit namespace must be kept, got %q", e.Metadata.Namespace)
	}
}

func TestFieldFormatPolicyWithOverrides(t *testing.T) {
	v, err := NewValidators(ValidationConfig{EntityName: &RuleConfig{Pattern: `[A-Za-z0-9 ]+`, MaxLength: 80}})
	if err != nil {
		t.Fatal(err)
	}
	e := mustEntity(t, `{"apiVersion":"v1","kind":"K","metadata":{"name":"Legacy Service 1"}}`)
	if err := (FieldFormatPolicy{Validators: v}).Enforce(e); err != nil {
		t.Errorf("override should accept the legacy name: %v", err)
	}
}

func TestGroupDefaultParentPolicy(t *testing.T) {
	p, err := GroupDefaultParentPolicy("root")
	if err != nil {
		t.Fatal(err)
	}
	orphan := mustEntity(t, `{"apiVersion":"backstage.io/v1alpha1","kind":"Group","metadata":{"name":"a"},"spec":{"type":"team","children":[]}}`)
	withParent := mustEntity(t, `{"apiVersion":"backstage.io/v1alpha1","kind":"Group","metadata":{"name":"b"},"spec":{"type":"team","children":[],"parent":"other"}}`)
	root := mustEntity(t, `{"apiVersion":"backstage.io/v1alpha1","kind":"Group","metadata":{"name":"Root"},"spec":{"type":"org","children":[]}}`)
	user := mustEntity(t, `{"apiVersion":"backstage.io/v1alpha1","kind":"User","metadata":{"name":"u"},"spec":{"memberOf":[]}}`)
	for _, e := range []*Entity{orphan, withParent, root, user} {
		if err := p.Enforce(e); err != nil {
			t.Fatal(err)
		}
	}
	if orphan.Spec["parent"] != "group:default/root" {
		t.Errorf("orphan parent = %v", orphan.Spec["parent"])
	}
	if withParent.Spec["parent"] != "other" || root.Spec["parent"] != nil || user.Spec["parent"] != nil {
		t.Errorf("parents changed: %v %v %v", withParent.Spec["parent"], root.Spec["parent"], user.Spec["parent"])
	}
	if _, err := GroupDefaultParentPolicy("user:x"); err == nil {
		t.Error("a non-Group parent should be rejected")
	}
}

// The cases of Backstage's FieldFormatEntityPolicy.test.ts, through decoding
// and the default policies, each error naming the field and the value.
func TestFieldFormatBackstageCases(t *testing.T) {
	base := func() map[string]any {
		docs, err := ParseYAML([]byte(`
apiVersion: backstage.io/v1beta1
kind: Component
metadata:
  uid: e01199ab-08cc-44c2-8e19-5c29ded82521
  etag: lsndfkjsndfkjnsdfkjnsd==
  generation: 13
  name: my-component-yay
  namespace: the-namespace
  labels:
    backstage.io/custom: ValueStuff
  annotations:
    example.com/bindings: are-secret
spec:
  custom: stuff
`))
		if err != nil {
			t.Fatal(err)
		}
		return docs[0].Value.(map[string]any)
	}
	md := func(d map[string]any) map[string]any { return d["metadata"].(map[string]any) }
	long := strings.Repeat("a", 1000)
	tests := []struct {
		name   string
		change func(d map[string]any)
		want   string // "" = valid
	}{
		{"happy path", func(map[string]any) {}, ""},
		{"no spec", func(d map[string]any) { delete(d, "spec") }, ""},
		{"apiVersion 7", func(d map[string]any) { d["apiVersion"] = json.Number("7") }, `apiVersion: must be a string, got a number 7`},
		{"apiVersion a#b", func(d map[string]any) { d["apiVersion"] = "a#b" }, `apiVersion: "a#b" is not a valid apiVersion`},
		{"kind 7", func(d map[string]any) { d["kind"] = json.Number("7") }, `kind: must be a string, got a number 7`},
		{"kind a#b", func(d map[string]any) { d["kind"] = "a#b" }, `kind: "a#b" is not a valid kind`},
		{"name 7", func(d map[string]any) { md(d)["name"] = json.Number("7") }, `metadata.name: must be a string, got a number 7`},
		{"long name", func(d map[string]any) { md(d)["name"] = long }, `metadata.name: "aaaa`},
		{"namespace 7", func(d map[string]any) { md(d)["namespace"] = json.Number("7") }, `metadata.namespace: must be a string, got a number 7`},
		{"long namespace", func(d map[string]any) { md(d)["namespace"] = long }, `metadata.namespace: "aaaa`},
		{"label key", func(d map[string]any) { md(d)["labels"].(map[string]any)["a#b"] = "value" }, `metadata.labels: "a#b" is not a valid label key`},
		{"label value", func(d map[string]any) { md(d)["labels"].(map[string]any)["a"] = "a#b" }, `metadata.labels.a: "a#b" is not a valid label value`},
		{"annotation key", func(d map[string]any) { md(d)["annotations"].(map[string]any)["a#b"] = "value" }, `metadata.annotations: "a#b" is not a valid annotation key`},
		{"annotation value", func(d map[string]any) { md(d)["annotations"].(map[string]any)["a"] = json.Number("7") }, `metadata.annotations.a: must be a string, got a number 7`},
	}
	policies := DefaultPolicies(DefaultValidators())
	for _, tt := range tests {
		d := base()
		tt.change(d)
		e, err := DecodeEntity(d)
		if err == nil {
			err = policies.Enforce(e)
		}
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: got %v, want %q", tt.name, err, tt.want)
		}
	}
}
