package workspaces_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/scaffolder"
	"github.com/portico-dev/portico/internal/scaffolder/workspaces"
	"github.com/portico-dev/portico/internal/store"
	"github.com/portico-dev/portico/internal/store/storetest"
)

// Both providers are what the scaffolder's runner takes.
var (
	_ scaffolder.WorkspaceProvider = (*workspaces.Database)(nil)
	_ scaffolder.WorkspaceProvider = (*workspaces.Bucket)(nil)
)

// sample fills a workspace with what templates produce: nested files, an
// executable script, an empty directory, a binary file and a link.
func sample(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, "src/pkg"), 0o755))
	must(t, os.MkdirAll(filepath.Join(dir, "empty"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "README.md"), []byte("# hello\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "src/pkg/main.go"), []byte("package main\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "run.sh"), []byte("#!/bin/sh\necho hi\n"), 0o755))
	bin := make([]byte, 4096)
	_, _ = rand.Read(bin)
	must(t, os.WriteFile(filepath.Join(dir, "src/blob.bin"), bin, 0o644))
	must(t, os.Symlink("README.md", filepath.Join(dir, "link.md")))
	return dir
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// snapshot describes a directory: each entry's path, kind, mode and content.
func snapshot(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.Type()&os.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			out = append(out, rel+" -> "+target)
		case d.IsDir():
			out = append(out, rel+"/")
		default:
			data, _ := os.ReadFile(p)
			out = append(out, rel+" "+info.Mode().Perm().String()+" "+string(data))
		}
		return nil
	})
	must(t, err)
	return out
}

// roundTrip checks a provider: serialize, rehydrate elsewhere, compare,
// replace, clean.
func roundTrip(t *testing.T, p scaffolder.WorkspaceProvider) {
	ctx := t.Context()
	src := sample(t)
	if ok, err := p.Rehydrate(ctx, "task-1", t.TempDir()); err != nil || ok {
		t.Fatalf("rehydrate before serialize = %v, %v; want false, nil", ok, err)
	}
	must(t, p.Serialize(ctx, "task-1", src))
	dst := t.TempDir()
	ok, err := p.Rehydrate(ctx, "task-1", dst)
	if err != nil || !ok {
		t.Fatalf("rehydrate = %v, %v", ok, err)
	}
	if got, want := snapshot(t, dst), snapshot(t, src); !slices.Equal(got, want) {
		t.Fatalf("rehydrated workspace differs:\n got %q\nwant %q", got, want)
	}

	// A later step's workspace replaces the earlier one.
	must(t, os.Remove(filepath.Join(src, "README.md")))
	must(t, os.WriteFile(filepath.Join(src, "NEW.md"), []byte("new"), 0o644))
	must(t, p.Serialize(ctx, "task-1", src))
	dst2 := t.TempDir()
	if _, err := p.Rehydrate(ctx, "task-1", dst2); err != nil {
		t.Fatal(err)
	}
	if got, want := snapshot(t, dst2), snapshot(t, src); !slices.Equal(got, want) {
		t.Fatalf("replaced workspace differs:\n got %q\nwant %q", got, want)
	}

	// Other tasks are separate.
	if ok, _ := p.Rehydrate(ctx, "task-2", t.TempDir()); ok {
		t.Fatal("task-2 has a workspace it never stored")
	}
	must(t, p.Clean(ctx, "task-1"))
	must(t, p.Clean(ctx, "task-1")) // twice is fine
	if ok, err := p.Rehydrate(ctx, "task-1", t.TempDir()); err != nil || ok {
		t.Fatalf("rehydrate after clean = %v, %v; want false, nil", ok, err)
	}
}

func TestDatabaseProvider(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		roundTrip(t, &workspaces.Database{DB: db})
	}, workspaces.Migrations)
}

