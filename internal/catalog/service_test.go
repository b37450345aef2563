package catalog

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/store"
	"github.com/portico-dev/portico/internal/store/storetest"
)

// fixture is a catalog over a temporary directory of YAML files, driven
// step by step (no background loops).
type fixture struct {
	t   *testing.T
	dir string
	s   *Service
	ctx context.Context
}

func newFixture(t *testing.T, db *store.DB, files map[string]string, cfg Config) *fixture {
	t.Helper()
	f := &fixture{t: t, dir: t.TempDir(), ctx: context.Background()}
	for name, content := range files {
		f.write(name, content)
	}
	for i := range cfg.Locations {
		if cfg.Locations[i].Type == "file" {
			cfg.Locations[i].Target = filepath.Join(f.dir, cfg.Locations[i].Target)
		}
	}
	s, err := New(Options{DB: db, Config: cfg, BaseDir: f.dir, WatchInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	f.s = s
	if err := s.Start(f.ctx); err != nil {
		t.Fatal(err)
	}
	f.drain()
	return f
}

func (f *fixture) write(name, content string) {
	f.t.Helper()
	p := filepath.Join(f.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// drain runs processing, stitching and orphan cleanup until nothing is
// left to do.
func (f *fixture) drain() {
	f.t.Helper()
	for range 50 {
		p, err := f.s.processOnce(f.ctx)
		if err != nil {
			f.t.Fatal(err)
		}
		st, err := f.s.stitchOnce(f.ctx)
		if err != nil {
			f.t.Fatal(err)
		}
		o, err := f.s.deleteOrphans(f.ctx)
		if err != nil {
			f.t.Fatal(err)
		}
		if p == 0 && st == 0 && o == 0 {
			return
		}
	}
	f.t.Fatal("processing did not settle")
}

// refreshAll makes every entity due again, as the refresh loop would.
func (f *fixture) refreshAll() {
	f.t.Helper()
	if _, err := f.s.db.ExecContext(f.ctx, `UPDATE catalog_refresh_state SET next_update_at = $1`, store.Now()); err != nil {
		f.t.Fatal(err)
	}
	f.drain()
}

func (f *fixture) entity(ref string) map[string]any {
	f.t.Helper()
	r, err := ParseRef(ref, RefDefaults{})
	if err != nil {
		f.t.Fatal(err)
	}
	body, err := f.s.EntityJSON(f.ctx, r)
	if err != nil {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		f.t.Fatal(err)
	}
	return m
}

func (f *fixture) mustEntity(ref string) map[string]any {
	f.t.Helper()
	e := f.entity(ref)
	if e == nil {
		f.t.Fatalf("entity %s is missing", ref)
	}
	return e
}

func (f *fixture) refs(filter string) []string {
	f.t.Helper()
	fl, err := ParseFilterParams([]string{filter})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	err = f.s.ListEntities(f.ctx, ListRequest{Filter: fl}, func(b []byte) error {
		out = append(out, refOfBody(b))
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

func statusMessages(e map[string]any) string {
	st, _ := e["status"].(map[string]any)
	items, _ := st["items"].([]any)
	var msgs []string
	for _, it := range items {
		m := it.(map[string]any)
		msgs = append(msgs, m["level"].(string)+" "+m["message"].(string))
	}
	return strings.Join(msgs, "\n")
}

func relations(e map[string]any) []string {
	var out []string
	rs, _ := e["relations"].([]any)
	for _, r := range rs {
		m := r.(map[string]any)
		out = append(out, m["type"].(string)+" "+m["targetRef"].(string))
	}
	return out
}

// wantAnnotations checks an entity's annotations; who names it in errors.
func wantAnnotations(t *testing.T, e map[string]any, who string, want map[string]string) {
	t.Helper()
	for key, value := range want {
		if got := annotation(e, key); got != value {
			t.Errorf("%s's %s = %q, want %q", who, key, got, value)
		}
	}
}

func annotation(e map[string]any, key string) string {
	md := e["metadata"].(map[string]any)
	a, _ := md["annotations"].(map[string]any)
	s, _ := a[key].(string)
	return s
}

func fileLocation(target string) Config {
	return Config{Locations: []ConfigLocation{{Type: "file", Target: target,
		Rules: []CatalogRule{{Allow: kinds("Component", "API", "Resource", "System", "Domain", "Group", "User", "Location")}}}}}
}

func kinds(names ...string) []KindMatcher {
	out := make([]KindMatcher, len(names))
	for i, n := range names {
		out[i] = KindMatcher{Kind: n}
	}
	return out
}

const componentA = `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: a
  tags: [java, go]
spec:
  type: Service
  lifecycle: production
  owner: team-a
  providesApis: [api-a]
`

const groupA = `apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-a
spec:
  type: team
  children: []
`

func TestIngestFileLocation(t *testing.T) {
	runDB(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, map[string]string{
			"catalog.yaml": componentA + "---\n" + groupA,
		}, fileLocation("catalog.yaml"))
		a := f.mustEntity("component:default/a")
		md := a["metadata"].(map[string]any)
		if md["uid"] == "" || md["etag"] == "" {
			t.Errorf("uid and etag must be set: %v", md)
		}
		if got := annotation(a, AnnotationManagedByLocation); got != "file:"+filepath.Join(f.dir, "catalog.yaml") {
			t.Errorf("managed-by-location = %q", got)
		}
		if got := strings.Join(relations(a), ","); got != "ownedBy group:default/team-a,providesApi api:default/api-a" {
			t.Errorf("relations of a = %s", got)
		}
		g := f.mustEntity("group:default/team-a")
		if got := strings.Join(relations(g), ","); got != "ownerOf component:default/a" {
			t.Errorf("reverse relations = %s", got)
		}
		// Search semantics: case-insensitive values, string list items as
		// keys, relations.
		for filter, want := range map[string]string{
			"kind=COMPONENT,spec.type=Service":               "component:default/a",
			"metadata.tags.go":                               "component:default/a",
			"metadata.tags=java":                             "component:default/a",
			"relations.ownedby=group:default/team-a":         "component:default/a",
			"kind=group,metadata.name=team-a":                "group:default/team-a",
			"kind=component,kind=group,metadata.name=team-a": "group:default/team-a",
			"metadata.namespace=default,kind=location":       "location:default/" + GeneratedLocationName(LocationSpec{Type: "file", Target: filepath.Join(f.dir, "catalog.yaml")}),
		} {
			if got := strings.Join(f.refs(filter), ","); got != want {
				t.Errorf("filter %s: got %s, want %s", filter, got, want)
			}
		}
		// Unchanged sources are not written again.
		etag := md["etag"]
		f.refreshAll()
		if f.mustEntity("component:default/a")["metadata"].(map[string]any)["etag"] != etag {
			t.Error("etag changed without a change")
		}
		// A change shows after the file's location is refreshed.
		f.write("catalog.yaml", strings.Replace(componentA, "lifecycle: production", "lifecycle: deprecated", 1)+"---\n"+groupA)
		if err := f.s.RefreshKeys(f.ctx, []string{"file:" + filepath.Join(f.dir, "catalog.yaml")}); err != nil {
			t.Fatal(err)
		}
		f.drain()
		spec := f.mustEntity("component:default/a")["spec"].(map[string]any)
		if spec["lifecycle"] != "deprecated" {
			t.Errorf("lifecycle = %v after the edit", spec["lifecycle"])
		}
	})
}

func TestConflictFirstOwnerKeeps(t *testing.T) {
	runDB(t, func(t *testing.T, db *store.DB) {
		other := strings.Replace(componentA, "lifecycle: production", "lifecycle: experimental", 1)
		cfg := fileLocation("one.yaml")
		cfg.Locations = append(cfg.Locations, fileLocation("two.yaml").Locations...)
		f := newFixture(t, db, map[string]string{"one.yaml": componentA, "two.yaml": other}, cfg)
		spec := f.mustEntity("component:default/a")["spec"].(map[string]any)
		if spec["lifecycle"] != "production" {
			t.Errorf("the second location took the entity over: %v", spec["lifecycle"])
		}
		loc2 := f.mustEntity("location:default/" + GeneratedLocationName(LocationSpec{Type: "file", Target: filepath.Join(f.dir, "two.yaml")}))
		if msg := statusMessages(loc2); !strings.Contains(msg, "warning ConflictError") || !strings.Contains(msg, "component:default/a") {
			t.Errorf("conflict not reported on the losing location: %q", msg)
		}
		// When the owner drops it, the other location can take it.
		f.write("one.yaml", groupA)
		f.refreshAll()
		f.refreshAll()
		spec = f.mustEntity("component:default/a")["spec"].(map[string]any)
		if spec["lifecycle"] != "experimental" {
			t.Errorf("after the first owner dropped it: lifecycle %v", spec["lifecycle"])
		}
	})
}

func TestOrphans(t *testing.T) {
	for _, strategy := range []string{OrphansDelete, OrphansKeep} {
		t.Run(strategy, func(t *testing.T) {
			runDB(t, func(t *testing.T, db *store.DB) {
				cfg := fileLocation("catalog.yaml")
				cfg.Orphans = strategy
				f := newFixture(t, db, map[string]string{"catalog.yaml": componentA + "---\n" + groupA}, cfg)
				f.write("catalog.yaml", groupA)
				f.refreshAll()
				a := f.entity("component:default/a")
				if strategy == OrphansDelete {
					if a != nil {
						t.Fatal("orphan was not deleted")
					}
					if got := relations(f.mustEntity("group:default/team-a")); len(got) != 0 {
						t.Errorf("relations to the deleted entity remain: %v", got)
					}
					// The deleted entity's search rows go with it.
					facets, err := f.s.Facets(f.ctx, []string{"kind"}, nil)
					if err != nil {
						t.Fatal(err)
					}
					for _, fc := range facets["kind"] {
						if fc.Value == "Component" {
							t.Errorf("kind facet still counts the deleted component: %v", facets["kind"])
						}
					}
					return
				}
				if a == nil || annotation(a, AnnotationOrphan) != "true" {
					t.Fatalf("orphan not kept with the annotation: %v", a)
				}
				if got := f.refs("metadata.annotations.backstage.io/orphan=true"); strings.Join(got, ",") != "component:default/a" {
					t.Errorf("orphan filter: %v", got)
				}
			})
		})
	}
}

func TestRules(t *testing.T) {
	runDB(t, func(t *testing.T, db *store.DB) {
		cfg := Config{Locations: []ConfigLocation{{Type: "file", Target: "catalog.yaml"}}}
		f := newFixture(t, db, map[string]string{"catalog.yaml": componentA + "---\n" + groupA}, cfg)
		if f.entity("group:default/team-a") != nil || f.entity("component:default/a") != nil {
			t.Fatal("a Group came in although the default rules allow only Component, API and Location")
		}
		// The location's error shows once it processes at all; the
		// never-processed location has no final entity, so look at the
		// stored errors.
		var errText string
		if err := db.QueryRowContext(f.ctx, `SELECT errors FROM catalog_refresh_state WHERE entity_ref LIKE 'location:%'`).Scan(&errText); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(errText, "group:default/team-a") || !strings.Contains(errText, "not of an allowed kind") {
			t.Errorf("errors = %s", errText)
		}
		// A global rule for the file's pattern allows groups.
		cfg2 := Config{
			Rules:     []CatalogRule{{Allow: kinds("Component", "Location")}, {Allow: []KindMatcher{{Kind: "group", SpecType: "TEAM"}}, Locations: []LocationMatcher{{Type: "file", Pattern: "**/catalog.yaml"}}}},
			Locations: []ConfigLocation{{Type: "file", Target: "catalog.yaml"}},
		}
		f2 := newFixture(t, storetest.SQLite(t, Migrations), map[string]string{"catalog.yaml": componentA + "---\n" + groupA}, cfg2)
		if f2.entity("group:default/team-a") == nil {
			t.Error("the pattern rule did not allow the group")
		}
	})
}

func TestPlaceholders(t *testing.T) {
	runDB(t, func(t *testing.T, db *store.DB) {
		api := `apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: api-a
spec:
  data: {$json: ./data.json}
  type: openapi
  lifecycle: production
  owner: team-a
  definition: {$text: ./defs/openapi.yaml}
  extra: {$yaml: ./defs/openapi.yaml}
`
		f := newFixture(t, db, map[string]string{
			"catalog.yaml":      api,
			"defs/openapi.yaml": "openapi: 3.0.0\ninfo: {title: A}\n",
			"data.json":         `"from json"`,
		}, fileLocation("catalog.yaml"))
		e := f.mustEntity("api:default/api-a")
		spec := e["spec"].(map[string]any)
		if spec["definition"] != "openapi: 3.0.0\ninfo: {title: A}\n" {
			t.Errorf("$text: %q", spec["definition"])
		}
		if info := spec["extra"].(map[string]any)["info"].(map[string]any); info["title"] != "A" {
			t.Errorf("$yaml: %v", spec["extra"])
		}
		if got := spec["data"]; got != "from json" {
			t.Errorf("$json: %q", got)
		}
		// A missing placeholder target is an error in status; the last good
		// entity stays.
		if err := os.Remove(filepath.Join(f.dir, "defs/openapi.yaml")); err != nil {
			t.Fatal(err)
		}
		f.refreshAll()
		e = f.mustEntity("api:default/api-a")
		if e["spec"].(map[string]any)["definition"] == nil {
			t.Error("the last good entity was not kept")
		}
		if msg := statusMessages(e); !strings.Contains(msg, "error") || !strings.Contains(msg, "openapi.yaml") {
			t.Errorf("status = %q", msg)
		}
	})
}

func TestBadInputKeepsWhatIsStored(t *testing.T) {
	good := componentA + "---\n" + groupA
	cases := []struct {
		name, content, want string
	}{
		{"malformed YAML", "apiVersion: [unclosed\n", "malformed YAML"},
		{"list at root", "- a\n- b\n", "expected an entity"},
		{"not UTF-8", "kind: \xff\xfe\n", "not valid UTF-8"},
		{"huge file", "# " + strings.Repeat("x", MaxSourceSize) + "\n", "larger than the limit"},
		{"duplicate refs", good + "---\n" + componentA, "duplicate entity component:default/a"},
		{"invalid envelope", good + "---\napiVersion: 1\nkind: Component\n", "metadata"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			runDB(t, func(t *testing.T, db *store.DB) {
				f := newFixture(t, db, map[string]string{"catalog.yaml": good}, fileLocation("catalog.yaml"))
				f.write("catalog.yaml", c.content)
				f.refreshAll()
				if f.entity("component:default/a") == nil || f.entity("group:default/team-a") == nil {
					t.Fatal("stored entities were lost")
				}
				loc := f.mustEntity("location:default/" + GeneratedLocationName(LocationSpec{Type: "file", Target: filepath.Join(f.dir, "catalog.yaml")}))
				if msg := statusMessages(loc); !strings.Contains(msg, c.want) {
					t.Errorf("status of the location = %q, want it to mention %q", msg, c.want)
				}
			})
		})
	}
}

func TestInvalidChangeKeepsLastGoodEntity(t *testing.T) {
	runDB(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, map[string]string{"catalog.yaml": componentA}, fileLocation("catalog.yaml"))
		f.write("catalog.yaml", strings.Replace(componentA, "type: Service", "type: 12", 1))
		f.refreshAll()
		e := f.mustEntity("component:default/a")
		if e["spec"].(map[string]any)["type"] != "Service" {
			t.Error("the last good entity was replaced")
		}
		if msg := statusMessages(e); !strings.Contains(msg, "spec.type") {
			t.Errorf("status = %q", msg)
		}
		f.write("catalog.yaml", componentA)
		f.refreshAll()
		if msg := statusMessages(f.mustEntity("component:default/a")); msg != "" {
			t.Errorf("status after the fix = %q", msg)
		}
	})
}

func TestLocationTargetsAndGlobs(t *testing.T) {
	runDB(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, map[string]string{
			"all.yaml": `apiVersion: backstage.io/v1alpha1
kind: Location
metadata: {name: all}
spec:
  targets: [./components/*.yaml, ./missing.yaml]
  presence: optional
`,
			"components/a.yaml": componentA,
			"components/b.yaml": strings.ReplaceAll(componentA, "name: a", "name: b"),
		}, fileLocation("all.yaml"))
		if got := f.refs("kind=component"); len(got) != 2 {
			t.Errorf("components = %v", got)
		}
		b := f.mustEntity("component:default/b")
		if got := annotation(b, AnnotationManagedByOriginLocation); got != "file:"+filepath.Join(f.dir, "all.yaml") {
			t.Errorf("origin = %q", got)
		}
	})
}

