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
