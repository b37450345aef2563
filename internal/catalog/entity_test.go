package catalog

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestEntityJSONRoundTrip(t *testing.T) {
	in := `{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"artist-web","namespace":"default","title":"Artist Web","description":"The place to be","labels":{"system":"public-websites"},"annotations":{"backstage.io/managed-by-location":"url:https://example.com/catalog-info.yaml"},"tags":["java","data"],"links":[{"url":"https://admin.example-org.com","title":"Admin Dashboard","icon":"dashboard","type":"admin-dashboard","x-extra":1}],"custom":{"deep":[1,2.5,"x"]},"uid":"1234","etag":"abcd"},"spec":{"type":"website","lifecycle":"production","owner":"artist-relations-team","replicas":3,"ratio":0.25,"nested":{"a":[true,null]}},"relations":[{"type":"ownedBy","targetRef":"group:default/artist-relations-team"}],"status":{"items":[{"type":"backstage.io/catalog-processing","level":"error","message":"boom","error":{"name":"Error","message":"boom"}}]}}`
	var e Entity
	if err := json.Unmarshal([]byte(in), &e); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(&e)
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	_ = json.Unmarshal([]byte(in), &a)
	_ = json.Unmarshal(out, &b)
	aj, _ := json.Marshal(a)
	bj, _ := json.Marshal(b)
	if string(aj) != string(bj) {
		t.Errorf("round trip changed the entity:\n in: %s\nout: %s", aj, bj)
	}
	if !strings.HasPrefix(string(out), `{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"artist-web"`) {
		t.Errorf("envelope fields should come first: %s", out)
	}
	if !strings.Contains(string(out), `"replicas":3,`) || !strings.Contains(string(out), `"ratio":0.25`) {
		t.Errorf("numbers should keep their form: %s", out)
	}
	if got := e.Ref().String(); got != "component:default/artist-web" {
		t.Errorf("Ref() = %q", got)
	}
}

func TestEntityCloneIsDeep(t *testing.T) {
	e := &Entity{APIVersion: "v1", Kind: "K", Metadata: Metadata{Name: "n", Labels: map[string]string{"a": "b"}},
		Spec: map[string]any{"list": []any{"x"}}}
	c := e.Clone()
	c.Metadata.Labels["a"] = "changed"
	c.Spec["list"].([]any)[0] = "changed"
	if e.Metadata.Labels["a"] != "b" || e.Spec["list"].([]any)[0] != "x" {
		t.Error("Clone shares state with the original")
	}
}

func TestDecodeEntityShapeErrors(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{`[]`, `expected an entity object at the root, got a list`},
		{`{"kind":"Component","metadata":{"name":"x"}}`, `apiVersion: is required`},
		{`{"apiVersion":"v1","kind":"","metadata":{"name":"x"}}`, `kind: must not be empty`},
		{`{"apiVersion":"v1","kind":"K"}`, `metadata: is required`},
		{`{"apiVersion":"v1","kind":"K","metadata":{"name":7}}`, `metadata.name: must be a string, got a number 7`},
		{`{"apiVersion":"v1","kind":"K","metadata":{"name":"x","namespace":""}}`, `metadata.namespace: must not be empty`},
		{`{"apiVersion":"v1","kind":"K","metadata":{"name":"x","labels":{"a":1}}}`, `metadata.labels.a: must be a string, got a number 1`},
		{`{"apiVersion":"v1","kind":"K","metadata":{"name":"x","annotations":{"a":true}}}`, `metadata.annotations.a: must be a string, got a boolean true`},
		{`{"apiVersion":"v1","kind":"K","metadata":{"name":"x","tags":["ok",""]}}`, `metadata.tags.1: must be a non-empty string, got ""`},
		{`{"apiVersion":"v1","kind":"K","metadata":{"name":"x","links":[{"title":"t"}]}}`, `metadata.links.0.url: is required`},
		{`{"apiVersion":"v1","kind":"K","metadata":{"name":"x"},"spec":[]}`, `spec: must be an object, got a list`},
		{`{"apiVersion":1,"kind":2,"metadata":{"name":"x"}}`, `apiVersion: must be a string, got a number 1; kind: must be a string, got a number 2`},
	}
	for _, tt := range tests {
		var e Entity
		err := json.Unmarshal([]byte(tt.in), &e)
		if err == nil || err.Error() != tt.want {
			t.Errorf("decode %s: got %v, want %q", tt.in, err, tt.want)
		}
	}
}

func TestEntityKeepsAuthorsKeyOrder(t *testing.T) {
	src := `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: t
  title: T
  annotations:
    z.example.com/last: "1"
    a.example.com/first: "2"
spec:
  type: service
  steps: []
  parameters:
    - title: Names
      properties:
        zeta: {type: string, title: "<Zeta & co>"}
        alpha: {type: string}
        middle: {type: string}
`
	docs, err := ParseYAML([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	e, err := docs[0].Entity()
	if err != nil {
		t.Fatal(err)
	}
	e = e.Clone()
	e.Metadata.Namespace = "default" // added by a policy: goes after the author's keys
	// MarshalJSON itself, as json.Marshal would HTML-escape its output
	// again (an Encoder with SetEscapeHTML(false) does not).
	out, err := e.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"apiVersion":"scaffolder.backstage.io/v1beta3","kind":"Template","metadata":{"name":"t","title":"T","annotations":{"z.example.com/last":"1","a.example.com/first":"2"},"namespace":"default"},"spec":{"type":"service","steps":[],"parameters":[{"title":"Names","properties":{"zeta":{"type":"string","title":"<Zeta & co>"},"alpha":{"type":"string"},"middle":{"type":"string"}}}]}}`
	if string(out) != want {
		t.Errorf("YAML order lost:\n got %s\nwant %s", out, want)
	}

	// JSON sources keep their order too.
	in := `{"kind":"Component","apiVersion":"backstage.io/v1alpha1","metadata":{"name":"x"},"spec":{"owner":"o","type":"t","lifecycle":"l","b":{"y":1,"x":2}}}`
	var j Entity
	if err := json.Unmarshal([]byte(in), &j); err != nil {
		t.Fatal(err)
	}
	if out, _ := json.Marshal(&j); string(out) != in {
		t.Errorf("JSON order lost:\n got %s\nwant %s", out, in)
	}

	// Entities built in Go come out in Backstage's usual order.
	g := &Entity{APIVersion: "v1", Kind: "K", Metadata: Metadata{UID: "u", Name: "n", Tags: []string{"a"}, Links: []Link{{Type: "t", URL: "https://x"}}},
		Relations: []Relation{{Type: "ownedBy", TargetRef: "group:default/a"}},
		Status:    &Status{Items: []StatusItem{{Type: StatusItemProcessingType, Level: LevelError, Message: "m"}}}}
	out, _ = json.Marshal(g)
	want = `{"apiVersion":"v1","kind":"K","metadata":{"name":"n","tags":["a"],"links":[{"url":"https://x","type":"t"}],"uid":"u"},"relations":[{"type":"ownedBy","targetRef":"group:default/a"}],"status":{"items":[{"type":"backstage.io/catalog-processing","level":"error","message":"m"}]}}`
	if string(out) != want {
		t.Errorf("canonical order:\n got %s\nwant %s", out, want)
	}
}
