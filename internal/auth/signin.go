package auth

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/errs"
)

// Sign-in providers that send people to an identity provider and back
// (oidc, github) share this: the sign-in in progress and the session are
// HMAC-signed cookies (auth.session.secret), so any replica finishes a
// sign-in or refreshes a session, and each refresh maps the person to a
// catalog User again with the configured resolvers.

// SignInResolverConfig is one entry of signIn.resolvers.
type SignInResolverConfig struct {
	// Resolver names how the identity maps to a catalog User:
	// emailMatchingUserEntityProfileEmail, emailLocalPartMatchingUserEntityName
	// or preferredUsernameMatchingUserEntityName.
	Resolver string `yaml:"resolver"`
	// DangerouslyAllowSignInWithoutUserInCatalog signs in people without a
	// User entity as user:default/<name>.
	DangerouslyAllowSignInWithoutUserInCatalog bool `yaml:"dangerouslyAllowSignInWithoutUserInCatalog"`
}

// CatalogUsers finds the catalog's users for sign-in; the catalog
// implements it.
type CatalogUsers interface {
	// UserBy returns the ref of the User whose field (a dotted key, such
	// as spec.profile.email) has value, "" when there is none, and an
	// error when several match.
	UserBy(ctx context.Context, field, value string) (string, error)
	// UserByName returns the ref of user:default/<name>, or "".
	UserByName(ctx context.Context, name string) (string, error)
	// GroupsOf returns the groups the user is a member of.
	GroupsOf(ctx context.Context, userRef string, maxDepth int) ([]string, error)
}

// ProviderIdentity is what a sign-in established about a person, which
// sign-in resolvers read.
type ProviderIdentity struct {
	Subject           string `json:"sub"`
	Email             string `json:"email,omitempty"`
	Name              string `json:"name,omitempty"`
	Picture           string `json:"picture,omitempty"`
	PreferredUsername string `json:"preferred_username,omitempty"`
	// Expires is when the sign-in ends (Unix seconds).
	Expires int64 `json:"exp"`
}

// identityFlow is what differs between providers: how a sign-in starts at
// the identity provider and how its answer is redeemed for an identity.
type identityFlow interface {
	// authorize returns the identity provider's URL that starts a sign-in.
	authorize(ctx context.Context, st signInState, callback string) (string, error)
	// identify redeems the callback's parameters for who signed in.
	identify(ctx context.Context, query url.Values, st signInState, callback string) (ProviderIdentity, error)
}

// signInState is what the start of a sign-in keeps for its end, in a
// signed cookie: the state, nonce and PKCE verifier.
type signInState struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Expires  int64  `json:"exp"`
}

// SignInProvider is one environment of a sign-in provider.
type SignInProvider struct {
	id        string
	flow      identityFlow
	callback  string
	secret    []byte
	tokens    *Tokens
	users     func() CatalogUsers
	resolvers []SignInResolverConfig
	duration  time.Duration
}

// signInOptions are what every provider's configuration gives.
type signInOptions struct {
	id, env, at     string
	sessionSecret   string
	baseURL         string
	callbackURL     string
	sessionDuration time.Duration
	resolvers       []SignInResolverConfig
	// known are the resolvers the provider runs.
	known []string
}

func newSignInProvider(o signInOptions, flow identityFlow, tokens *Tokens, users func() CatalogUsers) (*SignInProvider, error) {
	if o.sessionSecret == "" {
		return nil, fmt.Errorf("auth.session.secret: missing; the %s provider signs its sessions with it: set a long random string, the same on every replica", o.id)
	}
	if len(o.resolvers) == 0 {
		return nil, fmt.Errorf("%s.signIn.resolvers: missing; list how people map to catalog users, e.g. [{resolver: %s}]", o.at, o.known[0])
	}
	for i, r := range o.resolvers {
		if !slices.Contains(o.known, r.Resolver) {
			return nil, fmt.Errorf("%s.signIn.resolvers[%d].resolver: unknown resolver %q; use one of %s", o.at, i, r.Resolver, strings.Join(o.known, ", "))
		}
	}
	if o.sessionDuration <= 0 {
		o.sessionDuration = 7 * 24 * time.Hour
	}
	callback := o.callbackURL
	if callback == "" {
		callback = strings.TrimSuffix(o.baseURL, "/") + "/api/auth/" + o.id + "/handler/frame"
	}
	key := sha256.Sum256([]byte("portico " + o.id + " sessions\x00" + o.sessionSecret))
	return &SignInProvider{id: o.id, flow: flow, callback: callback, secret: key[:], tokens: tokens, users: users,
		resolvers: o.resolvers, duration: o.sessionDuration}, nil
}

