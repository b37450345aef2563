// Package storetest gives tests real databases: a fresh SQLite file always,
// and a fresh PostgreSQL schema when PORTICO_TEST_POSTGRES_URL is set (CI
// always sets it). Storage tests call Run so one suite covers both engines.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/store"
)

// PostgresURLEnv names the environment variable with the PostgreSQL URL for tests.
const PostgresURLEnv = "PORTICO_TEST_POSTGRES_URL"

// Run runs fn once per available database, each in a subtest named after the
// dialect, with migrations applied.
func Run(t *testing.T, fn func(t *testing.T, db *store.DB), migrations ...store.Migrations) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		fn(t, SQLite(t, migrations...))
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, Postgres(t, migrations...))
	})
}

// SQLite opens a new SQLite database in a temporary directory.
func SQLite(t testing.TB, migrations ...store.Migrations) *store.DB {
	t.Helper()
	db, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "test.db"), "")
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	migrate(t, db, migrations)
	return db
}

// Postgres opens a new, empty schema in the test PostgreSQL database and
// drops it when the test ends. The test is skipped when
// PORTICO_TEST_POSTGRES_URL is not set.
func Postgres(t testing.TB, migrations ...store.Migrations) *store.DB {
	t.Helper()
	dsn := PostgresSchemaDSN(t)
	db, err := store.OpenPostgresDSN(context.Background(), dsn)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	migrate(t, db, migrations)
	return db
}

// PostgresSchemaDSN creates a new schema for the test and returns a
// connection string whose search_path selects it, for tests that start
// whole servers. It skips the test when no PostgreSQL is configured.
func PostgresSchemaDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresURLEnv)
	if base == "" {
		t.Skipf("%s is not set; skipping the PostgreSQL run", PostgresURLEnv)
	}
	admin, err := store.OpenPostgresDSN(context.Background(), base)
	if err != nil {
		t.Fatalf("connect to %s: %v", PostgresURLEnv, err)
	}
	defer admin.Close()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "test_" + strings.ToLower(strings.NewReplacer("/", "_", " ", "_", "-", "_").Replace(t.Name()))
	if len(schema) > 40 {
		schema = schema[:40]
	}
	schema += "_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA "`+schema+`"`); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		admin, err := store.OpenPostgresDSN(context.Background(), base)
		if err != nil {
			return
		}
		defer admin.Close()
		_, _ = admin.ExecContext(context.Background(), `DROP SCHEMA "`+schema+`" CASCADE`)
	})
	return withSearchPath(base, schema)
}

func withSearchPath(dsn, schema string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}

func migrate(t testing.TB, db *store.DB, migrations []store.Migrations) {
	t.Helper()
	if len(migrations) == 0 {
		return
	}
	if _, err := db.Migrate(context.Background(), migrations...); err != nil {
		t.Fatalf("migrate: %v", err)
	}
}
