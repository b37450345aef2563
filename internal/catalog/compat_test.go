package catalog_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/portico-dev/portico/internal/app/apptest"
)

// TestCatalogClientCompat runs the real @backstage/catalog-client (from npm)
// against a server with the example catalog. It needs node and npm, and
// runs when PORTICO_TEST_NPM is set (CI sets it); `npm install` is run in
// testdata/catalog-client when its node_modules are missing.
func TestCatalogClientCompat(t *testing.T) {
	if os.Getenv("PORTICO_TEST_NPM") == "" {
		t.Skip("set PORTICO_TEST_NPM=1 to run the @backstage/catalog-client compatibility test")
	}
	dir, err := filepath.Abs("testdata/catalog-client")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules")); err != nil {
		install := exec.Command("npm", "install", "--no-audit", "--no-fund")
		install.Dir = dir
		if out, err := install.CombinedOutput(); err != nil {
			t.Fatalf("npm install: %v\n%s", err, out)
		}
	}
	inst := apptest.Start(t, apptest.Options{Development: true})
	s := &server{t: t, url: inst.URL}
	s.waitFor("/api/catalog/entities/by-name/group/default/team-payments", `"hasMember"`)
	cmd := exec.Command("node", "compat.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PORTICO_URL="+inst.URL)
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("compatibility checks failed: %v", err)
	}
}
