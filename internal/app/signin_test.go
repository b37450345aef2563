package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/app/apptest"
	"github.com/portico-dev/portico/internal/integrations/integrationstest"
)

const signInCatalog = `apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-a}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: alice}
spec: {profile: {email: Alice@Example.com}, memberOf: [team-a]}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: bob}
spec: {profile: {email: bob@example.com}, memberOf: []}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: carol_contoso.com
  annotations: {microsoft.com/email: carol@contoso.com}
spec: {memberOf: []}
`

// signInCatalogConfig writes signInCatalog to a file and returns the
// catalog configuration that loads it.
func signInCatalogConfig(t *testing.T) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "org.yaml")
	if err := os.WriteFile(file, []byte(signInCatalog), 0o600); err != nil {
		t.Fatal(err)
	}
	return `
catalog:
  rules: [{allow: [Group, User, Location]}]
  locations: [{type: file, target: ` + file + `}]`
}

// browser is a client that keeps cookies and lets the test follow
// redirects itself.
type browser struct {
	t      *testing.T
	client *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, u string) (int, http.Header, string) {
	b.t.Helper()
	req, _ := http.NewRequest(method, u, nil)
	res, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(body)
}

// signIn runs the pop-up flow: start, the identity provider, and the
// callback frame (delivered to this server: the configured base URL is not
// the test's listener). It returns the message the frame posts.
func (b *browser) signIn(base string) map[string]any { return b.signInWith(base, "oidc") }

// signInWith is signIn with the given provider.
func (b *browser) signInWith(base, provider string) map[string]any {
	b.t.Helper()
	status, h, body := b.do("GET", base+"/api/auth/"+provider+"/start?env=production&origin=http://localhost:3000&flow=popup")
	if status != http.StatusFound {
		b.t.Fatalf("start: %d %s", status, body)
	}
	status, h, body = b.do("GET", h.Get("Location"))
	if status != http.StatusFound {
		b.t.Fatalf("identity provider: %d %s", status, body)
	}
	back, _ := url.Parse(h.Get("Location"))
	_, _, frame := b.do("GET", base+back.Path+"?"+back.RawQuery)
	m := regexp.MustCompile(`var message = (.*);`).FindStringSubmatch(frame)
	if m == nil {
		b.t.Fatalf("the frame posts nothing: %s", frame)
	}
	var msg map[string]any
	if err := json.Unmarshal([]byte(m[1]), &msg); err != nil {
		b.t.Fatalf("frame message %s: %v", m[1], err)
	}
	return msg
}

