package server

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/auth"
	"github.com/portico-dev/portico/internal/config"
	"github.com/portico-dev/portico/internal/store"
)

// BackendConfig is the backend section of app-config.yaml.
type BackendConfig struct {
	BaseURL  string             `yaml:"baseUrl"`
	Listen   Listen             `yaml:"listen"`
	Database store.Config       `yaml:"database"`
	Auth     auth.BackendConfig `yaml:"auth"`
	CORS     CORSConfig         `yaml:"cors"`
	// WorkingDirectory is where plugins put temporary files (scaffolder
	// workspaces); default <dataDirectory>/work.
	WorkingDirectory string `yaml:"workingDirectory"`
	// DataDirectory holds the SQLite database and other local state;
	// default ./portico-data.
	DataDirectory string `yaml:"dataDirectory"`
	// ShutdownTimeout bounds a graceful shutdown (default 30 s).
	ShutdownTimeout time.Duration `yaml:"shutdownTimeout"`
	Server          ServerConfig  `yaml:"server"`
	// Reading is backend.reading (URL reader allow-list), decoded by the
	// plugins that read URLs.
	Reading any `yaml:"reading"`
}

// ServerConfig is backend.server: Portico's HTTP server limits.
type ServerConfig struct {
	// MaxRequestBodySize in bytes (default 10 MiB); larger bodies get 413.
	MaxRequestBodySize int64         `yaml:"maxRequestBodySize"`
	ReadHeaderTimeout  time.Duration `yaml:"readHeaderTimeout"`
	ReadTimeout        time.Duration `yaml:"readTimeout"`
	WriteTimeout       time.Duration `yaml:"writeTimeout"`
	IdleTimeout        time.Duration `yaml:"idleTimeout"`
}

// Listen is backend.listen: {host, port} or Backstage's ":7007" string.
type Listen struct {
	Host string `yaml:"host"`
	// Port 0 picks a free port; the built-in defaults set 7007.
	Port int `yaml:"port"`
}

// UnmarshalConfig accepts the object and the "host:port" string forms.
func (l *Listen) UnmarshalConfig(v config.Value) error {
	if v.IsString() {
		var s string
		if err := v.Decode(&s); err != nil {
			return err
		}
		host, port, err := net.SplitHostPort(s)
		if err != nil {
			return v.Errorf("expected \"host:port\" or \":port\", got %q", s)
		}
		p, err := strconv.Atoi(port)
		if err != nil {
			return v.Errorf("expected a number for the port, got %q", port)
		}
		l.Host, l.Port = host, p
	} else {
		type plain Listen
		p := plain(*l)
		if err := v.Decode(&p); err != nil {
			return err
		}
		*l = Listen(p)
	}
	if l.Port < 0 || l.Port > 65535 {
		return v.Errorf("port must be a number from 1 to 65535 (0 picks a free port), got %d", l.Port)
	}
	return nil
}

// Addr is the address to listen on.
func (l Listen) Addr() string { return net.JoinHostPort(l.Host, strconv.Itoa(l.Port)) }

// CORSConfig is backend.cors, as Backstage reads it.
type CORSConfig struct {
	Origin               auth.StringList `yaml:"origin"`
	Methods              auth.StringList `yaml:"methods"`
	AllowedHeaders       auth.StringList `yaml:"allowedHeaders"`
	ExposedHeaders       auth.StringList `yaml:"exposedHeaders"`
	Credentials          bool            `yaml:"credentials"`
	MaxAge               int             `yaml:"maxAge"`
	OptionsSuccessStatus int             `yaml:"optionsSuccessStatus"`
}

// withDefaults fills in what the configuration left out.
func (c BackendConfig) withDefaults() BackendConfig {
	if c.DataDirectory == "" {
		c.DataDirectory = "portico-data"
	}
	if c.WorkingDirectory == "" {
		c.WorkingDirectory = strings.TrimRight(c.DataDirectory, "/") + "/work"
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 30 * time.Second
	}
	s := &c.Server
	if s.MaxRequestBodySize <= 0 {
		s.MaxRequestBodySize = 10 << 20
	}
	if s.ReadHeaderTimeout <= 0 {
		s.ReadHeaderTimeout = 10 * time.Second
	}
	if s.ReadTimeout <= 0 {
		s.ReadTimeout = 5 * time.Minute
	}
	if s.WriteTimeout <= 0 {
		// Streams (SSE, WebSocket, long polls) lift this per request.
		s.WriteTimeout = 5 * time.Minute
	}
	if s.IdleTimeout <= 0 {
		s.IdleTimeout = 2 * time.Minute
	}
	if c.BaseURL == "" {
		host := c.Listen.Host
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "localhost"
		}
		c.BaseURL = fmt.Sprintf("http://%s", net.JoinHostPort(host, strconv.Itoa(c.Listen.Port)))
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	return c
}

// LoadBackend decodes and completes the backend section.
func LoadBackend(cfg *config.Config) (BackendConfig, error) {
	var b BackendConfig
	if err := cfg.Decode("backend", &b); err != nil {
		return b, err
	}
	return b.withDefaults(), nil
}
