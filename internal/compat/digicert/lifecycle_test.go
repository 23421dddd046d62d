package digicert_test

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

var upperHex = regexp.MustCompile(`^[0-9A-F]+$`)

func parsePEMCert(t *testing.T, s string) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode([]byte(s))
	if b == nil || b.Type != "CERTIFICATE" {
		t.Fatalf("not a PEM certificate: %q", s)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestProfilesAreSignetProfiles(t *testing.T) {
	e := newEnv(t)
	id := e.profileID("tls-server")
	e.restrictedProfile("est-only", []string{"est"}, "manual")
	for _, path := range []string{"/mpki/api/v1/profile", "/mpki/api/v2/profile", "/mpki/api/v2/profile?limit=20&offset=0"} {
		list := e.must(200, "GET", path, nil).arr(t)
		if len(list) < 3 {
			t.Fatalf("%s: %d profiles", path, len(list))
		}
		var found map[string]any
		for _, p := range list {
			if p.(map[string]any)["id"] == id {
				found = p.(map[string]any)
			}
		}
		if found == nil || found["enrollment_method"] != "rest_api" || found["name"] != "tls-server" || found["status"] != "Active" {
			t.Fatalf("%s: tls-server rendered as %v", path, found)
		}
	}
	if got := e.must(200, "GET", "/mpki/api/v2/profile?limit=1&offset=1", nil).arr(t); len(got) != 1 {
		t.Fatalf("limit=1: %d profiles", len(got))
	}
	// Paging past the end is an empty array, not an error.
	if got := e.must(200, "GET", "/mpki/api/v2/profile?offset=500", nil).arr(t); len(got) != 0 {
		t.Fatalf("offset past the end: %v", got)
	}
	p := e.must(200, "GET", "/mpki/api/v1/profile/"+id, nil).obj(t)
	est := e.must(200, "GET", "/mpki/api/v1/profile/est-only", nil).obj(t)
	if est["enrollment_method"] != "est" || est["authentication_method"] != "manual_approval" {
		t.Errorf("est-only profile: %v %v", est["enrollment_method"], est["authentication_method"])
	}
	types := map[string]string{"id": "string", "name": "string", "status": "string", "signature_algorithm": "string",
		"publish_to_public_directory": "bool", "renewal_period_days": "number", "duplicate_cert_policy": "bool",
		"override_cert_validity_via_api": "bool", "certificate_delivery_format": "string", "account_id": "string",
		"business_unit_id": "string", "enrollment_method": "string", "authentication_method": "string",
		"days_till_enrollment_expires": "number", "automated_renewal": "bool", "renewal_window_days": "number",
		"custom_extended_key_usages": "array", "private_key_attributes": "object", "key_escrow_policy": "object",
		"api_token_binding_enabled": "bool", "api_token_ids": "array", "enable_dual_admin_approval": "bool",
		"certificate": "object", "enable_ldap_search": "bool", "useCustomContact": "bool", "cert_delivery_format": "string",
		"template": "object", "connector_id": "string", "fields": "object", "business_unit": "object", "account": "object"}
	for field, want := range types {
		if got := kind(p[field]); got != want {
			t.Errorf("profile field %s: %s, want %s (%v)", field, got, want, p[field])
		}
	}
	cert := p["certificate"].(map[string]any)
	if v := cert["validity"].(map[string]any); v["unit"] != "days" || v["duration"].(float64) != 397 {
		t.Errorf("validity: %v", v)
	}
	attrs := cert["subject"].(map[string]any)["attributes"].([]any)
	if len(attrs) == 0 || attrs[0].(map[string]any)["type"] != "common_name" {
		t.Errorf("subject attributes: %v", attrs)
	}
	iss := cert["issuer"].(map[string]any)
	if iss["root"] != false || !strings.Contains(iss["subject_dn"].(string), "Signet Issuing CA") {
		t.Errorf("issuer: %v", iss)
	}
	chain := iss["chain"].([]any)
	if len(chain) != 1 || chain[0].(map[string]any)["root"] != true {
		t.Fatalf("issuer chain: %v", chain)
	}
	root := parsePEMCert(t, chain[0].(map[string]any)["certificate"].(string))
	if root.Subject.CommonName != "Signet Root CA" || root.SerialNumber.String() != chain[0].(map[string]any)["serial_number"] {
		t.Errorf("root in chain: %s %v", root.Subject, chain[0].(map[string]any)["serial_number"])
	}
	if p["signature_algorithm"] != "SHA256_WITH_ECDSA" {
		t.Errorf("signature_algorithm %v (issuing CA is ECDSA P-256)", p["signature_algorithm"])
	}
}

func kind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case bool:
		return "bool"
	case float64:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	case nil:
		return "null"
	}
	return "?"
}

