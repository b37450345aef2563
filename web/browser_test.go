package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/app/apptest"
	"github.com/portico-dev/portico/web"
)

// e2eToken is the static external-access token the scenarios send
// notifications with, as a service would (see the README).
const e2eToken = "e2e-static-token-0123456789"

// TestBrowser runs every scenario in e2e/*.e2e.mjs in headless Chromium
// (Debian's /usr/bin/chromium, driven by playwright-core) against its own
// Portico started with the development setup, the example content and the
// built UI. It runs when PORTICO_TEST_BROWSER=1 (CI sets it). Each scenario
// saves screenshots under $PORTICO_TEST_ARTIFACTS/<scenario>/, or under the
// test's temporary directory, whose path the test logs.
//
// A scenario is a module whose default export is an async function given
// {page, baseURL, shot, sendNotification, signIn}; see e2e/lib.mjs.
func TestBrowser(t *testing.T) {
	if os.Getenv("PORTICO_TEST_BROWSER") != "1" {
		t.Skip("set PORTICO_TEST_BROWSER=1 to run the browser tests (needs Node.js, npm ci in web/, a built UI and /usr/bin/chromium)")
	}
	h, err := web.NewHandler(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !h.Built() {
		t.Fatal("the web UI is not built into this test binary: run `go generate ./web` first")
	}
	if _, err := os.Stat("node_modules/playwright-core"); err != nil {
		t.Fatal("web/node_modules/playwright-core is missing: run `npm ci` in web/ first")
	}
	scenarios, err := filepath.Glob("e2e/*.e2e.mjs")
	if err != nil || len(scenarios) == 0 {
		t.Fatalf("no scenarios in e2e/*.e2e.mjs (%v)", err)
	}
	artifacts := os.Getenv("PORTICO_TEST_ARTIFACTS")
	if artifacts == "" {
		artifacts = t.TempDir()
	}
	artifacts, err = filepath.Abs(artifacts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots go to %s", artifacts)

	// Service callers authenticate with a static token, as in production;
	// the rest is the development setup.
	access, _ := json.Marshal([]any{map[string]any{
		"type": "static", "options": map[string]any{"token": e2eToken, "subject": "e2e-tests"},
	}})
	t.Setenv("APP_CONFIG_backend_auth_externalAccess", string(access))

	only := os.Getenv("PORTICO_TEST_BROWSER_RUN")
	for _, file := range scenarios {
		name := strings.TrimSuffix(filepath.Base(file), ".e2e.mjs")
		if only != "" && !strings.Contains(name, only) {
			continue
		}
		t.Run(name, func(t *testing.T) {
			inst := apptest.Start(t, apptest.Options{Development: true})
			dir := filepath.Join(artifacts, name)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "node", "e2e/run.mjs", file)
			cmd.Env = append(os.Environ(),
				"PORTICO_URL="+inst.URL,
				"PORTICO_E2E_ARTIFACTS="+dir,
				"PORTICO_E2E_TOKEN="+e2eToken,
			)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			start := time.Now()
			err := cmd.Run()
			t.Logf("%s took %v; output:\n%s", name, time.Since(start).Round(time.Millisecond), out.String())
			if err != nil {
				t.Fatalf("scenario %s failed: %v (screenshots in %s)", name, err, dir)
			}
		})
	}
}
