package test

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/testutil"
)

// upstreamTemplate allows *.upstream.test names, server keygen and 90 days.
func (e *env) upstreamTemplate(t *testing.T, name string) {
	t.Helper()
	e.Must(t, 201, "POST", "/api/v1/templates", admin, map[string]any{"name": name, "spec": map[string]any{
		"key_types":         []any{map[string]any{"algorithm": "ecdsa", "min_bits": 256}, map[string]any{"algorithm": "rsa", "min_bits": 2048}},
		"subject":           []any{map[string]any{"field": "common_name"}},
		"sans":              map[string]any{"dns": []string{"*.upstream.test"}},
		"ext_key_usages":    []string{"server_auth"},
		"max_validity_days": 90, "allow_key_generation": true,
	}})
}

func parsePEMCert(t *testing.T, s string) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		t.Fatalf("no PEM certificate in %q", s)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestUpstreamProfileIssuerTypes(t *testing.T) {
	e := newEnv(t)
	e.upstreamTemplate(t, "up")
	cases := []struct {
		name string
		body map[string]any
		want int
		code string
	}{
		{"internal default", map[string]any{"ca": "signet-issuing"}, 201, ""},
		{"internal without CA", map[string]any{"issuer_type": "internal"}, 400, "not_found"},
		{"self-signed", map[string]any{"issuer_type": "self_signed"}, 201, ""},
		{"self-signed with CA", map[string]any{"issuer_type": "self_signed", "ca": "signet-issuing"}, 400, "invalid"},
		{"external without connector", map[string]any{"issuer_type": "external"}, 400, "required"},
		{"external, unknown connector", map[string]any{"issuer_type": "external", "connector": "nope"}, 400, "not_found"},
		{"unknown issuer type", map[string]any{"issuer_type": "magic"}, 400, "invalid"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := map[string]any{"name": "p" + string(rune('a'+i)), "template": "up"}
			for k, v := range c.body {
				body[k] = v
			}
			r := e.Must(t, c.want, "POST", "/api/v1/profiles", admin, body)
			m := r.Map(t)
			if c.want == 201 {
				want := c.body["issuer_type"]
				if want == nil {
					want = "internal"
				}
				if m["issuer_type"] != want {
					t.Errorf("issuer_type = %v, want %v", m["issuer_type"], want)
				}
				return
			}
			if !slices.Contains(violationCodes(m), c.code) {
				t.Errorf("violations %v lack %s: %s", violationCodes(m), c.code, r.Body)
			}
		})
	}
}

func TestUpstreamSelfSignedIssuance(t *testing.T) {
	e := newEnv(t)
	e.upstreamTemplate(t, "up")
	e.Must(t, 201, "POST", "/api/v1/profiles", admin, map[string]any{"name": "self", "template": "up", "issuer_type": "self_signed"})
	r := e.Must(t, 201, "POST", "/api/v1/certificates", admin, map[string]any{"profile": "self",
		"keygen": map[string]any{"algorithm": "ecdsa", "bits": 256}, "subject": map[string]any{"common_name": "a.upstream.test"},
		"sans": []string{"a.upstream.test"}})
	var out struct {
		Certificate struct {
			PEM string `json:"certificate_pem"`
			CA  string `json:"ca_id"`
		} `json:"certificate"`
		Key string `json:"private_key_pem"`
	}
	r.JSON(t, &out)
	cert := parsePEMCert(t, out.Certificate.PEM)
	if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		t.Errorf("certificate does not sign itself: %v", err)
	}
	if out.Certificate.CA != "" || cert.Issuer.String() != cert.Subject.String() || out.Key == "" {
		t.Errorf("self-signed: ca_id %q issuer %q subject %q key %v", out.Certificate.CA, cert.Issuer, cert.Subject, out.Key != "")
	}
	// Its key must be the one delivered.
	kb, _ := pem.Decode([]byte(out.Key))
	key, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		key, err = x509.ParseECPrivateKey(kb.Bytes)
	}
	if err != nil || !publicEqual(t, key.(crypto.Signer).Public(), cert.PublicKey) {
		t.Errorf("delivered key does not match: %v", err)
	}
	// A CSR cannot be self-signed by Signet.
	_, csr := e.csr(t, "self", "/CN=b.upstream.test", "DNS:b.upstream.test", ecKey...)
	bad := e.Must(t, 400, "POST", "/api/v1/certificates", admin, map[string]any{"profile": "self", "csr": csr})
	if bad.Map(t)["code"] != "self_signed_requires_keygen" {
		t.Errorf("CSR on self-signed profile: %s", bad.Body)
	}
	// Revocation is local: nobody upstream to tell.
	serial := cert.SerialNumber.Text(16)
	if m := e.Must(t, 200, "POST", "/api/v1/certificates/"+serial+"/revoke", admin, map[string]any{"reason": "superseded"}).Map(t); m["status"] != "revoked" {
		t.Errorf("revoke: %v", m)
	}
}

