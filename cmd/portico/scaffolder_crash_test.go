package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/store/storetest"
)

// crashTemplate fetches a file from the counting server, renders a
// skeleton, waits (the test kills portico here), fetches a second file
// and lists the workspace. The counting server tells how often each fetch
// really ran.
const crashTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: crashy
spec:
  type: service
  parameters:
    properties:
      name: {type: string}
  steps:
    - id: first
      name: First fetch
      action: fetch:plain:file
      input:
        url: ${{ parameters.server }}/one
        targetPath: one.txt
    - id: skeleton
      name: Render skeleton
      action: fetch:template
      input:
        url: ./skeleton
        targetPath: app
        values:
          name: ${{ parameters.name }}
    - id: wait
      name: Wait
      action: debug:wait
      input:
        seconds: 6
    - id: second
      name: Second fetch
      action: fetch:plain:file
      input:
        url: ${{ parameters.server }}/two
        targetPath: two.txt
    - id: list
      name: List
      action: fs:readdir
      input:
        paths: ["."]
        recursive: true
  output:
    files: ${{ steps.list.output.files | dump }}
`

// fetchCounter is an HTTP server that counts requests per path.
type fetchCounter struct {
	mu    sync.Mutex
	count map[string]int
	url   string
}

func startFetchCounter(t *testing.T) *fetchCounter {
	t.Helper()
	fc := &fetchCounter{count: map[string]int{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fc.mu.Lock()
		fc.count[r.URL.Path]++
		fc.mu.Unlock()
		fmt.Fprintf(w, "content of %s\n", r.URL.Path)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	fc.url = "http://" + ln.Addr().String()
	return fc
}

func (fc *fetchCounter) get(path string) int {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	return fc.count[path]
}

// crashSetup writes the template, its skeleton and a config; database is
// extra backend.database YAML ("" for SQLite in dataDir).
func crashSetup(t *testing.T, fc *fetchCounter, database string) (dir, cfg string) {
	t.Helper()
	dir = t.TempDir()
	tplDir := filepath.Join(dir, "templates", "crashy")
	if err := os.MkdirAll(filepath.Join(tplDir, "skeleton"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeConfig(t, tplDir, "template.yaml", crashTemplate)
	writeConfig(t, filepath.Join(tplDir, "skeleton"), "README.md", "# ${{ values.name }}\n")
	host := strings.TrimPrefix(fc.url, "http://")
	cfg = writeConfig(t, dir, "app-config.yaml", `backend:
  listen: {host: 127.0.0.1, port: 0}
  dataDirectory: `+filepath.Join(dir, "data")+`
  reading:
    allow: [{host: '`+host+`'}]
`+database+`auth:
  providers:
    guest: {allowUnauthenticated: true, dangerouslyAllowOutsideDevelopment: true}
catalog:
  locations:
    - type: file
      target: `+filepath.Join(tplDir, "template.yaml")+`
      rules: [{allow: [Template]}]
scaffolder:
  taskRecovery:
    staleTimeout: {seconds: 2}
