package auth

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// idTokenFixture is an identity provider's key set and metadata, served
// over HTTP, and an OIDC provider configured against it.
type idTokenFixture struct {
	provider *SignInProvider
	key      *rsa.PrivateKey
	meta     *oidcMetadata
	oidc     *oidcFlow
}

func newIDTokenFixture(t *testing.T) *idTokenFixture {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{"kty": "RSA", "kid": "k1",
			"n": b64.EncodeToString(key.N.Bytes()), "e": b64.EncodeToString(big.NewInt(int64(key.E)).Bytes())}}})
	}))
	t.Cleanup(srv.Close)
	cfg := OIDCConfig{MetadataURL: srv.URL, OAuthAppConfig: OAuthAppConfig{ClientID: "portico", ClientSecret: "x"}}
	cfg.SignIn.Resolvers = []SignInResolverConfig{{Resolver: "emailMatchingUserEntityProfileEmail"}}
	o, err := NewOIDC("test", cfg, "secret", "http://localhost:7007", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &idTokenFixture{key: key, meta: &oidcMetadata{Issuer: "https://idp.example", JWKSURI: srv.URL}, oidc: o.flow.(*oidcFlow), provider: o}
}

func (f *idTokenFixture) token(header map[string]string, claims map[string]any) string {
	hb, _ := json.Marshal(header)
	cb, _ := json.Marshal(claims)
	input := b64.EncodeToString(hb) + "." + b64.EncodeToString(cb)
	digest := sha256.Sum256([]byte(input))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, f.key, crypto.SHA256, digest[:])
	return input + "." + b64.EncodeToString(sig)
}

func TestVerifyIDToken(t *testing.T) {
	f := newIDTokenFixture(t)
	good := func() map[string]any {
		return map[string]any{"iss": "https://idp.example", "aud": "portico", "exp": time.Now().Add(time.Minute).Unix(), "nonce": "n1", "sub": "1"}
	}
	header := map[string]string{"alg": "RS256", "kid": "k1"}
	with := func(k string, v any) map[string]any { c := good(); c[k] = v; return c }
	tests := []struct {
		name   string
		token  string
		errHas string
	}{
		{"valid", f.token(header, good()), ""},
		{"audience list", f.token(header, with("aud", []string{"other", "portico"})), ""},
		{"another issuer", f.token(header, with("iss", "https://evil.example")), "issuer"},
		{"another audience", f.token(header, with("aud", "other")), "audience"},
		{"expired", f.token(header, with("exp", time.Now().Add(-time.Hour).Unix())), "expired"},
		{"another nonce", f.token(header, with("nonce", "n2")), "nonce"},
		{"unknown key", f.token(map[string]string{"alg": "RS256", "kid": "k2"}, good()), `no key "k2"`},
		{"alg none", f.token(map[string]string{"alg": "none", "kid": "k1"}, good()), "bad signature"},
		{"tampered claims", tamper(f.token(header, good())), "bad signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.oidc.verifyIDToken(context.Background(), f.meta, tt.token, "n1")
			if tt.errHas == "" && err != nil || tt.errHas != "" && (err == nil || !strings.Contains(err.Error(), tt.errHas)) {
				t.Fatalf("err = %v, want one containing %q", err, tt.errHas)
			}
		})
	}
}

// tamper swaps a token's claims for others, keeping its signature.
func tamper(token string) string {
	parts := strings.Split(token, ".")
	parts[1] = b64.EncodeToString([]byte(`{"iss":"https://idp.example","aud":"portico","exp":9999999999,"nonce":"n1","sub":"admin"}`))
	return strings.Join(parts, ".")
}

func TestSignedCookies(t *testing.T) {
	f := newIDTokenFixture(t)
	v := f.provider.sign(ProviderIdentity{Subject: "1", Email: "a@example.com", Expires: time.Now().Add(time.Hour).Unix()})
	var got ProviderIdentity
	if err := f.provider.verify(v, &got); err != nil || got.Email != "a@example.com" {
		t.Fatalf("verify = %v, %+v", err, got)
	}
	body, sig, _ := strings.Cut(v, ".")
	forged := b64.EncodeToString([]byte(`{"sub":"1","email":"root@example.com","exp":9999999999}`)) + "." + sig
	expired := f.provider.sign(ProviderIdentity{Subject: "1", Expires: time.Now().Add(-time.Second).Unix()})
	other, _ := NewOIDC("test", f.oidc.cfg, "another secret", "http://localhost:7007", nil, nil)
	for name, bad := range map[string]string{"forged": forged, "expired": expired, "malformed": body, "another secret": other.sign(got)} {
		if err := f.provider.verify(bad, &got); err == nil {
			t.Errorf("%s value accepted", name)
		}
	}
}

