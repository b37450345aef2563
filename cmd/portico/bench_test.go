package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkStartup measures a real portico process from exec to the first
// 200 on /healthcheck, on a fresh data directory and on one that already
// holds a migrated database, and reports its resident memory once idle.
// It runs the development setup (the example catalog, templates and
// workflows) on a port of its own.
//
//	go test -run '^$' -bench BenchmarkStartup -benchtime 20x ./cmd/portico/
func BenchmarkStartup(b *testing.B) {
	development, err := os.ReadFile("../../internal/app/development.yaml")
	if err != nil {
		b.Fatal(err)
	}
	dev := writeConfig(b, b.TempDir(), "development.yaml", string(development))
	for _, mode := range []string{"fresh", "existing"} {
		b.Run(mode, func(b *testing.B) {
			dir := b.TempDir()
			var rssTotal float64
			n := 0
			for b.Loop() {
				data := filepath.Join(dir, "data")
				if mode == "fresh" {
					data = filepath.Join(dir, fmt.Sprintf("data-%d", n))
				}
				cfg := writeConfig(b, dir, "app-config.yaml", "backend:\n  listen: {host: 127.0.0.1, port: 0}\n  dataDirectory: "+data+
					"\nauth:\n  providers:\n    guest: {dangerouslyAllowOutsideDevelopment: true}\n")
				start := time.Now()
				p := startServe(b, dir, "--config", dev, "--config", cfg, "--log-level", "warn")
				waitHealthy(b, p.addr, start)
				b.StopTimer()
				time.Sleep(200 * time.Millisecond) // idle
				rssTotal += rssMB(b, p.cmd.Process.Pid)
				_ = p.cmd.Process.Kill()
				<-p.done
				n++
				b.StartTimer()
			}
			b.ReportMetric(rssTotal/float64(n), "MB-idle-RSS")
		})
	}
}

func waitHealthy(b *testing.B, addr string, start time.Time) {
	for time.Since(start) < 20*time.Second {
		resp, err := http.Get("http://" + addr + "/healthcheck")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(time.Millisecond)
	}
	b.Fatal("no 200 from /healthcheck within 20s")
}

func rssMB(b *testing.B, pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				b.Fatal(err)
			}
			return float64(kb) / 1024
		}
	}
	b.Fatal("no VmRSS in /proc status")
	return 0
}

// BenchmarkAPIRoute loads a trivial authenticated /api route of a separate
// portico process from 64 concurrent clients and reports throughput and
// the 99th percentile latency.
//
//	go test -run '^$' -bench BenchmarkAPIRoute -benchtime 20000x ./cmd/portico/
func BenchmarkAPIRoute(b *testing.B) {
	dir := b.TempDir()
	cfg := writeConfig(b, dir, "app-config.yaml", "backend:\n  listen: {host: 127.0.0.1, port: 0}\n  dataDirectory: "+filepath.Join(dir, "data")+
		"\n  auth:\n    externalAccess:\n      - type: static\n        options: {token: bench-token-123, subject: bench}\n")
	p := startServe(b, dir, "--config", cfg, "--log-level", "warn")
	url := "http://" + p.addr + "/api/auth/providers"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128, MaxConnsPerHost: 128}}
	var mu sync.Mutex
	var latencies []time.Duration
	var failures atomic.Int64
	b.SetParallelism(32) // 2 cores × 32 = 64 clients
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		local := make([]time.Duration, 0, 1024)
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			req.Header.Set("Authorization", "Bearer bench-token-123")
			t0 := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				failures.Add(1)
				continue
			}
			_, _ = drain(resp)
			if resp.StatusCode != 200 {
				failures.Add(1)
			}
			local = append(local, time.Since(t0))
		}
		mu.Lock()
		latencies = append(latencies, local...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if f := failures.Load(); f > 0 {
		b.Fatalf("%d requests failed", f)
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	if len(latencies) > 0 {
		b.ReportMetric(float64(len(latencies))/elapsed.Seconds(), "req/s")
		b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "ms-p99")
		b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "ms-p50")
	}
}

func drain(resp *http.Response) (int64, error) {
	defer resp.Body.Close()
	var buf [512]byte
	var n int64
	for {
		m, err := resp.Body.Read(buf[:])
		n += int64(m)
		if err != nil {
			return n, nil
		}
	}
}

// waitingWorkflow waits for an approval-like event for up to a day (a
// timer besides the event wait), as a long-running workflow does.
const waitingWorkflow = `id: %s
version: "1.0"
specVersion: "0.8"
start: Wait
events:
  - name: go
    source: bench
    type: bench.go
states:
  - name: Wait
    type: event
    onEvents:
      - eventRefs: [go]
    timeouts:
      eventTimeout: P1D
    end: true
`

// BenchmarkOrchestratorMemory measures a real portico process with 50
// workflows loaded: resident memory idle, then with 10,000 instances each
// waiting for an event (and its timeout), then after a restart with them
// still waiting.
//
//	go test -run '^$' -bench BenchmarkOrchestratorMemory -benchtime 1x ./cmd/portico/
func BenchmarkOrchestratorMemory(b *testing.B) {
	const workflows, instances = 50, 10000
	for b.Loop() {
		dir := b.TempDir()
		for i := range workflows {
			id := fmt.Sprintf("wait-%02d", i)
			if err := os.MkdirAll(filepath.Join(dir, "wf", id), 0o755); err != nil {
				b.Fatal(err)
			}
			writeConfig(b, filepath.Join(dir, "wf", id), id+".sw.yaml", fmt.Sprintf(waitingWorkflow, id))
		}
		cfg := writeConfig(b, dir, "app-config.yaml", "backend:\n  listen: {host: 127.0.0.1, port: 0}\n  dataDirectory: "+filepath.Join(dir, "data")+
			"\norchestrator:\n  workflows: ["+filepath.Join(dir, "wf")+"]\n  runtimeApi: {allowUnauthenticated: true}\n")
		p := startServe(b, dir, "--config", cfg, "--log-level", "warn")
		time.Sleep(500 * time.Millisecond)
		b.ReportMetric(rssMB(b, p.cmd.Process.Pid), "MB-idle-50-workflows")

		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
		var next, failures atomic.Int64
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for {
					n := next.Add(1) - 1
					if n >= instances {
						return
					}
					url := fmt.Sprintf("http://%s/wait-%02d", p.addr, n%workflows)
					resp, err := client.Post(url, "application/json", strings.NewReader(`{"requestId": "r`+strconv.FormatInt(n, 10)+`"}`))
					if err != nil {
						failures.Add(1)
						continue
					}
					_, _ = drain(resp)
					if resp.StatusCode != http.StatusCreated {
						failures.Add(1)
					}
				}
			})
		}
		wg.Wait()
		if f := failures.Load(); f > 0 {
			b.Fatalf("%d starts failed", f)
		}
		time.Sleep(500 * time.Millisecond)
		b.ReportMetric(rssMB(b, p.cmd.Process.Pid), "MB-10k-waiting")
		_ = p.cmd.Process.Signal(os.Interrupt)
		<-p.done

		p = startServe(b, dir, "--config", cfg, "--log-level", "warn")
		time.Sleep(500 * time.Millisecond)
		b.ReportMetric(rssMB(b, p.cmd.Process.Pid), "MB-10k-waiting-restarted")
		resp, err := http.Get("http://" + p.addr + "/wait-07")
		if err != nil {
			b.Fatal(err)
		}
		var list []map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if len(list) != instances/workflows {
			b.Errorf("wait-07 has %d instances after the restart, want %d", len(list), instances/workflows)
		}
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}
