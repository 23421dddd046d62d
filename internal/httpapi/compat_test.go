package httpapi

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestCompatMounting checks that a compatibility API sees its vendor's own
// paths both under /compat/{name}/ and at the root of its own listener, and
// that other names stay unrouted.
func TestCompatMounting(t *testing.T) {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Method+" "+r.URL.Path)
	})
	api := New(Services{Compat: map[string]http.Handler{"vendor": echo}, Now: time.Now}, slog.New(slog.DiscardHandler))
	standalone, ok := api.Standalone("vendor")
	if !ok {
		t.Fatal("Standalone(vendor) not found")
	}
	if _, ok := api.Standalone("other"); ok {
		t.Fatal("Standalone(other) found")
	}
	cases := []struct {
		name   string
		h      http.Handler
		method string
		path   string
		status int
		body   string
	}{
		{"prefixed GET", api, "GET", "/compat/vendor/api/v1/things", 200, "GET /api/v1/things"},
		{"prefixed DELETE", api, "DELETE", "/compat/vendor/api/v1/things/7", 200, "DELETE /api/v1/things/7"},
		{"unknown API", api, "GET", "/compat/other/api/v1/things", 404, ""},
		{"own listener", standalone, "PUT", "/api/v1/things/7", 200, "PUT /api/v1/things/7"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tc.h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if tc.body != "" && rec.Body.String() != tc.body {
				t.Fatalf("body %q, want %q", rec.Body, tc.body)
			}
			if rec.Header().Get("X-Request-Id") == "" {
				t.Fatal("no X-Request-Id: the compat API missed the server's wrapping")
			}
		})
	}
}