func TestQueries(t *testing.T) {
	runDB(t, func(t *testing.T, db *store.DB) {
		var docs []string
		for _, n := range []string{"c", "a", "e", "b", "d"} {
			docs = append(docs, strings.ReplaceAll(componentA, "name: a", "name: "+n))
		}
		docs = append(docs, groupA)
		f := newFixture(t, db, map[string]string{"catalog.yaml": strings.Join(docs, "---\n")}, fileLocation("catalog.yaml"))
		if err := f.s.analyze(f.ctx); err != nil {
			t.Fatalf("analyze: %v", err)
		}
		// Kind filters narrow the walk over refs; every form must still
		// find exactly the entities of the kinds.
		for _, tc := range []struct {
			params []string
			want   string
		}{
			{[]string{"kind=Component,metadata.name=b"}, "component:default/b"},
			{[]string{"kind=group"}, "group:default/team-a"},
			{[]string{"kind=group,kind=COMPONENT,metadata.name=team-a"}, "group:default/team-a"},
			{[]string{"kind=group", "metadata.name=c"}, "component:default/c,group:default/team-a"},
			{[]string{"kind=group", "kind=component,metadata.name=a"}, "component:default/a,group:default/team-a"},
			{[]string{"kind=comp"}, ""},
		} {
			fl, err := ParseFilterParams(tc.params)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			if err := f.s.ListEntities(f.ctx, ListRequest{Filter: fl, Limit: 10}, func(b []byte) error {
				got = append(got, refOfBody(b))
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, ",") != tc.want {
				t.Errorf("list %v = %v, want %s", tc.params, got, tc.want)
			}
		}
		filter, _ := ParseFilterParams([]string{"kind=component"})
		order := []OrderField{{Field: "metadata.name", Order: "desc"}}
		var names []string
		res, err := f.s.QueryEntities(f.ctx, QueryRequest{Filter: filter, OrderFields: order, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if res.TotalItems != 5 || res.PrevCursor != "" {
			t.Errorf("first page: total %d prev %q", res.TotalItems, res.PrevCursor)
		}
		page := func(r *QueryResult) {
			for _, it := range r.Items {
				names = append(names, refOfBody(it))
			}
		}
		page(res)
		for res.NextCursor != "" {
			res, err = f.s.QueryEntities(f.ctx, QueryRequest{Cursor: res.NextCursor, Limit: 2})
			if err != nil {
				t.Fatal(err)
			}
			page(res)
		}
		if got := strings.Join(names, ","); got != "component:default/e,component:default/d,component:default/c,component:default/b,component:default/a" {
			t.Errorf("pages = %s", got)
		}
		back, err := f.s.QueryEntities(f.ctx, QueryRequest{Cursor: res.PrevCursor, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		names = nil
		page(back)
		if got := strings.Join(names, ","); got != "component:default/c,component:default/b" {
			t.Errorf("previous page = %s", got)
		}
		ft, err := f.s.QueryEntities(f.ctx, QueryRequest{Filter: filter, FullTextTerm: "B", FullTextFields: []string{"metadata.name"}, Limit: 10})
		if err != nil || ft.TotalItems != 1 {
			t.Errorf("full text: %v %v", ft, err)
		}
		facets, err := f.s.Facets(f.ctx, []string{"kind", "metadata.tags"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := json.Marshal(facets); string(got) != `{"kind":[{"value":"Component","count":5},{"value":"Group","count":1},{"value":"Location","count":1}],"metadata.tags":[{"value":"go","count":5},{"value":"java","count":5}]}` {
			t.Errorf("facets = %s", got)
		}
		pred, err := ParsePredicate(json.RawMessage(`{"$all":[{"kind":"component"},{"metadata.name":{"$in":["a","b"]}},{"$not":{"metadata.name":{"$hasPrefix":"b"}}}]}`))
		if err != nil {
			t.Fatal(err)
		}
		res, err = f.s.QueryEntities(f.ctx, QueryRequest{Filter: pred, Limit: 10})
		if err != nil || len(res.Items) != 1 || refOfBody(res.Items[0]) != "component:default/a" {
			t.Errorf("predicate: %v %v", res, err)
		}
		items, err := f.s.EntitiesByRefs(f.ctx, []string{"component:default/b", "component:default/nope", "Component:default/A"}, nil)
		if err != nil || items[0] == nil || items[1] != nil || items[2] == nil {
			t.Errorf("by refs: %v %v", items, err)
		}
	})
}

// runDB runs fn on SQLite and PostgreSQL with the catalog's tables.
func runDB(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	storetest.Run(t, fn, Migrations)
}

type testProvider struct {
	conn ProviderConnection
}

func (p *testProvider) Name() string { return "test-provider" }

func (p *testProvider) Connect(_ context.Context, conn ProviderConnection) error {
	p.conn = conn
	return nil
}

func providedComponent(name string) DeferredEntity {
	return DeferredEntity{LocationKey: "test:" + name, Entity: &Entity{
		APIVersion: APIVersionV1alpha1, Kind: "Component",
		Metadata: Metadata{Name: name, Annotations: map[string]string{
			AnnotationManagedByLocation: "test:" + name, AnnotationManagedByOriginLocation: "test:" + name,
		}},
		Spec: map[string]any{"type": "service", "lifecycle": "production", "owner": "team-a"},
	}}
}

func TestProviderMutations(t *testing.T) {
	runDB(t, func(t *testing.T, db *store.DB) {
		p := &testProvider{}
		s, err := New(Options{DB: db, WatchInterval: -1, Providers: []EntityProvider{p}})
		if err != nil {
			t.Fatal(err)
		}
		f := &fixture{t: t, s: s, ctx: context.Background()}
		if err := s.Start(f.ctx); err != nil {
			t.Fatal(err)
		}
		if err := p.conn.ApplyMutation(f.ctx, FullMutation{Entities: []DeferredEntity{providedComponent("p1"), providedComponent("p2")}}); err != nil {
			t.Fatal(err)
		}
		f.drain()
		if got := strings.Join(f.refs("kind=component"), ","); got != "component:default/p1,component:default/p2" {
			t.Fatalf("after the full mutation: %s", got)
		}
		if err := p.conn.ApplyMutation(f.ctx, DeltaMutation{Removed: []RemovedEntity{{EntityRef: "component:default/p1"}}, Added: []DeferredEntity{providedComponent("p3")}}); err != nil {
			t.Fatal(err)
		}
		f.drain()
		if got := strings.Join(f.refs("kind=component"), ","); got != "component:default/p2,component:default/p3" {
			t.Fatalf("after the delta mutation: %s", got)
		}
		if err := p.conn.ApplyMutation(f.ctx, FullMutation{Entities: []DeferredEntity{providedComponent("p3")}}); err != nil {
			t.Fatal(err)
		}
		f.drain()
		if got := strings.Join(f.refs("kind=component"), ","); got != "component:default/p3" {
			t.Fatalf("after the second full mutation: %s", got)
		}
		// Entities without the location annotations are refused.
		bad := providedComponent("p4")
		bad.Entity.Metadata.Annotations = nil
		if err := p.conn.ApplyMutation(f.ctx, DeltaMutation{Added: []DeferredEntity{bad}}); err == nil {
			t.Error("an entity without location annotations was accepted")
		}
	})
}

// Backstage keys Portico accepts but does not act on are reported at
// start rather than ignored in silence.
func TestUnusedBackstageKeysAreReported(t *testing.T) {
	db := storetest.SQLite(t, Migrations)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	cfg := Config{ProcessorOptions: map[string]any{"ldapOrg": map[string]any{}}, StitchingStrategy: map[string]any{"mode": "deferred"}}
	if _, err := New(Options{DB: db, Config: cfg, WatchInterval: -1, Logger: logger}); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	for _, want := range []string{"catalog.processorOptions is accepted from Backstage configurations but Portico does not use it", "catalog.stitchingStrategy"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	logs.Reset()
	if _, err := New(Options{DB: db, Config: Config{}, WatchInterval: -1, Logger: logger}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "does not use it") {
		t.Errorf("a config without such keys was warned about:\n%s", logs.String())
	}
}
