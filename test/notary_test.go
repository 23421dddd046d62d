package test

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/signet-pki/signet/internal/testutil"
)

// notaryClient talks to the Notary compatibility API as Notary's clients do.
type notaryClient struct {
	e      *env
	prefix string // where the API is mounted
	bearer string
	cookie *http.Cookie
}

type notaryResp struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func newNotary(t *testing.T, e *env) *notaryClient {
	t.Helper()
	return &notaryClient{e: e, prefix: "/compat/notary"}
}

func (c *notaryClient) do(t *testing.T, method, path string, body any) *notaryResp {
	t.Helper()
	var headers []string
	if c.cookie != nil {
		headers = []string{"Cookie", c.cookie.Name + "=" + c.cookie.Value}
	}
	r := c.e.Do(t, method, c.prefix+path, c.bearer, body, headers...)
	out := &notaryResp{status: r.Status, header: r.Header, raw: r.Body}
	if len(r.Body) > 0 {
		if err := json.Unmarshal(r.Body, &out.body); err != nil {
			t.Fatalf("%s %s: %d, not a JSON object: %q", method, path, r.Status, r.Body)
		}
	}
	return out
}

func (c *notaryClient) must(t *testing.T, want int, method, path string, body any) *notaryResp {
	t.Helper()
	r := c.do(t, method, path, body)
	if r.status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.raw)
	}
	return r
}

// result returns the payload, checking that both generations' keys carry it.
func (r *notaryResp) result(t *testing.T) any {
	t.Helper()
	res, ok := r.body["result"]
	if !ok {
		t.Fatalf("no result in %s", r.raw)
	}
	// Where the generations differ (status, creations), one payload's keys
	// are a subset of the other's with the same values; otherwise they are equal.
	rm, rok := res.(map[string]any)
	dm, dok := r.body["data"].(map[string]any)
	if rok && dok {
		small, large := rm, dm
		if len(dm) < len(rm) {
			small, large = dm, rm
		}
		for k, v := range small {
			a, _ := json.Marshal(v)
			b, _ := json.Marshal(large[k])
			if !bytes.Equal(a, b) {
				t.Fatalf("result and data disagree on %s: %s", k, r.raw)
			}
		}
		return res
	}
	a, _ := json.Marshal(res)
	b, _ := json.Marshal(r.body["data"])
	if !bytes.Equal(a, b) {
		t.Fatalf("result %s and data %s differ", a, b)
	}
	return res
}

func (r *notaryResp) object(t *testing.T) map[string]any {
	t.Helper()
	m, ok := r.result(t).(map[string]any)
	if !ok {
		t.Fatalf("result is not an object: %s", r.raw)
	}
	return m
}

// wantNotaryError checks Notary's error body: {"error": ..., "message": ...}.
func wantNotaryError(t *testing.T, r *notaryResp, status int, contains string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	msg, _ := r.body["error"].(string)
	if msg == "" || r.body["message"] != msg || !strings.Contains(msg, contains) {
		t.Fatalf("error body %s: want error and message containing %q", r.raw, contains)
	}
}

func (e *env) notaryProfile(t *testing.T, name, ca string, methods ...string) {
	t.Helper()
	e.Must(t, 201, "POST", "/api/v1/profiles", admin, map[string]any{"name": name, "template": "tls-server", "ca": ca,
		"enrollment_methods": methods})
}

// caIntID finds a CA's Notary id by name in GET /api/v1/certificate_authorities.
func (c *notaryClient) caIntID(t *testing.T, name string) int64 {
	t.Helper()
	list := c.must(t, 200, "GET", "/api/v1/certificate_authorities", nil).result(t).([]any)
	for _, item := range list {
		m := item.(map[string]any)
		if m["name"] == name {
			if m["enabled"] != true || !strings.HasPrefix(m["certificate"].(string), "-----BEGIN CERTIFICATE-----") {
				t.Fatalf("CA document: %v", m)
			}
			return int64(m["id"].(float64))
		}
	}
	t.Fatalf("no CA %s in %v", name, list)
	return 0
}

func pemCerts(t *testing.T, s string) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	rest := []byte(s)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		t.Fatalf("no certificates in %q", s)
	}
	return out
}

