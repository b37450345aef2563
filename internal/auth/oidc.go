package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/portico-dev/portico/internal/errs"
)

// OIDCConfig is auth.providers.oidc.<environment>: sign-in through an
// OpenID Connect identity provider (Keycloak, Entra ID, Okta, Google…),
// as Backstage's oidc provider.
type OIDCConfig struct {
	// MetadataURL is the provider's discovery document
	// (…/.well-known/openid-configuration).
	MetadataURL  string `yaml:"metadataUrl"`
	ClientID     string `yaml:"clientId"`
	ClientSecret string `yaml:"clientSecret"`
	// CallbackURL overrides where the provider sends people back
	// (default <backend.baseUrl>/api/auth/oidc/handler/frame).
	CallbackURL string `yaml:"callbackUrl"`
	// Scope defaults to "openid profile email".
	Scope string `yaml:"scope"`
	// Prompt is passed on as the prompt parameter ("auto": none).
	Prompt string `yaml:"prompt"`
	// SessionDuration is how long a sign-in lasts before the provider
	// must be visited again (default 7 days).
	SessionDuration time.Duration `yaml:"sessionDuration"`
	// AdditionalScopes and TokenEndpointAuthMethod are accepted from
	// Backstage configs; the client authenticates with HTTP Basic.
	AdditionalScopes        any    `yaml:"additionalScopes"`
	TokenEndpointAuthMethod string `yaml:"tokenEndpointAuthMethod"`
	SignIn                  struct {
		Resolvers []SignInResolverConfig `yaml:"resolvers"`
	} `yaml:"signIn"`
}

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

// The sign-in resolvers Portico runs.
var signInResolvers = []string{"emailMatchingUserEntityProfileEmail", "emailLocalPartMatchingUserEntityName", "preferredUsernameMatchingUserEntityName"}

// CatalogUsers finds the catalog's users for sign-in; the catalog
// implements it.
type CatalogUsers interface {
	// UserByEmail returns the ref of the User whose spec.profile.email is
	// email, "" when there is none, and an error when several match.
	UserByEmail(ctx context.Context, email string) (string, error)
	// UserByName returns the ref of user:default/<name>, or "".
	UserByName(ctx context.Context, name string) (string, error)
	// GroupsOf returns the groups the user is a member of.
	GroupsOf(ctx context.Context, userRef string, maxDepth int) ([]string, error)
}

// OIDCIdentity is what a sign-in established about a person: the ID
// token's claims that sign-in resolvers read.
type OIDCIdentity struct {
	Subject           string `json:"sub"`
	Email             string `json:"email,omitempty"`
	Name              string `json:"name,omitempty"`
	Picture           string `json:"picture,omitempty"`
	PreferredUsername string `json:"preferred_username,omitempty"`
	// Expires is when the sign-in ends (Unix seconds).
	Expires int64 `json:"exp"`
}

// OIDC is one environment of the oidc sign-in provider. Its sign-in state
// and sessions are signed cookies (auth.session.secret), so every replica
// accepts every other's.
type OIDC struct {
	cfg      OIDCConfig
	callback string
	secret   []byte
	tokens   *Tokens
	users    func() CatalogUsers
	client   *http.Client

	mu       sync.Mutex
	meta     *oidcMetadata
	metaTime time.Time
	keys     map[string]crypto.PublicKey
}

type oidcMetadata struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	JWKSURI               string `json:"jwks_uri"`
}

