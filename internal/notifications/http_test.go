package notifications_test

import (
	"bufio"
	"context"
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

	"github.com/coder/websocket"

	"github.com/portico-dev/portico/internal/app"
	"github.com/portico-dev/portico/internal/app/apptest"
	"github.com/portico-dev/portico/internal/notifications"
	"github.com/portico-dev/portico/internal/store/storetest"
)

// seedToken is the token of the seed's curl, configured as a static
// external-access token.
const seedToken = "YOUR_BASE64_SHARED_KEY_TOKEN"

// seedCurlBody is the body of the seed's curl, verbatim.
const seedCurlBody = `{"recipients":{"type":"broadcast"},"payload": {"title": "Title of broadcast message","link": "http://foo.com/bar","severity": "high","topic": "The topic"}}`

// org is the catalog the server tests read: a team with two users, a
// component it owns, and two groups that are each other's parent.
const org = `
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-a}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: alice}
spec: {profile: {email: alice@acme.example}, memberOf: [team-a]}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: bob}
spec: {profile: {email: bob@acme.example}, memberOf: [team-a]}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: checkout}
spec: {type: service, lifecycle: production, owner: group:team-a}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: loop-a}
spec: {type: team, parent: loop-b, children: [loop-b]}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: loop-b}
spec: {type: team, parent: loop-a, children: [loop-a]}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: carol}
spec: {profile: {email: carol@acme.example}, memberOf: [loop-b]}
`

// server starts Portico with the org catalog, a static token and extra
// configuration, and waits until the catalog has the org.
func server(t *testing.T, postgres bool, extra string) *apptest.Instance {
	t.Helper()
	return serverOn(t, apptest.Options{Postgres: postgres}, extra)
}

// serverOn is server with the database chosen by opts (replicas share a
// PostgreSQL schema through PostgresDSN).
func serverOn(t *testing.T, opts apptest.Options, extra string) *apptest.Instance {
	t.Helper()
	dir := t.TempDir()
	orgFile := filepath.Join(dir, "org.yaml")
	if err := os.WriteFile(orgFile, []byte(org), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := `
app:
  baseUrl: http://portal.example.com
backend:
  auth:
    externalAccess:
      - type: static
        options: {token: ` + seedToken + `, subject: orchestrator}
catalog:
  locations:
    - type: file
      target: ` + orgFile + `
      rules: [{allow: [User, Group, Component]}]
` + extra
	opts.Config = cfg
	inst := apptest.Start(t, opts)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err1 := inst.App.Env().Catalog.EntityByRef(context.Background(), "user:default/carol")
		_, err2 := inst.App.Env().Catalog.EntityByRef(context.Background(), "component:default/checkout")
		if err1 == nil && err2 == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the catalog did not load the org: %v %v", err1, err2)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Relations are stitched after the entities appear.
	waitFor(t, func() bool {
		e, err := inst.App.Env().Catalog.EntityByRef(context.Background(), "group:default/team-a")
		return err == nil && len(e.Relations) >= 3
	})
	return inst
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func userToken(t *testing.T, inst *apptest.Instance, user string, refs ...string) string {
	t.Helper()
	tok, _, err := inst.App.Env().Tokens.Issue(context.Background(), user, append([]string{user}, refs...))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type response struct {
	status int
	body   string
}

func call(t *testing.T, inst *apptest.Instance, method, path, token, body string) response {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, inst.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, string(got)}
}

func expect(t *testing.T, r response, status int, contains ...string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	for _, c := range contains {
		if !strings.Contains(r.body, c) {
			t.Errorf("body %s does not contain %s", r.body, c)
		}
	}
}

func bothDatabases(t *testing.T, fn func(t *testing.T, postgres bool)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, false) })
	t.Run("postgres", func(t *testing.T) {
		storetest.PostgresSchemaDSN(t) // skips without PostgreSQL
		fn(t, true)
	})
}

