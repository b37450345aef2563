package orchestrator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/app/apptest"
	"github.com/portico-dev/portico/internal/orchestrator"
	"github.com/portico-dev/portico/internal/store"
)

// server is a running Portico with the orchestrator and a directory of
// test workflows.
type server struct {
	*apptest.Instance
	dir string
	db  *store.DB
}

// stub counts the calls made to it, per path and instance id.
type stub struct {
	*httptest.Server
	mu    sync.Mutex
	calls map[string]int
	total atomic.Int64
}

func newStub(t *testing.T) *stub {
	s := &stub{calls: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.calls[r.URL.Path+"?"+r.URL.Query().Get("id")]++
		s.mu.Unlock()
		s.total.Add(1)
		if strings.HasPrefix(r.URL.Path, "/slow") {
			time.Sleep(1500 * time.Millisecond)
		}
		if strings.HasPrefix(r.URL.Path, "/missing") {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"stock": 7}`))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *stub) count(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[key]
}

// Test workflows; STUB is replaced by the stub server's URL.
var testWorkflows = map[string]string{
	"nap/nap.sw.yaml": `
id: nap
version: "1.0"
specVersion: "0.8"
name: Nap
start: Sleep
states:
  - name: Sleep
    type: sleep
    duration: PT0.3S
    transition: Done
  - name: Done
    type: inject
    data: {woke: true}
    end: true
`,
	"stock/stock.sw.yaml": `
id: stock
version: "1.0"
specVersion: "0.8"
name: Stock
start: Sleep
functions:
  - name: stock
    type: custom
    operation: rest:get:STUB/stock?id={id}
states:
  - name: Sleep
    type: sleep
    duration: PT0.2S
    transition: Call
  - name: Call
    type: operation
    actions:
      - functionRef:
          refName: stock
          arguments:
            id: ${ .id }
    end: true
`,
	"waiter/waiter.sw.yaml": `
id: waiter
version: "1.0"
specVersion: "0.8"
name: Waiter
start: Pause
events:
  - name: go
    source: tester
    type: test.go
states:
  - name: Pause
    type: sleep
    duration: PT0.2S
    transition: Wait
  - name: Wait
    type: event
    onEvents:
      - eventRefs: [go]
        eventDataFilter:
          toStateData: ${ .got }
    transition: Done
  - name: Done
    type: inject
    data: {done: true}
    end: true
`,
	"starter/starter.sw.yaml": `
id: starter
version: "1.0"
specVersion: "0.8"
name: Started by an event
start: Begin
events:
  - name: begin
    source: tester
    type: test.begin
states:
  - name: Begin
    type: event
    onEvents:
      - eventRefs: [begin]
    transition: Done
  - name: Done
    type: inject
    data: {started: true}
    end: true
`,
	"failing/failing.sw.yaml": `
id: failing
version: "1.0"
specVersion: "0.8"
name: Failing
start: Call
functions:
  - name: missing
    type: custom
    operation: rest:get:STUB/missing
states:
  - name: Call
    type: operation
    actions:
      - functionRef: missing
    end: true
`,
	"shared/schemas/person.json": `{"definitions": {"person": {"type": "object", "properties": {"name": {"$ref": "#/definitions/name"}}, "required": ["name"]}, "name": {"type": "string", "minLength": 1}}}`,
	"withref/schemas/input.json": `{"type": "object", "properties": {"who": {"$ref": "../../shared/schemas/person.json#/definitions/person", "title": "Who"}}, "required": ["who"]}`,
	"withref/withref.sw.yaml": `
id: withref
version: "1.0"
specVersion: "0.8"
name: Schema with references
dataInputSchema: schemas/input.json
start: Done
states:
  - name: Done
    type: inject
    data: {ok: true}
    end: true
`,
	"slowcall/slowcall.sw.yaml": `
id: slowcall
version: "1.0"
specVersion: "0.8"
name: Slow call after a sleep
start: Sleep
functions:
  - name: slow
    type: custom
    operation: rest:get:STUB/slow
states:
  - name: Sleep
    type: sleep
    duration: PT0.1S
    transition: Call
  - name: Call
    type: operation
    actions:
      - functionRef: slow
    end: true
`,
	"corr/corr.sw.yaml": `
id: corr
version: "1.0"
specVersion: "0.8"
name: Correlated
start: Begin
events:
  - name: begin
    source: tester
    type: corr.begin
    correlation: [{contextAttributeName: userid}]
  - name: move
    source: tester
    type: corr.move
    correlation: [{contextAttributeName: userid}]
states:
  - name: Begin
    type: event
    onEvents:
      - eventRefs: [begin]
    transition: Move
  - name: Move
    type: event
    onEvents:
      - eventRefs: [move]
        eventDataFilter:
          toStateData: '${ .moved }' 
    end: true
`,
	"broken/broken.sw.yaml": `
id: broken
specVersion: "0.8"
start: Nowhere
states: []
`,
}

func startServer(t *testing.T, pg bool, dsn string, st *stub) *server {
	t.Helper()
	dir := t.TempDir()
	for name, src := range testWorkflows {
		writeFile(t, filepath.Join(dir, name), strings.ReplaceAll(src, "STUB", st.URL))
	}
	return startOn(t, dir, pg, dsn)
}

func startOn(t *testing.T, dir string, pg bool, dsn string) *server {
	t.Helper()
	cfg := fmt.Sprintf(`
backend:
  auth:
    externalAccess:
      - type: static
        options: {token: test-token-0123456789, subject: tests}
orchestrator:
  workflows: [%q, "embedded:workflows"]
  runtimeApi: {allowUnauthenticated: true}
  pollInterval: 20ms
  leaseDuration: 2s
  reloadInterval: 200ms
`, dir)
	inst := apptest.Start(t, apptest.Options{Config: cfg, Postgres: pg, PostgresDSN: dsn})
	return &server{Instance: inst, dir: dir, db: inst.App.Env().DB}
}

func startConfig(t *testing.T, cfg string, pg bool) *server {
	t.Helper()
	inst := apptest.Start(t, apptest.Options{Config: cfg, Postgres: pg})
	return &server{Instance: inst, db: inst.App.Env().DB}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func (s *server) do(t *testing.T, method, path string, body any, header ...string) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, _ := json.Marshal(b)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

// state reads an instance's state straight from the database.
func (s *server) state(t *testing.T, id string) string {
	t.Helper()
	var st string
	if err := s.db.QueryRowContext(context.Background(), `SELECT state FROM orchestrator_instances WHERE id = $1`, id).Scan(&st); err != nil {
		t.Fatalf("state of %s: %v", id, err)
	}
	return st
}

func (s *server) waitState(t *testing.T, id, want string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < within {
		if s.state(t, id) == want {
			return time.Since(start)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("instance %s is %s, not %s, after %v", id, s.state(t, id), want, within)
	return 0
}

func each(t *testing.T, fn func(t *testing.T, pg bool)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, false) })
	t.Run("postgres", func(t *testing.T) {
		if os.Getenv("PORTICO_TEST_POSTGRES_URL") == "" {
			t.Skip("PORTICO_TEST_POSTGRES_URL is not set")
		}
		fn(t, true)
	})
}

func TestStartGreeting(t *testing.T) {
	each(t, func(t *testing.T, pg bool) {
		s := startServer(t, pg, "", newStub(t))
		r := s.do(t, "POST", "/greeting?businessKey=bk1", map[string]any{
			"workflowdata": map[string]any{"language": "Spanish", "name": "Ana"}, "initiatorEntity": "user:default/ana",
		})
		if r.status != http.StatusCreated {
			t.Fatalf("POST /greeting: %d %s", r.status, r.raw)
		}
		id, _ := r.body["id"].(string)
		wd, _ := r.body["workflowdata"].(map[string]any)
		res, _ := wd["result"].(map[string]any)
		if id == "" || res["message"] != "Saludos desde JSON Workflow, Ana" {
			t.Fatalf("body: %s", r.raw)
		}
		if loc := r.header.Get("Location"); !strings.HasSuffix(loc, "/greeting/"+id) {
			t.Errorf("Location: %q", loc)
		}
		if st := s.state(t, id); st != "COMPLETED" {
			t.Errorf("state %s", st)
		}
		var vars, bk string
		_ = s.db.QueryRowContext(context.Background(), `SELECT variables, business_key FROM orchestrator_instances WHERE id = $1`, id).Scan(&vars, &bk)
		if !strings.Contains(vars, `"initiatorEntity":"user:default/ana"`) || bk != "bk1" {
			t.Errorf("variables %s, business key %q", vars, bk)
		}
		// Ended instances are gone from the runtime's view, as in SonataFlow.
		if r := s.do(t, "GET", "/greeting/"+id, nil); r.status != http.StatusNotFound {
			t.Errorf("GET ended instance: %d", r.status)
		}
		// Raw data (no workflowdata key) is the workflow data.
		if r := s.do(t, "POST", "/greeting", map[string]any{"language": "English"}); r.status != http.StatusCreated {
			t.Errorf("raw data: %d %s", r.status, r.raw)
		}
		// Input schema violations are listed.
		r = s.do(t, "POST", "/greeting", map[string]any{"workflowdata": map[string]any{"language": "French"}})
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.raw), "language") {
			t.Errorf("invalid input: %d %s", r.status, r.raw)
		}
		if r := s.do(t, "POST", "/greeting", "{not json"); r.status != http.StatusBadRequest {
			t.Errorf("bad JSON: %d", r.status)
		}
		if r := s.do(t, "POST", "/no-such-workflow", map[string]any{}); r.status != http.StatusNotFound {
			t.Errorf("unknown workflow: %d %s", r.status, r.raw)
		}
	})
}

func TestManagement(t *testing.T) {
	s := startServer(t, false, "", newStub(t))
	r := s.do(t, "GET", "/management/processes/greeting", nil)
	schema, _ := r.body["inputSchema"].(map[string]any)
	if r.status != 200 || r.body["type"] != "SW" || schema["properties"] == nil || r.body["outputSchema"] == nil {
		t.Fatalf("info: %d %s", r.status, r.raw)
	}
	r = s.do(t, "GET", "/management/processes", nil)
	for _, id := range []string{"greeting", "nap", "stock", "approval"} {
		if !strings.Contains(string(r.raw), `"`+id+`"`) {
			t.Errorf("list lacks %s: %s", id, r.raw)
		}
	}
	if strings.Contains(string(r.raw), "broken") {
		t.Errorf("a broken workflow is listed: %s", r.raw)
	}
	// References to other files are inlined; the shared schema's own
	// references are resolved against it.
	r = s.do(t, "GET", "/management/processes/withref", nil)
	if !strings.Contains(string(r.raw), `"minLength":1`) || !strings.Contains(string(r.raw), `"title":"Who"`) || strings.Contains(string(r.raw), "$ref") {
		t.Errorf("inputSchema not resolved: %s", r.raw)
	}
	if r := s.do(t, "POST", "/withref", map[string]any{"who": map[string]any{"name": ""}}); r.status != 400 {
		t.Errorf("input against a shared schema: %d %s", r.status, r.raw)
	}
	if r := s.do(t, "POST", "/withref", map[string]any{"who": map[string]any{"name": "Ana"}}); r.status != 201 {
		t.Errorf("valid input against a shared schema: %d %s", r.status, r.raw)
	}
	if r := s.do(t, "GET", "/management/processes/nope", nil); r.status != 404 {
		t.Errorf("unknown process: %d", r.status)
	}
	if r := s.do(t, "GET", "/management/processes/greeting/source", nil); !strings.Contains(string(r.raw), "id: greeting") {
		t.Errorf("source: %s", r.raw)
	}
	if r := s.do(t, "GET", "/management/processes/greeting/nodes", nil); !strings.Contains(string(r.raw), "ChooseOnLanguage") {
		t.Errorf("nodes: %s", r.raw)
	}
	if r := s.do(t, "GET", "/q/openapi.json", nil); !strings.Contains(string(r.raw), `"/greeting"`) || !strings.Contains(string(r.raw), "greeting_input") {
		t.Errorf("openapi: %s", r.raw)
	}
	for _, p := range []string{"/q/health/live", "/q/health/ready"} {
		if r := s.do(t, "GET", p, nil); r.status != 200 || r.body["status"] != "UP" {
			t.Errorf("%s: %d %s", p, r.status, r.raw)
		}
	}
	// The broken file is reported, and did not stop the others.
	if r := s.do(t, "GET", "/api/orchestrator/runtime/workflows", nil); r.status != 401 {
		t.Errorf("Portico's own routes need credentials: %d", r.status)
	}
	r = s.do(t, "GET", "/api/orchestrator/runtime/workflows", nil, "Authorization", "Bearer test-token-0123456789")
	if r.status != 200 || !strings.Contains(string(r.raw), "broken.sw.yaml") || !strings.Contains(string(r.raw), `/greeting"`) {
		t.Errorf("registry: %d %s", r.status, r.raw)
	}
}

