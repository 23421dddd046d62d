package test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/testutil"
)

// infisicalClient calls the Infisical compatibility API as Infisical's clients do.
type infisicalClient struct {
	e      *env
	prefix string // where the API is mounted
	token  string
}

func newInfisical(e *env) *infisicalClient {
	return &infisicalClient{e: e, prefix: "/compat/infisical"}
}

type infResp struct {
	status int
	body   map[string]any
	raw    []byte
}

func (c *infisicalClient) do(t *testing.T, method, path string, body any, contentType ...string) *infResp {
	t.Helper()
	var headers []string
	if len(contentType) > 0 {
		headers = []string{"Content-Type", contentType[0]}
	}
	r := c.e.Do(t, method, c.prefix+path, c.token, body, headers...)
	out := &infResp{status: r.Status, raw: r.Body}
	if err := json.Unmarshal(r.Body, &out.body); err != nil {
		t.Fatalf("%s %s: %d, not a JSON object: %q", method, path, r.Status, r.Body)
	}
	return out
}

func (c *infisicalClient) must(t *testing.T, want int, method, path string, body any) map[string]any {
	t.Helper()
	r := c.do(t, method, path, body)
	if r.status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.raw)
	}
	return r.body
}

// wantInfisicalError checks Infisical's error body: reqId, statusCode, message, error.
func wantInfisicalError(t *testing.T, r *infResp, status int, name, contains string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	if r.body["statusCode"] != float64(status) || r.body["error"] != name || !strings.HasPrefix(str(r.body, "reqId"), "req-") ||
		!strings.Contains(str(r.body, "message"), contains) {
		t.Fatalf("error body %s: want %d %s containing %q", r.raw, status, name, contains)
	}
}

// splitKey turns a Signet API key into Infisical's client id and secret.
func splitKey(t *testing.T, key string) (id, secret string) {
	t.Helper()
	id, secret, ok := strings.Cut(key, ".")
	if !ok {
		t.Fatalf("key %q has no id part", key)
	}
	return id, secret
}

// checkIssued verifies an issue/sign answer: leaf for the key, chain to Signet's root.
func checkIssued(t *testing.T, e *env, name string, m map[string]any, wantCN string) *x509.Certificate {
	t.Helper()
	for _, k := range []string{"certificate", "certificateChain", "issuingCaCertificate", "serialNumber"} {
		if s, _ := m[k].(string); s == "" {
			t.Fatalf("answer lacks %s: %v", k, m)
		}
	}
	leaf := pemCerts(t, m["certificate"].(string))[0]
	if leaf.Subject.CommonName != wantCN || strings.TrimLeft(leaf.SerialNumber.Text(16), "0") != m["serialNumber"] {
		t.Fatalf("leaf %s serial %x, answer %v", leaf.Subject, leaf.SerialNumber, m["serialNumber"])
	}
	if !strings.HasPrefix(m["certificateChain"].(string), m["issuingCaCertificate"].(string)) {
		t.Fatal("certificateChain does not start with the issuing CA")
	}
	e.verify(t, name, m["certificate"].(string), m["certificateChain"].(string))
	return leaf
}

