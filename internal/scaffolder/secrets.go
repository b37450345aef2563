package scaffolder

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/portico-dev/portico/internal/store"
)

// sealer encrypts task secrets at rest with AES-256-GCM. Sealed values are
// "v1:" + base64(nonce || ciphertext).
type sealer struct{ aead cipher.AEAD }

// newSealer derives the key from the configured secret, or loads (creating
// on first use) a random key kept in the database, so that every replica
// of one database opens every other replica's secrets.
func newSealer(ctx context.Context, db *store.DB, configured string) (*sealer, error) {
	var key []byte
	if configured != "" {
		sum := sha256.Sum256([]byte(configured))
		key = sum[:]
	} else {
		var err error
		if key, err = storedKey(ctx, db); err != nil {
			return nil, err
		}
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

func storedKey(ctx context.Context, db *store.DB) ([]byte, error) {
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	// The first replica's insert wins; the others read its key.
	if _, err := db.ExecContext(ctx, `INSERT INTO scaffolder_keys (id, key, created_at) VALUES ('secrets', $1, $2) ON CONFLICT (id) DO NOTHING`,
		base64.StdEncoding.EncodeToString(fresh), store.Now()); err != nil {
		return nil, fmt.Errorf("store the scaffolder secrets key: %w", err)
	}
	var encoded string
	if err := db.QueryRowContext(ctx, `SELECT key FROM scaffolder_keys WHERE id = 'secrets'`).Scan(&encoded); err != nil {
		return nil, fmt.Errorf("read the scaffolder secrets key: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("the stored scaffolder secrets key is damaged; set scaffolder.secretsKey or delete the row of scaffolder_keys (tasks in flight lose their secrets)")
	}
	return key, nil
}

// seal encrypts secrets; nil or empty secrets are stored as NULL.
func (s *sealer) seal(secrets map[string]string) (*string, error) {
	if len(secrets) == 0 {
		return nil, nil
	}
	plain, err := json.Marshal(secrets)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out := "v1:" + base64.StdEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plain, nil))
	return &out, nil
}

// open decrypts what seal stored.
func (s *sealer) open(sealed *string) (map[string]string, error) {
	if sealed == nil || *sealed == "" {
		return nil, nil
	}
	raw, ok := strings.CutPrefix(*sealed, "v1:")
	if !ok {
		return nil, fmt.Errorf("task secrets are in an unknown format")
	}
	data, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(data) < s.aead.NonceSize() {
		return nil, fmt.Errorf("task secrets are damaged")
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, data[:n], data[n:], nil)
	if err != nil {
		return nil, fmt.Errorf("task secrets cannot be opened with this key (was scaffolder.secretsKey changed?): %w", err)
	}
	var out map[string]string
	if err := json.Unmarshal(plain, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// redactor replaces secret values in text with "***".
type redactor struct{ replacer *strings.Replacer }

func newRedactor(secretSets ...map[string]string) *redactor {
	var values []string
	for _, set := range secretSets {
		for _, v := range set {
			if len(v) >= 1 && strings.TrimSpace(v) != "" {
				values = append(values, v)
			}
		}
	}
	if len(values) == 0 {
		return &redactor{}
	}
	// Longer values first, so a secret containing another is replaced whole.
	slices.SortFunc(values, func(a, b string) int { return len(b) - len(a) })
	pairs := make([]string, 0, 2*len(values))
	for _, v := range values {
		pairs = append(pairs, v, "***")
	}
	return &redactor{replacer: strings.NewReplacer(pairs...)}
}

func (r *redactor) String(s string) string {
	if r == nil || r.replacer == nil {
		return s
	}
	return r.replacer.Replace(s)
}

// Value redacts every string inside a JSON-like value.
func (r *redactor) Value(v any) any {
	if r == nil || r.replacer == nil {
		return v
	}
	switch t := v.(type) {
	case string:
		return r.replacer.Replace(t)
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = r.Value(x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = r.Value(x)
		}
		return out
	}
	return v
}
