package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/portico-dev/portico/internal/auth"
	"github.com/portico-dev/portico/internal/httpapi"
)

// Port is an extra listener with routes of its own, behind the same
// recovery, logging, metrics and body limit as the main one (no CORS: it
// is meant for callers inside the cluster). The orchestrator serves
// SonataFlow's runtime API on one when orchestrator.runtimeApi.listen is
// set, as SonataFlow's own service is deployed apart from the portal.
type Port struct {
	name    string
	listen  Listen
	mux     *http.ServeMux
	handler http.Handler
	ln      net.Listener
	authn   *auth.Authenticator
}

// AddPort declares an extra listener; call it before Listen.
func (s *Server) AddPort(name string, l Listen) *Port {
	p := &Port{name: name, listen: l, mux: http.NewServeMux(), authn: s.authn}
	p.handler = s.recoverPanics(s.observe(s.limitBody(s.gzip(p.mux))))
	s.ports = append(s.ports, p)
	return p
}

// Router returns a router for routes at the port's root.
func (p *Port) Router(plugin string) *httpapi.Router {
	return httpapi.NewRouter(p.mux, plugin, "", p.authn)
}

// Addr is the address the port listens on, once Listen has opened it.
func (p *Port) Addr() net.Addr {
	if p.ln == nil {
		return nil
	}
	return p.ln.Addr()
}

// listenPorts opens every extra port.
func (s *Server) listenPorts() error {
	for _, p := range s.ports {
		ln, err := net.Listen("tcp", p.listen.Addr())
		if err != nil {
			s.closePorts()
			return fmt.Errorf("%s: cannot listen on %s: %v; choose another port or stop what uses it", p.name, p.listen.Addr(), unwrapOpError(err))
		}
		p.ln = ln
	}
	return nil
}

func (s *Server) closePorts() {
	for _, p := range s.ports {
		if p.ln != nil {
			_ = p.ln.Close()
		}
	}
}

// servePorts serves the extra ports until ctx ends and then shuts them
// down like the main server; it returns once they have stopped.
func (s *Server) servePorts(ctx context.Context, newServer func(http.Handler) *http.Server) (stop func(context.Context)) {
	var servers []*http.Server
	for _, p := range s.ports {
		if p.ln == nil {
			continue
		}
		hs := newServer(p.handler)
		servers = append(servers, hs)
		go func() {
			if err := hs.Serve(p.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("extra port stopped", "port", p.name, "error", err)
			}
		}()
		s.log.Info("listening", "port", p.name, "addr", p.ln.Addr().String())
	}
	return func(shutdownCtx context.Context) {
		for _, hs := range servers {
			if err := hs.Shutdown(shutdownCtx); errors.Is(err, context.DeadlineExceeded) {
				s.log.Warn("shutdown timeout reached on an extra port; closing its connections")
				_ = hs.Close()
			}
		}
	}
}

// Port returns the extra port declared under name, or nil.
func (s *Server) Port(name string) *Port {
	for _, p := range s.ports {
		if p.name == name {
			return p
		}
	}
	return nil
}