func TestInfisicalPKI(t *testing.T) {
	e := newEnv(t)
	e.notaryProfile(t, "inf-tls", "signet-issuing", "infisical")
	e.notaryProfile(t, "api-only", "signet-issuing", "api")
	caID := e.Must(t, 200, "GET", "/api/v1/cas/signet-issuing", admin, nil).Map(t)["id"].(string)
	key := e.newKey(t, "cert-manager", "requester")
	clientID, secret := splitKey(t, key)
	c := newInfisical(e)

	if st := c.must(t, 200, "GET", "/api/status", nil); st["message"] != "Ok" {
		t.Fatalf("status: %v", st)
	}
	// Universal auth, as JSON and as a form; the access token is a bearer.
	login := c.must(t, 200, "POST", "/api/v1/auth/universal-auth/login", map[string]any{"clientId": clientID, "clientSecret": secret})
	if login["tokenType"] != "Bearer" || login["expiresIn"] != float64(43200) || login["accessTokenMaxTTL"] != float64(43200) || str(login, "accessToken") == "" {
		t.Fatalf("login: %v", login)
	}
	form := c.do(t, "POST", "/api/v1/auth/universal-auth/login", url.Values{"clientId": {clientID}, "clientSecret": {secret}}.Encode(),
		"application/x-www-form-urlencoded")
	if form.status != 200 || str(form.body, "accessToken") == "" || form.body["accessToken"] == login["accessToken"] {
		t.Fatalf("form login: %d %s", form.status, form.raw)
	}
	c.token = login["accessToken"].(string)

	// Sign CSRs: v1 by template (a Signet profile) or CA, v3 by profile.
	var csrSerial string
	for _, tc := range []struct {
		name    string
		path    string
		issuer  map[string]any
		keyArgs []string
	}{
		{"v1-template-rsa", "/api/v1/pki/certificates/sign-certificate", map[string]any{"certificateTemplateId": "inf-tls"},
			[]string{"-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"}},
		{"v1-ca-ecdsa", "/api/v1/pki/certificates/sign-certificate", map[string]any{"caId": caID}, ecKey},
		{"v3-profile-ed25519", "/api/v3/pki/certificates/sign-certificate", map[string]any{"profileId": "inf-tls"}, []string{"-algorithm", "ED25519"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cn := tc.name + ".acme.test"
			keyPath, csr := e.csr(t, "inf-"+tc.name, "/CN="+cn, "DNS:"+cn, tc.keyArgs...)
			body := map[string]any{"csr": csr, "ttl": "30d"}
			for k, v := range tc.issuer {
				body[k] = v
			}
			m := c.must(t, 200, "POST", tc.path, body)
			leaf := checkIssued(t, e, "inf-"+tc.name, m, cn)
			if _, ok := m["privateKey"]; ok {
				t.Fatal("a CSR signing returned a private key")
			}
			if d := leaf.NotAfter.Sub(leaf.NotBefore); d < 29*24*time.Hour || d > 31*24*time.Hour {
				t.Fatalf("ttl 30d gave %v", d)
			}
			pub := testutil.Openssl(t, e.dir, "pkey", "-in", keyPath, "-pubout")
			der, _ := x509.MarshalPKIXPublicKey(leaf.PublicKey)
			if string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})) != pub {
				t.Fatal("leaf key is not the CSR's")
			}
			inv := e.Must(t, 200, "GET", "/api/v1/certificates/"+m["serialNumber"].(string), admin, nil).Map(t)
			if inv["enrollment_method"] != "infisical" {
				t.Fatalf("inventory: %v", inv)
			}
			csrSerial = m["serialNumber"].(string)
		})
	}

	// The calls Infisical's cert-manager issuer makes: a form login, then
	// sign-certificate by caId with the duration in seconds; it splits
	// certificateChain into intermediates and a root (the last block).
	t.Run("cert-manager issuer", func(t *testing.T) {
		cm := newInfisical(e)
		lr := cm.do(t, "POST", "/api/v1/auth/universal-auth/login", url.Values{"clientId": {clientID}, "clientSecret": {secret}}.Encode(),
			"application/x-www-form-urlencoded")
		if lr.status != 200 {
			t.Fatalf("form login: %d %s", lr.status, lr.raw)
		}
		cm.token = str(lr.body, "accessToken")
		_, csr := e.csr(t, "inf-cm", "/CN=cm.acme.test", "DNS:cm.acme.test", ecKey...)
		m := cm.must(t, 200, "POST", "/api/v1/pki/certificates/sign-certificate", map[string]any{"caId": caID, "csr": csr, "ttl": "7776000s"})
		leaf := checkIssued(t, e, "inf-cm", m, "cm.acme.test")
		chain := pemCerts(t, m["certificateChain"].(string))
		root := chain[len(chain)-1]
		if len(chain) != 2 || root.Subject.String() != root.Issuer.String() || chain[0].Subject.String() != leaf.Issuer.String() {
			t.Fatalf("chain: %d certificates, want issuing CA then root", len(chain))
		}
		if d := leaf.NotAfter.Sub(leaf.NotBefore); d < 89*24*time.Hour || d > 91*24*time.Hour {
			t.Fatalf("ttl 7776000s gave %v", d)
		}
		// The issuer's own split reads CERTIFICATE blocks while bytes
		// remain after one and takes the last as the root: a trailing
		// blank line or any other text would make it fail.
		rest, blocks := []byte(m["certificateChain"].(string)), 0
		for {
			b, r := pem.Decode(rest)
			if b == nil || b.Type != "CERTIFICATE" {
				t.Fatalf("the issuer's split fails after %d blocks at %q", blocks, rest)
			}
			if blocks++; len(r) == 0 {
				break
			}
			rest = r
		}
		if blocks != 2 {
			t.Fatalf("the issuer's split found %d blocks", blocks)
		}
	})

	// Issue without a CSR: the key comes back once; renew by id re-keys.
	issued := c.must(t, 200, "POST", "/api/v3/pki/certificates/issue-certificate", map[string]any{"profileId": "inf-tls",
		"commonName": "api.acme.test", "altNames": "api.acme.test,api2.acme.test", "ttl": "12h", "keyAlgorithm": "EC_prime256v1"})
	leaf := checkIssued(t, e, "inf-keygen", issued, "api.acme.test")
	keyFile := testutil.WriteFile(t, e.dir, "inf-keygen.key", []byte(str(issued, "privateKey")))
	pub := testutil.Openssl(t, e.dir, "pkey", "-in", keyFile, "-pubout")
	der, _ := x509.MarshalPKIXPublicKey(leaf.PublicKey)
	if string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})) != pub || len(leaf.DNSNames) != 2 {
		t.Fatalf("keygen leaf: names %v", leaf.DNSNames)
	}
	serial := issued["serialNumber"].(string)
	// Without altNames a host-like commonName is the SAN, as for a CSR with only a CN.
	cnOnly := c.must(t, 200, "POST", "/api/v1/pki/certificates/issue-certificate", map[string]any{"certificateTemplateId": "inf-tls",
		"commonName": "cn-only.acme.test", "ttl": "1d"})
	if l := checkIssued(t, e, "inf-cn-only", cnOnly, "cn-only.acme.test"); len(l.DNSNames) != 1 || l.DNSNames[0] != "cn-only.acme.test" {
		t.Fatalf("cn-only SANs: %v", l.DNSNames)
	}
	renewed := c.must(t, 200, "POST", "/api/v3/pki/certificates/"+issued["certificateId"].(string)+"/renew", nil) // no body at all
	next := checkIssued(t, e, "inf-renewed", renewed, "api.acme.test")
	if renewed["serialNumber"] == serial || str(renewed, "privateKey") == "" {
		t.Fatalf("renewal: %v", renewed)
	}
	_ = next
	wantInfisicalError(t, c.do(t, "POST", "/api/v3/pki/certificates/"+csrSerial+"/renew", map[string]any{}), 400, "BadRequest", "without a CSR")

	// Get, fetch the PEM, revoke, get again.
	got := c.must(t, 200, "GET", "/api/v1/pki/certificates/"+serial, nil)["certificate"].(map[string]any)
	if got["status"] != "active" || got["serialNumber"] != serial || got["commonName"] != "api.acme.test" || got["altNames"] != "api.acme.test,api2.acme.test" {
		t.Fatalf("get: %v", got)
	}
	pemDoc := c.must(t, 200, "GET", "/api/v1/pki/certificates/"+strings.ToUpper(serial)+"/certificate", nil)
	if pemDoc["certificate"] != issued["certificate"] || pemDoc["certificateChain"] != issued["certificateChain"] {
		t.Fatalf("certificate body: %v", pemDoc)
	}
	rv := c.must(t, 200, "POST", "/api/v1/pki/certificates/"+serial+"/revoke", map[string]any{"revocationReason": "KEY_COMPROMISE"})
	if rv["message"] != "Successfully revoked certificate" || rv["serialNumber"] != serial || str(rv, "revokedAt") == "" {
		t.Fatalf("revoke: %v", rv)
	}
	got = c.must(t, 200, "GET", "/api/v1/pki/certificates/"+serial, nil)["certificate"].(map[string]any)
	if got["status"] != "revoked" || got["revocationReason"] != float64(1) {
		t.Fatalf("after revoke: %v", got)
	}
	if inv := e.Must(t, 200, "GET", "/api/v1/certificates/"+serial, admin, nil).Map(t); inv["status"] != "revoked" {
		t.Fatalf("inventory after revoke: %v", inv)
	}
}

