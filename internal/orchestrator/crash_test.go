package orchestrator_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/app"
	"github.com/portico-dev/portico/internal/store"
	"github.com/portico-dev/portico/internal/store/storetest"
)

// The test binary doubles as a Portico server: with PORTICO_ORCH_SERVE set
// to a config file it runs one and prints its address, so the crash test
// can kill a real process with SIGKILL.
func TestMain(m *testing.M) {
	if cfgFile := os.Getenv("PORTICO_ORCH_SERVE"); cfgFile != "" {
		os.Exit(serve(cfgFile))
	}
	os.Exit(m.Run())
}

func serve(cfgFile string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	cfg, err := app.LoadConfig([]string{cfgFile})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.New(ctx, app.Options{Config: cfg, Logger: log})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	addr, err := a.Listen()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("listening %s\n", addr)
	if err := a.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

type proc struct {
	cmd  *exec.Cmd
	url  string
	done chan struct{}
}

func startProcess(t *testing.T, cfgFile string) *proc {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "PORTICO_ORCH_SERVE="+cfgFile)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
				found <- addr
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	select {
	case addr := <-found:
		p.url = "http://" + addr
	case <-p.done:
		t.Fatal("the server exited early")
	case <-time.After(20 * time.Second):
		t.Fatal("the server did not start")
	}
	return p
}

func (p *proc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

// A server killed with SIGKILL while instances sleep and while they wait
// for an outbound call: after a restart on the same database every
// instance completes, timers fire, and no action whose result was recorded
// runs again (only the calls cut off by the kill are repeated).
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	for _, pg := range []bool{false, true} {
		name := "sqlite"
		if pg {
			name = "postgres"
		}
		t.Run(name, func(t *testing.T) {
			if pg && os.Getenv("PORTICO_TEST_POSTGRES_URL") == "" {
				t.Skip("PORTICO_TEST_POSTGRES_URL is not set")
			}
			crashRecovery(t, pg)
		})
	}
}