func TestHTTPSendAndRead(t *testing.T) {
	bothDatabases(t, func(t *testing.T, postgres bool) {
		inst := server(t, postgres, "")
		alice := userToken(t, inst, "user:default/alice", "group:default/team-a")
		carol := userToken(t, inst, "user:default/carol")

		// The seed's curl: a broadcast with the static token, on the root path.
		r := call(t, inst, "POST", "/api/notifications", seedToken, seedCurlBody)
		expect(t, r, 200, `"user":null`, `"origin":"orchestrator"`, `"title":"Title of broadcast message"`, `"severity":"high"`, `"topic":"The topic"`, `"link":"http://foo.com/bar"`)
		var broadcast []map[string]any
		if err := json.Unmarshal([]byte(r.body), &broadcast); err != nil || len(broadcast) != 1 {
			t.Fatalf("response %s", r.body)
		}

		// Without a token, and with a user's token, nobody sends.
		expect(t, call(t, inst, "POST", "/api/notifications", "", seedCurlBody), 401, `"name":"AuthenticationError"`, `Missing credentials`)
		expect(t, call(t, inst, "POST", "/api/notifications/notifications", alice, seedCurlBody), 403,
			`"name":"NotAllowedError"`, `This endpoint does not allow 'user' credentials`)
		// Services do not read users' notifications.
		expect(t, call(t, inst, "GET", "/api/notifications/notifications", seedToken, ""), 403, `does not allow 'service' credentials`)

		// The owner of a component: the team's users.
		r = call(t, inst, "POST", "/api/notifications/notifications", seedToken,
			`{"recipients":{"type":"entity","entityRef":"component:default/checkout","excludeEntityRef":["user:default/bob"]},"payload":{"title":"Checkout deployed","link":"/catalog/default/component/checkout","topic":"deploys"}}`)
		expect(t, r, 200, `"user":"user:default/alice"`, `"severity":"normal"`)
		if strings.Contains(r.body, "bob") {
			t.Fatalf("excluded bob: %s", r.body)
		}
		var sent []struct{ ID string }
		_ = json.Unmarshal([]byte(r.body), &sent)

		// A group membership cycle ends; unknown refs are dropped.
		expect(t, call(t, inst, "POST", "/api/notifications", seedToken,
			`{"recipients":{"type":"entity","entityRef":["group:default/loop-a","group:default/nobody"]},"payload":{"title":"Loop"}}`),
			200, `"user":"user:default/carol"`)

		// Reading, on the current paths and the root aliases.
		expect(t, call(t, inst, "GET", "/api/notifications/notifications?limit=10&orderField=created,desc", alice, ""), 200,
			`"totalCount":2`, `Checkout deployed`, `Title of broadcast message`)
		expect(t, call(t, inst, "GET", "/api/notifications/?topic=deploys", alice, ""), 200, `"totalCount":1`)
		expect(t, call(t, inst, "GET", "/api/notifications/notifications?minimumSeverity=high", alice, ""), 200, `"totalCount":1`, `Title of broadcast message`)
		expect(t, call(t, inst, "GET", "/api/notifications/notifications?createdAfter=yesterday", alice, ""), 400, `Unexpected date format`)
		expect(t, call(t, inst, "GET", "/api/notifications/notifications?orderField=created,sideways", alice, ""), 400, `"message":"Invalid order field order, must be asc or desc"`)
		expect(t, call(t, inst, "GET", "/api/notifications/notifications/"+sent[0].ID, alice, ""), 200, `"id":"`+sent[0].ID+`"`, `"read":null`)
		expect(t, call(t, inst, "GET", "/api/notifications/"+sent[0].ID, alice, ""), 200, `"id":"`+sent[0].ID+`"`)
		expect(t, call(t, inst, "GET", "/api/notifications/notifications/"+sent[0].ID, carol, ""), 404, `"name":"NotFoundError"`, `"message":"Not found"`)
		expect(t, call(t, inst, "GET", "/api/notifications/status", alice, ""), 200, `{"unread":2,"read":0}`)
		expect(t, call(t, inst, "GET", "/api/notifications/topics", alice, ""), 200, `{"topics":["The topic","deploys"]}`)
		expect(t, call(t, inst, "POST", "/api/notifications/notifications/update", alice, `{"ids":["`+sent[0].ID+`"],"read":true,"saved":true}`), 200, `"saved":"`)
		expect(t, call(t, inst, "POST", "/api/notifications/update", alice, `{"read":true}`), 400, `InputError`)
		expect(t, call(t, inst, "GET", "/api/notifications/status", alice, ""), 200, `{"unread":1,"read":1}`)
		expect(t, call(t, inst, "GET", "/api/notifications/notifications?read=true", alice, ""), 200, `"totalCount":1`)
		expect(t, call(t, inst, "GET", "/api/notifications/status", carol, ""), 200, `{"unread":2,"read":0}`)

		// Settings: Web is the only channel without processors.
		expect(t, call(t, inst, "GET", "/api/notifications/settings", alice, ""), 200, `{"channels":[{"id":"Web","origins":[{"id":"orchestrator","enabled":true,"topics":[`)
		expect(t, call(t, inst, "POST", "/api/notifications/settings", alice, `{"channels":[{"id":"Web","origins":[{"id":"orchestrator","enabled":false}]}]}`), 200, `"enabled":false`)
		expect(t, call(t, inst, "POST", "/api/notifications/settings", alice, `{"channels":[{"id":"Fax","origins":[]}]}`), 400, `"message":"Invalid channel"`)
		r = call(t, inst, "POST", "/api/notifications", seedToken, `{"recipients":{"type":"entity","entityRef":"user:default/alice"},"payload":{"title":"muted"}}`)
		expect(t, r, 200, `[]`)
	})
}

