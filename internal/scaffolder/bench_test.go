package scaffolder_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/app/apptest"
	"github.com/portico-dev/portico/internal/scaffolder"
)

const benchTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: bench}
spec:
  type: service
  steps:
    - {id: a, action: debug:log, input: {message: "one ${{ parameters.n }}"}}
    - {id: b, action: debug:log, input: {message: "two ${{ steps.a.output.x }}"}}
    - {id: c, action: debug:log, input: {message: three}}
`

func benchServer(b *testing.B, workers int) *apptest.Instance {
	b.Helper()
	dir := b.TempDir()
	tpl := filepath.Join(dir, "template.yaml")
	if err := os.WriteFile(tpl, []byte(benchTemplate), 0o600); err != nil {
		b.Fatal(err)
	}
	inst := apptest.Start(b, apptest.Options{Postgres: os.Getenv("PORTICO_BENCH_POSTGRES") != "", Config: `
auth:
  providers:
    guest: {allowUnauthenticated: true, dangerouslyAllowOutsideDevelopment: true}
catalog:
  locations:
    - {type: file, target: ` + tpl + `, rules: [{allow: [Template]}]}
scaffolder:
  concurrentTasksLimit: ` + strings.TrimSpace(itoa(workers)) + `
`})
	waitFor(b, "the template", func() bool {
		resp, err := http.Get(inst.URL + "/api/scaffolder/v2/templates/default/template/bench/parameter-schema")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return inst
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func postTask(b *testing.B, url string) string {
	resp, err := http.Post(url+"/api/scaffolder/v2/tasks", "application/json", strings.NewReader(`{"templateRef":"bench","values":{"n":1}}`))
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var c struct{ ID string }
	if resp.StatusCode != http.StatusCreated || json.NewDecoder(resp.Body).Decode(&c) != nil {
		b.Fatalf("create: %d", resp.StatusCode)
	}
	return c.ID
}

// BenchmarkTaskStartLatency measures from sending POST /v2/tasks to the
// first step starting (its "Beginning step" event), one task at a time.
func BenchmarkTaskStartLatency(b *testing.B) {
	inst := benchServer(b, 10)
	svc := inst.App.Env().Scaffolder
	var lat []time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		id := postTask(b, inst.URL)
		var began time.Time
		for began.IsZero() {
			evs, err := svc.WaitEvents(context.Background(), id, 0, 10*time.Second, nil)
			if err != nil {
				b.Fatal(err)
			}
			for _, e := range evs {
				if strings.Contains(string(e.Body), `"status":"processing"`) {
					began = e.CreatedAt
					break
				}
			}
			if began.IsZero() {
				time.Sleep(time.Millisecond)
			}
		}
		lat = append(lat, began.Sub(start))
		waitDone(b, svc, id)
	}
	b.StopTimer()
	slices.Sort(lat)
	p := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(p(0.5), "p50-ms")
	b.ReportMetric(p(0.99), "p99-ms")
}

// BenchmarkTaskThroughput runs 3-step debug:log tasks on 10 workers and
// reports tasks completed per second.
func BenchmarkTaskThroughput(b *testing.B) {
	inst := benchServer(b, 10)
	svc := inst.App.Env().Scaffolder
	b.ResetTimer()
	start := time.Now()
	var ids []string
	for b.Loop() {
		ids = append(ids, postTask(b, inst.URL))
	}
	for _, id := range ids {
		if task := waitDone(b, svc, id); task.Status != scaffolder.StatusCompleted {
			b.Fatalf("task %s: %s", id, task.Status)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(len(ids))/time.Since(start).Seconds(), "tasks/s")
}
