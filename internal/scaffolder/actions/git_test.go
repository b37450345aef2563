package actions_test

import (
	"io/fs"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/portico-dev/portico/internal/scaffolder/actions"
)

// remoteFiles reads the files of a branch's head commit in a repository,
// with their modes, and the number of commits on it.
func remoteFiles(t *testing.T, dir, branch string) (files []string, commits int, head *object.Commit) {
	t.Helper()
	repo, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := repo.Reference(plumbing.NewBranchReferenceName(branch), true)
	if err != nil {
		t.Fatalf("branch %s: %v", branch, err)
	}
	head, err = repo.CommitObject(ref.Hash())
	if err != nil {
		t.Fatal(err)
	}
	tree, err := head.Tree()
	if err != nil {
		t.Fatal(err)
	}
	err = tree.Files().ForEach(func(f *object.File) error {
		s := f.Name
		if f.Mode == filemode.Executable {
			s += " (executable)"
		}
		files = append(files, s)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	iter, err := repo.Log(&git.LogOptions{From: ref.Hash()})
	if err != nil {
		t.Fatal(err)
	}
	_ = iter.ForEach(func(*object.Commit) error { commits++; return nil })
	return files, commits, head
}

func TestPublishGit(t *testing.T) {
	gitDir := t.TempDir()
	bare := filepath.Join(gitDir, "existing.git")
	if _, err := git.PlainInit(bare, true); err != nil {
		t.Fatal(err)
	}
	deps := actions.Deps{LocalGitDir: gitDir, DefaultAuthor: actions.GitAuthor{Name: "Portico", Email: "portico@example.com"}}
	r := newRun(t)
	r.write("svc/README.md", "# svc\n")
	r.write("svc/src/main.go", "package main\n")
	r.write("svc/run.sh", "#!/bin/sh\n")
	r.write("svc/.gitignore", "*.log\n")
	r.write("svc/debug.log", "noise")
	r.write("other.txt", "not published")
	if err := osChmod(filepath.Join(r.ws, "svc/run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	remote := (&url.URL{Scheme: "file", Path: filepath.ToSlash(bare)}).String()
	in := map[string]any{"remoteUrl": remote, "sourcePath": "svc", "gitCommitMessage": "Create svc"}
	if err := r.call(t.Context(), deps, "publish:git", in); err != nil {
		t.Fatal(err)
	}
	files, commits, head := remoteFiles(t, bare, "main")
	if want := []string{".gitignore", "README.md", "run.sh (executable)", "src/main.go"}; !slices.Equal(files, want) {
		t.Fatalf("pushed files = %q, want %q", files, want)
	}
	if commits != 1 || head.Message != "Create svc" || head.Author.Name != "Portico" {
		t.Fatalf("commits = %d, head = %q by %s", commits, head.Message, head.Author.Name)
	}
	if r.outputs["commitHash"] != head.Hash.String() || r.outputs["remoteUrl"] != remote {
		t.Fatalf("outputs = %v", r.outputs)
	}
	// Nothing was written into the workspace (no .git directory).
	for _, f := range r.files() {
		if strings.Contains(f, ".git/") {
			t.Fatalf("publish wrote %s into the workspace", f)
		}
	}

	// A recovered task runs the step again: the checkpoint answers, no
	// second commit is pushed.
	r.outputs = map[string]any{}
	r.write("svc/late.txt", "changed after the push")
	if err := r.call(t.Context(), deps, "publish:git", in); err != nil {
		t.Fatal(err)
	}
	if _, commits, again := remoteFiles(t, bare, "main"); commits != 1 || again.Hash != head.Hash {
		t.Fatalf("re-run pushed again: %d commits, head %s", commits, again.Hash)
	}
	if r.outputs["commitHash"] != head.Hash.String() {
		t.Fatalf("re-run outputs = %v", r.outputs)
	}
}

func TestPublishGitLocalRepoURL(t *testing.T) {
	gitDir := t.TempDir()
	r := newRun(t)
	r.write("README.md", "hello")
	deps := actions.Deps{LocalGitDir: gitDir}
	if err := r.call(t.Context(), deps, "publish:git", map[string]any{"repoUrl": "local?owner=examples&repo=demo", "defaultBranch": "trunk"}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(gitDir, "examples", "demo.git")
	files, _, head := remoteFiles(t, dir, "trunk")
	if !slices.Equal(files, []string{"README.md"}) || head.Message != "Initial commit" || head.Author.Email != "scaffolder@backstage.io" {
		t.Fatalf("files %q, head %q by %s", files, head.Message, head.Author.Email)
	}
	if want := (&url.URL{Scheme: "file", Path: filepath.ToSlash(dir)}).String(); r.outputs["remoteUrl"] != want {
		t.Fatalf("remoteUrl = %v, want %s", r.outputs["remoteUrl"], want)
	}
}

func TestPublishGitBadInput(t *testing.T) {
	gitDir := t.TempDir()
	deps := actions.Deps{LocalGitDir: gitDir}
	outside := "file://" + filepath.ToSlash(filepath.Join(filepath.Dir(gitDir), "elsewhere.git"))
	for _, tc := range []struct {
		name  string
		deps  actions.Deps
		input map[string]any
		want  []string
	}{
		{"no remote", deps, map[string]any{}, []string{"input.remoteUrl", "required"}},
		{"both", deps, map[string]any{"remoteUrl": "https://x/y.git", "repoUrl": "local?owner=a&repo=b"}, []string{"not both"}},
		{"file outside", deps, map[string]any{"remoteUrl": outside}, []string{"input.remoteUrl", "outside the local git directory"}},
		{"file traversal", deps, map[string]any{"remoteUrl": "file://" + filepath.ToSlash(gitDir) + "/../x.git"}, []string{"input.remoteUrl", "outside"}},
		{"no local dir", actions.Deps{}, map[string]any{"repoUrl": "local?owner=a&repo=b"}, []string{"input.repoUrl", "no local git directory"}},
		{"repo traversal", deps, map[string]any{"repoUrl": "local?owner=..&repo=b"}, []string{"input.repoUrl", "plain names"}},
		{"github repoUrl", deps, map[string]any{"repoUrl": "github.com?owner=a&repo=b"}, []string{"input.repoUrl", "publish:github"}},
		{"host not allowed", deps, map[string]any{"remoteUrl": "https://git.example.com/a.git"}, []string{"input.remoteUrl", "not allowed"}},
		{"ssh", deps, map[string]any{"remoteUrl": "ssh://git@example.com/a.git"}, []string{"input.remoteUrl", "only http(s) and file://"}},
		{"sourcePath outside", deps, map[string]any{"repoUrl": "local?owner=a&repo=b", "sourcePath": "../"}, []string{"input.sourcePath", "outside the workspace"}},
		{"sourcePath missing", deps, map[string]any{"repoUrl": "local?owner=a&repo=b", "sourcePath": "nope"}, []string{"input.sourcePath", "not a directory"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRun(t)
			r.write("a.txt", "a")
			wantErr(t, r.call(t.Context(), tc.deps, "publish:git", tc.input), tc.want...)
		})
	}
}

// What publish:git pushes to the local git directory, the catalog reads
// through LocalGitFS: publish, then register.
func TestPublishGitThenRegister(t *testing.T) {
	gitDir := t.TempDir()
	r := newRun(t)
	r.write("catalog-info.yaml", "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: demo\nspec:\n  type: service\n  lifecycle: experimental\n  owner: team-a\n")
	deps := actions.Deps{LocalGitDir: gitDir}
	if err := r.call(t.Context(), deps, "publish:git", map[string]any{"repoUrl": "local?owner=examples&repo=demo"}); err != nil {
		t.Fatal(err)
	}
	contents, _ := r.outputs["repoContentsUrl"].(string)
	if contents != "local-git:examples/demo.git" {
		t.Fatalf("repoContentsUrl = %q", contents)
	}
	fsys := actions.LocalGitFS(gitDir)
	data, err := fs.ReadFile(fsys, "examples/demo.git/catalog-info.yaml")
	if err != nil || !strings.Contains(string(data), "name: demo") {
		t.Fatalf("read through LocalGitFS: %q, %v", data, err)
	}
	for _, name := range []string{"examples/demo.git/missing.yaml", "examples/nope.git/catalog-info.yaml", "examples/demo.git", "../x.git/a", "plain/file"} {
		if _, err := fs.ReadFile(fsys, name); err == nil {
			t.Errorf("read %s: no error", name)
		}
	}
}
