package seal_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/seal"
	"github.com/portico-dev/portico/internal/store"
	"github.com/portico-dev/portico/internal/store/storetest"
)

func TestSealer(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		if _, err := db.ExecContext(ctx, `CREATE TABLE test_keys (id TEXT PRIMARY KEY, key TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		// Two replicas without a configured key share the stored one.
		a, err := seal.New(ctx, db, "test_keys", "k", "")
		if err != nil {
			t.Fatal(err)
		}
		b, err := seal.New(ctx, db, "test_keys", "k", "")
		if err != nil {
			t.Fatal(err)
		}
		sealed, err := a.Seal([]byte("Bearer abc"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(sealed, "abc") || !strings.HasPrefix(sealed, "v1:") {
			t.Errorf("sealed text %q", sealed)
		}
		if plain, err := b.Open(sealed); err != nil || string(plain) != "Bearer abc" {
			t.Fatalf("open on the other replica: %q %v", plain, err)
		}
		// Another key, damaged text and foreign formats are refused.
		c, err := seal.New(ctx, db, "test_keys", "k", "configured secret")
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{sealed, "v1:!!!", "v1:", "plain text", sealed[:len(sealed)-4] + "AAAA"} {
			if _, err := c.Open(bad); !errors.Is(err, seal.ErrDamaged) {
				t.Errorf("open %q: %v", bad, err)
			}
		}
		// A damaged stored key is reported, not used.
		if _, err := db.ExecContext(ctx, `UPDATE test_keys SET key = 'short' WHERE id = 'k'`); err != nil {
			t.Fatal(err)
		}
		if _, err := seal.New(ctx, db, "test_keys", "k", ""); err == nil || !strings.Contains(err.Error(), "damaged") {
			t.Errorf("damaged key: %v", err)
		}
	})
}
