package workflow

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzParse checks that no input makes Parse or Validate panic or hang.
func FuzzParse(f *testing.F) {
	for _, c := range corpusFiles(f) {
		src, err := os.ReadFile(filepath.Join(c[0], c[1]))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	full, err := os.ReadFile("testdata/full/full.sw.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(full)
	f.Add([]byte("a: &a [*a, *a]\nb: *a\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		// A hang is a bug too (aliases once made one); turn it into a crash
		// the fuzzer reports with the input.
		timer := time.AfterFunc(5*time.Second, func() { panic(fmt.Sprintf("slow input: %q", src)) })
		defer timer.Stop()
		ctx := context.Background()
		files := MapLoader{"specs/f.json": []byte(`{"functions": [{"name": "f", "operation": ".a", "type": "expression"}]}`)}
		w, err := Parse(ctx, "f.sw.yaml", src, files)
		if err != nil {
			return
		}
		Validate(ctx, w)
	})
}

// loadAll reads every file under dir into a MapLoader, so benchmarks
// measure parsing rather than the disk.
func loadAll(tb testing.TB, dir string) MapLoader {
	tb.Helper()
	m := MapLoader{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		m[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

func BenchmarkParse(b *testing.B) {
	files := loadAll(b, "testdata/corpus/plugin-workflows/greeting")
	src := files["greeting.sw.yaml"]
	ctx := context.Background()
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(ctx, "greeting.sw.yaml", src, files); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	files := loadAll(b, "testdata/corpus/plugin-workflows/greeting")
	ctx := context.Background()
	w, err := ParseFile(ctx, files, "greeting.sw.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if f := Validate(ctx, w); HasErrors(f) {
			b.Fatal(f)
		}
	}
}
