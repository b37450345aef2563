// Package seal encrypts small values kept at rest (task secrets, the
// request headers an instance started with) with AES-256-GCM, under a key
// derived from configuration or generated once and shared through the
// database by every replica.
package seal

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/portico-dev/portico/internal/store"
)

// ErrDamaged is returned for sealed text that is not in Portico's format
// or does not open with the key (the configured key changed, say).
var ErrDamaged = errors.New("sealed value cannot be opened")

// Sealer seals and opens values. Sealed text is "v1:" followed by the
// base64 of the nonce and the ciphertext.
type Sealer struct{ aead cipher.AEAD }

// New returns a sealer whose key is the SHA-256 of configured, or, when
// configured is empty, the random key stored in table under id (created by
// the first replica that asks). table is a fixed table name with columns
// (id TEXT PRIMARY KEY, key TEXT, created_at); only a configured key
// protects against a copy of the database, which holds the stored one.
func New(ctx context.Context, db *store.DB, table, id, configured string) (*Sealer, error) {
	var key []byte
	if configured != "" {
		sum := sha256.Sum256([]byte(configured))
		key = sum[:]
	} else {
		var err error
		if key, err = storedKey(ctx, db, table, id); err != nil {
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
	return &Sealer{aead: aead}, nil
}

func storedKey(ctx context.Context, db *store.DB, table, id string) ([]byte, error) {
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	// The first replica's insert wins; the others read its key.
	if _, err := db.ExecContext(ctx, `INSERT INTO `+table+` (id, key, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`,
		id, base64.StdEncoding.EncodeToString(fresh), store.Now()); err != nil {
		return nil, fmt.Errorf("store the %s key: %w", id, err)
	}
	var encoded string
	if err := db.QueryRowContext(ctx, `SELECT key FROM `+table+` WHERE id = $1`, id).Scan(&encoded); err != nil {
		return nil, fmt.Errorf("read the %s key: %w", id, err)
	}
	key, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("the stored %s key in %s is damaged; configure a key or delete its row (values sealed with it are lost)", id, table)
	}
	return key, nil
}

// Seal encrypts plain.
func (s *Sealer) Seal(plain []byte) (string, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return "v1:" + base64.StdEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plain, nil)), nil
}

// Open decrypts what Seal produced.
func (s *Sealer) Open(sealed string) ([]byte, error) {
	raw, ok := strings.CutPrefix(sealed, "v1:")
	if !ok {
		return nil, fmt.Errorf("%w: unknown format", ErrDamaged)
	}
	data, err := base64.StdEncoding.DecodeString(raw)
	n := s.aead.NonceSize()
	if err != nil || len(data) < n {
		return nil, fmt.Errorf("%w: not valid base64 or too short", ErrDamaged)
	}
	plain, err := s.aead.Open(nil, data[:n], data[n:], nil)
	if err != nil {
		return nil, fmt.Errorf("%w with this key (was the configured key changed?)", ErrDamaged)
	}
	return plain, nil
}