func publicEqual(t *testing.T, a, b any) bool {
	t.Helper()
	x, err1 := x509.MarshalPKIXPublicKey(a)
	y, err2 := x509.MarshalPKIXPublicKey(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

func TestUpstreamConnectorAPI(t *testing.T) {
	e := newEnv(t)
	sca := newStepCA(t) // configured, not started: creating a connector calls nobody
	body := sca.connectorBody("step")
	r := e.Must(t, 201, "POST", "/api/v1/connectors", admin, body)
	if strings.Contains(string(r.Body), `"d"`) || strings.Contains(string(r.Body), "provisioner_key\":\"{") {
		t.Fatalf("create response leaks the secret: %s", r.Body)
	}
	m := r.Map(t)
	if m["type"] != "stepca" || m["status"] != "active" || !slices.Contains(anyStrings(m["secret_names"]), "provisioner_key") {
		t.Fatalf("connector: %v", m)
	}
	id := m["id"].(string)
	for _, path := range []string{"/api/v1/connectors/" + id, "/api/v1/connectors/step", "/api/v1/connectors"} {
		got := e.Must(t, 200, "GET", path, admin, nil)
		if strings.Contains(string(got.Body), "sealed") || strings.Contains(string(got.Body), `"d"`) {
			t.Errorf("GET %s leaks secrets: %s", path, got.Body)
		}
	}
	requester := e.newKey(t, "req", "requester")
	manager := e.newKey(t, "mgr", "manager")
	e.Must(t, 403, "POST", "/api/v1/connectors", requester, sca.connectorBody("nope"))
	e.Must(t, 200, "GET", "/api/v1/connectors/step", requester, nil)
	e.Must(t, 201, "POST", "/api/v1/connectors", manager, sca.connectorBody("step2"))
	e.Must(t, 409, "POST", "/api/v1/connectors", admin, sca.connectorBody("step"))
	bad := e.Must(t, 400, "POST", "/api/v1/connectors", admin, map[string]any{"name": "Bad Name", "type": "nosuch"})
	if codes := violationCodes(bad.Map(t)); len(codes) < 2 {
		t.Errorf("want every violation: %s", bad.Body)
	}
	badKey := sca.connectorBody("badkey")
	badKey["secrets"] = map[string]any{"provisioner_key": `{"kty":"EC"}`}
	e.Must(t, 400, "POST", "/api/v1/connectors", admin, badKey)
	e.Must(t, 404, "GET", "/api/v1/connectors/nosuch", admin, nil)
	// Disabling keeps it; a profile pins it; deleting a used connector is refused.
	if m := e.Must(t, 200, "PATCH", "/api/v1/connectors/step", admin, map[string]any{"status": "disabled"}).Map(t); m["status"] != "disabled" {
		t.Errorf("disable: %v", m)
	}
	e.upstreamTemplate(t, "up")
	e.Must(t, 201, "POST", "/api/v1/profiles", admin, map[string]any{"name": "ext", "template": "up", "issuer_type": "external", "connector": "step"})
	e.Must(t, 409, "DELETE", "/api/v1/connectors/step", admin, nil)
	e.Must(t, 204, "DELETE", "/api/v1/connectors/step2", admin, nil)
	e.Must(t, 404, "GET", "/api/v1/connectors/step2", admin, nil)
}

func anyStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// externalEnv is a Signet server with a profile "ext" issuing through a
// step-ca connector "step".
func externalEnv(t *testing.T, sca *stepCA) *env {
	t.Helper()
	e := newEnv(t)
	e.Must(t, 201, "POST", "/api/v1/connectors", admin, sca.connectorBody("step"))
	e.upstreamTemplate(t, "up")
	e.Must(t, 201, "POST", "/api/v1/profiles", admin, map[string]any{"name": "ext", "template": "up",
		"issuer_type": "external", "connector": "step", "default_validity_days": 30})
	return e
}

type enrolled struct {
	Request struct {
		ID, Status, Reason string
		Serial             string `json:"certificate_serial"`
	} `json:"request"`
	Certificate *struct {
		Serial, Issuer, Status string
		CAID                   string `json:"ca_id"`
		PEM                    string `json:"certificate_pem"`
		RenewedFrom            string `json:"renewed_from"`
	} `json:"certificate"`
	Chain string `json:"chain_pem"`
	Key   string `json:"private_key_pem"`
}

func TestUpstreamStepCAIssueRenewRevoke(t *testing.T) {
	sca := newStepCA(t)
	sca.start(t)
	e := externalEnv(t, sca)
	_, csr := e.csr(t, "web", "/CN=web.upstream.test", "DNS:web.upstream.test", ecKey...)
	var got enrolled
	e.Must(t, 201, "POST", "/api/v1/certificates", admin, map[string]any{"profile": "ext", "csr": csr}).JSON(t, &got)
	if got.Certificate == nil || got.Request.Status != "issued" || got.Certificate.CAID != "" {
		t.Fatalf("enroll: %+v", got)
	}
	leaf := parsePEMCert(t, got.Certificate.PEM)
	roots := x509.NewCertPool()
	roots.AddCert(sca.root)
	inter := x509.NewCertPool()
	for _, c := range pemCerts(t, got.Chain) {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: "web.upstream.test"}); err != nil {
		t.Fatalf("certificate does not chain to step-ca's root: %v", err)
	}
	if d := leaf.NotAfter.Sub(leaf.NotBefore); d < 29*24*time.Hour || d > 31*24*time.Hour {
		t.Errorf("validity %v, want the profile's 30 days", d)
	}
	// The usual pickup paths: the request, the inventory, downloads with the chain.
	req := e.Must(t, 200, "GET", "/api/v1/requests/"+got.Request.ID, admin, nil).Map(t)
	if req["status"] != "issued" || req["certificate_serial"] != got.Certificate.Serial {
		t.Errorf("request: %v", req)
	}
	chain := e.Must(t, 200, "GET", "/api/v1/certificates/"+got.Certificate.Serial+"/download?format=chain", admin, nil)
	if n := len(pemCerts(t, string(chain.Body))); n < 2 {
		t.Errorf("download chain has %d certificates, want leaf + intermediate", n)
	}

	// Server-side keygen: Signet makes the CSR with the key it generated.
	var kg enrolled
	e.Must(t, 201, "POST", "/api/v1/certificates", admin, map[string]any{"profile": "ext",
		"keygen": map[string]any{"algorithm": "ecdsa", "bits": 256}, "subject": map[string]any{"common_name": "kg.upstream.test"},
		"sans": []string{"kg.upstream.test"}}).JSON(t, &kg)
	if kg.Certificate == nil || kg.Key == "" {
		t.Fatalf("keygen enroll: %+v", kg)
	}

	// Renewal goes upstream too and links the two.
	_, csr2 := e.csr(t, "web2", "/CN=web.upstream.test", "DNS:web.upstream.test", ecKey...)
	var ren enrolled
	e.Must(t, 201, "POST", "/api/v1/certificates/"+got.Certificate.Serial+"/renew", admin, map[string]any{"csr": csr2}).JSON(t, &ren)
	if ren.Certificate == nil || ren.Certificate.RenewedFrom != got.Certificate.Serial || ren.Certificate.Serial == got.Certificate.Serial {
		t.Fatalf("renew: %+v", ren)
	}
	if _, err := parsePEMCert(t, ren.Certificate.PEM).Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter}); err != nil {
		t.Errorf("renewed certificate does not chain: %v", err)
	}

	// A hold cannot be sent upstream, so it is refused rather than kept
	// only in Signet's record.
	if r := e.Do(t, "POST", "/api/v1/certificates/"+ren.Certificate.Serial+"/suspend", admin, nil); r.Status != 409 ||
		r.Map(t)["code"] != "certificate_external_hold" {
		t.Fatalf("suspend of an external certificate: %d %s", r.Status, r.Body)
	}
	// Revocation is sent upstream: step-ca's own CRL lists the serial.
	e.Must(t, 200, "POST", "/api/v1/certificates/"+ren.Certificate.Serial+"/revoke", admin, map[string]any{"reason": "key_compromise"})
	renLeaf := parsePEMCert(t, ren.Certificate.PEM)
	if !crlLists(sca.crl(t), renLeaf.SerialNumber) {
		t.Errorf("step-ca's CRL does not list revoked serial %s", ren.Certificate.Serial)
	}
	if m := e.Must(t, 200, "GET", "/api/v1/certificates/"+ren.Certificate.Serial, admin, nil).Map(t); m["status"] != "revoked" {
		t.Errorf("local status after revoke: %v", m["status"])
	}

	// Health, usage and audit, without secrets.
	c := e.Must(t, 200, "GET", "/api/v1/connectors/step", admin, nil).Map(t)
	stats := c["stats"].(map[string]any)
	if stats["issued"].(float64) != 3 || stats["revoked"].(float64) != 1 || stats["last_success"] == nil {
		t.Errorf("stats: %v", stats)
	}
	audit := e.Must(t, 200, "GET", "/api/v1/audit-events?action=connector.&limit=100", admin, nil)
	for _, want := range []string{"connector.create", "connector.issue", "connector.revoke"} {
		if !strings.Contains(string(audit.Body), want) {
			t.Errorf("audit lacks %s", want)
		}
	}
	if strings.Contains(string(audit.Body), sca.provKeyJSON[:20]) || strings.Contains(string(audit.Body), `"d":`) {
		t.Errorf("audit leaks the provisioner key")
	}
}

