package test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/config"
	"github.com/signet-pki/signet/internal/testutil"
)

// TestServerAutoRenewsServerKeyedCertificates: a certificate whose key the
// server generated is renewed by the server for the same key ahead of
// expiry and linked to its successor; one made from a CSR is left alone.
func TestServerAutoRenewsServerKeyedCertificates(t *testing.T) {
	e := &env{Server: testutil.StartServerWith(t, func(c *config.Config) {
		c.AutoRenew = []config.AutoRenew{{Profile: "tls-server", DaysBefore: 30}}
	}), dir: t.TempDir(), principals: map[string]string{}}
	keyed := e.Must(t, 201, "POST", "/api/v1/certificates", admin, map[string]any{"profile": "tls-server", "validity_days": 90,
		"keygen": map[string]any{"algorithm": "ecdsa", "bits": 256}, "sans": []string{"auto.example.com"}}).Map(t)
	fromCSR, _ := e.issue(t, admin, "csr-made") // tls-server's default validity exceeds the window too
	if n, err := e.App.Issuance.AutoRenewPass(context.Background(), e.App.AutoRenewPolicies(), time.Now(), slog.Default()); err != nil || n != 0 {
		t.Fatalf("with 90 days left the pass renewed %d (err %v), want 0", n, err)
	}
	later := time.Now().Add(70 * 24 * time.Hour) // 20 days left: inside the 30-day window
	n, err := e.App.Issuance.AutoRenewPass(context.Background(), e.App.AutoRenewPolicies(), later, slog.Default())
	if err != nil || n != 1 {
		t.Fatalf("auto-renewal pass renewed %d (err %v), want 1", n, err)
	}
	old := e.Must(t, 200, "GET", "/api/v1/certificates/"+str(keyed, "certificate", "serial"), admin, nil).Map(t)
	next, _ := old["renewed_by"].(string)
	if next == "" {
		t.Fatalf("the server-keyed certificate was not renewed: %v", old)
	}
	newer := e.Must(t, 200, "GET", "/api/v1/certificates/"+next, admin, nil).Map(t)
	if newer["renewed_from"] != old["serial"] || newer["owner"] != old["owner"] {
		t.Fatalf("renewal link or owner: %v", newer)
	}
	if !bytes.Equal(publicKeyOf(t, old["certificate_pem"].(string)), publicKeyOf(t, newer["certificate_pem"].(string))) {
		t.Fatal("the renewal changed the key: the holder could not use it")
	}
	if got := e.Must(t, 200, "GET", "/api/v1/certificates/"+fromCSR, admin, nil).Map(t)["renewed_by"]; got != nil && got != "" {
		t.Fatalf("a CSR-made certificate was renewed by the server: %v", got)
	}
	if evs := e.Must(t, 200, "GET", "/api/v1/audit-events?action=certificate.renew&principal=system", admin, nil).Map(t)["items"].([]any); len(evs) != 1 {
		t.Fatalf("audit events of the auto-renewal: %v", evs)
	}
}

func publicKeyOf(t *testing.T, certPEM string) []byte {
	t.Helper()
	certs, err := parsePEMCerts([]byte(certPEM))
	if err != nil || len(certs) == 0 {
		t.Fatal(err)
	}
	return certs[0].RawSubjectPublicKeyInfo
}

func parsePEMCerts(b []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return out, nil
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
}
