package workflow

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/golden")

// corpusFiles returns every workflow file of the corpus, as (root dir,
// file name relative to it).
func corpusFiles(t testing.TB) [][2]string {
	t.Helper()
	var out [][2]string
	for _, top := range []string{"testdata/corpus/workflows", "testdata/corpus/plugin-workflows"} {
		dirs, err := os.ReadDir(top)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range dirs {
			root := filepath.Join(top, d.Name())
			files, err := filepath.Glob(filepath.Join(root, "*.sw.*"))
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				out = append(out, [2]string{root, filepath.Base(f)})
			}
		}
	}
	if len(out) < 90 {
		t.Fatalf("found only %d corpus workflows; is testdata/corpus complete?", len(out))
	}
	return out
}

// parseAndValidate returns the findings for a file, including a parse
// failure's, the way the CLI reports them.
func parseAndValidate(root, name string) []Finding {
	ctx := context.Background()
	w, err := ParseFile(ctx, DirLoader{Dir: root}, name)
	if err != nil {
		if pe, ok := err.(*ParseError); ok {
			return pe.Findings
		}
		return []Finding{{File: name, Message: err.Error()}}
	}
	return Validate(ctx, w)
}

// rejectReasons says, for each reject-* folder, a piece of the error that
// must be among its findings.
var rejectReasons = map[string]string{
	"reject-compensated-by-unknown":       `compensatedBy: unknown state "Ghost"`,
	"reject-duplicate-function-names":     `duplicate function name "f"`,
	"reject-invalid-jq-condition":         `condition: jq expression "${ .age >= }": compile error`,
	"reject-invalid-jq-filter":            `stateDataFilter.output: jq expression "${ {a: .a | } }": compile error`,
	"reject-invalid-yaml":                 `not valid YAML or JSON`,
	"reject-missing-start":                `the workflow has no start`,
	"reject-no-states":                    `the workflow has no states`,
	"reject-sonataflow-wrong":             `unknown function "getIPO"`,
	"reject-start-unknown-state":          `start: unknown state "Missing"`,
	"reject-switch-default-unknown-state": `defaultCondition.transition: unknown state "Nowhere"`,
	"reject-switch-without-conditions":    `has no dataConditions or eventConditions`,
	"reject-transition-unknown-state":     `transition: unknown state "Nowhere"`,
	"reject-unknown-error-ref":            `errorRef: unknown error "notDefined"`,
	"reject-unknown-event-ref":            `eventRefs[0]: unknown event "ghost"`,
	"reject-unknown-function-ref":         `functionRef: unknown function "doesNotExist"`,
	"reject-unknown-state-type":           `unknown type "wait"`,
}

func TestCorpus(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range corpusFiles(t) {
		root, name := f[0], f[1]
		folder := filepath.Base(root)
		t.Run(folder+"/"+name, func(t *testing.T) {
			findings := parseAndValidate(root, name)
			var text []string
			for _, x := range findings {
				text = append(text, x.String())
			}
			all := strings.Join(text, "\n")
			if !strings.HasPrefix(folder, "reject-") {
				if HasErrors(findings) {
					t.Errorf("valid workflow refused:\n%s", all)
				}
				return
			}
			seen[folder] = true
			if !HasErrors(findings) {
				t.Fatalf("workflow must be refused, got only:\n%s", all)
			}
			want, ok := rejectReasons[folder]
			if !ok {
				t.Fatalf("no expected reason for %s; add it to rejectReasons", folder)
			}
			if !strings.Contains(all, want) {
				t.Errorf("findings do not mention %q:\n%s", want, all)
			}
			checkGolden(t, filepath.Join("testdata", "golden", folder+".txt"), all+"\n")
		})
	}
	for folder := range rejectReasons {
		if !seen[folder] {
			t.Errorf("corpus folder %s not found", folder)
		}
	}
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("output differs from %s (run go test -update if the change is intended)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestSpecExamples(t *testing.T) {
	files, err := filepath.Glob("testdata/spec-examples/*.sw.json")
	if err != nil || len(files) < 28 {
		t.Fatalf("found %d spec examples (%v)", len(files), err)
	}
	var all strings.Builder
	ctx := context.Background()
	for _, f := range files {
		w, err := ParseFile(ctx, DirLoader{Dir: "testdata/spec-examples"}, filepath.Base(f))
		if err != nil {
			t.Errorf("%s does not parse: %v", f, err)
			continue
		}
		for _, x := range Validate(ctx, w) {
			all.WriteString(x.String())
			all.WriteByte('\n')
		}
	}
	checkGolden(t, "testdata/golden/spec-examples.txt", all.String())
}
