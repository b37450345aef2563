package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/portico-dev/portico/web"
)

func built() fstest.MapFS {
	return fstest.MapFS{
		"index.html":             {Data: []byte(`<!DOCTYPE html><div id="root"></div>`)},
		"favicon.svg":            {Data: []byte(`<svg/>`)},
		"assets/index-abc123.js": {Data: []byte(`console.log("app")`)},
		".keep":                  {Data: []byte("placeholder")},
	}
}

func get(t *testing.T, h http.Handler, method, path string, header http.Header) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func TestHandlerServesBuiltUI(t *testing.T) {
	h, err := web.NewHandler(built(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !h.Built() {
		t.Fatal("Built() = false for a dist with index.html")
	}
	tests := []struct {
		name, method, path string
		wantStatus         int
		wantBody           string
		wantCache          string
		wantType           string
	}{
		{"root is the app", "GET", "/", 200, `<div id="root">`, "no-cache", "text/html; charset=utf-8"},
		{"client route falls back to the app", "GET", "/catalog/default/component/a.b", 200, `<div id="root">`, "no-cache", "text/html; charset=utf-8"},
		{"unknown top-level page is the app", "GET", "/some-page", 200, `<div id="root">`, "no-cache", "text/html; charset=utf-8"},
		{"hashed asset cached for a year", "GET", "/assets/index-abc123.js", 200, `console.log`, "public, max-age=31536000, immutable", "text/javascript; charset=utf-8"},
		{"root file cached briefly", "GET", "/favicon.svg", 200, `<svg/>`, "public, max-age=3600", "image/svg+xml"},
		{"missing asset is 404, not the app", "GET", "/assets/index-old.js", 404, "404 page not found", "", ""},
		{"missing root file is 404", "GET", "/robots.txt", 404, "404 page not found", "", ""},
		{"head of the app", "HEAD", "/notifications", 200, "", "no-cache", "text/html; charset=utf-8"},
		{"post is refused", "POST", "/", 405, "method not allowed", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := get(t, h, tc.method, tc.path, nil)
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d, want %d (body %q)", res.StatusCode, tc.wantStatus, body)
			}
			if !strings.Contains(string(body), tc.wantBody) {
				t.Errorf("body = %q, want it to contain %q", body, tc.wantBody)
			}
			if tc.wantCache != "" && res.Header.Get("Cache-Control") != tc.wantCache {
				t.Errorf("Cache-Control = %q, want %q", res.Header.Get("Cache-Control"), tc.wantCache)
			}
			if tc.wantType != "" && res.Header.Get("Content-Type") != tc.wantType {
				t.Errorf("Content-Type = %q, want %q", res.Header.Get("Content-Type"), tc.wantType)
			}
		})
	}
}

func TestHandlerRevalidatesWithETag(t *testing.T) {
	h, err := web.NewHandler(built(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/", "/assets/index-abc123.js"} {
		first := get(t, h, "GET", path, nil)
		etag := first.Header.Get("ETag")
		if etag == "" {
			t.Fatalf("%s: no ETag", path)
		}
		again := get(t, h, "GET", path, http.Header{"If-None-Match": {etag}})
		if again.StatusCode != http.StatusNotModified {
			t.Errorf("%s with If-None-Match: status %d, want 304", path, again.StatusCode)
		}
	}
}

func TestHandlerWithoutBuiltUISaysHowToBuild(t *testing.T) {
	h, err := web.NewHandler(fstest.MapFS{".keep": {Data: []byte("placeholder")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if h.Built() {
		t.Fatal("Built() = true without index.html")
	}
	for _, path := range []string{"/", "/catalog", "/assets/index.js"} {
		res := get(t, h, "GET", path, nil)
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("%s: status %d, want 503", path, res.StatusCode)
		}
		if !strings.Contains(string(body), "go generate ./web") {
			t.Errorf("%s: body does not say how to build the UI: %q", path, body)
		}
	}
}

// The embedded dist is either the placeholder (a fresh clone) or a real
// build; both must give a working handler.
func TestEmbeddedDist(t *testing.T) {
	h, err := web.NewHandler(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	res := get(t, h, "GET", "/", nil)
	want := http.StatusServiceUnavailable
	if h.Built() {
		want = http.StatusOK
	}
	if res.StatusCode != want {
		t.Errorf("GET / = %d, want %d (built: %v)", res.StatusCode, want, h.Built())
	}
}