// OAuthAppConfig is what every sign-in provider's configuration has (oidc,
// github, gitlab): the OAuth client, where people come back, how long a
// sign-in lasts and how they map to catalog users.
type OAuthAppConfig struct {
	ClientID     string `yaml:"clientId"`
	ClientSecret string `yaml:"clientSecret"`
	// CallbackURL overrides where the provider sends people back (default
	// <backend.baseUrl>/api/auth/<provider>/handler/frame).
	CallbackURL     string        `yaml:"callbackUrl"`
	SessionDuration time.Duration `yaml:"sessionDuration"`
	// AdditionalScopes is accepted from Backstage configs: signing in
	// needs only the scopes that read the user's profile.
	AdditionalScopes any `yaml:"additionalScopes"`
	SignIn           struct {
		Resolvers []SignInResolverConfig `yaml:"resolvers"`
	} `yaml:"signIn"`
}

// newOAuthAppProvider checks an OAuth application's configuration (at is
// its key) and makes the provider with flow.
func newOAuthAppProvider(id, env string, cfg OAuthAppConfig, known []string, flow identityFlow, sessionSecret, baseURL string, tokens *Tokens, users func() CatalogUsers) (*SignInProvider, error) {
	at := "auth.providers." + id + "." + env
	switch {
	case cfg.ClientID == "":
		return nil, fmt.Errorf("%s.clientId: missing; give the OAuth application's client id", at)
	case cfg.ClientSecret == "":
		return nil, fmt.Errorf("%s.clientSecret: missing", at)
	}
	return newSignInProvider(signInOptions{id: id, env: env, at: at, sessionSecret: sessionSecret, baseURL: baseURL,
		callbackURL: cfg.CallbackURL, sessionDuration: cfg.SessionDuration, resolvers: cfg.SignIn.Resolvers, known: known}, flow, tokens, users)
}

// instanceURL checks the URL of a self-hosted instance (key names it).
func instanceURL(key, value string) (string, error) {
	u, err := url.Parse(value)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("%s: %q is not an http(s) URL", key, value)
	}
	return strings.TrimSuffix(value, "/"), nil
}

// SessionDuration is how long a sign-in lasts.
func (p *SignInProvider) SessionDuration() time.Duration { return p.duration }

// Start begins a sign-in: it returns the identity provider's URL to
// redirect to and the signed state to keep in a cookie.
func (p *SignInProvider) Start(ctx context.Context) (redirect, state string, err error) {
	st := signInState{State: randomString(), Nonce: randomString(), Verifier: randomString() + randomString(), Expires: time.Now().Add(10 * time.Minute).Unix()}
	redirect, err = p.flow.authorize(ctx, st, p.callback)
	if err != nil {
		return "", "", err
	}
	return redirect, p.sign(st), nil
}

// Finish ends a sign-in with the identity provider's callback parameters
// and the state cookie, and returns the identity signed as the session
// cookie's value.
func (p *SignInProvider) Finish(ctx context.Context, query url.Values, stateCookie string) (ProviderIdentity, string, error) {
	var st signInState
	if err := p.verify(stateCookie, &st); err != nil {
		return ProviderIdentity{}, "", errs.Unauthenticatedf("the sign-in state is missing or expired; start signing in again")
	}
	if e := query.Get("error"); e != "" {
		return ProviderIdentity{}, "", errs.Unauthenticatedf("the identity provider refused the sign-in: %s %s", e, query.Get("error_description"))
	}
	if query.Get("state") != st.State {
		return ProviderIdentity{}, "", errs.Unauthenticatedf("the sign-in state does not match; start signing in again")
	}
	id, err := p.flow.identify(ctx, query, st, p.callback)
	if err != nil {
		return ProviderIdentity{}, "", err
	}
	id.Expires = time.Now().Add(p.duration).Unix()
	return id, p.sign(id), nil
}