func crashRecovery(t *testing.T, pg bool) {
	var mu sync.Mutex
	calls := map[string]int{}
	release := make(chan struct{})
	stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.URL.Path + "?" + r.URL.Query().Get("id")
		mu.Lock()
		calls[key]++
		n := calls[key]
		mu.Unlock()
		if r.URL.Path == "/slow" && n == 1 {
			// The first call hangs until the server that made it is dead.
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok": true}`))
	}))
	defer stub.Close()
	defer close(release)
	count := func(key string) int {
		mu.Lock()
		defer mu.Unlock()
		return calls[key]
	}

	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "wf/sleepy.sw.yaml"), strings.ReplaceAll(`
id: sleepy
version: "1.0"
specVersion: "0.8"
name: Sleepy
start: First
functions:
  - name: first
    type: custom
    operation: rest:get:STUB/first?id={id}
  - name: second
    type: custom
    operation: rest:get:STUB/second?id={id}
states:
  - name: First
    type: operation
    actions:
      - functionRef: {refName: first, arguments: {id: '${ .id }'}}
    transition: Sleep
  - name: Sleep
    type: sleep
    duration: PT1S
    transition: Second
  - name: Second
    type: operation
    actions:
      - functionRef: {refName: second, arguments: {id: '${ .id }'}}
    end: true
`, "STUB", stub.URL))
	writeFile(t, filepath.Join(dir, "wf/slow.sw.yaml"), strings.ReplaceAll(`
id: slow
version: "1.0"
specVersion: "0.8"
name: Slow call
start: Fast
functions:
  - name: fast
    type: custom
    operation: rest:get:STUB/fast?id={id}
  - name: slow
    type: custom
    operation: rest:get:STUB/slow?id={id}
states:
  - name: Fast
    type: operation
    actions:
      - functionRef: {refName: fast, arguments: {id: '${ .id }'}}
    transition: Slow
  - name: Slow
    type: operation
    actions:
      - functionRef: {refName: slow, arguments: {id: '${ .id }'}}
    end: true
`, "STUB", stub.URL))
	db := "  database:\n    client: sqlite\n    connection: " + filepath.Join(dir, "portico.db") + "\n"
	if pg {
		db = "  database:\n    client: pg\n    connection: '" + postgresSchema(t) + "'\n"
	}
	cfgFile := filepath.Join(dir, "app-config.yaml")
	writeFile(t, cfgFile, fmt.Sprintf(`backend:
  listen: {host: 127.0.0.1, port: 0}
  dataDirectory: %s
%sorchestrator:
  workflows: [%q]
  runtimeApi: {allowUnauthenticated: true}
  leaseDuration: 1s
  pollInterval: 20ms
`, filepath.Join(dir, "data"), db, filepath.Join(dir, "wf")))

	p := startProcess(t, cfgFile)
	const n = 10
	var sleepy, slow []string
	for i := range n {
		for _, wf := range []string{"sleepy", "slow"} {
			id := fmt.Sprintf("%s-%d", wf, i)
			if wf == "slow" {
				// The slow call hangs: start it in the background.
				go func() { _, _ = http.Post(p.url+"/"+wf, "application/json", strings.NewReader(`{"id": "`+id+`"}`)) }()
				slow = append(slow, id)
				continue
			}
			resp, err := http.Post(p.url+"/"+wf, "application/json", strings.NewReader(`{"id": "`+id+`"}`))
			if err != nil {
				t.Fatal(err)
			}
			var body struct{ ID string }
			_ = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode != 201 {
				t.Fatalf("start %s: %d", wf, resp.StatusCode)
			}
			sleepy = append(sleepy, id)
		}
	}
	// Every slow call is in flight and every sleepy instance sleeps.
	deadline := time.Now().Add(10 * time.Second)
	for {
		all := true
		for _, id := range slow {
			all = all && count("/slow?"+id) == 1
		}
		if all {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the slow calls did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.kill(t)

	p = startProcess(t, cfgFile)
	dbConn := openDB(t, pg, dir)
	deadline = time.Now().Add(20 * time.Second)
	for {
		var done int
		if err := dbConn.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM orchestrator_instances WHERE state = 'COMPLETED'`).Scan(&done); err != nil {
			t.Fatal(err)
		}
		if done == 2*n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d instances completed after the restart", done, 2*n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, id := range sleepy {
		if f, s := count("/first?"+id), count("/second?"+id); f != 1 || s != 1 {
			t.Errorf("%s: first called %d times, second %d", id, f, s)
		}
	}
	for _, id := range slow {
		// The fast call's result was recorded: it never runs again. The
		// slow call was cut off by the kill, so it runs once more.
		if f, s := count("/fast?"+id), count("/slow?"+id); f != 1 || s != 2 {
			t.Errorf("%s: fast called %d times, slow %d", id, f, s)
		}
	}
}

var dbCache sync.Map

func postgresSchema(t *testing.T) string {
	dsn := storetest.PostgresSchemaDSN(t)
	dbCache.Store(t.Name(), dsn)
	return dsn
}

func openDB(t *testing.T, pg bool, dir string) *store.DB {
	t.Helper()
	var db *store.DB
	var err error
	if pg {
		dsn, _ := dbCache.Load(t.Name())
		db, err = store.OpenPostgresDSN(context.Background(), dsn.(string))
	} else {
		db, err = store.OpenSQLite(context.Background(), filepath.Join(dir, "portico.db"), "")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Two server processes on one PostgreSQL schema share 1,000 instances; one
// is killed with SIGKILL mid-run and the other finishes every instance.
// Each instance records its call once; only calls cut off by the kill (at
// most the few in flight at that moment) may reach the stub twice.
func TestTwoProcessesOneKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	if os.Getenv("PORTICO_TEST_POSTGRES_URL") == "" {
		t.Skip("PORTICO_TEST_POSTGRES_URL is not set")
	}
	var mu sync.Mutex
	calls := map[string]int{}
	stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls[r.URL.Query().Get("id")]++
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok": true}`))
	}))
	defer stub.Close()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "wf/work.sw.yaml"), strings.ReplaceAll(`
id: work
version: "1.0"
specVersion: "0.8"
name: Work
start: Sleep
functions:
  - name: call
    type: custom
    operation: rest:get:STUB/call?id={id}
states:
  - name: Sleep
    type: sleep
    duration: PT0.5S
    transition: Call
  - name: Call
    type: operation
    actions:
      - functionRef: {refName: call, arguments: {id: '${ .id }'}}
    end: true
`, "STUB", stub.URL))
	dsn := postgresSchema(t)
	cfgFile := filepath.Join(dir, "app-config.yaml")
	writeFile(t, cfgFile, fmt.Sprintf(`backend:
  listen: {host: 127.0.0.1, port: 0}
  dataDirectory: %s
  database:
    client: pg
    connection: '%s'
orchestrator:
  workflows: [%q]
  runtimeApi: {allowUnauthenticated: true}
  leaseDuration: 1s
  pollInterval: 20ms
`, filepath.Join(dir, "data"), dsn, filepath.Join(dir, "wf")))
	a := startProcess(t, cfgFile)
	b := startProcess(t, cfgFile)
	const n = 1000
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				url := a.url
				if i%2 == 1 {
					url = b.url
				}
				resp, err := client.Post(url+"/work", "application/json", strings.NewReader(fmt.Sprintf(`{"id": "w%d"}`, i)))
				if err != nil {
					t.Error(err)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 201 {
					t.Errorf("start %d: %d", i, resp.StatusCode)
				}
			}
		}()
	}
	started := time.Now()
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	// Kill a while its first instances are being resumed after their sleep.
	time.Sleep(time.Until(started.Add(600 * time.Millisecond)))
	a.kill(t)
	db := openDB(t, true, dir)
	deadline := time.Now().Add(60 * time.Second)
	for {
		var done int
		if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM orchestrator_instances WHERE state = 'COMPLETED'`).Scan(&done); err != nil {
			t.Fatal(err)
		}
		if done == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d instances completed", done, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("%d instances completed %v after the first start", n, time.Since(started))
	recorded := 0
	for _, entries := range storedJournal(t, db, `1 = 1`) {
		for _, e := range entries {
			if e.Kind == "actionCompleted" && !e.Void {
				recorded++
			}
		}
	}
	if recorded != n {
		t.Errorf("%d recorded call results for %d instances", recorded, n)
	}
	mu.Lock()
	defer mu.Unlock()
	repeated := 0
	for i := range n {
		switch c := calls[fmt.Sprintf("w%d", i)]; {
		case c == 0:
			t.Errorf("w%d: never called", i)
		case c > 1:
			repeated++
		}
	}
	// A killed replica can have at most its resume workers (8) mid-call.
	if repeated > 8 {
		t.Errorf("%d calls repeated", repeated)
	}
	t.Logf("calls repeated after the kill: %d", repeated)
}
