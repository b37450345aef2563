package catalog

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/errs"
	"github.com/portico-dev/portico/internal/integrations"
	"github.com/portico-dev/portico/internal/integrations/integrationstest"
	"github.com/portico-dev/portico/internal/store"
	"github.com/portico-dev/portico/internal/store/storetest"
)

// Url locations on a GitHub Enterprise and a GitLab host are read through
// their APIs with the configured tokens, relative targets resolve against
// the blob URLs, and those hosts need no backend.reading.allow entry.
func TestURLLocationsThroughIntegrations(t *testing.T) {
	repos := t.TempDir()
	files := map[string]string{
		"acme/svc/main/catalog-info.yaml": `apiVersion: backstage.io/v1alpha1
kind: Location
metadata: {name: acme-svc}
spec:
  targets: [./components.yaml, /teams/platform.yaml]
`,
		"acme/svc/main/components.yaml": `apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: payments
spec:
  type: openapi
  lifecycle: production
  owner: platform
  definition: {$text: ./openapi.yaml}
`,
		"acme/svc/main/openapi.yaml": "openapi: 3.0.0\n",
		"acme/svc/main/teams/platform.yaml": `apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: platform-tools}
spec: {type: library, lifecycle: production, owner: platform}
`,
		"group/sub/project/main/catalog-info.yaml": `apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: from-gitlab}
spec: {type: service, lifecycle: production, owner: platform}
`,
	}
	writeRepoFiles(t, repos, files)
	gh := integrationstest.NewGitHub(t, repos, "ghp_catalog")
	gl := integrationstest.NewGitLab(t, repos, "glpat-catalog")
	integ, err := integrations.New(integrations.Config{
		GitHub: []integrations.GitHubConfig{gh.Config("ghp_catalog")},
		GitLab: []integrations.GitLabConfig{gl.Config("glpat-catalog")},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ghBlob := gh.URL + "/acme/svc/blob/main/catalog-info.yaml"
	glBlob := gl.URL + "/group/sub/project/-/blob/main/catalog-info.yaml"
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		f := urlFixture(t, db, integ, ghBlob, glBlob)
		payments := f.mustEntity("api:default/payments")
		if def := payments["spec"].(map[string]any)["definition"]; def != "openapi: 3.0.0\n" {
			t.Errorf("definition = %v", def)
		}
		md := payments["metadata"].(map[string]any)
		ann := md["annotations"].(map[string]any)
		if want := "url:" + gh.URL + "/acme/svc/tree/main/components.yaml"; ann[AnnotationManagedByLocation] != want {
			t.Errorf("managed-by-location = %v, want %s", ann[AnnotationManagedByLocation], want)
		}
		if want := "url:" + ghBlob; ann[AnnotationManagedByOriginLocation] != want {
			t.Errorf("managed-by-origin-location = %v, want %s", ann[AnnotationManagedByOriginLocation], want)
		}
		// The source location is the file's directory as the integration
		// names it: a tree on GitHub, a blob path on GitLab.
		if want := "url:" + gh.URL + "/acme/svc/tree/main/"; ann[AnnotationSourceLocation] != want {
			t.Errorf("source-location = %v, want %s", ann[AnnotationSourceLocation], want)
		}
		glAnn := f.mustEntity("component:default/from-gitlab")["metadata"].(map[string]any)["annotations"].(map[string]any)
		if want := "url:" + gl.URL + "/group/sub/project/-/blob/main/"; glAnn[AnnotationSourceLocation] != want {
			t.Errorf("gitlab source-location = %v, want %s", glAnn[AnnotationSourceLocation], want)
		}
		f.mustEntity("component:default/platform-tools") // "/teams/…": from the repository's root
		f.mustEntity("component:default/from-gitlab")

		// Every read went through the APIs with the tokens; refreshing
		// sends the ETag back.
		f.refreshAll()
		conditional := false
		for _, r := range gh.Requests() {
			if !strings.HasPrefix(r.Path, "/api/v3/repos/acme/svc/contents/") || r.Authorization != "Bearer ghp_catalog" {
				t.Errorf("GitHub request %+v", r)
			}
			conditional = conditional || r.IfNoneMatch != ""
		}
		if !conditional {
			t.Error("no read sent If-None-Match")
		}
		for _, r := range gl.Requests() {
			if r.Path != "/api/v4/projects/group/sub/project/repository/files/catalog-info.yaml/raw" || r.PrivateToken != "glpat-catalog" {
				t.Errorf("GitLab request %+v", r)
			}
		}

		// The integrations' hosts may be registered without an allow-list
		// entry; other hosts may not.
		if err := f.s.checkRegistrable(LocationSpec{Type: "url", Target: gh.URL + "/acme/svc/blob/main/components.yaml"}); err != nil {
			t.Errorf("integration host refused: %v", err)
		}
		err := f.s.checkRegistrable(LocationSpec{Type: "url", Target: "https://example.com/catalog-info.yaml"})
		if err == nil || !strings.Contains(err.Error(), "backend.reading.allow") {
			t.Errorf("other host: %v", err)
		}
		// A blob URL that does not exist is NotFound, naming the URL.
		_, err = f.s.sources.Read(f.ctx, LocationSpec{Type: "url", Target: gh.URL + "/acme/svc/blob/main/missing.yaml"})
		if !errs.Is(err, errs.NotFound) || !strings.Contains(err.Error(), "/acme/svc/blob/main/missing.yaml") {
			t.Errorf("missing file: %v", err)
		}
	}, Migrations)
}

