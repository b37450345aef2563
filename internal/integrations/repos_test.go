package integrations_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/integrations"
	"github.com/portico-dev/portico/internal/integrations/integrationstest"
)

// An organization's repositories are listed page by page; private ones
// only with a credential that may see them; an unknown owner is an error
// naming it.
func TestGitHubRepositories(t *testing.T) {
	gh := integrationstest.NewGitHub(t, "testdata/repos", "ghp_list")
	gh.RepoPageSize = 1
	host := strings.TrimPrefix(gh.URL, "http://")
	names := func(cfg integrations.GitHubConfig) []string {
		t.Helper()
		set, err := integrations.New(integrations.Config{GitHub: []integrations.GitHubConfig{cfg}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		repos, err := set.GitHubRepositories(t.Context(), host, "acme")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range repos {
			if r.DefaultBranch != "main" {
				t.Errorf("%s: default branch %q", r.Name, r.DefaultBranch)
			}
			out = append(out, r.Name)
		}
		slices.Sort(out)
		return out
	}
	if got := names(gh.Config("ghp_list")); !slices.Equal(got, []string{"monorepo", "public", "svc"}) {
		t.Errorf("with the token: %v", got)
	}
	pages := 0
	for _, r := range gh.Requests() {
		if r.Path == "/api/v3/orgs/acme/repos" {
			pages++
		}
	}
	if pages != 3 {
		t.Errorf("%d pages read, want 3 (one repository each)", pages)
	}
	if got := names(gh.Config("")); !slices.Equal(got, []string{"public"}) {
		t.Errorf("without a token: %v", got)
	}

	set, err := integrations.New(integrations.Config{GitHub: []integrations.GitHubConfig{gh.Config("ghp_list")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := set.GitHubRepositories(t.Context(), host, "nobody"); err == nil || !strings.Contains(err.Error(), "users/nobody/repos") {
		t.Errorf("unknown owner: %v", err)
	}
}

// A GitLab group's projects are listed with its subgroups, page by page;
// private ones only with the token.
func TestGitLabProjects(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"grp/svc-a/main", "grp/sub/public-b/main", "grp/sub/archived-c/main", "grp/notes", "other/svc-x/main"} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.FromSlash(p)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	gl := integrationstest.NewGitLab(t, dir, "glpat-list")
	gl.PageSize = 1
	list := func(token string) []string {
		t.Helper()
		set, err := integrations.New(integrations.Config{GitLab: []integrations.GitLabConfig{gl.Config(token)}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		projects, err := set.GitLabProjects(t.Context(), gl.Host(), "grp")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range projects {
			if p.DefaultBranch != "main" || p.WebURL != gl.URL+"/"+p.PathWithNamespace {
				t.Errorf("%+v", p)
			}
			out = append(out, p.PathWithNamespace)
		}
		slices.Sort(out)
		return out
	}
	if got := list("glpat-list"); !slices.Equal(got, []string{"grp/sub/archived-c", "grp/sub/public-b", "grp/svc-a"}) {
		t.Errorf("with the token: %v", got)
	}
	if got := list(""); !slices.Equal(got, []string{"grp/sub/public-b"}) {
		t.Errorf("without a token: %v", got)
	}
	set, err := integrations.New(integrations.Config{GitLab: []integrations.GitLabConfig{gl.Config("glpat-list")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := set.GitLabProjects(t.Context(), gl.Host(), "nogroup"); err == nil || !strings.Contains(err.Error(), "HTTP 404") {
		t.Errorf("unknown group: %v", err)
	}
}