func TestTimersAndAbort(t *testing.T) {
	each(t, func(t *testing.T, pg bool) {
		s := startServer(t, pg, "", newStub(t))
		r := s.do(t, "POST", "/nap", map[string]any{})
		if r.status != 201 {
			t.Fatalf("start: %d %s", r.status, r.raw)
		}
		id := r.body["id"].(string)
		if r := s.do(t, "GET", "/nap/"+id, nil); r.status != 200 || r.body["id"] != id {
			t.Errorf("GET active: %d %s", r.status, r.raw)
		}
		if r := s.do(t, "GET", "/nap", nil); !strings.Contains(string(r.raw), id) {
			t.Errorf("GET /nap: %s", r.raw)
		}
		var timers []map[string]any
		tr := s.do(t, "GET", "/management/processes/nap/instances/"+id+"/timers", nil)
		_ = json.Unmarshal(tr.raw, &timers)
		if len(timers) != 1 {
			t.Fatalf("timers: %s", tr.raw)
		}
		due, _ := time.Parse(time.RFC3339Nano, timers[0]["expirationTime"].(string))
		if r := s.do(t, "GET", "/management/processes/nap/instances/"+id+"/nodeInstances", nil); !strings.Contains(string(r.raw), `"Sleep"`) {
			t.Errorf("node instances: %s", r.raw)
		}
		s.waitState(t, id, "COMPLETED", 5*time.Second)
		fired := lastOfKind(storedJournal(t, s.db, `instance_id = $1`, id)[id], "signal")
		if fired == nil {
			t.Fatal("no signal entry in the journal")
		}
		// Never early; how late is measured by TestTimerLateness (a bound
		// here would only time the machine, slow under -race and load).
		if late := fired.Time.Sub(due); late < 0 {
			t.Errorf("the timer fired %v before its due time", -late)
		}

		// Abort a sleeping instance.
		r = s.do(t, "POST", "/nap", map[string]any{})
		id = r.body["id"].(string)
		if r := s.do(t, "DELETE", "/management/processes/nap/instances/"+id, nil); r.status != 200 || r.body["id"] != id {
			t.Fatalf("abort: %d %s", r.status, r.raw)
		}
		if st := s.state(t, id); st != "ABORTED" {
			t.Fatalf("state after abort: %s", st)
		}
		time.Sleep(400 * time.Millisecond) // the timer must not revive it
		if st := s.state(t, id); st != "ABORTED" {
			t.Fatalf("state after the timer's due time: %s", st)
		}
		if r := s.do(t, "DELETE", "/nap/"+id, nil); r.status != 404 {
			t.Errorf("abort twice: %d %s", r.status, r.raw)
		}
		var n int
		_ = s.db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM orchestrator_audit WHERE instance_id = $1 AND action = 'abort'`, id).Scan(&n)
		if n != 1 {
			t.Errorf("audit rows for the abort: %d", n)
		}
	})
}

func TestErrorsAndRetrigger(t *testing.T) {
	each(t, func(t *testing.T, pg bool) {
		st := newStub(t)
		s := startServer(t, pg, "", st)
		r := s.do(t, "POST", "/failing", map[string]any{})
		if r.status != 500 || r.body["id"] == nil || r.body["message"] == nil || r.body["failedNodeId"] == nil {
			t.Fatalf("failing start: %d %s", r.status, r.raw)
		}
		id := r.body["id"].(string)
		if s.state(t, id) != "ERROR" {
			t.Fatalf("state %s", s.state(t, id))
		}
		r = s.do(t, "GET", "/management/processes/failing/instances/"+id+"/error", nil)
		if r.status != 200 || !strings.Contains(fmt.Sprint(r.body["message"]), "404") {
			t.Errorf("error: %d %s", r.status, r.raw)
		}
		var edef string
		_ = s.db.QueryRowContext(context.Background(), `SELECT error_node_definition_id FROM orchestrator_instances WHERE id = $1`, id).Scan(&edef)
		if edef != "Call" {
			t.Errorf("error node definition %q", edef)
		}
		calls := st.count("/missing?")
		r = s.do(t, "POST", "/management/processes/failing/instances/"+id+"/retrigger", nil)
		if r.status != 500 || st.count("/missing?") != calls+1 {
			t.Errorf("retrigger: %d %s, calls %d -> %d", r.status, r.raw, calls, st.count("/missing?"))
		}
		if r := s.do(t, "POST", "/management/processes/nap/instances/"+id+"/retrigger", nil); r.status != 404 {
			t.Errorf("retrigger under the wrong process: %d", r.status)
		}
		if r := s.do(t, "DELETE", "/management/processes/failing/instances/"+id, nil); r.status != 200 {
			t.Errorf("abort in error: %d %s", r.status, r.raw)
		}
		if s.state(t, id) != "ABORTED" {
			t.Errorf("state %s", s.state(t, id))
		}
	})
}

func binaryEvent(s *server, t *testing.T, id, typ string, data any, ext ...string) response {
	h := []string{"ce-specversion", "1.0", "ce-id", id, "ce-source", "tester", "ce-type", typ}
	return s.do(t, "POST", "/", data, append(h, ext...)...)
}

func TestEvents(t *testing.T) {
	each(t, func(t *testing.T, pg bool) {
		s := startServer(t, pg, "", newStub(t))
		// Delivered by instance id.
		r := s.do(t, "POST", "/waiter", map[string]any{})
		id := r.body["id"].(string)
		time.Sleep(400 * time.Millisecond) // past the pause: it now waits
		r = binaryEvent(s, t, "e1", "test.go", map[string]any{"got": "it"}, "ce-kogitoprocrefid", id)
		if r.status != http.StatusAccepted || r.body["delivered"] != id {
			t.Fatalf("event: %d %s", r.status, r.raw)
		}
		s.waitState(t, id, "COMPLETED", 10*time.Second)
		// A duplicate is ignored.
		if r := binaryEvent(s, t, "e1", "test.go", map[string]any{}, "ce-kogitoprocrefid", id); r.body["duplicate"] != true {
			t.Errorf("duplicate: %s", r.raw)
		}

		// An event that arrives before its instance waits is kept, then
		// consumed when the wait opens.
		r = s.do(t, "POST", "/waiter", map[string]any{})
		early := r.body["id"].(string)
		r = binaryEvent(s, t, "e2", "test.go", map[string]any{"got": "early"}, "ce-kogitoprocrefid", early)
		if r.body["kept"] != true {
			t.Fatalf("early event: %s", r.raw)
		}
		s.waitState(t, early, "COMPLETED", 10*time.Second)
		var vars string
		_ = s.db.QueryRowContext(context.Background(), `SELECT variables FROM orchestrator_instances WHERE id = $1`, early).Scan(&vars)
		if !strings.Contains(vars, `"early"`) {
			t.Errorf("variables: %s", vars)
		}

		// By business key; an event that names no instance and matches no
		// correlation reaches no running instance (as in SonataFlow): it is
		// kept, not given to whichever instance waits.
		r = s.do(t, "POST", "/waiter?businessKey=order-7", map[string]any{})
		byKey := r.body["id"].(string)
		time.Sleep(400 * time.Millisecond)
		if r := binaryEvent(s, t, "e3", "test.go", map[string]any{"got": "anon"}); r.body["kept"] != true {
			t.Errorf("unaddressed event: %s", r.raw)
		}
		if r := binaryEvent(s, t, "e4", "test.go", map[string]any{"got": "key"}, "ce-kogitobusinesskey", "order-7"); r.body["delivered"] != byKey {
			t.Errorf("event by business key: %s", r.raw)
		}
		s.waitState(t, byKey, "COMPLETED", 10*time.Second)

		// By correlation: the start event binds userid; a move event for
		// another user does not reach the instance.
		r = binaryEvent(s, t, "c1", "corr.begin", map[string]any{}, "ce-userid", "u1")
		corrStarted, _ := r.body["started"].([]any)
		if len(corrStarted) != 1 {
			t.Fatalf("correlated start: %s", r.raw)
		}
		corrID := corrStarted[0].(string)
		if r := binaryEvent(s, t, "c2", "corr.move", map[string]any{"moved": "u2"}, "ce-userid", "u2"); r.body["kept"] != true {
			t.Errorf("event for another user: %s", r.raw)
		}
		if r := binaryEvent(s, t, "c3", "corr.move", map[string]any{"moved": "u1"}, "ce-userid", "u1"); r.body["delivered"] != corrID {
			t.Errorf("correlated event: %s", r.raw)
		}
		s.waitState(t, corrID, "COMPLETED", 10*time.Second)

		// Structured mode starts an event-triggered workflow.
		r = s.do(t, "POST", "/", `{"specversion": "1.0", "id": "s1", "source": "tester", "type": "test.begin", "data": {"x": 1}}`,
			"Content-Type", "application/cloudevents+json")
		started, _ := r.body["started"].([]any)
		if r.status != http.StatusAccepted || len(started) != 1 {
			t.Fatalf("start by event: %d %s", r.status, r.raw)
		}
		s.waitState(t, started[0].(string), "COMPLETED", 10*time.Second)

		// Malformed events are refused with a reason, and nothing is stored.
		var before, after int
		_ = s.db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM orchestrator_events`).Scan(&before)
		for name, tc := range map[string]struct {
			body   string
			header []string
			want   string
		}{
			"no type":       {`{}`, []string{"ce-specversion", "1.0", "ce-id", "x", "ce-source", "s"}, "type"},
			"no headers":    {`{}`, nil, "not a CloudEvent"},
			"bad structure": {`{"specversion": "1.0", "id": 5}`, []string{"Content-Type", "application/cloudevents+json"}, "string"},
			"bad json data": {`{`, []string{"ce-specversion", "1.0", "ce-id", "x", "ce-source", "s", "ce-type", "t"}, "JSON"},
		} {
			r := s.do(t, "POST", "/", tc.body, tc.header...)
			if r.status != 400 || !strings.Contains(fmt.Sprint(r.body["message"]), tc.want) {
				t.Errorf("%s: %d %s", name, r.status, r.raw)
			}
		}
		_ = s.db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM orchestrator_events`).Scan(&after)
		if after != before {
			t.Errorf("malformed events were stored: %d -> %d", before, after)
		}
	})
}

func TestHotReload(t *testing.T) {
	s := startServer(t, false, "", newStub(t))
	// A running instance keeps the version it started with.
	r := s.do(t, "POST", "/nap", map[string]any{})
	old := r.body["id"].(string)
	src := strings.Replace(testWorkflows["nap/nap.sw.yaml"], "data: {woke: true}", "data: {woke: true, version: 2}", 1)
	writeFile(t, filepath.Join(s.dir, "nap/nap.sw.yaml"), src)
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := s.do(t, "GET", "/management/processes/nap/source", nil)
		if strings.Contains(string(r.raw), "version: 2") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the changed workflow was not reloaded")
		}
		time.Sleep(50 * time.Millisecond)
	}
	r = s.do(t, "POST", "/nap", map[string]any{})
	fresh := r.body["id"].(string)
	s.waitState(t, old, "COMPLETED", 3*time.Second)
	s.waitState(t, fresh, "COMPLETED", 3*time.Second)
	var oldVars, newVars string
	_ = s.db.QueryRowContext(context.Background(), `SELECT variables FROM orchestrator_instances WHERE id = $1`, old).Scan(&oldVars)
	_ = s.db.QueryRowContext(context.Background(), `SELECT variables FROM orchestrator_instances WHERE id = $1`, fresh).Scan(&newVars)
	if strings.Contains(oldVars, `"version"`) || !strings.Contains(newVars, `"version":2`) {
		t.Errorf("old instance %s, new instance %s", oldVars, newVars)
	}
}

// A slow call in one resumed instance does not hold up another's timer.
func TestSlowCallDoesNotDelayTimers(t *testing.T) {
	s := startServer(t, false, "", newStub(t))
	slow := s.do(t, "POST", "/slowcall", map[string]any{}).body["id"].(string)
	// Its progress is visible while the call runs (the call starts after
	// a 0.1 s sleep and takes 1.5 s).
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := s.do(t, "GET", "/management/processes/slowcall/instances/"+slow+"/nodeInstances", nil)
		if strings.Contains(string(r.raw), `"WorkItemNode"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node instances during the call: %s", r.raw)
		}
		time.Sleep(20 * time.Millisecond)
	}
	nap := s.do(t, "POST", "/nap", map[string]any{}).body["id"].(string)
	took := s.waitState(t, nap, "COMPLETED", 5*time.Second)
	// Held up, it would take the rest of the call (over 1.3 s); the
	// bound leaves room for a loaded machine.
	if took > 1200*time.Millisecond {
		t.Errorf("a 0.3 s sleep took %v while another instance waited for a slow call", took)
	}
	s.waitState(t, slow, "COMPLETED", 5*time.Second)
}