func TestHTTPBadInput(t *testing.T) {
	inst := server(t, false, "")
	for _, tc := range []struct {
		name, body string
		status     int
		want       []string
	}{
		{"missing title", `{"recipients":{"type":"broadcast"},"payload":{}}`, 400,
			[]string{`"name":"InputError"`, `"message":"Invalid notification request received: missing title"`, `"statusCode":400`}},
		{"missing recipients", `{"payload":{"title":"x"}}`, 400, []string{`"message":"Invalid notification request received: missing recipients"`}},
		{"missing both", `{}`, 400, []string{`"message":"Invalid notification request received: missing title, recipients"`}},
		{"invalid link", `{"recipients":{"type":"broadcast"},"payload":{"title":"x","link":"javascript:alert(1)"}}`, 400, []string{`Invalid link provided`}},
		{"unknown severity", `{"recipients":{"type":"broadcast"},"payload":{"title":"x","severity":"urgent"}}`, 400, []string{`Invalid severity 'urgent'`}},
		{"unknown recipients type", `{"recipients":{"type":"everyone"},"payload":{"title":"x"}}`, 400, []string{`Invalid recipients type`}},
		{"malformed JSON", `{"recipients":`, 400, []string{`malformed JSON request body`}},
		{"10 MB description", `{"recipients":{"type":"broadcast"},"payload":{"title":"x","description":"` + strings.Repeat("x", 10_000_000) + `"}}`, 413,
			[]string{`"name":"PayloadTooLargeError"`, `"statusCode":413`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expect(t, call(t, inst, "POST", "/api/notifications", seedToken, tc.body), tc.status, tc.want...)
		})
	}
	alice := userToken(t, inst, "user:default/alice")
	expect(t, call(t, inst, "GET", "/api/notifications/notifications", alice, ""), 200, `{"totalCount":0,"notifications":[]}`)
}

func TestSignalsReachBrowsers(t *testing.T) {
	bothDatabases(t, func(t *testing.T, postgres bool) {
		inst := server(t, postgres, "")
		alice := userToken(t, inst, "user:default/alice", "group:default/team-a")
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()

		// Backstage's signals WebSocket, token in Sec-WebSocket-Protocol.
		wsURL := "ws" + strings.TrimPrefix(inst.URL, "http") + "/api/signals"
		conn, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{Subprotocols: []string{alice}})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.CloseNow()
		if err := conn.Write(ctx, websocket.MessageText, []byte(`{"action":"subscribe","channel":"notifications"}`)); err != nil {
			t.Fatal(err)
		}

		// The SSE stream.
		req, _ := http.NewRequestWithContext(ctx, "GET", inst.URL+"/api/signals/stream?channel=notifications", nil)
		req.Header.Set("Authorization", "Bearer "+alice)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		sse := bufio.NewReader(resp.Body)

		// The subscription message may still be in flight: send until the
		// socket hears one.
		var id string
		got := make(chan string, 1)
		go func() {
			_, data, err := conn.Read(ctx)
			if err == nil {
				got <- string(data)
			}
		}()
		var wsMsg string
		for wsMsg == "" {
			r := call(t, inst, "POST", "/api/notifications", seedToken,
				`{"recipients":{"type":"entity","entityRef":"user:default/alice"},"payload":{"title":"hello"}}`)
			expect(t, r, 200)
			var sent []struct{ ID string }
			_ = json.Unmarshal([]byte(r.body), &sent)
			id = sent[0].ID
			select {
			case wsMsg = <-got:
			case <-time.After(500 * time.Millisecond):
			case <-ctx.Done():
				t.Fatal("no signal on the WebSocket")
			}
		}
		if !strings.Contains(wsMsg, `"channel":"notifications"`) || !strings.Contains(wsMsg, `"action":"new_notification"`) || !strings.Contains(wsMsg, `"notification_id":"`) {
			t.Fatalf("websocket message %s", wsMsg)
		}
		// The SSE client heard the same notifications.
		for {
			line, err := sse.ReadString('\n')
			if err != nil {
				t.Fatalf("sse: %v", err)
			}
			if strings.HasPrefix(line, "data:") && strings.Contains(line, id) {
				if !strings.Contains(line, `"new_notification"`) {
					t.Fatalf("sse data %s", line)
				}
				break
			}
		}
		// Marking it read signals notification_read.
		expect(t, call(t, inst, "POST", "/api/notifications/notifications/update", alice, fmt.Sprintf(`{"ids":[%q],"read":true}`, id)), 200)
		for {
			_, data, err := conn.Read(ctx)
			if err != nil {
				t.Fatalf("websocket: %v", err)
			}
			if strings.Contains(string(data), `"notification_read"`) {
				if !strings.Contains(string(data), id) {
					t.Fatalf("read signal %s", data)
				}
				break
			}
		}
	})
}

