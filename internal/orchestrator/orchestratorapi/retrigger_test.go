package orchestratorapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/orchestrator"
)

// tokenServer answers GET /whoami with 200 only for the bearer token it
// currently accepts, and records the Authorization headers it was sent.
type tokenServer struct {
	mu     sync.Mutex
	accept string
	seen   []string
}

func (s *tokenServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	got := r.Header.Get("Authorization")
	s.seen = append(s.seen, got)
	if got != "Bearer "+s.accept {
		http.Error(w, `{"message": "token expired"}`, http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"user": "ann"}`))
}

func (s *tokenServer) calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.seen)
}

func TestV2RetriggerForwardsNewAuthTokens(t *testing.T) {
	both(t, func(t *testing.T, postgres bool) {
		ts := &tokenServer{accept: "tok-new-9q2"}
		srv := httptest.NewServer(ts)
		defer srv.Close()
		e := start(t, postgres)
		a := e.alice

		// A workflow that calls the server with the GitHub token the run
		// was given, deployed by adding its file.
		wf := `
id: whoami
version: "1.0"
specVersion: "0.8"
name: Who am I
start: Ask
functions:
  - name: whoami
    type: custom
    operation: rest:get:` + srv.URL + `/whoami
states:
  - name: Ask
    type: operation
    actions:
      - functionRef:
          refName: whoami
          arguments:
            HEADER_Authorization: '${ "Bearer " + $WORKFLOW.headers["x-authorization-github"] }'
    end: true
`
		p := filepath.Join(e.dir, "whoami", "whoami.sw.yaml")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(wf), 0o644); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			if status, _ := a.do("GET", "/v2/workflows/whoami/overview", ""); status == 200 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the whoami workflow was not deployed within 10s")
			}
			time.Sleep(50 * time.Millisecond)
		}

		id := execute(a, "whoami", `{"inputData": {}, "authTokens": [{"provider": "github", "token": "tok-old-5y7"}]}`)
		var in instanceDTO
		a.json("GET", "/v2/workflows/instances/"+id, "", 200, &in)
		if in.State != "ERROR" {
			t.Fatalf("a run with an expired token = %s, want ERROR", in.State)
		}

		// Retriggering with a fresh token runs the call again with it.
		var res map[string]any
		a.json("POST", "/v2/workflows/whoami/"+id+"/retrigger", `{"authTokens": [{"provider": "github", "token": "tok-new-9q2"}]}`, 200, &res)
		if res["state"] != "COMPLETED" {
			t.Errorf("retrigger with a fresh token = %v, want COMPLETED", res)
		}
		if got, want := ts.calls(), []string{"Bearer tok-old-5y7", "Bearer tok-new-9q2"}; !slices.Equal(got, want) {
			t.Errorf("the server was sent %q, want %q", got, want)
		}
		a.json("GET", "/v2/workflows/instances/"+id, "", 200, &in)
		if in.State != "COMPLETED" || in.WorkflowData["user"] != "ann" {
			t.Errorf("retriggered instance = %s, workflowdata %v", in.State, in.WorkflowData)
		}

		// The new token is kept sealed in the journal, as the first one was.
		rows, err := e.inst.App.Env().DB.QueryContext(context.Background(), `SELECT entry FROM orchestrator_journal WHERE instance_id = $1`, id)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var row []byte
			if err := rows.Scan(&row); err != nil {
				t.Fatal(err)
			}
			text, err := orchestrator.JournalRowJSON(row)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(text), "tok-new-9q2") || strings.Contains(string(text), "tok-old-5y7") {
				t.Errorf("a token is stored in the clear: %s", text)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}

		// A bad token list is refused before anything runs.
		a.json("POST", "/v2/workflows/whoami/"+id+"/retrigger", `{"authTokens": [{"token": "x"}]}`, 400, nil)
	})
}
