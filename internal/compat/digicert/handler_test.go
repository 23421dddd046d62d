package digicert_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/testutil"
)

// env is a real Signet server (SQLite, real CAs) with the DigiCert API at
// its /compat/digicert prefix.
type env struct {
	t    *testing.T
	srv  *testutil.Server
	base string
	key  string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := testutil.StartServer(t)
	return &env{t: t, srv: srv, base: srv.URL + "/compat/digicert", key: testutil.AdminKey}
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r *reply) obj(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("status %d: body is not a JSON object: %q", r.status, r.body)
	}
	return m
}

func (r *reply) arr(t *testing.T) []any {
	t.Helper()
	var a []any
	if err := json.Unmarshal(r.body, &a); err != nil {
		t.Fatalf("status %d: body is not a JSON array: %q", r.status, r.body)
	}
	return a
}

// do sends a request with x-api-key (key "" sends none) and extra headers.
func (e *env) do(method, path, key string, body any, headers ...string) *reply {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, e.base+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("x-api-key", key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := e.srv.Client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return &reply{status: resp.StatusCode, header: resp.Header, body: b}
}

func (e *env) must(want int, method, path string, body any) *reply {
	e.t.Helper()
	r := e.do(method, path, e.key, body)
	if r.status != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.body)
	}
	return r
}

// native calls Signet's own API as the admin.
func (e *env) native(want int, method, path string, body any) map[string]any {
	e.t.Helper()
	return e.srv.Must(e.t, want, method, path, testutil.AdminKey, body).Map(e.t)
}

// csr builds a PEM CSR for cn with the given key.
func csr(t testing.TB, key crypto.Signer, cn string, dns ...string) string {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: cn, Organization: []string{"DigiCert Inc"}, Country: []string{"US"}}, DNSNames: dns}, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

