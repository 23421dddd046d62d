package test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"net/url"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/testutil"
)

// TestLintFailureStopsIssuance: a request the template accepts but whose
// certificate zlint rejects (a common name over RFC 5280's 64 characters) is
// refused with lint_failed, and nothing reaches the inventory. The lint
// registry skips lints that cannot apply to a Signet leaf; this one can.
func TestLintFailureStopsIssuance(t *testing.T) {
	s := testutil.StartServer(t)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.Repeat("a", 60) + ".lint.example.com"
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: name}, DNSNames: []string{name}}, key)
	if err != nil {
		t.Fatal(err)
	}
	csr := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
	r := s.Do(t, "POST", "/api/v1/certificates", admin, map[string]any{"profile": "tls-server", "csr": csr})
	body := r.Map(t)
	if r.Status/100 != 4 || body["code"] != "lint_failed" || !strings.Contains(string(r.Body), "e_subject_common_name_max_length") {
		t.Fatalf("got %d %s, want a 4xx lint_failed naming e_subject_common_name_max_length", r.Status, r.Body)
	}
	list := s.Must(t, 200, "GET", "/api/v1/certificates?name="+url.QueryEscape(name), admin, nil).Map(t)
	if items, _ := list["items"].([]any); len(items) != 0 {
		t.Fatalf("the refused certificate is in the inventory: %v", items)
	}
}
