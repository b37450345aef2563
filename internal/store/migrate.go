package store

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// EmbeddedMigrations returns the migrations of plugin kept in the dir
// directory of an embedded file system. The directory is part of the
// binary, so a missing one is a build mistake and panics.
func EmbeddedMigrations(plugin string, fsys fs.FS, dir string) Migrations {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(fmt.Sprintf("migrations of %s: %v", plugin, err))
	}
	return Migrations{Plugin: plugin, FS: sub}
}

// Migrations are one plugin's schema changes, as SQL files in FS named
// NNNN_description.sql. Plain files are written for PostgreSQL and run on
// both databases: on SQLite the column type TIMESTAMPTZ becomes TIMESTAMP,
// the type the SQLite driver reads back as time.Time. A file
// NNNN_description.sqlite.sql or NNNN_description.postgres.sql replaces the
// plain one for that dialect, for statements the two databases spell
// differently in other ways. Versions are applied
// in order, each in its own transaction, and never edited once released.
type Migrations struct {
	// Plugin names the plugin; its versions are counted separately.
	Plugin string
	FS     fs.FS
}

// timestamptz matches PostgreSQL's timestamp type in plain migrations.
var timestamptz = regexp.MustCompile(`(?i)\bTIMESTAMPTZ\b`)

type migration struct {
	version int
	name    string
	sql     string
}

func (m Migrations) load(d Dialect) ([]migration, error) {
	entries, err := fs.ReadDir(m.FS, ".")
	if err != nil {
		return nil, fmt.Errorf("migrations of %s: %w", m.Plugin, err)
	}
	type candidate struct {
		name    string
		file    string
		dialect string
	}
	byVersion := map[int][]candidate{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		base := strings.TrimSuffix(name, ".sql")
		dialect := ""
		for _, dn := range []string{"sqlite", "postgres"} {
			if strings.HasSuffix(base, "."+dn) {
				dialect, base = dn, strings.TrimSuffix(base, "."+dn)
			}
		}
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migrations of %s: file %s must be named NNNN_description.sql", m.Plugin, name)
		}
		byVersion[v] = append(byVersion[v], candidate{name: base, file: name, dialect: dialect})
	}
	var out []migration
	for v, cands := range byVersion {
		var pick *candidate
		for i, c := range cands {
			if c.dialect == d.String() {
				pick = &cands[i]
			} else if c.dialect == "" && pick == nil {
				pick = &cands[i]
			}
		}
		if pick == nil {
			return nil, fmt.Errorf("migrations of %s: version %d has no file for %s", m.Plugin, v, d)
		}
		data, err := fs.ReadFile(m.FS, pick.file)
		if err != nil {
			return nil, err
		}
		sql := string(data)
		if pick.dialect == "" && d == SQLite {
			sql = timestamptz.ReplaceAllString(sql, "TIMESTAMP")
		}
		out = append(out, migration{version: v, name: pick.name, sql: sql})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, mig := range out {
		if mig.version != i+1 {
			return nil, fmt.Errorf("migrations of %s: version %d is missing", m.Plugin, i+1)
		}
	}
	return out, nil
}

// MigrationStatus is the state of one plugin's schema.
type MigrationStatus struct {
	Plugin  string
	Current int // applied version
	Latest  int // newest version this binary knows
}

// Migrate applies every pending migration of the given plugins and returns
// the names of the ones it applied. Several replicas may start at once: on
// PostgreSQL an advisory lock lets one migrate while the others wait.
func (db *DB) Migrate(ctx context.Context, sets ...Migrations) ([]string, error) {
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	if db.dialect == Postgres {
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrationLockID); err != nil {
			return nil, fmt.Errorf("migrate: take the migration lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLockID) //nolint:errcheck // released with the session anyway
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS portico_migrations (
		plugin TEXT NOT NULL,
		version INTEGER NOT NULL,
		name TEXT NOT NULL,
		applied_at TIMESTAMP NOT NULL,
		PRIMARY KEY (plugin, version))`); err != nil {
		return nil, fmt.Errorf("migrate: create portico_migrations: %w", err)
	}
	var applied []string
	for _, set := range sets {
		migs, err := set.load(db.dialect)
		if err != nil {
			return applied, err
		}
		current, err := currentVersion(ctx, conn, set.Plugin)
		if err != nil {
			return applied, err
		}
		if current > len(migs) {
			return applied, fmt.Errorf("the database schema of %s is at version %d, newer than this binary knows (%d); run a newer portico", set.Plugin, current, len(migs))
		}
		for _, mig := range migs[current:] {
			if err := applyMigration(ctx, conn, set.Plugin, mig); err != nil {
				return applied, err
			}
			applied = append(applied, fmt.Sprintf("%s/%s", set.Plugin, mig.name))
		}
	}
	return applied, nil
}

// migrationLockID is the PostgreSQL advisory lock key for migrations.
var migrationLockID = func() int64 {
	h := fnv.New64a()
	h.Write([]byte("portico migrations"))
	return int64(h.Sum64() >> 1)
}()

func currentVersion(ctx context.Context, conn *sql.Conn, plugin string) (int, error) {
	var v sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT MAX(version) FROM portico_migrations WHERE plugin = $1", plugin).Scan(&v); err != nil {
		return 0, fmt.Errorf("migrate: read the schema version of %s: %w", plugin, err)
	}
	return int(v.Int64), nil
}

func applyMigration(ctx context.Context, conn *sql.Conn, plugin string, mig migration) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate %s/%s: %w", plugin, mig.name, err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	if _, err := tx.ExecContext(ctx, mig.sql); err != nil {
		return fmt.Errorf("migrate %s/%s: %w", plugin, mig.name, err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO portico_migrations (plugin, version, name, applied_at) VALUES ($1, $2, $3, $4)",
		plugin, mig.version, mig.name, Now()); err != nil {
		return fmt.Errorf("migrate %s/%s: record version: %w", plugin, mig.name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate %s/%s: commit: %w", plugin, mig.name, err)
	}
	return nil
}

// MigrationStatus reports, per plugin, the applied and the newest version.
func (db *DB) MigrationStatus(ctx context.Context, sets ...Migrations) ([]MigrationStatus, error) {
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var exists bool
	q := "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'portico_migrations')"
	if db.dialect == Postgres {
		q = "SELECT to_regclass('portico_migrations') IS NOT NULL"
	}
	if err := conn.QueryRowContext(ctx, q).Scan(&exists); err != nil {
		return nil, err
	}
	var out []MigrationStatus
	for _, set := range sets {
		migs, err := set.load(db.dialect)
		if err != nil {
			return nil, err
		}
		st := MigrationStatus{Plugin: set.Plugin, Latest: len(migs)}
		if exists {
			if st.Current, err = currentVersion(ctx, conn, set.Plugin); err != nil {
				return nil, err
			}
		}
		out = append(out, st)
	}
	return out, nil
}
