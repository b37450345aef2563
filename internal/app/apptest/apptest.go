// Package apptest starts whole Portico servers for tests: real listener,
// real database (SQLite, or a fresh PostgreSQL schema), real configuration
// files.
package apptest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/app"
	"github.com/portico-dev/portico/internal/store/storetest"
)

// Instance is a running server.
type Instance struct {
	URL string
	App *app.App
	// Dir is the instance's temporary directory (data directory, config).
	Dir string

	stop func() error
}

// Stop shuts the server down gracefully and returns what Run returned. The
// test's cleanup does this too; call it to test shutdown itself.
func (i *Instance) Stop() error { return i.stop() }

// Options tune Start.
type Options struct {
	// Config is app-config YAML. The listen port and the data directory are
	// set by Start; the database is SQLite unless Postgres is set.
	Config string
	// Development runs the development setup (guest access) when Config is
	// empty.
	Development bool
	// Postgres runs on a fresh PostgreSQL schema (skipping the test when
	// none is configured).
	Postgres bool
	// PostgresDSN reuses an existing schema (several replicas on one
	// database).
	PostgresDSN string
}

// Start starts a server and stops it when the test ends.
func Start(t testing.TB, opts Options) *Instance {
	t.Helper()
	dir := t.TempDir()
	base := "backend:\n  listen: {host: 127.0.0.1, port: 0}\n  dataDirectory: " + filepath.Join(dir, "data") + "\n"
	dsn := opts.PostgresDSN
	if opts.Postgres && dsn == "" {
		dsn = storetest.PostgresSchemaDSN(t)
	}
	if dsn != "" {
		base += "  database:\n    client: pg\n    connection: " + quote(dsn) + "\n"
	}
	files := []string{write(t, dir, "base.yaml", base)}
	if opts.Config != "" {
		files = append(files, write(t, dir, "app-config.yaml", opts.Config))
	}
	var cfgFiles []string
	if !opts.Development || opts.Config != "" {
		cfgFiles = files
	}
	cfg, err := app.LoadConfig(cfgFiles)
	if err != nil {
		t.Fatalf("load config: %v", err)
	}
	if opts.Development && opts.Config == "" {
		// The development setup plus this test's listener and directory.
		cfg.Set("backend.listen.host", "127.0.0.1")
		cfg.Set("backend.listen.port", 0)
		cfg.Set("backend.dataDirectory", filepath.Join(dir, "data"))
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("PORTICO_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, app.Options{Config: cfg, Development: opts.Development && opts.Config == "", Logger: log})
	if err != nil {
		cancel()
		t.Fatalf("start portico: %v", err)
	}
	addr, err := a.Listen()
	if err != nil {
		cancel()
		t.Fatalf("listen: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var once sync.Once
	var stopErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(30 * time.Second):
				stopErr = errors.New("portico did not stop within 30s")
			}
		})
		return stopErr
	}
	inst := &Instance{URL: "http://" + addr.String(), App: a, Dir: dir, stop: stop}
	t.Cleanup(func() {
		if err := stop(); err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("portico stopped with: %v", err)
		}
	})
	inst.waitReady(t)
	return inst
}

func (i *Instance) waitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(i.URL + "/.backstage/health/v1/readiness")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("portico did not become ready within 10s")
}

func write(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
