package test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/acme"

	"github.com/signet-pki/signet/internal/config"
	"github.com/signet-pki/signet/internal/testutil"
)

// acmeEnv is a server whose ACME validations reach the test's own
// challenge servers: http-01 and tls-alpn-01 on their ports, with every
// *.test name pinned to 127.0.0.1, and dns-01 through the test resolver.
type acmeEnv struct {
	*env
	http01 *http01Server
	alpn   *tlsALPNServer
	dns    *dnsServer
}

func newACMEEnv(t *testing.T) *acmeEnv {
	t.Helper()
	e := &acmeEnv{http01: startHTTP01(t), alpn: startTLSALPN(t), dns: startDNS(t)}
	srv := testutil.StartServerWith(t, func(c *config.Config) {
		c.ACME = config.ACME{HTTP01Port: e.http01.port, TLSALPN01Port: e.alpn.port, DNSResolver: e.dns.addr,
			Resolve: []string{"*.test=127.0.0.1"}}
	})
	e.env = &env{Server: srv, dir: t.TempDir(), principals: map[string]string{}}
	return e
}

func (e *acmeEnv) directoryURL(profile string) string {
	return e.URL + "/acme/" + profile + "/directory"
}

// client is a Go ACME client of profile's directory with a fresh P-256 key.
func (e *acmeEnv) client(t *testing.T, profile string) *acme.Client {
	t.Helper()
	return &acme.Client{Key: newECKey(t), DirectoryURL: e.directoryURL(profile), HTTPClient: e.Client}
}

func newECKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func register(t *testing.T, c *acme.Client, eab *acme.ExternalAccountBinding) *acme.Account {
	t.Helper()
	a, err := c.Register(waitCtx(t), &acme.Account{Contact: []string{"mailto:ops@example.test"}, ExternalAccountBinding: eab}, acme.AcceptTOS)
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	return a
}

// solve answers every authorization of order with the challenge type typ.
func (e *acmeEnv) solve(t *testing.T, c *acme.Client, o *acme.Order, typ string) {
	t.Helper()
	ctx := waitCtx(t)
	for _, u := range o.AuthzURLs {
		z, err := c.GetAuthorization(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		var chal *acme.Challenge
		for _, ch := range z.Challenges {
			if ch.Type == typ {
				chal = ch
			}
		}
		if chal == nil {
			t.Fatalf("authorization of %s offers no %s challenge", z.Identifier.Value, typ)
		}
		switch typ {
		case "http-01":
			ka, _ := c.HTTP01ChallengeResponse(chal.Token)
			e.http01.responses.Store(chal.Token, ka)
		case "dns-01":
			rec, _ := c.DNS01ChallengeRecord(chal.Token)
			name := "_acme-challenge." + z.Identifier.Value
			e.dns.mu.Lock()
			e.dns.txt[name+"."] = append(e.dns.txt[name+"."], rec)
			e.dns.mu.Unlock()
		case "tls-alpn-01":
			cert, err := c.TLSALPN01ChallengeCert(chal.Token, z.Identifier.Value)
			if err != nil {
				t.Fatal(err)
			}
			e.alpn.certs.Store(z.Identifier.Value, &cert)
		}
		if _, err := c.Accept(ctx, chal); err != nil {
			t.Fatalf("accept %s for %s: %v", typ, z.Identifier.Value, err)
		}
		if _, err := c.WaitAuthorization(ctx, u); err != nil {
			t.Fatalf("authorization of %s: %v", z.Identifier.Value, err)
		}
	}
}

// issue orders names, proves them with typ and returns the chain (leaf
// first), the certificate URL and the key.
func (e *acmeEnv) issue(t *testing.T, c *acme.Client, typ string, names ...string) ([][]byte, string, crypto.Signer) {
	t.Helper()
	ctx := waitCtx(t)
	o, err := c.AuthorizeOrder(ctx, acme.DomainIDs(names...))
	if err != nil {
		t.Fatalf("new order %v: %v", names, err)
	}
	e.solve(t, c, o, typ)
	key := newECKey(t)
	chain, certURL, err := c.CreateOrderCert(ctx, o.FinalizeURL, csrFor(t, key, names...), true)
	if err != nil {
		t.Fatalf("finalize %v: %v", names, err)
	}
	return chain, certURL, key
}

func csrFor(t *testing.T, key crypto.Signer, names ...string) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: names[0]}, DNSNames: names}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// verifyChain checks a DER chain with openssl against Signet's root.
func (e *acmeEnv) verifyChain(t *testing.T, name string, chain [][]byte) *x509.Certificate {
	t.Helper()
	var rest strings.Builder
	for _, c := range chain[1:] {
		rest.Write(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c}))
	}
	e.verify(t, name, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: chain[0]})), rest.String())
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		t.Fatal(err)
	}
	return leaf
}

