package actions_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/portico-dev/portico/internal/scaffolder/actions"
)

func TestFsDelete(t *testing.T) {
	r := newRun(t)
	for _, f := range []string{"README.md", "keep.txt", "a/x.tmp", "a/b/y.tmp", "a/b/z.go", "gone/one.txt"} {
		r.write(f, "x")
	}
	if err := r.call(t.Context(), actions.Deps{}, "fs:delete", map[string]any{"files": []any{"README.md", "**/*.tmp", "gone", "missing.txt"}}); err != nil {
		t.Fatal(err)
	}
	if got, want := r.files(), []string{"a/b/z.go", "keep.txt"}; !slices.Equal(got, want) {
		t.Fatalf("files = %q, want %q", got, want)
	}
	outside := filepath.Join(filepath.Dir(r.ws), "outside.txt")
	if err := os.WriteFile(outside, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	wantErr(t, r.call(t.Context(), actions.Deps{}, "fs:delete", map[string]any{"files": []any{"../outside.txt"}}), "input.files[0]", "outside the workspace")
	wantErr(t, r.call(t.Context(), actions.Deps{}, "fs:delete", map[string]any{"files": []any{"."}}), "input.files[0]", "whole workspace")
	if _, err := os.Stat(outside); err != nil {
		t.Fatal("a file outside the workspace was deleted")
	}
}

func TestFsRename(t *testing.T) {
	r := newRun(t)
	r.write("a.txt", "a")
	r.write("b.txt", "b")
	r.write("dir/c.txt", "c")
	call := func(files ...map[string]any) error {
		list := []any{}
		for _, f := range files {
			list = append(list, f)
		}
		return r.call(t.Context(), actions.Deps{}, "fs:rename", map[string]any{"files": list})
	}
	if err := call(map[string]any{"from": "a.txt", "to": "moved/a2.txt"}, map[string]any{"from": "dir", "to": "dir2"}); err != nil {
		t.Fatal(err)
	}
	if got, want := r.files(), []string{"b.txt", "dir2/c.txt", "moved/a2.txt"}; !slices.Equal(got, want) {
		t.Fatalf("files = %q, want %q", got, want)
	}
	wantErr(t, call(map[string]any{"from": "b.txt", "to": "moved/a2.txt"}), "input.files[0].to", "already exists", "overwrite")
	if err := call(map[string]any{"from": "b.txt", "to": "moved/a2.txt", "overwrite": true}); err != nil {
		t.Fatal(err)
	}
	if got := r.read("moved/a2.txt"); got != "b" {
		t.Fatalf("got %q", got)
	}
	wantErr(t, call(map[string]any{"from": "nope.txt", "to": "x"}), "input.files[0].from", "does not exist")
	wantErr(t, call(map[string]any{"from": "dir2/c.txt", "to": "../escaped.txt"}), "input.files[0].to", "outside the workspace")
	wantErr(t, call(map[string]any{"from": "../../etc/passwd", "to": "x"}), "input.files[0].from", "outside the workspace")
	wantErr(t, call(map[string]any{"from": "a"}), "input.files[0]", "from and to")
	if _, err := os.Stat(filepath.Join(filepath.Dir(r.ws), "escaped.txt")); !os.IsNotExist(err) {
		t.Fatal("a file was moved outside the workspace")
	}
}

func TestFsReaddir(t *testing.T) {
	r := newRun(t)
	r.write("src/a.go", "a")
	r.write("src/sub/b.go", "b")
	r.write("top.txt", "t")
	if err := r.call(t.Context(), actions.Deps{}, "fs:readdir", map[string]any{"paths": []any{"src"}}); err != nil {
		t.Fatal(err)
	}
	names := func(key string) []string {
		var out []string
		for _, it := range r.outputs[key].([]any) {
			m := it.(map[string]any)
			if m["fullPath"] != filepath.Join(r.ws, filepath.FromSlash(m["path"].(string))) {
				t.Errorf("fullPath %v does not match path %v", m["fullPath"], m["path"])
			}
			out = append(out, m["path"].(string))
		}
		return out
	}
	if got := names("files"); !slices.Equal(got, []string{"src/a.go"}) {
		t.Fatalf("files = %q", got)
	}
	if got := names("folders"); !slices.Equal(got, []string{"src/sub"}) {
		t.Fatalf("folders = %q", got)
	}
	if err := r.call(t.Context(), actions.Deps{}, "fs:readdir", map[string]any{"paths": []any{".", "src"}, "recursive": true}); err != nil {
		t.Fatal(err)
	}
	if got := names("files"); !slices.Equal(got, []string{"src/a.go", "src/sub/b.go", "top.txt", "src/a.go", "src/sub/b.go"}) {
		t.Fatalf("files = %q", got)
	}
	wantErr(t, r.call(t.Context(), actions.Deps{}, "fs:readdir", map[string]any{"paths": []any{"../"}}), "input.paths[0]", "outside the workspace")
	wantErr(t, r.call(t.Context(), actions.Deps{}, "fs:readdir", map[string]any{"paths": []any{"missing"}}), "input.paths[0]", "cannot read missing")
}
