package auth

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestSourceIP(t *testing.T) {
	tests := []struct{ remote, want string }{
		{"127.0.0.1:5000", "127.0.0.1"},
		{"[::1]:443", "::1"},
		{"no-port", "no-port"},
	}
	for _, tc := range tests {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = tc.remote
		if got := SourceIP(r); got != tc.want {
			t.Errorf("SourceIP(%q) = %q, want %q", tc.remote, got, tc.want)
		}
	}
}