func serialOf(c *x509.Certificate) string { return strings.TrimLeft(c.SerialNumber.Text(16), "0") }

func wantACMEError(t *testing.T, err error, typ string) *acme.Error {
	t.Helper()
	var ae *acme.Error
	if !errors.As(err, &ae) || ae.ProblemType != "urn:ietf:params:acme:error:"+typ {
		t.Fatalf("want ACME error %s, got %v", typ, err)
	}
	return ae
}

// certID is the RFC 9773 id of a certificate: the serial's DER content
// octets, with the leading zero a positive number needs when its top bit is set.
func certID(c *x509.Certificate) string {
	serial := c.SerialNumber.Bytes()
	if serial[0]&0x80 != 0 {
		serial = append([]byte{0}, serial...)
	}
	return base64.RawURLEncoding.EncodeToString(c.AuthorityKeyId) + "." + base64.RawURLEncoding.EncodeToString(serial)
}

// TestACMEGoClientIssuesRenewsRevokes drives golang.org/x/crypto/acme
// through the whole life of an account and its certificates over http-01.
func TestACMEGoClientIssuesRenewsRevokes(t *testing.T) {
	e := newACMEEnv(t)
	ctx := waitCtx(t)
	c := e.client(t, "tls-server")
	dir, err := c.Discover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if dir.OrderURL != e.URL+"/acme/tls-server/new-order" || dir.ExternalAccountRequired {
		t.Fatalf("directory: %+v", dir)
	}
	acct := register(t, c, nil)
	if acct.Status != acme.StatusValid || !strings.HasPrefix(acct.URI, e.URL+"/acme/tls-server/account/acct_") {
		t.Fatalf("account: %+v", acct)
	}
	acctID := acct.URI[strings.LastIndex(acct.URI, "/")+1:]
	// Registering the same key again finds the same account.
	if _, err := c.Register(ctx, &acme.Account{}, acme.AcceptTOS); !errors.Is(err, acme.ErrAccountAlreadyExists) {
		t.Fatalf("second registration: %v", err)
	}

	chain, certURL, _ := e.issue(t, c, "http-01", "a.test", "b.test")
	leaf := e.verifyChain(t, "first", chain)
	if !slices.Equal(leaf.DNSNames, []string{"a.test", "b.test"}) {
		t.Fatalf("names %v", leaf.DNSNames)
	}
	// In the inventory, owned by the account, with its audit event.
	rec := e.Must(t, 200, "GET", "/api/v1/certificates/"+serialOf(leaf), admin, nil).Map(t)
	if rec["owner"] != "acme_"+acctID || str(rec, "labels", "acme_account") != acctID || rec["status"] != "active" || rec["enrollment_method"] != "acme" {
		t.Fatalf("inventory entry: %v", rec)
	}
	events := e.Must(t, 200, "GET", "/api/v1/audit-events?action=certificate.issue&principal=acme_"+acctID, admin, nil).Map(t)
	if items, _ := events["items"].([]any); len(items) != 1 {
		t.Fatalf("audit events of the issuance: %v", events)
	}
	// Downloading again gives the same chain.
	again, err := c.FetchCert(ctx, certURL, true)
	if err != nil || len(again) != len(chain) || string(again[0]) != string(chain[0]) {
		t.Fatalf("fetch again: %v", err)
	}

	// Renewal information: the window lies in the last third of the lifetime.
	ari := e.Must(t, 200, "GET", "/acme/tls-server/renewal-info/"+certID(leaf), "", nil)
	start, end := ariWindow(t, ari)
	life := leaf.NotAfter.Sub(leaf.NotBefore)
	if ari.Header.Get("Retry-After") == "" || start.Before(leaf.NotBefore.Add(life/2)) || !end.After(start) || end.After(leaf.NotAfter) {
		t.Fatalf("renewal window %v..%v for %v..%v", start, end, leaf.NotBefore, leaf.NotAfter)
	}

	// Renew: a new order for the same names and a new key.
	renewed, _, renewedKey := e.issue(t, c, "http-01", "a.test", "b.test")
	second := e.verifyChain(t, "renewed", renewed)
	if serialOf(second) == serialOf(leaf) {
		t.Fatal("renewal returned the same certificate")
	}

	// Revoke the first with the account key; again is alreadyRevoked
	// (x/crypto hides that error, so it is checked with the raw client).
	if err := c.RevokeCert(ctx, nil, chain[0], acme.CRLReasonKeyCompromise); err != nil {
		t.Fatalf("revoke by account: %v", err)
	}
	if got := e.Must(t, 200, "GET", "/api/v1/certificates/"+serialOf(leaf), admin, nil).Map(t); got["status"] != "revoked" || got["revocation_reason"] != "key_compromise" {
		t.Fatalf("after revocation: %v", got)
	}
	// After a revocation, renewal information says: now.
	start, end = ariWindow(t, e.Must(t, 200, "GET", "/acme/tls-server/renewal-info/"+certID(leaf), "", nil))
	if !end.Before(time.Now()) || !start.Before(end) {
		t.Fatalf("renewal window of a revoked certificate: %v..%v", start, end)
	}
	// Revoke the renewed one with the certificate's own key, from another client.
	other := e.client(t, "tls-server")
	if err := other.RevokeCert(ctx, renewedKey, renewed[0], acme.CRLReasonSuperseded); err != nil {
		t.Fatalf("revoke by certificate key: %v", err)
	}
	if got := e.Must(t, 200, "GET", "/api/v1/certificates/"+serialOf(second), admin, nil).Map(t); got["status"] != "revoked" {
		t.Fatalf("after revocation by certificate key: %v", got)
	}

	// Contacts, key rollover, deactivation.
	upd, err := c.UpdateReg(ctx, &acme.Account{Contact: []string{"mailto:new@example.test"}})
	if err != nil || !slices.Equal(upd.Contact, []string{"mailto:new@example.test"}) {
		t.Fatalf("update contacts: %+v %v", upd, err)
	}
	if _, err := c.UpdateReg(ctx, &acme.Account{Contact: []string{"tel:+1555"}}); err == nil {
		t.Fatal("a tel: contact was accepted")
	} else {
		wantACMEError(t, err, "unsupportedContact")
	}
	oldKey := c.Key
	if err := c.AccountKeyRollover(ctx, newECKey(t)); err != nil {
		t.Fatalf("key rollover: %v", err)
	}
	if got, err := c.GetReg(ctx, ""); err != nil || got.URI != acct.URI {
		t.Fatalf("account with the new key: %+v %v", got, err)
	}
	stale := &acme.Client{Key: oldKey, DirectoryURL: e.directoryURL("tls-server"), HTTPClient: e.Client}
	if _, err := stale.GetReg(ctx, ""); err == nil {
		t.Fatal("the old key still finds the account")
	}
	e.issue(t, c, "http-01", "c.test")
	if err := c.DeactivateReg(ctx); err != nil {
		t.Fatalf("deactivate: %v", err)
	}
	if _, err := c.AuthorizeOrder(ctx, acme.DomainIDs("d.test")); err == nil {
		t.Fatal("a deactivated account placed an order")
	} else {
		wantACMEError(t, err, "unauthorized")
	}
}

