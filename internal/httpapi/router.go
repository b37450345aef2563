package httpapi

import (
	"context"
	"net/http"
	"regexp"
	"strings"

	"github.com/portico-dev/portico/internal/auth"
	"github.com/portico-dev/portico/internal/errs"
)

// Router registers one plugin's routes on the server's mux, below the
// plugin's path prefix, each wrapped with authentication and the default
// auth policy.
type Router struct {
	mux    *http.ServeMux
	prefix string
	plugin string
	authn  *auth.Authenticator
}

// NewRouter returns a router for plugin whose routes live below prefix
// ("/api/catalog"; "" for routes at the server root).
func NewRouter(mux *http.ServeMux, plugin, prefix string, authn *auth.Authenticator) *Router {
	return &Router{mux: mux, prefix: strings.TrimRight(prefix, "/"), plugin: plugin, authn: authn}
}

// Plugin returns the plugin id the router serves.
func (r *Router) Plugin() string { return r.plugin }

// Prefix returns the path prefix of the plugin's routes.
func (r *Router) Prefix() string { return r.prefix }

type routeOptions struct {
	unauthenticated bool
}

// RouteOption changes how a route is guarded.
type RouteOption func(*routeOptions)

// Unauthenticated lets requests without credentials reach the route (health
// checks, sign-in, public keys). Credentials that are sent are still read.
func Unauthenticated() RouteOption {
	return func(o *routeOptions) { o.unauthenticated = true }
}

var methodPattern = regexp.MustCompile(`^([A-Z]+)\s+(.*)$`)

// Handle registers h for pattern, a net/http pattern relative to the
// plugin's prefix ("GET /entities/by-uid/{uid}"). The path "/{$}" matches
// both the prefix itself and the prefix with a trailing slash.
func (r *Router) Handle(pattern string, h http.Handler, opts ...RouteOption) {
	var o routeOptions
	for _, opt := range opts {
		opt(&o)
	}
	method, path := "", pattern
	if m := methodPattern.FindStringSubmatch(pattern); m != nil {
		method, path = m[1]+" ", m[2]
	}
	wrapped := r.guard(h, o)
	if path == "/{$}" && r.prefix != "" {
		r.register(method+r.prefix, wrapped)
	}
	r.register(method+r.prefix+path, wrapped)
}

// HandleFunc registers a handler function; see Handle.
func (r *Router) HandleFunc(pattern string, h http.HandlerFunc, opts ...RouteOption) {
	r.Handle(pattern, h, opts...)
}

func (r *Router) register(pattern string, h http.Handler) {
	r.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if info := infoFrom(req.Context()); info != nil {
			info.Pattern = pattern
			info.Plugin = r.plugin
		}
		h.ServeHTTP(w, req)
	}))
}

func (r *Router) guard(h http.Handler, o routeOptions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		p, err := r.authn.Authenticate(req.Context(), BearerToken(req), r.plugin)
		if err != nil {
			if !o.unauthenticated {
				WriteError(w, req, err)
				return
			}
			p = auth.None
		}
		if p.Type == auth.TypeNone && !o.unauthenticated && !r.authn.AllowsUnauthenticated() {
			WriteError(w, req, errs.Unauthenticatedf("Missing credentials"))
			return
		}
		if info := infoFrom(req.Context()); info != nil {
			info.Principal = p
		}
		h.ServeHTTP(w, req.WithContext(auth.WithPrincipal(req.Context(), p)))
	})
}

// BearerToken returns the token of an "Authorization: Bearer" header, or of
// Backstage's backstage-auth cookie, or "".
func BearerToken(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(token)
		}
	}
	if c, err := r.Cookie("backstage-auth"); err == nil {
		return c.Value
	}
	return ""
}

// Info is what the server records about a request while plugins handle it,
// for logs and metrics.
type Info struct {
	Pattern   string
	Plugin    string
	Principal auth.Principal
}

type infoKey struct{}

// WithInfo returns a context with an Info the router fills in.
func WithInfo(ctx context.Context, info *Info) context.Context {
	return context.WithValue(ctx, infoKey{}, info)
}

func infoFrom(ctx context.Context) *Info {
	info, _ := ctx.Value(infoKey{}).(*Info)
	return info
}
