package integrations_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/config"
	"github.com/portico-dev/portico/internal/integrations"
	"github.com/portico-dev/portico/internal/integrations/integrationstest"
)

// appSet is a Set for the fake GitHub with the given token and apps.
func appSet(t *testing.T, gh *integrationstest.GitHub, token string, apps ...integrations.GitHubAppConfig) *integrations.Set {
	t.Helper()
	c := gh.Config(token)
	c.Apps = apps
	set, err := integrations.New(integrations.Config{GitHub: []integrations.GitHubConfig{c}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// authOf is the Authorization of the requests to paths starting with
// prefix, in order.
func authOf(gh *integrationstest.GitHub, prefix string) []string {
	var out []string
	for _, r := range gh.Requests() {
		if strings.HasPrefix(r.Path, prefix) {
			out = append(out, r.Authorization)
		}
	}
	return out
}

func countPath(gh *integrationstest.GitHub, prefix string) int {
	return len(authOf(gh, prefix))
}

func TestGitHubAppReads(t *testing.T) {
	gh := integrationstest.NewGitHub(t, "testdata/repos", ghToken)
	app := gh.AddApp(t, "4242", "someone-else", "ACME")
	app.SetPageSize(1) // acme is on the second page of installations
	set := appSet(t, gh, "", app.Config())
	ctx := t.Context()
	want, _ := os.ReadFile("testdata/repos/acme/svc/main/catalog-info.yaml")

	// A private file through the contents API with an installation token.
	f, err := set.ReadFile(ctx, gh.URL+"/acme/svc/blob/main/catalog-info.yaml", integrations.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(f.Data) != string(want) {
		t.Fatalf("got %q", f.Data)
	}
	auths := authOf(gh, "/api/v3/repos/acme/svc/contents/")
	if len(auths) != 1 || !strings.HasPrefix(auths[0], "Bearer ghs_") {
		t.Fatalf("contents requests carried %q, want an installation token", auths)
	}
	token := auths[0]

	// A tree, a glob search and a raw URL reuse the same token.
	dir := t.TempDir()
	if err := set.ReadTree(ctx, gh.URL+"/acme/svc/tree/main/skeleton", openRoot(t, dir), integrations.TreeOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := listDir(t, dir); !slices.Equal(got, []string{"README.md", "src", "src/app.txt"}) {
		t.Fatalf("tree = %q", got)
	}
	found, err := set.Search(ctx, gh.URL+"/acme/svc/blob/main/**/*.md", integrations.TreeOptions{})
	if err != nil || len(found) != 2 {
		t.Fatalf("search: %d files, %v", len(found), err)
	}
	if f, err := set.ReadFile(ctx, gh.URL+"/raw/acme/svc/main/other.yaml", integrations.ReadOptions{}); err != nil || string(f.Data) != "kind: Location\n" {
		t.Fatalf("raw read: %v %v", f, err)
	}
	for _, p := range []string{"/api/v3/repos/acme/svc/tarball/", "/raw/acme/svc/"} {
		if got := authOf(gh, p); len(got) == 0 || slices.IndexFunc(got, func(a string) bool { return a != token }) >= 0 {
			t.Errorf("%s requests carried %q, want %q", p, got, token)
		}
	}
	// The token is what publish:github gets too.
	if got, err := set.GitHubToken(ctx, gh.Host(), "acme"); err != nil || "Bearer "+got != token {
		t.Fatalf("GitHubToken = %q, %v; want the cached %q", got, err, token)
	}
	// One token for all of it; the installations were listed once (two
	// pages).
	if n := app.TokenCalls(); n != 1 {
		t.Fatalf("%d access_tokens calls, want 1", n)
	}
	if n := countPath(gh, "/api/v3/app/installations"); n != 3 { // 2 pages + 1 access_tokens
		t.Fatalf("%d requests to /app/installations…, want 3", n)
	}
	// Nothing authenticated as the app went to the download host.
	for _, r := range gh.DownloadRequests.Requests() {
		if r.Authorization != "" {
			t.Errorf("download host got %q", r.Authorization)
		}
	}
}

func TestGitHubAppTokenCachedAcrossConcurrentReads(t *testing.T) {
	gh := integrationstest.NewGitHub(t, "testdata/repos", ghToken)
	app := gh.AddApp(t, "7", "acme")
	set := appSet(t, gh, "", app.Config())
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, err := set.ReadFile(t.Context(), gh.URL+"/acme/svc/blob/main/other.yaml", integrations.ReadOptions{})
			errc <- err
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := app.TokenCalls(); n != 1 {
		t.Fatalf("%d access_tokens calls for 8 concurrent reads, want 1", n)
	}
}

func TestGitHubAppTokenRenewedNearExpiry(t *testing.T) {
	gh := integrationstest.NewGitHub(t, "testdata/repos", ghToken)
	app := gh.AddApp(t, "4242", "acme")
	// Tokens that expire within the renewal margin are not reused.
	app.SetTokenLifetime(5 * time.Minute)
	// GitHub also accepts PKCS#8 keys converted with openssl.
	cfg := app.Config()
	cfg.PrivateKey = app.PEM(true)
	set := appSet(t, gh, "", cfg)
	blob := gh.URL + "/acme/svc/blob/main/other.yaml"
	for range 2 {
		if _, err := set.ReadFile(t.Context(), blob, integrations.ReadOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	auths := authOf(gh, "/api/v3/repos/acme/svc/contents/")
	if n := app.TokenCalls(); n != 2 || len(auths) != 2 || auths[0] == auths[1] {
		t.Fatalf("%d access_tokens calls, reads carried %q; want a new token for each read", n, auths)
	}
	// A token with an hour left is kept.
	app.SetTokenLifetime(time.Hour)
	for range 3 {
		if _, err := set.ReadFile(t.Context(), blob, integrations.ReadOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := app.TokenCalls(); n != 3 {
		t.Fatalf("%d access_tokens calls, want 3 (one more, then cached)", n)
	}
}

func TestGitHubAppNotInstalled(t *testing.T) {
	gh := integrationstest.NewGitHub(t, "testdata/repos", ghToken)
	app := gh.AddApp(t, "4242", "acme")
	ctx := t.Context()
	globex := gh.URL + "/globex/svc/blob/main/catalog-info.yaml"

	// With a token too: the app for acme, the token for globex.
	both := appSet(t, gh, ghToken, app.Config())
	if _, err := both.ReadFile(ctx, globex, integrations.ReadOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := both.ReadFile(ctx, gh.URL+"/acme/svc/blob/main/other.yaml", integrations.ReadOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := authOf(gh, "/api/v3/repos/globex/"); len(got) != 1 || got[0] != "Bearer "+ghToken {
		t.Fatalf("globex read carried %q, want the integration's token", got)
	}
	// An owner found without the app is remembered: reading more of its
	// repositories does not list the installations again.
	listings := func() int {
		n := 0
		for _, r := range gh.Requests() {
			if r.Path == "/api/v3/app/installations" {
				n++
			}
		}
		return n
	}
	before := listings()
	if _, err := both.ReadFile(ctx, gh.URL+"/globex/svc/blob/main/catalog-info.yaml", integrations.ReadOptions{}); err != nil {
		t.Fatal(err)
	}
	if after := listings(); after != before {
		t.Errorf("a second read of globex listed the installations again (%d listings, was %d)", after, before)
	}
	if got := authOf(gh, "/api/v3/repos/acme/"); len(got) != 1 || !strings.HasPrefix(got[0], "Bearer ghs_") {
		t.Fatalf("acme read carried %q, want the app's installation token", got)
	}
	if tok, err := both.GitHubToken(ctx, gh.Host(), "globex"); err != nil || tok != ghToken {
		t.Fatalf("GitHubToken(globex) = %q, %v", tok, err)
	}

	// Apps only: a private repository fails naming the owner and the app;
	// a public one is still read anonymously, as without apps.
	only := appSet(t, gh, "", app.Config())
	_, err := only.ReadFile(ctx, globex, integrations.ReadOptions{})
	for _, want := range []string{"globex", "GitHub App 4242", "integrations.github[0].apps[0]", "install the app"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("error %v does not name %q", err, want)
		}
	}
	dir := t.TempDir()
	if err := only.ReadTree(ctx, gh.URL+"/globex/public-docs/tree/main", openRoot(t, dir), integrations.TreeOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := authOf(gh, "/api/v3/repos/globex/public-docs/"); len(got) != 1 || got[0] != "" {
		t.Fatalf("public read carried %q, want no credentials", got)
	}
	_, err = only.GitHubToken(ctx, gh.Host(), "globex")
	for _, want := range []string{"globex", "GitHub App 4242", "integrations.github[0].apps[0]", "no token"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("GitHubToken error %v does not name %q", err, want)
		}
	}

	// An owner left out of allowedInstallationOwners is treated as not
	// installed, without asking GitHub.
	app.Install("globex")
	limited := app.Config()
	limited.AllowedInstallationOwners = []string{"ACME"}
	before = app.TokenCalls()
	if tok, err := appSet(t, gh, ghToken, limited).GitHubToken(ctx, gh.Host(), "globex"); err != nil || tok != ghToken {
		t.Fatalf("GitHubToken(globex) with allowedInstallationOwners = %q, %v", tok, err)
	}
	if app.TokenCalls() != before {
		t.Fatal("an installation token was issued for an owner not allowed")
	}
	// The caller's token (the scaffolder's token input) wins over apps.
	if _, err := only.ReadFile(ctx, globex, integrations.ReadOptions{Token: ghToken}); err != nil {
		t.Fatal(err)
	}
}

func TestGitHubAppRefused(t *testing.T) {
	gh := integrationstest.NewGitHub(t, "testdata/repos", ghToken)
	app := gh.AddApp(t, "4242", "acme")
	other := gh.AddApp(t, "9", "acme")
	ctx := t.Context()
	blob := gh.URL + "/acme/svc/blob/main/other.yaml"

	// A key that is not the app's: GitHub refuses the JWT, and the error
	// says which app to fix, even though a token is configured.
	wrong := app.Config()
	wrong.PrivateKey = other.PEM(false)
	_, err := appSet(t, gh, ghToken, wrong).ReadFile(ctx, blob, integrations.ReadOptions{})
	for _, want := range []string{"HTTP 401", "GitHub App 4242", "check the appId and privateKey of integrations.github[0].apps[0]"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("error %v does not say %q", err, want)
		}
	}

	// A suspended installation.
	app.Suspend("acme")
	_, err = appSet(t, gh, "", app.Config()).ReadFile(ctx, blob, integrations.ReadOptions{})
	if err == nil || !strings.Contains(err.Error(), "suspended") || !strings.Contains(err.Error(), "unsuspend it in acme") {
		t.Fatalf("error %v does not say the installation on acme is suspended", err)
	}
}

func TestGitHubAppConfigErrors(t *testing.T) {
	gh := integrationstest.NewGitHub(t, "testdata/repos", ghToken)
	app := gh.AddApp(t, "4242", "acme")
	good := app.Config()
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	with := func(f func(*integrations.GitHubAppConfig)) integrations.GitHubAppConfig {
		c := good
		f(&c)
		return c
	}
	for _, tc := range []struct {
		name string
		app  integrations.GitHubAppConfig
		want []string
	}{
		{"malformed key", with(func(c *integrations.GitHubAppConfig) {
			c.PrivateKey = "-----BEGIN RSA PRIVATE KEY-----\nbm9wZQ==\n-----END RSA PRIVATE KEY-----\n"
		}),
			[]string{"integrations.github[0].apps[1].privateKey", "PKCS#1", ".pem file"}},
		{"not PEM", with(func(c *integrations.GitHubAppConfig) { c.PrivateKey = "${GITHUB_APP_KEY}" }),
			[]string{"integrations.github[0].apps[1].privateKey", "not a PEM-encoded key"}},
		{"not RSA", with(func(c *integrations.GitHubAppConfig) {
			c.PrivateKey = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}))
		}), []string{"integrations.github[0].apps[1].privateKey", "RSA"}},
		{"no key", with(func(c *integrations.GitHubAppConfig) { c.PrivateKey = "" }),
			[]string{"integrations.github[0].apps[1].privateKey is missing"}},
		{"no app id", with(func(c *integrations.GitHubAppConfig) { c.AppID = "" }),
			[]string{"integrations.github[0].apps[1].appId is missing", "App ID"}},
		{"client id as app id", with(func(c *integrations.GitHubAppConfig) { c.AppID = "Iv1.abc" }),
			[]string{"integrations.github[0].apps[1].appId", "not a number"}},
		{"bad owner", with(func(c *integrations.GitHubAppConfig) {
			c.AllowedInstallationOwners = []string{"acme", "https://github.com/x"}
		}),
			[]string{"integrations.github[0].apps[1].allowedInstallationOwners[1]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := gh.Config("")
			c.Apps = []integrations.GitHubAppConfig{good, tc.app}
			_, err := integrations.New(integrations.Config{GitHub: []integrations.GitHubConfig{c}}, nil)
			for _, want := range tc.want {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("error %v does not say %q", err, want)
				}
			}
		})
	}
	// A key written on one line with literal \n, as in an environment
	// variable, is read.
	oneLine := good
	oneLine.PrivateKey = strings.ReplaceAll(good.PrivateKey, "\n", `\n`)
	if _, err := appSet(t, gh, "", oneLine).ReadFile(t.Context(), gh.URL+"/acme/svc/blob/main/other.yaml", integrations.ReadOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestGitHubAppFromConfigFile decodes Backstage's apps keys from a config
// file, with a numeric appId and the key from an environment variable.
func TestGitHubAppFromConfigFile(t *testing.T) {
	gh := integrationstest.NewGitHub(t, "testdata/repos", ghToken)
	app := gh.AddApp(t, "4242", "acme")
	file := filepath.Join(t.TempDir(), "app-config.yaml")
	yaml := "integrations:\n  github:\n    - host: " + gh.Host() + "\n      apiBaseUrl: " + gh.URL + "/api/v3\n      rawBaseUrl: " + gh.URL + "/raw\n" +
		"      apps:\n        - appId: 4242\n          privateKey: ${APP_KEY}\n          clientId: Iv1.abc\n          clientSecret: s\n          webhookSecret: w\n          allowedInstallationOwners: [acme]\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(config.Options{Files: []string{file}, Environ: func() []string { return nil },
		LookupEnv: func(k string) (string, bool) { return app.PEM(false), k == "APP_KEY" }})
	if err != nil {
		t.Fatal(err)
	}
	var ic integrations.Config
	if err := cfg.Decode("integrations", &ic); err != nil {
		t.Fatal(err)
	}
	if w := cfg.Warnings(); len(w) > 0 {
		t.Fatalf("warnings: %q", w)
	}
	set, err := integrations.New(ic, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := set.ReadFile(t.Context(), gh.URL+"/acme/svc/blob/main/other.yaml", integrations.ReadOptions{}); err != nil {
		t.Fatal(err)
	}
	if app.TokenCalls() != 1 {
		t.Fatal("the read did not use the app")
	}
}

func TestGitHubAppRevokedTokenIsRenewed(t *testing.T) {
	gh := integrationstest.NewGitHub(t, "testdata/repos", ghToken)
	app := gh.AddApp(t, "4242", "acme")
	set := appSet(t, gh, "", app.Config())
	ctx := t.Context()
	blob, tree := gh.URL+"/acme/svc/blob/main/other.yaml", gh.URL+"/acme/svc/tree/main/skeleton"
	if _, err := set.ReadFile(ctx, blob, integrations.ReadOptions{}); err != nil {
		t.Fatal(err)
	}
	// GitHub refuses the cached token: that read fails, naming the app's
	// token, and the next one gets a new token.
	for i, read := range []func() error{
		func() error { _, err := set.ReadFile(ctx, blob, integrations.ReadOptions{}); return err },
		func() error { return set.ReadTree(ctx, tree, openRoot(t, t.TempDir()), integrations.TreeOptions{}) },
	} {
		gh.RevokeTokens()
		err := read()
		if err == nil || !strings.Contains(err.Error(), "HTTP 401") || !strings.Contains(err.Error(), "installation token of GitHub App 4242") {
			t.Fatalf("read %d with a revoked token: %v", i, err)
		}
		if err := read(); err != nil {
			t.Fatalf("read %d after the refusal: %v", i, err)
		}
	}
	if n := app.TokenCalls(); n != 3 {
		t.Fatalf("%d access_tokens calls, want 3", n)
	}
}
