package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"embed"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/portico-dev/portico/internal/errs"
	"github.com/portico-dev/portico/internal/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are the auth tables.
var Migrations = store.EmbeddedMigrations("auth", migrationFiles, "migrations")

// Token types, as Backstage writes them in the JWT "typ" header.
const (
	userTokenType   = "vnd.backstage.user"
	userTokenAud    = "backstage"
	keyRotation     = 24 * time.Hour
	keyRetention    = 72 * time.Hour
	keyRefreshLimit = 10 * time.Second
)

// Tokens issues and verifies user tokens (ES256 JWTs in Backstage's format).
type Tokens struct {
	db         *store.DB
	issuer     string
	expiration time.Duration
	now        func() time.Time

	mu          sync.Mutex
	key         *ecdsa.PrivateKey
	kid         string
	keyCreated  time.Time
	publicKeys  map[string]*ecdsa.PublicKey
	lastRefresh time.Time
}

// NewTokens returns a token issuer. issuer is the "iss" claim (the auth
// plugin's external URL); expiration is the lifetime of issued tokens.
func NewTokens(db *store.DB, issuer string, expiration time.Duration) *Tokens {
	if expiration <= 0 {
		expiration = time.Hour
	}
	return &Tokens{db: db, issuer: issuer, expiration: expiration, now: time.Now, publicKeys: map[string]*ecdsa.PublicKey{}}
}

// Issue signs a user token for userRef acting as ownershipRefs.
func (t *Tokens) Issue(ctx context.Context, userRef string, ownershipRefs []string) (string, time.Time, error) {
	key, kid, err := t.signingKey(ctx)
	if err != nil {
		return "", time.Time{}, err
	}
	now := t.now().UTC()
	exp := now.Add(t.expiration)
	if len(ownershipRefs) == 0 {
		ownershipRefs = []string{userRef}
	}
	claims := map[string]any{
		"iss": t.issuer,
		"sub": userRef,
		"ent": ownershipRefs,
		"aud": userTokenAud,
		"iat": now.Unix(),
		"exp": exp.Unix(),
	}
	token, err := signES256(key, jwtHeader{Alg: "ES256", Typ: userTokenType, Kid: kid}, claims)
	if err != nil {
		return "", time.Time{}, err
	}
	return token, time.Unix(exp.Unix(), 0).UTC(), nil
}

// signingKey returns this process's current key, creating and publishing a
// new one when there is none or it is due for rotation.
func (t *Tokens) signingKey(ctx context.Context) (*ecdsa.PrivateKey, string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.key != nil && t.now().Sub(t.keyCreated) < keyRotation {
		return t.key, t.kid, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, "", fmt.Errorf("generate signing key: %w", err)
	}
	kid := uuid.NewString()
	pub, err := json.Marshal(publicJWK(kid, &key.PublicKey))
	if err != nil {
		return nil, "", err
	}
	created := store.Now()
	if _, err := t.db.ExecContext(ctx, "INSERT INTO auth_keys (kid, public_key, created_at) VALUES ($1, $2, $3)", kid, string(pub), created); err != nil {
		return nil, "", fmt.Errorf("publish signing key: %w", err)
	}
	// Old keys can go once no token they signed can still be valid.
	if _, err := t.db.ExecContext(ctx, "DELETE FROM auth_keys WHERE created_at < $1", created.Add(-keyRetention)); err != nil {
		return nil, "", fmt.Errorf("remove expired signing keys: %w", err)
	}
	t.key, t.kid, t.keyCreated = key, kid, t.now()
	t.publicKeys[kid] = &key.PublicKey
	return key, kid, nil
}

// isUserToken reports whether a parsed token claims to be a Portico (or
// Backstage-format) user token.
func isUserToken(p *jwtParts) bool {
	if p.header.Typ == userTokenType {
		return true
	}
	aud, _ := p.claims["aud"].(string)
	return aud == userTokenAud
}

// verify checks a user token's signature and lifetime and returns its user.
func (t *Tokens) verify(ctx context.Context, token string, p *jwtParts) (Principal, error) {
	if p.header.Alg != "ES256" {
		return None, errs.Unauthenticatedf("Failed user token verification")
	}
	pub, err := t.publicKey(ctx, p.header.Kid)
	if err != nil {
		return None, err
	}
	if pub == nil || !verifyES256(pub, p) {
		return None, errs.Unauthenticatedf("Failed user token verification")
	}
	exp, ok := p.claims["exp"].(float64)
	if !ok {
		return None, errs.Unauthenticatedf("User token is missing expiration")
	}
	if t.now().Unix() >= int64(exp) {
		return None, errs.Unauthenticatedf("Failed user token verification: token has expired")
	}
	sub, _ := p.claims["sub"].(string)
	if sub == "" {
		return None, errs.Unauthenticatedf("No user sub found in token")
	}
	var ent []string
	if raw, ok := p.claims["ent"].([]any); ok {
		for _, e := range raw {
			if s, ok := e.(string); ok {
				ent = append(ent, s)
			}
		}
	}
	if !slices.Contains(ent, sub) {
		ent = append([]string{sub}, ent...)
	}
	return Principal{Type: TypeUser, Subject: sub, OwnershipEntityRefs: ent, Token: token, ExpiresAt: time.Unix(int64(exp), 0).UTC()}, nil
}

// publicKey finds the verification key for kid, reading keys other replicas
// published when it is not known yet (rate-limited, so tokens with random
// kids cannot hammer the database).
func (t *Tokens) publicKey(ctx context.Context, kid string) (*ecdsa.PublicKey, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if pub, ok := t.publicKeys[kid]; ok {
		return pub, nil
	}
	if t.now().Sub(t.lastRefresh) < keyRefreshLimit {
		return nil, nil
	}
	t.lastRefresh = t.now()
	keys, err := t.loadKeys(ctx)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		pub, err := k.publicKey()
		if err == nil {
			t.publicKeys[k.Kid] = pub
		}
	}
	return t.publicKeys[kid], nil
}

func (t *Tokens) loadKeys(ctx context.Context) ([]jwk, error) {
	rows, err := t.db.QueryContext(ctx, "SELECT public_key FROM auth_keys ORDER BY created_at")
	if err != nil {
		return nil, fmt.Errorf("read signing keys: %w", err)
	}
	defer rows.Close()
	var keys []jwk
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			return nil, err
		}
		var k jwk
		if err := json.Unmarshal([]byte(raw), &k); err == nil {
			keys = append(keys, k)
		}
	}
	return keys, rows.Err()
}

// JWKS returns the public keys that verify user tokens, in JSON Web Key Set
// form ({"keys": [...]}).
func (t *Tokens) JWKS(ctx context.Context) (map[string]any, error) {
	keys, err := t.loadKeys(ctx)
	if err != nil {
		return nil, err
	}
	if keys == nil {
		keys = []jwk{}
	}
	return map[string]any{"keys": keys}, nil
}
