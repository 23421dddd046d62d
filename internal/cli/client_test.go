package cli

import (
	"bytes"
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// result is what one CLI invocation printed and returned.
type result struct {
	stdout, stderr string
	err            error
}

// execute runs the CLI as cmd/signet/main.go does, without a subprocess.
func execute(args []string, stdin string) result {
	root := NewRoot()
	var out, errOut bytes.Buffer
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetIn(strings.NewReader(stdin))
	err := root.ExecuteContext(context.Background())
	if err != nil {
		fmt.Fprintln(&errOut, "error:", err)
	}
	return result{stdout: out.String(), stderr: errOut.String(), err: err}
}

func TestAPIErrorFormat(t *testing.T) {
	tests := []struct {
		name string
		err  apiError
		want string
	}{
		{"plain", apiError{Status: 409, Code: "certificate_already_revoked", Detail: "certificate 1a is already revoked"},
			"certificate 1a is already revoked (certificate_already_revoked, HTTP 409)"},
		{"violations", apiError{Status: 400, Code: "policy_violation", Detail: "request breaks template: 2 violation(s)",
			Violations: []violation{{Field: "sans[0]", Message: "not allowed"}, {Message: "key too small"}}},
			"request breaks template: 2 violation(s) (policy_violation, HTTP 400)\n  - sans[0]: not allowed\n  - key too small"},
		{"title when no detail", apiError{Status: 404, Code: "route_not_found", Title: "Not Found"},
			"Not Found (route_not_found, HTTP 404)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// fakeServer answers every request with status, content type and body, and
// records the last request's Authorization header.
func fakeServer(t *testing.T, status int, contentType, body string) (*httptest.Server, *string) {
	t.Helper()
	var auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &auth
}

func TestClientResponses(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		maxBody     int64
		wantErr     string // empty: success
	}{
		{"json", 200, "application/json", `{"id":"x"}`, maxResponse, ""},
		{"problem", 403, "application/problem+json",
			`{"type":"urn:signet:problem:forbidden","title":"Forbidden","status":403,"detail":"principal p may not ca:manage","code":"forbidden"}`,
			maxResponse, "principal p may not ca:manage (forbidden, HTTP 403)"},
		{"proxy error page", 502, "text/html", "<html>\x1b[31mbad gateway</html>", maxResponse, "HTTP 502 Bad Gateway: <html> [31mbad gateway</html>"},
		{"not json", 200, "text/html", "<html>login</html>", maxResponse, "did not answer with JSON"},
		{"too large", 200, "application/json", `{"items":["` + strings.Repeat("a", 100) + `"]}`, 64, "larger than 64 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, auth := fakeServer(t, tc.status, tc.contentType, tc.body)
			c, err := newClient(&globals{server: srv.URL, apiKey: "k-123", timeout: 5 * time.Second}, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			c.maxBody = tc.maxBody
			raw, err := c.json(context.Background(), request{method: http.MethodGet, path: "/api/v1/x"})
			if *auth != "Bearer k-123" {
				t.Errorf("Authorization %q", *auth)
			}
			if tc.wantErr == "" {
				if err != nil || string(raw) != tc.body {
					t.Errorf("got %q, %v", raw, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestPlainHTTPWarning(t *testing.T) {
	var warn strings.Builder
	if _, err := newClient(&globals{server: "http://signet.example.com:8080", apiKey: "k", timeout: time.Second}, &warn); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(warn.String(), "plain HTTP") {
		t.Errorf("no warning for a key over plain HTTP to a remote host")
	}
	warn.Reset()
	if _, err := newClient(&globals{server: "http://127.0.0.1:8080", apiKey: "k", timeout: time.Second}, &warn); err != nil {
		t.Fatal(err)
	}
	if warn.Len() != 0 {
		t.Errorf("warning for loopback: %s", warn.String())
	}
}

// TestUsageErrors checks mistakes caught before any request exit with 2
// and failures of the operation with 1.
func TestUsageErrors(t *testing.T) {
	dead := "http://127.0.0.1:1" // nothing listens on port 1
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
		{"unknown flag", []string{"cert", "list", "--bogus"}, 2, "unknown flag"},
		{"missing argument", []string{"cert", "get"}, 2, "accepts 1 arg"},
		{"missing required flag", []string{"ca", "create", "--name", "x"}, 2, `"kind" not set`},
		{"neither csr nor keygen", []string{"cert", "issue", "--profile", "p"}, 2, "csr keygen"},
		{"both csr and keygen", []string{"cert", "issue", "--profile", "p", "--csr", "a", "--keygen", "ecdsa"}, 2, "csr keygen"},
		{"keygen without key-out", []string{"cert", "issue", "--profile", "p", "--keygen", "ecdsa"}, 2, "--key-out"},
		{"bad keygen size", []string{"cert", "issue", "--profile", "p", "--keygen", "rsa:big", "--key-out", "k"}, 2, "number of bits"},
		{"cn with csr", []string{"cert", "issue", "--profile", "p", "--csr", "a", "--cn", "x"}, 2, "--keygen"},
		{"bad output", []string{"me", "-o", "yaml"}, 2, "want table, json or pem"},
		{"bad server", []string{"me", "--server", "ftp://x"}, 2, "--server"},
		{"pem of a profile", []string{"profile", "list", "-o", "pem"}, 2, "-o pem"},
		{"pem of me", []string{"me", "-o", "pem"}, 2, "-o pem"},
		{"bad expiry", []string{"api-key", "create", "--name", "n", "--role", "auditor", "--expires-in", "soon"}, 2, "--expires-in"},
		{"server down", []string{"me", "--server", dead}, 1, "connection refused"},
		{"missing csr file", []string{"cert", "issue", "--profile", "p", "--csr", "/nonexistent/x.csr"}, 1, "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := execute(append([]string{"--server", dead, "--api-key", "k-123456789012345678901234"}, tc.args...), "")
			if r.err == nil {
				t.Fatalf("no error; stdout:\n%s", r.stdout)
			}
			if code := ExitCode(r.err); code != tc.code {
				t.Errorf("exit code %d, want %d (error: %v)", code, tc.code, r.err)
			}
			if !strings.Contains(r.err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", r.err, tc.want)
			}
		})
	}
}

func TestParseLifetime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"720h", 720 * time.Hour, true}, {"90d", 90 * 24 * time.Hour, true}, {"1h30m", 90 * time.Minute, true},
		{"0d", 0, false}, {"-1h", 0, false}, {"soon", 0, false}, {"d", 0, false},
	}
	for _, tc := range tests {
		got, err := parseLifetime(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseLifetime(%q) = %v, %v", tc.in, got, err)
		}
	}
}

// TestTrustedCA checks --ca-cert: HTTPS to a server whose CA is not in the
// system roots works only when that CA is trusted.
func TestTrustedCA(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"admin","name":"admin","roles":["admin"]}`)
	}))
	t.Cleanup(srv.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(envCACert, "")
	r := execute([]string{"--server", srv.URL, "--api-key", "k", "me"}, "")
	if r.err == nil || !strings.Contains(r.err.Error(), "--ca-cert") {
		t.Errorf("untrusted server: %v", r.err)
	}
	r = execute([]string{"--server", srv.URL, "--api-key", "k", "--ca-cert", caFile, "me"}, "")
	if r.err != nil || !strings.Contains(r.stdout, "admin") {
		t.Errorf("with --ca-cert: %v\n%s", r.err, r.stdout)
	}
	t.Setenv(envCACert, caFile)
	if r = execute([]string{"--server", srv.URL, "--api-key", "k", "me"}, ""); r.err != nil {
		t.Errorf("with SIGNET_CA_CERT: %v", r.err)
	}
}