// Session signs in the person of a session cookie: the identity is mapped
// to a catalog User by the configured resolvers (again on every refresh,
// so catalog changes apply) and a Portico token is issued.
func (p *SignInProvider) Session(ctx context.Context, sessionCookie string) (Session, error) {
	var id ProviderIdentity
	if err := p.verify(sessionCookie, &id); err != nil {
		return Session{}, errs.Unauthenticatedf("not signed in with %s, or the sign-in expired; sign in again", p.id)
	}
	userRef, ownership, err := p.resolve(ctx, id)
	if err != nil {
		return Session{}, err
	}
	token, exp, err := p.tokens.Issue(ctx, userRef, ownership)
	if err != nil {
		return Session{}, err
	}
	return Session{
		Profile:      map[string]any{"email": id.Email, "displayName": id.Name, "picture": id.Picture},
		ProviderInfo: map[string]any{},
		BackstageIdentity: Identity{
			Token:            token,
			ExpiresInSeconds: int64(time.Until(exp).Seconds()),
			Identity:         UserIdentity{Type: "user", UserEntityRef: userRef, OwnershipEntityRefs: ownership},
		},
	}, nil
}

// resolve runs the sign-in resolvers in order; the first that finds a
// catalog User wins.
func (p *SignInProvider) resolve(ctx context.Context, id ProviderIdentity) (string, []string, error) {
	users := p.users()
	if users == nil {
		return "", nil, errs.Unauthenticatedf("the catalog is starting; sign in again in a moment")
	}
	localPart, _, _ := strings.Cut(id.Email, "@")
	fallback := ""
	for _, r := range p.resolvers {
		var ref, name string
		var err error
		switch r.Resolver {
		case "emailMatchingUserEntityProfileEmail":
			if id.Email != "" {
				ref, err = users.UserBy(ctx, "spec.profile.email", id.Email)
			}
			name = localPart
		case "emailMatchingUserEntityAnnotation":
			// The annotation Microsoft Graph's provider sets.
			if id.Email != "" {
				ref, err = users.UserBy(ctx, "metadata.annotations.microsoft.com/email", id.Email)
			}
			name = localPart
		case "emailLocalPartMatchingUserEntityName":
			if localPart != "" {
				ref, err = users.UserByName(ctx, localPart)
			}
			name = localPart
		case "preferredUsernameMatchingUserEntityName", "usernameMatchingUserEntityName":
			if id.PreferredUsername != "" {
				ref, err = users.UserByName(ctx, id.PreferredUsername)
			}
			name = id.PreferredUsername
		}
		if err != nil {
			return "", nil, errs.Unauthenticatedf("sign-in resolver %s: %v", r.Resolver, err)
		}
		if ref != "" {
			groups, err := users.GroupsOf(ctx, ref, 0)
			if err != nil {
				return "", nil, err
			}
			return ref, append([]string{ref}, groups...), nil
		}
		if r.DangerouslyAllowSignInWithoutUserInCatalog && fallback == "" && name != "" {
			fallback = "user:default/" + strings.ToLower(name)
		}
	}
	if fallback != "" {
		return fallback, []string{fallback}, nil
	}
	// Backstage's words, which people search for.
	return "", nil, errs.Unauthenticatedf("Failed to sign-in, unable to resolve user identity: no catalog User matches %s; add one (spec.profile.email) or change auth.providers.%s signIn.resolvers", cmp.Or(id.Email, id.PreferredUsername, id.Subject), p.id)
}

// sign encodes v with an HMAC, for cookies the browser keeps.
func (p *SignInProvider) sign(v any) string {
	body, _ := json.Marshal(v)
	mac := hmac.New(sha256.New, p.secret)
	mac.Write(body)
	return b64.EncodeToString(body) + "." + b64.EncodeToString(mac.Sum(nil))
}

// verify decodes a value sign made, refusing tampered or expired ones
// (values carry their expiry as "exp").
func (p *SignInProvider) verify(s string, dst any) error {
	body64, sig64, ok := strings.Cut(s, ".")
	body, err1 := b64.DecodeString(body64)
	sig, err2 := b64.DecodeString(sig64)
	if !ok || err1 != nil || err2 != nil {
		return errors.New("malformed")
	}
	mac := hmac.New(sha256.New, p.secret)
	mac.Write(body)
	if !hmac.Equal(mac.Sum(nil), sig) {
		return errors.New("bad signature")
	}
	var exp struct {
		Exp int64 `json:"exp"`
	}
	if json.Unmarshal(body, &exp) != nil || exp.Exp < time.Now().Unix() {
		return errors.New("expired")
	}
	return json.Unmarshal(body, dst)
}

func randomString() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return b64.EncodeToString(b)
}
