package app_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/app/apptest"
	"github.com/portico-dev/portico/internal/notifications"
	"github.com/portico-dev/portico/internal/store/storetest"
)

const legacySecret = "c2VjcmV0LWZvci1sZWdhY3ktdG9rZW5z" // base64 of secret-for-legacy-tokens

const productionConfig = `
backend:
  auth:
    externalAccess:
      - type: static
        options: {token: static-token-123, subject: cicd-system}
      - type: static
        options: {token: restricted-token-1, subject: notifier}
        accessRestrictions:
          - plugin: notifications
      - type: legacy
        options: {secret: ` + legacySecret + `, subject: legacy-caller}
  server:
    maxRequestBodySize: 4096
`

// legacyToken signs an HS256 token the way Backstage's legacy service-to-
// service auth does.
func legacyToken(t *testing.T, secret string, exp time.Time) string {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(secret)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	claims, _ := json.Marshal(map[string]any{"sub": "backstage-server", "exp": exp.Unix()})
	input := header + "." + enc.EncodeToString(claims)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(input))
	return input + "." + enc.EncodeToString(mac.Sum(nil))
}

type scenario struct {
	name       string
	method     string
	path       string
	token      string
	body       string
	wantStatus int
	wantBody   []string // substrings of the response body
}

func run(t *testing.T, base string, sc scenario) {
	t.Helper()
	method := sc.method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if sc.body != "" {
		body = strings.NewReader(sc.body)
	}
	req, err := http.NewRequest(method, base+sc.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if sc.token != "" {
		req.Header.Set("Authorization", "Bearer "+sc.token)
	}
	if sc.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != sc.wantStatus {
		t.Fatalf("%s %s: status %d, want %d; body %s", method, sc.path, resp.StatusCode, sc.wantStatus, got)
	}
	for _, w := range sc.wantBody {
		if !strings.Contains(string(got), w) {
			t.Errorf("%s %s: body %s does not contain %s", method, sc.path, got, w)
		}
	}
}

const authorizeBody = `{"items":[{"id":"a","permission":{"type":"basic","name":"catalog.entity.read","attributes":{"action":"read"}}}]}`

func TestProductionAuth(t *testing.T) {
	storetestRun(t, func(t *testing.T, postgres bool) {
		inst := apptest.Start(t, apptest.Options{Config: productionConfig, Postgres: postgres})
		for _, sc := range []scenario{
			{name: "no credentials", method: "POST", path: "/api/permission/authorize", body: authorizeBody, wantStatus: 401,
				wantBody: []string{`"name":"AuthenticationError"`, `"message":"Missing credentials"`, `"request":{"method":"POST","url":"/api/permission/authorize"}`, `"response":{"statusCode":401}`}},
			{name: "static token", method: "POST", path: "/api/permission/authorize", token: "static-token-123", body: authorizeBody, wantStatus: 200,
				wantBody: []string{`{"items":[{"id":"a","result":"ALLOW"}]}`}},
			{name: "restricted token on another plugin", method: "POST", path: "/api/permission/authorize", token: "restricted-token-1", body: authorizeBody, wantStatus: 403,
				wantBody: []string{`"name":"NotAllowedError"`, `This token's access is restricted to plugin(s) 'notifications'`}},
			{name: "unknown token", method: "POST", path: "/api/permission/authorize", token: "not-a-valid-token", body: authorizeBody, wantStatus: 401,
				wantBody: []string{`"message":"Illegal token"`}},
			{name: "legacy token", method: "POST", path: "/api/permission/authorize", token: legacyToken(t, legacySecret, time.Now().Add(time.Hour)), body: authorizeBody, wantStatus: 200},
			{name: "legacy token with another secret", method: "POST", path: "/api/permission/authorize", token: legacyToken(t, "b3RoZXItc2VjcmV0", time.Now().Add(time.Hour)), body: authorizeBody, wantStatus: 401},
			{name: "expired legacy token", method: "POST", path: "/api/permission/authorize", token: legacyToken(t, legacySecret, time.Now().Add(-time.Minute)), body: authorizeBody, wantStatus: 401},
			{name: "service on a user-only route", path: "/api/auth/v1/userinfo", token: "static-token-123", wantStatus: 403,
				wantBody: []string{`This endpoint does not allow 'service' credentials`}},
			{name: "guest provider is off", path: "/api/auth/guest/refresh", wantStatus: 404},
			{name: "public keys need no credentials", path: "/api/auth/.well-known/jwks.json", wantStatus: 200, wantBody: []string{`"keys":`}},
			{name: "health needs no credentials", path: "/healthcheck", wantStatus: 200, wantBody: []string{`{"status":"ok"}`}},
			{name: "readiness", path: "/.backstage/health/v1/readiness", wantStatus: 200},
			{name: "liveness", path: "/.backstage/health/v1/liveness", wantStatus: 200},
			{name: "unknown api route", path: "/api/nothing/here", token: "static-token-123", wantStatus: 404, wantBody: []string{`"name":"NotFoundError"`}},
			{name: "malformed JSON", method: "POST", path: "/api/permission/authorize", token: "static-token-123", body: `{"items": [`, wantStatus: 400,
				wantBody: []string{`"name":"InputError"`, `malformed JSON request body`}},
			{name: "wrong JSON type", method: "POST", path: "/api/permission/authorize", token: "static-token-123", body: `{"items": "all"}`, wantStatus: 400,
				wantBody: []string{`items must be an array`}},
			{name: "missing permission name", method: "POST", path: "/api/permission/authorize", token: "static-token-123", body: `{"items":[{"id":"x","permission":{}}]}`, wantStatus: 400,
				wantBody: []string{`items[0].permission.name: missing`}},
			{name: "oversized body", method: "POST", path: "/api/permission/authorize", token: "static-token-123", body: `{"items":[],"pad":"` + strings.Repeat("x", 5000) + `"}`, wantStatus: 413,
				wantBody: []string{`"name":"PayloadTooLargeError"`, `"statusCode":413`}},
		} {
			t.Run(sc.name, func(t *testing.T) { run(t, inst.URL, sc) })
		}
	})
}

// storetestRun runs fn on SQLite and, when configured, on PostgreSQL.
func storetestRun(t *testing.T, fn func(t *testing.T, postgres bool)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, false) })
	t.Run("postgres", func(t *testing.T) {
		storetest.PostgresSchemaDSN(t) // skips without PostgreSQL
		fn(t, true)
	})
}

