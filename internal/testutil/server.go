// Package testutil starts real Signet servers for tests and talks to them.
package testutil

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/app"
	"github.com/signet-pki/signet/internal/config"
)

// AdminKey is the admin API key test servers are started with.
const AdminKey = "test-admin-key-0123456789abcdefghij"

// Passphrase is the CA key passphrase test servers use.
const Passphrase = "test-passphrase-0123456789"

// Server is a Signet server running in-process on 127.0.0.1:0 over plain HTTP.
type Server struct {
	URL     string
	App     *app.App
	DataDir string
	Client  *http.Client
	logs    *lockedWriter
}

// LogText returns everything the server has logged so far.
func (s *Server) LogText() string {
	s.logs.mu.Lock()
	defer s.logs.mu.Unlock()
	return s.logs.w.(*bytes.Buffer).String()
}

// StartServer opens a fresh data directory and serves it over plain HTTP
// until the test ends.
func StartServer(t testing.TB) *Server {
	t.Helper()
	return startServer(t, t.TempDir(), true)
}

// StartServerWith is StartServer with configuration changes applied first.
func StartServerWith(t testing.TB, change func(*config.Config)) *Server {
	t.Helper()
	return startServer(t, t.TempDir(), true, change)
}

// StartServerAt serves an existing (or new) data directory over plain HTTP.
func StartServerAt(t testing.TB, dataDir string) *Server {
	t.Helper()
	return startServer(t, dataDir, true)
}

// StartTLSServer is StartServer on HTTPS with Signet's own server
// certificate; Client trusts Signet's root.
func StartTLSServer(t testing.TB) *Server {
	t.Helper()
	return startServer(t, t.TempDir(), false)
}

// StartTLSServerWith is StartTLSServer with configuration changes applied first.
func StartTLSServerWith(t testing.TB, change func(*config.Config)) *Server {
	t.Helper()
	return startServer(t, t.TempDir(), false, change)
}

func startServer(t testing.TB, dataDir string, plainHTTP bool, changes ...func(*config.Config)) *Server {
	t.Helper()
	cfg := config.Defaults()
	cfg.DataDir = dataDir
	cfg.Listen = "127.0.0.1:0"
	cfg.InsecureHTTP = plainHTTP
	cfg.AdminAPIKey = AdminKey
	cfg.KeyPassphrase = Passphrase
	for _, change := range changes {
		change(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &lockedWriter{w: &bytes.Buffer{}}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		cancel()
		t.Fatalf("open app: %v", err)
	}
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ready) }()
	var addr net.Addr
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("serve: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("server did not start")
	}
	t.Cleanup(func() {
		cancel()
		<-done
		_ = a.Close()
	})
	s := &Server{URL: "http://" + addr.String(), App: a, DataDir: cfg.DataDir,
		Client: &http.Client{Timeout: 60 * time.Second}, logs: logs}
	if !plainHTTP {
		s.URL = "https://" + addr.String()
		s.Client.Transport = &http.Transport{TLSClientConfig: s.TLSConfig(t)}
	}
	return s
}

// TLSConfig is a client configuration trusting the server's root CA.
func (s *Server) TLSConfig(t testing.TB) *tls.Config {
	t.Helper()
	root, err := os.ReadFile(filepath.Join(s.DataDir, "ca-root.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(root) {
		t.Fatal("no root certificate in ca-root.pem")
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// Response is a finished HTTP exchange.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test on error.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %d response %q: %v", r.Status, r.Body, err)
	}
}

// Map decodes the body as a JSON object.
func (r *Response) Map(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	r.JSON(t, &m)
	return m
}

// Do sends a request with an optional JSON (or raw []byte / string) body and bearer key.
func (s *Server) Do(t testing.TB, method, path, key string, body any, headers ...string) *Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Must is Do that fails the test unless the status is want.
func (s *Server) Must(t testing.TB, want int, method, path, key string, body any, headers ...string) *Response {
	t.Helper()
	r := s.Do(t, method, path, key, body, headers...)
	if r.Status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, want, r.Body)
	}
	return r
}

// Openssl runs the openssl binary in dir and fails the test (with its output) on error.
func Openssl(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := OpensslErr(dir, args...)
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// OpensslErr runs openssl and returns its combined output and error.
func OpensslErr(dir string, args ...string) (string, error) {
	cmd := exec.Command("openssl", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// WriteFile writes data to dir/name and returns the path.
func WriteFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
