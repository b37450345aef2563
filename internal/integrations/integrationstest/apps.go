package integrationstest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/integrations"
)

// App is a GitHub App known to a fake GitHub, installed on some owners.
type App struct {
	// ID is the App ID, the issuer its JWTs must name.
	ID string
	// Key is the app's private key; the fake checks JWT signatures with
	// its public half.
	Key *rsa.PrivateKey
	g   *GitHub

	mu sync.Mutex
	// tokenLifetime is how long issued tokens last (an hour, as on GitHub).
	tokenLifetime time.Duration
	pageSize      int
	installs      []install
	tokenCalls    int
}

type install struct {
	id        int64
	login     string
	suspended bool
}

// issued is an installation token the fake handed out.
type issued struct {
	owner   string
	expires time.Time
}

// installID numbers installations across fakes, as GitHub's ids are
// unique.
var (
	installMu sync.Mutex
	installID int64 = 1000
)

// AddApp registers a GitHub App with a fresh 2048-bit key, installed on
// owners (organization or user logins).
func (g *GitHub) AddApp(t testing.TB, id string, owners ...string) *App {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	a := &App{ID: id, Key: key, g: g, tokenLifetime: time.Hour}
	for _, o := range owners {
		a.Install(o)
	}
	g.appsMu.Lock()
	g.apps = append(g.apps, a)
	g.appsMu.Unlock()
	return a
}

// Install installs the app on owner.
func (a *App) Install(owner string) {
	installMu.Lock()
	installID++
	id := installID
	installMu.Unlock()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.installs = append(a.installs, install{id: id, login: owner})
}

// Suspend suspends the app's installation on owner: GitHub lists it with
// suspended_at and issues no tokens for it.
func (a *App) Suspend(owner string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := range a.installs {
		if strings.EqualFold(a.installs[i].login, owner) {
			a.installs[i].suspended = true
		}
	}
}

// SetTokenLifetime changes how long the tokens issued from now on last.
func (a *App) SetTokenLifetime(d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tokenLifetime = d
}

// SetPageSize makes the installations list come in pages of n (with Link
// headers), as a large app's does.
func (a *App) SetPageSize(n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pageSize = n
}

// TokenCalls is how many installation tokens the app has issued.
func (a *App) TokenCalls() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.tokenCalls
}

// PEM is the app's private key as GitHub hands it out (PKCS#1), or as
// PKCS#8 when pkcs8 is set.
func (a *App) PEM(pkcs8 bool) string {
	if pkcs8 {
		der, err := x509.MarshalPKCS8PrivateKey(a.Key)
		if err != nil {
			panic(err)
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(a.Key)}))
}

// Config is the integrations.github[].apps entry for the app.
func (a *App) Config() integrations.GitHubAppConfig {
	return integrations.GitHubAppConfig{AppID: a.ID, PrivateKey: a.PEM(false), ClientID: "Iv1.fake" + a.ID, ClientSecret: "secret", WebhookSecret: "hook"}
}

// installationToken reports whether an Authorization header carries an
// unexpired installation token of an installation on owner.
func (g *GitHub) installationToken(auth, owner string) bool {
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		return false
	}
	g.appsMu.Lock()
	defer g.appsMu.Unlock()
	it, ok := g.issued[tok]
	return ok && strings.EqualFold(it.owner, owner) && time.Now().Before(it.expires)
}

// jsonError answers as GitHub does, with a JSON message.
func jsonError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"message": msg})
}

// authApp checks the request's JWT as GitHub does: RS256, signed with the
// key of the app its iss names, unexpired and expiring at most 10 minutes
// ahead.
func (g *GitHub) authApp(r *http.Request) (*App, string) {
	jwt, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return nil, "A JSON web token could not be decoded"
	}
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return nil, "A JSON web token could not be decoded"
	}
	enc := base64.RawURLEncoding
	var header struct {
		Alg string `json:"alg"`
	}
	var claims struct {
		Iss      json.Number `json:"iss"`
		Iat, Exp int64
	}
	hb, err1 := enc.DecodeString(parts[0])
	cb, err2 := enc.DecodeString(parts[1])
	sig, err3 := enc.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(hb, &header) != nil || json.Unmarshal(cb, &claims) != nil {
		return nil, "A JSON web token could not be decoded"
	}
	if header.Alg != "RS256" {
		return nil, "'alg' must be RS256"
	}
	var app *App
	g.appsMu.Lock()
	for _, a := range g.apps {
		if a.ID == claims.Iss.String() {
			app = a
		}
	}
	g.appsMu.Unlock()
	if app == nil {
		return nil, "Integration not found"
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(&app.Key.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		return nil, "A JSON web token could not be decoded"
	}
	now := time.Now().Unix()
	switch {
	case claims.Exp <= now:
		return nil, "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"
	case claims.Exp > now+600 || claims.Exp-claims.Iat > 660:
		return nil, "'Expiration time' claim ('exp') is too far in the future"
	case claims.Iat > now+60:
		return nil, "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
	}
	return app, ""
}

// listInstallations serves GET /app/installations, paged by per_page and
// page with a Link header.
func (g *GitHub) listInstallations(w http.ResponseWriter, r *http.Request) {
	g.record(r)
	a, msg := g.authApp(r)
	if a == nil {
		jsonError(w, http.StatusUnauthorized, msg)
		return
	}
	a.mu.Lock()
	all := append([]install(nil), a.installs...)
	size := a.pageSize
	a.mu.Unlock()
	start, end := pageOf(w, r, len(all), size, g.URL+"/api/v3/app/installations")
	out := []map[string]any{}
	for _, in := range all[start:end] {
		kind := g.ownerType(in.login)
		item := map[string]any{"id": in.id, "app_id": a.ID, "account": map[string]any{"login": in.login, "type": kind}, "target_type": kind, "suspended_at": nil}
		if in.suspended {
			item["suspended_at"] = "2026-01-01T00:00:00Z"
		}
		out = append(out, item)
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

// createAccessToken serves POST /app/installations/{id}/access_tokens.
func (g *GitHub) createAccessToken(w http.ResponseWriter, r *http.Request) {
	g.record(r)
	a, msg := g.authApp(r)
	if a == nil {
		jsonError(w, http.StatusUnauthorized, msg)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, in := range a.installs {
		if strconv.FormatInt(in.id, 10) != r.PathValue("id") {
			continue
		}
		if in.suspended {
			jsonError(w, http.StatusForbidden, "This installation has been suspended")
			return
		}
		a.tokenCalls++
		var b [16]byte
		rand.Read(b[:])
		tok := "ghs_" + hex.EncodeToString(b[:])
		expires := time.Now().Add(a.tokenLifetime).UTC().Truncate(time.Second)
		g.appsMu.Lock()
		if g.issued == nil {
			g.issued = map[string]issued{}
		}
		g.issued[tok] = issued{owner: in.login, expires: expires}
		g.appsMu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"token": tok, "expires_at": expires.Format(time.RFC3339), "repository_selection": "all"})
		return
	}
	jsonError(w, http.StatusNotFound, "Not Found")
}

// RevokeTokens revokes every installation token issued so far, as GitHub
// does when an app is reinstalled or a token is revoked through the API.
func (g *GitHub) RevokeTokens() {
	g.appsMu.Lock()
	defer g.appsMu.Unlock()
	clear(g.issued)
}
