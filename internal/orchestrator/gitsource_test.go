package orchestrator_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/portico-dev/portico/internal/orchestrator"
)

// commitFile writes a file into a repository's work tree and commits it.
func commitFile(t *testing.T, repo *git.Repository, dir, name, content string) {
	t.Helper()
	writeFile(t, filepath.Join(dir, name), content)
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wt.Add(name); err != nil {
		t.Fatal(err)
	}
	sig := &object.Signature{Name: "tests", Email: "tests@example.com", When: time.Now()}
	if _, err := wt.Commit("add "+name, &git.CommitOptions{Author: sig}); err != nil {
		t.Fatal(err)
	}
}

// A repository of workflows is cloned, then pulled: new commits reach the
// clone, local edits are discarded, and the registry loads what is there.
func TestGitSource(t *testing.T) {
	upstream := t.TempDir()
	repo, err := git.PlainInit(upstream, false)
	if err != nil {
		t.Fatal(err)
	}
	commitFile(t, repo, upstream, "nap/nap.sw.yaml", testWorkflows["nap/nap.sw.yaml"])

	clone := filepath.Join(t.TempDir(), "clone")
	gs := &orchestrator.GitSource{URL: upstream, Dir: clone}
	first, err := gs.Sync(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(clone, "nap/nap.sw.yaml")); err != nil {
		t.Fatalf("clone: %v", err)
	}

	commitFile(t, repo, upstream, "waiter/waiter.sw.yaml", testWorkflows["waiter/waiter.sw.yaml"])
	writeFile(t, filepath.Join(clone, "nap/nap.sw.yaml"), "edited locally")
	second, err := gs.Sync(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if second == first {
		t.Fatal("the pull did not move to the new commit")
	}
	b, _ := os.ReadFile(filepath.Join(clone, "nap/nap.sw.yaml"))
	if !strings.Contains(string(b), "id: nap") {
		t.Errorf("local edit kept: %q", b)
	}
	if _, err := os.Stat(filepath.Join(clone, "waiter/waiter.sw.yaml")); err != nil {
		t.Errorf("new file not pulled: %v", err)
	}

	bad := &orchestrator.GitSource{URL: filepath.Join(t.TempDir(), "missing"), Dir: filepath.Join(t.TempDir(), "c")}
	if _, err := bad.Sync(t.Context()); err == nil || !strings.Contains(err.Error(), "clone") {
		t.Errorf("clone of a missing repository: %v", err)
	}
}

// A server configured with workflowsSource serves the repository's
// workflows and picks up a workflow committed while it runs.
func TestGitWorkflowsServed(t *testing.T) {
	upstream := t.TempDir()
	repo, err := git.PlainInit(upstream, false)
	if err != nil {
		t.Fatal(err)
	}
	commitFile(t, repo, upstream, "nap/nap.sw.yaml", testWorkflows["nap/nap.sw.yaml"])
	s := startConfig(t, `
orchestrator:
  runtimeApi: {allowUnauthenticated: true}
  reloadInterval: 50ms
  sonataFlowService:
    workflowsSource:
      gitRepositoryUrl: `+upstream+`
      localPath: `+filepath.Join(t.TempDir(), "clone")+`
      pullInterval: 50ms
`, false)
	if r := s.do(t, "GET", "/management/processes/nap", nil); r.status != 200 {
		t.Fatalf("workflow from the repository: %d %s", r.status, r.raw)
	}
	commitFile(t, repo, upstream, "waiter/waiter.sw.yaml", testWorkflows["waiter/waiter.sw.yaml"])
	deadline := time.Now().Add(10 * time.Second)
	for s.do(t, "GET", "/management/processes/waiter", nil).status != 200 {
		if time.Now().After(deadline) {
			t.Fatal("the committed workflow was never served")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
