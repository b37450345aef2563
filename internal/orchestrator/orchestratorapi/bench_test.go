package orchestratorapi_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/app/apptest"
	"github.com/portico-dev/portico/internal/auth"
)

// benchInstances is how many instances the benchmarks store.
const benchInstances = 100_000

// BenchmarkV2 measures the routes the plugin's UI polls, over HTTP, with
// 50 deployed workflows and 100,000 stored instances: the overview of the
// 50 workflows (a last-run probe each), a page of 50 instances of one
// workflow in one state ordered by start, the same page for a user
// without instanceAdminView (only their own instances), and one instance
// with its nodes.
//
//	go test -run '^$' -bench V2 -benchtime 200x ./internal/orchestrator/orchestratorapi/
func BenchmarkV2(b *testing.B) {
	for _, pg := range []bool{false, true} {
		name := "sqlite"
		if pg {
			name = "postgres"
		}
		b.Run(name, func(b *testing.B) {
			if pg && os.Getenv("PORTICO_TEST_POSTGRES_URL") == "" {
				b.Skip("PORTICO_TEST_POSTGRES_URL is not set")
			}
			dir := b.TempDir()
			for i := range 50 {
				id := fmt.Sprintf("wf%02d", i)
				text := fmt.Sprintf("id: %s\nversion: \"1.0\"\nspecVersion: \"0.8\"\nname: Workflow %02d\nannotations: [workflow-type/infrastructure]\nstart: Done\nstates:\n  - name: Done\n    type: inject\n    data: {done: true}\n    end: true\n", id, i)
				if err := os.MkdirAll(filepath.Join(dir, id), 0o755); err != nil {
					b.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, id, id+".sw.yaml"), []byte(text), 0o644); err != nil {
					b.Fatal(err)
				}
			}
			inst := apptest.Start(b, apptest.Options{Postgres: pg, Config: "orchestrator:\n  workflows: [" + dir + "]\n"})
			seed(b, inst, benchInstances)
			tok := func(user string) string {
				s, _, err := inst.App.Env().Tokens.Issue(context.Background(), user, []string{user})
				if err != nil {
					b.Fatal(err)
				}
				return s
			}
			admin, user := tok(alice), tok("user:default/u3")
			// u3 reads every workflow but is no instance admin.
			inst.App.Env().Permissions.SetPolicy(benchPolicy{})
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
			post := func(b *testing.B, token, path, body string) []byte {
				req, _ := http.NewRequest("POST", inst.URL+"/api/orchestrator"+path, strings.NewReader(body))
				if body == "" {
					req, _ = http.NewRequest("GET", inst.URL+"/api/orchestrator"+path, nil)
				}
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				defer resp.Body.Close()
				out, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != 200 {
					b.Fatalf("%s: %d %s", path, resp.StatusCode, out)
				}
				return out
			}
			cases := []struct {
				name, token, path, body string
				check                   func([]byte) bool
			}{
				{"overview-50", admin, "/v2/workflows/overview", `{"paginationInfo": {"pageSize": 50}}`, func(b []byte) bool {
					var l overviewList
					return json.Unmarshal(b, &l) == nil && len(l.Overviews) == 50 && l.Overviews[0].LastRunID != ""
				}},
				{"instances-page-50", admin, "/v2/workflows/instances", `{"filters": {"operator": "AND", "filters": [
					{"field": "processId", "operator": "EQ", "value": "wf07"}, {"field": "state", "operator": "EQ", "value": "COMPLETED"}]},
					"paginationInfo": {"pageSize": 50, "orderBy": "start", "orderDirection": "DESC"}}`, func(b []byte) bool {
					var l instanceList
					return json.Unmarshal(b, &l) == nil && len(l.Items) == 50
				}},
				{"instances-page-50-own", user, "/v2/workflows/instances", `{"paginationInfo": {"pageSize": 50}}`, func(b []byte) bool {
					var l instanceList
					return json.Unmarshal(b, &l) == nil && len(l.Items) == 50 && l.Items[0].InitiatorEntity == "user:default/u3"
				}},
				{"instance-by-id", admin, "/v2/workflows/instances/i0054321", "", func(b []byte) bool {
					var in instanceDTO
					return json.Unmarshal(b, &in) == nil && in.ID == "i0054321" && len(in.Nodes) == 2
				}},
			}
			for _, c := range cases {
				b.Run(c.name, func(b *testing.B) {
					if out := post(b, c.token, c.path, c.body); !c.check(out) {
						b.Fatalf("unexpected answer: %.500s", out)
					}
					lat := make([]time.Duration, 0, b.N)
					b.ResetTimer()
					for b.Loop() {
						t0 := time.Now()
						post(b, c.token, c.path, c.body)
						lat = append(lat, time.Since(t0))
					}
					b.StopTimer()
					slices.Sort(lat)
					b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
					b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds())/1000, "p99-ms")
				})
			}
		})
	}
}

