package notifications_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/app/apptest"
	"github.com/portico-dev/portico/internal/store"
)

// seedUser gives user n notifications (a tenth of them read) and the
// server 20 broadcasts, written straight to the tables in large batches.
func seedUser(b *testing.B, inst *apptest.Instance, user string, n int) {
	b.Helper()
	db := inst.App.Env().DB
	ctx := context.Background()
	base := store.Now().Add(-time.Duration(n) * time.Second)
	const chunk = 500
	for start := 0; start < n; start += chunk {
		var values []string
		var args []any
		for i := start; i < min(start+chunk, n); i++ {
			var read any
			if i%10 == 0 {
				read = base
			}
			p := len(args)
			values = append(values, fmt.Sprintf("($%d, $%d, $%d, $%d, 'normal', 'plugin:bench', $%d, $%d)", p+1, p+2, p+3, p+4, p+5, p+6))
			args = append(args, fmt.Sprintf("00000000-0000-0000-0000-%012d", i), user, fmt.Sprintf("Build %d finished", i),
				"The pipeline ran every stage.", base.Add(time.Duration(i)*time.Second), read)
		}
		_, err := db.ExecContext(ctx, `INSERT INTO notifications_notification (id, user_ref, title, description, severity, origin, created, read) VALUES `+strings.Join(values, ", "), args...)
		if err != nil {
			b.Fatal(err)
		}
	}
	for i := range 20 {
		_, err := db.ExecContext(ctx, `INSERT INTO notifications_broadcast (id, title, severity, origin, created) VALUES ($1, $2, 'normal', 'plugin:bench', $3)`,
			fmt.Sprintf("10000000-0000-0000-0000-%012d", i), fmt.Sprintf("Broadcast %d", i), base.Add(time.Duration(i)*time.Minute))
		if err != nil {
			b.Fatal(err)
		}
	}
}

// benchGET measures one GET per iteration and reports the median and the
// 99th percentile.
func benchGET(b *testing.B, url, token, want string) {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	client := &http.Client{}
	var durations []time.Duration
	for b.Loop() {
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		durations = append(durations, time.Since(start))
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			b.Fatalf("status %d: %.200s", resp.StatusCode, body)
		}
	}
	slices.Sort(durations)
	b.ReportMetric(float64(durations[len(durations)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(durations[len(durations)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkReadWith10kNotifications measures GET /status (target p50 < 2
// ms) and a page of 20 (target p50 < 5 ms) for a user with 10,000
// notifications, through a running server.
func BenchmarkReadWith10kNotifications(b *testing.B) {
	for _, postgres := range []bool{false, true} {
		name := "sqlite"
		if postgres {
			name = "postgres"
		}
		b.Run(name, func(b *testing.B) {
			inst := apptest.Start(b, apptest.Options{Config: "backend:\n  auth:\n    externalAccess:\n      - type: static\n        options: {token: bench-token-1, subject: bench}\n", Postgres: postgres})
			seedUser(b, inst, "user:default/alice", 10_000)
			tok, _, err := inst.App.Env().Tokens.Issue(context.Background(), "user:default/alice", []string{"user:default/alice"})
			if err != nil {
				b.Fatal(err)
			}
			b.Run("status", func(b *testing.B) {
				benchGET(b, inst.URL+"/api/notifications/status", tok, `{"unread":9020,"read":1000}`)
			})
			b.Run("page-of-20", func(b *testing.B) {
				benchGET(b, inst.URL+"/api/notifications/notifications?offset=0&limit=20&orderField=created,desc", tok, `"totalCount":10020`)
			})
			b.Run("unread-page-of-20", func(b *testing.B) {
				benchGET(b, inst.URL+"/api/notifications/notifications?offset=0&limit=20&read=false", tok, `"totalCount":9020`)
			})
		})
	}
}

// BenchmarkHTTPSendToGroup10k posts one notification to a catalog group
// of 10,000 users through a running server: recipients from the real
// catalog, 10,000 rows stored, 10,000 signals published, and the 10,000
// notifications in the response. Target: under a second on SQLite.
func BenchmarkHTTPSendToGroup10k(b *testing.B) {
	const members = 10_000
	dir := b.TempDir()
	var org strings.Builder
	org.WriteString("apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: everyone}\nspec: {type: org, children: []}\n")
	for i := range members {
		fmt.Fprintf(&org, "---\napiVersion: backstage.io/v1alpha1\nkind: User\nmetadata: {name: user-%05d}\nspec: {profile: {email: user-%05d@acme.example}, memberOf: [everyone]}\n", i, i)
	}
	file := dir + "/org.yaml"
	if err := os.WriteFile(file, []byte(org.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	inst := apptest.Start(b, apptest.Options{Config: `
backend:
  auth:
    externalAccess:
      - type: static
        options: {token: bench-token-1, subject: bench}
catalog:
  locations:
    - type: file
      target: ` + file + `
      rules: [{allow: [User, Group]}]
`})
	deadline := time.Now().Add(5 * time.Minute)
	for {
		e, err := inst.App.Env().Catalog.EntityByRef(context.Background(), "group:default/everyone")
		if err == nil && len(e.Relations) == members {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("the catalog did not load 10,000 users in 5 minutes")
		}
		time.Sleep(100 * time.Millisecond)
	}
	body := `{"recipients":{"type":"entity","entityRef":"group:default/everyone"},"payload":{"title":"Release 1.2 is out","link":"/docs/release-notes"}}`
	for b.Loop() {
		req, _ := http.NewRequest("POST", inst.URL+"/api/notifications", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer bench-token-1")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || n < members*100 {
			b.Fatalf("status %d, %d bytes", resp.StatusCode, n)
		}
	}
}
