package test

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/testutil"
)

// vendorCA is a second Signet, over HTTPS, playing DigiCert and Sectigo
// through its own compatibility APIs (/compat/digicert, /compat/sectigo).
// It has a template for *.upstream.test of at most 60 days, and two
// profiles open to both APIs: vendor-auto (issues at once) and
// vendor-manual (a manager approves). The broker is a service account
// "broker" whose API key is the DigiCert api_key and the Sectigo password.
type vendorCA struct {
	*env
	rootPEM   string
	rootPath  string
	brokerKey string
	profileID map[string]string // vendor-auto, vendor-manual -> profile id (DigiCert profile_id)
	certType  map[string]int64  // the same -> Sectigo certType
	orgID     int64             // Sectigo orgId of customer "default"
}

func newVendorCA(t *testing.T) *vendorCA {
	t.Helper()
	v := &vendorCA{env: &env{Server: testutil.StartTLSServer(t), dir: t.TempDir(), principals: map[string]string{}},
		profileID: map[string]string{}, certType: map[string]int64{}}
	v.Must(t, 201, "POST", "/api/v1/templates", admin, map[string]any{"name": "vendor", "spec": map[string]any{
		"key_types":         []any{map[string]any{"algorithm": "ecdsa", "min_bits": 256}, map[string]any{"algorithm": "rsa", "min_bits": 2048}},
		"subject":           []any{map[string]any{"field": "common_name"}},
		"sans":              map[string]any{"dns": []string{"*.upstream.test"}},
		"ext_key_usages":    []string{"server_auth"},
		"max_validity_days": 60,
	}})
	for name, approval := range map[string]string{"vendor-auto": "auto", "vendor-manual": "manual"} {
		p := v.Must(t, 201, "POST", "/api/v1/profiles", admin, map[string]any{"name": name, "template": "vendor", "ca": "signet-issuing",
			"approval": approval, "enrollment_methods": []string{"api", "sectigo"}, "default_validity_days": 30}).Map(t)
		v.profileID[name] = p["id"].(string)
	}
	v.brokerKey = v.newKey(t, "broker", "manager")
	root, err := os.ReadFile(filepath.Join(v.DataDir, "ca-root.pem"))
	if err != nil {
		t.Fatal(err)
	}
	v.rootPEM, v.rootPath = string(root), filepath.Join(v.DataDir, "ca-root.pem")

	// The Sectigo ids the document's clients look up: certificate types and the organization.
	var types []struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	v.Must(t, 200, "GET", "/compat/sectigo/api/ssl/v1/types", "", nil, v.sectigoHeaders()...).JSON(t, &types)
	for _, ty := range types {
		v.certType[ty.Name] = ty.ID
	}
	var orgs []struct {
		ID int64 `json:"id"`
	}
	v.Must(t, 200, "GET", "/compat/sectigo/api/organization/v1", "", nil, v.sectigoHeaders()...).JSON(t, &orgs)
	if len(orgs) == 0 || v.certType["vendor-auto"] == 0 || v.certType["vendor-manual"] == 0 {
		t.Fatalf("sectigo setup: orgs %v, types %v", orgs, types)
	}
	v.orgID = orgs[0].ID
	return v
}

func (v *vendorCA) sectigoHeaders() []string {
	return []string{"login", "broker", "password", v.brokerKey, "customerUri", "default"}
}

// connectorBody is a connector of type vendor ("digicert" or "sectigo") to
// profile prof of the vendor, authenticating with secret.
func (v *vendorCA) connectorBody(vendor, name, prof, secret string) map[string]any {
	if vendor == "digicert" {
		return map[string]any{"name": name, "type": "digicert", "config": map[string]any{
			"url": v.URL + "/compat/digicert", "profile_id": v.profileID[prof], "root_pem": v.rootPEM},
			"secrets": map[string]any{"api_key": secret}}
	}
	return map[string]any{"name": name, "type": "sectigo", "config": map[string]any{
		"url": v.URL + "/compat/sectigo", "customer_uri": "default", "login": "broker",
		// As the CLI sends them (text) and as JSON numbers: both are accepted.
		"org_id": fmt.Sprint(v.orgID), "cert_type": v.certType[prof], "root_pem": v.rootPEM},
		"secrets": map[string]any{"password": secret}}
}

