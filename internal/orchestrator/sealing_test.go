package orchestrator_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/orchestrator"
)

const headersWorkflow = `
id: headers
specVersion: "0.8"
start: Wait
events:
  - name: go
    source: tester
    type: test.go
functions:
  - name: token
    type: expression
    operation: '$WORKFLOW.headers["x-authorization-github"]'
states:
  - name: Wait
    type: event
    onEvents:
      - eventRefs: [go]
    transition: Use
  - name: Use
    type: operation
    actions:
      - functionRef: token
        actionDataFilter:
          toStateData: .token
    end: true
`

// The headers an instance starts with (forwarded tokens) are sealed in the
// journal, and still there for $WORKFLOW.headers when the instance resumes
// from the journal after waiting.
func TestStartHeadersAreSealed(t *testing.T) {
	each(t, func(t *testing.T, pg bool) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "headers/headers.sw.yaml"), headersWorkflow)
		s := startOn(t, dir, pg, "")
		r := s.do(t, "POST", "/headers", map[string]any{}, "X-Authorization-Github", "secret-token-42")
		if r.status != 201 {
			t.Fatalf("start: %d %s", r.status, r.raw)
		}
		id := r.body["id"].(string)
		var journal string
		rows, err := s.db.QueryContext(t.Context(), `SELECT entry FROM orchestrator_journal WHERE instance_id = $1`, id)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var row []byte
			if err := rows.Scan(&row); err != nil {
				t.Fatal(err)
			}
			// The row as stored (compressed on SQLite) and as read.
			text, err := orchestrator.JournalRowJSON(row)
			if err != nil {
				t.Fatal(err)
			}
			journal += string(row) + string(text)
		}
		rows.Close()
		if strings.Contains(journal, "secret-token-42") || !strings.Contains(journal, "sealedHeaders") {
			t.Fatalf("journal holds the token in the clear: %s", journal)
		}
		binaryEvent(s, t, "seal-1", "test.go", map[string]any{}, "ce-kogitoprocrefid", id)
		s.waitState(t, id, "COMPLETED", 5*time.Second)
		in, err := s.App.Env().Orchestrator.Instance(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if got := in.WorkflowData().(map[string]any)["token"]; got != "secret-token-42" {
			t.Errorf("token seen by the resumed instance: %v", got)
		}
	})
}
