package actions_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/portico-dev/portico/internal/scaffolder/actions"
)

var update = flag.Bool("update", false, "rewrite golden files")

// templateBase is the file:// location of testdata/fetch, as the core
// passes a template's directory.
func templateBase(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("testdata/fetch")
	if err != nil {
		t.Fatal(err)
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(dir) + "/"}).String()
}

// describe lists a workspace: each file's path, mode and content (binary
// files by size), directories with a trailing slash.
func describe(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			fmt.Fprintf(&b, "== %s/\n", rel)
			return nil
		}
		info, _ := d.Info()
		data, _ := os.ReadFile(p)
		if bytes.IndexByte(data, 0) >= 0 {
			fmt.Fprintf(&b, "== %s %s binary %d bytes %q\n", rel, info.Mode().Perm(), len(data), data)
			return nil
		}
		fmt.Fprintf(&b, "== %s %s\n%s", rel, info.Mode().Perm(), data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update after checking):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

var values = map[string]any{
	"name": "payments", "description": "Takes the money.", "owner": "team-a",
	"tags": []any{"go", "http"}, "docs": true, "ci": false, "greeting": "Hello",
}

func TestFetchTemplate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		input map[string]any
	}{
		{"skeleton", map[string]any{"url": "./skeleton", "values": values, "targetPath": "./out",
			"copyWithoutTemplating": []any{".github/workflows/*"}}},
		{"skeleton-copy-without-render", map[string]any{"url": "./skeleton", "values": values,
			"copyWithoutRender": []any{"${{ values.name }}/**", ".github/**"}}},
		{"skeleton-trim", map[string]any{"url": "./skeleton", "values": values, "trimBlocks": true, "lstripBlocks": true,
			"copyWithoutTemplating": []any{".github/workflows/*"}}},
		{"skeleton-no-docs", map[string]any{"url": "./skeleton", "values": map[string]any{"name": "x", "tags": []any{}},
			"copyWithoutTemplating": []any{".github/workflows/*"}}},
		{"template-extension", map[string]any{"url": "./njk", "values": values, "templateFileExtension": true}},
		{"cookiecutter", map[string]any{"url": "./cookie", "values": values, "cookiecutterCompat": true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRun(t)
			r.baseURL = templateBase(t)
			if err := r.call(t.Context(), actions.Deps{}, "fetch:template", tc.input); err != nil {
				t.Fatal(err)
			}
			golden(t, "fetch-template-"+tc.name+".txt", describe(t, r.ws))
		})
	}
}

func TestFetchTemplateReplace(t *testing.T) {
	r := newRun(t)
	r.baseURL = templateBase(t)
	r.write("README.md", "mine")
	in := map[string]any{"url": "./skeleton", "values": values}
	if err := r.call(t.Context(), actions.Deps{}, "fetch:template", in); err != nil {
		t.Fatal(err)
	}
	if got := r.read("README.md"); got != "mine" {
		t.Fatalf("README.md replaced without replace: %q", got)
	}
	in["replace"] = true
	if err := r.call(t.Context(), actions.Deps{}, "fetch:template", in); err != nil {
		t.Fatal(err)
	}
	if got := r.read("README.md"); !strings.HasPrefix(got, "# payments") {
		t.Fatalf("README.md not replaced: %q", got)
	}
}

func TestFetchTemplateFile(t *testing.T) {
	r := newRun(t)
	r.baseURL = templateBase(t)
	if err := r.call(t.Context(), actions.Deps{}, "fetch:template:file", map[string]any{"url": "./file.txt", "targetPath": "greeting/hello.txt", "values": values}); err != nil {
		t.Fatal(err)
	}
	if got := r.read("greeting/hello.txt"); got != "Hello, payments!\n" {
		t.Fatalf("got %q", got)
	}
}

func TestFetchPlain(t *testing.T) {
	r := newRun(t)
	r.baseURL = templateBase(t)
	if err := r.call(t.Context(), actions.Deps{}, "fetch:plain", map[string]any{"url": "./skeleton", "targetPath": "plain"}); err != nil {
		t.Fatal(err)
	}
	if got := r.read("plain/${{ values.name }}/main.go"); !strings.Contains(got, "${{ values.name | upper }}") {
		t.Fatalf("plain copy rendered or lost the file: %q", got)
	}
	info, err := os.Stat(filepath.Join(r.ws, "plain/run.sh"))
	if err != nil || info.Mode().Perm() != 0o755 {
		t.Fatalf("run.sh mode = %v, %v; want 0755", info, err)
	}
	if err := r.call(t.Context(), actions.Deps{}, "fetch:plain:file", map[string]any{"url": "./file.txt", "targetPath": "copy.txt"}); err != nil {
		t.Fatal(err)
	}
	if got := r.read("copy.txt"); got != "${{ values.greeting }}, ${{ values.name }}!\n" {
		t.Fatalf("got %q", got)
	}
}

