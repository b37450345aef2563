// Package web serves Portico's web UI: the React app in this directory,
// built by Vite into dist/ and embedded in the binary. Hashed assets are
// cached for a year, every other path the app knows is answered with
// index.html so that client-side routes survive a reload, and a binary
// built without the UI answers with a page that says how to build it.
//
// Build the UI with `go generate ./web` (it runs `npm ci` and `npm run
// build` when dist/ is older than the sources). A fresh clone builds and
// tests without Node.js: dist/ then holds only a placeholder.
package web

//go:generate go run ./internal/buildui

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed all:dist
var dist embed.FS

// Dist returns the embedded build output (index.html and assets/), rooted
// at dist/.
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		// fs.Sub fails only for an invalid path name, and "dist" is valid.
		panic(err)
	}
	return sub
}

// ClientRoutes are the first path segments of the app's own pages. The
// server routes GET requests below them to the UI before any root route
// that takes every /{name} (SonataFlow's per-workflow routes), so that a
// page reload or a shared link opens the app even where those routes ask
// for credentials.
var ClientRoutes = []string{"catalog", "create", "workflows", "notifications", "settings", "home"}

// Handler serves the UI from a built dist directory.
type Handler struct {
	fsys  fs.FS
	log   *slog.Logger
	built bool
	etags map[string]string
	index []byte
}

// NewHandler returns a handler serving fsys (the embedded Dist() when nil).
func NewHandler(fsys fs.FS, log *slog.Logger) (*Handler, error) {
	if fsys == nil {
		fsys = Dist()
	}
	if log == nil {
		log = slog.Default()
	}
	h := &Handler{fsys: fsys, log: log, etags: map[string]string{}}
	index, err := fs.ReadFile(fsys, "index.html")
	if err != nil {
		// Not built: the placeholder is all there is.
		return h, nil
	}
	h.built, h.index = true, index
	// Hash every file once, so that revalidation (If-None-Match) costs
	// nothing per request; the files never change while the binary runs.
	err = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		h.etags[p] = `"` + hex.EncodeToString(sum[:12]) + `"`
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: read the built UI: %w", err)
	}
	return h, nil
}

// Built reports whether the binary holds a built UI.
func (h *Handler) Built() bool { return h.built }

// ServeHTTP serves an asset, index.html for an app route, or the page
// that says how to build the UI.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if !h.built {
		h.serveNotBuilt(w, r)
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if name != "" && name != "index.html" {
		if _, ok := h.etags[name]; ok {
			h.serveFile(w, r, name)
			return
		}
		// A missing asset is a 404, not the app: a stale page asking for
		// a chunk of an older build must fail visibly. Root files with an
		// extension (favicon.ico, robots.txt) likewise; deeper paths with
		// dots are app routes (entity names may contain dots).
		if strings.HasPrefix(name, "assets/") || (!strings.Contains(name, "/") && path.Ext(name) != "") {
			http.NotFound(w, r)
			return
		}
	}
	h.serveIndex(w, r)
}

func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request, name string) {
	f, err := h.fsys.Open(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	rs, ok := f.(readSeeker)
	if !ok {
		h.log.Error("web: embedded file cannot seek", "file", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if strings.HasPrefix(name, "assets/") {
		// Vite puts a content hash in every asset name.
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "public, max-age=3600")
	}
	w.Header().Set("ETag", h.etags[name])
	http.ServeContent(w, r, name, time.Time{}, rs)
}

// readSeeker is what embed's files (and fstest's) implement.
type readSeeker interface {
	Read(p []byte) (int, error)
	Seek(offset int64, whence int) (int64, error)
}

func (h *Handler) serveIndex(w http.ResponseWriter, r *http.Request) {
	// Always revalidated, so a new binary's assets are picked up at once.
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("ETag", h.etags["index.html"])
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", contentSecurityPolicy)
	w.Header().Set("Referrer-Policy", "same-origin")
	http.ServeContent(w, r, "index.html", time.Time{}, strings.NewReader(string(h.index)))
}

// contentSecurityPolicy allows the app's own scripts only, plus eval,
// which the JSON Schema validator behind the generated forms (Ajv) uses to
// compile schemas (Backstage's default policy allows it for the same
// reason); styles may be inline (React style attributes), images may come
// from anywhere over HTTPS (entity links, avatars), and live updates use
// WebSockets.
const contentSecurityPolicy = "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data: https:; connect-src 'self' ws: wss:; frame-ancestors 'self'; base-uri 'self'; form-action 'self'"

var notBuiltPage = template.Must(template.New("not-built").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Portico: web UI not built</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem}
code,pre{background:#f3f3f3;padding:.1rem .3rem;border-radius:4px}pre{padding:.75rem}</style></head>
<body><h1>The web UI was not built into this binary</h1>
<p>Portico's API is running (try <a href="/api/catalog/entities?limit=5">/api/catalog/entities</a>
or <a href="/healthcheck">/healthcheck</a>), but this binary was built without the web UI.
Build the UI with Node.js 20.19 or newer, then build or run Portico again:</p>
<pre>go generate ./web
go run ./cmd/portico serve</pre>
<p><code>go generate ./web</code> runs <code>npm ci</code> and <code>npm run build</code> in
<code>web/</code>; the Go build embeds what it writes to <code>web/dist/</code>.</p>
<p>You asked for <code>{{.}}</code>.</p>
</body></html>`))

func (h *Handler) serveNotBuilt(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusServiceUnavailable)
	if r.Method == http.MethodHead {
		return
	}
	if err := notBuiltPage.Execute(w, r.URL.Path); err != nil {
		h.log.Debug("web: write the not-built page", "err", err)
	}
}