func TestOIDCSignIn(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, pg bool) {
		idp := integrationstest.NewOIDCProvider(t, "portico", "s3cret")
		inst := apptest.Start(t, apptest.Options{Postgres: pg, Config: signInCatalogConfig(t) + `
auth:
  session: {secret: a-long-random-string-for-tests}
  providers:
    oidc:
      production:
        metadataUrl: ` + idp.MetadataURL() + `
        clientId: portico
        clientSecret: s3cret
        signIn:
          resolvers:
            - resolver: emailMatchingUserEntityProfileEmail
            - resolver: preferredUsernameMatchingUserEntityName
            - resolver: emailMatchingUserEntityAnnotation
`})
		run(t, inst.URL, scenario{path: "/api/auth/providers", wantStatus: 200, wantBody: []string{`"oidc"`}})
		waitStatus(t, inst.URL+"/api/catalog/entities/by-name/user/default/alice", userToken(t, inst, "user:default/test"), http.StatusOK)

		// E-mail matching is case-insensitive; the groups come along.
		b := newBrowser(t)
		idp.SetUser(map[string]any{"sub": "1", "email": "alice@example.com", "name": "Alice"})
		msg := b.signIn(inst.URL)
		resp, _ := msg["response"].(map[string]any)
		identity, _ := resp["backstageIdentity"].(map[string]any)
		who, _ := identity["identity"].(map[string]any)
		if who["userEntityRef"] != "user:default/alice" || !strings.Contains(strings.Join(toStrings(who["ownershipEntityRefs"]), " "), "group:default/team-a") {
			t.Fatalf("signed in as %v (message %v)", who, msg)
		}
		// The session cookie gives fresh tokens.
		status, _, body := b.do("GET", inst.URL+"/api/auth/oidc/refresh")
		var session struct {
			BackstageIdentity struct{ Token string } `json:"backstageIdentity"`
		}
		if status != 200 || json.Unmarshal([]byte(body), &session) != nil || session.BackstageIdentity.Token == "" {
			t.Fatalf("refresh: %d %s", status, body)
		}
		run(t, inst.URL, scenario{path: "/api/auth/v1/userinfo", token: session.BackstageIdentity.Token, wantStatus: 200, wantBody: []string{`"sub":"user:default/alice"`}})

		// The next resolver: a preferred username naming a user.
		b2 := newBrowser(t)
		idp.SetUser(map[string]any{"sub": "2", "email": "robert@elsewhere.org", "preferred_username": "bob"})
		if user, failure := signedInAs(b2.signIn(inst.URL)); user != "user:default/bob" {
			t.Errorf("preferred username: %q %s", user, failure)
		}

		// The annotation the microsoftGraphOrg provider sets.
		idp.SetUser(map[string]any{"sub": "4", "email": "Carol@contoso.com"})
		if user, failure := signedInAs(newBrowser(t).signIn(inst.URL)); user != "user:default/carol_contoso.com" {
			t.Errorf("microsoft.com/email: %q %s", user, failure)
		}

		// Someone the catalog does not know, and a refusal.
		b3 := newBrowser(t)
		idp.SetUser(map[string]any{"sub": "3", "email": "mallory@example.com"})
		if _, failure := signedInAs(b3.signIn(inst.URL)); !strings.Contains(failure, "Failed to sign-in, unable to resolve user identity: no catalog User matches mallory@example.com") {
			t.Errorf("unknown user: %q", failure)
		}
		if status, _, _ := b3.do("GET", inst.URL+"/api/auth/oidc/refresh"); status != http.StatusUnauthorized {
			t.Errorf("refresh after a failed sign-in: %d", status)
		}
		idp.Refuse("access_denied")
		if _, failure := signedInAs(newBrowser(t).signIn(inst.URL)); !strings.Contains(failure, "refused the sign-in: access_denied") {
			t.Errorf("refused: %q", failure)
		}
		idp.Refuse("")

		// A forged session is refused; logging out ends the session.
		forged := newBrowser(t)
		u, _ := url.Parse(inst.URL + "/api/auth/oidc")
		forged.client.Jar.SetCookies(u, []*http.Cookie{{Name: "portico-oidc-session", Value: "production~eyJzdWIiOiIxIn0.AAAA", Path: "/api/auth/oidc"}})
		if status, _, _ := forged.do("GET", inst.URL+"/api/auth/oidc/refresh"); status != http.StatusUnauthorized {
			t.Errorf("forged session: %d", status)
		}
		if status, _, _ := b.do("POST", inst.URL+"/api/auth/oidc/logout"); status != 200 {
			t.Errorf("logout: %d", status)
		}
		if status, _, _ := b.do("GET", inst.URL+"/api/auth/oidc/refresh"); status != http.StatusUnauthorized {
			t.Errorf("refresh after logout: %d", status)
		}
		// A callback without the state cookie (another browser).
		if _, _, frame := newBrowser(t).do("GET", inst.URL+"/api/auth/oidc/handler/frame?code=x&state=y"); !strings.Contains(frame, "the sign-in state is missing or expired") {
			t.Errorf("callback without state: %s", frame)
		}
	})
}

func toStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// signedInAs reads the user a sign-in frame's message names ("" and the
// error message when it failed).
func signedInAs(msg map[string]any) (user, failure string) {
	if e, ok := msg["error"].(map[string]any); ok {
		failure, _ = e["message"].(string)
		return "", failure
	}
	resp, _ := msg["response"].(map[string]any)
	identity, _ := resp["backstageIdentity"].(map[string]any)
	who, _ := identity["identity"].(map[string]any)
	user, _ = who["userEntityRef"].(string)
	return user, ""
}