// Without integrations configured, a Location's relative target beside a
// github.com blob URL resolves within the same repository (Backstage's
// default integration); a reader without a client (the offline validator)
// reads no URL that is not allow-listed, github.com's neither.
func TestResolveAgainstBlobURLs(t *testing.T) {
	s := NewSources(nil, nil, nil, false)
	u, _ := url.Parse("https://github.com/acme/svc/blob/main/catalog-info.yaml")
	if err := s.checkAllowed(u); !errs.Is(err, errs.NotAllowed) {
		t.Fatalf("offline reader: %v", err)
	}
	if err := NewSources(nil, nil, nil, true).checkAllowed(u); err != nil {
		t.Fatalf("github.com is not readable by default: %v", err)
	}
	got, err := s.Resolve(LocationSpec{Type: "url", Target: "https://github.com/acme/svc/blob/main/catalog-info.yaml"}, "./apis/api.yaml")
	if err != nil || got.Target != "https://github.com/acme/svc/tree/main/apis/api.yaml" {
		t.Fatalf("got %v, %v", got, err)
	}
	if _, err := s.Resolve(LocationSpec{Type: "url", Target: "https://github.com/acme/svc/blob/main/catalog-info.yaml"}, "../../other/x.yaml"); err == nil {
		t.Fatal("a target outside the repository resolved")
	}
	got, err = s.Resolve(LocationSpec{Type: "url", Target: "https://example.com/catalog/all.yaml"}, "team.yaml")
	if err != nil || got.Target != "https://example.com/catalog/team.yaml" {
		t.Fatalf("got %v, %v", got, err)
	}
}

