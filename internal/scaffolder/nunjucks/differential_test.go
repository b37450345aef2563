package nunjucks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/scaffolder/nunjucks"
)

// corpus is testdata/cases.json: templates, their options and the data
// they render with. The same file drives testdata/render.js, which renders
// it with the real nunjucks 3.2.4 package.
type corpus struct {
	Data  map[string]any `json:"data"`
	Cases []struct {
		Name     string          `json:"name"`
		Template string          `json:"template"`
		Data     json.RawMessage `json:"data,omitempty"`
		Options  struct {
			TrimBlocks   bool `json:"trimBlocks"`
			LstripBlocks bool `json:"lstripBlocks"`
			Cookiecutter bool `json:"cookiecutter"`
		} `json:"options"`
	} `json:"cases"`
}

// result is what one case produced: its output, or that it failed.
type result struct {
	Output *string `json:"output,omitempty"`
	Error  bool    `json:"error,omitempty"`
}

func loadCorpus(t *testing.T) corpus {
	t.Helper()
	return loadCorpusFile(t, filepath.Join("testdata", "cases.json"))
}

func loadCorpusFile(t *testing.T, path string) corpus {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c corpus
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return c
}

func loadResults(t *testing.T, raw []byte, what string) map[string]result {
	t.Helper()
	var res map[string]result
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return res
}

// renderCorpus renders every case with Portico's engine.
func renderCorpus(t *testing.T, c corpus) map[string]result {
	t.Helper()
	out := map[string]result{}
	for _, tc := range c.Cases {
		opts := nunjucks.Options{TrimBlocks: tc.Options.TrimBlocks, LstripBlocks: tc.Options.LstripBlocks}
		if tc.Options.Cookiecutter {
			opts.VariableStart, opts.VariableEnd = "{{", "}}"
			opts.JinjaCompat = true
		}
		data := c.Data
		if len(tc.Data) > 0 {
			// A fresh map: unmarshalling into c.Data would merge into it.
			data = nil
			if err := json.Unmarshal(tc.Data, &data); err != nil {
				t.Fatalf("case %s: data: %v", tc.Name, err)
			}
		}
		s, err := nunjucks.New(opts).RenderString(context.Background(), tc.Template, data)
		if err != nil {
			out[tc.Name] = result{Error: true}
			continue
		}
		out[tc.Name] = result{Output: &s}
	}
	return out
}

// compareResults reports every case where got differs from want.
func compareResults(t *testing.T, c corpus, got, want map[string]result, wantName string) {
	t.Helper()
	for _, tc := range c.Cases {
		g, w := got[tc.Name], want[tc.Name]
		switch {
		case w.Output == nil && !w.Error:
			t.Errorf("case %s: missing from %s", tc.Name, wantName)
		case w.Error != g.Error:
			t.Errorf("case %s: template %q\n%s error=%v, Portico error=%v (output %q)", tc.Name, tc.Template, wantName, w.Error, g.Error, deref(g.Output))
		case w.Output != nil && (g.Output == nil || *g.Output != *w.Output):
			t.Errorf("case %s: template %q\n%s: %q\nPortico:  %q", tc.Name, tc.Template, wantName, *w.Output, deref(g.Output))
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// TestGolden renders the corpus and compares with the outputs nunjucks
// 3.2.4 produced (testdata/golden.json), so compatibility is checked
// without Node.
func TestGolden(t *testing.T) {
	c := loadCorpus(t)
	raw, err := os.ReadFile(filepath.Join("testdata", "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := loadResults(t, raw, "testdata/golden.json")
	got := renderCorpus(t, c)
	compareResults(t, c, got, want, "nunjucks (golden)")
	if len(c.Cases) < 150 {
		t.Errorf("corpus has %d cases, want at least 150", len(c.Cases))
	}
}

// TestDifferentialNode renders the corpus with the real nunjucks npm
// package (PORTICO_TEST_NPM=1; needs node and npm) and checks both that the
// golden file is current and that Portico matches byte for byte. With
// PORTICO_UPDATE_GOLDEN=1 it rewrites testdata/golden.json instead.
func TestDifferentialNode(t *testing.T) {
	if os.Getenv("PORTICO_TEST_NPM") != "1" {
		t.Skip("set PORTICO_TEST_NPM=1 to render the corpus with the nunjucks npm package")
	}
	dir := t.TempDir()
	for _, name := range []string{"package.json", "package-lock.json", "render.js", "cases.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	npm := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts")
	npm.Dir = dir
	if out, err := npm.CombinedOutput(); err != nil {
		t.Fatalf("npm ci: %v\n%s", err, out)
	}
	c := loadCorpus(t)
	nodeOut := runNode(t, dir, "cases.json")
	fromNode := loadResults(t, nodeOut, "node output")
	if os.Getenv("PORTICO_UPDATE_GOLDEN") == "1" {
		if err := os.WriteFile(filepath.Join("testdata", "golden.json"), nodeOut, 0o644); err != nil {
			t.Fatal(err)
		}
	} else {
		golden, err := os.ReadFile(filepath.Join("testdata", "golden.json"))
		if err != nil {
			t.Fatal(err)
		}
		compareResults(t, c, loadResults(t, golden, "testdata/golden.json"), fromNode, "nunjucks (npm)")
	}
	compareResults(t, c, renderCorpus(t, c), fromNode, "nunjucks (npm)")

	// Random expressions and whitespace-control templates reach corners
	// no hand-written corpus does.
	// PORTICO_NUNJUCKS_SEEDS=4,5,6 explores other seeds.
	seeds := []uint64{1, 2, 3}
	if env := os.Getenv("PORTICO_NUNJUCKS_SEEDS"); env != "" {
		seeds = nil
		for _, f := range strings.Split(env, ",") {
			n, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
			if err != nil {
				t.Fatalf("PORTICO_NUNJUCKS_SEEDS: %v", err)
			}
			seeds = append(seeds, n)
		}
	}
	for _, seed := range seeds {
		rc := randomCorpus(seed, 1500)
		raw, err := json.Marshal(rc)
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("random-%d.json", seed)
		if err := os.WriteFile(filepath.Join(dir, name), raw, 0o644); err != nil {
			t.Fatal(err)
		}
		compareResults(t, rc, renderCorpus(t, rc), loadResults(t, runNode(t, dir, name), "node output"), "nunjucks (npm)")
	}
}

// runNode renders a corpus file in dir with render.js.
func runNode(t *testing.T, dir, corpusFile string) []byte {
	t.Helper()
	node := exec.Command("node", "render.js", filepath.Join(dir, corpusFile))
	node.Dir = dir
	var stderr bytes.Buffer
	node.Stderr = &stderr
	out, err := node.Output()
	if err != nil {
		t.Fatalf("node render.js %s: %v\n%s", corpusFile, err, stderr.String())
	}
	return out
}

// TestRenderCorpusFile renders another corpus (PORTICO_NUNJUCKS_CORPUS, in
// the format of testdata/cases.json) and writes Portico's results as JSON
// to PORTICO_NUNJUCKS_OUT, for comparing generated corpora with
// `node testdata/render.js <corpus>` while exploring.
func TestRenderCorpusFile(t *testing.T) {
	in, out := os.Getenv("PORTICO_NUNJUCKS_CORPUS"), os.Getenv("PORTICO_NUNJUCKS_OUT")
	if in == "" || out == "" {
		t.Skip("set PORTICO_NUNJUCKS_CORPUS and PORTICO_NUNJUCKS_OUT to render another corpus")
	}
	c := loadCorpusFile(t, in)
	b, err := json.MarshalIndent(renderCorpus(t, c), "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