// NewOIDC checks auth.providers.oidc.<env> and returns the provider. users
// gives the catalog once it has started; baseURL is backend.baseUrl.
func NewOIDC(env string, cfg OIDCConfig, sessionSecret, baseURL string, tokens *Tokens, users func() CatalogUsers) (*OIDC, error) {
	at := "auth.providers.oidc." + env
	switch {
	case cfg.MetadataURL == "":
		return nil, fmt.Errorf("%s.metadataUrl: missing; give the provider's discovery URL (…/.well-known/openid-configuration)", at)
	case cfg.ClientID == "":
		return nil, fmt.Errorf("%s.clientId: missing", at)
	case cfg.ClientSecret == "":
		return nil, fmt.Errorf("%s.clientSecret: missing", at)
	case sessionSecret == "":
		return nil, fmt.Errorf("auth.session.secret: missing; the oidc provider signs its sessions with it: set a long random string, the same on every replica")
	}
	if u, err := url.Parse(cfg.MetadataURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%s.metadataUrl: %q is not an http(s) URL", at, cfg.MetadataURL)
	}
	if len(cfg.SignIn.Resolvers) == 0 {
		return nil, fmt.Errorf("%s.signIn.resolvers: missing; list how people map to catalog users, e.g. [{resolver: emailMatchingUserEntityProfileEmail}]", at)
	}
	for i, r := range cfg.SignIn.Resolvers {
		if !slices.Contains(signInResolvers, r.Resolver) {
			return nil, fmt.Errorf("%s.signIn.resolvers[%d].resolver: unknown resolver %q; use one of %s", at, i, r.Resolver, strings.Join(signInResolvers, ", "))
		}
	}
	if cfg.Scope == "" {
		cfg.Scope = "openid profile email"
	}
	if cfg.SessionDuration <= 0 {
		cfg.SessionDuration = 7 * 24 * time.Hour
	}
	callback := cfg.CallbackURL
	if callback == "" {
		callback = strings.TrimSuffix(baseURL, "/") + "/api/auth/oidc/handler/frame"
	}
	key := sha256.Sum256([]byte("portico oidc sessions\x00" + sessionSecret))
	return &OIDC{cfg: cfg, callback: callback, secret: key[:], tokens: tokens, users: users,
		client: &http.Client{Timeout: 15 * time.Second}, keys: map[string]crypto.PublicKey{}}, nil
}

// SessionDuration is how long a sign-in lasts.
func (o *OIDC) SessionDuration() time.Duration { return o.cfg.SessionDuration }

// metadata fetches the discovery document, kept for an hour.
func (o *OIDC) metadata(ctx context.Context) (*oidcMetadata, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.meta != nil && time.Since(o.metaTime) < time.Hour {
		return o.meta, nil
	}
	var m oidcMetadata
	if err := o.getJSON(ctx, o.cfg.MetadataURL, &m); err != nil {
		return nil, fmt.Errorf("read the identity provider's metadata: %w", err)
	}
	if m.AuthorizationEndpoint == "" || m.TokenEndpoint == "" || m.JWKSURI == "" || m.Issuer == "" {
		return nil, fmt.Errorf("the identity provider's metadata at %s lacks issuer, authorization_endpoint, token_endpoint or jwks_uri", o.cfg.MetadataURL)
	}
	o.meta, o.metaTime = &m, time.Now()
	return o.meta, nil
}

func (o *OIDC) getJSON(ctx context.Context, u string, dst any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	res, err := o.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, res.Status)
	}
	return json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(dst)
}

// oidcState is what the start of a sign-in keeps for its end, in a signed
// cookie: the nonce, the PKCE verifier and where to post the result.
type oidcState struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Origin   string `json:"o"`
	Expires  int64  `json:"exp"`
}

// Start begins a sign-in: it returns the provider's authorization URL to
// redirect to and the signed state to keep in a cookie.
func (o *OIDC) Start(ctx context.Context, origin string) (redirect, state string, err error) {
	meta, err := o.metadata(ctx)
	if err != nil {
		return "", "", err
	}
	st := oidcState{State: randomString(), Nonce: randomString(), Verifier: randomString() + randomString(), Origin: origin, Expires: time.Now().Add(10 * time.Minute).Unix()}
	challenge := sha256.Sum256([]byte(st.Verifier))
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {o.cfg.ClientID},
		"redirect_uri":          {o.callback},
		"scope":                 {o.cfg.Scope},
		"state":                 {st.State},
		"nonce":                 {st.Nonce},
		"code_challenge":        {b64.EncodeToString(challenge[:])},
		"code_challenge_method": {"S256"},
	}
	if o.cfg.Prompt != "" && o.cfg.Prompt != "auto" {
		q.Set("prompt", o.cfg.Prompt)
	}
	sep := "?"
	if strings.Contains(meta.AuthorizationEndpoint, "?") {
		sep = "&"
	}
	return meta.AuthorizationEndpoint + sep + q.Encode(), o.sign(st), nil
}

// StateOrigin reads the origin a sign-in started from, for posting its
// outcome back; "" when the state cookie is missing or not ours.
func (o *OIDC) StateOrigin(stateCookie string) string {
	var st oidcState
	if o.verify(stateCookie, &st) != nil {
		return ""
	}
	return st.Origin
}

