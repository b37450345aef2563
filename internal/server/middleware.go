package server

import (
	"bufio"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/klauspost/compress/gzhttp"

	"github.com/portico-dev/portico/internal/errs"
	"github.com/portico-dev/portico/internal/httpapi"
)

// statusWriter records the status code and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach Hijack and deadlines.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack is implemented directly for the same reason as Flush (WebSocket
// upgrades).
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Flush is implemented directly because wrappers above (compression) look
// for http.Flusher rather than going through http.ResponseController.
func (w *statusWriter) Flush() {
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// recoverPanics turns a panic in a handler into a 500 with Backstage's error
// body; the process keeps serving.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.log.ErrorContext(r.Context(), "panic while handling a request",
				"method", r.Method, "path", r.URL.Path, "request_id", httpapi.RequestID(r.Context()),
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			httpapi.WriteError(w, r, fmt.Errorf("panic: %v", p))
		}()
		next.ServeHTTP(w, r)
	})
}

// observe gives each request an id, then logs it and counts it by route.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 128 {
			id = uuid.NewString()
		}
		w.Header().Set("X-Request-Id", id)
		info := &httpapi.Info{}
		ctx := httpapi.WithInfo(httpapi.WithRequestID(r.Context(), id), info)
		ctx = httpapi.WithShutdown(ctx, s.shutdown)
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(ctx))

		elapsed := time.Since(start)
		route := info.Pattern
		if route == "" {
			route = r.Pattern // a route registered directly on the mux
		}
		if route == "" {
			route = "unmatched"
		}
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		s.metrics.observe(r.Method, route, status, elapsed)
		level := slog.LevelInfo
		switch {
		case status >= 500:
			level = slog.LevelError
		case r.URL.Path == "/healthcheck" || strings.HasPrefix(r.URL.Path, "/.backstage/health/") || r.URL.Path == "/metrics":
			level = slog.LevelDebug
		}
		attrs := []slog.Attr{
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("route", route),
			slog.Int("status", status), slog.Int64("bytes", sw.bytes), slog.Duration("duration", elapsed),
			slog.String("request_id", id), slog.String("remote", r.RemoteAddr),
		}
		if info.Principal.Subject != "" {
			attrs = append(attrs, slog.String("principal", info.Principal.Subject))
		}
		s.log.LogAttrs(ctx, level, "request", attrs...)
	})
}

// limitBody caps request bodies; handlers that read past the cap get an
// error that httpapi.DecodeJSON turns into 413.
func (s *Server) limitBody(next http.Handler) http.Handler {
	limit := s.cfg.Server.MaxRequestBodySize
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > limit {
			httpapi.WriteError(w, r, errs.New(errs.PayloadTooLarge, "request body is too large: the limit is %d bytes (backend.server.maxRequestBodySize)", limit))
			return
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		next.ServeHTTP(w, r)
	})
}

// newGzip compresses responses for clients that accept it, except streams.
func newGzip() (func(http.Handler) http.Handler, error) {
	wrap, err := gzhttp.NewWrapper(
		gzhttp.MinSize(1024),
		gzhttp.ExceptContentTypes([]string{"text/event-stream", "image/png", "image/jpeg", "application/zip", "application/gzip", "application/x-tar"}),
	)
	if err != nil {
		return nil, err
	}
	return func(h http.Handler) http.Handler {
		compressed := wrap(h)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Upgrade") != "" { // WebSocket: the connection is handed over
				h.ServeHTTP(w, r)
				return
			}
			compressed.ServeHTTP(w, r)
		})
	}, nil
}

// newCORS implements backend.cors as Backstage's cors middleware does:
// origins may be exact or contain * wildcards.
func newCORS(cfg CORSConfig) (func(http.Handler) http.Handler, error) {
	if len(cfg.Origin) == 0 {
		return func(h http.Handler) http.Handler { return h }, nil
	}
	var patterns []*regexp.Regexp
	for _, o := range cfg.Origin {
		quoted := regexp.QuoteMeta(o)
		re, err := regexp.Compile("^" + strings.ReplaceAll(quoted, `\*`, `[^/]*`) + "$")
		if err != nil {
			return nil, fmt.Errorf("backend.cors.origin: invalid origin %q: %v", o, err)
		}
		patterns = append(patterns, re)
	}
	methods := strings.Join(cfg.Methods, ",")
	if methods == "" {
		methods = "GET,HEAD,PUT,PATCH,POST,DELETE"
	}
	optionsStatus := cfg.OptionsSuccessStatus
	if optionsStatus == 0 {
		optionsStatus = http.StatusNoContent
	}
	allowed := func(origin string) bool {
		return slices.ContainsFunc(patterns, func(re *regexp.Regexp) bool { return re.MatchString(origin) })
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			origin := r.Header.Get("Origin")
			if origin == "" || !allowed(origin) {
				next.ServeHTTP(w, r)
				return
			}
			h := w.Header()
			h.Add("Vary", "Origin")
			h.Set("Access-Control-Allow-Origin", origin)
			if cfg.Credentials {
				h.Set("Access-Control-Allow-Credentials", "true")
			}
			if len(cfg.ExposedHeaders) > 0 {
				h.Set("Access-Control-Expose-Headers", strings.Join(cfg.ExposedHeaders, ","))
			}
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", methods)
				if len(cfg.AllowedHeaders) > 0 {
					h.Set("Access-Control-Allow-Headers", strings.Join(cfg.AllowedHeaders, ","))
				} else if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
					h.Set("Access-Control-Allow-Headers", req)
				}
				if cfg.MaxAge > 0 {
					h.Set("Access-Control-Max-Age", strconv.Itoa(cfg.MaxAge))
				}
				w.WriteHeader(optionsStatus)
				return
			}
			next.ServeHTTP(w, r)
		})
	}, nil
}
