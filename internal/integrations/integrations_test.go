package integrations_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/errs"
	"github.com/portico-dev/portico/internal/integrations"
	"github.com/portico-dev/portico/internal/integrations/integrationstest"
)

const (
	ghToken = "ghp_s3cret_github"
	glToken = "glpat-s3cret_gitlab"
)

// fakes starts a GitHub Enterprise and a GitLab serving testdata/repos and
// a Set configured for both with their tokens.
func fakes(t *testing.T) (*integrationstest.GitHub, *integrationstest.GitLab, *integrations.Set) {
	t.Helper()
	gh := integrationstest.NewGitHub(t, "testdata/repos", ghToken)
	gl := integrationstest.NewGitLab(t, "testdata/repos", glToken)
	set, err := integrations.New(integrations.Config{
		GitHub: []integrations.GitHubConfig{gh.Config(ghToken)},
		GitLab: []integrations.GitLabConfig{gl.Config(glToken)},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return gh, gl, set
}

func TestDefaults(t *testing.T) {
	set, err := integrations.New(integrations.Config{
		GitHub: []integrations.GitHubConfig{{Host: "GHE.example.com", Token: "t"}},
		GitLab: []integrations.GitLabConfig{{Host: "gitlab.example.com"}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		host string
		want any
	}{
		{"ghe.example.com", integrations.GitHub{Host: "ghe.example.com", Token: "t", APIBaseURL: "https://ghe.example.com/api/v3", RawBaseURL: "https://ghe.example.com/raw"}},
		{"github.com", integrations.GitHub{Host: "github.com", APIBaseURL: "https://api.github.com", RawBaseURL: "https://raw.githubusercontent.com"}},
		{"gitlab.example.com", integrations.GitLab{Host: "gitlab.example.com", APIBaseURL: "https://gitlab.example.com/api/v4", BaseURL: "https://gitlab.example.com"}},
		{"gitlab.com", integrations.GitLab{Host: "gitlab.com", APIBaseURL: "https://gitlab.com/api/v4", BaseURL: "https://gitlab.com"}},
	} {
		var got any
		if g, ok := set.GitHub(tc.host); ok {
			got = g
		} else if g, ok := set.GitLab(tc.host); ok {
			got = g
		}
		if got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.host, got, tc.want)
		}
	}
	for raw, want := range map[string]bool{
		"https://github.com/a/b/blob/main/x.yaml":             true,
		"https://raw.githubusercontent.com/a/b/main/x.yaml":   true,
		"https://ghe.example.com/a/b/blob/main/x":             true,
		"https://gitlab.example.com/g/p/-/blob/main/x":        true,
		"https://api.github.com/repos/a/b/contents/x":         false,
		"https://example.com/x.yaml":                          false,
		"ftp://github.com/a/b":                                false,
		"https://ghe.example.com.evil.com/a/b/blob/main/x":    false,
		"https://raw.githubusercontent.com.evil.com/a/b/main": false,
	} {
		u, _ := url.Parse(raw)
		if got := set.Handles(u); got != want {
			t.Errorf("Handles(%s) = %v", raw, got)
		}
	}
	for _, bad := range []integrations.Config{
		{GitHub: []integrations.GitHubConfig{{Host: "https://ghe.example.com"}}},
		{GitHub: []integrations.GitHubConfig{{Host: "a.com"}, {Host: "A.com"}}},
		{GitLab: []integrations.GitLabConfig{{Host: "g.com", APIBaseURL: "g.com/api/v4"}}},
	} {
		if _, err := integrations.New(bad, nil); err == nil {
			t.Errorf("New(%+v) accepted", bad)
		}
	}
}

func TestReadFile(t *testing.T) {
	gh, gl, set := fakes(t)
	ctx := t.Context()
	catalogInfo, _ := os.ReadFile("testdata/repos/acme/svc/main/catalog-info.yaml")

	// A private GitHub file: the contents API with the token, and ETags.
	blob := gh.URL + "/acme/svc/blob/main/catalog-info.yaml"
	f, err := set.ReadFile(ctx, blob, integrations.ReadOptions{MaxSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f.Data, catalogInfo) || f.ETag == "" {
		t.Fatalf("got %q, etag %q", f.Data, f.ETag)
	}
	again, err := set.ReadFile(ctx, blob, integrations.ReadOptions{ETag: f.ETag})
	if err != nil || !again.NotModified || again.Data != nil {
		t.Fatalf("conditional read: %+v, %v", again, err)
	}
	reqs := gh.Requests()
	if last := reqs[len(reqs)-1]; last.Path != "/api/v3/repos/acme/svc/contents/catalog-info.yaml" || last.Query != "ref=main" ||
		last.Authorization != "Bearer "+ghToken || last.IfNoneMatch != f.ETag {
		t.Fatalf("request = %+v", last)
	}

	// A tree URL of a file reads the file too (Resolve makes those).
	if f, err := set.ReadFile(ctx, gh.URL+"/acme/svc/tree/main/other.yaml", integrations.ReadOptions{}); err != nil || string(f.Data) != "kind: Location\n" {
		t.Fatalf("tree URL: %v %v", f, err)
	}

	// Without a token: the raw host, and no Authorization header.
	noToken, err := integrations.New(integrations.Config{GitHub: []integrations.GitHubConfig{gh.Config("")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f, err := noToken.ReadFile(ctx, gh.URL+"/acme/public/blob/main/README.md", integrations.ReadOptions{}); err != nil || string(f.Data) != "public file\n" {
		t.Fatalf("raw: %v %v", f, err)
	}
	reqs = gh.Requests()
	if last := reqs[len(reqs)-1]; last.Path != "/raw/acme/public/main/README.md" || last.Authorization != "" {
		t.Fatalf("request = %+v", last)
	}
	// A raw URL is read as is, with the integration's token.
	if f, err := set.ReadFile(ctx, gh.URL+"/raw/acme/svc/main/other.yaml", integrations.ReadOptions{}); err != nil || string(f.Data) != "kind: Location\n" {
		t.Fatalf("raw URL: %v %v", f, err)
	}

	// A private file without a token: GitHub says 404, and the error says
	// what to configure.
	_, err = noToken.ReadFile(ctx, blob, integrations.ReadOptions{})
	wantErr(t, err, errs.NotFound, blob, "integrations.github", "private repository needs a token")

	// GitLab: the files API with the project's path and the file's path
	// URL-encoded, PRIVATE-TOKEN, and a group with a subgroup.
	glBlob := gl.URL + "/platform/team/svc/-/blob/main/catalog-info.yaml"
	if f, err := set.ReadFile(ctx, glBlob, integrations.ReadOptions{}); err != nil || string(f.Data) != "gitlab file\n" {
		t.Fatalf("gitlab: %v %v", f, err)
	}
	if f, err := set.ReadFile(ctx, gl.URL+"/platform/team/svc/-/blob/main/skeleton/hello.txt", integrations.ReadOptions{}); err != nil || string(f.Data) != "gl ${{ values.name }}\n" {
		t.Fatalf("gitlab nested: %v %v", f, err)
	}
	glReqs := gl.Requests()
	if last := glReqs[len(glReqs)-1]; last.PrivateToken != glToken || last.Authorization != "" || last.Query != "ref=main" {
		t.Fatalf("gitlab request = %+v", last)
	}

	// A URL that is not a file of a repository is an input error.
	_, err = set.ReadFile(ctx, gh.URL+"/acme/svc", integrations.ReadOptions{})
	wantErr(t, err, errs.Input, "names a repository or directory, not a file", "/OWNER/REPO/blob/REF/PATH")
	_, err = set.ReadFile(ctx, gh.URL+"/acme/svc/commits/main", integrations.ReadOptions{})
	wantErr(t, err, errs.Input, "not a GitHub file or directory URL", "/OWNER/REPO/blob/REF/PATH")
	_, err = set.ReadFile(ctx, gl.URL+"/platform/team/svc", integrations.ReadOptions{})
	wantErr(t, err, errs.Input, "names a project or directory, not a file")
	_, err = set.ReadFile(ctx, gl.URL+"/svc", integrations.ReadOptions{})
	wantErr(t, err, errs.Input, "not a GitLab file or directory URL")
	_, err = set.ReadFile(ctx, gh.URL+"/acme/svc/blob/main/a/../../x", integrations.ReadOptions{})
	wantErr(t, err, errs.Input)
	_, err = set.ReadFile(ctx, "file:///etc/passwd", integrations.ReadOptions{})
	wantErr(t, err, errs.Input, "only http and https")
}

// Tokens go to their own integration's hosts only: not to other
// integrations, not to plain hosts, not through redirects.
func TestTokensStayWithTheirHost(t *testing.T) {
	gh, gl, set := fakes(t)
	ctx := t.Context()
	var plain []http.Header
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		plain = append(plain, r.Header.Clone())
		switch r.URL.Path {
		case "/moved.yaml":
			// Redirects to the GitHub fake: a plain read carries no token,
			// so none may appear there either.
			http.Redirect(w, r, gh.URL+"/raw/acme/public/main/README.md", http.StatusFound)
		default:
			w.Write([]byte("plain"))
		}
	}))
	defer other.Close()

	if _, err := set.ReadFile(ctx, other.URL+"/x.yaml", integrations.ReadOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := set.ReadFile(ctx, gh.URL+"/acme/svc/blob/main/other.yaml", integrations.ReadOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := set.ReadFile(ctx, gl.URL+"/platform/team/svc/-/blob/main/catalog-info.yaml", integrations.ReadOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := set.ReadFile(ctx, other.URL+"/moved.yaml", integrations.ReadOptions{}); err != nil {
		t.Fatal(err)
	}
	// The tarball redirects from the API host to the download host.
	dir := t.TempDir()
	root := openRoot(t, dir)
	if err := set.ReadTree(ctx, gh.URL+"/acme/svc/tree/main/skeleton", root, integrations.TreeOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, h := range plain {
		if h.Get("Authorization") != "" || h.Get("PRIVATE-TOKEN") != "" {
			t.Errorf("a plain host got credentials: %v", h)
		}
	}
	for _, r := range gh.Requests() {
		if r.PrivateToken != "" || (r.Authorization != "" && r.Authorization != "Bearer "+ghToken) {
			t.Errorf("GitHub got a foreign credential: %+v", r)
		}
	}
	for _, r := range gl.Requests() {
		if r.Authorization != "" || (r.PrivateToken != "" && r.PrivateToken != glToken) {
			t.Errorf("GitLab got a foreign credential: %+v", r)
		}
	}
	dl := gh.DownloadRequests.Requests()
	if len(dl) != 1 {
		t.Fatalf("download requests = %+v", dl)
	}
	if dl[0].Authorization != "" || dl[0].PrivateToken != "" {
		t.Fatalf("the download host got the token: %+v", dl[0])
	}

	// A redirect from GitLab's API to another host loses PRIVATE-TOKEN,
	// which Go's client would otherwise forward.
	var seen []http.Header
	bounce := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Header.Clone())
		if r.Host == strings.TrimPrefix(gl.URL, "http://") || strings.HasPrefix(r.URL.Path, "/api/") {
			http.Redirect(w, r, strings.Replace("http://"+r.Host, "127.0.0.1", "localhost", 1)+"/elsewhere", http.StatusFound)
			return
		}
		w.Write([]byte("moved"))
	}))
	defer bounce.Close()
	bounceHost := strings.TrimPrefix(bounce.URL, "http://")
	set2, err := integrations.New(integrations.Config{GitLab: []integrations.GitLabConfig{{Host: bounceHost, Token: glToken, APIBaseURL: bounce.URL + "/api/v4", BaseURL: bounce.URL}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := set2.ReadFile(ctx, bounce.URL+"/g/p/-/blob/main/x.yaml", integrations.ReadOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || seen[0].Get("PRIVATE-TOKEN") != glToken || seen[1].Get("PRIVATE-TOKEN") != "" {
		t.Fatalf("headers: %v", seen)
	}
}

func TestErrorsNameTheURL(t *testing.T) {
	gh, gl, set := fakes(t)
	ctx := t.Context()
	wrong, err := integrations.New(integrations.Config{
		GitHub: []integrations.GitHubConfig{gh.Config("ghp_wrong_token")},
		GitLab: []integrations.GitLabConfig{gl.Config("glpat-wrong_token")},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	blob := gh.URL + "/acme/svc/blob/main/catalog-info.yaml"
	_, err = wrong.ReadFile(ctx, blob, integrations.ReadOptions{})
	wantErr(t, err, errs.Input, blob, "HTTP 401", "Bad credentials", "/api/v3/repos/acme/svc/contents/catalog-info.yaml", "token of integrations.github")
	noSecret(t, err, "ghp_wrong_token")

	glBlob := gl.URL + "/platform/team/svc/-/blob/main/catalog-info.yaml"
	_, err = wrong.ReadFile(ctx, glBlob, integrations.ReadOptions{})
	wantErr(t, err, errs.Input, glBlob, "HTTP 401", "integrations.gitlab")
	noSecret(t, err, "glpat-wrong_token")

	missing := gh.URL + "/acme/svc/blob/main/missing.yaml"
	_, err = set.ReadFile(ctx, missing, integrations.ReadOptions{})
	wantErr(t, err, errs.NotFound, missing, "HTTP 404")

	// Credentials written into a URL are not repeated in errors.
	withPass := strings.Replace(gh.URL, "http://", "http://user:hunter2@", 1) + "/acme/svc/blob/main/missing.yaml"
	_, err = set.ReadFile(ctx, withPass, integrations.ReadOptions{})
	wantErr(t, err, errs.NotFound, "HTTP 404")
	noSecret(t, err, "hunter2")
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	_, err = set.ReadFile(ctx, srv.URL+"/x.yaml?access_token=abc123", integrations.ReadOptions{})
	wantErr(t, err, errs.NotFound, srv.URL+"/x.yaml")
	noSecret(t, err, "abc123")

	err = set.ReadTree(ctx, gh.URL+"/acme/nothing/tree/main", openRoot(t, t.TempDir()), integrations.TreeOptions{})
	wantErr(t, err, errs.NotFound, gh.URL+"/acme/nothing/tree/main", "HTTP 404")
}

func TestReadTree(t *testing.T) {
	gh, gl, set := fakes(t)
	ctx := t.Context()
	for _, tc := range []struct {
		name, url string
		want      []string
	}{
		{"github tree", gh.URL + "/acme/svc/tree/main/skeleton", []string{"README.md", "src", "src/app.txt"}},
		{"github blob directory", gh.URL + "/acme/svc/blob/main/skeleton/", []string{"README.md", "src", "src/app.txt"}},
		{"github repository root", gh.URL + "/acme/svc/tree/main", []string{"catalog-info.yaml", "docs", "docs/index.md", "other.yaml", "skeleton", "skeleton/README.md", "skeleton/src", "skeleton/src/app.txt"}},
		{"github repository at its default branch", gh.URL + "/acme/public", []string{"README.md"}},
		{"gitlab tree", gl.URL + "/platform/team/svc/-/tree/main/skeleton", []string{"hello.txt"}},
		{"gitlab project at its default branch", gl.URL + "/platform/team/svc", []string{"catalog-info.yaml", "skeleton", "skeleton/hello.txt"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := set.ReadTree(ctx, tc.url, openRoot(t, dir), integrations.TreeOptions{}); err != nil {
				t.Fatal(err)
			}
			if got := listDir(t, dir); !slices.Equal(got, tc.want) {
				t.Fatalf("files = %q, want %q", got, tc.want)
			}
		})
	}
	var glQueries []string
	for _, r := range gl.Requests() {
		if r.Path != "/api/v4/projects/platform/team/svc/repository/archive.tar.gz" || r.PrivateToken != glToken {
			t.Errorf("gitlab request = %+v", r)
		}
		glQueries = append(glQueries, r.Query)
	}
	if !slices.Equal(glQueries, []string{"path=skeleton&sha=main", ""}) {
		t.Errorf("gitlab queries = %q", glQueries)
	}

	// Bounds: total size and number of files.
	err := set.ReadTree(ctx, gh.URL+"/acme/svc/tree/main", openRoot(t, t.TempDir()), integrations.TreeOptions{MaxSize: 100})
	wantErr(t, err, errs.Input, "more than the limit of 100 bytes")
	if !errors.Is(err, integrations.ErrTooLarge) {
		t.Fatal("not ErrTooLarge")
	}
	err = set.ReadTree(ctx, gh.URL+"/acme/svc/tree/main", openRoot(t, t.TempDir()), integrations.TreeOptions{MaxFiles: 3})
	wantErr(t, err, errs.Input, "more than 3 files")
	err = set.ReadTree(ctx, gh.URL+"/acme/svc/tree/main", openRoot(t, t.TempDir()), integrations.TreeOptions{MaxArchiveSize: 64})
	wantErr(t, err, errs.Input, "larger than the limit of 64 bytes")

	// A path that is no directory of the repository.
	err = set.ReadTree(ctx, gh.URL+"/acme/svc/tree/main/nothing", openRoot(t, t.TempDir()), integrations.TreeOptions{})
	wantErr(t, err, errs.NotFound, gh.URL+"/acme/svc/tree/main/nothing", "no directory nothing")
	err = set.ReadTree(ctx, gh.URL+"/acme/svc/blob/main/other.yaml", openRoot(t, t.TempDir()), integrations.TreeOptions{})
	wantErr(t, err, errs.Input, "is a file, not a directory")

	// Other URLs must be archives.
	err = set.ReadTree(ctx, "https://example.com/skeleton/", openRoot(t, t.TempDir()), integrations.TreeOptions{})
	wantErr(t, err, errs.Input, "https://example.com/skeleton/", ".tar.gz")
}

// Archives that try to write outside the directory are refused, and
// nothing lands outside it.
func TestReadTreeRefusesEscapes(t *testing.T) {
	_, _, set := fakes(t)
	type ent struct {
		name, link string
		typ        byte
	}
	archives := map[string][]ent{
		"dotdot":         {{name: "a/../../escaped.txt"}},
		"absolute":       {{name: "/tmp/escaped.txt"}},
		"link out":       {{name: "l", link: "../../escaped", typ: tar.TypeSymlink}},
		"link absolute":  {{name: "l", link: "/etc/passwd", typ: tar.TypeSymlink}},
		"through a link": {{name: "d", link: ".", typ: tar.TypeSymlink}, {name: "d/x", link: "../escaped", typ: tar.TypeSymlink}},
		"backslash":      {{name: `a\..\..\escaped.txt`}},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ents := archives[strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), ".tar.gz")]
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		tw := tar.NewWriter(zw)
		tw.WriteHeader(&tar.Header{Name: "ok.txt", Typeflag: tar.TypeReg, Size: 2, Mode: 0o644})
		tw.Write([]byte("ok"))
		for _, e := range ents {
			if e.typ == tar.TypeSymlink {
				tw.WriteHeader(&tar.Header{Name: e.name, Typeflag: tar.TypeSymlink, Linkname: e.link, Mode: 0o777})
				continue
			}
			tw.WriteHeader(&tar.Header{Name: e.name, Typeflag: tar.TypeReg, Size: 3, Mode: 0o644})
			tw.Write([]byte("bad"))
		}
		tw.Close()
		zw.Close()
		w.Write(buf.Bytes())
	}))
	defer srv.Close()
	for name := range archives {
		t.Run(name, func(t *testing.T) {
			outer := t.TempDir()
			dir := filepath.Join(outer, "a", "b")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			err := set.ReadTree(t.Context(), srv.URL+"/"+url.PathEscape(name)+".tar.gz", openRoot(t, dir), integrations.TreeOptions{})
			wantErr(t, err, errs.Input, "refusing to unpack")
			filepath.WalkDir(outer, func(p string, d fs.DirEntry, err error) error {
				if strings.Contains(p, "escaped") {
					t.Errorf("%s was written", p)
				}
				return nil
			})
		})
	}
	// A plain archive keeps its layout (no top directory is stripped).
	dir := t.TempDir()
	if err := set.ReadTree(t.Context(), srv.URL+"/none.tar.gz", openRoot(t, dir), integrations.TreeOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := listDir(t, dir); !slices.Equal(got, []string{"ok.txt"}) {
		t.Fatalf("files = %q", got)
	}
}

func TestReadFileSizeLimit(t *testing.T) {
	gh, _, set := fakes(t)
	chunked := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// No Content-Length: the limit holds while reading.
		for range 10 {
			w.Write(bytes.Repeat([]byte("x"), 1000))
			w.(http.Flusher).Flush()
		}
	}))
	defer chunked.Close()
	for _, u := range []string{gh.URL + "/acme/svc/blob/main/catalog-info.yaml", chunked.URL + "/big.yaml"} {
		_, err := set.ReadFile(t.Context(), u, integrations.ReadOptions{MaxSize: 20})
		wantErr(t, err, errs.Input, "larger than the limit of 20 bytes")
		if !errors.Is(err, integrations.ErrTooLarge) {
			t.Fatalf("%s: not ErrTooLarge: %v", u, err)
		}
	}
	if f, err := set.ReadFile(t.Context(), chunked.URL+"/big.yaml", integrations.ReadOptions{MaxSize: 10000}); err != nil || len(f.Data) != 10000 {
		t.Fatalf("exactly at the limit: %v", err)
	}
}

func TestResolve(t *testing.T) {
	set, err := integrations.New(integrations.Config{GitLab: []integrations.GitLabConfig{{Host: "git.example.com", BaseURL: "https://git.example.com/gitlab"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ base, target, want string }{
		{"https://github.com/acme/templates/blob/main/svc/template.yaml", "./skeleton", "https://github.com/acme/templates/tree/main/svc/skeleton"},
		{"https://github.com/acme/templates/blob/main/svc/", "./skeleton", "https://github.com/acme/templates/tree/main/svc/skeleton"},
		{"https://github.com/acme/svc/blob/main/catalog-info.yaml", "./other.yaml", "https://github.com/acme/svc/tree/main/other.yaml"},
		{"https://github.com/acme/svc/blob/main/a/b/catalog-info.yaml", "/docs/x.yaml", "https://github.com/acme/svc/tree/main/docs/x.yaml"},
		{"https://github.com/acme/svc/blob/main/a/catalog-info.yaml", "../x.yaml", "https://github.com/acme/svc/tree/main/x.yaml"},
		{"https://github.com/acme/svc/blob/main/a.yaml", "https://example.com/b.yaml", "https://example.com/b.yaml"},
		{"https://gitlab.com/g/sub/p/-/blob/main/a/catalog-info.yaml", "./b.yaml", "https://gitlab.com/g/sub/p/-/blob/main/a/b.yaml"},
		{"https://gitlab.com/g/sub/p/-/blob/main/a/catalog-info.yaml", "/b.yaml", "https://gitlab.com/g/sub/p/-/blob/main/b.yaml"},
		{"https://git.example.com/gitlab/g/p/-/blob/main/a/c.yaml", "/b.yaml", "https://git.example.com/gitlab/g/p/-/blob/main/b.yaml"},
		{"https://example.com/catalog/all.yaml", "./team.yaml", "https://example.com/catalog/team.yaml"},
		{"https://example.com/catalog/all.yaml", "/team.yaml", "https://example.com/team.yaml"},
	} {
		got, err := set.Resolve(tc.base, tc.target)
		if err != nil || got != tc.want {
			t.Errorf("Resolve(%s, %s) = %s, %v; want %s", tc.base, tc.target, got, err, tc.want)
		}
	}
	for _, bad := range [][2]string{
		{"https://github.com/acme/svc/blob/main/catalog-info.yaml", "../../x.yaml"},
		{"https://gitlab.com/g/p/-/blob/main/catalog-info.yaml", "../../../x.yaml"},
	} {
		if got, err := set.Resolve(bad[0], bad[1]); err == nil {
			t.Errorf("Resolve(%s, %s) = %s, want an error", bad[0], bad[1], got)
		}
	}
}

// HTTPClient carries the Set to code that is handed only a client.
func openRoot(t *testing.T, dir string) *os.Root {
	t.Helper()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	return root
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func wantErr(t *testing.T, err error, kind errs.Kind, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s with %q", kind, parts)
	}
	if errs.KindOf(err) != kind {
		t.Errorf("kind = %s, want %s: %v", errs.KindOf(err), kind, err)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not contain %q", err, p)
		}
	}
}

func noSecret(t *testing.T, err error, secret string) {
	t.Helper()
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error %q shows %q", err, secret)
	}
}
