package orchestrator_test

import (
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/app/apptest"
)

// BenchmarkStartGreeting drives POST /greeting over HTTP (the example
// greeting: switch → inject → operation with sysout → end) from several
// clients and reports start→complete throughput and latency percentiles.
// Each request returns after the instance has completed and its journal is
// committed.
//
//	go test -run '^$' -bench StartGreeting -benchtime 5000x ./internal/orchestrator/
func BenchmarkStartGreeting(b *testing.B) {
	for _, pg := range []bool{false, true} {
		name := "sqlite"
		if pg {
			name = "postgres"
		}
		b.Run(name, func(b *testing.B) {
			if pg && os.Getenv("PORTICO_TEST_POSTGRES_URL") == "" {
				b.Skip("PORTICO_TEST_POSTGRES_URL is not set")
			}
			inst := apptest.Start(b, apptest.Options{Postgres: pg, Config: `
orchestrator:
  workflows: ["embedded:workflows"]
  runtimeApi: {allowUnauthenticated: true}
`})
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			body := `{"workflowdata": {"language": "Spanish", "name": "Ana"}}`
			var mu sync.Mutex
			var lat []time.Duration
			b.SetParallelism(4)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				var mine []time.Duration
				for pb.Next() {
					t0 := time.Now()
					resp, err := client.Post(inst.URL+"/greeting", "application/json", strings.NewReader(body))
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusCreated {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
					mine = append(mine, time.Since(t0))
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			})
			elapsed := time.Since(start)
			b.StopTimer()
			if len(lat) == 0 {
				return
			}
			slices.Sort(lat)
			pct := func(p float64) float64 {
				return float64(lat[min(len(lat)-1, int(float64(len(lat))*p))].Microseconds()) / 1000
			}
			b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "instances/s")
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
		})
	}
}