func ariWindow(t *testing.T, r *testutil.Response) (time.Time, time.Time) {
	t.Helper()
	var v struct {
		SuggestedWindow struct{ Start, End time.Time } `json:"suggestedWindow"`
	}
	r.JSON(t, &v)
	return v.SuggestedWindow.Start, v.SuggestedWindow.End
}

// TestACMEWildcardOverDNS01 proves a wildcard and its base name through the
// test resolver; a wildcard authorization offers dns-01 only.
func TestACMEWildcardOverDNS01(t *testing.T) {
	e := newACMEEnv(t)
	c := e.client(t, "tls-server")
	register(t, c, nil)
	o, err := c.AuthorizeOrder(waitCtx(t), acme.DomainIDs("*.wild.test", "wild.test"))
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range o.AuthzURLs {
		z, err := c.GetAuthorization(waitCtx(t), u)
		if err != nil {
			t.Fatal(err)
		}
		if z.Wildcard && (len(z.Challenges) != 1 || z.Challenges[0].Type != "dns-01") {
			t.Fatalf("wildcard authorization offers %v", z.Challenges)
		}
	}
	e.solve(t, c, o, "dns-01")
	key := newECKey(t)
	chain, _, err := c.CreateOrderCert(waitCtx(t), o.FinalizeURL, csrFor(t, key, "*.wild.test", "wild.test"), true)
	if err != nil {
		t.Fatal(err)
	}
	if leaf := e.verifyChain(t, "wild", chain); !slices.Equal(leaf.DNSNames, []string{"*.wild.test", "wild.test"}) {
		t.Fatalf("names %v", leaf.DNSNames)
	}
	// A wrong TXT record fails the authorization with the RFC's error.
	o2, err := c.AuthorizeOrder(waitCtx(t), acme.DomainIDs("*.other.test"))
	if err != nil {
		t.Fatal(err)
	}
	z, _ := c.GetAuthorization(waitCtx(t), o2.AuthzURLs[0])
	e.dns.setTXT("_acme-challenge.other.test", "not-the-digest")
	if _, err := c.Accept(waitCtx(t), z.Challenges[0]); err != nil {
		t.Fatal(err)
	}
	_, err = c.WaitAuthorization(waitCtx(t), o2.AuthzURLs[0])
	var ae *acme.AuthorizationError
	if !errors.As(err, &ae) || len(ae.Errors) != 1 || !strings.HasSuffix(ae.Errors[0].(*acme.Error).ProblemType, ":incorrectResponse") {
		t.Fatalf("wrong TXT record: %v", err)
	}
}

