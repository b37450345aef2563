package store

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/internal/config"
)

// Config is the backend.database section.
type Config struct {
	// Client is "sqlite" (alias "better-sqlite3", "sqlite3") or "pg"
	// (alias "postgres", "postgresql").
	Client string `yaml:"client"`
	// Connection is a DSN/path string or Backstage's object form.
	Connection Connection `yaml:"connection"`
	// KnexConfig carries Backstage's pool settings (knexConfig.pool.max).
	KnexConfig struct {
		Pool struct {
			Min int `yaml:"min"`
			Max int `yaml:"max"`
		} `yaml:"pool"`
	} `yaml:"knexConfig"`
	// Synchronous is SQLite's synchronous pragma: NORMAL (default; a process
	// crash loses nothing, a power cut may lose the last commits) or FULL.
	Synchronous string `yaml:"synchronous"`
	// PluginDivisionMode and Prefix are Backstage settings that Portico does
	// not need (all plugins share one database, tables are prefixed per
	// plugin); they are accepted so Backstage configs load.
	PluginDivisionMode string `yaml:"pluginDivisionMode"`
	Prefix             string `yaml:"prefix"`
	// EnsureExists is accepted for Backstage compatibility.
	EnsureExists *bool `yaml:"ensureExists"`
}

// Connection is backend.database.connection: a string (a SQLite path,
// ":memory:", or a PostgreSQL URL or key=value DSN) or an object.
type Connection struct {
	DSN string
	// Object form.
	Host     string `yaml:"host"`
	Port     int    `yaml:"port"`
	User     string `yaml:"user"`
	Password string `yaml:"password"`
	Database string `yaml:"database"`
	SSL      any    `yaml:"ssl"`
	// SQLite object form: a file, or a directory holding portico.db.
	Filename  string `yaml:"filename"`
	Directory string `yaml:"directory"`

	// where remembers the config position for error messages.
	where string
}

// UnmarshalConfig accepts both the string and the object form.
func (c *Connection) UnmarshalConfig(v config.Value) error {
	c.where = v.Path() + v.Where()
	if v.IsString() {
		return v.Decode(&c.DSN)
	}
	if !v.IsMap() {
		return v.Errorf("expected a connection string or an object with host, port, user, password and database")
	}
	type plain Connection
	var p plain
	if err := v.Decode(&p); err != nil {
		return err
	}
	p.where = c.where
	*c = Connection(p)
	return nil
}

// Where names the config key and file the connection came from.
func (c Connection) Where() string {
	if c.where == "" {
		return "backend.database.connection"
	}
	return c.where
}

// Dialect is the SQL dialect of a database.
type Dialect int

// The supported databases.
const (
	SQLite Dialect = iota + 1
	Postgres
)

func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	}
	return "unknown"
}

// ParseClient maps a backend.database.client value to a dialect.
func ParseClient(client string) (Dialect, error) {
	switch strings.ToLower(strings.TrimSpace(client)) {
	case "sqlite", "sqlite3", "better-sqlite3":
		return SQLite, nil
	case "pg", "postgres", "postgresql":
		return Postgres, nil
	}
	return 0, fmt.Errorf("backend.database.client: unknown database client %q; use \"sqlite\" (alias better-sqlite3) or \"pg\" (alias postgres)", client)
}

// postgresDSN builds a pgx connection string from the connection settings.
func (c Connection) postgresDSN() string {
	if c.DSN != "" {
		return c.DSN
	}
	u := url.URL{Scheme: "postgres", Path: "/" + firstNonEmpty(c.Database, "portico")}
	host := firstNonEmpty(c.Host, "localhost")
	if c.Port != 0 {
		host += ":" + strconv.Itoa(c.Port)
	}
	u.Host = host
	if c.User != "" {
		if c.Password != "" {
			u.User = url.UserPassword(c.User, c.Password)
		} else {
			u.User = url.User(c.User)
		}
	}
	q := url.Values{}
	switch ssl := c.SSL.(type) {
	case bool:
		if ssl {
			q.Set("sslmode", "require")
		} else {
			q.Set("sslmode", "disable")
		}
	case map[string]any:
		if v, ok := ssl["rejectUnauthorized"].(bool); ok && !v {
			q.Set("sslmode", "require")
		} else {
			q.Set("sslmode", "verify-full")
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// sqlitePath returns the database file of a SQLite connection, or
// ":memory:".
func (c Connection) sqlitePath() string {
	switch {
	case c.DSN != "":
		return c.DSN
	case c.Filename != "":
		return c.Filename
	case c.Directory != "":
		return strings.TrimRight(c.Directory, "/") + "/portico.db"
	}
	return ""
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