func TestNotaryCertificateRequestLifecycle(t *testing.T) {
	e := newEnv(t)
	e.notaryProfile(t, "notary-tls", "signet-issuing", "notary")
	nc := newNotary(t, e)
	nc.bearer = admin
	// The seed-era status has exactly initialized and version (the Notary
	// charm's client builds a type from them); current Notary's adds oidc_enabled.
	st := nc.must(t, 200, "GET", "/status", nil)
	if res := st.object(t); len(res) != 2 || res["initialized"] != true || res["version"] == "" {
		t.Fatalf("status result: %s", st.raw)
	}
	if st.body["data"].(map[string]any)["oidc_enabled"] != false {
		t.Fatalf("status data: %s", st.raw)
	}
	// Creations: the seed's {"message", "id"} in result, current Notary's {"id"} in data.
	probe := nc.must(t, 201, "POST", "/api/v1/certificate_requests", map[string]any{"csr": firstCSR(t, e)})
	if d := probe.body["data"].(map[string]any); len(d) != 1 || d["id"] != probe.object(t)["id"] || probe.object(t)["message"] != "success" {
		t.Fatalf("create answer: %s", probe.raw)
	}
	// An admin (here: Signet's admin key as a bearer) creates a certificate manager account.
	acct := nc.must(t, 201, "POST", "/api/v1/accounts", map[string]any{"email": "manager@example.com",
		"password": "correct horse battery", "role_id": 1}).object(t)
	if _, ok := acct["id"].(float64); !ok {
		t.Fatalf("account id: %v", acct)
	}
	// The manager logs in the current way (email, cookie) and the seed's (username, bearer).
	mgr := newNotary(t, e)
	login := mgr.must(t, 200, "POST", "/login", map[string]any{"email": "manager@example.com", "password": "correct horse battery"})
	for _, c := range (&http.Response{Header: login.header}).Cookies() {
		if c.Name == "user_token" {
			mgr.cookie = c
		}
	}
	if mgr.cookie == nil || login.object(t)["token"] != mgr.cookie.Value {
		t.Fatalf("login: cookie %v body %s", mgr.cookie, login.raw)
	}
	old := newNotary(t, e)
	old.bearer = old.must(t, 200, "POST", "/login", map[string]any{"username": "manager@example.com", "password": "correct horse battery"}).object(t)["token"].(string)
	// Logging out revokes a session at once.
	gone := newNotary(t, e)
	gone.bearer = gone.must(t, 200, "POST", "/login", map[string]any{"email": "manager@example.com", "password": "correct horse battery"}).object(t)["token"].(string)
	gone.must(t, 200, "GET", "/api/v1/accounts/me", nil)
	gone.must(t, 200, "POST", "/logout", nil)
	wantNotaryError(t, gone.do(t, "GET", "/api/v1/accounts/me", nil), 401, "unauthorized")
	me := mgr.must(t, 200, "GET", "/api/v1/accounts/me", nil).object(t)
	if me["email"] != "manager@example.com" || me["role_id"] != float64(1) || me["id"] != acct["id"] {
		t.Fatalf("me: %v", me)
	}
	caID := old.caIntID(t, "signet-issuing")

	// Sign RSA, ECDSA and Ed25519 CSRs alike, then revoke: the serial is in the CA's CRL.
	for _, tc := range []struct {
		name    string
		keyArgs []string
		caID    any // the seed's string, or a number
	}{
		{"rsa", []string{"-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"}, strconv.FormatInt(caID, 10)},
		{"ecdsa", ecKey, caID},
		{"ed25519", []string{"-algorithm", "ED25519"}, strconv.FormatInt(caID, 10)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mgr
			if tc.name == "rsa" {
				c = old
			}
			keyPath, csr := e.csr(t, "notary-"+tc.name, "/C=TR/ST=Izmir/L=Narlidere/O=Internet Widgits Pty Ltd/CN="+tc.name+".banana.com", "", tc.keyArgs...)
			created := c.must(t, 201, "POST", "/api/v1/certificate_requests", map[string]any{"csr": csr}).object(t)
			if created["message"] != "success" {
				t.Fatalf("create: %v", created)
			}
			id := strconv.FormatInt(int64(created["id"].(float64)), 10)
			got := c.must(t, 200, "GET", "/api/v1/certificate_requests/"+id, nil).object(t)
			if got["status"] != "Outstanding" || got["certificate_chain"] != "" || got["csr"] != strings.TrimSpace(csr) {
				t.Fatalf("outstanding request: %v", got)
			}
			signed := c.must(t, 200, "POST", "/api/v1/certificate_requests/"+id+"/sign", map[string]any{"certificate_authority_id": tc.caID}).object(t)
			if signed["message"] != "success" {
				t.Fatalf("sign: %v", signed)
			}
			got = c.must(t, 200, "GET", "/api/v1/certificate_requests/"+id, nil).object(t)
			if got["status"] != "Active" {
				t.Fatalf("signed request: %v", got)
			}
			chain := pemCerts(t, got["certificate_chain"].(string))
			if len(chain) < 2 || chain[0].Subject.CommonName != tc.name+".banana.com" {
				t.Fatalf("chain: %d certificates, leaf %s", len(chain), chain[0].Subject)
			}
			pub := testutil.Openssl(t, e.dir, "pkey", "-in", keyPath, "-pubout")
			der, _ := x509.MarshalPKIXPublicKey(chain[0].PublicKey)
			if got := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})); got != pub {
				t.Fatalf("leaf key %s is not the CSR's %s", got, pub)
			}
			leafPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: chain[0].Raw}))
			var inter strings.Builder
			for _, ca := range chain[1:] {
				inter.Write(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw}))
			}
			e.verify(t, "notary-"+tc.name, leafPEM, inter.String())
			// The certificate is in Signet's inventory, issued over the notary method.
			serial := strings.TrimLeft(chain[0].SerialNumber.Text(16), "0")
			inv := e.Must(t, 200, "GET", "/api/v1/certificates/"+serial, admin, nil).Map(t)
			if inv["enrollment_method"] != "notary" || inv["status"] != "active" {
				t.Fatalf("inventory: %v", inv)
			}
			c.must(t, 200, "POST", "/api/v1/certificate_requests/"+id+"/certificate/revoke", nil)
			if st := c.must(t, 200, "GET", "/api/v1/certificate_requests/"+id, nil).object(t)["status"]; st != "Revoked" {
				t.Fatalf("after revoke: %v", st)
			}
			wantNotaryError(t, c.do(t, "POST", "/api/v1/certificate_requests/"+id+"/certificate/revoke", nil), 400, "already revoked")
			crlDoc := newNotary(t, e).must(t, 200, "GET", "/api/v1/certificate_authorities/"+strconv.FormatInt(caID, 10)+"/crl", nil).object(t)
			block, _ := pem.Decode([]byte(crlDoc["crl"].(string)))
			if block == nil {
				t.Fatalf("crl: %v", crlDoc)
			}
			crl, err := x509.ParseRevocationList(block.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, entry := range crl.RevokedCertificateEntries {
				found = found || entry.SerialNumber.Cmp(chain[0].SerialNumber) == 0
			}
			if !found {
				t.Fatalf("serial %s not in the CRL", serial)
			}
		})
	}

	// Reject: the request is Rejected and can no longer be signed.
	_, csr := e.csr(t, "notary-reject", "/CN=reject.banana.com", "", ecKey...)
	rid := strconv.FormatInt(int64(mgr.must(t, 201, "POST", "/api/v1/certificate_requests", map[string]any{"csr": csr}).object(t)["id"].(float64)), 10)
	mgr.must(t, 200, "POST", "/api/v1/certificate_requests/"+rid+"/reject", nil)
	if st := mgr.must(t, 200, "GET", "/api/v1/certificate_requests/"+rid, nil).object(t)["status"]; st != "Rejected" {
		t.Fatalf("after reject: %v", st)
	}
	wantNotaryError(t, mgr.do(t, "POST", "/api/v1/certificate_requests/"+rid+"/sign", map[string]any{"certificate_authority_id": caID}), 400, "not outstanding")

	// Upload a chain signed elsewhere: it must match the CSR's key, is
	// recorded as imported, cannot be revoked here, and can be detached.
	keyPath, csr := e.csr(t, "notary-ext", "/CN=ext.banana.com", "", ecKey...)
	xid := strconv.FormatInt(int64(mgr.must(t, 201, "POST", "/api/v1/certificate_requests", map[string]any{"csr": csr}).object(t)["id"].(float64)), 10)
	extChain := externalChain(t, e, "notary-ext")
	_, otherCSR := e.csr(t, "notary-other", "/CN=other.banana.com", "", ecKey...)
	otherChain := externalChain(t, e, "notary-other")
	_ = otherCSR
	wantNotaryError(t, mgr.do(t, "POST", "/api/v1/certificate_requests/"+xid+"/certificate", map[string]any{"certificate": otherChain}), 400, "does not match")
	up := mgr.must(t, 201, "POST", "/api/v1/certificate_requests/"+xid+"/certificate", map[string]any{"certificate": extChain}).object(t)
	if up["message"] != "success" || up["id"] == nil {
		t.Fatalf("upload: %v", up)
	}
	got := mgr.must(t, 200, "GET", "/api/v1/certificate_requests/"+xid, nil).object(t)
	if got["status"] != "Active" || got["certificate_chain"] != strings.TrimSpace(extChain) {
		t.Fatalf("uploaded: %v", got)
	}
	leaf := pemCerts(t, extChain)[0]
	inv := e.Must(t, 200, "GET", "/api/v1/certificates/"+strings.TrimLeft(leaf.SerialNumber.Text(16), "0"), admin, nil).Map(t)
	if inv["source"] != "imported" {
		t.Fatalf("uploaded certificate in inventory: %v", inv)
	}
	_ = keyPath
	wantNotaryError(t, mgr.do(t, "POST", "/api/v1/certificate_requests/"+xid+"/certificate/revoke", nil), 400, "signed by this server")
	mgr.must(t, 200, "DELETE", "/api/v1/certificate_requests/"+xid+"/certificate", nil)
	got = mgr.must(t, 200, "GET", "/api/v1/certificate_requests/"+xid, nil).object(t)
	if got["status"] != "Outstanding" || got["certificate_chain"] != "" {
		t.Fatalf("after certificate delete: %v", got)
	}
	mgr.must(t, 200, "DELETE", "/api/v1/certificate_requests/"+xid, nil)
	wantNotaryError(t, mgr.do(t, "GET", "/api/v1/certificate_requests/"+xid, nil), 404, "not found")

	// The list holds what is left, each with the seed's fields.
	list := mgr.must(t, 200, "GET", "/api/v1/certificate_requests", nil).result(t).([]any)
	if len(list) != 5 {
		t.Fatalf("list: %d requests, want 5", len(list))
	}
	// Concurrent creations get distinct numbers, above every earlier one (deleted ids are not reused).
	ids := make(chan int64, 16)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			r := mgr.do(t, "POST", "/api/v1/certificate_requests", map[string]any{"csr": csr})
			if r.status != 201 {
				t.Errorf("concurrent create: %d %s", r.status, r.raw)
				ids <- 0
				return
			}
			ids <- int64(r.body["result"].(map[string]any)["id"].(float64))
		})
	}
	wg.Wait()
	close(ids)
	last, _ := strconv.ParseInt(xid, 10, 64)
	seen := map[int64]bool{}
	for id := range ids {
		if id <= last || seen[id] {
			t.Fatalf("concurrent create got id %d (last before: %d, seen: %v)", id, last, seen)
		}
		seen[id] = true
	}
	for _, item := range list {
		m := item.(map[string]any)
		for _, k := range []string{"id", "csr", "certificate_chain", "status"} {
			if _, ok := m[k]; !ok {
				t.Fatalf("list item lacks %s: %v", k, m)
			}
		}
	}
}

