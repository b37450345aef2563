// Package server is Portico's HTTP front: it mounts each plugin below
// /api/<plugin>, wraps every request in recovery, logging, metrics, body
// limits, CORS and compression, serves health checks and metrics, and shuts
// down gracefully.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/portico-dev/portico/internal/auth"
	"github.com/portico-dev/portico/internal/errs"
	"github.com/portico-dev/portico/internal/httpapi"
)

// Server is the HTTP server.
type Server struct {
	cfg     BackendConfig
	log     *slog.Logger
	mux     *http.ServeMux
	authn   *auth.Authenticator
	metrics *metrics
	handler http.Handler

	ready    atomic.Bool
	readyErr func(ctx context.Context) error
	// shutdown is closed when a graceful shutdown begins, so that streams
	// (SSE, WebSocket, long polls), which never finish by themselves, end
	// and let the in-flight requests drain.
	shutdown     chan struct{}
	shutdownOnce sync.Once

	gzip  func(http.Handler) http.Handler
	ports []*Port
}

// New returns a server for cfg. Plugins mount their routes with Router
// before Serve is called.
func New(cfg BackendConfig, authn *auth.Authenticator, registry *prometheus.Registry, log *slog.Logger) (*Server, error) {
	s := &Server{cfg: cfg.withDefaults(), log: log, mux: http.NewServeMux(), authn: authn, shutdown: make(chan struct{})}
	s.metrics = newMetrics(registry)
	cors, err := newCORS(s.cfg.CORS)
	if err != nil {
		return nil, err
	}
	gzip, err := newGzip()
	if err != nil {
		return nil, err
	}
	s.gzip = gzip
	s.mux.HandleFunc("GET /healthcheck", s.healthcheck)
	s.mux.HandleFunc("GET /.backstage/health/v1/readiness", s.healthcheck)
	s.mux.HandleFunc("GET /.backstage/health/v1/liveness", func(w http.ResponseWriter, _ *http.Request) {
		httpapi.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{Registry: registry}))
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteError(w, r, errs.NotFoundf("no route for %s %s", r.Method, r.URL.Path))
	})
	s.handler = s.recoverPanics(s.observe(s.limitBody(cors(gzip(s.mux)))))
	return s, nil
}

// Config returns the server's configuration with defaults applied.
func (s *Server) Config() BackendConfig { return s.cfg }

// Router returns a router for a plugin's routes below /api/<plugin>.
func (s *Server) Router(plugin string) *httpapi.Router {
	return httpapi.NewRouter(s.mux, plugin, "/api/"+plugin, s.authn)
}

// RootRouter returns a router for routes at the server root, for plugins
// that serve APIs at fixed paths (SonataFlow's, GraphQL).
func (s *Server) RootRouter(plugin string) *httpapi.Router {
	return httpapi.NewRouter(s.mux, plugin, "", s.authn)
}

// Handle registers a handler directly on the server's mux, without
// authentication (static assets of the web UI).
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Handler returns the server's full handler chain (for tests).
func (s *Server) Handler() http.Handler { return s.handler }

// SetReadyCheck sets a check run by the readiness endpoint once the server
// is started (a database ping, say).
func (s *Server) SetReadyCheck(check func(ctx context.Context) error) { s.readyErr = check }

func (s *Server) healthcheck(w http.ResponseWriter, r *http.Request) {
	if !s.ready.Load() {
		httpapi.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "error", "message": "Backend has not started yet"})
		return
	}
	if s.readyErr != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.readyErr(ctx); err != nil {
			httpapi.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "error", "message": err.Error()})
			return
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// Listen opens the listening socket, so that the caller knows the address
// (port 0 picks a free one) before serving.
func (s *Server) Listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", s.cfg.Listen.Addr())
	if err != nil {
		return nil, fmt.Errorf("backend.listen: cannot listen on %s: %v; choose another port or stop what uses it", s.cfg.Listen.Addr(), unwrapOpError(err))
	}
	if err := s.listenPorts(); err != nil {
		_ = ln.Close()
		return nil, err
	}
	return ln, nil
}

func unwrapOpError(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}

// Serve serves on ln until ctx ends, then shuts down gracefully: it stops
// accepting, reports not ready, and waits for in-flight requests up to the
// shutdown timeout. It returns nil after a clean shutdown.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	newServer := func(h http.Handler) *http.Server {
		return &http.Server{
			Handler:           h,
			ReadHeaderTimeout: s.cfg.Server.ReadHeaderTimeout,
			ReadTimeout:       s.cfg.Server.ReadTimeout,
			WriteTimeout:      s.cfg.Server.WriteTimeout,
			IdleTimeout:       s.cfg.Server.IdleTimeout,
			MaxHeaderBytes:    1 << 20,
			ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
			BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		}
	}
	hs := newServer(s.handler)
	stopPorts := s.servePorts(ctx, newServer)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	s.ready.Store(true)
	select {
	case err := <-errc:
		s.ready.Store(false)
		stopCtx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
		defer cancel()
		stopPorts(stopCtx)
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	s.ready.Store(false)
	s.shutdownOnce.Do(func() { close(s.shutdown) })
	shutdownCtx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	stopPorts(shutdownCtx)
	err := hs.Shutdown(shutdownCtx)
	if errors.Is(err, context.DeadlineExceeded) {
		s.log.Warn("shutdown timeout reached; closing remaining connections", "timeout", s.cfg.ShutdownTimeout)
		_ = hs.Close()
	}
	if e := <-errc; !errors.Is(e, http.ErrServerClosed) {
		return e
	}
	return nil
}
