package actions_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/app/apptest"
	"github.com/portico-dev/portico/internal/integrations/integrationstest"
)

// A template registered by its GitHub Enterprise blob URL, as Backstage
// users register them: the catalog reads it through the contents API with
// the integration's token, and fetch:template's "./skeleton" resolves to
// the tree URL of the directory beside it, which is read from the
// repository's tarball (through the redirect to the download host) and
// rendered. The host is not in backend.reading.allow: integration hosts
// need no entry.
func TestTemplateFromGitHubEnterprise(t *testing.T) {
	repos := t.TempDir()
	files := map[string]string{
		"acme/templates/main/svc/template.yaml": `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: ghe-service
  title: Service from GitHub Enterprise
spec:
  owner: platform
  type: service
  parameters:
    - required: [name]
      properties:
        name: {type: string}
  steps:
    - id: fetch
      name: Fetch the skeleton
      action: fetch:template
      input:
        url: ./skeleton
        values:
          name: ${{ parameters.name }}
    - id: docs
      name: Fetch one file
      action: fetch:plain:file
      input:
        url: /shared/LICENSE
        targetPath: LICENSE
    - id: publish
      name: Publish
      action: publish:git
      input:
        repoUrl: local?owner=acme&repo=${{ parameters.name }}
`,
		"acme/templates/main/gitlab/template.yaml": `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: gitlab-repo
spec:
  owner: platform
  type: service
  parameters:
    - properties:
        repoUrl: {type: string}
  steps:
    - id: log
      action: debug:log
      input:
        message: project ${{ (parameters.repoUrl | parseRepoUrl).project }} on ${{ (parameters.repoUrl | parseRepoUrl).host }}
`,
		"acme/templates/main/svc/skeleton/README.md":     "# ${{ values.name }}\n",
		"acme/templates/main/svc/skeleton/src/main.txt":  "service ${{ values.name }}\n",
		"acme/templates/main/shared/LICENSE":             "MIT\n",
		"acme/templates/main/other/skeleton/unwanted.md": "not this one\n",
	}
	for name, content := range files {
		p := filepath.Join(repos, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const token = "ghp_e2e_token"
	gh := integrationstest.NewGitHub(t, repos, token)
	inst := apptest.Start(t, apptest.Options{Config: fmt.Sprintf(`
auth:
  providers:
    guest:
      allowUnauthenticated: true
      dangerouslyAllowOutsideDevelopment: true
integrations:
  github:
    - host: %q
      token: %q
      apiBaseUrl: %q
      rawBaseUrl: %q
  gitlab:
    - host: gitlab.acme.test
catalog:
  locations:
    - type: url
      target: %q
      rules:
        - allow: [Template]
    - type: url
      target: %q
      rules:
        - allow: [Template]
`, gh.Host(), token, gh.URL+"/api/v3", gh.URL+"/raw", gh.URL+"/acme/templates/blob/main/svc/template.yaml",
		gh.URL+"/acme/templates/blob/main/gitlab/template.yaml")})

	// parseRepoUrl takes a configured GitLab host's repoUrl by GitLab's
	// rules: a project id instead of an owner.
	res := runTemplate(t, inst.URL, "gitlab-repo", map[string]any{"repoUrl": "gitlab.acme.test?project=42&repo=svc"})
	if res.status != "completed" || !strings.Contains(strings.Join(res.log, "\n"), "project 42 on gitlab.acme.test") {
		t.Fatalf("gitlab-repo task %s: %s\n%s", res.status, res.errMsg, strings.Join(res.log, "\n"))
	}

	res = runTemplate(t, inst.URL, "ghe-service", map[string]any{"name": "billing"})
	if res.status != "completed" {
		t.Fatalf("task %s: %s\n%s", res.status, res.errMsg, strings.Join(res.log, "\n"))
	}
	repo := filepath.Join(inst.Dir, "data", "git", "acme", "billing.git")
	got, _, head := remoteFiles(t, repo, "main")
	if want := []string{"LICENSE", "README.md", "src/main.txt"}; !slices.Equal(got, want) {
		t.Fatalf("published %q, want %q", got, want)
	}
	tree, _ := head.Tree()
	for name, want := range map[string]string{"README.md": "# billing\n", "src/main.txt": "service billing\n", "LICENSE": "MIT\n"} {
		f, err := tree.File(name)
		if err != nil {
			t.Fatal(err)
		}
		if content, _ := f.Contents(); content != want {
			t.Errorf("%s = %q, want %q", name, content, want)
		}
	}
	// The catalog read the template, and fetch:plain:file the license,
	// through the contents API with the token; the skeleton came from the
	// tarball, whose download host never saw the token.
	var contents, tarballs int
	for _, r := range gh.Requests() {
		if r.Authorization != "Bearer "+token {
			t.Errorf("request without the token: %+v", r)
		}
		switch {
		case strings.HasPrefix(r.Path, "/api/v3/repos/acme/templates/contents/"):
			contents++
		case r.Path == "/api/v3/repos/acme/templates/tarball/main":
			tarballs++
		default:
			t.Errorf("unexpected request %+v", r)
		}
	}
	if contents < 2 || tarballs != 1 {
		t.Errorf("%d contents and %d tarball requests", contents, tarballs)
	}
	for _, r := range gh.DownloadRequests.Requests() {
		if r.Authorization != "" {
			t.Errorf("the download host got %q", r.Authorization)
		}
	}
}
