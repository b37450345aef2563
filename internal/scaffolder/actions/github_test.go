package actions_test

import (
	"encoding/json"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	git "github.com/go-git/go-git/v5"

	"github.com/portico-dev/portico/internal/integrations"
	"github.com/portico-dev/portico/internal/scaffolder/actions"
)

// fakeGitHub is a GitHub-like server: the REST endpoints publish:github
// calls, and git's smart HTTP protocol served by the real
// `git http-backend` over CGI, so pushes are real pushes.
type fakeGitHub struct {
	*httptest.Server
	root  string
	token string

	mu         sync.Mutex
	files      map[string]string // repository files the API serves (acme/tools, ref main)
	created    []map[string]any
	createPath []string
	protected  []string
	topics     []any
}

func newFakeGitHub(t *testing.T, token string) *fakeGitHub {
	t.Helper()
	gitBin, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not installed")
	}
	g := &fakeGitHub{root: t.TempDir(), token: token, files: map[string]string{}}
	mux := http.NewServeMux()
	authed := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer "+token {
				w.WriteHeader(http.StatusUnauthorized)
				json.NewEncoder(w).Encode(map[string]any{"message": "Bad credentials"})
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("GET /users/{owner}", authed(func(w http.ResponseWriter, r *http.Request) {
		typ := "User"
		if strings.HasPrefix(r.PathValue("owner"), "org-") {
			typ = "Organization"
		}
		json.NewEncoder(w).Encode(map[string]any{"login": r.PathValue("owner"), "type": typ})
	}))
	create := func(owner string, w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		name, _ := body["name"].(string)
		dir := filepath.Join(g.root, owner, name+".git")
		if _, err := git.PlainInit(dir, true); err != nil {
			w.WriteHeader(http.StatusUnprocessableEntity)
			json.NewEncoder(w).Encode(map[string]any{"message": "Repository creation failed.", "errors": []any{map[string]any{"message": "name already exists on this account"}}})
			return
		}
		g.mu.Lock()
		g.created = append(g.created, body)
		g.createPath = append(g.createPath, r.URL.Path)
		g.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{
			"clone_url": g.URL + "/git/" + owner + "/" + name + ".git",
			"html_url":  g.URL + "/" + owner + "/" + name,
		})
	}
	mux.HandleFunc("POST /orgs/{org}/repos", authed(func(w http.ResponseWriter, r *http.Request) { create(r.PathValue("org"), w, r) }))
	mux.HandleFunc("POST /user/repos", authed(func(w http.ResponseWriter, r *http.Request) { create("the-user", w, r) }))
	mux.HandleFunc("PUT /repos/{owner}/{repo}/branches/{branch}/protection", authed(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.protected = append(g.protected, r.PathValue("owner")+"/"+r.PathValue("repo")+"@"+r.PathValue("branch"))
		g.mu.Unlock()
		w.Write([]byte("{}"))
	}))
	mux.HandleFunc("PUT /repos/{owner}/{repo}/topics", authed(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		g.mu.Lock()
		g.topics, _ = body["names"].([]any)
		g.mu.Unlock()
		w.Write([]byte("{}"))
	}))
	// The contents and tarball endpoints fetch:* use for GitHub URLs.
	mux.HandleFunc("GET /repos/acme/tools/contents/{path...}", authed(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		data, ok := g.files[r.PathValue("path")]
		g.mu.Unlock()
		if !ok || r.URL.Query().Get("ref") != "main" || r.Header.Get("Accept") != "application/vnd.github.raw+json" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(data))
	}))
	mux.HandleFunc("GET /repos/acme/tools/tarball/main", authed(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		files := map[string]string{}
		for name, data := range g.files {
			files["acme-tools-0a1b2c3/"+name] = data
		}
		g.mu.Unlock()
		w.Write(tarGz(t, files))
	}))
	backend := &cgi.Handler{Path: gitBin, Args: []string{"http-backend"}, Root: "/git",
		Env: []string{"GIT_PROJECT_ROOT=" + g.root, "GIT_HTTP_EXPORT_ALL=1"}}
	mux.HandleFunc("/git/", func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || pass != token {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		// git http-backend accepts pushes from authenticated users.
		h := *backend
		h.Env = append(slices.Clone(backend.Env), "REMOTE_USER="+user)
		h.ServeHTTP(w, r)
	})
	g.Server = httptest.NewServer(mux)
	t.Cleanup(g.Close)
	return g
}

