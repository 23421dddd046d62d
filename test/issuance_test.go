// Package test holds Signet's end-to-end tests: a real server on
// 127.0.0.1:0, driven over HTTP, with what it issues checked by openssl.
package test

import (
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/testutil"
)

const admin = testutil.AdminKey

// env is one server plus a scratch directory for openssl.
type env struct {
	*testutil.Server
	dir        string
	principals map[string]string // service account name -> principal id, see newKey
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return &env{Server: testutil.StartServer(t), dir: t.TempDir(), principals: map[string]string{}}
}

// rootPEM writes the default root certificate to the scratch dir.
func (e *env) rootFile(t *testing.T) string {
	t.Helper()
	r := e.Must(t, 200, "GET", "/api/v1/cas/signet-root/certificate", "", nil)
	return testutil.WriteFile(t, e.dir, "root.pem", r.Body)
}

// csr makes a key and CSR with openssl; keyArgs are genpkey options.
func (e *env) csr(t *testing.T, name, subj, san string, keyArgs ...string) (keyPath, csrPEM string) {
	t.Helper()
	keyPath = filepath.Join(e.dir, name+".key")
	testutil.Openssl(t, e.dir, append([]string{"genpkey", "-out", keyPath}, keyArgs...)...)
	return keyPath, e.csrForKey(t, name, keyPath, subj, san)
}

