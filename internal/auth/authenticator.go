package auth

import (
	"context"
	"encoding/base64"
	"fmt"
	"sort"
	"strings"

	"github.com/portico-dev/portico/internal/errs"
)

// Authenticator turns the token a request carries into a principal.
type Authenticator struct {
	tokens *Tokens
	static map[string]externalEntry
	legacy []legacyEntry
	// guest, when set, is who an unauthenticated request acts as.
	guest *Principal
	// DisableDefaultPolicy mirrors backend.auth.dangerouslyDisableDefaultAuthPolicy.
	DisableDefaultPolicy bool
}

type externalEntry struct {
	subject      string
	restrictions map[string]*AccessRestriction // by plugin; nil = unrestricted
}

type legacyEntry struct {
	secret []byte
	externalEntry
}

// NewAuthenticator builds an authenticator from backend.auth. guest, when
// non-nil, is the principal unauthenticated requests act as.
func NewAuthenticator(cfg BackendConfig, tokens *Tokens, guest *Principal) (*Authenticator, error) {
	a := &Authenticator{tokens: tokens, static: map[string]externalEntry{}, guest: guest, DisableDefaultPolicy: cfg.DangerouslyDisableDefaultAuthPolicy}
	for i, e := range cfg.ExternalAccess {
		if err := e.validate(i); err != nil {
			return nil, err
		}
		entry := externalEntry{subject: e.Options.Subject, restrictions: restrictionsByPlugin(e.AccessRestrictions)}
		switch e.Type {
		case "static":
			if _, dup := a.static[e.Options.Token]; dup {
				return nil, fmt.Errorf("backend.auth.externalAccess[%d]: static externalAccess token was declared more than once", i)
			}
			a.static[e.Options.Token] = entry
		case "legacy":
			secret, err := decodeSecret(e.Options.Secret)
			if err != nil {
				return nil, fmt.Errorf("backend.auth.externalAccess[%d].options.secret: illegal secret, must be a valid base64 string", i)
			}
			a.legacy = append(a.legacy, legacyEntry{secret: secret, externalEntry: entry})
		}
	}
	for i, k := range cfg.Keys {
		secret, err := decodeSecret(k.Secret)
		if err != nil || k.Secret == "" {
			return nil, fmt.Errorf("backend.auth.keys[%d].secret: illegal secret, must be a valid base64 string", i)
		}
		a.legacy = append(a.legacy, legacyEntry{secret: secret, externalEntry: externalEntry{subject: "external:backstage-plugin"}})
	}
	return a, nil
}

func decodeSecret(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if b, err := base64.RawURLEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(s)
}

func restrictionsByPlugin(cfg []AccessRestrictionConfig) map[string]*AccessRestriction {
	if len(cfg) == 0 {
		return nil
	}
	m := make(map[string]*AccessRestriction, len(cfg))
	for _, r := range cfg {
		m[r.Plugin] = &AccessRestriction{PermissionNames: r.Permission, Actions: r.PermissionAttribute.Action}
	}
	return m
}

// Authenticate resolves the bearer token of a request to plugin into a
// principal. An empty token gives the guest (when configured) or None;
// whether None may proceed is the caller's policy. A token that is present
// but not valid is an Authentication error, never None.
func (a *Authenticator) Authenticate(ctx context.Context, token, plugin string) (Principal, error) {
	if token == "" {
		if a.guest != nil {
			return *a.guest, nil
		}
		return None, nil
	}
	if e, ok := a.static[token]; ok {
		return e.principal(token, plugin)
	}
	p, err := parseJWT(token)
	if err != nil {
		return None, errs.Unauthenticatedf("Illegal token")
	}
	if a.tokens != nil && isUserToken(p) {
		return a.tokens.verify(ctx, token, p)
	}
	if p.header.Alg == "HS256" {
		sub, _ := p.claims["sub"].(string)
		_, hasAud := p.claims["aud"]
		if sub == "backstage-server" && !hasAud {
			for _, l := range a.legacy {
				if verifyHS256(l.secret, p) {
					if exp, ok := p.claims["exp"].(float64); ok && a.tokens != nil && a.tokens.now().Unix() >= int64(exp) {
						return None, errs.Unauthenticatedf("Illegal token: the legacy token has expired")
					}
					return l.principal(token, plugin)
				}
			}
		}
	}
	return None, errs.Unauthenticatedf("Illegal token")
}

func (e externalEntry) principal(token, plugin string) (Principal, error) {
	p := Principal{Type: TypeService, Subject: e.subject, Token: token}
	if e.restrictions != nil {
		r, ok := e.restrictions[plugin]
		if !ok {
			names := make([]string, 0, len(e.restrictions))
			for k := range e.restrictions {
				names = append(names, "'"+k+"'")
			}
			sort.Strings(names)
			return None, errs.NotAllowedf("This token's access is restricted to plugin(s) %s", strings.Join(names, ", "))
		}
		p.AccessRestrictions = r
	}
	return p, nil
}

// AllowsUnauthenticated reports whether requests without credentials may
// reach plugin routes: with the default policy disabled, or when they act
// as the guest.
func (a *Authenticator) AllowsUnauthenticated() bool {
	return a.DisableDefaultPolicy || a.guest != nil
}

// Require checks a principal against the types a route accepts, with
// Backstage's messages.
func Require(p Principal, allowed ...PrincipalType) error {
	for _, t := range allowed {
		if p.Type == t {
			return nil
		}
	}
	switch p.Type {
	case TypeNone:
		return errs.Unauthenticatedf("Missing credentials")
	default:
		return errs.NotAllowedf("This endpoint does not allow '%s' credentials", p.Type)
	}
}
