package nunjucks_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/scaffolder/nunjucks"
)

// FuzzRender feeds arbitrary templates to the engine: it must never panic
// (a recovered panic surfaces as an "internal error") and must stay within
// its limits. The seed corpus is every template of testdata/cases.json plus
// testdata/fuzz/FuzzRender.
//
//	go test ./internal/scaffolder/nunjucks -run '^$' -fuzz FuzzRender -fuzztime 30s
func FuzzRender(f *testing.F) {
	raw, err := os.ReadFile(filepath.Join("testdata", "cases.json"))
	if err != nil {
		f.Fatal(err)
	}
	var c struct {
		Data  map[string]any `json:"data"`
		Cases []struct {
			Template string `json:"template"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		f.Fatal(err)
	}
	for _, tc := range c.Cases {
		f.Add(tc.Template)
	}
	envs := []*nunjucks.Environment{
		nunjucks.New(nunjucks.Options{MaxSteps: 20000, MaxOutputBytes: 1 << 16}),
		nunjucks.New(nunjucks.Options{VariableStart: "{{", TrimBlocks: true, LstripBlocks: true, MaxSteps: 20000, MaxOutputBytes: 1 << 16}),
	}
	f.Fuzz(func(t *testing.T, src string) {
		for _, env := range envs {
			out, err := env.RenderString(context.Background(), src, c.Data)
			if err != nil {
				if strings.Contains(err.Error(), "internal error") {
					t.Fatalf("template %q: %v", src, err)
				}
				continue
			}
			if len(out) > 1<<16 {
				t.Fatalf("template %q: output of %d bytes passed the cap", src, len(out))
			}
			if _, err := env.RenderValue(context.Background(), src, c.Data); err != nil && strings.Contains(err.Error(), "internal error") {
				t.Fatalf("template %q: RenderValue: %v", src, err)
			}
		}
	})
}
