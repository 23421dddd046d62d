package sectigo_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smallstep/pkcs7"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/signet-pki/signet/internal/app"
	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/policy"
	"github.com/signet-pki/signet/internal/profile"
	"github.com/signet-pki/signet/internal/store"
	"github.com/signet-pki/signet/internal/testutil"
)

const base = "/compat/sectigo"

type client struct {
	*testutil.Server
	login, password, customer string
}

func newClient(t *testing.T) *client {
	t.Helper()
	return &client{Server: testutil.StartServer(t), login: "admin", password: testutil.AdminKey, customer: "default"}
}

func (c *client) do(t testing.TB, method, path string, body any) *testutil.Response {
	t.Helper()
	return c.Do(t, method, base+path, "", body, "login", c.login, "password", c.password, "customerUri", c.customer)
}

// sectigoError checks a response is the document's error with code.
func sectigoError(t *testing.T, r *testutil.Response, status, code int) {
	t.Helper()
	var e struct {
		Code int     `json:"code"`
		Desc *string `json:"description"`
	}
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	r.JSON(t, &e)
	if e.Code != code || e.Desc == nil || *e.Desc == "" {
		t.Fatalf("error %s, want code %d", r.Body, code)
	}
}

func csrPEM(t testing.TB, key any, cn string, dns ...string) string {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}, DNSNames: dns}, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

func ecKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// defaultType returns the id and first term of the default profile.
func (c *client) defaultType(t testing.TB) (int64, int) {
	t.Helper()
	var types []struct {
		ID       int64               `json:"id"`
		Name     string              `json:"name"`
		Terms    []int               `json:"terms"`
		KeyTypes map[string][]string `json:"keyTypes"`
	}
	r := c.do(t, "GET", "/api/ssl/v1/types", nil)
	if r.Status != 200 {
		t.Fatalf("types: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &types)
	for _, ty := range types {
		if ty.Name == app.DefaultProfile {
			if len(ty.Terms) == 0 || len(ty.KeyTypes["RSA"]) == 0 {
				t.Fatalf("type without terms or key types: %s", r.Body)
			}
			return ty.ID, ty.Terms[len(ty.Terms)-1]
		}
	}
	t.Fatalf("no %s type in %s", app.DefaultProfile, r.Body)
	return 0, 0
}

func (c *client) orgID(t testing.TB) int64 {
	t.Helper()
	var orgs []struct {
		ID int64 `json:"id"`
	}
	c.do(t, "GET", "/api/organization/v1", nil).JSON(t, &orgs)
	if len(orgs) != 1 {
		t.Fatalf("organizations: %v", orgs)
	}
	return orgs[0].ID
}

func (c *client) enroll(t *testing.T, certType int64, term int, csr string) (int64, string) {
	t.Helper()
	r := c.do(t, "POST", "/api/ssl/v1/enroll", map[string]any{"orgId": c.orgID(t), "csr": csr, "certType": certType, "term": term, "comments": "test"})
	if r.Status != 200 {
		t.Fatalf("enroll: %d %s", r.Status, r.Body)
	}
	var out struct {
		SSLID   int64  `json:"sslId"`
		RenewID string `json:"renewId"`
	}
	r.JSON(t, &out)
	if out.SSLID <= 0 || len(out.RenewID) != 20 {
		t.Fatalf("enroll answer %s", r.Body)
	}
	return out.SSLID, out.RenewID
}

// sys is a context acting as the server itself, for test setup.
func sys() context.Context { return auth.WithPrincipal(context.Background(), auth.System()) }

// addProfile creates a profile open to this API with the given template changes.
func addProfile(t *testing.T, s *testutil.Server, name, approval string, change func(*policy.Template)) {
	t.Helper()
	spec := policy.DefaultTLSServer()
	if change != nil {
		change(&spec)
	}
	if _, err := s.App.Profiles.CreateTemplate(sys(), profile.TemplateInput{Name: name, Spec: spec}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.App.Profiles.CreateProfile(sys(), profile.ProfileInput{Name: name, Template: name, CA: app.IssuingCAName,
		Approval: approval, EnrollmentMethods: []string{"sectigo"}}); err != nil {
		t.Fatal(err)
	}
}

func (c *client) typeID(t *testing.T, name string) int64 {
	t.Helper()
	var types []struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	c.do(t, "GET", "/api/ssl/v1/types", nil).JSON(t, &types)
	for _, ty := range types {
		if ty.Name == name {
			return ty.ID
		}
	}
	t.Fatalf("no type %s", name)
	return 0
}

func TestErrorsInTheDocumentsFormat(t *testing.T) {
	c := newClient(t)
	addProfile(t, c.Server, "dcv-gated", "auto", func(p *policy.Template) { p.RequireValidatedDomains = true })
	certType, term := c.defaultType(t)
	gated := c.typeID(t, "dcv-gated")
	org := c.orgID(t)
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	good := csrPEM(t, ecKey(t), "ccmqa.com")
	enroll := func(certType int64, term int, csr string) map[string]any {
		return map[string]any{"orgId": org, "csr": csr, "certType": certType, "term": term}
	}
	for _, tc := range []struct {
		name                 string
		login, password, uri string
		method, path         string
		body                 any
		setup                func(t *testing.T)
		status, code         int
	}{
		{name: "bad password", login: "admin", password: "wrong-password", uri: "default", method: "GET", path: "/api/ssl/v1/types", status: 401, code: -16},
		{name: "unknown user", login: "nobody", password: "x", uri: "default", method: "GET", path: "/api/ssl/v1/types", status: 401, code: -16},
		{name: "API key of another login", login: "someone", password: testutil.AdminKey, uri: "default", method: "GET", path: "/api/ssl/v1/types", status: 401, code: -16},
		{name: "unknown customerUri", uri: "cst999", method: "GET", path: "/api/ssl/v1/types", status: 401, code: -410},
		{name: "missing customerUri", uri: "-", method: "GET", path: "/api/ssl/v1/types", status: 400, code: -7},
		{name: "CSR not base64", method: "POST", path: "/api/ssl/v1/enroll", body: enroll(certType, term, "not a CSR at all!"), status: 400, code: -9},
		{name: "CSR undecodable", method: "POST", path: "/api/ssl/v1/enroll", body: enroll(certType, term, base64.StdEncoding.EncodeToString([]byte("garbage"))), status: 400, code: -10},
		{name: "unsupported key size", method: "POST", path: "/api/ssl/v1/enroll", body: enroll(certType, term, csrPEM(t, rsa1024, "ccmqa.com")), status: 400, code: -13},
		{name: "unknown certificate profile", method: "POST", path: "/api/ssl/v1/enroll", body: enroll(999999, term, good), status: 400, code: -111},
		{name: "term not offered", method: "POST", path: "/api/ssl/v1/enroll", body: enroll(certType, 4000, good), status: 400, code: -36},
		{name: "missing orgId", method: "POST", path: "/api/ssl/v1/enroll", body: map[string]any{"csr": good, "certType": certType, "term": term}, status: 400, code: -7},
		{name: "domain not validated", method: "POST", path: "/api/ssl/v1/enroll", body: enroll(gated, term, good), status: 400, code: -737},
		{name: "wrong sslId", method: "GET", path: "/api/ssl/v1/424242", status: 404, code: -124},
		{name: "unknown collect format", method: "GET", path: "/api/ssl/v1/collect/1?format=nope", status: 400, code: -126},
		{name: "approve without message", method: "POST", path: "/api/ssl/v1/approve/1", body: map[string]any{}, status: 400, code: -7},
		{name: "unknown domain", method: "POST", path: "/api/dcv/v2/validation/status", body: map[string]any{"domain": "nowhere.test"}, status: 404, code: -727},
		{name: "invalid domain name", method: "POST", path: "/api/domain/v1", body: map[string]any{"name": "bad..name", "delegations": []any{map[string]any{"orgId": org}}}, status: 400, code: -732},
		{name: "domain without delegation", method: "POST", path: "/api/domain/v1", body: map[string]any{"name": "x.test"}, status: 400, code: -709},
		{name: "unknown domain id", method: "GET", path: "/api/domain/v1/12345", status: 404, code: -727},
		{name: "unknown orgId", method: "POST", path: "/api/ssl/v1/enroll", body: map[string]any{"orgId": 77777, "csr": good, "certType": certType, "term": term}, status: 400, code: -639},
		{name: "bad dateFormat", method: "GET", path: "/api/ssl/v1/types?dateFormat=qqq", status: 400, code: -1601},
		{name: "malformed JSON", method: "POST", path: "/api/ssl/v1/enroll", body: "{", status: 400, code: -1},
		{name: "missing mandatory custom field", method: "POST", path: "/api/ssl/v1/enroll", body: enroll(certType, term, good), status: 400, code: -62,
			setup: func(t *testing.T) {
				if _, err := c.App.Directory.CreateCustomField(sys(), auth.NewCustomField{Org: "default", Name: "cost-center", Type: "string", Required: true}); err != nil {
					t.Fatal(err)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup(t)
			}
			cc := *c
			if tc.login != "" {
				cc.login, cc.password = tc.login, tc.password
			}
			if tc.uri != "" {
				cc.customer = tc.uri
			}
			if cc.customer == "-" {
				cc.customer = ""
			}
			sectigoError(t, cc.do(t, tc.method, tc.path, tc.body), tc.status, tc.code)
		})
	}
}

func TestPasswordLogin(t *testing.T) {
	c := newClient(t)
	if _, err := c.App.Directory.CreatePrincipal(sys(), auth.NewPrincipal{Kind: "user", Name: "ops", Org: "default",
		Roles: []string{auth.RoleManager}, Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	c.login, c.password = "ops", "correct horse battery"
	for range 3 { // the first checks the password, the others reuse the session
		if r := c.do(t, "GET", "/api/ssl/v1/types", nil); r.Status != 200 {
			t.Fatalf("password login: %d %s", r.Status, r.Body)
		}
	}
	c.password = "wrong"
	sectigoError(t, c.do(t, "GET", "/api/ssl/v1/types", nil), 401, -16)
	evs, err := c.App.Store.SearchAuditEvents(context.Background(), store.AuditQuery{Action: "auth.failed", Limit: 10})
	if err != nil || len(evs) == 0 || evs[len(evs)-1].ObjectID != "GET /api/ssl/v1/types" {
		t.Fatalf("refusal not audited: %v %+v", err, evs)
	}
}

func TestLifecycle(t *testing.T) {
	c := newClient(t)
	certType, term := c.defaultType(t)
	key := ecKey(t)
	id, renewID := c.enroll(t, certType, term, csrPEM(t, key, "ccmqa.com"))

	var d map[string]any
	r := c.do(t, "GET", "/api/ssl/v1/"+strconv.FormatInt(id, 10), nil)
	r.JSON(t, &d)
	if d["status"] != "Issued" || d["commonName"] != "ccmqa.com" || d["sslId"] != float64(id) || d["requestedVia"] != "REST API" {
		t.Fatalf("details: %s", r.Body)
	}
	serial, _ := d["serialNumber"].(string)
	if !strings.Contains(serial, ":") || strings.ToUpper(serial) != serial {
		t.Fatalf("serial %q is not colon-separated upper-case hex", serial)
	}
	if exp, _ := d["expires"].(string); len(exp) != 10 || exp[2] != '/' || exp[5] != '/' {
		t.Fatalf("expires %q is not MM/DD/YYYY", exp)
	}
	c.do(t, "GET", "/api/ssl/v1/"+strconv.FormatInt(id, 10)+"?dateFormat=ISO", nil).JSON(t, &d)
	if exp, _ := d["expires"].(string); len(exp) != 10 || exp[4] != '-' {
		t.Fatalf("ISO expires %q", exp)
	}

	// Every collect format.
	leafOnly := func(body []byte, n int) []*x509.Certificate {
		var out []*x509.Certificate
		for blk, rest := pem.Decode(body); blk != nil; blk, rest = pem.Decode(rest) {
			x, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, x)
		}
		if len(out) != n {
			t.Fatalf("%d certificates, want %d: %s", len(out), n, body)
		}
		return out
	}
	collect := func(format string) []byte {
		r := c.do(t, "GET", fmt.Sprintf("/api/ssl/v1/collect/%d?format=%s", id, format), nil)
		if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/octet-stream") ||
			!strings.Contains(r.Header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("collect %s: %d %v %s", format, r.Status, r.Header, r.Body)
		}
		return r.Body
	}
	for _, tc := range []struct {
		format   string
		n        int
		leafAt   int // index of the leaf, -1: none
		rootLast bool
	}{
		{"x509", 3, 2, false}, {"pem", 3, 2, false}, {"x509R", 3, 0, true}, {"pemia", 3, 0, true},
		{"x509CO", 1, 0, false}, {"pemco", 1, 0, false}, {"x509IO", 2, -1, false}, {"x509IOR", 2, -1, true},
	} {
		certs := leafOnly(collect(tc.format), tc.n)
		for i, x := range certs {
			if isLeaf := x.Subject.CommonName == "ccmqa.com"; isLeaf != (i == tc.leafAt) {
				t.Errorf("%s: certificate %d is %s", tc.format, i, x.Subject)
			}
		}
		if tc.n > 1 {
			last := certs[len(certs)-1]
			if isRoot := last.Subject.String() == last.Issuer.String(); isRoot != tc.rootLast {
				t.Errorf("%s: root last = %v, want %v", tc.format, isRoot, tc.rootLast)
			}
		}
	}
	for _, format := range []string{"base64", "", "bin"} {
		body := collect(format)
		der := body
		if format != "bin" {
			blk, _ := pem.Decode(body)
			if blk == nil || blk.Type != "PKCS7" {
				t.Fatalf("%q: not PKCS#7 PEM: %s", format, body)
			}
			der = blk.Bytes
		}
		p7, err := pkcs7.Parse(der)
		if err != nil || len(p7.Certificates) != 3 {
			t.Fatalf("%q: PKCS#7: %v", format, err)
		}
	}

	// List, with filters and totals; HEAD is the count.
	r = c.do(t, "GET", "/api/ssl/v1?size=10&position=0&commonName=ccmqa.com", nil)
	var items []struct {
		SSLID int64 `json:"sslId"`
	}
	r.JSON(t, &items)
	if r.Header.Get("X-Total-Count") != "1" || len(items) != 1 || items[0].SSLID != id {
		t.Fatalf("list: %v %s", r.Header, r.Body)
	}
	if r := c.do(t, "HEAD", "/api/ssl/v1?commonName=nothing.test", nil); r.Header.Get("X-Total-Count") != "0" {
		t.Fatalf("count: %v", r.Header)
	}
	if r := c.do(t, "GET", "/api/ssl/v1?serialNumber="+serial+"&keyAlgorithm=EC", nil); r.Header.Get("X-Total-Count") != "1" {
		t.Fatalf("serial + key filter: %v %s", r.Header, r.Body)
	}
	for q, want := range map[string]string{"requester=admin": "1", "requester=someone": "0", "keyAlgorithm=RSA": "0",
		"extendedKeyUsage=serverAuth": "1", "renewalStatus=NOT_SCHEDULED": "1", "installStatus=NONE": "1", "vendor=acme": "0"} {
		if r := c.do(t, "GET", "/api/ssl/v1?commonName=ccmqa.com&"+q, nil); r.Header.Get("X-Total-Count") != want {
			t.Errorf("%s: total %s, want %s", q, r.Header.Get("X-Total-Count"), want)
		}
	}

	// Renew by renewId: a new record.
	if r := c.do(t, "POST", "/api/ssl/v1/renew/"+renewID, map[string]any{}); r.Status != 204 {
		t.Fatalf("renew: %d %s", r.Status, r.Body)
	}
	c.do(t, "GET", "/api/ssl/v1/"+strconv.FormatInt(id, 10), nil).JSON(t, &d)
	if d["renewed"] != true {
		t.Fatalf("old record not renewed: %v", d)
	}
	// Revoke by serial, then the document's refusals.
	if r := c.do(t, "POST", "/api/ssl/v1/revoke/serial/"+serial, map[string]any{"reasonCode": 4, "reason": "superseded"}); r.Status != 204 {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	sectigoError(t, c.do(t, "POST", fmt.Sprintf("/api/ssl/v1/revoke/%d", id), map[string]any{"reasonCode": 4, "reason": "again"}), 400, -159)
	sectigoError(t, c.do(t, "GET", fmt.Sprintf("/api/ssl/v1/collect/%d", id), nil), 400, -110)
	sectigoError(t, c.do(t, "POST", fmt.Sprintf("/api/ssl/v1/renewById/%d", id), map[string]any{}), 400, -130)
}

func TestApproveDecline(t *testing.T) {
	c := newClient(t)
	addProfile(t, c.Server, "manual", "manual", nil)
	ty := c.typeID(t, "manual")
	// A requester enrolls; the admin decides (nobody approves their own request).
	if _, err := c.App.Directory.CreatePrincipal(sys(), auth.NewPrincipal{Kind: "user", Name: "dev", Org: "default",
		Roles: []string{auth.RoleRequester}, Password: "requester password"}); err != nil {
		t.Fatal(err)
	}
	req := *c
	req.login, req.password = "dev", "requester password"
	id, _ := req.enroll(t, ty, 365, csrPEM(t, ecKey(t), "approve.test"))
	other, _ := req.enroll(t, ty, 365, csrPEM(t, ecKey(t), "decline.test"))
	sectigoError(t, req.do(t, "POST", fmt.Sprintf("/api/ssl/v1/approve/%d", id), map[string]any{"message": "self"}), 403, -3)
	status := func(id int64) string {
		var d map[string]any
		c.do(t, "GET", fmt.Sprintf("/api/ssl/v1/%d", id), nil).JSON(t, &d)
		s, _ := d["status"].(string)
		return s
	}
	if status(id) != "Requested" {
		t.Fatalf("status %s", status(id))
	}
	sectigoError(t, c.do(t, "GET", fmt.Sprintf("/api/ssl/v1/collect/%d", id), nil), 400, -1400)
	r := c.do(t, "GET", "/api/ssl/v1?status=Requested", nil)
	if r.Header.Get("X-Total-Count") != "2" {
		t.Fatalf("requested list: %v %s", r.Header, r.Body)
	}
	if r := c.do(t, "POST", fmt.Sprintf("/api/ssl/v1/approve/%d", id), map[string]any{"message": "ok"}); r.Status != 204 {
		t.Fatalf("approve: %d %s", r.Status, r.Body)
	}
	if r := c.do(t, "POST", fmt.Sprintf("/api/ssl/v1/decline/%d", other), map[string]any{"message": "no"}); r.Status != 204 {
		t.Fatalf("decline: %d %s", r.Status, r.Body)
	}
	if status(id) != "Issued" || status(other) != "Declined" {
		t.Fatalf("statuses %s %s", status(id), status(other))
	}
	sectigoError(t, c.do(t, "POST", fmt.Sprintf("/api/ssl/v1/approve/%d", other), map[string]any{"message": "late"}), 400, -1112)
	sectigoError(t, c.do(t, "GET", fmt.Sprintf("/api/ssl/v1/collect/%d", other), nil), 400, -183)
}

func TestEnrollKeygenKeystore(t *testing.T) {
	c := newClient(t)
	certType, term := c.defaultType(t)
	r := c.do(t, "POST", "/api/ssl/v1/enroll-keygen", map[string]any{"orgId": c.orgID(t), "certType": certType, "term": term,
		"commonName": "keygen.test", "subjAltNames": "keygen.test,www.keygen.test", "algorithm": "RSA", "keyParam": "2048",
		"keyGenerationMethod": "PK_AGENT", "passPhrase": "pass-phrase-1"})
	if r.Status != 200 {
		t.Fatalf("enroll-keygen: %d %s", r.Status, r.Body)
	}
	id := int64(r.Map(t)["sslId"].(float64))
	sectigoError(t, c.do(t, "POST", fmt.Sprintf("/api/ssl/v1/keystore/%d/jks", id), map[string]any{}), 400, -1450)
	sectigoError(t, c.do(t, "POST", fmt.Sprintf("/api/ssl/v1/keystore/%d/p12", id), map[string]any{"passphrase": "wrong"}), 400, -1601)
	r = c.do(t, "POST", fmt.Sprintf("/api/ssl/v1/keystore/%d/p12", id), map[string]any{"passphrase": "pass-phrase-1"})
	link, _ := r.Map(t)["link"].(string)
	if !strings.HasPrefix(link, c.URL+base+"/api/ssl/v1/keystore/download?token=") {
		t.Fatalf("link %q", link)
	}
	get := func() *http.Response {
		resp, err := c.Client.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := get()
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	p12, err := base64.StdEncoding.DecodeString(string(b))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("download: %d %v", resp.StatusCode, err)
	}
	_, leaf, _, err := pkcs12.DecodeChain(p12, "pass-phrase-1")
	if err != nil || leaf.Subject.CommonName != "keygen.test" || len(leaf.DNSNames) != 2 {
		t.Fatalf("PKCS#12: %v %v", err, leaf)
	}
	if resp := get(); resp.StatusCode != 404 {
		t.Fatalf("second download: %d", resp.StatusCode)
	}
}

// BenchmarkEnroll measures one CSR enrollment through the Sectigo API
// (HTTP, API-key login, auto-approved profile, issued and recorded).
func BenchmarkEnroll(b *testing.B) {
	c := &client{Server: testutil.StartServer(b), login: "admin", password: testutil.AdminKey, customer: "default"}
	certType, term := c.defaultType(b)
	org := c.orgID(b)
	csr := csrPEM(b, ecKey(b), "bench.example")
	body := map[string]any{"orgId": org, "csr": csr, "certType": certType, "term": term}
	b.ResetTimer()
	for b.Loop() {
		if r := c.Do(b, "POST", base+"/api/ssl/v1/enroll", "", body, "login", c.login, "password", c.password, "customerUri", c.customer); r.Status != 200 {
			b.Fatalf("enroll: %d %s", r.Status, r.Body)
		}
	}
}

// BenchmarkPasswordLogin measures a call authenticated by login and
// password, the session cache absorbing the password hashing.
func BenchmarkPasswordLogin(b *testing.B) {
	s := testutil.StartServer(b)
	if _, err := s.App.Directory.CreatePrincipal(sys(), auth.NewPrincipal{Kind: "user", Name: "ops", Org: "default",
		Roles: []string{auth.RoleManager}, Password: "correct horse battery"}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if r := s.Do(b, "GET", base+"/api/ssl/v1/customFields", "", nil, "login", "ops", "password", "correct horse battery", "customerUri", "default"); r.Status != 200 {
			b.Fatalf("customFields: %d %s", r.Status, r.Body)
		}
	}
}

// externalCertDER is a self-signed certificate from outside Signet, for import.
func externalCertDER(t *testing.T, cn string) []byte {
	t.Helper()
	k := ecKey(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		DNSNames: []string{cn}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestSecondaryEndpoints(t *testing.T) {
	c := newClient(t)
	certType, term := c.defaultType(t)
	id, _ := c.enroll(t, certType, term, csrPEM(t, ecKey(t), "more.example"))
	sid := strconv.FormatInt(id, 10)
	want := func(r *testutil.Response, status int) *testutil.Response {
		t.Helper()
		if r.Status != status {
			t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
		}
		return r
	}

	t.Run("locations", func(t *testing.T) {
		r := want(c.do(t, "POST", "/api/ssl/v1/"+sid+"/location", map[string]any{"details": map[string]string{"IP": "1.1.1.1"}}), 201)
		loc := r.Header.Get("Location")
		if !strings.HasPrefix(loc, c.URL+base+"/api/ssl/v1/"+sid+"/location/") {
			t.Fatalf("Location %q", loc)
		}
		lid := loc[strings.LastIndex(loc, "/")+1:]
		want(c.do(t, "PUT", "/api/ssl/v1/"+sid+"/location/"+lid, map[string]any{"details": map[string]string{"IP": "2.2.2.2"}}), 200)
		var l map[string]any
		want(c.do(t, "GET", "/api/ssl/v1/"+sid+"/location/"+lid, nil), 200).JSON(t, &l)
		if l["locationType"] != "CUSTOM" || l["details"].(map[string]any)["IP"] != "2.2.2.2" {
			t.Fatalf("location %v", l)
		}
		want(c.do(t, "DELETE", "/api/ssl/v1/"+sid+"/location/"+lid, nil), 204)
		var ls []any
		want(c.do(t, "GET", "/api/ssl/v1/"+sid+"/location", nil), 200).JSON(t, &ls)
		if len(ls) != 0 {
			t.Fatalf("locations after delete: %v", ls)
		}
		sectigoError(t, c.do(t, "GET", "/api/ssl/v1/"+sid+"/location/99", nil), 404, -5101)
	})

	t.Run("update", func(t *testing.T) {
		var d map[string]any
		want(c.do(t, "PUT", "/api/ssl/v1", map[string]any{"sslId": id, "comments": "changed", "externalRequester": "a@b.example"}), 200).JSON(t, &d)
		if d["comments"] != "changed" || d["externalRequester"] != "a@b.example" {
			t.Fatalf("update: %v", d)
		}
		if r := c.do(t, "GET", "/api/ssl/v1?externalRequester=A@B", nil); r.Header.Get("X-Total-Count") != "1" {
			t.Fatalf("externalRequester filter: %v %s", r.Header, r.Body)
		}
		sectigoError(t, c.do(t, "PUT", "/api/ssl/v1", map[string]any{"comments": "x"}), 400, -7)
		sectigoError(t, c.do(t, "DELETE", "/api/ssl/v1/"+sid, nil), 400, -3)
	})

	t.Run("per-certificate DCV", func(t *testing.T) {
		var d map[string]any
		want(c.do(t, "GET", "/api/ssl/v1/"+sid+"/dcv", nil), 200).JSON(t, &d)
		logs := d["dcvLog"].(map[string]any)["log"].([]any)
		if len(logs) != 1 || logs[0].(map[string]any)["domainName"] != "more.example" {
			t.Fatalf("dcv: %v", d)
		}
		want(c.do(t, "POST", "/api/ssl/v1/"+sid+"/dcv/recheck", map[string]any{}), 202)
	})

	t.Run("replace and manual renew and revoke", func(t *testing.T) {
		want(c.do(t, "POST", "/api/ssl/v1/replace/"+sid, map[string]any{"csr": csrPEM(t, ecKey(t), "more.example"), "reason": "rekey"}), 204)
		var d map[string]any
		want(c.do(t, "GET", "/api/ssl/v1/"+sid, nil), 200).JSON(t, &d)
		if d["status"] != "Issued" || d["replaced"] != true {
			t.Fatalf("after replace: %v", d)
		}
		want(c.do(t, "POST", "/api/ssl/v1/renew/manual/"+sid, map[string]any{"orderNumber": 5}), 204)
		want(c.do(t, "POST", "/api/ssl/v1/revoke/manual", map[string]any{"certId": id, "reasonCode": 5, "revokeDate": "2025-06-10T00:00:00Z"}), 204)
		want(c.do(t, "GET", "/api/ssl/v1/"+sid, nil), 200).JSON(t, &d)
		if d["status"] != "Revoked" || d["revocationReason"] != float64(5) {
			t.Fatalf("after manual revoke: %v", d)
		}
		sectigoError(t, c.do(t, "POST", "/api/ssl/v1/revoke/manual", map[string]any{"reasonCode": 2}), 400, -1601)
		sectigoError(t, c.do(t, "POST", "/api/ssl/v1/revoke/serial/ABCDEF", map[string]any{"reason": "x"}), 404, -5101)
	})

	t.Run("import", func(t *testing.T) {
		der := externalCertDER(t, "imported.example")
		var res []map[string]any
		want(c.do(t, "POST", "/api/ssl/v2/import", []map[string]any{{"orgID": c.orgID(t), "cert": base64.StdEncoding.EncodeToString(der), "backendCertId": "b1"},
			{"cert": "!!"}}), 200).JSON(t, &res)
		if len(res) != 2 || res[0]["successful"] != true || res[1]["successful"] != false {
			t.Fatalf("import v2: %v", res)
		}
		newID := int64(res[0]["cert"].(map[string]any)["id"].(float64))
		var d map[string]any
		want(c.do(t, "GET", fmt.Sprintf("/api/ssl/v1/%d", newID), nil), 200).JSON(t, &d)
		if d["commonName"] != "imported.example" || d["requestedVia"] != "Imported" {
			t.Fatalf("imported details: %v", d)
		}
		// "Only imported or discovered certificates can be deleted": this one
		// can, by a manager or admin, and then its sslId is unknown.
		if _, err := c.App.Directory.CreatePrincipal(sys(), auth.NewPrincipal{Kind: "user", Name: "deleter", Org: "default",
			Roles: []string{auth.RoleRequester}, Password: "requester password"}); err != nil {
			t.Fatal(err)
		}
		req := *c
		req.login, req.password = "deleter", "requester password"
		path := fmt.Sprintf("/api/ssl/v1/%d", newID)
		sectigoError(t, req.do(t, "DELETE", path, nil), 403, -3)
		want(c.do(t, "GET", path, nil), 200)
		if r := want(c.do(t, "DELETE", path, nil), 204); len(r.Body) != 0 {
			t.Fatalf("delete answered a body: %s", r.Body)
		}
		sectigoError(t, c.do(t, "GET", path, nil), 404, -124)
		sectigoError(t, c.do(t, "DELETE", path, nil), 404, -124)
		if r := c.do(t, "GET", "/api/ssl/v1?commonName=imported.example", nil); r.Header.Get("X-Total-Count") != "0" {
			t.Fatalf("deleted certificate still listed: %v %s", r.Header, r.Body)
		}
		if _, err := c.App.Store.GetProtocolObject(context.Background(), "sectigo.ssl", strconv.FormatInt(newID, 10)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("sslId record after deletion: %v", err)
		}
		var zbuf bytes.Buffer
		zw := zip.NewWriter(&zbuf)
		f, _ := zw.Create("a.pem")
		_, _ = f.Write(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: externalCertDER(t, "zipped.example")}))
		_ = zw.Close()
		var mp bytes.Buffer
		mw := multipart.NewWriter(&mp)
		part, _ := mw.CreateFormFile("file", "certs.zip")
		_, _ = part.Write(zbuf.Bytes())
		_ = mw.Close()
		r := c.Do(t, "POST", base+"/api/ssl/v1/import?orgId="+strconv.FormatInt(c.orgID(t), 10), "", mp.Bytes(),
			"login", c.login, "password", c.password, "customerUri", c.customer, "Content-Type", mw.FormDataContentType())
		if r.Status != 200 || r.Map(t)["processedCount"] != float64(1) {
			t.Fatalf("import zip: %d %s", r.Status, r.Body)
		}
	})

	t.Run("departments", func(t *testing.T) {
		r := want(c.do(t, "POST", "/api/organization/v1", map[string]any{"name": "dept-a", "parentOrgName": "default"}), 201)
		loc := r.Header.Get("Location")
		did := loc[strings.LastIndex(loc, "/")+1:]
		var o map[string]any
		want(c.do(t, "GET", "/api/organization/v1", nil), 200)
		want(c.do(t, "GET", "/api/organization/v1/"+did, nil), 200).JSON(t, &o)
		if o["name"] != "dept-a" {
			t.Fatalf("department: %v", o)
		}
		want(c.do(t, "PUT", "/api/organization/v1/"+did, map[string]any{"name": "dept-b"}), 200).JSON(t, &o)
		if o["name"] != "dept-b" {
			t.Fatalf("renamed: %v", o)
		}
		// A certificate enrolled into the department belongs to its team.
		want(c.do(t, "POST", "/api/ssl/v1/enroll", map[string]any{"orgId": json.Number(did), "csr": csrPEM(t, ecKey(t), "dept.example"), "certType": certType, "term": term}), 200)
		var lst []map[string]any
		lr := want(c.do(t, "GET", "/api/ssl/v1?orgId="+did, nil), 200)
		lr.JSON(t, &lst)
		if lr.Header.Get("X-Total-Count") != "1" || lst[0]["commonName"] != "dept.example" {
			t.Fatalf("department list: %v %s", lr.Header, lr.Body)
		}
		// Domains delegated to the department.
		dr := want(c.do(t, "POST", "/api/domain/v1", map[string]any{"name": "dept.example", "delegations": []any{map[string]any{"orgId": json.Number(did), "certTypes": []string{"SSL"}}}}), 201)
		dom := dr.Header.Get("Location")[strings.LastIndex(dr.Header.Get("Location"), "/")+1:]
		var dd map[string]any
		want(c.do(t, "GET", "/api/domain/v1/"+dom, nil), 200).JSON(t, &dd)
		if dels := dd["delegations"].([]any); len(dels) != 2 || dels[1].(map[string]any)["status"] != "ACTIVE" {
			t.Fatalf("delegations: %v", dd)
		}
		sectigoError(t, c.do(t, "POST", "/api/domain/v1/"+dom+"/delegation/approve", map[string]any{"orgId": json.Number(did)}), 400, -705)
		want(c.do(t, "DELETE", "/api/domain/v1/"+dom+"/delegation", map[string]any{"orgId": json.Number(did)}), 200)
		want(c.do(t, "POST", "/api/domain/v1/delegation", map[string]any{"domainIds": []any{json.Number(dom)}, "orgId": json.Number(did)}), 200)
		var cnt map[string]any
		want(c.do(t, "GET", "/api/domain/v1/count?orgId="+did, nil), 200).JSON(t, &cnt)
		if cnt["count"] != float64(1) {
			t.Fatalf("count: %v", cnt)
		}
		want(c.do(t, "PUT", "/api/domain/v1/"+dom+"/monitoring", map[string]any{"enabled": true}), 200)
		want(c.do(t, "PUT", "/api/domain/v1/"+dom+"/activate", nil), 200)
		var st map[string]any
		want(c.do(t, "POST", "/api/dcv/v1/validation/sync", map[string]any{"domain": "dept.example"}), 200).JSON(t, &st)
		if st["status"] != "NOT_VALIDATED" || st["orderStatus"] != "NOT_INITIATED" {
			t.Fatalf("sync: %v", st)
		}
		sectigoError(t, c.do(t, "POST", "/api/dcv/v1/validation/submit/domain/http", map[string]any{"domain": "dept.example"}), 400, -724)
		sectigoError(t, c.do(t, "POST", "/api/dcv/v1/validation/submit/domain/email", map[string]any{"domain": "dept.example", "email": "x@evil.example"}), 400, -518)
		want(c.do(t, "POST", "/api/dcv/v1/validation/delete", map[string]any{"domain": "dept.example"}), 200)
		want(c.do(t, "DELETE", "/api/domain/v1/"+dom, nil), 204)
	})
}
