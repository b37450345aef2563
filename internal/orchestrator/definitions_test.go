package orchestrator_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/store/storetest"
)

// An instance that waits while its workflow file changes and the server
// restarts finishes on the version it started with: the version's files
// are stored with the first instance that uses it.
func TestOldVersionSurvivesRestart(t *testing.T) {
	if os.Getenv("PORTICO_TEST_POSTGRES_URL") == "" {
		t.Skip("PORTICO_TEST_POSTGRES_URL is not set (the test restarts a server on the same database)")
	}
	dsn := storetest.PostgresSchemaDSN(t)
	dir := t.TempDir()
	st := newStub(t)
	for name, src := range testWorkflows {
		writeFile(t, filepath.Join(dir, name), strings.ReplaceAll(src, "STUB", st.URL))
	}
	first := startOn(t, dir, true, dsn)
	id := first.do(t, "POST", "/waiter", map[string]any{}).body["id"].(string)
	first.waitCurrent(t, id, "Wait")
	first.Stop()

	changed := strings.Replace(testWorkflows["waiter/waiter.sw.yaml"], "data: {done: true}", "data: {done: true, version: 2}", 1)
	writeFile(t, filepath.Join(dir, "waiter/waiter.sw.yaml"), changed)
	second := startOn(t, dir, true, dsn)
	fresh := second.do(t, "POST", "/waiter", map[string]any{}).body["id"].(string)
	second.waitCurrent(t, fresh, "Wait")
	for i, target := range []string{id, fresh} {
		if r := binaryEvent(second, t, "restart-"+target, "test.go", map[string]any{"n": i}, "ce-kogitoprocrefid", target); r.status != 202 {
			t.Fatalf("event: %d %s", r.status, r.raw)
		}
	}
	second.waitState(t, id, "COMPLETED", 5*time.Second)
	second.waitState(t, fresh, "COMPLETED", 5*time.Second)
	old, err := second.App.Env().Orchestrator.Instance(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	now, err := second.App.Env().Orchestrator.Instance(t.Context(), fresh)
	if err != nil {
		t.Fatal(err)
	}
	if _, has := old.WorkflowData().(map[string]any)["version"]; has {
		t.Errorf("the old instance ran the new version: %v", old.WorkflowData())
	}
	if now.WorkflowData().(map[string]any)["version"] != 2.0 {
		t.Errorf("the new instance did not run the new version: %v", now.WorkflowData())
	}
}