func (g *fakeGitHub) host() string { return strings.TrimPrefix(g.URL, "http://") }

// deps configures the fake as a GitHub Enterprise integration.
func (g *fakeGitHub) deps(t *testing.T, token string) actions.Deps {
	t.Helper()
	integ, err := integrations.New(integrations.Config{GitHub: []integrations.GitHubConfig{
		{Host: g.host(), APIBaseURL: g.URL, RawBaseURL: g.URL + "/raw", Token: token}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return actions.Deps{Integrations: integ}
}

func TestPublishGitHub(t *testing.T) {
	gh := newFakeGitHub(t, "ghp_test")
	deps := gh.deps(t, "ghp_test")
	r := newRun(t)
	r.write("README.md", "# payments\n")
	r.write("src/main.go", "package main\n")
	in := map[string]any{
		"repoUrl": gh.host() + "?owner=org-acme&repo=payments", "description": "Takes the money",
		"repoVisibility": "internal", "topics": []any{"go", "payments"}, "defaultBranch": "main",
	}
	if err := r.call(t.Context(), deps, "publish:github", in); err != nil {
		t.Fatal(err)
	}
	bare := filepath.Join(gh.root, "org-acme", "payments.git")
	files, commits, head := remoteFiles(t, bare, "main")
	if !slices.Equal(files, []string{"README.md", "src/main.go"}) || commits != 1 {
		t.Fatalf("pushed %q in %d commits", files, commits)
	}
	want := map[string]any{
		"remoteUrl":       gh.URL + "/git/org-acme/payments.git",
		"repoContentsUrl": gh.URL + "/org-acme/payments/blob/main",
		"commitHash":      head.Hash.String(),
	}
	for k, v := range want {
		if r.outputs[k] != v {
			t.Errorf("output %s = %v, want %v", k, r.outputs[k], v)
		}
	}
	if len(gh.created) != 1 || gh.createPath[0] != "/orgs/org-acme/repos" || gh.created[0]["visibility"] != "internal" || gh.created[0]["description"] != "Takes the money" {
		t.Fatalf("create calls = %v %v", gh.createPath, gh.created)
	}
	if !slices.Equal(gh.protected, []string{"org-acme/payments@main"}) || len(gh.topics) != 2 {
		t.Fatalf("protected %v, topics %v", gh.protected, gh.topics)
	}

	// A recovered task re-runs the step: the checkpoints keep it from
	// creating the repository or pushing a second time.
	if err := r.call(t.Context(), deps, "publish:github", in); err != nil {
		t.Fatal(err)
	}
	if _, commits, again := remoteFiles(t, bare, "main"); len(gh.created) != 1 || commits != 1 || again.Hash != head.Hash {
		t.Fatalf("re-run: %d creations, %d commits", len(gh.created), commits)
	}

	// A user's repository, with the token given as input and master as
	// the default branch.
	r2 := newRun(t)
	r2.write("a.txt", "a")
	noToken := gh.deps(t, "")
	if err := r2.call(t.Context(), noToken, "publish:github", map[string]any{"repoUrl": gh.host() + "?owner=jane&repo=tool", "token": "ghp_test", "protectDefaultBranch": false}); err != nil {
		t.Fatal(err)
	}
	if gh.createPath[1] != "/user/repos" {
		t.Fatalf("create path = %s", gh.createPath[1])
	}
	if files, _, _ := remoteFiles(t, filepath.Join(gh.root, "the-user", "tool.git"), "master"); !slices.Equal(files, []string{"a.txt"}) {
		t.Fatalf("files = %q", files)
	}
}

func TestPublishGitHubErrors(t *testing.T) {
	gh := newFakeGitHub(t, "ghp_test")
	deps := gh.deps(t, "ghp_test")
	repo := gh.host() + "?owner=org-acme&repo=dup"
	r := newRun(t)
	r.write("a.txt", "a")
	if err := r.call(t.Context(), deps, "publish:github", map[string]any{"repoUrl": repo}); err != nil {
		t.Fatal(err)
	}
	// Another task asking for the same repository fails clearly.
	r2 := newRun(t)
	r2.write("a.txt", "a")
	wantErr(t, r2.call(t.Context(), deps, "publish:github", map[string]any{"repoUrl": repo}), "org-acme/dup", "exist already", "name already exists")

	for _, tc := range []struct {
		name  string
		deps  actions.Deps
		input map[string]any
		want  []string
	}{
		{"no repoUrl", deps, map[string]any{}, []string{"input.repoUrl", "required"}},
		{"no owner", deps, map[string]any{"repoUrl": gh.host() + "?repo=x"}, []string{"input.repoUrl", "owner and repo"}},
		{"unknown host", deps, map[string]any{"repoUrl": "gitlab.com?owner=a&repo=b"}, []string{"input.repoUrl", "no integrations.github entry for host gitlab.com"}},
		{"no token", gh.deps(t, ""), map[string]any{"repoUrl": repo}, []string{"no credentials for org-acme", "set integrations.github[].token or apps", "token input"}},
		{"bad token", deps, map[string]any{"repoUrl": gh.host() + "?owner=org-acme&repo=other", "token": "wrong"}, []string{"HTTP 401", "Bad credentials"}},
		{"bad visibility", deps, map[string]any{"repoUrl": repo, "repoVisibility": "secret"}, []string{"input.repoVisibility"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRun(t)
			wantErr(t, r.call(t.Context(), tc.deps, "publish:github", tc.input), tc.want...)
		})
	}
}

// Templates registered from GitHub fetch their skeletons through the
// REST API: a tree URL as the repository's tarball (only the named
// directory kept), a blob URL as the raw file.
func TestFetchFromGitHub(t *testing.T) {
	gh := newFakeGitHub(t, "ghp_test")
	gh.files["templates/svc/template.yaml"] = "kind: Template\n"
	gh.files["templates/svc/skeleton/README.md"] = "# ${{ values.name }}\n"
	gh.files["templates/svc/skeleton/src/app.txt"] = "app ${{ values.name }}\n"
	gh.files["templates/other/secret.txt"] = "not fetched"
	deps := gh.deps(t, "ghp_test")
	r := newRun(t)
	r.baseURL = gh.URL + "/acme/tools/blob/main/templates/svc/"
	if err := r.call(t.Context(), deps, "fetch:template", map[string]any{"url": "./skeleton", "values": values}); err != nil {
		t.Fatal(err)
	}
	if got := r.files(); !slices.Equal(got, []string{"README.md", "src/app.txt"}) {
		t.Fatalf("files = %q", got)
	}
	if got := r.read("src/app.txt"); got != "app payments\n" {
		t.Fatalf("got %q", got)
	}
	if err := r.call(t.Context(), deps, "fetch:plain:file", map[string]any{"url": "./template.yaml", "targetPath": "t.yaml"}); err != nil {
		t.Fatal(err)
	}
	if got := r.read("t.yaml"); got != "kind: Template\n" {
		t.Fatalf("got %q", got)
	}
	wantErr(t, r.call(t.Context(), deps, "fetch:plain:file", map[string]any{"url": "./missing.yaml", "targetPath": "m.yaml"}), "HTTP 404")
}
