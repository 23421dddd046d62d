package digicert_test

import (
	"crypto/tls"
	"net/http"
	"testing"

	"github.com/signet-pki/signet/internal/testutil"
)

// TestClientCertificateAuthentication: without x-api-key, a client
// certificate from a Signet CA authenticates its owner (DigiCert's
// clientauth host); a revoked one is refused in the vendor's format.
func TestClientCertificateAuthentication(t *testing.T) {
	srv := testutil.StartTLSServer(t)
	e := &env{t: t, srv: srv, base: srv.URL + "/compat/digicert", key: testutil.AdminKey}
	erin := e.native(201, "POST", "/api/v1/users", map[string]any{"name": "erin", "roles": []string{"requester"}})
	m := e.native(201, "POST", "/api/v1/certificates", map[string]any{"profile": "tls-client",
		"keygen": map[string]any{"algorithm": "ecdsa", "bits": 256}, "subject": map[string]any{"common_name": "erin"},
		"sans": []string{"erin@example.com"}, "owner": erin["id"]})
	cert := m["certificate"].(map[string]any)
	pair, err := tls.X509KeyPair([]byte(cert["certificate_pem"].(string)+m["chain_pem"].(string)), []byte(m["private_key_pem"].(string)))
	if err != nil {
		t.Fatal(err)
	}
	cfg := srv.TLSConfig(t)
	cfg.Certificates = []tls.Certificate{pair}
	withCert := &env{t: t, srv: &testutil.Server{URL: srv.URL, Client: &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}},
		base: e.base}

	// Erin (a requester) issues to her own seat with her certificate alone.
	r := withCert.do("POST", "/mpki/api/v1/certificate", "", map[string]any{"profile": map[string]any{"id": "tls-server"},
		"seat": map[string]any{"seat_id": "erin"}, "csr": csr(t, ecKey(t), "erin.example.com")})
	if r.status != 201 {
		t.Fatalf("issue with a client certificate: %d %s", r.status, r.body)
	}
	serial := r.obj(t)["serial_number"].(string)
	st := withCert.do("GET", "/mpki/api/v1/certificate/"+serial, "", nil)
	if st.status != 200 {
		t.Fatalf("status with a client certificate: %d %s", st.status, st.body)
	}
	nat := e.native(200, "GET", "/api/v1/certificates/"+serialLower(serial), nil)
	if nat["owner"] != erin["id"] {
		t.Errorf("owner %v, want erin %v", nat["owner"], erin["id"])
	}
	// Without a certificate or key: 401.
	wantError(t, "no credential over TLS", e.do("GET", "/mpki/api/v1/profile", "", nil), http.StatusUnauthorized, "unauthorized", "")
	// A revoked client certificate authenticates nobody.
	e.native(200, "POST", "/api/v1/certificates/"+cert["serial"].(string)+"/revoke", map[string]any{"reason": "key_compromise"})
	wantError(t, "revoked client certificate", withCert.do("GET", "/mpki/api/v1/profile", "", nil), http.StatusUnauthorized, "unauthorized", "")
}
