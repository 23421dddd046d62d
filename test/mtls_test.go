package test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/http"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/testutil"
)

// TestClientCertificateAuthentication: a client certificate issued by a
// Signet CA authenticates its owner on the HTTPS listener, also from a CA
// created after the server started; once revoked it is refused.
func TestClientCertificateAuthentication(t *testing.T) {
	e := &env{Server: testutil.StartTLSServer(t), dir: t.TempDir(), principals: map[string]string{}}
	dave := e.Must(t, 201, "POST", "/api/v1/users", admin, map[string]any{"name": "dave", "roles": []string{"requester"}}).Map(t)
	issue := func(profile, cn, owner string) (tls.Certificate, string) {
		m := e.Must(t, 201, "POST", "/api/v1/certificates", admin, map[string]any{"profile": profile,
			"keygen": map[string]any{"algorithm": "ecdsa", "bits": 256}, "subject": map[string]any{"common_name": cn},
			"sans": []string{cn + "@example.com"}, "owner": owner}).Map(t)
		pair, err := tls.X509KeyPair([]byte(str(m, "certificate", "certificate_pem")+m["chain_pem"].(string)), []byte(m["private_key_pem"].(string)))
		if err != nil {
			t.Fatalf("client key pair: %v", err)
		}
		return pair, str(m, "certificate", "serial")
	}
	me := func(cert *tls.Certificate) (int, map[string]any) {
		cfg := e.TLSConfig(t)
		if cert != nil {
			cfg.Certificates = []tls.Certificate{*cert}
		}
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
		saved := e.Client
		e.Client = c
		defer func() { e.Client = saved }()
		r := e.Do(t, "GET", "/api/v1/me", "", nil)
		return r.Status, r.Map(t)
	}
	if status, m := me(nil); status != 401 || m["code"] != "unauthenticated" {
		t.Fatalf("no credentials: %d %v", status, m)
	}
	cert, serial := issue("tls-client", "dave", dave["id"].(string))
	status, m := me(&cert)
	if status != 200 || m["id"] != dave["id"] || m["authenticated_by"] != "client_certificate" {
		t.Fatalf("client certificate: %d %v", status, m)
	}
	// A CA created after start is trusted for client authentication at once.
	e.Must(t, 201, "POST", "/api/v1/cas", admin, map[string]any{"name": "late-ca", "kind": "intermediate", "parent": "signet-root",
		"key": map[string]any{"algorithm": "ecdsa", "bits": 256}, "subject": map[string]any{"common_name": "Late CA"}, "validity_days": 90})
	e.Must(t, 201, "POST", "/api/v1/profiles", admin, map[string]any{"name": "late-client", "template": "tls-client", "ca": "late-ca"})
	late, _ := issue("late-client", "dave2", dave["id"].(string))
	if status, m := me(&late); status != 200 || m["id"] != dave["id"] {
		t.Fatalf("certificate from a CA created after start: %d %v", status, m)
	}
	// A certificate owned by nobody authenticates nobody.
	team := e.Must(t, 201, "POST", "/api/v1/teams", admin, map[string]any{"name": "ops"}).Map(t)["id"].(string)
	teamCert, _ := issue("tls-client", "ops", team)
	if status, m := me(&teamCert); status != 401 || m["code"] != "invalid_client_certificate" {
		t.Fatalf("team-owned certificate: %d %v", status, m)
	}
	// A certificate from outside Signet's CAs fails the handshake, even
	// with the same subject and key type as a valid one.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "dave"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cfg := e.TLSConfig(t)
	// Sent whatever CAs the server names (Go's client would otherwise hold it back).
	foreign := &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return foreign, nil }
	if resp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}).Get(e.URL + "/api/v1/me"); err == nil {
		resp.Body.Close()
		t.Fatalf("a self-signed client certificate was accepted: %d", resp.StatusCode)
	}
	e.Must(t, 200, "POST", "/api/v1/certificates/"+serial+"/revoke", admin, map[string]any{"reason": "key_compromise"})
	if status, m := me(&cert); status != 401 || m["code"] != "invalid_client_certificate" {
		t.Fatalf("revoked client certificate: %d %v", status, m)
	}
}
