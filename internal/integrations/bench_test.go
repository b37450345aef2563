package integrations_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/integrations"
	"github.com/portico-dev/portico/internal/integrations/integrationstest"
)

// benchRepo writes a repository with a skeleton of n files of 2 KiB in
// 10 directories, and as many files again outside it (which the tarball
// carries and the reader skips).
func benchRepo(b *testing.B, n int) string {
	b.Helper()
	dir := b.TempDir()
	body := strings.Repeat("line of a skeleton file ${{ values.name }}\n", 48)
	for i := range n {
		for _, top := range []string{"skeleton", "other"} {
			p := filepath.Join(dir, "acme", "svc", "main", top, fmt.Sprintf("d%d", i%10), fmt.Sprintf("f%d.txt", i))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	return dir
}

// BenchmarkReadTree reads a 200-file skeleton from a GitHub Enterprise
// tarball (through the redirect) and unpacks it.
func BenchmarkReadTree(b *testing.B) {
	gh := integrationstest.NewGitHub(b, benchRepo(b, 200), ghToken)
	set, err := integrations.New(integrations.Config{GitHub: []integrations.GitHubConfig{gh.Config(ghToken)}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		root, err := os.OpenRoot(dir)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := set.ReadTree(b.Context(), gh.URL+"/acme/svc/tree/main/skeleton", root, integrations.TreeOptions{}); err != nil {
			b.Fatal(err)
		}
		root.Close()
	}
}

// BenchmarkReadFile reads one 2 KiB file through the contents API, and
// again with its ETag (a 304).
func BenchmarkReadFile(b *testing.B) {
	gh := integrationstest.NewGitHub(b, benchRepo(b, 1), ghToken)
	set, err := integrations.New(integrations.Config{GitHub: []integrations.GitHubConfig{gh.Config(ghToken)}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	u := gh.URL + "/acme/svc/blob/main/skeleton/d0/f0.txt"
	b.Run("full", func(b *testing.B) {
		for b.Loop() {
			if _, err := set.ReadFile(b.Context(), u, integrations.ReadOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	f, err := set.ReadFile(b.Context(), u, integrations.ReadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("not-modified", func(b *testing.B) {
		for b.Loop() {
			r, err := set.ReadFile(b.Context(), u, integrations.ReadOptions{ETag: f.ETag})
			if err != nil || !r.NotModified {
				b.Fatal(r, err)
			}
		}
	})
}
