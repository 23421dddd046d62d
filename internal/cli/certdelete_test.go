package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"
)

// TestCertDelete: `signet cert delete` removes an imported certificate and
// reports the server's refusals (a certificate Signet issued, an unknown one).
func TestCertDelete(t *testing.T) {
	s := startServer(t)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(0x5eed01), Subject: pkix.Name{CommonName: "legacy.example.net"},
		DNSNames: []string{"legacy.example.net"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(48 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	s.ok(t, "cert", "import", s.write(t, "legacy.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))))
	const serial = "5eed01"
	s.ok(t, "cert", "get", serial)

	if out := s.ok(t, "cert", "delete", serial); strings.TrimSpace(out) != "certificate 5eed01 deleted" {
		t.Errorf("delete printed %q", out)
	}
	if r := s.fails(t, testAdminKey, "cert", "get", serial); !strings.Contains(r.stderr, "HTTP 404") {
		t.Errorf("get after delete:\n%s", r.stderr)
	}
	if r := s.fails(t, testAdminKey, "cert", "delete", serial); !strings.Contains(r.stderr, "HTTP 404") {
		t.Errorf("second delete:\n%s", r.stderr)
	}

	r := s.as(testAdminKey, "cert", "issue", "--profile", "tls-server", "--keygen", "ecdsa:256", "--cn", "own.example.com",
		"--san", "own.example.com", "--key-out", s.path("own.key"))
	if r.err != nil {
		t.Fatalf("issue: %v\n%s", r.err, r.stderr)
	}
	own := detailValue(t, r.stdout, "SERIAL")
	refused := s.fails(t, testAdminKey, "cert", "delete", own)
	if !strings.Contains(refused.stderr, "HTTP 409") || !strings.Contains(refused.stderr, "certificate_issued_by_signet") {
		t.Errorf("deleting an issued certificate:\n%s", refused.stderr)
	}
	s.ok(t, "cert", "get", own)
}