`)
	return dir, cfg
}

type taskEvent struct {
	ID   int64  `json:"id"`
	Type string `json:"type"`
	Body struct {
		Message         string         `json:"message"`
		StepID          string         `json:"stepId"`
		Status          string         `json:"status"`
		RecoverStrategy string         `json:"recoverStrategy"`
		Output          map[string]any `json:"output"`
	} `json:"body"`
}

func (p *process) api(t *testing.T, method, path, body string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, "http://"+p.addr+"/api/scaffolder"+path, rd)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// createCrashTask waits for the template to be in the catalog and starts
// a task.
func createCrashTask(t *testing.T, p *process, fc *fetchCounter) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, body := p.api(t, "POST", "/v2/tasks", `{"templateRef":"template:default/crashy","values":{"name":"demo","server":"`+fc.url+`"}}`)
		if status == http.StatusCreated {
			var c struct{ ID string }
			_ = json.Unmarshal(body, &c)
			return c.ID
		}
		if status != http.StatusNotFound || time.Now().After(deadline) {
			t.Fatalf("create task: %d %s\n%s", status, body, p.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// events reads the task's whole event log.
func (p *process) events(t *testing.T, id string) []taskEvent {
	t.Helper()
	status, body := p.api(t, "GET", "/v2/tasks/"+id+"/events?after=0", "")
	if status != http.StatusOK {
		return nil
	}
	var evs []taskEvent
	_ = json.Unmarshal(body, &evs)
	return evs
}

func waitForEvent(t *testing.T, p *process, id, what string, match func(taskEvent) bool) []taskEvent {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		evs := p.events(t, id)
		for _, e := range evs {
			if match(e) {
				return evs
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no %s event within 60s: %+v\n%s", what, p.events(t, id), p.stderr.String())
	return nil
}

func waitingStep(e taskEvent) bool {
	return e.Body.StepID == "wait" && e.Body.Status == "processing"
}

func completion(e taskEvent) bool { return e.Type == "completion" }

// checkResumed asserts that the task completed after a recovery, that no
// completed step ran again, and that the workspace kept what the steps
// before the crash wrote.
func checkResumed(t *testing.T, p *process, fc *fetchCounter, id string) {
	t.Helper()
	evs := waitForEvent(t, p, id, "completion", completion)
	var log []string
	recovered := false
	var done taskEvent
	for _, e := range evs {
		log = append(log, fmt.Sprintf("%s %s %s: %s", e.Type, e.Body.Status, e.Body.StepID, e.Body.Message))
		if e.Type == "recovered" {
			recovered = true
		}
		if e.Type == "completion" {
			done = e
		}
	}
	joined := strings.Join(log, "\n")
	if done.Body.Message != "Run completed with status: completed" {
		t.Fatalf("the task did not complete:\n%s", joined)
	}
	if !recovered {
		t.Errorf("no recovered event:\n%s", joined)
	}
	for _, want := range []string{
		"Skipping step first because it was already completed in a previous run",
		"Skipping step skeleton because it was already completed in a previous run",
		"Task recovered - resuming from last known good state. 2 step(s) already completed.",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("log lacks %q:\n%s", want, joined)
		}
	}
	if n := fc.get("/one"); n != 1 {
		t.Errorf("the first step fetched %d times, want once", n)
	}
	if n := fc.get("/two"); n != 1 {
		t.Errorf("the step after the crash fetched %d times, want once", n)
	}
	files, _ := done.Body.Output["files"].(string)
	for _, f := range []string{"one.txt", "app/README.md", "two.txt"} {
		if !strings.Contains(files, `"path":"`+f+`"`) {
			t.Errorf("workspace lacks %s after recovery: %s", f, files)
		}
	}
	// The event stream shows the recovery too.
	resp, err := http.Get("http://" + p.addr + "/api/scaffolder/v2/tasks/" + id + "/eventstream")
	if err != nil {
		t.Fatal(err)
	}
	stream, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(stream), "event: recovered\n") || !strings.Contains(string(stream), "event: completion\n") {
		t.Errorf("event stream lacks the recovered or completion event:\n%s", stream)
	}
	t.Logf("log after recovery:\n%s", joined)
}

// TestScaffolderTaskSurvivesKill kills portico (SIGKILL) during a step and
// restarts it: the task resumes after the last completed step.
func TestScaffolderTaskSurvivesKill(t *testing.T) {
	fc := startFetchCounter(t)
	dir, cfg := crashSetup(t, fc, "")
	first := startServe(t, dir, "--config", cfg)
	id := createCrashTask(t, first, fc)
	waitForEvent(t, first, id, "wait step", waitingStep)
	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-first.done

	second := startServe(t, dir, "--config", cfg)
	checkResumed(t, second, fc, id)
}

// TestScaffolderSurvivorRecoversTask runs two replicas on one PostgreSQL
// database and kills the one running a task: the other recovers it once
// its heartbeat is stale.
func TestScaffolderSurvivorRecoversTask(t *testing.T) {
	dsn := storetest.PostgresSchemaDSN(t)
	fc := startFetchCounter(t)
	db := "  database:\n    client: pg\n    connection: '" + dsn + "'\n"
	dir, cfg := crashSetup(t, fc, db)
	a := startServe(t, dir, "--config", cfg)
	id := createCrashTask(t, a, fc)
	waitForEvent(t, a, id, "wait step", waitingStep)
	b := startServe(t, dir, "--config", cfg)
	if err := a.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-a.done
	checkResumed(t, b, fc, id)
}

// TestScaffolderSIGTERMLetsTheStepFinish stops portico gracefully during a
// step: the step finishes, the task is handed over before its next step,
// and the restarted server completes it without running anything twice.
func TestScaffolderSIGTERMLetsTheStepFinish(t *testing.T) {
	fc := startFetchCounter(t)
	dir, cfg := crashSetup(t, fc, "")
	first := startServe(t, dir, "--config", cfg)
	id := createCrashTask(t, first, fc)
	waitForEvent(t, first, id, "wait step", waitingStep)
	if err := first.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-first.done:
		if first.err != nil {
			t.Fatalf("portico exited with %v\n%s", first.err, first.stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("portico did not stop within 30s of SIGTERM")
	}

	second := startServe(t, dir, "--config", cfg)
	evs := waitForEvent(t, second, id, "completion", completion)
	var log []string
	waits := 0
	for _, e := range evs {
		log = append(log, fmt.Sprintf("%s %s %s: %s", e.Type, e.Body.Status, e.Body.StepID, e.Body.Message))
		if waitingStep(e) {
			waits++
		}
	}
	joined := strings.Join(log, "\n")
	if !strings.Contains(joined, "Run completed with status: completed") || waits != 1 {
		t.Errorf("want a completed task whose wait step began once:\n%s", joined)
	}
	if fc.get("/one") != 1 || fc.get("/two") != 1 {
		t.Errorf("fetches: one %d, two %d; want 1 each", fc.get("/one"), fc.get("/two"))
	}
}