func TestDevelopmentSetupActsAsGuest(t *testing.T) {
	inst := apptest.Start(t, apptest.Options{Development: true})
	run(t, inst.URL, scenario{path: "/api/auth/v1/userinfo", wantStatus: 200, wantBody: []string{`"sub":"user:development/guest"`}})
	run(t, inst.URL, scenario{method: "POST", path: "/api/permission/authorize", body: authorizeBody, wantStatus: 200})

	// The guest provider hands out a token that the server accepts.
	resp, err := http.Get(inst.URL + "/api/auth/guest/refresh")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var session struct {
		BackstageIdentity struct {
			Token            string `json:"token"`
			ExpiresInSeconds int    `json:"expiresInSeconds"`
			Identity         struct {
				Type                string   `json:"type"`
				UserEntityRef       string   `json:"userEntityRef"`
				OwnershipEntityRefs []string `json:"ownershipEntityRefs"`
			} `json:"identity"`
		} `json:"backstageIdentity"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&session); err != nil {
		t.Fatal(err)
	}
	id := session.BackstageIdentity
	if id.Identity.Type != "user" || id.Identity.UserEntityRef != "user:development/guest" || id.ExpiresInSeconds < 3500 {
		t.Fatalf("unexpected identity %+v", id)
	}
	run(t, inst.URL, scenario{path: "/api/auth/v1/userinfo", token: id.Token, wantStatus: 200, wantBody: []string{`"ent":["user:development/guest"]`}})
	// A tampered token is refused rather than treated as anonymous.
	tampered := id.Token[:len(id.Token)-4] + "AAAA"
	run(t, inst.URL, scenario{path: "/api/auth/v1/userinfo", token: tampered, wantStatus: 401, wantBody: []string{"Failed user token verification"}})
}

func TestUserTokensWorkAcrossReplicas(t *testing.T) {
	dsn := storetest.PostgresSchemaDSN(t)
	cfg := `
auth:
  providers:
    guest:
      dangerouslyAllowOutsideDevelopment: true
      userEntityRef: user:default/jane
      ownershipEntityRefs: [user:default/jane, group:default/team-a]
`
	a := apptest.Start(t, apptest.Options{Config: cfg, PostgresDSN: dsn})
	b := apptest.Start(t, apptest.Options{Config: cfg, PostgresDSN: dsn})
	resp, err := http.Post(a.URL+"/api/auth/guest/refresh", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var session struct {
		BackstageIdentity struct{ Token string } `json:"backstageIdentity"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&session); err != nil {
		t.Fatal(err)
	}
	run(t, b.URL, scenario{path: "/api/auth/v1/userinfo", token: session.BackstageIdentity.Token, wantStatus: 200,
		wantBody: []string{`"sub":"user:default/jane"`, `group:default/team-a`}})
	// Without a token the production setup still refuses.
	run(t, b.URL, scenario{path: "/api/auth/v1/userinfo", wantStatus: 401})
}