// pendingFor finds the vendor's pending request whose CSR names cn.
func (v *vendorCA) pendingFor(t *testing.T, cn string) string {
	t.Helper()
	var page struct {
		Items []struct {
			ID  string `json:"id"`
			CSR string `json:"csr"`
		} `json:"items"`
	}
	v.Must(t, 200, "GET", "/api/v1/requests?status=pending&limit=200", admin, nil).JSON(t, &page)
	for _, r := range page.Items {
		b, _ := pem.Decode([]byte(r.CSR))
		if b == nil {
			continue
		}
		if csr, err := x509.ParseCertificateRequest(b.Bytes); err == nil && csr.Subject.CommonName == cn {
			return r.ID
		}
	}
	t.Fatalf("the vendor has no pending request for %s: %+v", cn, page.Items)
	return ""
}

// verifyVendorChain checks with openssl that leafPEM chains (through
// chainPEM) to the vendor's root, and nothing else's.
func (e *env) verifyVendorChain(t *testing.T, v *vendorCA, name, leafPEM, chainPEM string) {
	t.Helper()
	leaf := testutil.WriteFile(t, e.dir, name+".crt", []byte(leafPEM))
	chain := testutil.WriteFile(t, e.dir, name+"-chain.pem", []byte(chainPEM))
	out := testutil.Openssl(t, e.dir, "verify", "-CAfile", v.rootPath, "-untrusted", chain, "-purpose", "sslserver", leaf)
	if !strings.Contains(out, ": OK") {
		t.Fatalf("openssl verify against the vendor's root: %s", out)
	}
	if o, err := testutil.OpensslErr(e.dir, "verify", "-CAfile", e.rootFile(t), "-untrusted", chain, leaf); err == nil && strings.Contains(o, ": OK") {
		t.Fatalf("the certificate chains to the broker's own root: the vendor did not sign it")
	}
}