func TestInfisicalErrors(t *testing.T) {
	e := newEnv(t)
	e.notaryProfile(t, "inf-tls", "signet-issuing", "infisical")
	e.notaryProfile(t, "api-only", "signet-issuing", "api")
	key := e.newKey(t, "issuer", "requester")
	clientID, secret := splitKey(t, key)
	auditorKey := e.newKey(t, "watcher", "auditor")
	c := newInfisical(e)
	c.token = key
	anon := newInfisical(e)
	bad := newInfisical(e)
	bad.token = "sgt_nope.nope"
	auditor := newInfisical(e)
	auditor.token = auditorKey
	_, csr := e.csr(t, "inf-err", "/CN=err.acme.test", "DNS:err.acme.test", ecKey...)
	signPath := "/api/v1/pki/certificates/sign-certificate"
	for _, tc := range []struct {
		name     string
		c        *infisicalClient
		method   string
		path     string
		body     any
		status   int
		errName  string
		contains string
	}{
		{"no token", anon, "POST", signPath, map[string]any{"certificateTemplateId": "inf-tls", "csr": csr}, 401, "UnauthorizedError", "no access token"},
		{"unknown token", bad, "GET", "/api/v1/pki/certificates/1", nil, 401, "UnauthorizedError", "invalid"},
		{"wrong client secret", anon, "POST", "/api/v1/auth/universal-auth/login", map[string]any{"clientId": clientID, "clientSecret": secret + "x"}, 401, "UnauthorizedError", "Invalid credentials"},
		{"login without secret", anon, "POST", "/api/v1/auth/universal-auth/login", map[string]any{"clientId": clientID}, 400, "BadRequest", "clientSecret"},
		{"login not JSON", anon, "POST", "/api/v1/auth/universal-auth/login", "{", 400, "BadRequest", "JSON"},
		{"unknown serial", c, "GET", "/api/v1/pki/certificates/0badc0ffee", nil, 404, "NotFound", "not found"},
		{"not a serial", c, "GET", "/api/v1/pki/certificates/xyz", nil, 404, "NotFound", "not found"},
		{"revoke unknown serial", c, "POST", "/api/v1/pki/certificates/0badc0ffee/revoke", map[string]any{"revocationReason": "UNSPECIFIED"}, 404, "NotFound", "not found"},
		{"renew unknown", c, "POST", "/api/v3/pki/certificates/0badc0ffee/renew", map[string]any{}, 404, "NotFound", "not found"},
		{"unknown template", c, "POST", signPath, map[string]any{"certificateTemplateId": "nope", "csr": csr}, 404, "NotFound", "nope"},
		{"unknown CA", c, "POST", signPath, map[string]any{"caId": "ca_nope", "csr": csr}, 404, "NotFound", ""},
		{"no issuer", c, "POST", signPath, map[string]any{"csr": csr}, 400, "BadRequest", "caId"},
		{"malformed CSR", c, "POST", signPath, map[string]any{"certificateTemplateId": "inf-tls", "csr": "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"}, 400, "BadRequest", "CSR"},
		{"missing CSR", c, "POST", signPath, map[string]any{"certificateTemplateId": "inf-tls"}, 400, "BadRequest", "csr is required"},
		{"bad ttl", c, "POST", signPath, map[string]any{"certificateTemplateId": "inf-tls", "csr": csr, "ttl": "soon"}, 400, "BadRequest", "ttl"},
		{"ttl beyond the template", c, "POST", signPath, map[string]any{"certificateTemplateId": "inf-tls", "csr": csr, "ttl": "2y"}, 400, "BadRequest", "validity"},
		{"profile excludes infisical", c, "POST", signPath, map[string]any{"certificateTemplateId": "api-only", "csr": csr}, 403, "PermissionDenied", "infisical"},
		{"auditor may not enroll", auditor, "POST", signPath, map[string]any{"certificateTemplateId": "inf-tls", "csr": csr}, 403, "PermissionDenied", ""},
		{"bad key algorithm", c, "POST", "/api/v1/pki/certificates/issue-certificate", map[string]any{"certificateTemplateId": "inf-tls", "commonName": "k.acme.test", "keyAlgorithm": "DSA_1024"}, 400, "BadRequest", "keyAlgorithm"},
		{"bad revocation reason", c, "POST", "/api/v1/pki/certificates/0badc0ffee/revoke", map[string]any{"revocationReason": "BORED"}, 404, "NotFound", ""},
		{"unknown route", c, "GET", "/api/v1/secrets", nil, 404, "NotFound", "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantInfisicalError(t, tc.c.do(t, tc.method, tc.path, tc.body), tc.status, tc.errName, tc.contains)
		})
	}
	// Every authenticated endpoint refuses a missing token; every endpoint
	// naming a certificate refuses an unknown serial; in Infisical's format.
	for _, ep := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/api/v1/pki/certificates/sign-certificate", map[string]any{"certificateTemplateId": "inf-tls", "csr": csr}},
		{"POST", "/api/v3/pki/certificates/sign-certificate", map[string]any{"profileId": "inf-tls", "csr": csr}},
		{"POST", "/api/v1/pki/certificates/issue-certificate", map[string]any{"certificateTemplateId": "inf-tls", "commonName": "a.acme.test"}},
		{"POST", "/api/v3/pki/certificates/issue-certificate", map[string]any{"profileId": "inf-tls", "commonName": "a.acme.test"}},
		{"POST", "/api/v3/pki/certificates/{serial}/renew", nil},
		{"GET", "/api/v1/pki/certificates/{serial}", nil},
		{"GET", "/api/v1/pki/certificates/{serial}/certificate", nil},
		{"POST", "/api/v1/pki/certificates/{serial}/revoke", map[string]any{"revocationReason": "UNSPECIFIED"}},
	} {
		t.Run("unauthenticated "+ep.method+" "+ep.path, func(t *testing.T) {
			wantInfisicalError(t, anon.do(t, ep.method, strings.ReplaceAll(ep.path, "{serial}", "0badc0ffee"), ep.body), 401, "UnauthorizedError", "")
		})
		if strings.Contains(ep.path, "{serial}") {
			t.Run("unknown serial "+ep.method+" "+ep.path, func(t *testing.T) {
				wantInfisicalError(t, c.do(t, ep.method, strings.ReplaceAll(ep.path, "{serial}", "0badc0ffee"), ep.body), 404, "NotFound", "not found")
			})
		}
	}
	// Refusals are audited with the vendor path: a bad login and a forbidden enrollment.
	for _, tc := range []struct{ action, object string }{
		{"auth.failed", "POST /api/v1/auth/universal-auth/login"},
		{"authz.denied", "POST " + signPath},
	} {
		evs := e.Must(t, 200, "GET", "/api/v1/audit-events?action="+tc.action+"&object_id="+url.QueryEscape(tc.object), admin, nil).Map(t)["items"].([]any)
		if len(evs) == 0 {
			t.Errorf("no %s event for %s", tc.action, tc.object)
		}
	}
	// A bad reason on a real certificate is a 400, and the certificate stays active.
	m := c.must(t, 200, "POST", signPath, map[string]any{"certificateTemplateId": "inf-tls", "csr": csr})
	wantInfisicalError(t, c.do(t, "POST", "/api/v1/pki/certificates/"+m["serialNumber"].(string)+"/revoke", map[string]any{"revocationReason": "BORED"}), 400, "BadRequest", "revocationReason")
	if st := c.must(t, 200, "GET", "/api/v1/pki/certificates/"+m["serialNumber"].(string), nil)["certificate"].(map[string]any)["status"]; st != "active" {
		t.Fatalf("status: %v", st)
	}
}

