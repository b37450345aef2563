// Package integrationstest runs fake GitHub Enterprise and self-hosted
// GitLab servers for tests: real HTTP listeners that serve the API routes
// Portico reads through (GitHub's contents, raw and tarball routes, the
// tarball through a redirect to a separate download host; GitLab's
// repository files and archive routes) from a directory of fixtures laid
// out as DIR/<owner>/<repo>/<ref>/<files> (GitLab: DIR/<project path>/<ref>/<files>).
//
// Every request is recorded with the credentials it carried, so tests can
// assert where tokens went. The fake GitHub also plays GitHub Apps (see
// GitHub.AddApp): it lists their installations and issues installation
// tokens to requests signed with the app's key, and accepts those tokens
// for the installation owner's repositories. It serves organizations'
// members and teams through a GraphQL API checked against GitHub's schema
// (see GitHub.SetOrg).
package integrationstest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/portico-dev/portico/internal/integrations"
)

// DefaultBranch is the ref the fakes read when a request names none.
const DefaultBranch = "main"

// Request is a request a fake server received.
type Request struct {
	Host, Path, Query   string
	Authorization       string
	PrivateToken        string
	Accept, IfNoneMatch string
}

// recorder keeps the requests of a server.
type recorder struct {
	mu   sync.Mutex
	reqs []Request
}

func (r *recorder) record(req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, Request{Host: req.Host, Path: req.URL.Path, Query: req.URL.RawQuery,
		Authorization: req.Header.Get("Authorization"), PrivateToken: req.Header.Get("PRIVATE-TOKEN"),
		Accept: req.Header.Get("Accept"), IfNoneMatch: req.Header.Get("If-None-Match")})
}

// Requests returns the requests received so far.
func (r *recorder) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.reqs...)
}

// GitHub is a fake GitHub Enterprise host. Repositories whose name starts
// with "public" are readable without a token; the others need Token.
type GitHub struct {
	*httptest.Server
	// Download is the separate host the tarball route redirects to, as
	// api.github.com redirects to codeload.github.com.
	Download *httptest.Server
	Token    string
	Dir      string
	recorder
	// DownloadRequests records what the download host received.
	DownloadRequests recorder

	// RepoPageSize, when set, is the size of every page of a repository
	// listing, whatever the client asks for.
	RepoPageSize int

	orgState orgState

	appsMu sync.Mutex
	apps   []*App
	issued map[string]issued // installation tokens handed out

	oauth oauthState
}

// NewGitHub starts a fake GitHub Enterprise serving dir. Its download host
// listens on "localhost" while the API is on 127.0.0.1, so the two are
// different hosts to a client.
func NewGitHub(t testing.TB, dir, token string) *GitHub {
	t.Helper()
	g := &GitHub{Token: token, Dir: dir}
	dl := http.NewServeMux()
	dl.HandleFunc("GET /tarball/{owner}/{repo}/{ref}", func(w http.ResponseWriter, r *http.Request) {
		g.DownloadRequests.record(r)
		if r.URL.Query().Get("token") != "signed" {
			http.Error(w, "bad signature", http.StatusForbidden)
			return
		}
		owner, repo, ref := r.PathValue("owner"), r.PathValue("repo"), r.PathValue("ref")
		data, err := TarGz(filepath.Join(dir, owner, repo, ref), owner+"-"+repo+"-0a1b2c3/", "")
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Write(data)
	})
	g.Download = httptest.NewUnstartedServer(dl)
	g.Download.Start()
	g.Download.URL = strings.Replace(g.Download.URL, "127.0.0.1", "localhost", 1)
	t.Cleanup(g.Download.Close)

	mux := http.NewServeMux()
	authed := func(h func(w http.ResponseWriter, r *http.Request, repoDir string)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			g.record(r)
			owner, repo := r.PathValue("owner"), r.PathValue("repo")
			auth := r.Header.Get("Authorization")
			if !strings.HasPrefix(repo, "public") && auth != "Bearer "+token && !g.installationToken(auth, owner) {
				w.Header().Set("Content-Type", "application/json")
				if r.Header.Get("Authorization") != "" {
					w.WriteHeader(http.StatusUnauthorized)
					json.NewEncoder(w).Encode(map[string]any{"message": "Bad credentials"})
					return
				}
				// GitHub hides private repositories from strangers.
				w.WriteHeader(http.StatusNotFound)
				json.NewEncoder(w).Encode(map[string]any{"message": "Not Found"})
				return
			}
			h(w, r, filepath.Join(dir, owner, repo))
		}
	}
	mux.HandleFunc("GET /api/v3/repos/{owner}/{repo}/contents/{path...}", authed(func(w http.ResponseWriter, r *http.Request, repoDir string) {
		if !strings.HasPrefix(r.Header.Get("Accept"), "application/vnd.github.raw") {
			http.Error(w, "this fake serves raw contents only", http.StatusNotAcceptable)
			return
		}
		serveFile(w, r, repoDir, r.URL.Query().Get("ref"), r.PathValue("path"))
	}))
	tarball := authed(func(w http.ResponseWriter, r *http.Request, repoDir string) {
		ref := r.PathValue("ref")
		if ref == "" {
			ref = DefaultBranch
		}
		http.Redirect(w, r, g.Download.URL+"/tarball/"+r.PathValue("owner")+"/"+r.PathValue("repo")+"/"+ref+"?token=signed", http.StatusFound)
	})
	mux.HandleFunc("GET /api/v3/repos/{owner}/{repo}/tarball/{ref}", tarball)
	mux.HandleFunc("GET /api/v3/repos/{owner}/{repo}/tarball", tarball)
	mux.HandleFunc("GET /raw/{owner}/{repo}/{ref}/{path...}", authed(func(w http.ResponseWriter, r *http.Request, repoDir string) {
		serveFile(w, r, repoDir, r.PathValue("ref"), r.PathValue("path"))
	}))
	mux.HandleFunc("GET /api/v3/orgs/{org}/repos", g.listRepositories)
	mux.HandleFunc("GET /api/v3/app/installations", g.listInstallations)
	mux.HandleFunc("POST /api/graphql", g.graphql)
	mux.HandleFunc("POST /api/v3/app/installations/{id}/access_tokens", g.createAccessToken)
	g.oauthRoutes(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		g.record(r)
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html>a web page, not a file</html>"))
	})
	g.Server = httptest.NewServer(mux)
	t.Cleanup(g.Close)
	return g
}

