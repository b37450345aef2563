package app_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/portico-dev/portico/internal/app"
)

// startErr builds an app from config and returns the error it fails with.
func startErr(t *testing.T, config string) error {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "app-config.yaml")
	full := "backend:\n  dataDirectory: " + filepath.Join(dir, "data") + "\n"
	if err := os.WriteFile(filepath.Join(dir, "base.yaml"), []byte(full), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := app.LoadConfig([]string{filepath.Join(dir, "base.yaml"), p})
	if err != nil {
		return err
	}
	a, err := app.New(context.Background(), app.Options{Config: cfg})
	if err == nil {
		a.Close()
	}
	return err
}