// TestACMETLSALPN01 proves a name with the tls-alpn-01 certificate x/crypto makes.
func TestACMETLSALPN01(t *testing.T) {
	e := newACMEEnv(t)
	c := e.client(t, "tls-server")
	register(t, c, nil)
	chain, _, _ := e.issue(t, c, "tls-alpn-01", "alpn.test")
	if leaf := e.verifyChain(t, "alpn", chain); !slices.Equal(leaf.DNSNames, []string{"alpn.test"}) {
		t.Fatalf("names %v", leaf.DNSNames)
	}
}

// TestACMEExternalAccountBinding: a profile requiring EAB refuses plain
// registrations and wrong MACs; a key bound to a team makes the team own
// the account's certificates, and binds one account only.
func TestACMEExternalAccountBinding(t *testing.T) {
	e := newACMEEnv(t)
	team := e.Must(t, 201, "POST", "/api/v1/teams", admin, map[string]any{"name": "web"}).Map(t)
	set := e.Must(t, 200, "PUT", "/api/v1/acme/profiles/tls-server", admin, map[string]any{"eab_required": true}).Map(t)
	if set["eab_required"] != true || set["directory"] != "/acme/tls-server/directory" {
		t.Fatalf("settings: %v", set)
	}
	c := e.client(t, "tls-server")
	if dir, err := c.Discover(waitCtx(t)); err != nil || !dir.ExternalAccountRequired {
		t.Fatalf("directory: %+v %v", dir, err)
	}
	_, err := c.Register(waitCtx(t), &acme.Account{}, acme.AcceptTOS)
	wantACMEError(t, err, "externalAccountRequired")

	k := e.Must(t, 201, "POST", "/api/v1/acme/eab-keys", admin, map[string]any{"team": "web", "name": "web servers"}).Map(t)
	kid, hmacKey := k["id"].(string), k["hmac_key"].(string)
	mac, err := base64.RawURLEncoding.DecodeString(hmacKey)
	if err != nil || len(mac) < 32 || k["team_id"] != team["id"] {
		t.Fatalf("EAB key: %v", k)
	}
	wrong := slices.Clone(mac)
	wrong[0] ^= 1
	_, err = c.Register(waitCtx(t), &acme.Account{ExternalAccountBinding: &acme.ExternalAccountBinding{KID: kid, Key: wrong}}, acme.AcceptTOS)
	wantACMEError(t, err, "unauthorized")
	list := e.Must(t, 200, "GET", "/api/v1/acme/eab-keys", admin, nil).Map(t)
	items := list["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["status"] != "active" || items[0].(map[string]any)["hmac_key"] != nil {
		t.Fatalf("after a wrong MAC the key must be unused and its secret hidden: %v", list)
	}

	acct := register(t, c, &acme.ExternalAccountBinding{KID: kid, Key: mac})
	chain, _, _ := e.issue(t, c, "http-01", "team.test")
	leaf := e.verifyChain(t, "team", chain)
	if rec := e.Must(t, 200, "GET", "/api/v1/certificates/"+serialOf(leaf), admin, nil).Map(t); rec["owner"] != team["id"] {
		t.Fatalf("owner %v, want the team %v", rec["owner"], team["id"])
	}
	// A requester of the team sees and may revoke its certificate.
	sa := e.Must(t, 201, "POST", "/api/v1/service-accounts", admin, map[string]any{"name": "web-deployer", "roles": []string{"requester"}, "team_ids": []string{team["id"].(string)}}).Map(t)
	key := e.Must(t, 201, "POST", "/api/v1/api-keys", admin, map[string]any{"name": "d", "principal_id": sa["id"], "roles": []string{"requester"}}).Map(t)["key"].(string)
	e.Must(t, 200, "GET", "/api/v1/certificates/"+serialOf(leaf)+"/download?format=pem", key, nil)

	// The key was single-use.
	c2 := e.client(t, "tls-server")
	_, err = c2.Register(waitCtx(t), &acme.Account{ExternalAccountBinding: &acme.ExternalAccountBinding{KID: kid, Key: mac}}, acme.AcceptTOS)
	wantACMEError(t, err, "unauthorized")
	list = e.Must(t, 200, "GET", "/api/v1/acme/eab-keys", admin, nil).Map(t)
	used := list["items"].([]any)[0].(map[string]any)
	if used["status"] != "used" || len(used["accounts"].([]any)) != 1 || !strings.HasSuffix(acct.URI, used["accounts"].([]any)[0].(string)) {
		t.Fatalf("used key: %v", used)
	}
	e.Must(t, 204, "DELETE", "/api/v1/acme/eab-keys/"+kid, admin, nil)
	e.Must(t, 404, "DELETE", "/api/v1/acme/eab-keys/"+kid, admin, nil)
	// Requesters may not create keys.
	e.Must(t, 403, "POST", "/api/v1/acme/eab-keys", key, map[string]any{})
}

