package nunjucks_test

import (
	"context"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/scaffolder/nunjucks"
)

// skeletonFile is a typical 30-line skeleton file: a handful of
// expressions, filters, an if and a for.
const skeletonFile = `# ${{ values.name | title }}
# file FILE_ID

${{ values.description }}

apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: ${{ values.name | dump }}
  description: ${{ values.description | dump }}
  annotations:
    github.com/project-slug: ${{ values.owner }}/${{ values.name }}
  tags:
{%- for tag in values.tags %}
    - ${{ tag | lower }}
{%- endfor %}
spec:
  type: ${{ values.type | default('service') }}
  lifecycle: experimental
  owner: ${{ values.owner }}
{%- if values.system %}
  system: ${{ values.system }}
{%- else %}
  # no system
{%- endif %}
  providesApis:
    - ${{ values.name }}-api
ports:
  http: ${{ values.port + 1 }}
  admin: ${{ values.port * 2 }}
`

func benchData() map[string]any {
	return map[string]any{"values": map[string]any{
		"name": "payments-service", "description": "Takes the money", "owner": "team-a",
		"tags": []any{"Go", "HTTP", "Payments"}, "system": "billing", "port": 8080.0,
	}}
}

func distinctFiles(n int) []string {
	files := make([]string, n)
	for i := range files {
		files[i] = replaceAll(skeletonFile, "FILE_ID", strconv.Itoa(i))
	}
	return files
}

func replaceAll(s, old, repl string) string {
	out := ""
	for {
		i := indexOf(s, old)
		if i < 0 {
			return out + s
		}
		out += s[:i] + repl
		s = s[i+len(old):]
	}
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// BenchmarkRender1000Files renders 1,000 distinct skeleton files (each
// parsed, as fetch:template does for a skeleton it has not seen); one op is
// the whole batch. Target: < 100 ms per op.
func BenchmarkRender1000Files(b *testing.B) {
	files := distinctFiles(1000)
	data := benchData()
	ctx := context.Background()
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		env := nunjucks.New(nunjucks.Options{})
		for _, f := range files {
			if _, err := env.RenderString(ctx, f, data); err != nil {
				b.Fatal(err)
			}
		}
	}
	// Wall time suffers when the machine is shared; the process CPU time
	// per batch is reported beside it.
	b.ReportMetric(float64((cpuTime()-start).Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRenderCached renders one skeleton file whose compilation is
// cached; one op is one file.
func BenchmarkRenderCached(b *testing.B) {
	env := nunjucks.New(nunjucks.Options{})
	data := benchData()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := env.RenderString(ctx, skeletonFile, data); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSkeletonRenders keeps the benchmark's template honest.
func TestSkeletonRenders(t *testing.T) {
	out, err := nunjucks.New(nunjucks.Options{}).RenderString(context.Background(), skeletonFile, benchData())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# Payments-service", `name: "payments-service"`, "    - http", "  system: billing", "  admin: 16160"} {
		if indexOf(out, want) < 0 {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