// externalChain signs name's CSR with a throwaway openssl CA and returns leaf + CA PEM.
func externalChain(t *testing.T, e *env, name string) string {
	t.Helper()
	e.opensslCert(t, name+"-ca", "/CN=External Test CA")
	testutil.Openssl(t, e.dir, "x509", "-req", "-in", name+".csr", "-CA", name+"-ca.pem", "-CAkey", name+"-ca.key",
		"-CAcreateserial", "-out", name+"-ext.pem", "-days", "30")
	leaf, err := os.ReadFile(filepath.Join(e.dir, name+"-ext.pem"))
	if err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile(filepath.Join(e.dir, name+"-ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return string(leaf) + string(ca)
}

func TestNotaryErrors(t *testing.T) {
	e := newEnv(t)
	e.notaryProfile(t, "notary-tls", "signet-issuing", "notary")
	e.notaryProfile(t, "api-only", "signet-issuing", "api")
	nc := newNotary(t, e)
	nc.bearer = admin
	issuing := nc.caIntID(t, "signet-issuing")
	root := nc.caIntID(t, "signet-root")
	_, csr := e.csr(t, "err", "/CN=err.banana.com", "", ecKey...)
	id := strconv.FormatInt(int64(nc.must(t, 201, "POST", "/api/v1/certificate_requests", map[string]any{"csr": csr}).object(t)["id"].(float64)), 10)
	requester := e.newKey(t, "notary-requester", "requester")
	rq := newNotary(t, e)
	rq.bearer = requester

	anon := newNotary(t, e)
	badKey := newNotary(t, e)
	badKey.bearer = "sgt_nope.nope"
	badCookie := newNotary(t, e)
	badCookie.cookie = &http.Cookie{Name: "user_token", Value: "forged"}
	for _, tc := range []struct {
		name     string
		c        *notaryClient
		method   string
		path     string
		body     any
		status   int
		contains string
	}{
		{"no credentials", anon, "GET", "/api/v1/certificate_requests", nil, 401, "unauthorized"},
		{"unknown bearer", badKey, "GET", "/api/v1/certificate_requests", nil, 401, "unauthorized"},
		{"forged cookie", badCookie, "POST", "/api/v1/certificate_requests", map[string]any{"csr": csr}, 401, "unauthorized"},
		{"wrong password", anon, "POST", "/login", map[string]any{"email": "admin", "password": "not the password"}, 401, "invalid credentials"},
		{"login without email", anon, "POST", "/login", map[string]any{"password": "x"}, 400, "email is required"},
		{"login not JSON", anon, "POST", "/login", "{", 400, "invalid JSON format"},
		{"unknown request", nc, "GET", "/api/v1/certificate_requests/999999", nil, 404, "not found"},
		{"non-numeric id", nc, "GET", "/api/v1/certificate_requests/abc", nil, 400, "invalid ID"},
		{"unknown request sign", nc, "POST", "/api/v1/certificate_requests/999999/sign", map[string]any{"certificate_authority_id": "1"}, 404, "not found"},
		{"malformed CSR", nc, "POST", "/api/v1/certificate_requests", map[string]any{"csr": "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"}, 400, "invalid request"},
		{"missing CSR", nc, "POST", "/api/v1/certificate_requests", map[string]any{}, 400, "csr is required"},
		{"body not JSON", nc, "POST", "/api/v1/certificate_requests", "csr=1", 400, "invalid JSON format"},
		{"unknown CA", nc, "POST", "/api/v1/certificate_requests/" + id + "/sign", map[string]any{"certificate_authority_id": "424242"}, 404, "not found"},
		{"CA id missing", nc, "POST", "/api/v1/certificate_requests/" + id + "/sign", map[string]any{}, 400, "certificate_authority_id is required"},
		{"CA without a notary profile", nc, "POST", "/api/v1/certificate_requests/" + id + "/sign", map[string]any{"certificate_authority_id": root}, 400, "notary"},
		{"requester may not sign", rq, "POST", "/api/v1/certificate_requests/" + id + "/sign", map[string]any{"certificate_authority_id": issuing}, 403, "forbidden"},
		{"requester sees only own requests", rq, "GET", "/api/v1/certificate_requests/" + id, nil, 404, "not found"},
		{"revoke without certificate", nc, "POST", "/api/v1/certificate_requests/" + id + "/certificate/revoke", nil, 400, "no certificate"},
		{"upload not a certificate", nc, "POST", "/api/v1/certificate_requests/" + id + "/certificate", map[string]any{"certificate": "hello"}, 400, "invalid request"},
		{"unknown CA crl", anon, "GET", "/api/v1/certificate_authorities/424242/crl", nil, 404, "not found"},
		{"unknown path", nc, "GET", "/api/v1/nothing", nil, 404, "not found"},
		{"wrong method", nc, "PUT", "/api/v1/certificate_requests", nil, 405, "method not allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantNotaryError(t, tc.c.do(t, tc.method, tc.path, tc.body), tc.status, tc.contains)
		})
	}
	// Every authenticated endpoint refuses a missing credential, and every
	// endpoint naming a request refuses an unknown one, in Notary's format.
	for _, ep := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/v1/accounts/me", nil},
		{"POST", "/api/v1/accounts", map[string]any{"email": "x@example.com", "password": "long enough password"}},
		{"GET", "/api/v1/certificate_authorities", nil},
		{"GET", "/api/v1/certificate_authorities/1", nil},
		{"GET", "/api/v1/certificate_requests", nil},
		{"POST", "/api/v1/certificate_requests", map[string]any{"csr": csr}},
		{"GET", "/api/v1/certificate_requests/{id}", nil},
		{"DELETE", "/api/v1/certificate_requests/{id}", nil},
		{"POST", "/api/v1/certificate_requests/{id}/certificate", map[string]any{"certificate": "x"}},
		{"DELETE", "/api/v1/certificate_requests/{id}/certificate", nil},
		{"POST", "/api/v1/certificate_requests/{id}/reject", nil},
		{"POST", "/api/v1/certificate_requests/{id}/sign", map[string]any{"certificate_authority_id": issuing}},
		{"POST", "/api/v1/certificate_requests/{id}/certificate/revoke", nil},
	} {
		t.Run("unauthenticated "+ep.method+" "+ep.path, func(t *testing.T) {
			wantNotaryError(t, anon.do(t, ep.method, strings.ReplaceAll(ep.path, "{id}", id), ep.body), 401, "unauthorized")
		})
		if strings.Contains(ep.path, "{id}") {
			t.Run("unknown id "+ep.method+" "+ep.path, func(t *testing.T) {
				body := ep.body
				if strings.HasSuffix(ep.path, "/certificate") && ep.method == "POST" {
					body = map[string]any{"certificate": externalChain(t, e, "err")}
				}
				wantNotaryError(t, nc.do(t, ep.method, strings.ReplaceAll(ep.path, "{id}", "31337"), body), 404, "not found")
			})
		}
	}
	// Refusals are audited with the vendor path: the anonymous 401 and the requester's 403.
	for _, tc := range []struct{ action, object string }{
		{"auth.failed", "GET /api/v1/certificate_requests"},
		{"authz.denied", "POST /api/v1/certificate_requests/" + id + "/sign"},
	} {
		evs := e.Must(t, 200, "GET", "/api/v1/audit-events?action="+tc.action+"&object_id="+url.QueryEscape(tc.object), admin, nil).Map(t)["items"].([]any)
		if len(evs) == 0 {
			t.Errorf("no %s event for %s", tc.action, tc.object)
		}
	}
	// The request is still Outstanding after all that, and the requester's own list is empty.
	if st := nc.must(t, 200, "GET", "/api/v1/certificate_requests/"+id, nil).object(t)["status"]; st != "Outstanding" {
		t.Fatalf("status after refusals: %v", st)
	}
	if l := rq.must(t, 200, "GET", "/api/v1/certificate_requests", nil).result(t).([]any); len(l) != 0 {
		t.Fatalf("requester sees %d requests", len(l))
	}
}

