package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/config"
)

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func noEnviron() []string { return nil }

type listen struct {
	Host string `yaml:"host"`
	Port int    `yaml:"port"`
}

type backend struct {
	BaseURL string         `yaml:"baseUrl"`
	Listen  listen         `yaml:"listen"`
	Timeout time.Duration  `yaml:"timeout"`
	Tags    []string       `yaml:"tags"`
	Extra   map[string]any `yaml:"extra"`
}

func TestMergeOrder(t *testing.T) {
	dir := t.TempDir()
	a := write(t, dir, "a.yaml", `
backend:
  baseUrl: http://a
  listen: {host: 0.0.0.0, port: 7007}
  tags: [one, two]
`)
	b := write(t, dir, "b.yaml", `
backend:
  listen:
    port: 8080
  tags: [three]
`)
	cfg, err := config.Load(config.Options{Files: []string{a, b}, LookupEnv: env(nil), Environ: noEnviron})
	if err != nil {
		t.Fatal(err)
	}
	var got backend
	if err := cfg.Decode("backend", &got); err != nil {
		t.Fatal(err)
	}
	if got.BaseURL != "http://a" || got.Listen.Host != "0.0.0.0" || got.Listen.Port != 8080 {
		t.Errorf("maps must merge deeply with later files winning; got %+v", got)
	}
	if strings.Join(got.Tags, ",") != "three" {
		t.Errorf("lists must be replaced, got %v", got.Tags)
	}
}

