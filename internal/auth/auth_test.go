package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/errs"
	"github.com/portico-dev/portico/internal/store/storetest"
)

func newTokens(t *testing.T) *Tokens {
	t.Helper()
	return NewTokens(storetest.SQLite(t, Migrations), "http://localhost:7007/api/auth", time.Hour)
}

// forge builds a token with the given header and claims and a junk signature.
func forge(header, claims map[string]any) string {
	enc := base64.RawURLEncoding
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	return enc.EncodeToString(h) + "." + enc.EncodeToString(c) + "." + enc.EncodeToString([]byte("sig"))
}

func TestUserTokens(t *testing.T) {
	ctx := context.Background()
	tokens := newTokens(t)
	authn, err := NewAuthenticator(BackendConfig{}, tokens, nil)
	if err != nil {
		t.Fatal(err)
	}
	token, exp, err := tokens.Issue(ctx, "user:default/jane", []string{"user:default/jane", "group:default/team"})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(exp); d < 59*time.Minute || d > time.Hour {
		t.Errorf("expiry in %v, want about an hour", d)
	}
	p, err := authn.Authenticate(ctx, token, "catalog")
	if err != nil {
		t.Fatal(err)
	}
	if !p.IsUser() || p.Subject != "user:default/jane" || !p.Owns("group:default/team") || p.Token != token {
		t.Fatalf("principal %+v", p)
	}

	tests := map[string]string{
		"alg none":         forge(map[string]any{"alg": "none", "typ": userTokenType}, map[string]any{"sub": "user:default/admin", "aud": "backstage", "exp": 9999999999}),
		"HS256 user token": forge(map[string]any{"alg": "HS256", "typ": userTokenType}, map[string]any{"sub": "user:default/admin", "aud": "backstage", "exp": 9999999999}),
		"unknown key":      forge(map[string]any{"alg": "ES256", "typ": userTokenType, "kid": "nope"}, map[string]any{"sub": "user:default/admin", "exp": 9999999999}),
		"not a JWT":        "abc.def",
		"garbage":          "!!!",
		"claims swapped":   swapClaims(t, token, map[string]any{"sub": "user:default/admin"}),
	}
	for name, tok := range tests {
		t.Run(name, func(t *testing.T) {
			p, err := authn.Authenticate(ctx, tok, "catalog")
			if err == nil || errs.KindOf(err) != errs.Authentication {
				t.Fatalf("accepted %s as %+v (err %v)", name, p, err)
			}
		})
	}

	t.Run("expired", func(t *testing.T) {
		tokens.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
		defer func() { tokens.now = time.Now }()
		if _, err := authn.Authenticate(ctx, token, "catalog"); err == nil || !strings.Contains(err.Error(), "expired") {
			t.Fatalf("err = %v, want expired", err)
		}
	})
}

// swapClaims keeps a real token's header and signature but replaces its
// claims, which must break the signature.
func swapClaims(t *testing.T, token string, claims map[string]any) string {
	t.Helper()
	parts := strings.Split(token, ".")
	var c map[string]any
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	_ = json.Unmarshal(raw, &c)
	for k, v := range claims {
		c[k] = v
	}
	b, _ := json.Marshal(c)
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
}

func TestKeyRotationKeepsOldTokensValid(t *testing.T) {
	ctx := context.Background()
	tokens := newTokens(t)
	authn, _ := NewAuthenticator(BackendConfig{}, tokens, nil)
	old, _, err := tokens.Issue(ctx, "user:default/jane", nil)
	if err != nil {
		t.Fatal(err)
	}
	tokens.now = func() time.Time { return time.Now().Add(25 * time.Hour) }
	newer, _, err := tokens.Issue(ctx, "user:default/jane", nil)
	if err != nil {
		t.Fatal(err)
	}
	tokens.now = time.Now
	if headerKid(t, old) == headerKid(t, newer) {
		t.Fatal("the key did not rotate after 24 hours")
	}
	for _, tok := range []string{old, newer} {
		if _, err := authn.Authenticate(ctx, tok, "x"); err != nil {
			t.Fatalf("token refused after rotation: %v", err)
		}
	}
	jwks, err := tokens.JWKS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if keys := jwks["keys"].([]jwk); len(keys) != 2 {
		t.Fatalf("JWKS has %d keys, want 2", len(keys))
	}
}

func headerKid(t *testing.T, token string) string {
	t.Helper()
	p, err := parseJWT(token)
	if err != nil {
		t.Fatal(err)
	}
	return p.header.Kid
}

func TestAccessRestrictions(t *testing.T) {
	ctx := context.Background()
	cfg := BackendConfig{ExternalAccess: []ExternalAccess{{
		Type:    "static",
		Options: ExternalAccessOptions{Token: "restricted-1", Subject: "reader"},
		AccessRestrictions: []AccessRestrictionConfig{
			{Plugin: "catalog", Permission: StringList{"catalog.entity.read"}},
			{Plugin: "scaffolder", PermissionAttribute: struct {
				Action StringList `yaml:"action"`
			}{Action: StringList{"read"}}},
		},
	}}}
	authn, err := NewAuthenticator(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	perms := NewPermissions(nil)
	tests := []struct {
		plugin string
		perm   Permission
		want   Decision
	}{
		{"catalog", Permission{Name: "catalog.entity.read", Action: "read"}, Allow},
		{"catalog", Permission{Name: "catalog.entity.delete", Action: "delete"}, Deny},
		{"scaffolder", Permission{Name: "scaffolder.task.read", Action: "read"}, Allow},
		{"scaffolder", Permission{Name: "scaffolder.task.create", Action: "create"}, Deny},
	}
	for _, tt := range tests {
		p, err := authn.Authenticate(ctx, "restricted-1", tt.plugin)
		if err != nil {
			t.Fatal(err)
		}
		d, err := perms.Decide(ctx, p, Request{Permission: tt.perm})
		if err != nil {
			t.Fatal(err)
		}
		if d != tt.want {
			t.Errorf("%s %s: %s, want %s", tt.plugin, tt.perm.Name, d, tt.want)
		}
	}
	_, err = authn.Authenticate(ctx, "restricted-1", "notifications")
	if errs.KindOf(err) != errs.NotAllowed || !strings.Contains(err.Error(), "'catalog', 'scaffolder'") {
		t.Fatalf("err = %v", err)
	}
	if err := perms.Authorize(WithPrincipal(ctx, Principal{Type: TypeService, AccessRestrictions: &AccessRestriction{Actions: []string{"read"}}}),
		Permission{Name: "x.delete", Action: "delete"}, ""); errs.KindOf(err) != errs.NotAllowed {
		t.Fatalf("Authorize = %v, want NotAllowed", err)
	}
}

func TestRequire(t *testing.T) {
	if err := Require(None, TypeUser); errs.KindOf(err) != errs.Authentication || err.Error() != "Missing credentials" {
		t.Errorf("none: %v", err)
	}
	if err := Require(Principal{Type: TypeService}, TypeUser); errs.KindOf(err) != errs.NotAllowed {
		t.Errorf("service: %v", err)
	}
	if err := Require(Principal{Type: TypeUser}, TypeUser, TypeService); err != nil {
		t.Errorf("user: %v", err)
	}
}
