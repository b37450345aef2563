package orchestrator_test

import (
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
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/store/storetest"
)

// Two servers on one PostgreSQL schema share the instances; one stops
// while its instances sleep, and the other finishes them. Every instance
// calls the stub exactly once.
func TestTwoReplicasShareWork(t *testing.T) {
	if os.Getenv("PORTICO_TEST_POSTGRES_URL") == "" {
		t.Skip("PORTICO_TEST_POSTGRES_URL is not set")
	}
	st := newStub(t)
	dsn := storetest.PostgresSchemaDSN(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "stock/stock.sw.yaml"), strings.ReplaceAll(testWorkflows["stock/stock.sw.yaml"], "STUB", st.URL))
	a := startOn(t, dir, true, dsn)
	b := startOn(t, dir, true, dsn)
	const n = 200
	ids := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := a
			if i%2 == 1 {
				s = b
			}
			id := fmt.Sprintf("item-%d", i)
			resp, err := http.Post(s.URL+"/stock", "application/json", strings.NewReader(`{"id": "`+id+`"}`))
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			var body struct{ ID string }
			data, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 201 || json.Unmarshal(data, &body) != nil {
				errs <- fmt.Errorf("start %d: %d %s", i, resp.StatusCode, data)
				return
			}
			ids[i] = body.ID
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := a.Stop(); err != nil {
		t.Fatalf("stop a: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		var done int
		if err := b.db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM orchestrator_instances WHERE state = 'COMPLETED'`).Scan(&done); err != nil {
			t.Fatal(err)
		}
		if done == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d instances completed", done, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i := range n {
		if c := st.count(fmt.Sprintf("/stock?item-%d", i)); c != 1 {
			t.Errorf("item-%d: %d calls", i, c)
		}
	}
	if got := st.total.Load(); got != n {
		t.Errorf("%d calls for %d instances", got, n)
	}
}

func TestSubFlowsAndOutbox(t *testing.T) {
	each(t, func(t *testing.T, pg bool) {
		var mu sync.Mutex
		var received []map[string]any
		fails := 1
		sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			if fails > 0 { // the sink is down at first: the outbox retries
				fails--
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			var ev map[string]any
			_ = json.NewDecoder(r.Body).Decode(&ev)
			received = append(received, ev)
			w.WriteHeader(http.StatusAccepted)
		}))
		defer sink.Close()
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "nap/nap.sw.yaml"), testWorkflows["nap/nap.sw.yaml"])
		writeFile(t, filepath.Join(dir, "parent/parent.sw.yaml"), `
id: parent
version: "1.0"
specVersion: "0.8"
name: Parent
start: Call
events:
  - name: done
    source: portico/test
    type: test.done
    kind: produced
states:
  - name: Call
    type: operation
    actions:
      - subFlowRef: nap
    end:
      produceEvents:
        - eventRef: done
          data: '${ {woke: .woke} }'
`)
		cfg := fmt.Sprintf(`
orchestrator:
  workflows: [%q]
  runtimeApi: {allowUnauthenticated: true}
  pollInterval: 20ms
  eventing: {sink: %q}
`, dir, sink.URL)
		inst := startWith(t, cfg, pg)
		r := inst.do(t, "POST", "/parent?businessKey=b1", map[string]any{})
		if r.status != 201 {
			t.Fatalf("start: %d %s", r.status, r.raw)
		}
		id := r.body["id"].(string)
		inst.waitState(t, id, "COMPLETED", 5*time.Second)
		var child, parent, root string
		_ = inst.db.QueryRowContext(context.Background(), `SELECT id, parent_id, root_id FROM orchestrator_instances WHERE process_id = 'nap'`).Scan(&child, &parent, &root)
		if parent != id || root != id {
			t.Errorf("child %s: parent %q root %q", child, parent, root)
		}
		var vars string
		_ = inst.db.QueryRowContext(context.Background(), `SELECT variables FROM orchestrator_instances WHERE id = $1`, id).Scan(&vars)
		if !strings.Contains(vars, `"woke":true`) {
			t.Errorf("parent data: %s", vars)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			mu.Lock()
			n := len(received)
			mu.Unlock()
			if n > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the produced event did not reach the sink")
			}
			time.Sleep(20 * time.Millisecond)
		}
		mu.Lock()
		ev := received[0]
		mu.Unlock()
		if ev["type"] != "test.done" || ev["kogitoprocinstanceid"] != id || ev["kogitoprocid"] != "parent" || ev["kogitobusinesskey"] != "b1" {
			t.Errorf("event: %v", ev)
		}
	})
}

func startWith(t *testing.T, cfg string, pg bool) *server {
	t.Helper()
	return startConfig(t, cfg, pg)
}

// A scheduled workflow starts one instance per tick, even with two
// replicas polling the schedule.
func TestScheduledStarts(t *testing.T) {
	each(t, func(t *testing.T, pg bool) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "tick/tick.sw.yaml"), `
id: tick
version: "1.0"
specVersion: "0.8"
name: Tick
start:
  stateName: Tick
  schedule:
    interval: R/PT0.5S
states:
  - name: Tick
    type: inject
    data: {ticked: true}
    end: true
`)
		var dsn string
		if pg {
			dsn = storetest.PostgresSchemaDSN(t)
		}
		a := startOn(t, dir, pg, dsn)
		if pg {
			startOn(t, dir, pg, dsn)
		}
		time.Sleep(2300 * time.Millisecond)
		var n int
		if err := a.db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM orchestrator_instances WHERE process_id = 'tick' AND state = 'COMPLETED'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n < 3 || n > 5 {
			t.Errorf("%d scheduled instances in 2.3s at one per 0.5s", n)
		}
	})
}
