package workflow

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The engine must run without a server or a database (it is embedded in
// the CLI's local runner), so the package keeps away from both.
func TestNoHTTPOrDatabaseImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		ast, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range ast.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if p == "net/http" || p == "database/sql" || strings.HasPrefix(p, "net/http/") {
				t.Errorf("%s imports %s", f, p)
			}
		}
	}
}