func TestSubstitution(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "secret.txt", "s3cret")
	write(t, dir, "inc/part.yaml", "listen:\n  port: ${PORT}\nnested:\n  host: inc-host\n")
	main := write(t, dir, "app-config.yaml", `
app:
  title: ${TITLE:-Portico}
  literal: $${NOT_SUBSTITUTED}
  mixed: http://${HOST}:${PORT}/x
  token:
    $env: TOKEN
  secret:
    $file: secret.txt
backend:
  $include: inc/part.yaml
other:
  $include: inc/part.yaml#nested
`)
	cfg, err := config.Load(config.Options{
		Files:     []string{main},
		LookupEnv: env(map[string]string{"HOST": "h", "PORT": "9000", "TOKEN": "tok"}),
		Environ:   func() []string { return []string{"APP_CONFIG_app_fromEnv=42", `APP_CONFIG_app_json={"a":true}`} },
	})
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string]any{
		"app.title":           "Portico",
		"app.literal":         "${NOT_SUBSTITUTED}",
		"app.mixed":           "http://h:9000/x",
		"app.token":           "tok",
		"app.secret":          "s3cret",
		"backend.listen.port": "9000",
		"other.host":          "inc-host",
		"app.fromEnv":         int64(42),
		"app.json.a":          true,
	}
	for path, want := range checks {
		if got := cfg.Value(path).Plain(); got != want {
			t.Errorf("%s = %#v, want %#v", path, got, want)
		}
	}
	// A numeric string from substitution decodes into a number.
	var port int
	if err := cfg.Decode("backend.listen.port", &port); err != nil || port != 9000 {
		t.Errorf("port = %d, %v", port, err)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		env     map[string]string
		want    []string
	}{
		{"missing variable", "backend:\n  baseUrl: ${NOPE}\n", nil,
			[]string{"backend.baseUrl", "NOPE is not set", "app-config.yaml:2"}},
		{"missing $env", "backend:\n  token:\n    $env: NOPE\n", nil,
			[]string{"backend.token", "$env", "NOPE is not set"}},
		{"missing $file", "app:\n  x:\n    $file: nope.txt\n", nil,
			[]string{"app.x", "cannot read", "nope.txt"}},
		{"malformed yaml", "backend:\n  listen: [\n", nil,
			[]string{"app-config.yaml", "invalid YAML"}},
		{"duplicate key", "app:\n  a: 1\n  a: 2\n", nil,
			[]string{"app.a", "given twice"}},
		{"unterminated", "app:\n  a: ${X\n", nil,
			[]string{"app.a", "unterminated"}},
		{"list at root", "- a\n- b\n", nil,
			[]string{"map of keys at the top level"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := write(t, t.TempDir(), "app-config.yaml", tt.content)
			_, err := config.Load(config.Options{Files: []string{p}, LookupEnv: env(tt.env), Environ: noEnviron})
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	t.Run("unreadable file", func(t *testing.T) {
		_, err := config.Load(config.Options{Files: []string{"/nonexistent/app-config.yaml"}, LookupEnv: env(nil), Environ: noEnviron})
		if err == nil || !strings.Contains(err.Error(), "/nonexistent/app-config.yaml") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("include cycle", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "b.yaml", "x:\n  $include: a.yaml\n")
		a := write(t, dir, "a.yaml", "app:\n  $include: b.yaml\n")
		_, err := config.Load(config.Options{Files: []string{a}, LookupEnv: env(nil), Environ: noEnviron})
		if err == nil || !strings.Contains(err.Error(), "includes itself") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestDecodeErrorsNameKeyAndFile(t *testing.T) {
	tests := []struct {
		content string
		want    string
	}{
		{"backend:\n  listen:\n    port: abc\n", `backend.listen.port: expected a number, got "abc" (app-config.yaml:3)`},
		{"backend:\n  listen: 7007\n", `backend.listen: expected a map, got 7007 (app-config.yaml:2)`},
		{"backend:\n  tags: x\n", `backend.tags: expected a list, got "x" (app-config.yaml:2)`},
		{"backend:\n  timeout: soon\n", `backend.timeout: expected a duration`},
		{"backend:\n  timeout: {fortnights: 1}\n", `backend.timeout.fortnights: unknown duration unit`},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		p := write(t, dir, "app-config.yaml", tt.content)
		cfg, err := config.Load(config.Options{Files: []string{p}, LookupEnv: env(nil), Environ: noEnviron})
		if err != nil {
			t.Fatal(err)
		}
		var b backend
		err = cfg.Decode("backend", &b)
		if err == nil {
			t.Fatalf("%q: Decode succeeded", tt.content)
		}
		got := strings.ReplaceAll(err.Error(), dir+"/", "")
		if !strings.Contains(got, tt.want) {
			t.Errorf("error = %q, want it to contain %q", got, tt.want)
		}
	}
}

func TestDurations(t *testing.T) {
	tests := map[string]time.Duration{
		"30s":                      30 * time.Second,
		"PT1H30M":                  90 * time.Minute,
		"2 days":                   48 * time.Hour,
		"1d":                       24 * time.Hour,
		"500 ms":                   500 * time.Millisecond,
		"{minutes: 2, seconds: 3}": 2*time.Minute + 3*time.Second,
		"{hours: 1.5}":             90 * time.Minute,
	}
	for in, want := range tests {
		p := write(t, t.TempDir(), "c.yaml", "backend:\n  timeout: "+in+"\n")
		cfg, err := config.Load(config.Options{Files: []string{p}, LookupEnv: env(nil), Environ: noEnviron})
		if err != nil {
			t.Fatal(err)
		}
		var b backend
		if err := cfg.Decode("backend", &b); err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if b.Timeout != want {
			t.Errorf("%s = %v, want %v", in, b.Timeout, want)
		}
	}
}

func TestWarnings(t *testing.T) {
	p := write(t, t.TempDir(), "app-config.yaml", "backend:\n  listen:\n    prot: 1\nbakend: {}\napp: {}\n")
	cfg, err := config.Load(config.Options{Files: []string{p}, LookupEnv: env(nil), Environ: noEnviron})
	if err != nil {
		t.Fatal(err)
	}
	var b backend
	if err := cfg.Decode("backend", &b); err != nil {
		t.Fatal(err)
	}
	cfg.CheckTopLevel([]string{"app", "backend"})
	w := strings.Join(cfg.Warnings(), "\n")
	for _, want := range []string{"unknown key backend.listen.prot", `unknown top-level key "bakend"`} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings %q do not mention %q", w, want)
		}
	}
}

func TestDefaultsAreOverriddenByFiles(t *testing.T) {
	p := write(t, t.TempDir(), "app-config.yaml", "backend:\n  listen:\n    port: 8000\n")
	cfg, err := config.Load(config.Options{
		Defaults:  []config.Document{{Name: "built-in defaults", Data: []byte("backend:\n  listen:\n    host: 127.0.0.1\n    port: 7007\n")}},
		Files:     []string{p},
		LookupEnv: env(nil), Environ: noEnviron,
	})
	if err != nil {
		t.Fatal(err)
	}
	var l listen
	if err := cfg.Decode("backend.listen", &l); err != nil {
		t.Fatal(err)
	}
	if l.Host != "127.0.0.1" || l.Port != 8000 {
		t.Fatalf("got %+v", l)
	}
	if got := cfg.Files(); len(got) != 1 || got[0] != p {
		t.Fatalf("Files() = %v", got)
	}
}
