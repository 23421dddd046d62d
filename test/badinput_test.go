package test

import (
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/testutil"
)

// TestBadInputGetsProblemDocuments feeds each kind of bad input and asserts
// the status and stable code of the problem document that comes back.
func TestBadInputGetsProblemDocuments(t *testing.T) {
	e := newEnv(t)
	csrWith := func(name string, keyArgs ...string) string {
		_, c := e.csr(t, name, "/CN="+name+".example.com", "DNS:"+name+".example.com", keyArgs...)
		return c
	}
	good := csrWith("good", ecKey...)
	// A CSR whose signature no longer matches: flip one bit of the signature value.
	blk, _ := pem.Decode([]byte(good))
	der := append([]byte{}, blk.Bytes...)
	der[len(der)-8] ^= 0x01
	tampered := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))

	serial, _ := e.issue(t, admin, "victim")
	e.Must(t, 200, "POST", "/api/v1/certificates/"+serial+"/revoke", admin, nil)

	enroll := func(csr string) map[string]any { return map[string]any{"profile": "tls-server", "csr": csr} }
	cases := []struct {
		name   string
		method string
		path   string
		body   any
		status int
		code   string
	}{
		{"malformed json", "POST", "/api/v1/certificates", `{"profile": "tls-server", "csr": `, 400, "json_invalid"},
		{"not json", "POST", "/api/v1/certificates", `hello`, 400, "json_invalid"},
		{"empty body", "POST", "/api/v1/certificates", ``, 400, "json_invalid"},
		{"wrong type", "POST", "/api/v1/certificates", `{"profile": 7}`, 400, "json_invalid"},
		{"unknown field", "POST", "/api/v1/certificates", `{"profile": "tls-server", "cssr": "x"}`, 400, "json_invalid"},
		{"two objects", "POST", "/api/v1/certificates", `{"profile":"a"}{"profile":"b"}`, 400, "json_invalid"},
		{"oversized body", "POST", "/api/v1/certificates", `{"csr":"` + strings.Repeat("A", 2<<20) + `"}`, 413, "body_too_large"},
		{"no profile", "POST", "/api/v1/certificates", map[string]any{"csr": good}, 400, "profile_required"},
		{"unknown profile", "POST", "/api/v1/certificates", map[string]any{"profile": "nope", "csr": good}, 404, "profile_not_found"},
		{"pkcs12 without keygen", "POST", "/api/v1/certificates", map[string]any{"profile": "tls-server", "csr": good, "pkcs12_password": "pw-123456"}, 400, "pkcs12_requires_keygen"},
		{"csr and keygen", "POST", "/api/v1/certificates", map[string]any{"profile": "tls-server", "csr": good, "keygen": map[string]any{"algorithm": "ecdsa"}}, 400, "csr_or_keygen"},
		{"garbage csr", "POST", "/api/v1/certificates", enroll("-----BEGIN CERTIFICATE REQUEST-----\nZm9v\n-----END CERTIFICATE REQUEST-----\n"), 400, "csr_malformed"},
		{"not pem", "POST", "/api/v1/certificates", enroll("hello world"), 400, "csr_malformed"},
		{"bad csr signature", "POST", "/api/v1/certificates", enroll(tampered), 400, "csr_signature_invalid"},
		{"rsa 1024", "POST", "/api/v1/certificates", enroll(csrWith("rsa1024", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024")), 400, "key_too_small"},
		{"rsa exponent 3", "POST", "/api/v1/certificates", enroll(csrWith("rsae3", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-pkeyopt", "rsa_keygen_pubexp:3")), 400, "key_bad_exponent"},
		{"curve p-224", "POST", "/api/v1/certificates", enroll(csrWith("p224", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-224")), 400, "key_unsupported_curve"},
		{"curve p-521", "POST", "/api/v1/certificates", enroll(csrWith("p521", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521")), 400, "key_unsupported_curve"},
		{"keygen bad size", "POST", "/api/v1/certificates", map[string]any{"profile": "tls-server", "keygen": map[string]any{"algorithm": "rsa", "bits": 1024}, "sans": []string{"a.example.com"}}, 400, "keygen_unsupported"},
		{"forbidden name", "POST", "/api/v1/certificates", map[string]any{"profile": "tls-server", "keygen": map[string]any{"algorithm": "ecdsa", "bits": 256}, "sans": []string{"bad..name"}}, 400, "policy_violation"},
		{"validity too long", "POST", "/api/v1/certificates", map[string]any{"profile": "tls-server", "csr": good, "validity_days": 4000}, 400, "policy_violation"},
		{"unknown serial", "GET", "/api/v1/certificates/abcdef0123", nil, 404, "certificate_not_found"},
		{"invalid serial", "GET", "/api/v1/certificates/not-hex!", nil, 400, "serial_invalid"},
		{"renew revoked", "POST", "/api/v1/certificates/" + serial + "/renew", map[string]any{"csr": good}, 409, "certificate_not_active"},
		{"revoke twice", "POST", "/api/v1/certificates/" + serial + "/revoke", nil, 409, "certificate_already_revoked"},
		{"suspend revoked", "POST", "/api/v1/certificates/" + serial + "/suspend", nil, 409, "certificate_not_active"},
		{"unknown request", "POST", "/api/v1/requests/req_nope/approve", nil, 404, "request_not_found"},
		{"unknown CA", "GET", "/api/v1/cas/nope", nil, 404, "ca_not_found"},
		{"unknown CA chain", "GET", "/api/v1/cas/nope/chain", nil, 404, "ca_not_found"},
		{"unknown template", "GET", "/api/v1/templates/nope", nil, 404, "template_not_found"},
		{"unknown route", "GET", "/api/v1/nothing", nil, 404, "route_not_found"},
		{"ca weak key", "POST", "/api/v1/cas", map[string]any{"name": "w", "kind": "root", "key": map[string]any{"algorithm": "rsa", "bits": 1024}, "subject": map[string]any{"common_name": "w"}, "validity_days": 10}, 400, "keygen_unsupported"},
		{"ca missing fields", "POST", "/api/v1/cas", map[string]any{"kind": "tree"}, 400, "ca_invalid"},
		{"bad download format", "GET", "/api/v1/certificates/" + serial + "/download?format=gif", nil, 400, "format_invalid"},
		{"bad limit", "GET", "/api/v1/cas?limit=5000", nil, 400, "limit_invalid"},
		{"import garbage", "POST", "/api/v1/certificates/import", map[string]any{"pem": "nothing here"}, 400, "pem_empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.Do(t, c.method, c.path, admin, c.body)
			if r.Status != c.status {
				t.Fatalf("status %d, want %d: %.300s", r.Status, c.status, r.Body)
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("content type %q", ct)
			}
			m := r.Map(t)
			if m["code"] != c.code || m["detail"] == "" || m["status"].(float64) != float64(c.status) {
				t.Fatalf("problem %v, want code %s", m, c.code)
			}
		})
	}
	if strings.Contains(e.LogText(), "panic") {
		t.Fatalf("a panic was logged:\n%s", e.LogText())
	}
}

// TestKeygenPKCS12Base64 checks the password-protected PKCS#12 delivered with a server-generated key.
func TestKeygenPKCS12Base64(t *testing.T) {
	e := newEnv(t)
	m := e.Must(t, 201, "POST", "/api/v1/certificates", admin, map[string]any{"profile": "tls-client",
		"keygen": map[string]any{"algorithm": "ecdsa", "bits": 256}, "subject": map[string]any{"common_name": "svc-a"},
		"sans": []string{"svc-a@example.com"}, "pkcs12_password": "pw-123456"}).Map(t)
	p12, err := base64.StdEncoding.DecodeString(m["pkcs12"].(string))
	if err != nil || len(p12) == 0 {
		t.Fatalf("pkcs12: %v", err)
	}
	f := testutil.WriteFile(t, e.dir, "c.p12", p12)
	out := testutil.Openssl(t, e.dir, "pkcs12", "-in", f, "-passin", "pass:pw-123456", "-nodes")
	if !strings.Contains(out, "PRIVATE KEY") || !strings.Contains(out, "svc-a") {
		t.Fatalf("pkcs12 contents: %s", out)
	}
	if _, err := testutil.OpensslErr(e.dir, "pkcs12", "-in", f, "-passin", "pass:wrong", "-nodes"); err == nil {
		t.Fatal("PKCS#12 opened with the wrong password")
	}
}