// BenchmarkNotaryCreateAndSign measures one Notary request created and
// signed over HTTP (two calls, one issuance) on SQLite.
func BenchmarkNotaryCreateAndSign(b *testing.B) {
	e := &env{Server: testutil.StartServer(b), dir: b.TempDir(), principals: map[string]string{}}
	e.Must(b, 201, "POST", "/api/v1/profiles", admin, map[string]any{"name": "notary-tls", "template": "tls-server",
		"ca": "signet-issuing", "enrollment_methods": []string{"notary"}})
	testutil.Openssl(b, e.dir, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", "b.key", "-subj", "/CN=bench.banana.com", "-out", "b.csr")
	csr, err := os.ReadFile(filepath.Join(e.dir, "b.csr"))
	if err != nil {
		b.Fatal(err)
	}
	var caID int64
	for _, c := range e.Must(b, 200, "GET", "/compat/notary/api/v1/certificate_authorities", admin, nil).Map(b)["result"].([]any) {
		if m := c.(map[string]any); m["name"] == "signet-issuing" {
			caID = int64(m["id"].(float64))
		}
	}
	sign := map[string]any{"certificate_authority_id": caID}
	b.ResetTimer()
	for b.Loop() {
		id := int64(e.Must(b, 201, "POST", "/compat/notary/api/v1/certificate_requests", admin, map[string]any{"csr": string(csr)}).Map(b)["result"].(map[string]any)["id"].(float64))
		e.Must(b, 200, "POST", "/compat/notary/api/v1/certificate_requests/"+strconv.FormatInt(id, 10)+"/sign", admin, sign)
	}
}

// firstCSR makes a throwaway ECDSA CSR.
func firstCSR(t *testing.T, e *env) string {
	t.Helper()
	_, csr := e.csr(t, "probe", "/CN=probe.banana.com", "", ecKey...)
	return csr
}

// TestNotaryManualApproval signs through a CA whose notary profile needs
// approval: the request stays Outstanding until a Signet manager approves
// the pending Signet request, then reads Active and can be revoked.
func TestNotaryManualApproval(t *testing.T) {
	e := newEnv(t)
	e.Must(t, 201, "POST", "/api/v1/cas", admin, map[string]any{"name": "dept-issuing", "kind": "intermediate", "parent": "signet-root",
		"key": map[string]any{"algorithm": "ecdsa", "bits": 256}, "subject": map[string]any{"common_name": "Dept Issuing CA"}, "validity_days": 365})
	e.Must(t, 201, "POST", "/api/v1/profiles", admin, map[string]any{"name": "dept-notary", "template": "tls-server",
		"ca": "dept-issuing", "approval": "manual", "enrollment_methods": []string{"notary"}})
	mgr := newNotary(t, e)
	mgr.bearer = e.newKey(t, "notary-mgr", "manager")
	caID := mgr.caIntID(t, "dept-issuing")
	_, csr := e.csr(t, "manual", "/CN=manual.banana.com", "", ecKey...)
	id := strconv.FormatInt(int64(mgr.must(t, 201, "POST", "/api/v1/certificate_requests", map[string]any{"csr": csr}).object(t)["id"].(float64)), 10)
	mgr.must(t, 200, "POST", "/api/v1/certificate_requests/"+id+"/sign", map[string]any{"certificate_authority_id": caID})
	if st := mgr.must(t, 200, "GET", "/api/v1/certificate_requests/"+id, nil).object(t)["status"]; st != "Outstanding" {
		t.Fatalf("awaiting approval: %v", st)
	}
	// Signing again while the Signet request is pending is refused.
	wantNotaryError(t, mgr.do(t, "POST", "/api/v1/certificate_requests/"+id+"/sign", map[string]any{"certificate_authority_id": caID}), 400, "not outstanding")
	pending := e.Must(t, 200, "GET", "/api/v1/requests?status=pending", admin, nil).Map(t)["items"].([]any)
	if len(pending) != 1 || pending[0].(map[string]any)["enrollment_method"] != "notary" {
		t.Fatalf("pending Signet requests: %v", pending)
	}
	e.Must(t, 200, "POST", "/api/v1/requests/"+pending[0].(map[string]any)["id"].(string)+"/approve", admin, nil)
	got := mgr.must(t, 200, "GET", "/api/v1/certificate_requests/"+id, nil).object(t)
	if got["status"] != "Active" {
		t.Fatalf("after approval: %v", got)
	}
	if leaf := pemCerts(t, got["certificate_chain"].(string))[0]; leaf.Issuer.CommonName != "Dept Issuing CA" {
		t.Fatalf("issuer: %s", leaf.Issuer)
	}
	mgr.must(t, 200, "POST", "/api/v1/certificate_requests/"+id+"/certificate/revoke", nil)
	if st := mgr.must(t, 200, "GET", "/api/v1/certificate_requests/"+id, nil).object(t)["status"]; st != "Revoked" {
		t.Fatalf("after revoke: %v", st)
	}
	// A manager's rejection in Signet reads Rejected here.
	id2 := strconv.FormatInt(int64(mgr.must(t, 201, "POST", "/api/v1/certificate_requests", map[string]any{"csr": csr}).object(t)["id"].(float64)), 10)
	mgr.must(t, 200, "POST", "/api/v1/certificate_requests/"+id2+"/sign", map[string]any{"certificate_authority_id": caID})
	pending = e.Must(t, 200, "GET", "/api/v1/requests?status=pending", admin, nil).Map(t)["items"].([]any)
	if len(pending) != 1 {
		t.Fatalf("pending Signet requests: %v", pending)
	}
	e.Must(t, 200, "POST", "/api/v1/requests/"+pending[0].(map[string]any)["id"].(string)+"/reject", admin, map[string]any{"reason": "not for this CA"})
	if st := mgr.must(t, 200, "GET", "/api/v1/certificate_requests/"+id2, nil).object(t)["status"]; st != "Rejected" {
		t.Fatalf("after a Signet rejection: %v", st)
	}
}