// benchPolicy lets everyone read every workflow; only alice sees every
// instance.
type benchPolicy struct{}

func (benchPolicy) Decide(_ context.Context, p auth.Principal, req auth.Request) (auth.Decision, error) {
	if req.Permission.Name == "orchestrator.instanceAdminView" && p.Subject != alice {
		return auth.Deny, nil
	}
	return auth.Allow, nil
}

// seed stores n finished instances spread over the 50 workflows, 10 users
// and 4 states, each with a start and an end node, in batches.
func seed(b *testing.B, inst *apptest.Instance, n int) {
	b.Helper()
	db := inst.App.Env().DB
	states := []string{"COMPLETED", "COMPLETED", "ERROR", "ABORTED"}
	base := time.Now().UTC().Add(-time.Duration(n) * time.Second).Truncate(time.Microsecond)
	const batch = 500
	for lo := 0; lo < n; lo += batch {
		err := db.Tx(context.Background(), func(tx *sql.Tx) error {
			var rows, nodes []string
			var args, nargs []any
			for i := lo; i < min(lo+batch, n); i++ {
				id := fmt.Sprintf("i%07d", i)
				start := base.Add(time.Duration(i) * time.Second)
				end := start.Add(time.Second)
				vars := fmt.Sprintf(`{"workflowdata": {"n": %d, "done": true}, "initiatorEntity": "user:default/u%d", "targetEntity": "component:default/c%d"}`, i, i%10, i%100)
				k := len(args)
				rows = append(rows, fmt.Sprintf("($%d, $%d, $%d, '1.0', 'x', $%d, $%d, $%d, $%d, $%d)", k+1, k+2, k+3, k+4, k+5, k+6, k+7, k+8))
				args = append(args, id, fmt.Sprintf("wf%02d", i%50), fmt.Sprintf("Workflow %02d", i%50), states[i%4], vars, start, end, end)
				k = len(nargs)
				nodes = append(nodes, fmt.Sprintf("($%d, 'start', 'start', 'Start', 'StartNode', $%d, $%d), ($%d, '1', 'Done', 'Done', 'InjectNode', $%d, $%d)", k+1, k+2, k+3, k+4, k+5, k+6))
				nargs = append(nargs, id, start, start, id, start, end)
			}
			if _, err := tx.Exec(`INSERT INTO orchestrator_instances (id, process_id, process_name, version, definition_hash, state, variables,
				started_at, ended_at, last_update) VALUES `+strings.Join(rows, ", "), args...); err != nil {
				return err
			}
			_, err := tx.Exec(`INSERT INTO orchestrator_node_instances (instance_id, id, definition_id, name, type, enter, exit) VALUES `+strings.Join(nodes, ", "), nargs...)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	if _, err := db.ExecContext(context.Background(), "ANALYZE"); err != nil {
		b.Fatal(err)
	}
}