// The seed's email forwarding configuration, verbatim but for the host and
// port of the test's SMTP server.
const seedEmailConfig = `
notifications:
  processors:
    email:
      filter:
        minSeverity: low
        maxSeverity: critical
        excludedTopics: []
      broadcastConfig:
        receiver: config # or none or users
        receiverEmails:
          - foo@company.com
          - bar@company.com
      cache:
        ttl:
          days: 1
      concurrencyLimit: 10
      replyTo: email@company.com
      sender: email@company.com
      transportConfig:
        hostname: 127.0.0.1
        password: a-password
        username: a-smtp-username
        port: %d
        secure: false
        transport: smtp
`

func TestSeedEmailConfiguration(t *testing.T) {
	srv := notifications.StartMailServer(t, notifications.MailServerConfig{Username: "a-smtp-username", Password: "a-password", AllowInsecureAuth: true})
	inst := server(t, false, fmt.Sprintf(seedEmailConfig, srv.Port))
	expect(t, call(t, inst, "POST", "/api/notifications", seedToken, seedCurlBody), 200)
	expect(t, call(t, inst, "POST", "/api/notifications", seedToken,
		`{"recipients":{"type":"entity","entityRef":"group:default/team-a"},"payload":{"title":"Team news","severity":"low"}}`), 200)
	mails := srv.WaitForMails(t, 4)
	to := notifications.MailsTo(mails)
	for _, want := range []string{"foo@company.com", "bar@company.com", "alice@acme.example", "bob@acme.example"} {
		if !slices.Contains(to, want) {
			t.Errorf("no mail to %s: %q", want, to)
		}
	}
	if mails[0].User != "a-smtp-username" || mails[0].From != "email@company.com" {
		t.Fatalf("mail %+v", mails[0])
	}
	// The Email channel shows in the settings.
	alice := userToken(t, inst, "user:default/alice")
	expect(t, call(t, inst, "GET", "/api/notifications/settings", alice, ""), 200, `{"id":"Email"`)
}