// sdkProgram logs in with Infisical's own Go SDK and prints the token.
const sdkProgram = `package main

import (
	"context"
	"fmt"
	"os"

	infisical "github.com/infisical/go-sdk"
)

func main() {
	c := infisical.NewInfisicalClient(context.Background(), infisical.Config{SiteUrl: os.Args[1],
		AutoTokenRefresh: infisical.BoolPtr(false), SilentMode: true})
	cred, err := c.Auth().UniversalAuthLogin(os.Args[2], os.Args[3])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("%s %d %s\n", cred.AccessToken, cred.ExpiresIn, cred.TokenType)
}
`

// TestInfisicalGoSDKLogin drives universal-auth login with the published
// SDK (github.com/infisical/go-sdk, built from the module proxy), then signs
// with the token it got.
func TestInfisicalGoSDKLogin(t *testing.T) {
	dir := t.TempDir()
	testutil.WriteFile(t, dir, "main.go", []byte(sdkProgram))
	testutil.WriteFile(t, dir, "go.mod", []byte("module sdkprobe\n\ngo 1.26\n\nrequire github.com/infisical/go-sdk v0.8.0\n"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	run := func(name string, args ...string) string {
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
		return string(out)
	}
	run("go", "mod", "tidy")
	bin := filepath.Join(dir, "sdkprobe")
	run("go", "build", "-o", bin, ".")

	e := newEnv(t)
	e.notaryProfile(t, "inf-tls", "signet-issuing", "infisical")
	clientID, secret := splitKey(t, e.newKey(t, "sdk", "requester"))
	fields := strings.Fields(run(bin, e.URL+"/compat/infisical", clientID, secret))
	if len(fields) != 3 || fields[1] != "43200" || fields[2] != "Bearer" {
		t.Fatalf("SDK login printed %v", fields)
	}
	c := newInfisical(e)
	c.token = fields[0]
	_, csr := e.csr(t, "sdk", "/CN=sdk.acme.test", "DNS:sdk.acme.test", ecKey...)
	checkIssued(t, e, "sdk", c.must(t, 200, "POST", "/api/v1/pki/certificates/sign-certificate",
		map[string]any{"certificateTemplateId": "inf-tls", "csr": csr}), "sdk.acme.test")
	// A wrong secret is the SDK's APIError with Infisical's status.
	cmd := exec.CommandContext(ctx, bin, e.URL+"/compat/infisical", clientID, secret+"x")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "status-code=401") || !strings.Contains(string(out), "Invalid credentials") {
		t.Fatalf("bad secret: %v %s", err, out)
	}
}

// BenchmarkInfisicalSign measures sign-certificate over HTTP on SQLite.
func BenchmarkInfisicalSign(b *testing.B) {
	e := &env{Server: testutil.StartServer(b), dir: b.TempDir(), principals: map[string]string{}}
	e.Must(b, 201, "POST", "/api/v1/profiles", admin, map[string]any{"name": "inf-tls", "template": "tls-server",
		"ca": "signet-issuing", "enrollment_methods": []string{"infisical"}})
	testutil.Openssl(b, e.dir, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", "b.key", "-subj", "/CN=bench.acme.test", "-addext", "subjectAltName=DNS:bench.acme.test", "-out", "b.csr")
	csr, err := os.ReadFile(filepath.Join(e.dir, "b.csr"))
	if err != nil {
		b.Fatal(err)
	}
	body := map[string]any{"certificateTemplateId": "inf-tls", "csr": string(csr), "ttl": "30d"}
	b.ResetTimer()
	for b.Loop() {
		e.Must(b, 200, "POST", "/compat/infisical/api/v1/pki/certificates/sign-certificate", admin, body)
	}
}

// TestInfisicalCertManagerAPI drives current Infisical's profile-based
// endpoints (/api/v1/cert-manager/certificates): issue with and without a
// CSR, pending approval, renew by id, get, revoke.
func TestInfisicalCertManagerAPI(t *testing.T) {
	e := newEnv(t)
	e.notaryProfile(t, "inf-tls", "signet-issuing", "infisical")
	e.Must(t, 201, "POST", "/api/v1/profiles", admin, map[string]any{"name": "inf-manual", "template": "tls-server",
		"ca": "signet-issuing", "approval": "manual", "enrollment_methods": []string{"infisical"}})
	c := newInfisical(e)
	c.token = e.newKey(t, "app", "requester")
	const base = "/api/v1/cert-manager/certificates"

	_, csr := e.csr(t, "cm-csr", "/CN=csr.acme.test", "DNS:csr.acme.test", ecKey...)
	withCSR := c.must(t, 200, "POST", base, map[string]any{"profileId": "inf-tls", "csr": csr, "attributes": map[string]any{"ttl": "10d"}})
	if withCSR["status"] != "issued" || !strings.HasPrefix(str(withCSR, "certificateRequestId"), "req_") {
		t.Fatalf("issue with CSR: %v", withCSR)
	}
	checkIssued(t, e, "cm-csr", withCSR["certificate"].(map[string]any), "csr.acme.test")
	if _, ok := withCSR["certificate"].(map[string]any)["privateKey"]; ok {
		t.Fatal("a CSR issuance returned a private key")
	}

	keygen := c.must(t, 200, "POST", base, map[string]any{"profileId": "inf-tls", "removeRootsFromChain": true,
		"attributes": map[string]any{"commonName": "svc.acme.test", "organization": "Acme", "keyAlgorithm": "EC_prime256v1", "ttl": "30d",
			"altNames": []any{map[string]any{"type": "dns_name", "value": "svc.acme.test"}, map[string]any{"type": "ip_address", "value": "10.1.2.3"}}}})
	cert := keygen["certificate"].(map[string]any)
	chain := pemCerts(t, cert["certificateChain"].(string))
	leaf := pemCerts(t, cert["certificate"].(string))[0]
	if len(chain) != 1 || chain[0].Subject.String() == chain[0].Issuer.String() || str(cert, "privateKey") == "" {
		t.Fatalf("removeRootsFromChain: %d certificates in the chain", len(chain))
	}
	if len(leaf.IPAddresses) != 1 || leaf.Subject.Organization[0] != "Acme" {
		t.Fatalf("keygen leaf: %v %v", leaf.IPAddresses, leaf.Subject)
	}

	renewed := c.must(t, 200, "POST", base+"/"+cert["certificateId"].(string)+"/renew", map[string]any{"removeRootsFromChain": "false"})
	for _, k := range []string{"certificate", "issuingCaCertificate", "certificateChain", "serialNumber", "certificateId", "certificateRequestId", "privateKey"} {
		if str(renewed, k) == "" {
			t.Fatalf("renew answer lacks %s: %v", k, renewed)
		}
	}
	checkIssued(t, e, "cm-renewed", renewed, "svc.acme.test")
	old := c.must(t, 200, "GET", base+"/"+cert["serialNumber"].(string), nil)["certificate"].(map[string]any)
	if old["renewedByCertificateId"] != renewed["serialNumber"] || old["fingerprintSha256"] == "" || old["source"] != "issued" {
		t.Fatalf("renewed certificate: %v", old)
	}
	wantInfisicalError(t, c.do(t, "POST", base+"/"+withCSR["certificate"].(map[string]any)["serialNumber"].(string)+"/renew", nil), 400, "BadRequest", "CSR")
	rv := c.must(t, 200, "POST", base+"/"+renewed["serialNumber"].(string)+"/revoke", map[string]any{"revocationReason": "SUPERSEDED"})
	if rv["message"] != "Successfully revoked certificate" {
		t.Fatalf("revoke: %v", rv)
	}

	// A profile with manual approval: pending_approval with the Signet request,
	// which a manager approves in Signet.
	pending := c.must(t, 200, "POST", base, map[string]any{"profileId": "inf-manual", "csr": csr})
	if pending["status"] != "pending_approval" || pending["certificate"] != nil {
		t.Fatalf("manual profile: %v", pending)
	}
	approved := e.Must(t, 200, "POST", "/api/v1/requests/"+pending["certificateRequestId"].(string)+"/approve", admin, nil).Map(t)
	if str(approved, "certificate", "serial") == "" {
		t.Fatalf("approve: %v", approved)
	}

	for _, tc := range []struct {
		name     string
		body     any
		contains string
	}{
		{"no profile", map[string]any{"csr": csr}, "profileId"},
		{"unknown profile", map[string]any{"profileId": "nope", "csr": csr}, "nope"},
		{"bad removeRootsFromChain", map[string]any{"profileId": "inf-tls", "csr": csr, "removeRootsFromChain": "maybe"}, "removeRootsFromChain"},
		{"no names without a CSR", map[string]any{"profileId": "inf-tls", "attributes": map[string]any{}}, "commonName"},
		{"name outside the template", map[string]any{"profileId": "inf-tls", "attributes": map[string]any{"commonName": "x", "altNames": []any{map[string]any{"type": "email", "value": "a@b.c"}}}}, "violation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.do(t, "POST", base, tc.body)
			status, name := 400, "BadRequest"
			if tc.name == "unknown profile" {
				status, name = 404, "NotFound"
			}
			wantInfisicalError(t, r, status, name, tc.contains)
		})
	}
}
