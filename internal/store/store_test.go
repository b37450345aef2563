package store_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/portico-dev/portico/internal/store"
	"github.com/portico-dev/portico/internal/store/storetest"
)

var testMigrations = store.Migrations{Plugin: "test", FS: fstest.MapFS{
	"0001_items.sql": {Data: []byte(`CREATE TABLE test_items (
		id TEXT PRIMARY KEY,
		n INTEGER NOT NULL,
		created_at TIMESTAMPTZ NOT NULL)`)}, // TIMESTAMP on SQLite
	// The dialect-specific file wins over a plain one with the same version.
	"0002_counter.sql":          {Data: []byte(`this is not SQL and must never run`)},
	"0002_counter.sqlite.sql":   {Data: []byte(`CREATE TABLE test_counter (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT)`)},
	"0002_counter.postgres.sql": {Data: []byte(`CREATE TABLE test_counter (id BIGSERIAL PRIMARY KEY, v TEXT)`)},
}}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()

		t.Run("migrations are recorded and not applied twice", func(t *testing.T) {
			applied, err := db.Migrate(ctx, testMigrations)
			if err != nil {
				t.Fatal(err)
			}
			if len(applied) != 0 {
				t.Fatalf("second run applied %v, want nothing", applied)
			}
			status, err := db.MigrationStatus(ctx, testMigrations)
			if err != nil {
				t.Fatal(err)
			}
			if status[0].Current != 2 || status[0].Latest != 2 {
				t.Fatalf("status = %+v, want current 2 latest 2", status[0])
			}
		})

		t.Run("a newer schema than the binary knows is refused", func(t *testing.T) {
			older := store.Migrations{Plugin: "test", FS: fstest.MapFS{"0001_items.sql": testMigrations.FS.(fstest.MapFS)["0001_items.sql"]}}
			_, err := db.Migrate(ctx, older)
			if err == nil || !strings.Contains(err.Error(), "newer than this binary knows") {
				t.Fatalf("err = %v, want a newer-schema error", err)
			}
		})

		t.Run("transactions commit and roll back", func(t *testing.T) {
			now := store.Now()
			err := db.Tx(ctx, func(tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, "INSERT INTO test_items (id, n, created_at) VALUES ($1, $2, $3)", "a", 1, now)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			boom := errors.New("boom")
			err = db.Tx(ctx, func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, "INSERT INTO test_items (id, n, created_at) VALUES ($1, $2, $3)", "b", 2, now); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatalf("err = %v, want boom", err)
			}
			var n int
			var created time.Time
			if err := db.QueryRowContext(ctx, "SELECT n, created_at FROM test_items WHERE id = $1", "a").Scan(&n, &created); err != nil {
				t.Fatal(err)
			}
			if n != 1 || !created.Equal(now) {
				t.Fatalf("got n=%d created=%v, want 1 and %v", n, created, now)
			}
			var count int
			if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM test_items WHERE id = 'b'").Scan(&count); err != nil {
				t.Fatal(err)
			}
			if count != 0 {
				t.Fatal("rolled-back row is visible")
			}
		})

		t.Run("timestamps compare in SQL", func(t *testing.T) {
			base := store.Now()
			for i, id := range []string{"t1", "t2", "t3"} {
				if _, err := db.ExecContext(ctx, "INSERT INTO test_items (id, n, created_at) VALUES ($1, $2, $3)",
					id, i, base.Add(time.Duration(i)*1500*time.Microsecond)); err != nil {
					t.Fatal(err)
				}
			}
			var count int
			if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM test_items WHERE id LIKE 't%' AND created_at > $1",
				base.Add(time.Millisecond)).Scan(&count); err != nil {
				t.Fatal(err)
			}
			if count != 2 {
				t.Fatalf("count = %d, want 2", count)
			}
		})

		t.Run("unique violations are recognised", func(t *testing.T) {
			_, err := db.ExecContext(ctx, "INSERT INTO test_items (id, n, created_at) VALUES ($1, $2, $3)", "a", 9, store.Now())
			if !store.IsUniqueViolation(err) {
				t.Fatalf("err = %v, want a unique violation", err)
			}
		})

		t.Run("concurrent writers do not fail", func(t *testing.T) {
			var wg sync.WaitGroup
			errs := make(chan error, 8*25)
			for w := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 25 {
						err := db.Tx(ctx, func(tx *sql.Tx) error {
							_, err := tx.ExecContext(ctx, "INSERT INTO test_counter (v) VALUES ($1)", string(rune('a'+w))+string(rune('a'+i)))
							return err
						})
						errs <- err
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			var count int
			if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM test_counter").Scan(&count); err != nil {
				t.Fatal(err)
			}
			if count != 200 {
				t.Fatalf("count = %d, want 200", count)
			}
		})
	}, testMigrations)
}

func TestInMemorySQLiteIsSharedByConnections(t *testing.T) {
	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, ":memory:", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx, testMigrations); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO test_items (id, n, created_at) VALUES ('x', 1, $1)", store.Now()); err != nil {
		t.Fatal(err)
	}
	// Reads use other connections than the writer.
	var n int
	if err := db.QueryRowContext(ctx, "SELECT n FROM test_items WHERE id = 'x'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("n = %d", n)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		cfg  store.Config
		want string
	}{
		{"unknown client", store.Config{Client: "mysql"}, `unknown database client "mysql"`},
		{"unreachable postgres", store.Config{Client: "pg", Connection: store.Connection{DSN: "postgres://nobody@127.0.0.1:1/none?connect_timeout=2"}}, "check that PostgreSQL is running"},
		{"malformed postgres DSN", store.Config{Client: "pg", Connection: store.Connection{DSN: "postgres://%zz"}}, "invalid PostgreSQL connection string"},
		{"bad synchronous", store.Config{Client: "sqlite", Synchronous: "OFF"}, "expected NORMAL or FULL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := store.Open(ctx, tt.cfg, t.TempDir())
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestMigrationFileNames(t *testing.T) {
	ctx := context.Background()
	db := storetest.SQLite(t)
	for name, fs := range map[string]fstest.MapFS{
		"bad name":        {"items.sql": {Data: []byte("SELECT 1")}},
		"missing version": {"0002_x.sql": {Data: []byte("SELECT 1")}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := db.Migrate(ctx, store.Migrations{Plugin: "bad", FS: fs}); err == nil {
				t.Fatal("Migrate succeeded, want an error")
			}
		})
	}
}