// waitVendorIssued polls the broker's request until the job has finished it.
func (e *env) waitVendorIssued(t *testing.T, id string, within time.Duration) map[string]any {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		r := e.Must(t, 200, "GET", "/api/v1/requests/"+id, admin, nil).Map(t)
		if r["status"] == "issued" {
			return r
		}
		if r["status"] != "pending_upstream" || time.Now().After(deadline) {
			t.Fatalf("request %s did not complete upstream: %v", id, r)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

var upstreamVendors = []string{"digicert", "sectigo"}

// TestUpstreamVendorsIssuePickupRevoke: a Signet broker issues through a
// second Signet's DigiCert and Sectigo APIs: at once from an auto profile,
// after the vendor's approval from a manual one (pending_upstream, then the
// job's pickup, then the normal request and download paths), revokes
// upstream, and fails a request the vendor definitively refuses.
func TestUpstreamVendorsIssuePickupRevoke(t *testing.T) {
	v := newVendorCA(t)
	e := newEnv(t)
	e.upstreamTemplate(t, "up")
	for _, vendor := range upstreamVendors {
		t.Run(vendor, func(t *testing.T) {
			for _, kind := range []string{"auto", "manual"} {
				name := vendor + "-" + kind
				e.Must(t, 201, "POST", "/api/v1/connectors", admin, v.connectorBody(vendor, name, "vendor-"+kind, v.brokerKey))
				e.Must(t, 201, "POST", "/api/v1/profiles", admin, map[string]any{"name": name, "template": "up",
					"issuer_type": "external", "connector": name, "default_validity_days": 30})
			}

			// Immediate issuance: the certificate comes back in the enrollment's answer.
			cn := "now-" + vendor + ".upstream.test"
			_, csr := e.csr(t, "now-"+vendor, "/CN="+cn, "DNS:"+cn, ecKey...)
			var now enrolled
			e.Must(t, 201, "POST", "/api/v1/certificates", admin, map[string]any{"profile": vendor + "-auto", "csr": csr}).JSON(t, &now)
			if now.Certificate == nil || now.Request.Status != "issued" || now.Certificate.CAID != "" {
				t.Fatalf("immediate issuance: %+v", now)
			}
			e.verifyVendorChain(t, v, "now-"+vendor, now.Certificate.PEM, now.Chain)
			leaf := parsePEMCert(t, now.Certificate.PEM)
			if d := leaf.NotAfter.Sub(leaf.NotBefore); d < 29*24*time.Hour || d > 31*24*time.Hour {
				t.Errorf("validity %v, want the broker profile's 30 days", d)
			}
			if m := v.Must(t, 200, "GET", "/api/v1/certificates/"+now.Certificate.Serial, admin, nil).Map(t); m["status"] != "active" {
				t.Errorf("the vendor's inventory: %v", m)
			}

			// Renewal is a new order at the vendor, linked to its predecessor.
			_, csr = e.csr(t, "now2-"+vendor, "/CN="+cn, "DNS:"+cn, ecKey...)
			var ren enrolled
			e.Must(t, 201, "POST", "/api/v1/certificates/"+now.Certificate.Serial+"/renew", admin, map[string]any{"csr": csr}).JSON(t, &ren)
			if ren.Certificate == nil || ren.Certificate.RenewedFrom != now.Certificate.Serial || ren.Certificate.Serial == now.Certificate.Serial {
				t.Fatalf("renew: %+v", ren)
			}
			e.verifyVendorChain(t, v, "now2-"+vendor, ren.Certificate.PEM, ren.Chain)

			// Approval required: pending_upstream until the vendor's manager approves.
			cn = "wait-" + vendor + ".upstream.test"
			_, csr = e.csr(t, "wait-"+vendor, "/CN="+cn, "DNS:"+cn, ecKey...)
			var wait enrolled
			e.Must(t, 202, "POST", "/api/v1/certificates", admin, map[string]any{"profile": vendor + "-manual", "csr": csr}).JSON(t, &wait)
			if wait.Request.Status != "pending_upstream" || wait.Certificate != nil || wait.Request.Reason != "" {
				t.Fatalf("approval-required issuance: %+v", wait)
			}
			time.Sleep(2500 * time.Millisecond) // the job polls at least once: still pending
			if r := e.Must(t, 200, "GET", "/api/v1/requests/"+wait.Request.ID, admin, nil).Map(t); r["status"] != "pending_upstream" || r["reason"] != nil {
				t.Fatalf("before the vendor's approval: %v", r)
			}
			v.Must(t, 200, "POST", "/api/v1/requests/"+v.pendingFor(t, cn)+"/approve", admin, nil)
			req := e.waitVendorIssued(t, wait.Request.ID, 30*time.Second)
			serial := req["certificate_serial"].(string)
			cert := e.Must(t, 200, "GET", "/api/v1/certificates/"+serial, admin, nil).Map(t)
			chain := e.Must(t, 200, "GET", "/api/v1/certificates/"+serial+"/download?format=chain", admin, nil)
			e.verifyVendorChain(t, v, "wait-"+vendor, cert["certificate_pem"].(string), string(chain.Body))
			if len(pemCerts(t, string(chain.Body))) < 2 {
				t.Errorf("download chain lacks the vendor's issuer: %s", chain.Body)
			}

			// Revocation goes upstream; the vendor reports the certificate revoked.
			e.Must(t, 200, "POST", "/api/v1/certificates/"+serial+"/revoke", admin, map[string]any{"reason": "key_compromise"})
			if m := v.Must(t, 200, "GET", "/api/v1/certificates/"+serial, admin, nil).Map(t); m["status"] != "revoked" {
				t.Errorf("the vendor's status after revoking on the broker: %v", m["status"])
			}
			if m := e.Must(t, 200, "GET", "/api/v1/certificates/"+serial, admin, nil).Map(t); m["status"] != "revoked" {
				t.Errorf("the broker's status after revoking: %v", m["status"])
			}

			// The vendor's manager declines: the job fails the request with the
			// vendor's answer instead of polling forever.
			cn = "no-" + vendor + ".upstream.test"
			_, csr = e.csr(t, "no-"+vendor, "/CN="+cn, "DNS:"+cn, ecKey...)
			var no enrolled
			e.Must(t, 202, "POST", "/api/v1/certificates", admin, map[string]any{"profile": vendor + "-manual", "csr": csr}).JSON(t, &no)
			v.Must(t, 200, "POST", "/api/v1/requests/"+v.pendingFor(t, cn)+"/reject", admin, map[string]any{"reason": "not this one"})
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
				r := e.Must(t, 200, "GET", "/api/v1/requests/"+no.Request.ID, admin, nil).Map(t)
				if r["status"] == "failed" {
					if reason := fmt.Sprint(r["reason"]); !strings.Contains(reason, vendor) || !strings.Contains(strings.ToLower(reason), "reject") {
						t.Errorf("declined upstream, reason %q", reason)
					}
					break
				}
				if r["status"] != "pending_upstream" || time.Now().After(deadline) {
					t.Fatalf("request declined by the vendor: %v", r)
				}
			}

			// The vendor's template allows 60 days at most: a definitive refusal
			// fails the request with the vendor's words, instead of retrying.
			cn = "long-" + vendor + ".upstream.test"
			_, csr = e.csr(t, "long-"+vendor, "/CN="+cn, "DNS:"+cn, ecKey...)
			r := e.Must(t, 400, "POST", "/api/v1/certificates", admin, map[string]any{"profile": vendor + "-auto", "csr": csr, "validity_days": 80}).Map(t)
			if r["code"] != "upstream_rejected" || !strings.Contains(fmt.Sprint(r["detail"]), vendor) {
				t.Errorf("over-long request: %v", r)
			}

			stats := e.Must(t, 200, "GET", "/api/v1/connectors/"+vendor+"-manual", admin, nil).Map(t)["stats"].(map[string]any)
			if stats["issued"].(float64) != 1 || stats["revoked"].(float64) != 1 || stats["pending"].(float64) < 1 {
				t.Errorf("%s-manual stats: %v", vendor, stats)
			}
		})
	}
	audit := e.Must(t, 200, "GET", "/api/v1/audit-events?action=connector.&limit=200", admin, nil)
	if strings.Contains(string(audit.Body), v.brokerKey) {
		t.Errorf("the audit log holds the vendor credential")
	}
	for _, want := range []string{"connector.issue", "connector.poll", "connector.revoke"} {
		if !strings.Contains(string(audit.Body), want) {
			t.Errorf("audit lacks %s", want)
		}
	}
}

// TestUpstreamVendorsWrongCredentials: with a wrong API key or password the
// vendor refuses every call; the request stays pending_upstream with the
// vendor's own error, and completes once an admin fixes the connector's
// secret. Nothing is lost, and the secret is never shown.
func TestUpstreamVendorsWrongCredentials(t *testing.T) {
	v := newVendorCA(t)
	e := newEnv(t)
	e.upstreamTemplate(t, "up")
	want := map[string]string{"digicert": "unauthorized", "sectigo": "Unknown user"}
	for _, vendor := range upstreamVendors {
		t.Run(vendor, func(t *testing.T) {
			name := vendor + "-bad"
			wrong := "wrong-secret-0123456789abcdef"
			e.Must(t, 201, "POST", "/api/v1/connectors", admin, v.connectorBody(vendor, name, "vendor-auto", wrong))
			e.Must(t, 201, "POST", "/api/v1/profiles", admin, map[string]any{"name": name, "template": "up",
				"issuer_type": "external", "connector": name, "default_validity_days": 30})
			cn := "bad-" + vendor + ".upstream.test"
			_, csr := e.csr(t, "bad-"+vendor, "/CN="+cn, "DNS:"+cn, ecKey...)
			var got enrolled
			e.Must(t, 202, "POST", "/api/v1/certificates", admin, map[string]any{"profile": name, "csr": csr}).JSON(t, &got)
			if got.Request.Status != "pending_upstream" || !strings.Contains(got.Request.Reason, want[vendor]) ||
				!strings.Contains(got.Request.Reason, "401") {
				t.Fatalf("enroll with a wrong %s credential: %+v", vendor, got)
			}
			c := e.Must(t, 200, "GET", "/api/v1/connectors/"+name, admin, nil)
			if strings.Contains(string(c.Body), wrong) {
				t.Fatalf("the connector shows its secret: %s", c.Body)
			}
			stats := c.Map(t)["stats"].(map[string]any)
			if stats["failed"].(float64) < 1 || !strings.Contains(fmt.Sprint(stats["last_error"]), want[vendor]) {
				t.Errorf("stats: %v", stats)
			}
			secret := map[string]any{"digicert": map[string]any{"api_key": v.brokerKey}, "sectigo": map[string]any{"password": v.brokerKey}}[vendor]
			e.Must(t, 200, "PATCH", "/api/v1/connectors/"+name, admin, map[string]any{"secrets": secret})
			req := e.waitVendorIssued(t, got.Request.ID, 40*time.Second)
			if req["reason"] != nil && req["reason"] != "" {
				t.Errorf("issued request keeps reason %v", req["reason"])
			}
			cert := e.Must(t, 200, "GET", "/api/v1/certificates/"+req["certificate_serial"].(string), admin, nil).Map(t)
			chain := e.Must(t, 200, "GET", "/api/v1/certificates/"+req["certificate_serial"].(string)+"/download?format=chain", admin, nil)
			e.verifyVendorChain(t, v, "bad-"+vendor, cert["certificate_pem"].(string), string(chain.Body))
		})
	}
}

// TestUpstreamVendorConnectorValidation: each vendor's settings are checked
// when the connector is created, every missing one reported at once.
func TestUpstreamVendorConnectorValidation(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name   string
		body   map[string]any
		fields []string
	}{
		{"digicert, nothing", map[string]any{"name": "d1", "type": "digicert", "config": map[string]any{}},
			[]string{"config.url", "config.profile_id", "secrets.api_key"}},
		{"digicert, plain http", map[string]any{"name": "d2", "type": "digicert", "config": map[string]any{"url": "http://127.0.0.1:1", "profile_id": "p"},
			"secrets": map[string]any{"api_key": "k"}}, []string{"config.url"}},
		{"sectigo, nothing", map[string]any{"name": "s1", "type": "sectigo", "config": map[string]any{}},
			[]string{"config.url", "config.customer_uri", "config.login", "config.org_id", "config.cert_type", "secrets.password"}},
		{"sectigo, bad numbers", map[string]any{"name": "s2", "type": "sectigo", "config": map[string]any{"url": "https://127.0.0.1:1",
			"customer_uri": "c", "login": "l", "org_id": "abc", "cert_type": -3, "term": 1.5}, "secrets": map[string]any{"password": "p"}},
			[]string{"config.org_id", "config.cert_type", "config.term"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := e.Must(t, 400, "POST", "/api/v1/connectors", admin, c.body).Map(t)
			var fields []string
			for _, vi := range m["violations"].([]any) {
				fields = append(fields, vi.(map[string]any)["field"].(string))
			}
			for _, f := range c.fields {
				if !strings.Contains(strings.Join(fields, " "), f) {
					t.Errorf("violations %v lack %s", fields, f)
				}
			}
		})
	}
	// Valid settings create the connector without calling anybody.
	e.Must(t, 201, "POST", "/api/v1/connectors", admin, map[string]any{"name": "s3", "type": "sectigo", "config": map[string]any{
		"url": "https://127.0.0.1:1/api/", "customer_uri": "c", "login": "l", "org_id": "7", "cert_type": 3, "term": "90"},
		"secrets": map[string]any{"password": "p"}})
}