func ecKey(t testing.TB) crypto.Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func rsaKey(t *testing.T) crypto.Signer {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func edKey(t *testing.T) crypto.Signer {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// wantError checks the vendor's error document: {"error": {"code", "message"[, "field"]}}.
func wantError(t *testing.T, what string, r *reply, status int, code, field string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d: %s", what, r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: content type %q", what, ct)
	}
	var doc struct {
		Error *struct {
			Code    *string `json:"code"`
			Message *string `json:"message"`
			Field   *string `json:"field"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil || doc.Error == nil || doc.Error.Code == nil || doc.Error.Message == nil {
		t.Fatalf("%s: not a DigiCert error document: %s", what, r.body)
	}
	if *doc.Error.Code != code {
		t.Errorf("%s: code %q, want %q (%s)", what, *doc.Error.Code, code, *doc.Error.Message)
	}
	if *doc.Error.Message == "" {
		t.Errorf("%s: empty message", what)
	}
	got := ""
	if doc.Error.Field != nil {
		got = *doc.Error.Field
	}
	if got != field {
		t.Errorf("%s: field %q, want %q", what, got, field)
	}
}

// issue submits a CSR to a profile for a seat and returns the response.
func (e *env) issue(profile, seat, csrPEM string) map[string]any {
	e.t.Helper()
	return e.must(http.StatusCreated, "POST", "/mpki/api/v1/certificate",
		map[string]any{"profile": map[string]any{"id": profile}, "seat": map[string]any{"seat_id": seat}, "csr": csrPEM}).obj(e.t)
}

func (e *env) profileID(name string) string {
	e.t.Helper()
	return e.native(200, "GET", "/api/v1/profiles/"+name, nil)["id"].(string)
}

// restrictedProfile creates a profile on the default template whose
// enrollment methods exclude the API.
func (e *env) restrictedProfile(name string, methods []string, approval string) string {
	e.t.Helper()
	p := e.native(201, "POST", "/api/v1/profiles", map[string]any{"name": name, "template": "tls-server", "ca": "signet-issuing",
		"approval": approval, "enrollment_methods": methods})
	return p["id"].(string)
}

func TestErrorsInTheVendorFormat(t *testing.T) {
	e := newEnv(t)
	prof := e.profileID("tls-server")
	acmeOnly := e.restrictedProfile("acme-only", []string{"acme"}, "auto")
	good := csr(t, ecKey(t), "errors.example.com")
	issued := e.issue(prof, "errors@example.com", good)
	serial := issued["serial_number"].(string)
	body := func(profile, csrPEM string) map[string]any {
		return map[string]any{"profile": map[string]any{"id": profile}, "seat": map[string]any{"seat_id": "s@example.com"}, "csr": csrPEM}
	}
	cases := []struct {
		name, method, path, key string
		body                    any
		headers                 []string
		status                  int
		code, field             string
	}{
		{"missing key", "GET", "/mpki/api/v1/profile", "", nil, nil, 401, "unauthorized", ""},
		{"invalid key", "GET", "/mpki/api/v1/profile", "sgt_nope.nope", nil, nil, 401, "unauthorized", ""},
		{"malformed key", "POST", "/mpki/api/v1/certificate", "not-a-key", body(prof, good), nil, 401, "unauthorized", ""},
		{"missing key on search", "GET", "/mpki/api/v1/certificate-search", "", nil, nil, 401, "unauthorized", ""},
		{"unknown profile", "GET", "/mpki/api/v1/profile/prof_doesnotexist", e.key, nil, nil, 404, "profile_not_found", ""},
		{"issue to unknown profile", "POST", "/mpki/api/v1/certificate", e.key, body("no-such-profile", good), nil, 404, "profile_not_found", ""},
		{"unknown serial", "GET", "/mpki/api/v1/certificate/0A0B0C0D", e.key, nil, nil, 404, "certificate_not_found", ""},
		{"unknown serial formats", "GET", "/mpki/api/v1/certificate/0A0B0C0D/additional-formats", e.key, nil, nil, 404, "certificate_not_found", ""},
		{"revoke unknown serial", "PUT", "/mpki/api/v1/certificate/0A0B0C0D/revoke", e.key, map[string]any{"revocation_reason": "superseded"}, nil, 404, "certificate_not_found", ""},
		{"invalid serial", "GET", "/mpki/api/v1/certificate/not-hex!", e.key, nil, nil, 400, "serial_invalid", ""},
		{"unknown request", "GET", "/mpki/api/v1/certificate-pickup/req_nope", e.key, nil, nil, 404, "request_not_found", ""},
		{"malformed CSR", "POST", "/mpki/api/v1/certificate", e.key, body(prof, "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"), nil, 400, "csr_malformed", "csr"},
		{"CSR not base64", "POST", "/mpki/api/v1/certificate", e.key, body(prof, "%%% not a csr %%%"), nil, 400, "csr_malformed", "csr"},
		{"missing CSR", "POST", "/mpki/api/v1/certificate", e.key, body(prof, ""), nil, 400, "invalid_input", "csr"},
		{"missing profile", "POST", "/mpki/api/v1/certificate", e.key, body("", good), nil, 400, "invalid_input", "profile.id"},
		{"missing seat", "POST", "/mpki/api/v1/certificate", e.key, map[string]any{"profile": map[string]any{"id": prof}, "csr": good}, nil, 400, "invalid_input", "seat.seat_id"},
		{"profile excludes the API", "POST", "/mpki/api/v1/certificate", e.key, body(acmeOnly, good), nil, 403, "enrollment_method_not_allowed", ""},
		{"wrong field type", "POST", "/mpki/api/v1/certificate", e.key, `{"profile": {"id": 5}}`, nil, 400, "invalid_input", "profile.id"},
		{"not JSON", "POST", "/mpki/api/v1/certificate", e.key, `{"profile":`, nil, 400, "invalid_input", ""},
		{"empty body", "POST", "/mpki/api/v1/certificate", e.key, "", []string{"Content-Type", "application/json"}, 400, "invalid_input", ""},
		{"validity in hours", "POST", "/mpki/api/v1/certificate", e.key, map[string]any{"profile": map[string]any{"id": prof},
			"seat": map[string]any{"seat_id": "s"}, "csr": good, "validity": map[string]any{"unit": "hours", "duration": 5}}, nil, 400, "invalid_input", "validity.duration"},
		{"validity beyond template", "POST", "/mpki/api/v1/certificate", e.key, map[string]any{"profile": map[string]any{"id": prof},
			"seat": map[string]any{"seat_id": "s"}, "csr": good, "validity": map[string]any{"unit": "years", "duration": 5}}, nil, 400, "policy_violation", "validity"},
		{"CN not in CSR", "POST", "/mpki/api/v1/certificate", e.key, map[string]any{"profile": map[string]any{"id": prof},
			"seat": map[string]any{"seat_id": "s"}, "csr": good, "attributes": map[string]any{"subject": map[string]any{"common_name": "other.example.com"}}}, nil, 400, "invalid_input", "attributes.subject.common_name"},
		{"bad revocation reason", "PUT", "/mpki/api/v1/certificate/" + serial + "/revoke", e.key, map[string]any{"revocation_reason": "bored"}, nil, 400, "invalid_input", "revocation_reason"},
		{"resume an active certificate", "DELETE", "/mpki/api/v1/certificate/" + serial + "/revoke", e.key, nil, nil, 409, "certificate_not_on_hold", ""},
		{"wrong thumbprint", "PUT", "/mpki/api/v1/certificate/" + serial + "/revoke?thumbprint_sha256=" + strings.Repeat("AB", 32), e.key, map[string]any{"revocation_reason": "superseded"}, nil, 404, "certificate_not_found", ""},
		{"JSON only", "GET", "/mpki/api/v1/profile", e.key, nil, []string{"Accept", "text/plain"}, 406, "not_acceptable", ""},
		{"bad limit", "GET", "/mpki/api/v2/profile?limit=0", e.key, nil, nil, 400, "invalid_input", "limit"},
		{"bad offset", "GET", "/mpki/api/v1/certificate-search?offset=-1", e.key, nil, nil, 400, "invalid_input", "offset"},
		{"bad status filter", "GET", "/mpki/api/v1/certificate-search?status=LOST", e.key, nil, nil, 400, "invalid_input", "status"},
		{"unknown seat", "GET", "/mpki/api/v1/seat/nobody?seat_type_id=USER_SEAT", e.key, nil, nil, 404, "seat_not_found", ""},
		{"bad seat type", "POST", "/mpki/api/v1/seat", e.key, map[string]any{"seat_id": "x", "seat_type": map[string]any{"id": "ROBOT"}}, nil, 400, "invalid_input", "seat_type.id"},
		{"unknown enrollment code", "POST", "/mpki/api/v1/enrollment/redeem", e.key, map[string]any{"enrollment_code": "WRONGCODE1234", "csr": good}, nil, 404, "enrollment_not_found", ""},
		{"unknown audit event", "GET", "/mpki/api/v1/audit-log/999999999", e.key, nil, nil, 404, "audit_event_not_found", ""},
		{"unknown route", "GET", "/mpki/api/v1/nothing-here", e.key, nil, nil, 404, "not_found", ""},
		{"wrong method", "GET", "/mpki/api/v1/certificate", e.key, nil, nil, 405, "method_not_allowed", ""},
		{"wrong method, no key", "PATCH", "/mpki/api/v1/seat/x", "", nil, nil, 405, "method_not_allowed", ""},
		{"import garbage", "POST", "/mpki/api/v1/certificate-import", e.key, `{"cert": "x"}`, nil, 400, "invalid_input", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(c.method, c.path, c.key, c.body, c.headers...)
			wantError(t, c.name, r, c.status, c.code, c.field)
		})
	}
	// A refused key is an audit event, as on the native API.
	ev := e.native(200, "GET", "/api/v1/audit-events?action=auth.failed&limit=1000", nil)
	if !strings.Contains(string(mustJSON(t, ev)), "/mpki/api/v1/profile") {
		t.Errorf("refused request not audited: %v", ev)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sha256Hex(der []byte) string {
	sum := sha256.Sum256(der)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// externalCert is a certificate from a CA Signet does not know, as
// base64 DER (the form the vendor's import example uses).
func externalCert(t *testing.T) string {
	t.Helper()
	key := ecKey(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(0x5eed), Subject: pkix.Name{CommonName: "legacy.example.com"},
		DNSNames: []string{"legacy.example.com"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

func serialLower(s string) string { return strings.ToLower(strings.TrimLeft(s, "0")) }
