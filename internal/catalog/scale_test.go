package catalog

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/auth"
	"github.com/portico-dev/portico/internal/store"
	"github.com/portico-dev/portico/internal/store/storetest"
)

// generateCatalog writes about n entities with realistic relations into
// dir, 500 per file: for every 50 components a team (Group) with 5 users,
// a system and 10 APIs; components own by teams, belong to systems,
// provide and consume APIs and depend on each other. It returns the
// number of entities written.
func generateCatalog(t testing.TB, dir string, n int) int {
	t.Helper()
	var b strings.Builder
	count, file := 0, 0
	flush := func(force bool) {
		if b.Len() == 0 || (!force && count%500 != 0) {
			return
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("part-%05d.yaml", file)), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		file++
		b.Reset()
	}
	add := func(doc string) {
		b.WriteString("---\n")
		b.WriteString(doc)
		count++
		flush(false)
	}
	types := []string{"service", "website", "library", "worker"}
	lifecycles := []string{"production", "experimental", "deprecated"}
	for team := 0; count < n; team++ {
		add(fmt.Sprintf("apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-%d\n  description: Team number %d\nspec:\n  type: team\n  parent: org\n  children: []\n", team, team))
		for u := range 5 {
			add(fmt.Sprintf("apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata:\n  name: user-%d-%d\nspec:\n  profile:\n    email: user-%d-%d@example.com\n  memberOf: [team-%d]\n", team, u, team, u, team))
		}
		add(fmt.Sprintf("apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata:\n  name: system-%d\nspec:\n  owner: team-%d\n", team, team))
		for a := range 10 {
			add(fmt.Sprintf("apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: api-%d-%d\n  tags: [rest, team-%d]\nspec:\n  type: openapi\n  lifecycle: production\n  owner: team-%d\n  system: system-%d\n  definition: \"openapi: 3.0.0\"\n", team, a, team, team, team))
		}
		for c := range 50 {
			add(fmt.Sprintf(`apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: component-%d-%d
  description: Component %d of team %d, which does useful things
  tags: [go, team-%d]
  labels:
    tier: t%d
  annotations:
    github.com/project-slug: example/component-%d-%d
spec:
  type: %s
  lifecycle: %s
  owner: team-%d
  system: system-%d
  providesApis: [api-%d-%d]
  consumesApis: [api-%d-%d]
  dependsOn: [component:component-%d-%d]
`, team, c, c, team, team, c%3, team, c, types[c%len(types)], lifecycles[c%3], team, team, team, c%10, team, (c+1)%10, team, (c+1)%50))
			if count >= n {
				break
			}
		}
	}
	flush(true)
	return count
}