// TestACMEManualApprovalLeavesOrderProcessing: on a manual profile the order
// stays processing (with Retry-After) until a manager approves.
func TestACMEManualApprovalLeavesOrderProcessing(t *testing.T) {
	e := newACMEEnv(t)
	e.Must(t, 201, "POST", "/api/v1/profiles", admin, map[string]any{"name": "acme-manual", "template": "tls-server",
		"ca": "signet-issuing", "approval": "manual", "enrollment_methods": []string{"acme"}})
	c := e.client(t, "acme-manual")
	register(t, c, nil)
	ctx := waitCtx(t)
	o, err := c.AuthorizeOrder(ctx, acme.DomainIDs("manual.test"))
	if err != nil {
		t.Fatal(err)
	}
	e.solve(t, c, o, "http-01")
	done := make(chan error, 1)
	var chain [][]byte
	go func() {
		var err error
		chain, _, err = c.CreateOrderCert(ctx, o.FinalizeURL, csrFor(t, newECKey(t), "manual.test"), true)
		done <- err
	}()
	var reqID string
	for reqID == "" {
		select {
		case err := <-done:
			t.Fatalf("finalize returned before approval: %v", err)
		case <-time.After(200 * time.Millisecond):
		}
		items := e.Must(t, 200, "GET", "/api/v1/requests?status=pending", admin, nil).Map(t)["items"].([]any)
		if len(items) == 1 {
			reqID = items[0].(map[string]any)["id"].(string)
		}
	}
	raw := newRawACMEAt(t, e, "acme-manual", c.Key)
	raw.kid = string(c.KID)
	if r := raw.do(o.URI, nil, jwsOpts{}); r.status != 200 || r.object(t)["status"] != "processing" || r.header.Get("Retry-After") == "" {
		t.Fatalf("order while pending approval: %d %v %s", r.status, r.header, r.body)
	}
	e.Must(t, 200, "POST", "/api/v1/requests/"+reqID+"/approve", admin, nil)
	if err := <-done; err != nil {
		t.Fatalf("finalize after approval: %v", err)
	}
	e.verifyChain(t, "manual", chain)
}

