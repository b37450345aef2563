package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateCatalogGolden = flag.Bool("update-catalog-golden", false, "rewrite the golden files of the catalog validate tests")

func runCatalog(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := newRootCommand()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append([]string{"catalog"}, args...))
	err = root.Execute()
	return out.String(), errOut.String(), err
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "catalog", name)
	if *updateCatalogGolden {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update-catalog-golden to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s:\n--- got\n%s--- want\n%s", path, got, want)
	}
}

func TestCatalogValidateValid(t *testing.T) {
	// The file named twice is checked once.
	stdout, stderr, err := runCatalog(t, "validate", "testdata/catalog/valid", "testdata/catalog/valid/org.yaml")
	if err != nil {
		t.Fatalf("err = %v\n%s", err, stdout)
	}
	if stdout != "" {
		t.Errorf("stdout = %q, want nothing", stdout)
	}
	if want := "9 entities in 2 files: all valid\n"; stderr != want {
		t.Errorf("stderr = %q, want %q", stderr, want)
	}
}

func TestCatalogValidateInvalid(t *testing.T) {
	stdout, _, err := runCatalog(t, "validate", "testdata/catalog/invalid", "testdata/catalog/valid/org.yaml")
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 1 {
		t.Fatalf("err = %v, want exit code 1", err)
	}
	checkGolden(t, "invalid.golden", stdout+"error: "+err.Error()+"\n")
}

func TestCatalogValidateMissingPath(t *testing.T) {
	_, _, err := runCatalog(t, "validate", "testdata/catalog/nope.yaml")
	if err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Errorf("err = %v", err)
	}
	if _, _, err := runCatalog(t, "validate"); err == nil {
		t.Error("validate without arguments should fail")
	}
}

func TestCatalogValidateProgress(t *testing.T) {
	dir := t.TempDir()
	for i := range 60 {
		src := fmt.Sprintf("apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: team-%d}\nspec: {type: team, children: []}\n", i)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("g%02d.yaml", i)), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, stderr, err := runCatalog(t, "validate", dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "validated 6/60 files\n") || !strings.Contains(stderr, "validated 60/60 files\n") {
		t.Errorf("no progress lines in %q", stderr)
	}
	if !strings.HasSuffix(stderr, "60 entities in 60 files: all valid\n") {
		t.Errorf("summary missing: %q", stderr)
	}
}

// Seed 003's example end to end: a kind, its schema file and its relation
// rule come from app-config, and catalog.validation loosens entity names.
func TestCatalogValidateWithConfig(t *testing.T) {
	stdout, _, err := runCatalog(t, "validate", "--config", "testdata/catalog/custom/app-config.yaml", "testdata/catalog/custom/entities.yaml")
	if err == nil {
		t.Fatal("want the invalid entities reported")
	}
	checkGolden(t, "custom.golden", stdout+"error: "+err.Error()+"\n")

	// Without the configuration the kind is unknown.
	stdout, _, _ = runCatalog(t, "validate", "testdata/catalog/custom/entities.yaml")
	if !strings.Contains(stdout, `kind "ServiceAccount" is not registered`) {
		t.Errorf("unregistered kind not reported:\n%s", stdout)
	}
}

// The example catalog validates, with its $text placeholders resolved and
// the OpenAPI files beside it (not entities) left alone.
func TestCatalogValidateExamples(t *testing.T) {
	_, stderr, err := runCatalog(t, "validate", "../../examples/catalog")
	if err != nil {
		t.Fatalf("examples/catalog: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "other YAML files skipped") || !strings.Contains(stderr, "all valid") {
		t.Errorf("summary: %s", stderr)
	}
	// Named explicitly, a file that is not an entity is still checked.
	if _, _, err := runCatalog(t, "validate", "../../examples/catalog/apis/payments-api.openapi.yaml"); err == nil {
		t.Error("an OpenAPI file named explicitly passed as an entity file")
	}
}