// Host is the fake's web host (127.0.0.1:port).
func (g *GitHub) Host() string { return strings.TrimPrefix(g.URL, "http://") }

// Config is the integrations.github entry for the fake.
func (g *GitHub) Config(token string) integrations.GitHubConfig {
	return integrations.GitHubConfig{Host: g.Host(), Token: token, APIBaseURL: g.URL + "/api/v3", RawBaseURL: g.URL + "/raw"}
}

// GitLab is a fake self-hosted GitLab. Projects whose path contains
// "public" are readable without a token; the others need Token.
type GitLab struct {
	*httptest.Server
	Token string
	Dir   string
	// PageSize, when set, is the size of every page of a project listing.
	PageSize int
	recorder

	oauth oauthState
}

// NewGitLab starts a fake GitLab serving dir.
func NewGitLab(t testing.TB, dir, token string) *GitLab {
	t.Helper()
	g := &GitLab{Token: token, Dir: dir}
	mux := http.NewServeMux()
	authed := func(h func(w http.ResponseWriter, r *http.Request, projectDir string)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			g.record(r)
			id := r.PathValue("id")
			if !strings.Contains(id, "public") && r.Header.Get("PRIVATE-TOKEN") != token {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				json.NewEncoder(w).Encode(map[string]any{"message": "401 Unauthorized"})
				return
			}
			if !fs.ValidPath(id) {
				http.NotFound(w, r)
				return
			}
			h(w, r, filepath.Join(dir, filepath.FromSlash(id)))
		}
	}
	mux.HandleFunc("GET /api/v4/groups/{group}/projects", g.listProjects)
	g.oauthRoutes(mux)
	mux.HandleFunc("GET /api/v4/projects/{id}/repository/files/{file}/raw", authed(func(w http.ResponseWriter, r *http.Request, projectDir string) {
		serveFile(w, r, projectDir, r.URL.Query().Get("ref"), r.PathValue("file"))
	}))
	mux.HandleFunc("GET /api/v4/projects/{id}/repository/archive.tar.gz", authed(func(w http.ResponseWriter, r *http.Request, projectDir string) {
		ref, sub := r.URL.Query().Get("sha"), r.URL.Query().Get("path")
		if ref == "" {
			ref = DefaultBranch
		}
		// GitLab names the top directory after the project, ref, commit
		// and path, and keeps the path inside it.
		top := path.Base(r.PathValue("id")) + "-" + ref + "-0a1b2c3"
		if sub != "" {
			top += "-" + strings.ReplaceAll(sub, "/", "-")
		}
		data, err := TarGz(filepath.Join(projectDir, ref), top+"/", sub)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Write(data)
	}))
	g.Server = httptest.NewServer(mux)
	t.Cleanup(g.Close)
	return g
}

// Host is the fake's web host (127.0.0.1:port).
func (g *GitLab) Host() string { return strings.TrimPrefix(g.URL, "http://") }

// Config is the integrations.gitlab entry for the fake.
func (g *GitLab) Config(token string) integrations.GitLabConfig {
	return integrations.GitLabConfig{Host: g.Host(), Token: token, APIBaseURL: g.URL + "/api/v4", BaseURL: g.URL}
}

