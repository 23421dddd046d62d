package revocation

import (
	"context"
	"math/big"
	"strings"
	"testing"
	"time"
)

// TestCRLOpenSSL checks Signet's CRLs with the openssl command: the
// signature verifies, the text view shows the extensions, and certificate
// verification with -crl_check refuses the revoked leaf only.
func TestCRLOpenSSL(t *testing.T) {
	needOpenSSL(t)
	now := time.Now()
	for _, kind := range []string{"p256", "rsa2048", "ed25519"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			ca := newTestCA(t, kind, "OpenSSL CRL CA "+kind, now.Add(-time.Hour), 365*24*time.Hour)
			revoked := ca.issueLeaf(t, big.NewInt(0x1001), now.Add(-time.Minute))
			good := ca.issueLeaf(t, big.NewInt(0x1002), now.Add(-time.Minute))
			caFile := writeFile(t, dir, "ca.pem", certPEM(ca.cert))
			revokedFile := writeFile(t, dir, "revoked.pem", certPEM(revoked))
			goodFile := writeFile(t, dir, "good.pem", certPEM(good))

			entries := EntryList{
				{Serial: big.NewInt(0x0fff), RevokedAt: now.Add(-2 * time.Hour), Reason: 4},
				{Serial: revoked.SerialNumber, RevokedAt: now.Add(-time.Minute), Reason: 1, InvalidityDate: now.Add(-26 * time.Hour)},
				{Serial: big.NewInt(0x2000), RevokedAt: now.Add(-time.Minute)},
			}
			der, err := CreateCRL(context.Background(), &CRLTemplate{Number: big.NewInt(17), ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(24 * time.Hour)},
				ca.cert, ca.key, entries)
			if err != nil {
				t.Fatal(err)
			}
			crlDER := writeFile(t, dir, "crl.der", der)
			crlPEM := writeFile(t, dir, "crl.pem", EncodeCRLPEM(der))

			if out, ok := runOpenSSL(t, "crl", "-inform", "DER", "-in", crlDER, "-CAfile", caFile, "-noout", "-verify"); !ok || !strings.Contains(out, "verify OK") {
				t.Fatalf("openssl crl -verify: ok=%v\n%s", ok, out)
			}
			out, ok := runOpenSSL(t, "crl", "-inform", "DER", "-in", crlDER, "-noout", "-text")
			if !ok {
				t.Fatalf("openssl crl -text:\n%s", out)
			}
			for _, want := range []string{"X509v3 CRL Number", "17", "X509v3 Authority Key Identifier", "Serial Number: 1001", "Key Compromise", "Invalidity Date", "Serial Number: 2000"} {
				if !strings.Contains(out, want) {
					t.Errorf("openssl crl -text lacks %q:\n%s", want, out)
				}
			}
			if out, ok := runOpenSSL(t, "verify", "-crl_check", "-CAfile", caFile, "-CRLfile", crlPEM, revokedFile); ok || !strings.Contains(out, "certificate revoked") {
				t.Errorf("openssl verify accepted the revoked leaf: ok=%v\n%s", ok, out)
			}
			if out, ok := runOpenSSL(t, "verify", "-crl_check", "-CAfile", caFile, "-CRLfile", crlPEM, goodFile); !ok || !strings.Contains(out, "OK") {
				t.Errorf("openssl verify refused the good leaf:\n%s", out)
			}

			delta, err := CreateCRL(context.Background(), &CRLTemplate{Number: big.NewInt(18), BaseNumber: big.NewInt(17), ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(time.Hour)},
				ca.cert, ca.key, EntryList{{Serial: big.NewInt(0x2000), RevokedAt: now, Reason: 8}, {Serial: big.NewInt(0x3000), RevokedAt: now, Reason: 6}})
			if err != nil {
				t.Fatal(err)
			}
			deltaFile := writeFile(t, dir, "delta.der", delta)
			if out, ok := runOpenSSL(t, "crl", "-inform", "DER", "-in", deltaFile, "-CAfile", caFile, "-noout", "-verify"); !ok || !strings.Contains(out, "verify OK") {
				t.Fatalf("openssl crl -verify (delta): ok=%v\n%s", ok, out)
			}
			out, _ = runOpenSSL(t, "crl", "-inform", "DER", "-in", deltaFile, "-noout", "-text")
			for _, want := range []string{"Delta CRL Indicator: critical", "Remove From CRL", "Certificate Hold"} {
				if !strings.Contains(out, want) {
					t.Errorf("openssl crl -text (delta) lacks %q:\n%s", want, out)
				}
			}
		})
	}
}