func TestNewOIDCConfigErrors(t *testing.T) {
	base := func() OIDCConfig {
		c := OIDCConfig{MetadataURL: "https://idp.example/.well-known/openid-configuration", OAuthAppConfig: OAuthAppConfig{ClientID: "id", ClientSecret: "s"}}
		c.SignIn.Resolvers = []SignInResolverConfig{{Resolver: "emailMatchingUserEntityProfileEmail"}}
		return c
	}
	tests := []struct {
		name   string
		change func(*OIDCConfig)
		secret string
		want   string
	}{
		{"no metadata", func(c *OIDCConfig) { c.MetadataURL = "" }, "s", "auth.providers.oidc.production.metadataUrl: missing"},
		{"bad metadata", func(c *OIDCConfig) { c.MetadataURL = "ftp://x" }, "s", `metadataUrl: "ftp://x" is not an http(s) URL`},
		{"no client", func(c *OIDCConfig) { c.ClientID = "" }, "s", "clientId: missing"},
		{"no client secret", func(c *OIDCConfig) { c.ClientSecret = "" }, "s", "clientSecret: missing"},
		{"no session secret", func(*OIDCConfig) {}, "", "auth.session.secret: missing"},
		{"no resolvers", func(c *OIDCConfig) { c.SignIn.Resolvers = nil }, "s", "signIn.resolvers: missing"},
		{"unknown resolver", func(c *OIDCConfig) { c.SignIn.Resolvers[0].Resolver = "magic" }, "s", `signIn.resolvers[0].resolver: unknown resolver "magic"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base()
			tt.change(&c)
			_, err := NewOIDC("production", c, tt.secret, "http://localhost:7007", nil, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestNewGitHubSignInConfigErrors(t *testing.T) {
	base := func() GitHubSignInConfig {
		c := GitHubSignInConfig{OAuthAppConfig: OAuthAppConfig{ClientID: "id", ClientSecret: "s"}}
		c.SignIn.Resolvers = []SignInResolverConfig{{Resolver: "usernameMatchingUserEntityName"}}
		return c
	}
	tests := []struct {
		name   string
		change func(*GitHubSignInConfig)
		want   string
	}{
		{"no client", func(c *GitHubSignInConfig) { c.ClientID = "" }, "auth.providers.github.production.clientId: missing"},
		{"no secret", func(c *GitHubSignInConfig) { c.ClientSecret = "" }, "clientSecret: missing"},
		{"bad enterprise URL", func(c *GitHubSignInConfig) { c.EnterpriseInstanceURL = "ghe.example.com" }, `enterpriseInstanceUrl: "ghe.example.com" is not an http(s) URL`},
		{"an oidc resolver", func(c *GitHubSignInConfig) {
			c.SignIn.Resolvers[0].Resolver = "preferredUsernameMatchingUserEntityName"
		}, `unknown resolver "preferredUsernameMatchingUserEntityName"; use one of usernameMatchingUserEntityName`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base()
			tt.change(&c)
			_, err := NewGitHubSignIn("production", c, "s", "http://localhost:7007", nil, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestNewGitLabSignInConfigErrors(t *testing.T) {
	resolvers := []SignInResolverConfig{{Resolver: "usernameMatchingUserEntityName"}}
	for _, tt := range []struct {
		cfg  GitLabSignInConfig
		want string
	}{
		{GitLabSignInConfig{OAuthAppConfig: OAuthAppConfig{ClientSecret: "s"}}, "auth.providers.gitlab.production.clientId: missing"},
		{GitLabSignInConfig{OAuthAppConfig: OAuthAppConfig{ClientID: "id"}}, "clientSecret: missing"},
		{GitLabSignInConfig{OAuthAppConfig: OAuthAppConfig{ClientID: "id", ClientSecret: "s"}, Audience: "gitlab.example.com"}, `audience: "gitlab.example.com" is not an http(s) URL`},
	} {
		tt.cfg.SignIn.Resolvers = resolvers
		if _, err := NewGitLabSignIn("production", tt.cfg, "s", "http://localhost:7007", nil, nil); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("err = %v, want %q", err, tt.want)
		}
	}
}