func (e *env) csrForKey(t *testing.T, name, keyPath, subj, san string) string {
	t.Helper()
	csrPath := filepath.Join(e.dir, name+".csr")
	args := []string{"req", "-new", "-key", keyPath, "-subj", subj, "-out", csrPath}
	if san != "" {
		args = append(args, "-addext", "subjectAltName="+san)
	}
	testutil.Openssl(t, e.dir, args...)
	b, err := os.ReadFile(csrPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var ecKey = []string{"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"}

// verify checks leaf against the chain and root with `openssl verify`.
func (e *env) verify(t *testing.T, name, leafPEM, chainPEM string, extra ...string) {
	t.Helper()
	leaf := testutil.WriteFile(t, e.dir, name+".crt", []byte(leafPEM))
	chain := testutil.WriteFile(t, e.dir, name+"-chain.pem", []byte(chainPEM))
	args := append([]string{"verify", "-CAfile", e.rootFile(t), "-untrusted", chain}, extra...)
	out := testutil.Openssl(t, e.dir, append(args, leaf)...)
	if !strings.Contains(out, ": OK") {
		t.Fatalf("openssl verify: %s", out)
	}
}

func str(m map[string]any, path ...string) string {
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = mm[p]
	}
	s, _ := cur.(string)
	return s
}

func TestEnrollWithCSRVerifiesWithOpenSSL(t *testing.T) {
	e := newEnv(t)
	_, csr := e.csr(t, "web", "/CN=web.example.com/O=Example", "DNS:web.example.com,DNS:www.example.com,IP:10.0.0.7", ecKey...)
	r := e.Must(t, 201, "POST", "/api/v1/certificates", admin, map[string]any{"profile": "tls-server", "csr": csr})
	m := r.Map(t)
	cert := m["certificate"].(map[string]any)
	if str(m, "request", "status") != "issued" || cert["status"] != "active" {
		t.Fatalf("unexpected enrollment result: %s", r.Body)
	}
	e.verify(t, "web", cert["certificate_pem"].(string), m["chain_pem"].(string), "-purpose", "sslserver")

	text := testutil.Openssl(t, e.dir, "x509", "-in", filepath.Join(e.dir, "web.crt"), "-noout", "-text")
	for _, want := range []string{"TLS Web Server Authentication", "DNS:web.example.com", "DNS:www.example.com",
		"IP Address:10.0.0.7", "Digital Signature", "CA:FALSE", "Subject Key Identifier", "Authority Key Identifier"} {
		if !strings.Contains(text, want) {
			t.Errorf("issued certificate lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "Key Encipherment") {
		t.Errorf("ECDSA certificate must not carry keyEncipherment")
	}
	// The certificate returned is already in the inventory.
	serial := cert["serial"].(string)
	got := e.Must(t, 200, "GET", "/api/v1/certificates/"+serial, admin, nil).Map(t)
	if got["sha256"] != cert["sha256"] || got["enrollment_method"] != "api" {
		t.Fatalf("inventory copy differs, or its enrollment method is not api: %v", got)
	}
	// Any accepted serial form finds it.
	upper := strings.ToUpper(serial)
	e.Must(t, 200, "GET", "/api/v1/certificates/"+upper, admin, nil)
}

func TestEnrollWithServerKeygenReturnsKeyOnceAndPKCS12(t *testing.T) {
	e := newEnv(t)
	for _, kg := range []map[string]any{{"algorithm": "ecdsa", "bits": 384}, {"algorithm": "rsa", "bits": 2048}} {
		t.Run(fmt.Sprint(kg["algorithm"]), func(t *testing.T) {
			r := e.Must(t, 201, "POST", "/api/v1/certificates", admin, map[string]any{
				"profile": "tls-server", "keygen": kg, "subject": map[string]any{"common_name": "kg.example.com"},
				"sans": []string{"kg.example.com", "192.0.2.10"}, "pkcs12_password": "p12-secret"})
			m := r.Map(t)
			cert := m["certificate"].(map[string]any)
			keyPEM := m["private_key_pem"].(string)
			if blk, _ := pem.Decode([]byte(keyPEM)); blk == nil || blk.Type != "PRIVATE KEY" {
				t.Fatalf("no PKCS#8 key in response")
			}
			name := "kg-" + fmt.Sprint(kg["algorithm"])
			e.verify(t, name, cert["certificate_pem"].(string), m["chain_pem"].(string))
			keyFile := testutil.WriteFile(t, e.dir, name+".key", []byte(keyPEM))
			// The key matches the certificate.
			pub1 := testutil.Openssl(t, e.dir, "pkey", "-in", keyFile, "-pubout")
			pub2 := testutil.Openssl(t, e.dir, "x509", "-in", filepath.Join(e.dir, name+".crt"), "-noout", "-pubkey")
			if pub1 != pub2 {
				t.Fatalf("generated key does not match certificate")
			}
			p12, err := base64.StdEncoding.DecodeString(m["pkcs12"].(string))
			if err != nil {
				t.Fatal(err)
			}
			p12File := testutil.WriteFile(t, e.dir, name+".p12", p12)
			out := testutil.Openssl(t, e.dir, "pkcs12", "-in", p12File, "-passin", "pass:p12-secret", "-nokeys", "-info")
			if !strings.Contains(out, "kg.example.com") {
				t.Fatalf("PKCS#12 lacks the certificate: %s", out)
			}
			// The key was never stored: the request records only parameters.
			req := e.Must(t, 200, "GET", "/api/v1/requests/"+str(m, "request", "id"), admin, nil)
			if strings.Contains(string(req.Body), "PRIVATE KEY") || strings.Contains(e.LogText(), "PRIVATE KEY") {
				t.Fatalf("private key leaked into request or logs")
			}
		})
	}
}

func TestIdempotencyKeyReturnsSameCertificate(t *testing.T) {
	e := newEnv(t)
	_, csr := e.csr(t, "idem", "/CN=idem.example.com", "DNS:idem.example.com", ecKey...)
	body := map[string]any{"profile": "tls-server", "csr": csr}
	first := e.Must(t, 201, "POST", "/api/v1/certificates", admin, body, "Idempotency-Key", "k-123").Map(t)
	again := e.Must(t, 200, "POST", "/api/v1/certificates", admin, body, "Idempotency-Key", "k-123").Map(t)
	if str(first, "certificate", "serial") != str(again, "certificate", "serial") || again["replayed"] != true {
		t.Fatalf("retry issued a different certificate: %v vs %v", first["certificate"], again["certificate"])
	}
	other := map[string]any{"profile": "tls-server", "csr": csr, "validity_days": 30}
	r := e.Must(t, 409, "POST", "/api/v1/certificates", admin, other, "Idempotency-Key", "k-123")
	if r.Map(t)["code"] != "idempotency_key_reused" {
		t.Fatalf("want idempotency_key_reused: %s", r.Body)
	}
	page := e.Must(t, 200, "GET", "/api/v1/certificates?q=idem.example.com&total=true", admin, nil).Map(t)
	if page["total"].(float64) != 1 {
		t.Fatalf("want exactly one certificate for the idempotent enrollment, got %v", page["total"])
	}
}

func TestDownloadFormats(t *testing.T) {
	e := newEnv(t)
	_, csr := e.csr(t, "dl", "/CN=dl.example.com", "", ecKey...)
	m := e.Must(t, 201, "POST", "/api/v1/certificates", admin, map[string]any{"profile": "tls-server", "csr": csr}).Map(t)
	serial := str(m, "certificate", "serial")
	if sans := m["certificate"].(map[string]any)["sans"].([]any); len(sans) != 1 || sans[0] != "dl.example.com" {
		t.Fatalf("a CSR without SANs gets its CN as SAN, got %v", sans)
	}
	base := "/api/v1/certificates/" + serial + "/download?format="
	der := e.Must(t, 200, "GET", base+"der", admin, nil)
	out := testutil.Openssl(t, e.dir, "x509", "-inform", "DER", "-in", testutil.WriteFile(t, e.dir, "dl.der", der.Body), "-noout", "-subject")
	if !strings.Contains(out, "dl.example.com") {
		t.Fatalf("DER download: %s", out)
	}
	chain := e.Must(t, 200, "GET", base+"chain", admin, nil)
	if n := strings.Count(string(chain.Body), "BEGIN CERTIFICATE"); n != 3 {
		t.Fatalf("chain has %d certificates, want leaf+issuing+root", n)
	}
	p7 := e.Must(t, 200, "GET", base+"pkcs7", admin, nil)
	out = testutil.Openssl(t, e.dir, "pkcs7", "-inform", "DER", "-in", testutil.WriteFile(t, e.dir, "dl.p7b", p7.Body), "-print_certs", "-noout")
	if strings.Count(out, "subject=") != 3 {
		t.Fatalf("PKCS#7 should carry 3 certificates: %s", out)
	}
	pemBody := e.Must(t, 200, "GET", base+"pem", admin, nil)
	e.verify(t, "dl", string(pemBody.Body), string(chain.Body))
	r := e.Must(t, 400, "GET", base+"pkcs12", admin, nil)
	if r.Map(t)["code"] != "format_unavailable" {
		t.Fatalf("pkcs12 download should be refused: %s", r.Body)
	}
}

func TestHealthAndPublicEndpointsNeedNoKey(t *testing.T) {
	e := newEnv(t)
	e.Must(t, 200, "GET", "/healthz", "", nil)
	e.Must(t, 200, "GET", "/readyz", "", nil)
	chain := e.Must(t, 200, "GET", "/api/v1/cas/signet-issuing/chain", "", nil)
	if strings.Count(string(chain.Body), "BEGIN CERTIFICATE") != 2 {
		t.Fatalf("issuing chain: %s", chain.Body)
	}
	for _, p := range []string{"/api/v1/cas", "/api/v1/certificates", "/api/v1/profiles", "/api/v1/templates",
		"/api/v1/requests", "/api/v1/api-keys", "/api/v1/me", "/api/v1/certificates/summary"} {
		r := e.Must(t, http.StatusUnauthorized, "GET", p, "", nil)
		if r.Header.Get("Content-Type") != "application/problem+json" || r.Map(t)["code"] != "unauthenticated" {
			t.Fatalf("%s without key: %s", p, r.Body)
		}
	}
}

// TestDefaultClientProfileIssuesEveryKeyType: the tls-client profile a
// fresh install creates issues RSA, ECDSA and Ed25519 client certificates
// (its key usages pass zlint for each: RSA once failed on keyEncipherment
// with clientAuth), as SCEP and EST devices with RSA keys need.
func TestDefaultClientProfileIssuesEveryKeyType(t *testing.T) {
	e := newEnv(t)
	for _, kg := range []map[string]any{{"algorithm": "rsa", "bits": 2048}, {"algorithm": "ecdsa", "bits": 256}, {"algorithm": "ed25519"}} {
		t.Run(fmt.Sprint(kg["algorithm"]), func(t *testing.T) {
			m := e.Must(t, 201, "POST", "/api/v1/certificates", admin, map[string]any{
				"profile": "tls-client", "keygen": kg, "subject": map[string]any{"common_name": "device-" + fmt.Sprint(kg["algorithm"])}}).Map(t)
			name := "client-" + fmt.Sprint(kg["algorithm"])
			e.verify(t, name, str(m, "certificate", "certificate_pem"), m["chain_pem"].(string))
			out := testutil.Openssl(t, e.dir, "x509", "-in", filepath.Join(e.dir, name+".crt"), "-noout", "-ext", "keyUsage,extendedKeyUsage")
			if !strings.Contains(out, "Digital Signature") || strings.Contains(out, "Key Encipherment") || !strings.Contains(out, "TLS Web Client Authentication") {
				t.Fatalf("key usages of a tls-client certificate:\n%s", out)
			}
		})
	}
}
