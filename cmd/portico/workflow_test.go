package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const corpus = "../../internal/workflow/testdata/corpus"

func runPortico(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := newRootCommand()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err = root.Execute()
	return out.String(), errOut.String(), err
}

func TestWorkflowValidateValid(t *testing.T) {
	stdout, stderr, err := runPortico(t, "workflow", "validate",
		filepath.Join(corpus, "workflows/rhdh-greeting-english"),
		filepath.Join(corpus, "plugin-workflows/greeting/greeting.sw.yaml"))
	if err != nil {
		t.Fatalf("err = %v\nstdout:\n%s", err, stdout)
	}
	if stdout != "" {
		t.Errorf("expected no findings, got:\n%s", stdout)
	}
	if !strings.Contains(stderr, "2 workflow files: 0 errors, 0 warnings") {
		t.Errorf("stderr = %q", stderr)
	}
}

func TestWorkflowValidateInvalid(t *testing.T) {
	file := filepath.Join(corpus, "workflows/reject-transition-unknown-state/broken.sw.json")
	stdout, _, err := runPortico(t, "workflow", "validate", file)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 1 {
		t.Fatalf("err = %#v, want exit code 1", err)
	}
	want := file + `:12: states[0].transition: unknown state "Nowhere"; define a state named "Nowhere" or fix the transition` + "\n"
	if stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout, want)
	}
}

func TestWorkflowValidateWholeCorpus(t *testing.T) {
	stdout, stderr, err := runPortico(t, "workflow", "validate", corpus)
	if exitCode(err) != 1 {
		t.Fatalf("err = %v, want exit code 1 (the corpus has reject-* cases)", err)
	}
	// Progress is shown for many files, and only reject-* files fail.
	if !strings.Contains(stderr, "validated 50/") {
		t.Errorf("no progress line in stderr:\n%s", stderr)
	}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		if !strings.Contains(line, "warning: ") && !strings.Contains(line, "/reject-") {
			t.Errorf("unexpected error for a valid workflow: %s", line)
		}
	}
}

func TestWorkflowValidateBadArguments(t *testing.T) {
	if _, _, err := runPortico(t, "workflow", "validate", "does-not-exist"); err == nil {
		t.Error("a missing path must fail")
	}
	if _, _, err := runPortico(t, "workflow", "validate", t.TempDir()); err == nil || !strings.Contains(err.Error(), "no workflow files") {
		t.Errorf("an empty directory must fail, got %v", err)
	}
	dir := t.TempDir()
	src := "id: a\nstart: A\nstates:\n  - name: A\n    type: inject\n    data: {}\n    end: true\n"
	if err := os.WriteFile(filepath.Join(dir, "a.sw.yaml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, err := runPortico(t, "workflow", "validate", dir); err != nil || !strings.Contains(stderr, "1 workflow file: 0 errors") {
		t.Errorf("err = %v, stderr = %q", err, stderr)
	}
}
