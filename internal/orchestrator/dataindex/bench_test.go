package dataindex_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/app/apptest"
	"github.com/portico-dev/portico/internal/orchestrator/dataindex"
	"github.com/portico-dev/portico/internal/store"
)

const (
	benchInstances = 100_000
	benchWorkflows = 50
)

// BenchmarkDataIndex measures the Data Index through its HTTP handler
// with 100,000 instances stored (three node instances each) across 50
// deployed workflows:
//
//   - page: 50 instances of one workflow in one state, newest first;
//   - pluginPage: the plugin's own list query (and: [...], in, newest
//     first, variables and nodes selected);
//   - pluginAllWorkflows: the same over all 50 workflows, any state;
//   - byID: one instance with its nodes (the plugin's FindProcessInstanceQuery);
//   - definitions: the 50 workflows with their sources.
//
// Each reports ns/op, its median latency (p50-ms) and the process's CPU
// time per query (cpu-ms/op, which includes the database's work on SQLite
// but not on PostgreSQL).
//
//	go test -run '^$' -bench DataIndex -benchtime 200x ./internal/orchestrator/dataindex/
func BenchmarkDataIndex(b *testing.B) {
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
			for i := range benchWorkflows {
				id := fmt.Sprintf("wf-%03d", i)
				src := fmt.Sprintf("id: %s\nversion: \"1.0\"\nspecVersion: \"0.8\"\nname: Workflow %d\ndescription: a benchmark workflow\nstart: Done\nstates:\n  - name: Done\n    type: inject\n    data: {done: true}\n    end: true\n", id, i)
				if err := os.WriteFile(filepath.Join(dir, id+".sw.yaml"), []byte(src), 0o600); err != nil {
					b.Fatal(err)
				}
			}
			inst := apptest.Start(b, apptest.Options{Postgres: pg, Config: fmt.Sprintf(`
orchestrator:
  workflows: [%q]
  runtimeApi: {allowUnauthenticated: true}
  reloadInterval: -1s
`, dir)})
			env := inst.App.Env()
			t0 := time.Now()
			target := fill(b, env.DB)
			b.Logf("stored %d instances in %v", benchInstances, time.Since(t0).Round(time.Millisecond))
			svc := dataindex.New(dataindex.Options{Runtime: env.Orchestrator, DB: env.DB})

			run := func(name, query string, check func(body string) bool) {
				b.Run(name, func(b *testing.B) {
					body := `{"query": ` + quoteJSON(query) + `}`
					lat := make([]time.Duration, 0, b.N)
					cpu0 := cpuTime()
					b.ResetTimer()
					for range b.N {
						start := time.Now()
						req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
						req.Header.Set("Content-Type", "application/json")
						rec := httptest.NewRecorder()
						svc.ServeHTTP(rec, req)
						lat = append(lat, time.Since(start))
						if rec.Code != http.StatusOK || !check(rec.Body.String()) {
							b.Fatalf("status %d: %.500s", rec.Code, rec.Body.String())
						}
					}
					b.StopTimer()
					slices.Sort(lat)
					b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
					// CPU time says what a query costs when the machine is
					// shared and wall-clock latency mostly measures waiting.
					b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
				})
			}
			fifty := func(body string) bool {
				return strings.Count(body, `"id":`) == 50 && !strings.Contains(body, `"errors"`)
			}
			run("page", `{ProcessInstances(where: {processId: {equal: "wf-007"}, state: {equal: COMPLETED}}, orderBy: {start: DESC}, pagination: {limit: 50, offset: 0}) {id processId processName state start end businessKey lastUpdate}}`, fifty)
			run("pluginPage", `{ProcessInstances (where: {and: [{processId: {isNull: false}}, {processId: {in: ["wf-001","wf-002","wf-003"]}}, {state: {in: [COMPLETED]}}]}, orderBy: {start: DESC}, pagination: {limit: 50, offset: 0}) {id, processName, processId, state, start, end, nodes { id }, variables, executionSummary, parentProcessInstance {id, processName, businessKey} } }`,
				func(body string) bool {
					return strings.Count(body, `"processId":`) == 50 && !strings.Contains(body, `"errors"`)
				})
			var all []string
			for i := range benchWorkflows {
				all = append(all, fmt.Sprintf("%q", fmt.Sprintf("wf-%03d", i)))
			}
			run("pluginAllWorkflows", `{ProcessInstances (where: {and: [{processId: {isNull: false}}, {processId: {in: [`+strings.Join(all, ",")+`]}}]}, orderBy: {start: DESC}, pagination: {limit: 50, offset: 0}) {id, processName, processId, state, start, end, nodes { id }, variables, executionSummary, parentProcessInstance {id, processName, businessKey} } }`,
				func(body string) bool {
					return strings.Count(body, `"processId":`) == 50 && !strings.Contains(body, `"errors"`)
				})
			run("byID", `{ProcessInstances(where: { id: { equal: "`+target+`" } }) {
  id processName processId serviceUrl executionSummary state start end
  nodes { id nodeId definitionId type name enter exit errorMessage }
  variables parentProcessInstance { id processName businessKey } error { nodeDefinitionId nodeInstanceId message } } }`,
				func(body string) bool { return strings.Contains(body, target) && strings.Count(body, `"nodeId":`) == 3 })
			run("definitions", `{ProcessDefinitions (pagination: {limit: 50, offset: 0}) {id, name, version, type, endpoint, serviceUrl, source, metadata } }`,
				func(body string) bool { return strings.Count(body, `"serviceUrl":`) == 50 })
		})
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func quoteJSON(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// fill stores benchInstances instances with three node instances each,
// spread over the workflows and states, generated inside the database
// (a recursive CTE on SQLite, generate_series on PostgreSQL) so that
// setting up takes seconds, and returns the id of one of them. Times are
// written as each driver writes a time.Time, so that comparisons with
// bound times hold.
func fill(b *testing.B, db *store.DB) string {
	ctx := context.Background()
	base := time.Now().UTC().Add(-time.Duration(benchInstances) * time.Second).Truncate(time.Second)
	// i -> id, workflow, state (COMPLETED half the time, then ACTIVE,
	// ERROR, ABORTED), start = base + i seconds, end a second later
	// unless ACTIVE or ERROR.
	var stmts []string
	if db.Dialect() == store.SQLite {
		ts := func(offset string) string {
			return `strftime('%Y-%m-%d %H:%M:%S', $1, '+' || (i` + offset + `) || ' seconds') || '+00:00'`
		}
		gen := `WITH RECURSIVE g(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM g WHERE i < $2 - 1),
			s(i, st) AS (SELECT i, CASE (i / 50) % 6 WHEN 3 THEN 'ACTIVE' WHEN 4 THEN 'ERROR' WHEN 5 THEN 'ABORTED' ELSE 'COMPLETED' END FROM g) `
		stmts = []string{
			gen + `INSERT INTO orchestrator_instances (id, process_id, process_name, version, definition_hash, state, variables, started_at, ended_at, last_update)
			SELECT printf('00000000-0000-4000-8000-%012d', i), printf('wf-%03d', i % 50), 'Workflow', '1.0', 'h', st,
				'{"workflowdata": {"n": ' || i || ', "language": "English"}, "initiatorEntity": "user:default/u' || (i % 100) || '"}',
				` + ts("") + `, CASE WHEN st IN ('ACTIVE', 'ERROR') THEN NULL ELSE ` + ts("+1") + ` END, ` + ts("+1") + ` FROM s`,
			gen + `INSERT INTO orchestrator_node_instances (instance_id, id, definition_id, name, type, enter, exit)
			SELECT printf('00000000-0000-4000-8000-%012d', i), n.id, n.id, 'Done', 'ActionNode', ` + ts("") + `, ` + ts("") + `
			FROM s, (SELECT 'start' AS id UNION ALL SELECT '1' UNION ALL SELECT 'end') n`,
		}
	} else {
		gen := `WITH s AS (SELECT i, CASE (i / 50) % 6 WHEN 3 THEN 'ACTIVE' WHEN 4 THEN 'ERROR' WHEN 5 THEN 'ABORTED' ELSE 'COMPLETED' END AS st
			FROM generate_series(0, $2::int - 1) AS i) `
		stmts = []string{
			gen + `INSERT INTO orchestrator_instances (id, process_id, process_name, version, definition_hash, state, variables, started_at, ended_at, last_update)
			SELECT '00000000-0000-4000-8000-' || lpad(i::text, 12, '0'), 'wf-' || lpad((i % 50)::text, 3, '0'), 'Workflow', '1.0', 'h', st,
				'{"workflowdata": {"n": ' || i || ', "language": "English"}, "initiatorEntity": "user:default/u' || (i % 100) || '"}',
				$1::timestamptz + i * interval '1 second', CASE WHEN st IN ('ACTIVE', 'ERROR') THEN NULL ELSE $1::timestamptz + (i + 1) * interval '1 second' END,
				$1::timestamptz + (i + 1) * interval '1 second' FROM s`,
			gen + `INSERT INTO orchestrator_node_instances (instance_id, id, definition_id, name, type, enter, exit)
			SELECT '00000000-0000-4000-8000-' || lpad(i::text, 12, '0'), n.id, n.id, 'Done', 'ActionNode', $1::timestamptz + i * interval '1 second',
				$1::timestamptz + i * interval '1 second' FROM s, (VALUES ('start'), ('1'), ('end')) AS n(id)`,
		}
	}
	var baseArg any = base
	if db.Dialect() == store.SQLite {
		baseArg = base.Format("2006-01-02 15:04:05")
	}
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q, baseArg, benchInstances); err != nil {
			b.Fatalf("fill: %v", err)
		}
	}
	// The planner's statistics, as a database in use has them.
	if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
		b.Fatalf("analyze: %v", err)
	}
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", benchInstances/2)
}
