package test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// rawACME speaks ACME by hand, so tests can send what no client would.
type rawACME struct {
	t   *testing.T
	e   *acmeEnv
	dir map[string]string
	key crypto.Signer
	kid string // account URL once registered
}

type rawResponse struct {
	status int
	header http.Header
	body   []byte
}

func (r *rawResponse) problemType() string {
	var p struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(r.body, &p)
	return strings.TrimPrefix(p.Type, "urn:ietf:params:acme:error:")
}

func (r *rawResponse) object(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("%d %s: %v", r.status, r.body, err)
	}
	return m
}

func newRawACME(t *testing.T, e *acmeEnv, key crypto.Signer) *rawACME {
	t.Helper()
	return newRawACMEAt(t, e, "tls-server", key)
}

// newRawACMEAt is a raw client of profile's directory.
func newRawACMEAt(t *testing.T, e *acmeEnv, profile string, key crypto.Signer) *rawACME {
	t.Helper()
	c := &rawACME{t: t, e: e, key: key, dir: map[string]string{}}
	var dir map[string]any
	e.Must(t, 200, "GET", "/acme/"+profile+"/directory", "", nil).JSON(t, &dir)
	for k, v := range dir {
		if s, ok := v.(string); ok {
			c.dir[k] = s
		}
	}
	return c
}

func (c *rawACME) nonce() string {
	c.t.Helper()
	resp, err := c.e.Client.Head(c.dir["newNonce"])
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Replay-Nonce") == "" || resp.Header.Get("Cache-Control") != "no-store" {
		c.t.Fatalf("new-nonce: %d %v", resp.StatusCode, resp.Header)
	}
	return resp.Header.Get("Replay-Nonce")
}

type fixedNonce string

func (n fixedNonce) Nonce() (string, error) { return string(n), nil }

// jwsOpts vary a request from the well-formed one.
type jwsOpts struct {
	url   string        // the protected url (default: the URL posted to)
	nonce string        // default: a fresh one
	key   crypto.Signer // default: the client's key
	jwk   bool          // embed the key instead of naming the account
}

func algOf(k crypto.Signer) jose.SignatureAlgorithm {
	switch k.(type) {
	case ed25519.PrivateKey:
		return jose.EdDSA
	case *ecdsa.PrivateKey:
		return jose.ES256
	default:
		return jose.RS256
	}
}

// sign builds a flattened JWS of payload (nil: POST-as-GET).
func (c *rawACME) sign(url string, payload any, o jwsOpts) []byte {
	c.t.Helper()
	if o.url == "" {
		o.url = url
	}
	if o.nonce == "" {
		o.nonce = c.nonce()
	}
	if o.key == nil {
		o.key = c.key
	}
	opts := &jose.SignerOptions{NonceSource: fixedNonce(o.nonce), EmbedJWK: o.jwk || c.kid == "",
		ExtraHeaders: map[jose.HeaderKey]any{"url": o.url}}
	sk := jose.SigningKey{Algorithm: algOf(o.key), Key: o.key}
	if !opts.EmbedJWK {
		sk.Key = jose.JSONWebKey{Key: o.key, KeyID: c.kid}
	}
	signer, err := jose.NewSigner(sk, opts)
	if err != nil {
		c.t.Fatal(err)
	}
	body := []byte{} // POST-as-GET: an empty, not an absent, payload
	if payload != nil {
		if body, err = json.Marshal(payload); err != nil {
			c.t.Fatal(err)
		}
	}
	jws, err := signer.Sign(body)
	if err != nil {
		c.t.Fatal(err)
	}
	return []byte(jws.FullSerialize())
}