// serveFile serves repoDir/ref/name with an ETag, answering a matching
// If-None-Match with 304.
func serveFile(w http.ResponseWriter, r *http.Request, repoDir, ref, name string) {
	if ref == "" || !fs.ValidPath(ref) || !fs.ValidPath(name) {
		http.NotFound(w, r)
		return
	}
	data, err := os.ReadFile(filepath.Join(repoDir, ref, filepath.FromSlash(name)))
	if err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(map[string]any{"message": "Not Found"})
		return
	}
	sum := sha256.Sum256(data)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Write(data)
}

// TarGz archives dir below top (a directory name with a trailing slash),
// or only its sub directory when sub is set (kept as sub/… below top).
func TarGz(dir, top, sub string) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	// GitHub's tarballs start with a global header naming the commit.
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header", PAXRecords: map[string]string{"comment": "0a1b2c3"}}); err != nil {
		return nil, err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: top, Mode: 0o755}); err != nil {
		return nil, err
	}
	start := dir
	if sub != "" {
		start = filepath.Join(dir, filepath.FromSlash(sub))
	}
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		name := top + filepath.ToSlash(rel)
		if d.IsDir() {
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: 0o755})
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data))}); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// listRepositories serves GET /orgs/{org}/repos: the directories under
// Dir/org, default branch main; private ones (not named public…) only to
// a caller with the token or an installation token for org. Pages follow
// per_page and page, with a Link header.
func (g *GitHub) listRepositories(w http.ResponseWriter, r *http.Request) {
	g.record(r)
	org := r.PathValue("org")
	entries, err := os.ReadDir(filepath.Join(g.Dir, org))
	if err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(map[string]any{"message": "Not Found"})
		return
	}
	auth := r.Header.Get("Authorization")
	private := auth == "Bearer "+g.Token || g.installationToken(auth, org)
	var all []map[string]any
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		public := strings.HasPrefix(e.Name(), "public")
		if !public && !private {
			continue
		}
		visibility := "private"
		if public {
			visibility = "public"
		}
		all = append(all, map[string]any{"name": e.Name(), "default_branch": DefaultBranch, "archived": strings.HasPrefix(e.Name(), "archived"),
			"fork": strings.HasPrefix(e.Name(), "fork"), "visibility": visibility, "topics": []string{}})
	}
	start, end := pageOf(w, r, len(all), g.RepoPageSize, g.URL+"/api/v3/orgs/"+org+"/repos")
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(append([]map[string]any{}, all[start:end]...))
}

// pageOf picks the page a GitHub listing request asks for (page and
// per_page, as GitHub: 30 by default, at most 100; size, when set, wins)
// out of n items, and sets the Link header to the next page of base.
func pageOf(w http.ResponseWriter, r *http.Request, n, size int, base string) (start, end int) {
	if size == 0 {
		size = 30
		if v, err := strconv.Atoi(r.URL.Query().Get("per_page")); err == nil && v > 0 {
			size = min(v, 100)
		}
	}
	page := 1
	if v, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil && v > 0 {
		page = v
	}
	start = min((page-1)*size, n)
	end = min(start+size, n)
	if end < n {
		w.Header().Set("Link", fmt.Sprintf(`<%s?per_page=%d&page=%d>; rel="next"`, base, size, page+1))
	}
	return start, end
}

// listProjects serves GET /groups/{group}/projects, subgroups included:
// every directory below Dir/group holding a DefaultBranch directory is a
// project; private ones (no "public" in the path) only with the token;
// names starting with "archived" are archived.
func (g *GitLab) listProjects(w http.ResponseWriter, r *http.Request) {
	g.record(r)
	group := r.PathValue("group")
	root := filepath.Join(g.Dir, filepath.FromSlash(group))
	if !fs.ValidPath(group) {
		http.NotFound(w, r)
		return
	}
	if _, err := os.Stat(root); err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(map[string]any{"message": "404 Group Not Found"})
		return
	}
	token := r.Header.Get("PRIVATE-TOKEN") == g.Token
	var all []map[string]any
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if _, err := os.Stat(filepath.Join(p, DefaultBranch)); err != nil {
			return nil
		}
		rel, _ := filepath.Rel(g.Dir, p)
		rel = filepath.ToSlash(rel)
		if strings.Contains(rel, "public") || token {
			all = append(all, map[string]any{"path_with_namespace": rel, "default_branch": DefaultBranch, "web_url": g.URL + "/" + rel,
				"archived": strings.HasPrefix(path.Base(rel), "archived"), "forked_from_project": nil})
		}
		return filepath.SkipDir
	})
	start, end := pageOf(w, r, len(all), g.PageSize, g.URL+"/api/v4/groups/"+url.PathEscape(group)+"/projects")
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(append([]map[string]any{}, all[start:end]...))
}