func TestDatabaseProviderRefusesOversizedWorkspace(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		p := &workspaces.Database{DB: db, MaxSize: 64 << 10}
		small := sample(t)
		must(t, p.Serialize(t.Context(), "t", small))
		big := t.TempDir()
		must(t, os.WriteFile(filepath.Join(big, "big.bin"), make([]byte, 100<<10), 0o644))
		err := p.Serialize(t.Context(), "t", big)
		if !errors.Is(err, workspaces.ErrTooLarge) || !strings.Contains(err.Error(), "bucket storage") {
			t.Fatalf("got %v, want ErrTooLarge with a hint", err)
		}
		// The earlier copy is still there.
		dst := t.TempDir()
		if ok, err := p.Rehydrate(t.Context(), "t", dst); !ok || err != nil {
			t.Fatalf("rehydrate = %v, %v", ok, err)
		}
		if got, want := snapshot(t, dst), snapshot(t, small); !slices.Equal(got, want) {
			t.Fatalf("earlier workspace lost:\n got %q\nwant %q", got, want)
		}
	}, workspaces.Migrations)
}

func TestBucketProviderFile(t *testing.T) {
	dir := t.TempDir()
	b, err := workspaces.OpenBucket(t.Context(), "file://"+filepath.ToSlash(dir)+"/workspaces")
	must(t, err)
	t.Cleanup(func() { b.Close() })
	roundTrip(t, b)

	// The object is a plain tar named after the task.
	must(t, b.Serialize(t.Context(), "task-9", sample(t)))
	if _, err := os.Stat(filepath.Join(dir, "workspaces", "task-9")); err != nil {
		t.Fatalf("object task-9: %v", err)
	}
}

func TestBucketProviderPrefix(t *testing.T) {
	dir := t.TempDir()
	b, err := workspaces.OpenBucket(t.Context(), "file://"+filepath.ToSlash(dir)+"?prefix="+url.QueryEscape("scaffolder/"))
	must(t, err)
	t.Cleanup(func() { b.Close() })
	must(t, b.Serialize(t.Context(), "task-1", sample(t)))
	if _, err := os.Stat(filepath.Join(dir, "scaffolder", "task-1")); err != nil {
		t.Fatalf("object scaffolder/task-1: %v", err)
	}
}

func TestOpenBucketErrors(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"not a url", "is not a URL"},
		{"ftp://host/x", "unknown scheme ftp"},
	} {
		_, err := workspaces.OpenBucket(context.Background(), tc.url)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("OpenBucket(%q) = %v, want %q", tc.url, err, tc.want)
		}
	}
	_, err := workspaces.OpenGCSBucket(context.Background(), "gs://x")
	if err == nil || !strings.Contains(err.Error(), "bare bucket name") {
		t.Errorf("OpenGCSBucket(gs://x) = %v", err)
	}
}

// An archive whose entries try to leave the workspace is refused and
// writes nothing outside it.
func TestExtractRefusesTraversal(t *testing.T) {
	for _, name := range []string{"../escape.txt", "a/../../escape.txt", "/etc/escape.txt"} {
		t.Run(name, func(t *testing.T) {
			parent := t.TempDir()
			dst := filepath.Join(parent, "ws")
			must(t, os.Mkdir(dst, 0o755))
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			must(t, tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: 4, Typeflag: tar.TypeReg}))
			_, _ = tw.Write([]byte("evil"))
			must(t, tw.Close())
			err := workspaces.ExtractTar(&buf, dst)
			if err == nil || !strings.Contains(err.Error(), "outside the workspace") {
				t.Fatalf("got %v, want a refusal", err)
			}
			if _, err := os.Stat(filepath.Join(parent, "escape.txt")); !os.IsNotExist(err) {
				t.Fatal("a file was written outside the workspace")
			}
		})
	}
	// A link pointing out, then a file written through it.
	parent := t.TempDir()
	dst := filepath.Join(parent, "ws")
	must(t, os.Mkdir(dst, 0o755))
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	must(t, tw.WriteHeader(&tar.Header{Name: "out", Linkname: parent, Typeflag: tar.TypeSymlink}))
	must(t, tw.WriteHeader(&tar.Header{Name: "out/escape.txt", Mode: 0o644, Size: 4, Typeflag: tar.TypeReg}))
	_, _ = tw.Write([]byte("evil"))
	must(t, tw.Close())
	if err := workspaces.ExtractTar(&buf, dst); err == nil {
		t.Fatal("writing through a link that leaves the workspace succeeded")
	}
	if _, err := os.Stat(filepath.Join(parent, "escape.txt")); !os.IsNotExist(err) {
		t.Fatal("a file was written outside the workspace through a link")
	}
}
