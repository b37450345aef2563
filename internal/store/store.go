// Package store opens Portico's database — embedded SQLite by default,
// PostgreSQL in production — runs each plugin's migrations and hides the few
// differences between the two dialects.
//
// Queries are written once with PostgreSQL-style placeholders ($1, $2, …),
// which both drivers accept. Timestamps are bound as UTC time.Time values
// (TIMESTAMPTZ columns, which migrations turn into TIMESTAMP on SQLite). On
// SQLite, reads go to a pool of read-only connections and writes to a single
// writer connection, so writers queue in Go instead of failing with
// SQLITE_BUSY.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// DB is an open database.
type DB struct {
	dialect Dialect
	write   *sql.DB
	read    *sql.DB
	// dsn is the PostgreSQL connection string, for listeners that need a
	// dedicated connection.
	dsn  string
	desc string

	// stmts holds prepared statements by query text (see Prepare), and
	// readStmts those of QueryPrepared, on the readers' pool.
	stmts     sync.Map
	readStmts sync.Map
}

// Querier is what both *DB and *sql.Tx offer, so storage code can run inside
// or outside a transaction.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Open connects to the database the configuration names and checks that it
// answers. dataDir is where a SQLite database without an explicit path goes.
func Open(ctx context.Context, cfg Config, dataDir string) (*DB, error) {
	client := cfg.Client
	if client == "" {
		client = "sqlite"
	}
	dialect, err := ParseClient(client)
	if err != nil {
		return nil, err
	}
	switch dialect {
	case Postgres:
		return openPostgres(ctx, cfg)
	default:
		path := cfg.Connection.sqlitePath()
		if path == "" {
			path = filepath.Join(dataDir, "portico.db")
		}
		return OpenSQLite(ctx, path, cfg.Synchronous)
	}
}

// OpenSQLite opens (creating if needed) a SQLite database file, or an
// in-memory database for ":memory:".
func OpenSQLite(ctx context.Context, path, synchronous string) (*DB, error) {
	synchronous = strings.ToUpper(firstNonEmpty(synchronous, "NORMAL"))
	if synchronous != "NORMAL" && synchronous != "FULL" {
		return nil, fmt.Errorf("backend.database.synchronous: expected NORMAL or FULL, got %q", synchronous)
	}
	// busy_timeout must come first so that the other pragmas wait too.
	pragmas := "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(" + synchronous + ")" +
		"&_pragma=foreign_keys(ON)" +
		"&_pragma=journal_size_limit(67108864)&_time_format=sqlite"
	var dsn, desc string
	if path == ":memory:" {
		// A named in-memory database that all of this process's connections
		// share; plain :memory: would give each connection its own.
		dsn = fmt.Sprintf("file:/portico-mem-%d-%d?vfs=memdb&%s", os.Getpid(), time.Now().UnixNano(), pragmas)
		desc = "sqlite (in memory)"
	} else {
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(abs), 0o750); err != nil {
			return nil, fmt.Errorf("cannot create the database directory %s: %w", filepath.Dir(abs), err)
		}
		dsn = "file:" + abs + "?" + pragmas
		desc = "sqlite " + abs
	}

	// Page caches are per connection and live outside the Go heap. The
	// writer's is the larger: bulk writes touch index pages all over, and a
	// miss is a read from the file. Readers' pages are mostly in the OS's
	// cache anyway, and 32 MB each (as all had) made 128 MB of the 466 MB
	// peak of a 100k-entity catalog load. Readers' temporary tables and
	// sorts (the id sets of filtered counts and facets: 75k ids each at
	// 100k entities) go to temporary files, which spill past the page
	// cache into the OS's cache: in memory they raised the peak by 80 MB.
	write, err := sql.Open("sqlite", dsn+"&_pragma=temp_store(MEMORY)&_pragma=cache_size(-32000)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", desc, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("cannot open %s: %w; check that the directory is writable", desc, err)
	}
	read, err := sql.Open("sqlite", dsn+"&_pragma=cache_size(-8000)")
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open %s: %w", desc, err)
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	read.SetConnMaxIdleTime(5 * time.Minute)
	return &DB{dialect: SQLite, write: write, read: read, desc: desc}, nil
}