// TestCertificateLifecycle issues RSA, ECDSA and Ed25519 CSRs, reads the
// status document and the additional formats, searches, renews, suspends,
// resumes and revokes, checking each step in Signet's own inventory too.
func TestCertificateLifecycle(t *testing.T) {
	e := newEnv(t)
	prof := e.profileID("tls-server")
	keys := map[string]crypto.Signer{"RSA": rsaKey(t), "ECDSA": ecKey(t), "ED25519": edKey(t)}
	serials := map[string]string{}
	for alg, key := range keys {
		cn := strings.ToLower(alg) + ".example.com"
		res := e.issue(prof, "owner@example.com", csr(t, key, cn))
		if res["delivery_format"] != "x509" || !upperHex.MatchString(res["serial_number"].(string)) {
			t.Fatalf("%s: issue response %v", alg, res)
		}
		c := parsePEMCert(t, res["certificate"].(string))
		if c.Subject.CommonName != cn || strings.ToUpper(c.SerialNumber.Text(16)) != strings.TrimLeft(res["serial_number"].(string), "0") {
			t.Fatalf("%s: certificate %s serial %s vs %v", alg, c.Subject, c.SerialNumber.Text(16), res["serial_number"])
		}
		serials[alg] = res["serial_number"].(string)
		st := e.must(200, "GET", "/mpki/api/v1/certificate/"+serials[alg], nil).obj(t)
		if st["status"] != "issued" || st["signature_algorithm"] != alg || st["common_name"] != cn ||
			st["thumbprint"] != sha256Hex(c.Raw) || st["seat"].(map[string]any)["seat_id"] != "owner@example.com" ||
			st["profile"].(map[string]any)["id"] != prof || st["issuing_ca_name"] != "Signet Issuing CA" {
			t.Errorf("%s: status document %v", alg, st)
		}
		// Serials are accepted in any case, with or without colons.
		e.must(200, "GET", "/mpki/api/v1/certificate/"+strings.ToLower(serials[alg]), nil)
	}
	if st := e.must(200, "GET", "/mpki/api/v1/certificate/"+serials["RSA"], nil).obj(t); st["key_size"].(float64) != 2048 {
		t.Errorf("RSA key_size %v", st["key_size"])
	}
	// Additional formats: PKCS#7 and the chain leaf to root.
	f := e.must(200, "GET", "/mpki/api/v1/certificate/"+serials["ECDSA"]+"/additional-formats", nil).obj(t)
	if !strings.HasPrefix(f["pkcs7"].(string), "-----BEGIN PKCS7-----") {
		t.Errorf("pkcs7: %.40q", f["pkcs7"])
	}
	chain := f["x509_cert_chain"].([]any)
	wantCN := []string{"ecdsa.example.com", "Signet Issuing CA", "Signet Root CA"}
	if len(chain) != 3 {
		t.Fatalf("chain: %v", chain)
	}
	for i, c := range chain {
		m := c.(map[string]any)
		if m["common_name"] != wantCN[i] || parsePEMCert(t, m["cert_blob"].(string)).Subject.CommonName != wantCN[i] {
			t.Errorf("chain[%d]: %v", i, m["common_name"])
		}
	}
	// The seat was created implicitly and owns the certificates as the caller.
	seat := e.must(200, "GET", "/mpki/api/v1/seat/owner@example.com?seat_type_id=USER_SEAT", nil).obj(t)
	if seat["seat_id"] != "owner@example.com" || seat["email"] != "owner@example.com" {
		t.Errorf("seat: %v", seat)
	}
	// Search by seat, by serial, by status, with paging.
	s := e.must(200, "GET", "/mpki/api/v1/certificate-search?seat_id=owner@example.com&limit=2", nil).obj(t)
	if s["total"].(float64) != 3 || len(s["items"].([]any)) != 2 || s["limit"].(float64) != 2 || s["offset"].(float64) != 0 {
		t.Errorf("search by seat: total %v items %d", s["total"], len(s["items"].([]any)))
	}
	s = e.must(200, "GET", "/mpki/api/v1/certificate-search?seat_id=owner@example.com&limit=2&offset=2", nil).obj(t)
	if len(s["items"].([]any)) != 1 {
		t.Errorf("second page: %d items", len(s["items"].([]any)))
	}
	s = e.must(200, "GET", "/mpki/api/v1/certificate-search?serial_number="+serials["RSA"], nil).obj(t)
	if items := s["items"].([]any); len(items) != 1 || items[0].(map[string]any)["serial_number"] != serials["RSA"] {
		t.Errorf("search by serial: %v", s)
	}
	// Renew with a new CSR: a new serial, linked in Signet's inventory.
	rn := e.must(200, "POST", "/mpki/api/v1/certificate/"+serials["ECDSA"]+"/renew",
		map[string]any{"csr": csr(t, ecKey(t), "ecdsa.example.com"), "validity": map[string]any{"unit": "days", "duration": 30}}).obj(t)
	if rn["serial_number"] == serials["ECDSA"] || rn["delivery_format"] != "x509" {
		t.Fatalf("renew: %v", rn)
	}
	renewed := parsePEMCert(t, rn["certificate"].(string))
	if d := renewed.NotAfter.Sub(renewed.NotBefore).Hours() / 24; d < 29 || d > 31 {
		t.Errorf("renewed validity %.1f days, want 30", d)
	}
	nat := e.native(200, "GET", "/api/v1/certificates/"+strings.ToLower(serials["ECDSA"]), nil)
	if !strings.EqualFold(strings.TrimLeft(rn["serial_number"].(string), "0"), nat["renewed_by"].(string)) {
		t.Errorf("native renewed_by %v, want %v", nat["renewed_by"], rn["serial_number"])
	}
	if st := e.must(200, "GET", "/mpki/api/v1/certificate/"+rn["serial_number"].(string), nil).obj(t); st["seat"].(map[string]any)["seat_id"] != "owner@example.com" {
		t.Errorf("renewed certificate lost its seat: %v", st["seat"])
	}
	// certificate_hold suspends, DELETE resumes (204), any other reason revokes.
	rsa := serials["RSA"]
	if r := e.do("PUT", "/mpki/api/v1/certificate/"+rsa+"/revoke", e.key, map[string]any{"revocation_reason": "certificate_hold"}); r.status != 204 || len(r.body) != 0 {
		t.Fatalf("suspend: %d %s", r.status, r.body)
	}
	if st := e.must(200, "GET", "/mpki/api/v1/certificate/"+rsa, nil).obj(t); st["status"] != "suspended" {
		t.Errorf("after hold: %v", st["status"])
	}
	if r := e.do("DELETE", "/mpki/api/v1/certificate/"+rsa+"/revoke", e.key, nil); r.status != 204 {
		t.Fatalf("resume: %d %s", r.status, r.body)
	}
	if st := e.must(200, "GET", "/mpki/api/v1/certificate/"+rsa, nil).obj(t); st["status"] != "issued" {
		t.Errorf("after resume: %v", st["status"])
	}
	if r := e.do("PUT", "/mpki/api/v1/certificate/"+rsa+"/revoke?thumbprint_sha256="+sha256Hex(parsePEMCert(t,
		e.must(200, "GET", "/mpki/api/v1/certificate/"+rsa, nil).obj(t)["certificate"].(string)).Raw), e.key,
		map[string]any{"revocation_reason": "key_compromise"}); r.status != 204 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	st := e.must(200, "GET", "/mpki/api/v1/certificate/"+rsa, nil).obj(t)
	rev, _ := st["revocation"].(map[string]any)
	if st["status"] != "revoked" || rev == nil || rev["reason"] != "key_compromise" {
		t.Errorf("after revoke: %v %v", st["status"], rev)
	}
	if nat := e.native(200, "GET", "/api/v1/certificates/"+strings.ToLower(rsa), nil); nat["status"] != "revoked" {
		t.Errorf("native status %v", nat["status"])
	}
	// The revocation is in the issuing CA's CRL (ica.id names the CA).
	crlResp := e.srv.Must(t, 200, "GET", "/crl/"+st["ica"].(map[string]any)["id"].(string)+".crl", "", nil)
	crl, err := x509.ParseRevocationList(crlResp.Body)
	if err != nil {
		t.Fatal(err)
	}
	inCRL := false
	for _, rc := range crl.RevokedCertificateEntries {
		inCRL = inCRL || strings.EqualFold(rc.SerialNumber.Text(16), strings.TrimLeft(rsa, "0"))
	}
	if !inCRL {
		t.Errorf("serial %s not in the CA's CRL", rsa)
	}
	s = e.must(200, "GET", "/mpki/api/v1/certificate-search?status=REVOKED", nil).obj(t)
	if s["total"].(float64) != 1 {
		t.Errorf("search revoked: %v", s["total"])
	}
	wantError(t, "revoke twice", e.do("PUT", "/mpki/api/v1/certificate/"+rsa+"/revoke", e.key,
		map[string]any{"revocation_reason": "superseded"}), http.StatusConflict, "certificate_already_revoked", "")
	// The issuance is Signet's: in the native audit log with the API method.
	if nat := e.native(200, "GET", "/api/v1/certificates/"+strings.ToLower(serials["ED25519"]), nil); nat["enrollment_method"] != "api" {
		t.Errorf("native method %v", nat["enrollment_method"])
	}
}

