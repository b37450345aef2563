package app_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/app/apptest"
	"github.com/portico-dev/portico/web"
)

// uiStatus is what the UI answers for its pages: the app when the binary
// embeds a build, otherwise a page saying how to build it.
func uiStatus(t *testing.T) (int, string) {
	t.Helper()
	h, err := web.NewHandler(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if h.Built() {
		return http.StatusOK, `<div id="root">`
	}
	return http.StatusServiceUnavailable, "go generate ./web"
}

func TestWebUIIsServedBesideTheAPIs(t *testing.T) {
	wantStatus, wantBody := uiStatus(t)
	// With a configuration, requests need credentials; the UI's pages must
	// still load, since the app signs in by itself.
	prod := apptest.Start(t, apptest.Options{Config: productionConfig})
	dev := apptest.Start(t, apptest.Options{Development: true})
	tests := []struct {
		name       string
		base       string
		path       string
		wantStatus int
		wantBody   string
	}{
		{"root", prod.URL, "/", wantStatus, wantBody},
		{"catalog page", prod.URL, "/catalog", wantStatus, wantBody},
		{"entity page", prod.URL, "/catalog/default/component/petstore", wantStatus, wantBody},
		{"workflows page", prod.URL, "/workflows/greeting/run", wantStatus, wantBody},
		{"notifications page", prod.URL, "/notifications", wantStatus, wantBody},
		{"api routes stay the api", prod.URL, "/api/no-such-plugin", http.StatusNotFound, "NotFoundError"},
		{"health check unchanged", prod.URL, "/healthcheck", http.StatusOK, `"ok"`},
		{"unknown top-level page in development", dev.URL, "/no-such-page", wantStatus, wantBody},
		{"workflow route still answers", dev.URL, "/greeting", http.StatusOK, "["},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := http.Get(tc.base + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tc.wantStatus {
				t.Fatalf("GET %s = %d, want %d: %s", tc.path, res.StatusCode, tc.wantStatus, body)
			}
			if !strings.Contains(string(body), tc.wantBody) {
				t.Errorf("GET %s body = %q, want it to contain %q", tc.path, body, tc.wantBody)
			}
		})
	}
}
