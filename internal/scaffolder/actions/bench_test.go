package actions_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/scaffolder/actions"
)

// BenchmarkFetchTemplate500 renders a skeleton of 500 files (25
// directories of 20 files of about 1 KiB, each with expressions, a
// conditional block and a loop) into a fresh workspace.
func BenchmarkFetchTemplate500(b *testing.B) {
	dir := b.TempDir()
	var body strings.Builder
	body.WriteString("# ${{ values.name }}\n\n${{ values.description }}\n{% if values.owner %}Owner: ${{ values.owner | upper }}\n{% endif %}")
	body.WriteString("{% for t in values.tags %}- ${{ t }}\n{% endfor %}")
	body.WriteString(strings.Repeat("Plain text that needs no rendering, as most of a skeleton is.\n", 14))
	for d := range 25 {
		sub := filepath.Join(dir, "skeleton", fmt.Sprintf("pkg%02d", d), "${{ values.name }}")
		if err := os.MkdirAll(sub, 0o755); err != nil {
			b.Fatal(err)
		}
		for f := range 20 {
			if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("file%02d.md", f)), []byte(body.String()), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	input := map[string]any{"url": "./skeleton", "values": map[string]any{
		"name": "bench", "description": "A benchmark.", "owner": "team-a", "tags": []any{"a", "b", "c"},
	}}
	base := "file://" + filepath.ToSlash(dir) + "/"
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		r := newRun(b)
		r.baseURL = base
		b.StartTimer()
		if err := r.call(b.Context(), actions.Deps{}, "fetch:template", input); err != nil {
			b.Fatal(err)
		}
	}
}