func (c *rawACME) post(url string, body []byte) *rawResponse {
	c.t.Helper()
	resp, err := c.e.Client.Post(url, "application/jose+json", bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return &rawResponse{status: resp.StatusCode, header: resp.Header, body: b}
}

func (c *rawACME) do(url string, payload any, o jwsOpts) *rawResponse {
	c.t.Helper()
	return c.post(url, c.sign(url, payload, o))
}

func (c *rawACME) register() {
	c.t.Helper()
	r := c.do(c.dir["newAccount"], map[string]any{"termsOfServiceAgreed": true}, jwsOpts{jwk: true})
	if r.status != 201 || r.header.Get("Location") == "" {
		c.t.Fatalf("new account: %d %s", r.status, r.body)
	}
	c.kid = r.header.Get("Location")
}

// orders lists the account's order URLs.
func (c *rawACME) orders() []any {
	c.t.Helper()
	r := c.do(c.kid+"/orders", nil, jwsOpts{})
	if r.status != 200 {
		c.t.Fatalf("orders: %d %s", r.status, r.body)
	}
	list, _ := r.object(c.t)["orders"].([]any)
	return list
}

func (c *rawACME) newOrder(names ...string) *rawResponse {
	c.t.Helper()
	ids := make([]map[string]string, len(names))
	for i, n := range names {
		ids[i] = map[string]string{"type": "dns", "value": n}
	}
	return c.do(c.dir["newOrder"], map[string]any{"identifiers": ids}, jwsOpts{})
}

// wantProblem checks an ACME error response and that it carries a fresh nonce.
func wantProblem(t *testing.T, what string, r *rawResponse, status int, typ string) {
	t.Helper()
	if r.status != status || r.problemType() != typ || r.header.Get("Content-Type") != "application/problem+json" || r.header.Get("Replay-Nonce") == "" {
		t.Fatalf("%s: want %d %s, got %d %s %s", what, status, typ, r.status, r.header.Get("Content-Type"), r.body)
	}
}

// TestACMERefusesBadRequestsAndChangesNothing sends the requests a broken
// or hostile client would; each gets the RFC's error type and leaves the
// account's orders, the order's state and the inventory as they were.
func TestACMERefusesBadRequestsAndChangesNothing(t *testing.T) {
	e := newACMEEnv(t)
	c := newRawACME(t, e, newECKey(t))
	c.register()
	certsBefore := e.Must(t, 200, "GET", "/api/v1/certificates?total=true", admin, nil).Map(t)["total"]

	ids := []map[string]string{{"type": "dns", "value": "neg.test"}}
	// A nonce this server never issued.
	wantProblem(t, "made-up nonce", c.do(c.dir["newOrder"], map[string]any{"identifiers": ids}, jwsOpts{nonce: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}), 400, "badNonce")
	// A replayed request: the first succeeds, its replay does not.
	body := c.sign(c.dir["newOrder"], map[string]any{"identifiers": ids}, jwsOpts{})
	first := c.post(c.dir["newOrder"], body)
	if first.status != 201 {
		t.Fatalf("new order: %d %s", first.status, first.body)
	}
	wantProblem(t, "replayed nonce", c.post(c.dir["newOrder"], body), 400, "badNonce")
	// The url in the protected header is not the one posted to.
	wantProblem(t, "wrong url", c.do(c.dir["newOrder"], map[string]any{"identifiers": ids}, jwsOpts{url: c.dir["newAccount"]}), 403, "unauthorized")
	// Signed by another key than the account's.
	wantProblem(t, "foreign key", c.do(c.dir["newOrder"], map[string]any{"identifiers": ids}, jwsOpts{key: newECKey(t)}), 400, "malformed")
	// An account URL that does not exist.
	ghost := &rawACME{t: t, e: e, dir: c.dir, key: c.key, kid: c.kid + "x"}
	wantProblem(t, "unknown account", ghost.do(c.dir["newOrder"], map[string]any{"identifiers": ids}, jwsOpts{}), 400, "accountDoesNotExist")
	// newOrder with an embedded key instead of the account's kid.
	wantProblem(t, "jwk where kid is due", c.do(c.dir["newOrder"], map[string]any{"identifiers": ids}, jwsOpts{jwk: true}), 400, "malformed")
	// Not a flattened JWS, and not JOSE at all.
	wantProblem(t, "compact JWS", c.post(c.dir["newOrder"], []byte("eyJhbGciOiJFUzI1NiJ9.e30.c2ln")), 400, "malformed")
	resp, err := e.Client.Post(c.dir["newOrder"], "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 415 {
		t.Fatalf("wrong content type: %d", resp.StatusCode)
	}
	// An HMAC-signed request: the algorithm is refused and the supported ones named.
	hs := c.post(c.dir["newOrder"], hmacJWS(t, c.dir["newOrder"], c.nonce(), c.kid))
	wantProblem(t, "HS256 request", hs, 400, "badSignatureAlgorithm")
	if algs, _ := hs.object(t)["algorithms"].([]any); len(algs) != 4 {
		t.Fatalf("algorithms: %s", hs.body)
	}
	// Identifiers the template refuses, or ACME does not know.
	wantProblem(t, "IP as dns", c.newOrder("10.0.0.1"), 400, "rejectedIdentifier")
	wantProblem(t, "email identifier", c.do(c.dir["newOrder"], map[string]any{"identifiers": []map[string]string{{"type": "email", "value": "a@b.test"}}}, jwsOpts{}), 400, "unsupportedIdentifier")
	if n := len(c.orders()); n != 1 {
		t.Fatalf("the refused requests created orders: %d, want 1", n)
	}

	// Finalizing before the authorizations are valid.
	orderURL := first.header.Get("Location")
	order := first.object(t)
	key := newECKey(t)
	csr := base64.RawURLEncoding.EncodeToString(csrFor(t, key, "neg.test"))
	wantProblem(t, "finalize too early", c.do(order["finalize"].(string), map[string]any{"csr": csr}, jwsOpts{}), 403, "orderNotReady")
	if st := c.do(orderURL, nil, jwsOpts{}).object(t)["status"]; st != "pending" {
		t.Fatalf("order after an early finalize: %v", st)
	}
	// Prove the name over http-01, then finalize with a CSR for other names.
	authzURL := order["authorizations"].([]any)[0].(string)
	var chal map[string]any
	for _, ch := range c.do(authzURL, nil, jwsOpts{}).object(t)["challenges"].([]any) {
		if ch.(map[string]any)["type"] == "http-01" {
			chal = ch.(map[string]any)
		}
	}
	thumb := jwkThumbprint(t, c.key)
	e.http01.responses.Store(chal["token"].(string), chal["token"].(string)+"."+thumb)
	if r := c.do(chal["url"].(string), map[string]any{}, jwsOpts{}); r.status != 200 || r.object(t)["status"] != "valid" ||
		!strings.Contains(strings.Join(r.header.Values("Link"), ","), `rel="up"`) {
		t.Fatalf("challenge: %d %s", r.status, r.body)
	}
	if st := c.do(orderURL, nil, jwsOpts{}).object(t)["status"]; st != "ready" {
		t.Fatalf("order after validation: %v", st)
	}
	otherCSR := base64.RawURLEncoding.EncodeToString(csrFor(t, key, "neg.test", "evil.test"))
	wantProblem(t, "CSR with other names", c.do(order["finalize"].(string), map[string]any{"csr": otherCSR}, jwsOpts{}), 400, "badCSR")
	wantProblem(t, "CSR not base64url DER", c.do(order["finalize"].(string), map[string]any{"csr": "not a csr"}, jwsOpts{}), 400, "badCSR")
	if st := c.do(orderURL, nil, jwsOpts{}).object(t)["status"]; st != "ready" {
		t.Fatalf("order after refused CSRs: %v", st)
	}
	if got := e.Must(t, 200, "GET", "/api/v1/certificates?total=true", admin, nil).Map(t)["total"]; got != certsBefore {
		t.Fatalf("refused requests changed the inventory: %v certificates, was %v", got, certsBefore)
	}
	// And the right CSR still works: nothing was consumed by the refusals.
	fin := c.do(order["finalize"].(string), map[string]any{"csr": csr}, jwsOpts{})
	if fin.status != 200 || fin.object(t)["status"] != "valid" {
		t.Fatalf("finalize: %d %s", fin.status, fin.body)
	}
	certResp := c.do(fin.object(t)["certificate"].(string), nil, jwsOpts{})
	if certResp.status != 200 || certResp.header.Get("Content-Type") != "application/pem-certificate-chain" {
		t.Fatalf("certificate: %d %s", certResp.status, certResp.body)
	}
	blk, _ := pem.Decode(certResp.body)
	issued := mustParse(t, blk.Bytes)

	// RFC 9773 replaces: one live order per replaced certificate, and only
	// for a certificate the account may act on.
	replaces := func(c *rawACME) *rawResponse {
		return c.do(c.dir["newOrder"], map[string]any{"identifiers": ids, "replaces": certID(issued)}, jwsOpts{})
	}
	if r := replaces(c); r.status != 201 || r.object(t)["replaces"] != certID(issued) {
		t.Fatalf("order replacing a certificate: %d %s", r.status, r.body)
	}
	wantProblem(t, "second replacement", replaces(c), 409, "alreadyReplaced")

	// Another account may not read this one's order.
	stranger := newRawACME(t, e, newECKey(t))
	stranger.register()
	wantProblem(t, "foreign order", stranger.do(orderURL, nil, jwsOpts{}), 403, "unauthorized")
	wantProblem(t, "replacing a foreign certificate", replaces(stranger), 403, "unauthorized")
	wantProblem(t, "revoking a foreign certificate", stranger.do(stranger.dir["revokeCert"],
		map[string]any{"certificate": base64.RawURLEncoding.EncodeToString(issued.Raw)}, jwsOpts{}), 403, "unauthorized")
	wantProblem(t, "revocation reason", c.do(c.dir["revokeCert"],
		map[string]any{"certificate": base64.RawURLEncoding.EncodeToString(issued.Raw), "reason": 6}, jwsOpts{}), 400, "badRevocationReason")
	if r := c.do(c.dir["revokeCert"], map[string]any{"certificate": base64.RawURLEncoding.EncodeToString(issued.Raw)}, jwsOpts{}); r.status != 200 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	wantProblem(t, "revoked twice", c.do(c.dir["revokeCert"],
		map[string]any{"certificate": base64.RawURLEncoding.EncodeToString(issued.Raw)}, jwsOpts{}), 400, "alreadyRevoked")
	// A challenge the client does not answer fails with a network error type.
	o := c.newOrder("silent.test").object(t)
	z := c.do(o["authorizations"].([]any)[0].(string), nil, jwsOpts{}).object(t)
	for _, ch := range z["challenges"].([]any) {
		if ch := ch.(map[string]any); ch["type"] == "http-01" {
			r := c.do(ch["url"].(string), map[string]any{}, jwsOpts{}).object(t)
			if r["status"] != "invalid" || !strings.HasSuffix(r["error"].(map[string]any)["type"].(string), ":incorrectResponse") {
				t.Fatalf("unanswered http-01: %v", r)
			}
		}
	}
}

// TestACMEEd25519AccountAndGETRules: EdDSA account keys work, resources
// other than the directory and nonces refuse GET.
func TestACMEEd25519AccountAndGETRules(t *testing.T) {
	e := newACMEEnv(t)
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c := newRawACME(t, e, k)
	c.register()
	if r := c.newOrder("ed.test"); r.status != 201 {
		t.Fatalf("order with an Ed25519 account: %d %s", r.status, r.body)
	}
	r := e.Do(t, "GET", strings.TrimPrefix(c.kid, e.URL), "", nil)
	if r.Status != 405 || !strings.Contains(string(r.Body), "malformed") {
		t.Fatalf("GET of an account: %d %s", r.Status, r.Body)
	}
	if r := e.Do(t, "GET", "/acme/tls-server/new-nonce", "", nil); r.Status != 204 || r.Header.Get("Replay-Nonce") == "" {
		t.Fatalf("GET new-nonce: %d", r.Status)
	}
}

func jwkThumbprint(t *testing.T, k crypto.Signer) string {
	t.Helper()
	jwk := jose.JSONWebKey{Key: k.Public()}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(tp)
}

// hmacJWS is a request signed with HS256, which accounts may not use.
func hmacJWS(t *testing.T, url, nonce, kid string) []byte {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: bytes.Repeat([]byte{1}, 32)},
		&jose.SignerOptions{NonceSource: fixedNonce(nonce), ExtraHeaders: map[jose.HeaderKey]any{"url": url, "kid": kid}})
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign([]byte("{}"))
	if err != nil {
		t.Fatal(err)
	}
	return []byte(jws.FullSerialize())
}
