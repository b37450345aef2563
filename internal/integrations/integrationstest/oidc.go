package integrationstest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"
)

// OIDCProvider is an OpenID Connect identity provider for tests. Whoever
// reaches its authorization endpoint is signed in as the person SetUser
// names, as with a real provider once they have logged in there. It checks
// what a real one checks: the client, the redirect URI, single-use codes
// and the PKCE verifier; its ID tokens are RS256-signed with a key it
// publishes.
type OIDCProvider struct {
	URL          string
	ClientID     string
	ClientSecret string

	key *rsa.PrivateKey
	mu  sync.Mutex
	// claims are the signed-in person's ID token claims.
	claims map[string]any
	codes  map[string]oidcCode
	// Refuse makes the authorization endpoint answer with this error.
	refuse string
}

type oidcCode struct {
	nonce, challenge, redirect string
}

// NewOIDCProvider starts a provider for one client; it stops with the test.
func NewOIDCProvider(t testing.TB, clientID, clientSecret string) *OIDCProvider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &OIDCProvider{ClientID: clientID, ClientSecret: clientSecret, key: key, codes: map[string]oidcCode{}, claims: map[string]any{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	mux.HandleFunc("GET /jwks", p.jwks)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// MetadataURL is the provider's discovery document.
func (p *OIDCProvider) MetadataURL() string { return p.URL + "/.well-known/openid-configuration" }

// SetUser sets who signs in next: sub, email, name, preferred_username…
func (p *OIDCProvider) SetUser(claims map[string]any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.claims = claims
}

// Refuse makes the next sign-ins fail with an OAuth error ("" stops it).
func (p *OIDCProvider) Refuse(oauthError string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refuse = oauthError
}

func (p *OIDCProvider) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, map[string]any{
		"issuer": p.URL, "authorization_endpoint": p.URL + "/authorize", "token_endpoint": p.URL + "/token", "jwks_uri": p.URL + "/jwks",
		"response_types_supported": []string{"code"}, "id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported": []string{"S256"},
	})
}

func (p *OIDCProvider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != p.ClientID || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || q.Get("redirect_uri") == "" {
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	back, err := url.Parse(q.Get("redirect_uri"))
	if err != nil {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	refuse := p.refuse
	code := randomID()
	p.codes[code] = oidcCode{nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri")}
	p.mu.Unlock()
	params := back.Query()
	params.Set("state", q.Get("state"))
	if refuse != "" {
		params.Set("error", refuse)
	} else {
		params.Set("code", code)
	}
	back.RawQuery = params.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (p *OIDCProvider) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if !ok || id != p.ClientID || secret != p.ClientSecret {
		w.WriteHeader(http.StatusUnauthorized)
		writeJSON(w, map[string]string{"error": "invalid_client"})
		return
	}
	_ = r.ParseForm()
	p.mu.Lock()
	c, found := p.codes[r.Form.Get("code")]
	delete(p.codes, r.Form.Get("code"))
	claims := map[string]any{}
	for k, v := range p.claims {
		claims[k] = v
	}
	p.mu.Unlock()
	sum := sha256.Sum256([]byte(r.Form.Get("code_verifier")))
	if !found || r.Form.Get("grant_type") != "authorization_code" || r.Form.Get("redirect_uri") != c.redirect ||
		base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge {
		w.WriteHeader(http.StatusBadRequest)
		writeJSON(w, map[string]string{"error": "invalid_grant"})
		return
	}
	now := time.Now().Unix()
	claims["iss"], claims["aud"], claims["iat"], claims["exp"], claims["nonce"] = p.URL, p.ClientID, now, now+300, c.nonce
	writeJSON(w, map[string]any{"id_token": p.sign(claims), "access_token": randomID(), "token_type": "Bearer", "expires_in": 300})
}

func (p *OIDCProvider) sign(claims map[string]any) string {
	enc := base64.RawURLEncoding
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": "test-key"})
	body, _ := json.Marshal(claims)
	input := enc.EncodeToString(header) + "." + enc.EncodeToString(body)
	digest := sha256.Sum256([]byte(input))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, p.key, crypto.SHA256, digest[:])
	return input + "." + enc.EncodeToString(sig)
}

func (p *OIDCProvider) jwks(w http.ResponseWriter, _ *http.Request) {
	enc := base64.RawURLEncoding
	writeJSON(w, map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "kid": "test-key", "alg": "RS256", "use": "sig",
		"n": enc.EncodeToString(p.key.N.Bytes()), "e": enc.EncodeToString(big.NewInt(int64(p.key.E)).Bytes()),
	}}})
}

func randomID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