// A url location with a glob in its path reads every matching file of the
// repository (one tarball download), each managed by its own blob URL.
func TestURLGlobLocations(t *testing.T) {
	repos := t.TempDir()
	writeRepoFiles(t, repos, map[string]string{
		"acme/mono/main/services/billing/catalog-info.yaml":       "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: billing}\nspec: {type: service, lifecycle: production, owner: platform}\n",
		"acme/mono/main/services/deep/payments/catalog-info.yaml": "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: payments}\nspec: {type: service, lifecycle: production, owner: platform}\n",
		"acme/mono/main/services/billing/README.md":               "# not a catalog file\n",
		"acme/mono/main/elsewhere/catalog-info.yaml":              "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: elsewhere}\nspec: {type: service, lifecycle: production, owner: platform}\n",
	})
	gh := integrationstest.NewGitHub(t, repos, "ghp_catalog")
	integ, err := integrations.New(integrations.Config{GitHub: []integrations.GitHubConfig{gh.Config("ghp_catalog")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	glob := gh.URL + "/acme/mono/blob/main/services/**/catalog-info.yaml"
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		f := urlFixture(t, db, integ, glob)
		for name, file := range map[string]string{"billing": "services/billing", "payments": "services/deep/payments"} {
			e := f.mustEntity("component:default/" + name)
			ann := e["metadata"].(map[string]any)["annotations"].(map[string]any)
			if want := "url:" + gh.URL + "/acme/mono/blob/main/" + file + "/catalog-info.yaml"; ann[AnnotationManagedByLocation] != want {
				t.Errorf("%s: managed-by-location = %v, want %s", name, ann[AnnotationManagedByLocation], want)
			}
		}
		if _, err := f.s.EntityJSON(f.ctx, Ref{Kind: "component", Namespace: "default", Name: "elsewhere"}); !errs.Is(err, errs.NotFound) {
			t.Errorf("a file outside the pattern was read: %v", err)
		}
		// A glob on a host that is no integration is refused with a reason.
		_, err = f.s.sources.ReadAll(f.ctx, LocationSpec{Type: "url", Target: "https://example.com/catalog/*.yaml"})
		if !errs.Is(err, errs.Input) || !strings.Contains(err.Error(), "only GitHub and GitLab") {
			t.Errorf("glob on another host: %v", err)
		}
	}, Migrations)
}

// catalog.providers.github discovers an organization's repositories: each
// one the filters keep is read for its catalog file (optional: a
// repository without one yields nothing), archived ones never.
func TestGitHubDiscovery(t *testing.T) {
	repos := t.TempDir()
	component := func(name string) string {
		return "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: " + name + "}\nspec: {type: service, lifecycle: production, owner: platform}\n"
	}
	writeRepoFiles(t, repos, map[string]string{
		"acme/svc-a/main/catalog-info.yaml":          component("svc-a"),
		"acme/svc-b/main/README.md":                  "no catalog file here\n",
		"acme/public-web/main/catalog-info.yaml":     component("public-web"),
		"acme/legacy/main/catalog-info.yaml":         component("legacy"),
		"acme/archived-x/main/catalog-info.yaml":     component("archived-x"),
		"other/svc-elsewhere/main/catalog-info.yaml": component("svc-elsewhere"),
	})
	gh := integrationstest.NewGitHub(t, repos, "ghp_discovery")
	integ, err := integrations.New(integrations.Config{GitHub: []integrations.GitHubConfig{gh.Config("ghp_discovery")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(gh.URL, "http://")
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		var cfg Config
		cfg.Providers.GitHub = map[string]GitHubDiscoveryConfig{"acme": {Host: host, Organization: "acme"}}
		cfg.Providers.GitHub["acme"] = func() GitHubDiscoveryConfig {
			c := cfg.Providers.GitHub["acme"]
			c.Filters.Repository = "^(svc|public|archived)"
			return c
		}()
		cfg.Rules = []CatalogRule{{Allow: kinds("Component", "Location")}}
		f := runDiscovery(t, db, integ, cfg, "component:default/svc-a", "component:default/public-web")
		if got := f.refs("kind=component"); !slices.Equal(got, []string{"component:default/public-web", "component:default/svc-a"}) {
			t.Errorf("components = %v (legacy is filtered out, archived-x archived, svc-elsewhere in another organization)", got)
		}
		// The locations are the repositories' blob URLs, optional, owned
		// by the provider.
		locs := f.refs("kind=location")
		if len(locs) != 3 {
			t.Errorf("locations = %v, want one per kept repository (svc-a, svc-b, public-web)", locs)
		}
		e := f.mustEntity("component:default/svc-a")
		if got := e["metadata"].(map[string]any)["annotations"].(map[string]any)[AnnotationManagedByLocation]; got != "url:"+gh.URL+"/acme/svc-a/blob/main/catalog-info.yaml" {
			t.Errorf("svc-a managed by %v", got)
		}
	}, Migrations)
}

// A discovery without its required keys, or on a host that is not an
// integration, is a configuration error naming the key.
func TestDiscoveryConfigErrors(t *testing.T) {
	integ, err := integrations.New(integrations.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	db := storetest.SQLite(t, Migrations)
	for _, tc := range []struct {
		providers ProvidersConfig
		want      string
	}{
		{ProvidersConfig{GitHub: map[string]GitHubDiscoveryConfig{"x": {}}}, "catalog.providers.github.x.organization: missing"},
		{ProvidersConfig{GitHub: map[string]GitHubDiscoveryConfig{"x": {Organization: "acme", Host: "ghe.example.com"}}}, "catalog.providers.github.x.host: ghe.example.com is not an integrations.github host"},
		{ProvidersConfig{GitHub: map[string]GitHubDiscoveryConfig{"x": {Organization: "acme", Filters: discoveryFilter{Repository: "("}}}}, "catalog.providers.github.x.filters.repository"},
		{ProvidersConfig{GitLab: map[string]GitLabDiscoveryConfig{"y": {}}}, "catalog.providers.gitlab.y.host: missing"},
		{ProvidersConfig{GitLab: map[string]GitLabDiscoveryConfig{"y": {Host: "gitlab.example.com"}}}, "catalog.providers.gitlab.y.host: gitlab.example.com is not an integrations.gitlab host"},
		{ProvidersConfig{GitLab: map[string]GitLabDiscoveryConfig{"y": {Host: "gitlab.com", ProjectPattern: "["}}}, "catalog.providers.gitlab.y.projectPattern"},
	} {
		if _, err := New(Options{DB: db, WatchInterval: -1, Integrations: integ, Config: Config{Providers: tc.providers}}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.providers, err, tc.want)
		}
	}
}

// writeRepoFiles writes files (slash paths: owner/repo/ref/path) below
// dir, as the fake hosts serve them.
func writeRepoFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// catalog.providers.gitlab discovers a group's projects, subgroups
// included: each one the filters keep is read for its catalog file,
// archived ones only when asked for.
func TestGitLabDiscovery(t *testing.T) {
	repos := t.TempDir()
	component := func(name string) string {
		return "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: " + name + "}\nspec: {type: service, lifecycle: production, owner: platform}\n"
	}
	writeRepoFiles(t, repos, map[string]string{
		"grp/svc-a/main/catalog-info.yaml":            component("gl-svc-a"),
		"grp/sub/svc-b/main/catalog-info.yaml":        component("gl-svc-b"),
		"grp/sub/tools/main/catalog-info.yaml":        component("gl-tools"),
		"grp/sub/archived-svc/main/catalog-info.yaml": component("gl-archived"),
		"grp/svc-empty/main/README.md":                "no catalog file\n",
	})
	gl := integrationstest.NewGitLab(t, repos, "glpat-discovery")
	integ, err := integrations.New(integrations.Config{GitLab: []integrations.GitLabConfig{gl.Config("glpat-discovery")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		var cfg Config
		cfg.Providers.GitLab = map[string]GitLabDiscoveryConfig{"grp": {Host: gl.Host(), Group: "grp", ProjectPattern: "svc"}}
		cfg.Rules = []CatalogRule{{Allow: kinds("Component", "Location")}}
		f := runDiscovery(t, db, integ, cfg, "component:default/gl-svc-a", "component:default/gl-svc-b")
		if got := f.refs("kind=component"); !slices.Equal(got, []string{"component:default/gl-svc-a", "component:default/gl-svc-b"}) {
			t.Errorf("components = %v (tools does not match the pattern, archived-svc is archived)", got)
		}
		e := f.mustEntity("component:default/gl-svc-b")
		if got := e["metadata"].(map[string]any)["annotations"].(map[string]any)[AnnotationManagedByLocation]; got != "url:"+gl.URL+"/grp/sub/svc-b/-/blob/main/catalog-info.yaml" {
			t.Errorf("gl-svc-b managed by %v", got)
		}
	}, Migrations)
}

// runDiscovery runs a catalog with cfg until the entities refs exist (a
// discovery runs in the background), and stops it when the test ends.
func runDiscovery(t *testing.T, db *store.DB, integ *integrations.Set, cfg Config, refs ...string) *fixture {
	t.Helper()
	s, err := New(Options{DB: db, WatchInterval: -1, Integrations: integ, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	f := &fixture{t: t, s: s, ctx: ctx}
	deadline := time.Now().Add(15 * time.Second)
	for slices.ContainsFunc(refs, func(r string) bool { return f.entity(r) == nil }) {
		if time.Now().After(deadline) {
			t.Fatalf("discovered components: %v", f.refs("kind=component"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	return f
}

// urlFixture starts a catalog whose config locations are the url targets,
// read through integ, and processes them.
func urlFixture(t *testing.T, db *store.DB, integ *integrations.Set, targets ...string) *fixture {
	t.Helper()
	var cfg Config
	for _, target := range targets {
		cfg.Locations = append(cfg.Locations, ConfigLocation{Type: "url", Target: target})
	}
	s, err := New(Options{DB: db, WatchInterval: -1, Integrations: integ, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, dir: t.TempDir(), s: s, ctx: context.Background()}
	if err := s.Start(f.ctx); err != nil {
		t.Fatal(err)
	}
	f.drain()
	return f
}
