package revocation

import (
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

// TestOCSPOpenSSL queries the handler with `openssl ocsp` over HTTP on
// 127.0.0.1, before and after a revocation, with and without a nonce,
// CA-signed and delegated.
func TestOCSPOpenSSL(t *testing.T) {
	needOpenSSL(t)
	tests := []struct {
		mode SigningMode
		kind string
	}{
		{SignDelegated, "p256"},
		{SignWithCA, "p256"},
		{SignWithCA, "rsa2048"},
		{SignDelegated, "ed25519"},
		{SignWithCA, "ed25519"},
	}
	for _, tc := range tests {
		t.Run(modeName(tc.mode)+"/"+tc.kind, func(t *testing.T) {
			f := newOCSPFixture(t, tc.mode, tc.kind, nil)
			srv := serveOCSP(t, f.r)
			dir := t.TempDir()
			caFile := writeFile(t, dir, "ca.pem", certPEM(f.ca.cert))
			leafFile := writeFile(t, dir, "leaf.pem", certPEM(f.leaf))
			query := func(path string, nonce bool) string {
				t.Helper()
				args := []string{"ocsp", "-issuer", caFile, "-cert", leafFile, "-url", srv.URL + path,
					"-resp_text", "-CAfile", caFile, "-timeout", "10"}
				if !nonce {
					args = append(args, "-no_nonce")
				}
				out, ok := runOpenSSL(t, args...)
				if !ok || !strings.Contains(out, "Response verify OK") {
					t.Fatalf("openssl ocsp %s (nonce %v) failed:\n%s", path, nonce, out)
				}
				// openssl checks an echoed nonce itself ("Nonce Verify error" fails the run).
				if strings.Contains(out, "WARNING: no nonce in response") || nonce != strings.Contains(out, "OCSP Nonce") {
					t.Fatalf("openssl ocsp nonce %v, response nonce wrong:\n%s", nonce, out)
				}
				return out
			}
			for _, path := range []string{"/ocsp", "/ocsp/ca_main"} {
				for _, nonce := range []bool{true, false} {
					if out := query(path, nonce); !strings.Contains(out, leafFile+": good") {
						t.Fatalf("want good:\n%s", out)
					}
				}
			}
			if tc.mode == SignDelegated {
				out := query("/ocsp", false)
				for _, want := range []string{"OCSP Signing", "OCSP No Check", "CN = OCSP Responder OCSP Test CA"} {
					if !strings.Contains(out, want) {
						t.Errorf("delegated response lacks %q:\n%s", want, out)
					}
				}
			}

			f.status.set("ca_main", f.leaf.SerialNumber, CertStatus{Status: StatusRevoked, RevokedAt: time.Now().Add(-time.Minute), Reason: ocsp.KeyCompromise})
			if out := query("/ocsp", false); !strings.Contains(out, leafFile+": good") {
				t.Fatalf("cached response should still say good before Invalidate:\n%s", out)
			}
			f.r.Invalidate("ca_main", f.leaf.SerialNumber)
			for _, nonce := range []bool{true, false} {
				out := query("/ocsp", nonce)
				if !strings.Contains(out, leafFile+": revoked") || !strings.Contains(out, "Reason: keyCompromise") {
					t.Fatalf("want revoked (keyCompromise):\n%s", out)
				}
			}
		})
	}
}