// TestApprovalRequiredProfile follows the request_id branch: issue answers
// a request id, pickup reports pending until a manager approves natively.
func TestApprovalRequiredProfile(t *testing.T) {
	e := newEnv(t)
	e.restrictedProfile("manual-tls", []string{"api"}, "manual")
	res := e.issue("manual-tls", "device-7", csr(t, ecKey(t), "manual.example.com"))
	reqID, _ := res["request_id"].(string)
	if reqID == "" || res["certificate"] != nil {
		t.Fatalf("approval-required issue: %v", res)
	}
	p := e.must(200, "POST", "/mpki/api/v1/certificate-pickup/"+reqID, nil).obj(t)
	if p["status"] != "pending" || p["certificate"] != nil {
		t.Fatalf("pickup before approval: %v", p)
	}
	if st := e.must(200, "GET", "/mpki/api/v1/certificate/"+reqID, nil).obj(t); st["status"] != "pending" || st["common_name"] != "manual.example.com" {
		t.Errorf("status of a pending request: %v", st)
	}
	// Signet refuses self-approval: a second manager decides.
	approver := e.principalKey("approver", "manager")
	e.srv.Must(t, 200, "POST", "/api/v1/requests/"+reqID+"/approve", approver, map[string]any{})
	p = e.must(200, "GET", "/mpki/api/v1/certificate-pickup/"+reqID, nil).obj(t)
	if p["status"] != "issued" || parsePEMCert(t, p["certificate"].(string)).Subject.CommonName != "manual.example.com" {
		t.Fatalf("pickup after approval: %v", p)
	}
	st := e.must(200, "GET", "/mpki/api/v1/certificate/"+p["serial_number"].(string), nil).obj(t)
	if st["status"] != "issued" || st["seat"].(map[string]any)["seat_id"] != "device-7" {
		t.Errorf("picked-up certificate: %v", st)
	}
	// A rejected request is a conflict at pickup.
	res = e.issue("manual-tls", "device-8", csr(t, ecKey(t), "rejected.example.com"))
	e.srv.Must(t, 200, "POST", "/api/v1/requests/"+res["request_id"].(string)+"/reject", approver, map[string]any{"reason": "no"})
	wantError(t, "pickup rejected", e.do("GET", "/mpki/api/v1/certificate-pickup/"+res["request_id"].(string), e.key, nil),
		http.StatusConflict, "request_rejected", "")
}