// Finish ends a sign-in with the provider's callback parameters and the
// state cookie: it redeems the code, checks the ID token and returns the
// identity, signed as the session cookie's value.
func (o *OIDC) Finish(ctx context.Context, query url.Values, stateCookie string) (OIDCIdentity, string, error) {
	var st oidcState
	if err := o.verify(stateCookie, &st); err != nil {
		return OIDCIdentity{}, "", errs.Unauthenticatedf("the sign-in state is missing or expired; start signing in again")
	}
	if e := query.Get("error"); e != "" {
		return OIDCIdentity{}, "", errs.Unauthenticatedf("the identity provider refused the sign-in: %s %s", e, query.Get("error_description"))
	}
	if query.Get("state") != st.State {
		return OIDCIdentity{}, "", errs.Unauthenticatedf("the sign-in state does not match; start signing in again")
	}
	meta, err := o.metadata(ctx)
	if err != nil {
		return OIDCIdentity{}, "", err
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {query.Get("code")}, "redirect_uri": {o.callback}, "code_verifier": {st.Verifier}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, meta.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return OIDCIdentity{}, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(o.cfg.ClientID), url.QueryEscape(o.cfg.ClientSecret))
	res, err := o.client.Do(req)
	if err != nil {
		return OIDCIdentity{}, "", fmt.Errorf("redeem the sign-in code: %w", err)
	}
	defer res.Body.Close()
	var tok struct {
		IDToken string `json:"id_token"`
		Error   string `json:"error"`
		Desc    string `json:"error_description"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&tok); err != nil || res.StatusCode != http.StatusOK || tok.IDToken == "" {
		return OIDCIdentity{}, "", errs.Unauthenticatedf("the identity provider did not redeem the sign-in code (%s %s %s); check clientId and clientSecret", res.Status, tok.Error, tok.Desc)
	}
	claims, err := o.verifyIDToken(ctx, meta, tok.IDToken, st.Nonce)
	if err != nil {
		return OIDCIdentity{}, "", errs.Unauthenticatedf("the identity provider's ID token was refused: %v", err)
	}
	id := OIDCIdentity{Expires: time.Now().Add(o.cfg.SessionDuration).Unix()}
	id.Subject, _ = claims["sub"].(string)
	id.Email, _ = claims["email"].(string)
	id.Name, _ = claims["name"].(string)
	id.Picture, _ = claims["picture"].(string)
	id.PreferredUsername, _ = claims["preferred_username"].(string)
	return id, o.sign(id), nil
}

// verifyIDToken checks an ID token's signature (RS256 or ES256, with the
// provider's published keys), issuer, audience, expiry and nonce.
func (o *OIDC) verifyIDToken(ctx context.Context, meta *oidcMetadata, token, nonce string) (map[string]any, error) {
	p, err := parseJWT(token)
	if err != nil {
		return nil, err
	}
	key, err := o.key(ctx, meta, p.header.Kid)
	if err != nil {
		return nil, err
	}
	switch k := key.(type) {
	case *rsa.PublicKey:
		digest := sha256.Sum256([]byte(p.signingInput))
		if p.header.Alg != "RS256" || rsa.VerifyPKCS1v15(k, crypto.SHA256, digest[:], p.signature) != nil {
			return nil, errors.New("bad signature")
		}
	case *ecdsa.PublicKey:
		if p.header.Alg != "ES256" || !verifyES256(k, p) {
			return nil, errors.New("bad signature")
		}
	default:
		return nil, fmt.Errorf("unsupported algorithm %s", p.header.Alg)
	}
	now := time.Now().Unix()
	exp, _ := p.claims["exp"].(float64)
	switch {
	case p.claims["iss"] != meta.Issuer:
		return nil, fmt.Errorf("issuer %v, want %s", p.claims["iss"], meta.Issuer)
	case !audienceHas(p.claims["aud"], o.cfg.ClientID):
		return nil, fmt.Errorf("audience %v does not include %s", p.claims["aud"], o.cfg.ClientID)
	case int64(exp) < now-60:
		return nil, errors.New("expired")
	case p.claims["nonce"] != nonce:
		return nil, errors.New("the nonce does not match")
	}
	return p.claims, nil
}

func audienceHas(aud any, clientID string) bool {
	switch a := aud.(type) {
	case string:
		return a == clientID
	case []any:
		return slices.Contains(a, any(clientID))
	}
	return false
}

// key returns the provider's signing key kid, fetching the key set again
// when kid is new (the provider rotated its keys).
func (o *OIDC) key(ctx context.Context, meta *oidcMetadata, kid string) (crypto.PublicKey, error) {
	o.mu.Lock()
	k, ok := o.keys[kid]
	o.mu.Unlock()
	if ok {
		return k, nil
	}
	var set struct {
		Keys []struct {
			Kty string `json:"kty"`
			Kid string `json:"kid"`
			N   string `json:"n"`
			E   string `json:"e"`
			Crv string `json:"crv"`
			X   string `json:"x"`
			Y   string `json:"y"`
		} `json:"keys"`
	}
	if err := o.getJSON(ctx, meta.JWKSURI, &set); err != nil {
		return nil, fmt.Errorf("read the identity provider's keys: %w", err)
	}
	keys := map[string]crypto.PublicKey{}
	for _, k := range set.Keys {
		switch k.Kty {
		case "RSA":
			n, err1 := b64.DecodeString(k.N)
			e, err2 := b64.DecodeString(k.E)
			if err1 != nil || err2 != nil || len(e) > 4 {
				continue
			}
			keys[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		case "EC":
			pub, err := (jwk{Kty: k.Kty, Crv: k.Crv, X: k.X, Y: k.Y}).publicKey()
			if err == nil {
				keys[k.Kid] = pub
			}
		}
	}
	o.mu.Lock()
	o.keys = keys
	o.mu.Unlock()
	if k, ok := keys[kid]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("no key %q among the identity provider's keys", kid)
}

// Session signs in the person of a session cookie: the identity is mapped
// to a catalog User by the configured resolvers (again on every refresh,
// so catalog changes apply) and a Portico token is issued.
func (o *OIDC) Session(ctx context.Context, sessionCookie string) (Session, error) {
	var id OIDCIdentity
	if err := o.verify(sessionCookie, &id); err != nil {
		return Session{}, errs.Unauthenticatedf("not signed in with oidc, or the sign-in expired; sign in again")
	}
	userRef, ownership, err := o.resolve(ctx, id)
	if err != nil {
		return Session{}, err
	}
	token, exp, err := o.tokens.Issue(ctx, userRef, ownership)
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
func (o *OIDC) resolve(ctx context.Context, id OIDCIdentity) (string, []string, error) {
	users := o.users()
	if users == nil {
		return "", nil, errs.Unauthenticatedf("the catalog is starting; sign in again in a moment")
	}
	localPart, _, _ := strings.Cut(id.Email, "@")
	fallback := ""
	for _, r := range o.cfg.SignIn.Resolvers {
		var ref, name string
		var err error
		switch r.Resolver {
		case "emailMatchingUserEntityProfileEmail":
			if id.Email != "" {
				ref, err = users.UserByEmail(ctx, id.Email)
			}
			name = localPart
		case "emailLocalPartMatchingUserEntityName":
			if localPart != "" {
				ref, err = users.UserByName(ctx, localPart)
			}
			name = localPart
		case "preferredUsernameMatchingUserEntityName":
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
	return "", nil, errs.Unauthenticatedf("Failed to sign-in, unable to resolve user identity: no catalog User matches %s; add one (spec.profile.email) or change auth.providers.oidc signIn.resolvers", firstNonEmpty(id.Email, id.PreferredUsername, id.Subject))
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// sign encodes v with an HMAC, for cookies the browser keeps.
func (o *OIDC) sign(v any) string {
	body, _ := json.Marshal(v)
	mac := hmac.New(sha256.New, o.secret)
	mac.Write(body)
	return b64.EncodeToString(body) + "." + b64.EncodeToString(mac.Sum(nil))
}

// verify decodes a value sign made, refusing tampered or expired ones
// (values carry their expiry as "exp").
func (o *OIDC) verify(s string, dst any) error {
	body64, sig64, ok := strings.Cut(s, ".")
	body, err1 := b64.DecodeString(body64)
	sig, err2 := b64.DecodeString(sig64)
	if !ok || err1 != nil || err2 != nil {
		return errors.New("malformed")
	}
	mac := hmac.New(sha256.New, o.secret)
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