// Without runtimeApi.allowUnauthenticated, SonataFlow's routes take
// Portico credentials like every other route; health checks stay open.
func TestRuntimeAPINeedsCredentials(t *testing.T) {
	s := startConfig(t, `
backend:
  auth:
    externalAccess:
      - type: static
        options: {token: test-token-0123456789, subject: tests}
orchestrator:
  workflows: ["embedded:workflows"]
`, false)
	body := map[string]any{"language": "English"}
	if r := s.do(t, "POST", "/greeting", body); r.status != http.StatusUnauthorized {
		t.Errorf("POST without credentials: %d %s", r.status, r.raw)
	}
	if r := s.do(t, "GET", "/management/processes/greeting", nil); r.status != http.StatusUnauthorized {
		t.Errorf("GET without credentials: %d", r.status)
	}
	if r := s.do(t, "POST", "/", `{}`, "ce-specversion", "1.0", "ce-id", "x", "ce-source", "s", "ce-type", "t"); r.status != http.StatusUnauthorized {
		t.Errorf("event without credentials: %d", r.status)
	}
	if r := s.do(t, "POST", "/greeting", body, "Authorization", "Bearer test-token-0123456789"); r.status != http.StatusCreated {
		t.Errorf("POST with a token: %d %s", r.status, r.raw)
	}
	var actor string
	_ = s.db.QueryRowContext(context.Background(), `SELECT actor FROM orchestrator_audit WHERE action = 'start'`).Scan(&actor)
	if actor != "tests" {
		t.Errorf("audit actor %q", actor)
	}
	if r := s.do(t, "GET", "/q/health/ready", nil); r.status != http.StatusOK {
		t.Errorf("health: %d", r.status)
	}
}

