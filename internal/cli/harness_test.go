package cli

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/app"
	"github.com/signet-pki/signet/internal/config"
)

const testAdminKey = "signet-test-admin-key-0123456789abcdef"

// testServer is a real Signet server running in-process on 127.0.0.1:0.
type testServer struct {
	url string
	dir string // scratch directory for files the CLI reads and writes
}

// lockedBuffer collects the server log, shown only when a test fails.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func startServer(t *testing.T) *testServer {
	t.Helper()
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.InsecureHTTP = true
	cfg.Listen = "127.0.0.1:0"
	cfg.AdminAPIKey = testAdminKey
	cfg.KeyPassphrase = "test-passphrase-123456"
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	logs := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		cancel()
		t.Fatalf("app.Open: %v", err)
	}
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ready) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		_ = a.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	select {
	case addr := <-ready:
		return &testServer{url: "http://" + addr.String(), dir: t.TempDir()}
	case err := <-done:
		t.Fatalf("serve: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("server did not start")
	}
	return nil
}

// as runs the CLI against s with the given API key.
func (s *testServer) as(key string, args ...string) result {
	return s.withStdin(key, "", args...)
}

// withStdin runs the CLI against s with stdin as its standard input.
func (s *testServer) withStdin(key, stdin string, args ...string) result {
	return execute(append([]string{"--server", s.url, "--api-key", key, "--timeout", "30s"}, args...), stdin)
}

// ok runs the CLI as admin and fails the test on error.
func (s *testServer) ok(t *testing.T, args ...string) string {
	t.Helper()
	return s.okAs(t, testAdminKey, args...)
}

func (s *testServer) okAs(t *testing.T, key string, args ...string) string {
	t.Helper()
	r := s.as(key, args...)
	if r.err != nil {
		t.Fatalf("signet %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.err, r.stdout, r.stderr)
	}
	return r.stdout
}

// okJSON runs the CLI with -o json and decodes its output.
func (s *testServer) okJSON(t *testing.T, key string, v any, args ...string) {
	t.Helper()
	out := s.okAs(t, key, append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("signet %s -o json: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// fails runs the CLI as key and expects an error.
func (s *testServer) fails(t *testing.T, key string, args ...string) result {
	t.Helper()
	r := s.as(key, args...)
	if r.err == nil {
		t.Fatalf("signet %s succeeded, want an error\nstdout:\n%s", strings.Join(args, " "), r.stdout)
	}
	return r
}

func (s *testServer) path(name string) string { return filepath.Join(s.dir, name) }

func (s *testServer) write(t *testing.T, name, content string) string {
	t.Helper()
	p := s.path(name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// detailValue reads FIELD's value from a single-object table.
func detailValue(t *testing.T, out, fieldName string) string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, fieldName+"  "); ok {
			return strings.TrimSpace(rest)
		}
	}
	t.Fatalf("no %s in:\n%s", fieldName, out)
	return ""
}

// newCSR makes an ECDSA CSR for cn and dnsNames.
func newCSR(t *testing.T, cn string, dnsNames ...string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: cn}, DNSNames: dnsNames}, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

// parseCerts decodes every CERTIFICATE block.
func parseCerts(t *testing.T, data []byte) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}