// TestScale is the ingestion and query benchmark: set PORTICO_CATALOG_SCALE
// to the number of entities (e.g. 100000). It ingests generated files
// until every entity is stitched and then times the API's queries.
func TestScale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("PORTICO_CATALOG_SCALE"))
	if n == 0 {
		t.Skip("set PORTICO_CATALOG_SCALE=<entities> to run the scale benchmark")
	}
	run := func(t *testing.T, db *store.DB) {
		dir := t.TempDir()
		total := generateCatalog(t, dir, n)
		if p := os.Getenv("PRAGMA"); p != "" {
			if _, err := db.ExecContext(context.Background(), p); err != nil {
				t.Fatal(err)
			}
		}
		cfg := Config{Locations: []ConfigLocation{{Type: "file", Target: filepath.Join(dir, "*.yaml"),
			Rules: []CatalogRule{{Allow: kinds("Component", "API", "System", "Group", "User", "Location")}}}}}
		s, err := New(Options{DB: db, Config: cfg, WatchInterval: -1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		if path := os.Getenv("PORTICO_CATALOG_HEAPPROFILE"); path != "" {
			go keepPeakHeapProfile(ctx, path)
		}
		done := make(chan error, 1)
		cpuBefore := processCPU()
		start := time.Now()
		lastProgress := start
		go func() { done <- s.Run(ctx) }()
		defer func() { cancel(); <-done }()
		want := total + 1 // the config location's own entity
		for {
			// Counting 100k final rows ten times a second took a fifth of
			// a core from the load being measured: the largest search_id
			// (an upper bound of the count, found in the index) gates the
			// exact count.
			var finals, queued, maxID int
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM catalog_stitch_queue`).Scan(&queued); err != nil {
				t.Fatal(err)
			}
			if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(search_id), 0) FROM catalog_final_entities`).Scan(&maxID); err != nil {
				t.Fatal(err)
			}
			if queued == 0 && maxID >= want {
				if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM catalog_final_entities`).Scan(&finals); err != nil {
					t.Fatal(err)
				}
				if finals >= want {
					break
				}
			}
			if time.Since(lastProgress) >= 10*time.Second {
				// Whether processing or stitching is behind.
				lastProgress = time.Now()
				t.Logf("after %v: about %d stitched, %d queued for stitching", time.Since(start).Round(time.Second), maxID, queued)
			}
			if time.Since(start) > 30*time.Minute {
				t.Fatalf("not done after 30 minutes: about %d of %d stitched", maxID, want)
			}
			time.Sleep(100 * time.Millisecond)
		}
		elapsed := time.Since(start)
		t.Logf("ingested %d entities in %v: %.0f entities/s", total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds())
		// CPU time varies less than elapsed time on a shared machine: it
		// compares the work two versions do.
		if cpu := processCPU() - cpuBefore; cpu > 0 {
			t.Logf("CPU time of the load %v (%.0f µs per entity)", cpu.Round(time.Millisecond), float64(cpu.Microseconds())/float64(total))
		}
		// Entities written again as relations to them arrive cost as much as
		// the first write; this says how often that happened.
		stitches := s.stitched.Load() + s.analyzedAt.Load()
		t.Logf("final entities written %d times (%.2f per entity)", stitches, float64(stitches)/float64(want))
		logMemory(t, "after ingest")

		time50 := func(name string, fn func() error) {
			if os.Getenv("PORTICO_CATALOG_EXPLAIN") != "" {
				// Print the plan of each query the first run makes.
				s.tracer = func(ctx context.Context, query string, args []any) { logPlan(t, db, name, query, args) }
				err := fn()
				s.tracer = nil
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
			}
			var ds []time.Duration
			for range 20 {
				st := time.Now()
				if err := fn(); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				ds = append(ds, time.Since(st))
			}
			slices.Sort(ds)
			t.Logf("%-40s p50 %8v  p90 %8v", name, ds[len(ds)/2].Round(time.Microsecond), ds[len(ds)*9/10].Round(time.Microsecond))
		}
		filter, _ := ParseFilterParams([]string{"kind=component,spec.type=service"})
		time50("list kind=component,spec.type=service limit 50", func() error {
			k := 0
			return s.ListEntities(ctx, ListRequest{Filter: filter, Limit: 51}, func([]byte) error { k++; return nil })
		})
		first, err := s.QueryEntities(ctx, QueryRequest{Filter: filter, OrderFields: []OrderField{{Field: "metadata.name", Order: "asc"}}, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		time50("by-query with a cursor", func() error {
			_, err := s.QueryEntities(ctx, QueryRequest{Cursor: first.NextCursor, Limit: 50})
			return err
		})
		time50("by-query first page with count", func() error {
			_, err := s.QueryEntities(ctx, QueryRequest{Filter: filter, OrderFields: []OrderField{{Field: "metadata.name", Order: "asc"}}, Limit: 50})
			return err
		})
		time50("facets spec.type", func() error {
			_, err := s.Facets(ctx, []string{"spec.type"}, nil)
			return err
		})
		kindComponent, _ := ParseFilterParams([]string{"kind=component"})
		time50("facets metadata.tags (kind=component)", func() error {
			_, err := s.Facets(ctx, []string{"metadata.tags"}, kindComponent)
			return err
		})
		// An RBAC conditional read (IS_ENTITY_OWNER with the caller's
		// user and group) narrows every page and count.
		owned, err := ConditionFilter(&auth.Condition{Rule: "IS_ENTITY_OWNER", Params: map[string]any{"claims": []any{"user:default/user-7-0", "group:default/team-7"}}})
		if err != nil {
			t.Fatal(err)
		}
		time50("by-query, readable by owner, with count", func() error {
			_, err := s.QueryEntities(ctx, QueryRequest{Filter: kindComponent, Readable: &owned, OrderFields: []OrderField{{Field: "metadata.name", Order: "asc"}}, Limit: 50})
			return err
		})
		time50("facets spec.type, readable by owner", func() error {
			_, err := s.Facets(ctx, []string{"spec.type"}, &owned)
			return err
		})
		time50("full text 'component-7-1' on metadata.name", func() error {
			_, err := s.QueryEntities(ctx, QueryRequest{FullTextTerm: "component-7-1", FullTextFields: []string{"metadata.name"}, Limit: 50})
			return err
		})
		time50("by name", func() error {
			_, err := s.EntityJSON(ctx, Ref{Kind: "component", Namespace: "default", Name: "component-3-7"})
			return err
		})
		if os.Getenv("PORTICO_CATALOG_DBSTAT") != "" && db.Dialect() == store.SQLite {
			logTableSizes(t, db)
		}
		logMemory(t, "after the queries")
	}
	t.Run("sqlite", func(t *testing.T) { run(t, storetest.SQLite(t, Migrations)) })
	t.Run("postgres", func(t *testing.T) { run(t, storetest.Postgres(t, Migrations)) })
}

// logPlan logs the query plan of query (EXPLAIN ANALYZE on PostgreSQL,
// EXPLAIN QUERY PLAN on SQLite).
func logPlan(t *testing.T, db *store.DB, name, query string, args []any) {
	t.Helper()
	explain := "EXPLAIN QUERY PLAN "
	if db.Dialect() == store.Postgres {
		explain = "EXPLAIN (ANALYZE, BUFFERS) "
	}
	rows, err := db.QueryContext(context.Background(), explain+query, args...)
	if err != nil {
		t.Logf("%s: explain: %v", name, err)
		return
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var b strings.Builder
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Logf("%s: explain: %v", name, err)
			return
		}
		fmt.Fprintln(&b, vals...)
	}
	t.Logf("%s\n%s\n%s", name, query, b.String())
}

// logTableSizes logs the size of each SQLite table and index (dbstat), to
// see where a bulk load's pages go.
func logTableSizes(t *testing.T, db *store.DB) {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), `SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC`)
	if err != nil {
		t.Logf("dbstat: %v", err)
		return
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var name string
		var size int64
		if err := rows.Scan(&name, &size); err != nil {
			t.Logf("dbstat: %v", err)
			return
		}
		fmt.Fprintf(&b, "%-50s %6.1f MB\n", name, float64(size)/(1<<20))
	}
	t.Logf("table and index sizes:\n%s", b.String())
}

// keepPeakHeapProfile writes a heap profile to path whenever the live heap
// (as of the last collection) is larger than at any earlier check, so the
// file ends up showing what was held at the peak.
func keepPeakHeapProfile(ctx context.Context, path string) {
	var peak uint64
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	for ctx.Err() == nil {
		metrics.Read(sample)
		if v := sample[0].Value.Uint64(); v > peak+(8<<20) {
			peak = v
			if f, err := os.Create(path); err == nil {
				_ = pprof.WriteHeapProfile(f)
				f.Close()
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// processCPU returns the CPU time (user and system) the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// logMemory logs the peak and current resident memory and what of it is
// the Go runtime's (the rest is mostly SQLite's page caches and sorters,
// outside the Go heap).
func logMemory(t *testing.T, when string) {
	t.Helper()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	line := fmt.Sprintf("%s: Go runtime Sys %d MB, HeapSys %d MB, HeapInuse now %d MB", when, ms.Sys>>20, ms.HeapSys>>20, ms.HeapInuse>>20)
	if data, err := os.ReadFile("/proc/self/status"); err == nil {
		for l := range strings.SplitSeq(string(data), "\n") {
			if strings.HasPrefix(l, "VmHWM") || strings.HasPrefix(l, "VmRSS") {
				line += "; " + strings.Join(strings.Fields(l), " ")
			}
		}
	}
	t.Log(line)
}
