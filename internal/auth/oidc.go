package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
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
	OAuthAppConfig `yaml:",inline"`
	// MetadataURL is the provider's discovery document
	// (…/.well-known/openid-configuration).
	MetadataURL string `yaml:"metadataUrl"`
	// Scope defaults to "openid profile email".
	Scope string `yaml:"scope"`
	// Prompt is passed on as the prompt parameter ("auto": none).
	Prompt string `yaml:"prompt"`
	// TokenEndpointAuthMethod is accepted from Backstage configs; the
	// client authenticates with HTTP Basic.
	TokenEndpointAuthMethod string `yaml:"tokenEndpointAuthMethod"`
}

// oidcResolvers are the sign-in resolvers of the oidc provider.
var oidcResolvers = []string{"emailMatchingUserEntityProfileEmail", "emailLocalPartMatchingUserEntityName", "preferredUsernameMatchingUserEntityName", "emailMatchingUserEntityAnnotation"}

// oidcFlow signs in through an OpenID Connect provider: authorization code
// with PKCE, and an ID token checked against the provider's keys.
type oidcFlow struct {
	cfg    OIDCConfig
	client *http.Client

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
func NewOIDC(env string, cfg OIDCConfig, sessionSecret, baseURL string, tokens *Tokens, users func() CatalogUsers) (*SignInProvider, error) {
	at := "auth.providers.oidc." + env
	if cfg.MetadataURL == "" {
		return nil, fmt.Errorf("%s.metadataUrl: missing; give the provider's discovery URL (…/.well-known/openid-configuration)", at)
	}
	if _, err := instanceURL(at+".metadataUrl", cfg.MetadataURL); err != nil {
		return nil, err
	}
	if cfg.Scope == "" {
		cfg.Scope = "openid profile email"
	}
	flow := &oidcFlow{cfg: cfg, client: &http.Client{Timeout: 15 * time.Second}, keys: map[string]crypto.PublicKey{}}
	return newOAuthAppProvider("oidc", env, cfg.OAuthAppConfig, oidcResolvers, flow, sessionSecret, baseURL, tokens, users)
}

// metadata fetches the discovery document, kept for an hour.
func (o *oidcFlow) metadata(ctx context.Context) (*oidcMetadata, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.meta != nil && time.Since(o.metaTime) < time.Hour {
		return o.meta, nil
	}
	var m oidcMetadata
	if err := getJSON(ctx, o.client, o.cfg.MetadataURL, "", &m); err != nil {
		return nil, fmt.Errorf("read the identity provider's metadata: %w", err)
	}
	if m.AuthorizationEndpoint == "" || m.TokenEndpoint == "" || m.JWKSURI == "" || m.Issuer == "" {
		return nil, fmt.Errorf("the identity provider's metadata at %s lacks issuer, authorization_endpoint, token_endpoint or jwks_uri", o.cfg.MetadataURL)
	}
	o.meta, o.metaTime = &m, time.Now()
	return o.meta, nil
}

// getJSON reads a JSON document, with a bearer token when one is given.
func getJSON(ctx context.Context, client *http.Client, u, token string, dst any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, res.Status)
	}
	return json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(dst)
}

func (o *oidcFlow) authorize(ctx context.Context, st signInState, callback string) (string, error) {
	meta, err := o.metadata(ctx)
	if err != nil {
		return "", err
	}
	challenge := sha256.Sum256([]byte(st.Verifier))
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {o.cfg.ClientID},
		"redirect_uri":          {callback},
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
	return meta.AuthorizationEndpoint + sep + q.Encode(), nil
}

// redeemCode posts an authorization code to a token endpoint, with the
// client's credentials in HTTP Basic (when clientID is set; otherwise the
// form carries them), and decodes the answer into dst.
func redeemCode(ctx context.Context, client *http.Client, endpoint, clientID, clientSecret string, form url.Values, dst any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if clientID != "" {
		req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(clientSecret))
	}
	res, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("redeem the sign-in code: %w", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	var e struct {
		Error string `json:"error"`
		Desc  string `json:"error_description"`
	}
	_ = json.Unmarshal(body, &e)
	if res.StatusCode != http.StatusOK || e.Error != "" {
		return errs.Unauthenticatedf("the identity provider did not redeem the sign-in code (%s %s %s); check clientId and clientSecret", res.Status, e.Error, e.Desc)
	}
	return json.Unmarshal(body, dst)
}

func (o *oidcFlow) identify(ctx context.Context, query url.Values, st signInState, callback string) (ProviderIdentity, error) {
	meta, err := o.metadata(ctx)
	if err != nil {
		return ProviderIdentity{}, err
	}
	var tok struct {
		IDToken string `json:"id_token"`
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {query.Get("code")}, "redirect_uri": {callback}, "code_verifier": {st.Verifier}}
	if err := redeemCode(ctx, o.client, meta.TokenEndpoint, o.cfg.ClientID, o.cfg.ClientSecret, form, &tok); err != nil {
		return ProviderIdentity{}, err
	}
	claims, err := o.verifyIDToken(ctx, meta, tok.IDToken, st.Nonce)
	if err != nil {
		return ProviderIdentity{}, errs.Unauthenticatedf("the identity provider's ID token was refused: %v", err)
	}
	var id ProviderIdentity
	id.Subject, _ = claims["sub"].(string)
	id.Email, _ = claims["email"].(string)
	id.Name, _ = claims["name"].(string)
	id.Picture, _ = claims["picture"].(string)
	id.PreferredUsername, _ = claims["preferred_username"].(string)
	return id, nil
}

// verifyIDToken checks an ID token's signature (RS256 or ES256, with the
// provider's published keys), issuer, audience, expiry and nonce.
func (o *oidcFlow) verifyIDToken(ctx context.Context, meta *oidcMetadata, token, nonce string) (map[string]any, error) {
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
func (o *oidcFlow) key(ctx context.Context, meta *oidcMetadata, kid string) (crypto.PublicKey, error) {
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
	if err := getJSON(ctx, o.client, meta.JWKSURI, "", &set); err != nil {
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