func crlLists(crl *x509.RevocationList, serial *big.Int) bool {
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(serial) == 0 {
			return true
		}
	}
	return false
}

// TestUpstreamStepCADownThenBack: while the upstream is down, requests stay
// pending_upstream with the reason and nothing is lost; they complete once
// it answers again. A definitive refusal fails the request with the
// upstream's words.
func TestUpstreamStepCADownThenBack(t *testing.T) {
	sca := newStepCA(t) // not started yet
	e := externalEnv(t, sca)
	var ids []string
	for i, name := range []string{"one", "two"} {
		_, csr := e.csr(t, name, "/CN="+name+".upstream.test", "DNS:"+name+".upstream.test", ecKey...)
		var got enrolled
		e.Must(t, 202, "POST", "/api/v1/certificates", admin, map[string]any{"profile": "ext", "csr": csr}).JSON(t, &got)
		if got.Request.Status != "pending_upstream" || !strings.Contains(got.Request.Reason, "connection refused") {
			t.Fatalf("enroll %d while upstream is down: %+v", i, got)
		}
		ids = append(ids, got.Request.ID)
	}
	req := e.Must(t, 200, "GET", "/api/v1/requests/"+ids[0], admin, nil).Map(t)
	if req["status"] != "pending_upstream" || req["reason"] == "" {
		t.Errorf("pending request: %v", req)
	}
	if stats := e.Must(t, 200, "GET", "/api/v1/connectors/step", admin, nil).Map(t)["stats"].(map[string]any); stats["last_error"] == nil || stats["failed"].(float64) < 2 {
		t.Errorf("stats while down: %v", stats)
	}

	sca.start(t)
	deadline := time.Now().Add(45 * time.Second)
	for _, id := range ids {
		for {
			r := e.Must(t, 200, "GET", "/api/v1/requests/"+id, admin, nil).Map(t)
			if r["status"] == "issued" {
				if r["reason"] != nil && r["reason"] != "" {
					t.Errorf("issued request keeps reason %v", r["reason"])
				}
				e.Must(t, 200, "GET", "/api/v1/certificates/"+r["certificate_serial"].(string), admin, nil)
				break
			}
			if r["status"] != "pending_upstream" || time.Now().After(deadline) {
				t.Fatalf("request %s did not complete after the upstream came back: %v", id, r)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}

	// step-ca refuses validity beyond its provisioner's maximum (1000h):
	// the request fails with step-ca's reason instead of retrying forever.
	_, csr := e.csr(t, "long", "/CN=long.upstream.test", "DNS:long.upstream.test", ecKey...)
	r := e.Must(t, 400, "POST", "/api/v1/certificates", admin, map[string]any{"profile": "ext", "csr": csr, "validity_days": 60}).Map(t)
	if r["code"] != "upstream_rejected" {
		t.Errorf("over-long request: %v", r)
	}
	reqs := e.Must(t, 200, "GET", "/api/v1/requests?status=failed", admin, nil)
	if !strings.Contains(string(reqs.Body), "upstream rejected") {
		t.Errorf("failed request lacks the upstream's reason: %s", reqs.Body)
	}
}

// TestUpstreamStepCAWrongKeyThenFixed: a connector holding another
// provisioner key gets step-ca's 401, which is the connector's
// configuration, not this request's fault: the request waits as
// pending_upstream with the reason, and completes once an admin puts the
// right key in (decision 33). A 403-class refusal of the request itself
// still fails it (TestUpstreamStepCADownThenBack's over-long validity).
func TestUpstreamStepCAWrongKeyThenFixed(t *testing.T) {
	sca := newStepCA(t)
	sca.start(t)
	e := externalEnv(t, sca)
	right := sca.connectorBody("step")["secrets"]
	other := newStepCA(t) // a provisioner key step-ca does not know
	e.Must(t, 200, "PATCH", "/api/v1/connectors/step", admin, map[string]any{"secrets": other.connectorBody("step")["secrets"]})

	_, csr := e.csr(t, "wrongkey", "/CN=wrongkey.upstream.test", "DNS:wrongkey.upstream.test", ecKey...)
	var got enrolled
	e.Must(t, 202, "POST", "/api/v1/certificates", admin, map[string]any{"profile": "ext", "csr": csr}).JSON(t, &got)
	if got.Request.Status != "pending_upstream" || !strings.Contains(got.Request.Reason, "401") ||
		!strings.Contains(got.Request.Reason, "provisioner") {
		t.Fatalf("enrolled with a wrong provisioner key: %+v", got.Request)
	}
	e.Must(t, 200, "PATCH", "/api/v1/connectors/step", admin, map[string]any{"secrets": right})
	deadline := time.Now().Add(45 * time.Second)
	for {
		r := e.Must(t, 200, "GET", "/api/v1/requests/"+got.Request.ID, admin, nil).Map(t)
		if r["status"] == "issued" {
			e.Must(t, 200, "GET", "/api/v1/certificates/"+r["certificate_serial"].(string), admin, nil)
			return
		}
		if r["status"] != "pending_upstream" || time.Now().After(deadline) {
			t.Fatalf("request after the key was fixed: %v", r)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// TestUpstreamPendingThroughCompatAPIs: a client of the DigiCert or Sectigo
// API enrolling through an external profile while the upstream is down
// sees the vendor's own "pending" (pickup status, collect -1400), then
// picks the certificate up through the same paths once the upstream is back.
func TestUpstreamPendingThroughCompatAPIs(t *testing.T) {
	sca := newStepCA(t) // not started yet
	e := externalEnv(t, sca)
	prof := e.Must(t, 201, "POST", "/api/v1/profiles", admin, map[string]any{"name": "ext-compat", "template": "up",
		"issuer_type": "external", "connector": "step", "default_validity_days": 30,
		"enrollment_methods": []string{"api", "sectigo"}}).Map(t)
	profID := prof["id"].(string)

	// DigiCert: issue answers the request id, pickup says pending.
	_, csr := e.csr(t, "dc", "/CN=dc.upstream.test", "DNS:dc.upstream.test", ecKey...)
	r := e.Do(t, "POST", "/compat/digicert/mpki/api/v1/certificate", "", map[string]any{"profile": map[string]any{"id": profID},
		"seat": map[string]any{"seat_id": "dc.upstream.test"}, "csr": csr}, "x-api-key", admin)
	if r.Status != 201 {
		t.Fatalf("DigiCert issue while the upstream is down: %d %s", r.Status, r.Body)
	}
	reqID, _ := r.Map(t)["request_id"].(string)
	pickup := func() map[string]any {
		r := e.Do(t, "GET", "/compat/digicert/mpki/api/v1/certificate-pickup/"+reqID, "", nil, "x-api-key", admin)
		if r.Status != 200 {
			t.Fatalf("DigiCert pickup: %d %s", r.Status, r.Body)
		}
		return r.Map(t)
	}
	if m := pickup(); reqID == "" || m["status"] != "pending" {
		t.Fatalf("DigiCert pickup while pending upstream: %v", m)
	}

	// Sectigo: enroll answers an sslId, collect says "being processed".
	hdr := []string{"login", "admin", "password", admin, "customerUri", "default"}
	var types []struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
	}
	e.Must(t, 200, "GET", "/compat/sectigo/api/ssl/v1/types", "", nil, hdr...).JSON(t, &types)
	certType := 0
	for _, ty := range types {
		if ty.Name == "ext-compat" {
			certType = ty.ID
		}
	}
	var orgs []struct {
		ID int `json:"id"`
	}
	e.Must(t, 200, "GET", "/compat/sectigo/api/organization/v1", "", nil, hdr...).JSON(t, &orgs)
	if certType == 0 || len(orgs) == 0 {
		t.Fatalf("Sectigo types %v / organizations %v lack the external profile", types, orgs)
	}
	_, csr2 := e.csr(t, "sc", "/CN=sc.upstream.test", "DNS:sc.upstream.test", ecKey...)
	var enr struct {
		SSLID int `json:"sslId"`
	}
	e.Must(t, 200, "POST", "/compat/sectigo/api/ssl/v1/enroll", "", map[string]any{"orgId": orgs[0].ID, "csr": csr2,
		"subjAltNames": "sc.upstream.test", "certType": certType, "term": 30}, hdr...).JSON(t, &enr)
	collect := func() *testutil.Response {
		return e.Do(t, "GET", fmt.Sprintf("/compat/sectigo/api/ssl/v1/collect/%d?format=x509CO", enr.SSLID), "", nil, hdr...)
	}
	if r := collect(); r.Status != 400 || r.Map(t)["code"] != float64(-1400) {
		t.Fatalf("Sectigo collect while pending upstream: %d %s", r.Status, r.Body)
	}
	if r := e.Do(t, "GET", fmt.Sprintf("/compat/sectigo/api/ssl/v1/%d", enr.SSLID), "", nil, hdr...); r.Map(t)["status"] != "Approved" {
		t.Fatalf("Sectigo status while pending upstream: %s", r.Body)
	}

	sca.start(t)
	deadline := time.Now().Add(45 * time.Second)
	for {
		m := pickup()
		r := collect()
		if m["status"] == "issued" && r.Status == 200 {
			if !strings.Contains(m["certificate"].(string), "BEGIN CERTIFICATE") || !strings.Contains(string(r.Body), "BEGIN CERTIFICATE") {
				t.Fatalf("picked-up certificates: %v / %s", m, r.Body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not issued after the upstream came back: pickup %v, collect %d %s", m, r.Status, r.Body)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