// principalKey creates a service account with the given role and returns
// an API key for it.
func (e *env) principalKey(name string, roles ...string) string {
	e.t.Helper()
	p := e.native(201, "POST", "/api/v1/service-accounts", map[string]any{"name": name, "roles": roles})
	k := e.native(201, "POST", "/api/v1/api-keys", map[string]any{"name": name + "-key", "principal_id": p["id"]})
	return k["key"].(string)
}

func TestServiceStatusAndIdempotency(t *testing.T) {
	e := newEnv(t)
	hello := e.do("GET", "/mpki/api/v1/hello", "", nil)
	if hello.status != 200 || string(hello.body) != "Hello from DigiCert ONE - Enterprise PKI Manager REST API!" ||
		!strings.HasPrefix(hello.header.Get("Content-Type"), "text/plain") {
		t.Errorf("hello: %d %q %q", hello.status, hello.body, hello.header.Get("Content-Type"))
	}
	wantError(t, "health without a key", e.do("GET", "/mpki/api/v1/health/extensive", "", nil), http.StatusUnauthorized, "unauthorized", "")
	if h := e.do("GET", "/mpki/api/v1/health/extensive", e.key, nil); h.status != 200 || string(h.body) != "UP" {
		t.Errorf("health: %d %q", h.status, h.body)
	}
	// An Idempotency-Key retry answers the same certificate, as on the native API.
	body := map[string]any{"profile": map[string]any{"id": "tls-server"}, "seat": map[string]any{"seat_id": "idem"},
		"csr": csr(t, ecKey(t), "idem.example.com")}
	first := e.do("POST", "/mpki/api/v1/certificate", e.key, body, "Idempotency-Key", "order-42")
	again := e.do("POST", "/mpki/api/v1/certificate", e.key, body, "Idempotency-Key", "order-42")
	if first.status != 201 || again.status != 201 || first.obj(t)["serial_number"] != again.obj(t)["serial_number"] {
		t.Errorf("idempotent retry: %d %s / %d %s", first.status, first.body, again.status, again.body)
	}
}