// A template in a named file system (the embedded examples) fetches its
// skeleton from beside it.
func TestFetchFromNamedFileSystem(t *testing.T) {
	fsys := fstest.MapFS{
		"templates/svc/template.yaml":       {Data: []byte("kind: Template")},
		"templates/svc/skeleton/README.md":  {Data: []byte("# ${{ values.name }}\n")},
		"templates/svc/skeleton/src/app.go": {Data: []byte("package ${{ values.name }}\n")},
	}
	r := newRun(t)
	r.baseURL = "embedded:templates/svc/"
	deps := actions.Deps{FileSystems: map[string]fs.FS{"embedded": fsys}}
	if err := r.call(t.Context(), deps, "fetch:template", map[string]any{"url": "./skeleton", "values": map[string]any{"name": "demo"}}); err != nil {
		t.Fatal(err)
	}
	if got := r.files(); !slices.Equal(got, []string{"README.md", "src/app.go"}) {
		t.Fatalf("files = %q", got)
	}
	if got := r.read("src/app.go"); got != "package demo\n" {
		t.Fatalf("got %q", got)
	}
	wantErr(t, r.call(t.Context(), deps, "fetch:plain", map[string]any{"url": "../../secrets"}), "input.url", "outside the template's directory")
}

// Remote fetches go to a real HTTP listener: a single file, and a
// directory as a .tar.gz archive.
func TestFetchRemote(t *testing.T) {
	archive := tarGz(t, map[string]string{"skeleton/README.md": "# ${{ values.name }}\n", "skeleton/a/b.txt": "b ${{ values.name }}\n"})
	var auth []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		auth = append(auth, req.Header.Get("Authorization"))
		switch req.URL.Path {
		case "/templates/file.txt":
			fmt.Fprint(w, "Hi ${{ values.name }}\n")
		case "/templates/skeleton.tar.gz":
			w.Write(archive)
		default:
			http.NotFound(w, req)
		}
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	deps := actions.Deps{ReadAllow: []actions.ReadAllow{{Host: host}}}

	r := newRun(t)
	r.baseURL = srv.URL + "/templates/"
	if err := r.call(t.Context(), deps, "fetch:template:file", map[string]any{"url": "./file.txt", "targetPath": "f.txt", "values": values, "token": "s3cret"}); err != nil {
		t.Fatal(err)
	}
	if got := r.read("f.txt"); got != "Hi payments\n" {
		t.Fatalf("got %q", got)
	}
	if auth[0] != "Bearer s3cret" {
		t.Fatalf("Authorization = %q", auth[0])
	}
	if err := r.call(t.Context(), deps, "fetch:template", map[string]any{"url": srv.URL + "/templates/skeleton.tar.gz", "values": values, "targetPath": "svc"}); err != nil {
		t.Fatal(err)
	}
	if got := r.read("svc/skeleton/a/b.txt"); got != "b payments\n" {
		t.Fatalf("got %q", got)
	}
	wantErr(t, r.call(t.Context(), deps, "fetch:plain", map[string]any{"url": srv.URL + "/templates/missing.tar"}), "HTTP 404")

	// Hosts outside backend.reading.allow are refused before any request.
	before := len(auth)
	wantErr(t, r.call(t.Context(), actions.Deps{}, "fetch:plain:file", map[string]any{"url": srv.URL + "/templates/file.txt", "targetPath": "x"}), "input.url", "not allowed", "backend.reading.allow")
	if len(auth) != before {
		t.Fatal("a request went to a host that is not allowed")
	}
	// A remote file larger than the limit is refused.
	small := actions.Deps{ReadAllow: deps.ReadAllow, MaxFetchSize: 10}
	wantErr(t, r.call(t.Context(), small, "fetch:template", map[string]any{"url": srv.URL + "/templates/skeleton.tar.gz"}), "larger than the fetch limit")
}

