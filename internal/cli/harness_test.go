package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/testutil"
)

const testAdminKey = testutil.AdminKey

// testServer is a real Signet server running in-process on 127.0.0.1:0.
type testServer struct {
	url string
	dir string // scratch directory for files the CLI reads and writes
}

func startServer(t *testing.T) *testServer {
	t.Helper()
	srv := testutil.StartServer(t)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", srv.LogText())
		}
	})
	return &testServer{url: srv.URL, dir: t.TempDir()}
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