// A browser connected to one replica hears about a notification sent
// through another (PostgreSQL LISTEN/NOTIFY under the signals).
func TestSignalsAcrossReplicas(t *testing.T) {
	dsn := storetest.PostgresSchemaDSN(t)
	a := serverOn(t, apptest.Options{PostgresDSN: dsn}, "")
	b := serverOn(t, apptest.Options{PostgresDSN: dsn}, "")
	alice := userToken(t, a, "user:default/alice")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(b.URL, "http")+"/api/signals", &websocket.DialOptions{Subprotocols: []string{alice}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	if err := conn.Write(ctx, websocket.MessageText, []byte(`{"action":"subscribe","channel":"notifications"}`)); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		if _, data, err := conn.Read(ctx); err == nil {
			got <- string(data)
		}
	}()
	for {
		r := call(t, a, "POST", "/api/notifications", seedToken, `{"recipients":{"type":"entity","entityRef":"user:default/alice"},"payload":{"title":"from a"}}`)
		expect(t, r, 200)
		select {
		case msg := <-got:
			var sent []struct{ ID string }
			_ = json.Unmarshal([]byte(r.body), &sent)
			if !strings.Contains(msg, `"new_notification"`) {
				t.Fatalf("message %s", msg)
			}
			// The notification is readable on the other replica.
			expect(t, call(t, b, "GET", "/api/notifications/notifications/"+sent[0].ID, alice, ""), 200, `"title":"from a"`)
			return
		case <-time.After(500 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal("no signal reached the other replica")
		}
	}
}

func TestConfiguredDefaultsAndRetention(t *testing.T) {
	inst := server(t, false, `
notifications:
  retention: {days: 30}
  defaultSettings:
    channels:
      - id: Web
        origins:
          - id: orchestrator
            enabled: false
`)
	alice := userToken(t, inst, "user:default/alice")
	expect(t, call(t, inst, "POST", "/api/notifications", seedToken, `{"recipients":{"type":"entity","entityRef":"user:default/alice"},"payload":{"title":"muted by default"}}`), 200, `[]`)
	expect(t, call(t, inst, "GET", "/api/notifications/settings", alice, ""), 200, `{"id":"orchestrator","enabled":false`)
	expect(t, call(t, inst, "POST", "/api/notifications/settings", alice, `{"channels":[{"id":"Web","origins":[{"id":"orchestrator","enabled":true}]}]}`), 200)
	expect(t, call(t, inst, "POST", "/api/notifications", seedToken, `{"recipients":{"type":"entity","entityRef":"user:default/alice"},"payload":{"title":"wanted"}}`), 200, `"title":"wanted"`)
}

// Every key of the email module's configuration is read (none is warned
// about as unknown), and the stream transport starts without a server.
func TestEmailConfigurationKeys(t *testing.T) {
	inst := server(t, false, `
notifications:
  retention: false
  concurrencyLimit: 10
  throttleInterval: {milliseconds: 50}
  processors:
    email:
      transportConfig:
        transport: stream
      sender: portal@company.com
      replyTo: help@company.com
      concurrencyLimit: 2
      throttleInterval: {milliseconds: 100}
      cache: {ttl: {hours: 1}}
      broadcastConfig: {receiver: users}
      sesConfig: {fromArn: "arn:aws:ses:eu-west-1:123:identity/x", configurationSetName: portal}
      filter: {minSeverity: high, maxSeverity: critical, excludedTopics: [noise], includedTopics: [builds]}
      allowedEmailDomains: [acme.example]
      allowlistEmailAddresses: [partner@other.example]
      denylistEmailAddresses: [bob@acme.example]
`)
	for _, w := range inst.App.Env().Config.Warnings() {
		if strings.Contains(w, "notifications") {
			t.Errorf("warning: %s", w)
		}
	}
	expect(t, call(t, inst, "POST", "/api/notifications", seedToken, `{"recipients":{"type":"broadcast"},"payload":{"title":"x","severity":"critical","topic":"builds"}}`), 200)
}

func TestStartupConfigErrors(t *testing.T) {
	for _, tc := range []struct{ config, want string }{
		{"notifications:\n  processors:\n    email:\n      sender: a@b.c\n      transportConfig: {transport: ses}\n", `"ses" is not supported by Portico`},
		{"notifications:\n  processors:\n    email:\n      transportConfig: {transport: stream}\n", "sender is required"},
		{"notifications:\n  processors:\n    email:\n      sender: a@b.c\n      transportConfig: {transport: stream}\n      filter: {minSeverity: urgent}\n", `invalid severity "urgent"`},
		{"notifications:\n  processors:\n    email:\n      sender: a@b.c\n      transportConfig: {transport: stream}\n      broadcastConfig: {receiver: everyone}\n", "expected none, config or users"},
		{"notifications:\n  retention: true\n", "expected a duration or false"},
		{"notifications:\n  retention: forever\n", "expected a duration"},
	} {
		dir := t.TempDir()
		file := filepath.Join(dir, "app-config.yaml")
		if err := os.WriteFile(file, []byte("backend:\n  dataDirectory: "+dir+"\n"+tc.config), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := app.LoadConfig([]string{file})
		if err == nil {
			var a *app.App
			if a, err = app.New(context.Background(), app.Options{Config: cfg}); err == nil {
				a.Close()
			}
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.config, err, tc.want)
		}
	}
}