func TestDisabledDefaultAuthPolicy(t *testing.T) {
	inst := apptest.Start(t, apptest.Options{Config: "backend:\n  auth:\n    dangerouslyDisableDefaultAuthPolicy: true\n"})
	run(t, inst.URL, scenario{method: "POST", path: "/api/permission/authorize", body: authorizeBody, wantStatus: 200})
}

func TestStartupConfigErrors(t *testing.T) {
	// Errors in sections are reported by app.New with the key and file.
	for _, tt := range []struct{ config, want string }{
		{"backend:\n  auth:\n    externalAccess:\n      - type: static\n        options: {token: short, subject: x}\n", "backend.auth.externalAccess[0].options.token: illegal token, must be at least 8 characters long"},
		{"backend:\n  auth:\n    externalAccess:\n      - type: magic\n", "unknown type 'magic'"},
		{"auth:\n  providers:\n    guest: {}\n", "the guest provider is meant for development only"},
		{"backend:\n  cors:\n    origin: {a: 1}\n", "backend.cors.origin: expected a list, got a map"},
		{"backend:\n  listen:\n    port: abc\n", `backend.listen.port: expected a number, got "abc"`},
		{"backend:\n  listen:\n    port: 70000\n", "port must be a number from 1 to 65535"},
		{"backend:\n  database:\n    client: mysql\n", `unknown database client "mysql"`},
		{"permission:\n  enabled: true\n  rbac:\n    policies-csv-file: /nonexistent/rbac.csv\n", "permission.rbac.policies-csv-file: open /nonexistent/rbac.csv"},
		{"permission:\n  enabled: true\n  rbac:\n    admin:\n      superUsers: [{name: root}]\n", "permission.rbac.admin.superUsers[0].name: \"root\" is not a user or group ref"},
	} {
		t.Run(tt.want, func(t *testing.T) {
			err := startErr(t, tt.config)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestPluginsSendNotificationsInProcess(t *testing.T) {
	inst := apptest.Start(t, apptest.Options{Development: true})
	svc := inst.App.Env().Notifications
	if svc == nil {
		t.Fatal("the notifications service is not handed to plugins")
	}
	out, err := svc.Send(context.Background(), notifications.Request{
		Origin:     "plugin:test",
		Recipients: &notifications.Recipients{Type: notifications.RecipientsEntity, EntityRef: []string{"user:development/guest"}},
		Payload:    notifications.Payload{Title: "sent without HTTP"},
	})
	if err != nil || len(out) != 1 {
		t.Fatalf("Send = %v, %v", out, err)
	}
	run(t, inst.URL, scenario{path: "/api/notifications/notifications", wantStatus: 200, wantBody: []string{"sent without HTTP"}})
}
