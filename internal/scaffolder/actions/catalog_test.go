package actions_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/app/apptest"
	"github.com/portico-dev/portico/internal/catalog"
	"github.com/portico-dev/portico/internal/scaffolder/actions"
)

const componentYAML = `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: Payments-API
  namespace: finance
spec:
  type: service
  lifecycle: experimental
  owner: group:default/team-a
`

// catalogServer starts Portico with a catalog that may read from a test
// HTTP server serving catalog-info files.
func catalogServer(t *testing.T) (*catalog.Service, *httptest.Server) {
	t.Helper()
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/repo/blob/main/catalog-info.yaml", "/other/catalog-info.yaml":
			fmt.Fprint(w, componentYAML)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(files.Close)
	host := strings.TrimPrefix(files.URL, "http://")
	inst := apptest.Start(t, apptest.Options{Config: fmt.Sprintf(`
backend:
  reading:
    allow:
      - host: %q
catalog:
  rules:
    - allow: [Component, Location, Group, User]
`, host)})
	return inst.App.Env().Catalog, files
}

func TestCatalogRegisterAndFetch(t *testing.T) {
	cat, files := catalogServer(t)
	deps := actions.Deps{Catalog: cat}
	r := newRun(t)
	if err := r.call(t.Context(), deps, "catalog:register", map[string]any{"repoContentsUrl": files.URL + "/repo/blob/main/"}); err != nil {
		t.Fatal(err)
	}
	if got, want := r.outputs["entityRef"], "component:finance/Payments-API"; got != want {
		t.Fatalf("entityRef = %v, want %s", got, want)
	}
	if got, want := r.outputs["catalogInfoUrl"], files.URL+"/repo/blob/main/catalog-info.yaml"; got != want {
		t.Fatalf("catalogInfoUrl = %v, want %s", got, want)
	}
	locs, err := cat.Locations(t.Context())
	if err != nil || len(locs) != 1 || locs[0].Target != r.outputs["catalogInfoUrl"] {
		t.Fatalf("locations = %v, %v", locs, err)
	}

	// The entity shows up as soon as the catalog has processed it.
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := r.call(t.Context(), deps, "catalog:fetch", map[string]any{"entityRef": "finance/payments-api", "defaultKind": "Component"})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the registered entity never appeared: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	entity := r.outputs["entity"].(map[string]any)
	if md := entity["metadata"].(map[string]any); md["name"] != "Payments-API" {
		t.Fatalf("fetched %v", entity)
	}

	// A second registration of the same file (another task, or this one
	// recovered without its checkpoint) is not an error.
	r2 := newRun(t)
	if err := r2.call(t.Context(), deps, "catalog:register", map[string]any{"catalogInfoUrl": files.URL + "/repo/blob/main/catalog-info.yaml"}); err != nil {
		t.Fatal(err)
	}
	if locs, _ := cat.Locations(t.Context()); len(locs) != 1 {
		t.Fatalf("locations = %v", locs)
	}

	// entityRefs with optional: missing ones are null.
	if err := r.call(t.Context(), deps, "catalog:fetch", map[string]any{"entityRefs": []any{"component:finance/payments-api", "component:default/nope"}, "optional": true}); err != nil {
		t.Fatal(err)
	}
	list := r.outputs["entities"].([]any)
	if len(list) != 2 || list[0] == nil || list[1] != nil {
		t.Fatalf("entities = %v", list)
	}
	wantErr(t, r.call(t.Context(), deps, "catalog:fetch", map[string]any{"entityRef": "component:default/nope"}), "input.entityRef", "not found")
	wantErr(t, r.call(t.Context(), deps, "catalog:fetch", map[string]any{"entityRefs": []any{"component:default/nope"}}), "input.entityRefs[0]", "not found")
	wantErr(t, r.call(t.Context(), deps, "catalog:fetch", map[string]any{"entityRef": "payments-api"}), "input.entityRef", "has no kind")
	wantErr(t, r.call(t.Context(), deps, "catalog:fetch", map[string]any{}), "input.entityRef", "required")
}

func TestCatalogRegisterErrors(t *testing.T) {
	cat, files := catalogServer(t)
	deps := actions.Deps{Catalog: cat}
	for _, tc := range []struct {
		name  string
		input map[string]any
		want  []string
	}{
		{"nothing", map[string]any{}, []string{"input.catalogInfoUrl", "required"}},
		{"relative", map[string]any{"catalogInfoUrl": "catalog-info.yaml"}, []string{"input.catalogInfoUrl", "not an absolute URL"}},
		{"file", map[string]any{"catalogInfoUrl": "file:///etc/catalog-info.yaml"}, []string{"input.catalogInfoUrl", "file://"}},
		{"not allowed", map[string]any{"catalogInfoUrl": "https://example.com/catalog-info.yaml"}, []string{"register https://example.com/catalog-info.yaml", "backend.reading.allow"}},
		{"missing file", map[string]any{"catalogInfoUrl": files.URL + "/missing/catalog-info.yaml"}, []string{"missing/catalog-info.yaml"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRun(t)
			wantErr(t, r.call(t.Context(), deps, "catalog:register", tc.input), tc.want...)
		})
	}
	// optional: a missing file is registered (it may appear later) and
	// the step succeeds; the only entity is the location itself.
	r := newRun(t)
	if err := r.call(t.Context(), deps, "catalog:register", map[string]any{"catalogInfoUrl": files.URL + "/later/catalog-info.yaml", "optional": true}); err != nil {
		t.Fatal(err)
	}
	if ref, _ := r.outputs["entityRef"].(string); !strings.HasPrefix(ref, "location:default/generated-") {
		t.Fatalf("outputs = %v", r.outputs)
	}
}

func TestCatalogWrite(t *testing.T) {
	r := newRun(t)
	entity := map[string]any{
		"spec":       map[string]any{"type": "service", "owner": "team-a", "lifecycle": "experimental"},
		"metadata":   map[string]any{"name": "payments", "annotations": map[string]any{"github.com/project-slug": "acme/payments"}},
		"kind":       "Component",
		"apiVersion": "backstage.io/v1alpha1",
	}
	if err := r.call(t.Context(), actions.Deps{}, "catalog:write", map[string]any{"entity": entity}); err != nil {
		t.Fatal(err)
	}
	golden(t, "catalog-write.yaml", r.read("catalog-info.yaml"))
	if err := r.call(t.Context(), actions.Deps{}, "catalog:write", map[string]any{"entity": entity, "filePath": "deploy/catalog.yaml"}); err != nil {
		t.Fatal(err)
	}
	if r.read("deploy/catalog.yaml") != r.read("catalog-info.yaml") {
		t.Fatal("filePath wrote something else")
	}
	wantErr(t, r.call(t.Context(), actions.Deps{}, "catalog:write", map[string]any{"entity": entity, "filePath": "../x.yaml"}), "input.filePath", "outside the workspace")
	wantErr(t, r.call(t.Context(), actions.Deps{}, "catalog:write", map[string]any{}), "input.entity", "required")
}
