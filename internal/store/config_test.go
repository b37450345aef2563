package store

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/portico-dev/portico/internal/config"
)

func TestConnectionForms(t *testing.T) {
	tests := []struct {
		yaml       string
		wantPG     string
		wantSQLite string
	}{
		{"connection: postgres://u:p@db:5432/x?sslmode=disable", "postgres://u:p@db:5432/x?sslmode=disable", ""},
		{"connection: {host: db, port: 6543, user: app, password: 's3 cr/et', database: portal}", "postgres://app:s3%20cr%2Fet@db:6543/portal", ""},
		{"connection: {host: db, user: app, ssl: true}", "postgres://app@db/portico?sslmode=require", ""},
		{"connection: {host: db, ssl: {rejectUnauthorized: false}}", "postgres://db/portico?sslmode=require", ""},
		{"connection: ':memory:'", "", ":memory:"},
		{"connection: {filename: /var/lib/portico/p.db}", "", "/var/lib/portico/p.db"},
		{"connection: {directory: /var/lib/portico/}", "", "/var/lib/portico/portico.db"},
	}
	for _, tt := range tests {
		p := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(p, []byte("backend:\n  database:\n    "+tt.yaml+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Load(config.Options{Files: []string{p}, Environ: func() []string { return nil }})
		if err != nil {
			t.Fatal(err)
		}
		var c Config
		if err := cfg.Decode("backend.database", &c); err != nil {
			t.Fatalf("%s: %v", tt.yaml, err)
		}
		if tt.wantPG != "" {
			if got := c.Connection.postgresDSN(); got != tt.wantPG {
				t.Errorf("%s: DSN %q, want %q", tt.yaml, got, tt.wantPG)
			}
		}
		if tt.wantSQLite != "" {
			if got := c.Connection.sqlitePath(); got != tt.wantSQLite {
				t.Errorf("%s: path %q, want %q", tt.yaml, got, tt.wantSQLite)
			}
		}
	}
}

func TestParseClient(t *testing.T) {
	for in, want := range map[string]Dialect{"sqlite": SQLite, "better-sqlite3": SQLite, "SQLite3": SQLite, "pg": Postgres, "postgres": Postgres, "postgresql": Postgres} {
		if got, err := ParseClient(in); err != nil || got != want {
			t.Errorf("ParseClient(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseClient("mysql2"); err == nil {
		t.Error("mysql2 accepted")
	}
}