func TestGitHubSignIn(t *testing.T) {
	gh := integrationstest.NewGitHub(t, t.TempDir(), "")
	gh.SetOAuthApp("Iv1.portico", "gh-secret")
	catalogConfig := signInCatalogConfig(t)
	config := func(secret, resolver string) string {
		return catalogConfig + `
auth:
  session: {secret: another-long-random-string}
  providers:
    github:
      production:
        clientId: Iv1.portico
        clientSecret: ` + secret + `
        enterpriseInstanceUrl: ` + gh.URL + `
        signIn: {resolvers: [{resolver: ` + resolver + `}]}
`
	}
	inst := apptest.Start(t, apptest.Options{Config: config("gh-secret", "usernameMatchingUserEntityName")})
	run(t, inst.URL, scenario{path: "/api/auth/providers", wantStatus: 200, wantBody: []string{`"github"`}})
	waitStatus(t, inst.URL+"/api/catalog/entities/by-name/user/default/alice", userToken(t, inst, "user:default/test"), http.StatusOK)

	gh.SetOAuthUser(integrationstest.OAuthUser{ID: 1, Login: "alice", Name: "Alice"})
	if user, failure := signedInAs(newBrowser(t).signInWith(inst.URL, "github")); user != "user:default/alice" {
		t.Errorf("GitHub login alice signed in as %q (%s)", user, failure)
	}
	gh.SetOAuthUser(integrationstest.OAuthUser{ID: 2, Login: "mallory"})
	if _, failure := signedInAs(newBrowser(t).signInWith(inst.URL, "github")); !strings.Contains(failure, "no catalog User matches mallory") {
		t.Errorf("unknown login: %q", failure)
	}

	// A private e-mail address is read from /user/emails.
	byEmail := apptest.Start(t, apptest.Options{Config: config("gh-secret", "emailMatchingUserEntityProfileEmail")})
	waitStatus(t, byEmail.URL+"/api/catalog/entities/by-name/user/default/bob", userToken(t, byEmail, "user:default/test"), http.StatusOK)
	gh.SetOAuthUser(integrationstest.OAuthUser{ID: 3, Login: "rob", PrimaryEmail: "bob@example.com"})
	b := newBrowser(t)
	if user, failure := signedInAs(b.signInWith(byEmail.URL, "github")); user != "user:default/bob" {
		t.Errorf("primary e-mail bob@example.com signed in as %q (%s)", user, failure)
	}
	if status, _, body := b.do("GET", byEmail.URL+"/api/auth/github/refresh"); status != 200 || !strings.Contains(body, `"userEntityRef":"user:default/bob"`) {
		t.Errorf("refresh: %d %s", status, body)
	}

	// A wrong client secret is named.
	wrong := apptest.Start(t, apptest.Options{Config: config("not-the-secret", "usernameMatchingUserEntityName")})
	if _, failure := signedInAs(newBrowser(t).signInWith(wrong.URL, "github")); !strings.Contains(failure, "check clientId and clientSecret") {
		t.Errorf("wrong secret: %q", failure)
	}
}

// TestSignInEnvironment: the web app signs in with auth.environment's
// provider environment, which the providers route names.
func TestSignInEnvironment(t *testing.T) {
	dev := integrationstest.NewOIDCProvider(t, "portico-dev", "dev-secret")
	prod := integrationstest.NewOIDCProvider(t, "portico-prod", "prod-secret")
	env := func(name string, idp *integrationstest.OIDCProvider) string {
		return `
      ` + name + `:
        metadataUrl: ` + idp.MetadataURL() + `
        clientId: ` + idp.ClientID + `
        clientSecret: ` + idp.ClientSecret + `
        signIn: {resolvers: [{resolver: emailMatchingUserEntityProfileEmail}]}`
	}
	inst := apptest.Start(t, apptest.Options{Config: `
auth:
  environment: production
  session: {secret: yet-another-long-random-string}
  providers:
    oidc:` + env("development", dev) + env("production", prod) + "\n"})
	run(t, inst.URL, scenario{path: "/api/auth/providers", wantStatus: 200, wantBody: []string{`"environment":"production"`}})
	for query, want := range map[string]string{"env=development": dev.URL, "env=production": prod.URL, "env=staging": prod.URL, "": prod.URL} {
		status, h, body := newBrowser(t).do("GET", inst.URL+"/api/auth/oidc/start?"+query)
		if status != http.StatusFound || !strings.HasPrefix(h.Get("Location"), want+"/authorize") {
			t.Errorf("start?%s: %d to %s (%s), want %s", query, status, h.Get("Location"), body, want)
		}
	}
}

func TestGitLabSignIn(t *testing.T) {
	gl := integrationstest.NewGitLab(t, t.TempDir(), "")
	gl.SetOAuthApp("portico-app", "gl-secret")
	inst := apptest.Start(t, apptest.Options{Config: signInCatalogConfig(t) + `
auth:
  session: {secret: a-gitlab-session-secret}
  providers:
    gitlab:
      production:
        clientId: portico-app
        clientSecret: gl-secret
        audience: ` + gl.URL + `
        signIn: {resolvers: [{resolver: usernameMatchingUserEntityName}, {resolver: emailMatchingUserEntityProfileEmail}]}
`})
	run(t, inst.URL, scenario{path: "/api/auth/providers", wantStatus: 200, wantBody: []string{`"gitlab"`}})
	waitStatus(t, inst.URL+"/api/catalog/entities/by-name/user/default/alice", userToken(t, inst, "user:default/test"), http.StatusOK)
	for _, tt := range []struct {
		login, email, want string
	}{
		{"alice", "", "user:default/alice"},
		{"robert", "bob@example.com", "user:default/bob"},
	} {
		gl.SetOAuthUser(integrationstest.OAuthUser{ID: 7, Login: tt.login, Email: tt.email})
		b := newBrowser(t)
		if user, failure := signedInAs(b.signInWith(inst.URL, "gitlab")); user != tt.want {
			t.Errorf("GitLab user %s signed in as %q (%s), want %s", tt.login, user, failure, tt.want)
		}
		if status, _, body := b.do("GET", inst.URL+"/api/auth/gitlab/refresh"); status != 200 || !strings.Contains(body, tt.want) {
			t.Errorf("refresh: %d %s", status, body)
		}
	}
}