func tarGz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, content := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(content))
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func TestFetchBadInput(t *testing.T) {
	base := templateBase(t)
	for _, tc := range []struct {
		name   string
		action string
		input  map[string]any
		want   []string
	}{
		{"targetPath up", "fetch:template", map[string]any{"url": "./skeleton", "targetPath": "../outside"}, []string{"input.targetPath", "outside the workspace"}},
		{"targetPath absolute", "fetch:plain", map[string]any{"url": "./skeleton", "targetPath": "/tmp/x"}, []string{"input.targetPath", "outside the workspace"}},
		{"file targetPath up", "fetch:plain:file", map[string]any{"url": "./file.txt", "targetPath": "a/../../x"}, []string{"input.targetPath"}},
		{"url up", "fetch:plain", map[string]any{"url": "../../../../etc"}, []string{"input.url", "outside the template's directory"}},
		{"url absolute file", "fetch:plain", map[string]any{"url": "file:///etc"}, []string{"input.url", "only http(s) URLs"}},
		{"url missing", "fetch:template", map[string]any{}, []string{"input.url", "required"}},
		{"url not found", "fetch:template", map[string]any{"url": "./nothing"}, []string{"input.url", "nothing"}},
		{"file name renders up", "fetch:template", map[string]any{"url": "./evil", "values": map[string]any{"name": "../../escaped"}}, []string{"outside the target directory"}},
		{"expression error", "fetch:template", map[string]any{"url": "./broken", "values": values}, []string{"bad.txt", "line 2", "nosuchfilter"}},
		{"both copy options", "fetch:template", map[string]any{"url": "./skeleton", "copyWithoutRender": []any{"a"}, "copyWithoutTemplating": []any{"b"}}, []string{"copyWithoutRender and copyWithoutTemplating"}},
		{"extension and cookiecutter", "fetch:template", map[string]any{"url": "./skeleton", "templateFileExtension": ".njk", "cookiecutterCompat": true}, []string{"input.templateFileExtension"}},
		{"bad glob", "fetch:template", map[string]any{"url": "./skeleton", "copyWithoutRender": []any{"a/[b"}}, []string{"input.copyWithoutRender[0]"}},
		{"values not an object", "fetch:template", map[string]any{"url": "./skeleton", "values": "x"}, []string{"input.values"}},
		{"directory as file", "fetch:plain:file", map[string]any{"url": "./skeleton", "targetPath": "x"}, []string{"is a directory"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parent := t.TempDir()
			r := newRun(t)
			r.baseURL = base
			wantErr(t, r.call(t.Context(), actions.Deps{}, tc.action, tc.input), tc.want...)
			if entries, _ := os.ReadDir(parent); len(entries) != 0 {
				t.Fatalf("something was written outside the workspace: %v", entries)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(r.ws), "escaped")); !os.IsNotExist(err) {
				t.Fatal("a file was written beside the workspace")
			}
		})
	}
}

// A skeleton of 1 GiB (a sparse file, so the test is cheap) is refused
// before anything is read or written.
func TestFetchRefusesHugeSkeleton(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "huge"), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "huge", "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	r := newRun(t)
	r.baseURL = "file://" + filepath.ToSlash(dir) + "/"
	for _, action := range []string{"fetch:template", "fetch:plain"} {
		wantErr(t, r.call(t.Context(), actions.Deps{}, action, map[string]any{"url": "./huge"}), "input.url", "larger than the fetch limit of 200.0 MiB")
	}
	wantErr(t, r.call(t.Context(), actions.Deps{}, "fetch:template:file", map[string]any{"url": "./huge/big.bin", "targetPath": "x"}), "1.0 GiB", "larger than the fetch limit")
	if files := r.files(); len(files) != 0 {
		t.Fatalf("files written: %q", files)
	}
}

// Links in a skeleton are copied as links; binary files larger than the
// sniffed head are streamed unchanged; text files too large to render are
// refused with a hint.
func TestFetchTemplateLinksAndLargeFiles(t *testing.T) {
	dir := t.TempDir()
	skel := filepath.Join(dir, "skeleton")
	if err := os.MkdirAll(skel, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(skel, "README.md"), []byte("# ${{ values.name }}\n"), 0o644)
	if err := os.Symlink("README.md", filepath.Join(skel, "INDEX.md")); err != nil {
		t.Fatal(err)
	}
	bin := bytes.Repeat([]byte{0, 1, 2, 3, '$', '{', '{'}, 100000)
	os.WriteFile(filepath.Join(skel, "blob.bin"), bin, 0o644)
	r := newRun(t)
	r.baseURL = "file://" + filepath.ToSlash(dir) + "/"
	if err := r.call(t.Context(), actions.Deps{}, "fetch:template", map[string]any{"url": "./skeleton", "values": values}); err != nil {
		t.Fatal(err)
	}
	if target, err := os.Readlink(filepath.Join(r.ws, "INDEX.md")); err != nil || target != "README.md" {
		t.Fatalf("INDEX.md link = %q, %v", target, err)
	}
	if got := r.read("blob.bin"); got != string(bin) {
		t.Fatalf("binary file changed (%d bytes, want %d)", len(got), len(bin))
	}
	big := strings.Repeat("${{ values.name }}\n", (11<<20)/19)
	os.WriteFile(filepath.Join(skel, "big.txt"), []byte(big), 0o644)
	r2 := newRun(t)
	r2.baseURL = r.baseURL
	wantErr(t, r2.call(t.Context(), actions.Deps{}, "fetch:template", map[string]any{"url": "./skeleton", "values": values}), "big.txt", "copyWithoutTemplating")
	if err := r2.call(t.Context(), actions.Deps{}, "fetch:template", map[string]any{"url": "./skeleton", "values": values, "copyWithoutTemplating": []any{"big.txt"}}); err != nil {
		t.Fatal(err)
	}
}