// TestACMEAlternateChains: with the issuing CA cross-signed by a second
// root, certificates come with an alternate chain to that root.
func TestACMEAlternateChains(t *testing.T) {
	e := newACMEEnv(t)
	e.Must(t, 201, "POST", "/api/v1/cas", admin, map[string]any{"name": "cross-root", "kind": "root",
		"key": map[string]any{"algorithm": "ecdsa", "bits": 256}, "subject": map[string]any{"common_name": "Cross Root"}, "validity_days": 3650})
	var issuing, cross *x509.Certificate
	var crossSigner crypto.Signer
	for _, iss := range e.App.CAs.All() {
		switch iss.CA.Name {
		case "signet-issuing":
			issuing = iss.Cert
		case "cross-root":
			cross, crossSigner = iss.Cert, iss.Signer
		}
	}
	tmpl := *issuing
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	tmpl.AuthorityKeyId = nil
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, cross, issuing.PublicKey, crossSigner)
	if err != nil {
		t.Fatal(err)
	}
	e.Must(t, 201, "POST", "/api/v1/cas/import", admin, map[string]any{"name": "issuing-cross",
		"certificate": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))})
	c := e.client(t, "tls-server")
	register(t, c, nil)
	chain, certURL, _ := e.issue(t, c, "http-01", "alt.test")
	alts, err := c.ListCertAlternates(waitCtx(t), certURL)
	if err != nil || len(alts) != 1 {
		t.Fatalf("alternates %v %v", alts, err)
	}
	alt, err := c.FetchCert(waitCtx(t), alts[0], true)
	if err != nil || len(alt) != 3 || string(alt[0]) != string(chain[0]) || string(alt[1]) != string(der) {
		t.Fatalf("alternate chain: %d certificates, %v", len(alt), err)
	}
	leaf, _ := x509.ParseCertificate(alt[0])
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(cross)
	inter.AddCert(mustParse(t, alt[1]))
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter}); err != nil {
		t.Fatalf("alternate chain does not verify to the cross root: %v", err)
	}
}

func mustParse(t *testing.T, der []byte) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestACMERSAAccountAndUnknownProfile: RS256 accounts work; a profile
// without the acme method has no directory.
func TestACMERSAAccountAndUnknownProfile(t *testing.T) {
	e := newACMEEnv(t)
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	c := &acme.Client{Key: k, DirectoryURL: e.directoryURL("tls-server"), HTTPClient: e.Client}
	register(t, c, nil)
	e.issue(t, c, "http-01", "rsa.test")
	e.Must(t, 201, "POST", "/api/v1/profiles", admin, map[string]any{"name": "api-only", "template": "tls-server",
		"ca": "signet-issuing", "enrollment_methods": []string{"api"}})
	r := e.Do(t, "GET", "/acme/api-only/directory", "", nil)
	if r.Status != 404 || !strings.Contains(string(r.Body), "urn:ietf:params:acme:error:malformed") || r.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("directory of a profile without acme: %d %s", r.Status, r.Body)
	}
}