func openPostgres(ctx context.Context, cfg Config) (*DB, error) {
	dsn := cfg.Connection.postgresDSN()
	pc, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("%s: invalid PostgreSQL connection string: %s", cfg.Connection.Where(), oneLine(err.Error()))
	}
	desc := fmt.Sprintf("postgres %s:%d/%s", pc.Host, pc.Port, pc.Database)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", desc, err)
	}
	maxConns := cfg.KnexConfig.Pool.Max
	if maxConns <= 0 {
		maxConns = 20
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: cannot connect to %s: %s; check that PostgreSQL is running and the connection settings are right", cfg.Connection.Where(), desc, oneLine(err.Error()))
	}
	return &DB{dialect: Postgres, write: db, read: db, dsn: dsn, desc: desc}, nil
}

// OpenPostgresDSN connects to PostgreSQL with a connection string (tests and
// tools use it).
func OpenPostgresDSN(ctx context.Context, dsn string) (*DB, error) {
	return openPostgres(ctx, Config{Client: "pg", Connection: Connection{DSN: dsn}})
}

// Dialect returns the database's SQL dialect.
func (db *DB) Dialect() Dialect { return db.dialect }

// String describes the database for logs ("sqlite /path/portico.db").
func (db *DB) String() string { return db.desc }

// PostgresDSN returns the connection string of a PostgreSQL database, for
// components that need their own connection (LISTEN). It is "" on SQLite.
func (db *DB) PostgresDSN() string { return db.dsn }

// Close closes all connections.
func (db *DB) Close() error {
	for _, m := range []*sync.Map{&db.stmts, &db.readStmts} {
		m.Range(func(_, s any) bool {
			_ = s.(*sql.Stmt).Close()
			return true
		})
	}
	err := db.write.Close()
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	return err
}

// Stats returns the connection pool statistics of the writer and reader
// pools (the same pool on PostgreSQL).
func (db *DB) Stats() (write, read sql.DBStats) {
	return db.write.Stats(), db.read.Stats()
}

// ExecContext runs a statement on the writer.
func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return db.write.ExecContext(ctx, query, args...)
}

// QueryContext runs a query on a reader connection.
func (db *DB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return db.read.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a single-row query on a reader connection.
func (db *DB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return db.read.QueryRowContext(ctx, query, args...)
}

// Tx runs fn in a read-write transaction and commits it when fn returns nil.
// On PostgreSQL a serialization failure or deadlock retries fn (so fn must
// not have effects outside the transaction); on SQLite the transaction holds
// the write lock from its start, so it cannot fail that way.
func (db *DB) Tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := db.tx(ctx, fn)
		if err == nil || attempt == 5 || !retryable(err) {
			return err
		}
		slog.DebugContext(ctx, "retrying transaction", "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt*attempt) * 5 * time.Millisecond):
		}
	}
}

// ReadTx runs fn in a transaction on a reader connection, so that its
// queries see one snapshot without taking SQLite's writer. fn must not
// write; the transaction is rolled back when fn returns.
func (db *DB) ReadTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.read.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin read transaction: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	return fn(tx)
}

func (db *DB) tx(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func retryable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "40001" || pgErr.Code == "40P01"
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		return sqErr.Code()&0xff == sqlite3.SQLITE_BUSY
	}
	return false
}

// IsUniqueViolation reports whether err is a unique or primary key
// constraint violation, in either dialect.
func IsUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		return sqErr.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || sqErr.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// SkipLocked returns the clause that makes a SELECT claim rows that no other
// transaction holds: "FOR UPDATE SKIP LOCKED" on PostgreSQL. SQLite has a
// single writer, so a write transaction already excludes everyone else.
func (db *DB) SkipLocked() string {
	if db.dialect == Postgres {
		return "FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// Now returns the current time as the database stores it: UTC, microsecond
// precision (PostgreSQL's).
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// oneLine folds a multi-line driver message (pgx lists every address it
// tried) into one line, so that a startup error stays one line.
func oneLine(s string) string {
	lines := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return strings.Join(lines, " ")
}
