package server_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portico-dev/portico/internal/auth"
	"github.com/portico-dev/portico/internal/httpapi"
	"github.com/portico-dev/portico/internal/server"
)

// start serves a server with a "test" plugin on a real listener.
func start(t *testing.T, cfg server.BackendConfig, routes func(r *httpapi.Router)) string {
	t.Helper()
	authn, err := auth.NewAuthenticator(auth.BackendConfig{DangerouslyDisableDefaultAuthPolicy: true}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listen = server.Listen{Host: "127.0.0.1", Port: 0}
	srv, err := server.New(cfg, authn, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	routes(srv.Router("test"))
	ln, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

func get(t *testing.T, url string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	tr := &http.Transport{DisableCompression: true}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestPanicBecomes500AndServerKeepsServing(t *testing.T) {
	base := start(t, server.BackendConfig{}, func(r *httpapi.Router) {
		r.HandleFunc("GET /boom", func(http.ResponseWriter, *http.Request) { panic("kaboom") })
		r.HandleFunc("GET /ok", func(w http.ResponseWriter, _ *http.Request) { httpapi.WriteJSON(w, 200, map[string]bool{"ok": true}) })
	})
	resp, body := get(t, base+"/api/test/boom", nil)
	if resp.StatusCode != 500 {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	for _, want := range []string{`"name":"Error"`, `"statusCode":500`, `"url":"/api/test/boom"`, "request id"} {
		if !strings.Contains(body, want) {
			t.Errorf("body %s lacks %s", body, want)
		}
	}
	if strings.Contains(body, "kaboom") {
		t.Errorf("internal details leaked: %s", body)
	}
	if resp, _ := get(t, base+"/api/test/ok", nil); resp.StatusCode != 200 {
		t.Fatalf("server stopped serving after a panic: %d", resp.StatusCode)
	}
}

func TestRequestIDAndGzip(t *testing.T) {
	big := strings.Repeat("portico ", 1000)
	base := start(t, server.BackendConfig{}, func(r *httpapi.Router) {
		r.HandleFunc("GET /big", func(w http.ResponseWriter, _ *http.Request) {
			httpapi.WriteJSON(w, 200, map[string]string{"text": big})
		})
	})
	resp, body := get(t, base+"/api/test/big", map[string]string{"Accept-Encoding": "gzip", "X-Request-Id": "req-42"})
	if resp.Header.Get("X-Request-Id") != "req-42" {
		t.Errorf("request id not echoed: %q", resp.Header.Get("X-Request-Id"))
	}
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("response not compressed: %v", resp.Header)
	}
	zr, err := gzip.NewReader(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if !bytes.Contains(plain, []byte(big)) {
		t.Error("decompressed body differs")
	}
}

func TestCORS(t *testing.T) {
	cfg := server.BackendConfig{CORS: server.CORSConfig{Origin: []string{"http://localhost:3000", "https://*.example.com"}, Credentials: true}}
	base := start(t, cfg, func(r *httpapi.Router) {
		r.HandleFunc("GET /x", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) })
	})
	tests := []struct {
		origin string
		allow  bool
	}{
		{"http://localhost:3000", true},
		{"https://portal.example.com", true},
		{"https://evil.com", false},
		{"https://a.b.example.com.evil.com", false},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(http.MethodOptions, base+"/api/test/x", nil)
		req.Header.Set("Origin", tt.origin)
		req.Header.Set("Access-Control-Request-Method", "GET")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := resp.Header.Get("Access-Control-Allow-Origin")
		if tt.allow && (got != tt.origin || resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Credentials") != "true") {
			t.Errorf("%s: preflight not allowed: %d %v", tt.origin, resp.StatusCode, resp.Header)
		}
		if !tt.allow && got != "" {
			t.Errorf("%s: allowed but should not be", tt.origin)
		}
	}
}

func TestMetricsByRoute(t *testing.T) {
	base := start(t, server.BackendConfig{}, func(r *httpapi.Router) {
		r.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) })
	})
	for _, id := range []string{"a", "b", "c"} {
		get(t, base+"/api/test/items/"+id, nil)
	}
	_, body := get(t, base+"/metrics", nil)
	want := `portico_http_requests_total{code="204",method="GET",route="GET /api/test/items/{id}"} 3`
	if !strings.Contains(body, want) {
		t.Errorf("metrics lack %s:\n%s", want, body)
	}
}

func TestShutdownWaitsForInFlightRequests(t *testing.T) {
	started := make(chan struct{})
	authn, _ := auth.NewAuthenticator(auth.BackendConfig{DangerouslyDisableDefaultAuthPolicy: true}, nil, nil)
	srv, err := server.New(server.BackendConfig{Listen: server.Listen{Host: "127.0.0.1"}, ShutdownTimeout: 10 * time.Second},
		authn, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv.Router("test").HandleFunc("GET /slow", func(w http.ResponseWriter, _ *http.Request) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		httpapi.WriteJSON(w, 200, map[string]string{"done": "yes"})
	})
	ln, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	result := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/api/test/slow")
		if err != nil {
			result <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		result <- string(b)
	}()
	<-started
	cancel() // as SIGTERM does
	if got := <-result; !strings.Contains(got, `"done":"yes"`) {
		t.Fatalf("in-flight request did not complete: %s", got)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve returned %v", err)
	}
	// After shutdown nothing is accepted.
	if _, err := http.Get("http://" + ln.Addr().String() + "/healthcheck"); err == nil {
		t.Fatal("server still accepts connections after shutdown")
	}
}
