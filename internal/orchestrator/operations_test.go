package orchestrator_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// waitFor polls until the instance waits in the given state (its current
// state column is set when a run releases it).
func (s *server) waitCurrent(t *testing.T, id, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		var cur string
		_ = s.db.QueryRowContext(t.Context(), `SELECT current_state FROM orchestrator_instances WHERE id = $1 AND lease_owner IS NULL`, id).Scan(&cur)
		if cur == want {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("instance %s never waited in %s", id, want)
}

func TestOperatorActions(t *testing.T) {
	each(t, func(t *testing.T, pg bool) {
		st := newStub(t)
		s := startServer(t, pg, "", st)

		t.Run("skip past a failed state", func(t *testing.T) {
			r := s.do(t, "POST", "/failing", map[string]any{"keep": "me"})
			id := r.body["id"].(string)
			calls := st.count("/missing?")
			r = s.do(t, "POST", "/management/processes/failing/instances/"+id+"/skip", nil)
			if r.status != 200 {
				t.Fatalf("skip: %d %s", r.status, r.raw)
			}
			if got := s.state(t, id); got != "COMPLETED" {
				t.Errorf("state after skip %s", got)
			}
			if st.count("/missing?") != calls {
				t.Errorf("skip called the failing function again")
			}
			if wd, _ := r.body["workflowdata"].(map[string]any); wd["keep"] != "me" {
				t.Errorf("data after skip: %s", r.raw)
			}
			if r := s.do(t, "POST", "/management/processes/failing/instances/"+id+"/skip", nil); r.status != 404 {
				t.Errorf("skip of an ended instance: %d %s", r.status, r.raw)
			}
		})

		t.Run("replace and merge the data of a waiting instance", func(t *testing.T) {
			id := s.do(t, "POST", "/waiter", map[string]any{"a": 1}).body["id"].(string)
			s.waitCurrent(t, id, "Wait")
			r := s.do(t, "PUT", "/waiter/"+id, map[string]any{"workflowdata": map[string]any{"b": 2}})
			if r.status != 200 || string(mustJSON(t, r.body["workflowdata"])) != `{"b":2}` {
				t.Fatalf("put: %d %s", r.status, r.raw)
			}
			r = s.do(t, "PATCH", "/waiter/"+id, map[string]any{"c": 3})
			if r.status != 200 || string(mustJSON(t, r.body["workflowdata"])) != `{"b":2,"c":3}` {
				t.Fatalf("patch: %d %s", r.status, r.raw)
			}
			if r := s.do(t, "GET", "/waiter/"+id, nil); string(mustJSON(t, r.body["workflowdata"])) != `{"b":2,"c":3}` {
				t.Errorf("get after patch: %s", r.raw)
			}
			// The instance still waits for its event and goes on with the
			// new data.
			binaryEvent(s, t, "op-1", "test.go", map[string]any{"d": 4}, "ce-kogitoprocrefid", id)
			s.waitState(t, id, "COMPLETED", 5*time.Second)
			in, err := s.App.Env().Orchestrator.Instance(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(mustJSON(t, in.WorkflowData())); got != `{"b":2,"c":3,"done":true,"got":{"d":4}}` {
				t.Errorf("final data %s", got)
			}
		})

		t.Run("bad updates", func(t *testing.T) {
			id := s.do(t, "POST", "/waiter", map[string]any{}).body["id"].(string)
			for _, c := range []struct {
				method, path, body string
				status             int
			}{
				{"PUT", "/waiter/" + id, `[1]`, 400},
				{"PUT", "/waiter/" + id, `{not json`, 400},
				{"PATCH", "/waiter/" + id, `{"workflowdata": "text"}`, 400},
				{"PUT", "/waiter/no-such-instance", `{}`, 404},
				{"PUT", "/nap/" + id, `{}`, 404},
			} {
				if r := s.do(t, c.method, c.path, c.body); r.status != c.status || r.body["message"] == nil {
					t.Errorf("%s %s %s: %d %s", c.method, c.path, c.body, r.status, r.raw)
				}
			}
		})

		t.Run("trigger a node", func(t *testing.T) {
			id := s.do(t, "POST", "/waiter", map[string]any{}).body["id"].(string)
			s.waitCurrent(t, id, "Wait")
			if r := s.do(t, "POST", "/management/processes/waiter/instances/"+id+"/nodes/Nowhere", nil); r.status != 404 {
				t.Errorf("unknown node: %d %s", r.status, r.raw)
			}
			// Cancelling a node instance: an unknown or ended one is not
			// found, as in SonataFlow; a running one cannot be cancelled
			// alone here (501, pointing to skip and abort).
			var running, ended string
			_ = s.db.QueryRowContext(t.Context(), `SELECT id FROM orchestrator_node_instances WHERE instance_id = $1 AND exit IS NULL ORDER BY enter DESC LIMIT 1`, id).Scan(&running)
			_ = s.db.QueryRowContext(t.Context(), `SELECT id FROM orchestrator_node_instances WHERE instance_id = $1 AND exit IS NOT NULL LIMIT 1`, id).Scan(&ended)
			if running == "" || ended == "" {
				t.Fatalf("node instances of the waiting instance: running %q, ended %q", running, ended)
			}
			for node, want := range map[string]int{"no-such-node": 404, ended: 404, running: 501} {
				if r := s.do(t, "DELETE", "/management/processes/waiter/instances/"+id+"/nodeInstances/"+node, nil); r.status != want || r.body["message"] == nil {
					t.Errorf("cancel node instance %s: %d %s, want %d", node, r.status, r.raw, want)
				}
			}
			r := s.do(t, "POST", "/management/processes/waiter/instances/"+id+"/nodes/Done", nil)
			if r.status != 200 || s.state(t, id) != "COMPLETED" {
				t.Fatalf("trigger: %d %s (%s)", r.status, r.raw, s.state(t, id))
			}
			// Its event wait is gone with the state it left.
			var waits int
			_ = s.db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM orchestrator_waits WHERE instance_id = $1`, id).Scan(&waits)
			if waits != 0 {
				t.Errorf("%d waits left", waits)
			}
			if r := s.do(t, "DELETE", "/management/processes/waiter/instances/"+id+"/nodeInstances/"+running, nil); r.status != 404 {
				t.Errorf("cancel a node instance of a completed instance: %d %s", r.status, r.raw)
			}
		})

		t.Run("reschedule and cancel timers", func(t *testing.T) {
			rt := s.App.Env().Orchestrator
			// A long sleep, so that the timer is still there when moved
			// however slow the machine is.
			writeFile(t, filepath.Join(s.dir, "longnap/longnap.sw.yaml"), strings.NewReplacer("id: nap", "id: longnap", "PT0.3S", "PT1H").Replace(testWorkflows["nap/nap.sw.yaml"]))
			deadline := time.Now().Add(10 * time.Second)
			for s.do(t, "GET", "/management/processes/longnap", nil).status != 200 {
				if time.Now().After(deadline) {
					t.Fatal("longnap was not loaded")
				}
				time.Sleep(20 * time.Millisecond)
			}
			id := s.do(t, "POST", "/longnap", map[string]any{}).body["id"].(string)
			timers, err := rt.Timers(t.Context(), "longnap", id)
			if err != nil || len(timers) != 1 {
				t.Fatalf("timers %v %v", timers, err)
			}
			later := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
			tm, err := rt.RescheduleTimer(t.Context(), "longnap", id, timers[0].TimerID, later, "tests")
			if err != nil || !tm.ExpirationTime.Equal(later) {
				t.Fatalf("reschedule: %v %v", tm, err)
			}
			if _, err := rt.RescheduleTimer(t.Context(), "longnap", id, "no-such-timer", later, "tests"); err == nil {
				t.Error("rescheduling an unknown timer succeeded")
			}
			if _, err := rt.RescheduleTimer(t.Context(), "longnap", id, timers[0].TimerID, time.Now(), "tests"); err != nil {
				t.Fatal(err)
			}
			s.waitState(t, id, "COMPLETED", 5*time.Second)

			id = s.do(t, "POST", "/longnap", map[string]any{}).body["id"].(string)
			timers, _ = rt.Timers(t.Context(), "longnap", id)
			if len(timers) != 1 {
				t.Fatalf("timers %v", timers)
			}
			if _, err := rt.CancelTimer(t.Context(), "longnap", id, timers[0].TimerID, "tests"); err != nil {
				t.Fatal(err)
			}
			if left, _ := rt.Timers(t.Context(), "longnap", id); len(left) != 0 {
				t.Errorf("timers after cancel: %v", left)
			}
		})
	})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