// A workflow notifies users through Portico's own notifications API with a
// static token, as RHDH's workflows do with BACKSTAGE_NOTIFICATIONS_URL and
// NOTIFICATIONS_BEARER_TOKEN.
func TestWorkflowSendsPorticoNotification(t *testing.T) {
	dir := t.TempDir()
	s := startConfig(t, fmt.Sprintf(`
backend:
  auth:
    externalAccess:
      - type: static
        options: {token: workflow-token-0123456789, subject: workflows}
orchestrator:
  workflows: [%q]
  runtimeApi: {allowUnauthenticated: true}
  reloadInterval: 100ms
`, dir), false)
	// The server's port is known only now; the workflow directory is
	// watched, so the workflow can be written after the start.
	port := s.URL[strings.LastIndex(s.URL, ":")+1:]
	writeFile(t, filepath.Join(dir, "notify/application.properties"), `
kogito.sw.functions.notify.host=127.0.0.1
kogito.sw.functions.notify.port=`+port+`
NOTIFICATIONS_BEARER_TOKEN=${PORTICO_TEST_NO_SUCH_VAR:workflow-token-0123456789}
`)
	writeFile(t, filepath.Join(dir, "notify/notify.sw.yaml"), `
id: notify
version: "1.0"
specVersion: "0.8"
name: Notify
start: Send
functions:
  - name: notify
    type: custom
    operation: rest:post:/api/notifications
states:
  - name: Send
    type: operation
    actions:
      - functionRef:
          refName: notify
          arguments:
            HEADER_Authorization: '${ "Bearer " + $SECRET.NOTIFICATIONS_BEARER_TOKEN }'
            recipients: {type: broadcast}
            payload:
              title: '${ .title }'
              severity: normal
    end: true
`)
	deadline := time.Now().Add(5 * time.Second)
	for s.do(t, "GET", "/management/processes/notify", nil).status != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("the notify workflow was not loaded")
		}
		time.Sleep(50 * time.Millisecond)
	}
	r := s.do(t, "POST", "/notify", map[string]any{"title": "Deployed"})
	if r.status != http.StatusCreated {
		t.Fatalf("notify: %d %s", r.status, r.raw)
	}
	var n int
	if err := s.db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM notifications_broadcast`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("%d broadcasts stored", n)
	}
}

// journalEntry is what tests read of a stored journal entry.
type journalEntry struct {
	Kind string
	Time time.Time
	Void bool
	Wait *struct{ At time.Time }
	// SealedHeaders is set on a start entry whose headers are sealed.
	SealedHeaders string
}

// storedJournal returns the journal entries of the instances that the
// condition on orchestrator_journal selects, by instance, in order, as
// stored (void entries included, headers sealed).
func storedJournal(t *testing.T, db *store.DB, where string, args ...any) map[string][]journalEntry {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), `SELECT instance_id, void, entry FROM orchestrator_journal WHERE `+where+` ORDER BY instance_id, pos`, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]journalEntry{}
	for rows.Next() {
		var id string
		var void bool
		var row []byte
		if err := rows.Scan(&id, &void, &row); err != nil {
			t.Fatal(err)
		}
		text, err := orchestrator.JournalRowJSON(row)
		if err != nil {
			t.Fatalf("journal row of %s: %v", id, err)
		}
		var entries []journalEntry
		if err := json.Unmarshal(text, &entries); err != nil {
			t.Fatalf("journal row of %s: %v: %s", id, err, text)
		}
		for i := range entries {
			entries[i].Void = entries[i].Void || void
		}
		out[id] = append(out[id], entries...)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// lastOfKind returns the last live entry of a kind, or nil.
func lastOfKind(entries []journalEntry, kind string) *journalEntry {
	for i := len(entries) - 1; i >= 0; i-- {
		if entries[i].Kind == kind && !entries[i].Void {
			return &entries[i]
		}
	}
	return nil
}
