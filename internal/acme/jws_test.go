package acme

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/signet-pki/signet/internal/keystore"
	"github.com/signet-pki/signet/internal/profile"
	"github.com/signet-pki/signet/internal/store"
)

const testBase = "https://ca.test/acme/web"

// jwsEnv is a service over a memory store with one directory ("web") and
// one account.
type jwsEnv struct {
	s       *Service
	d       *directory
	acctKey crypto.Signer
	kid     string
}

func newJWSEnv(t *testing.T) *jwsEnv {
	t.Helper()
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	sealer, err := keystore.NewSealer([]byte("a passphrase for the tests"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Deps{Store: newMemStore(), Secrets: sealer}, Config{Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	d := &directory{prof: &profile.Resolved{Profile: store.Profile{ID: "prof_web", OrgID: "org_default", Name: "web"}}, base: testBase}
	e := &jwsEnv{s: s, d: d, acctKey: mustEC(t, elliptic.P256())}
	e.kid = e.addAccount(t, "acct_a", "prof_web", statusValid, e.acctKey)
	e.addAccount(t, "acct_other", "prof_other", statusValid, mustEC(t, elliptic.P256()))
	e.addAccount(t, "acct_gone", "prof_web", statusDeactivated, mustEC(t, elliptic.P256()))
	return e
}

func (e *jwsEnv) addAccount(t *testing.T, id, profileID, status string, key crypto.Signer) string {
	t.Helper()
	jwk := jose.JSONWebKey{Key: key.Public()}
	raw, _ := jwk.MarshalJSON()
	thumb, _ := thumbprint(&jwk)
	a := &account{ProfileID: profileID, OrgID: "org_default", Key: raw}
	o := encode(&store.ProtocolObject{Kind: kindAccount, ID: id, KeyID: accountKeyID(profileID, thumb), Status: status}, a)
	if err := e.s.store.Update(context.Background(), func(tx store.Tx) error { return tx.InsertProtocolObject(context.Background(), o) }); err != nil {
		t.Fatal(err)
	}
	return testBase + "/account/" + id
}

func mustEC(t *testing.T, c elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

type staticNonce string

func (n staticNonce) Nonce() (string, error) { return string(n), nil }

// signReq is one way of signing a request for the table below.
type signReq struct {
	key    crypto.Signer
	alg    jose.SignatureAlgorithm
	kid    string // "" = embed the key
	url    string
	nonce  string // "-" = none, "" = a fresh one
	noURL  bool
	header map[jose.HeaderKey]any
}

func (e *jwsEnv) sign(t *testing.T, r signReq, payload []byte) []byte {
	t.Helper()
	if r.nonce == "" {
		r.nonce, _ = e.s.nonces.issue(context.Background())
	}
	extra := map[jose.HeaderKey]any{"url": r.url}
	if r.noURL {
		delete(extra, "url")
	}
	for k, v := range r.header {
		extra[k] = v
	}
	opts := &jose.SignerOptions{ExtraHeaders: extra, EmbedJWK: r.kid == ""}
	if r.nonce != "-" {
		opts.NonceSource = staticNonce(r.nonce)
	}
	sk := jose.SigningKey{Algorithm: r.alg, Key: r.key}
	if r.kid != "" {
		sk.Key = jose.JSONWebKey{Key: r.key, KeyID: r.kid}
	}
	signer, err := jose.NewSigner(sk, opts)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(jws.FullSerialize())
}

func TestACMEAuthenticate(t *testing.T) {
	e := newJWSEnv(t)
	url := testBase + "/new-order"
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	p384 := mustEC(t, elliptic.P384())
	ok := signReq{key: e.acctKey, alg: jose.ES256, kid: e.kid, url: url}
	with := func(f func(*signReq)) signReq { r := ok; f(&r); return r }
	cases := []struct {
		name string
		req  signReq
		rule keyRule
		body []byte // instead of a signed request
		ct   string
		want string // error type; "" = accepted
	}{
		{name: "account request", req: ok, rule: useKID},
		{name: "embedded Ed25519 key", req: signReq{key: ed, alg: jose.EdDSA, url: url}, rule: useJWK},
		{name: "embedded P-384 key", req: signReq{key: p384, alg: jose.ES384, url: url}, rule: useKIDJWK},
		{name: "wrong url", req: with(func(r *signReq) { r.url = testBase + "/new-account" }), rule: useKID, want: errUnauthorized},
		{name: "no url", req: with(func(r *signReq) { r.noURL = true }), rule: useKID, want: errMalformed},
		{name: "no nonce", req: with(func(r *signReq) { r.nonce = "-" }), rule: useKID, want: errBadNonce},
		{name: "made-up nonce", req: with(func(r *signReq) { r.nonce = "AAAA" }), rule: useKID, want: errBadNonce},
		{name: "signed by another key", req: with(func(r *signReq) { r.key = mustEC(t, elliptic.P256()) }), rule: useKID, want: errMalformed},
		{name: "unknown account", req: with(func(r *signReq) { r.kid = testBase + "/account/acct_none" }), rule: useKID, want: errAccountDoesNotExist},
		{name: "account of another directory", req: with(func(r *signReq) { r.kid = testBase + "/account/acct_other" }), rule: useKID, want: errAccountDoesNotExist},
		{name: "kid outside the directory", req: with(func(r *signReq) { r.kid = "https://evil.test/account/acct_a" }), rule: useKID, want: errAccountDoesNotExist},
		{name: "deactivated account", req: with(func(r *signReq) { r.kid = testBase + "/account/acct_gone" }), rule: useKID, want: errUnauthorized},
		{name: "jwk where kid is due", req: with(func(r *signReq) { r.kid = "" }), rule: useKID, want: errMalformed},
		{name: "kid where jwk is due", req: ok, rule: useJWK, want: errMalformed},
		{name: "RSA key too small", req: signReq{key: rsa1024, alg: jose.RS256, url: url}, rule: useJWK, want: errBadPublicKey},
		{name: "b64 header", req: with(func(r *signReq) { r.header = map[jose.HeaderKey]any{"b64": true} }), rule: useKID, want: errMalformed},
		{name: "HS256", body: []byte(`{"protected":"eyJhbGciOiJIUzI1NiJ9","payload":"","signature":""}`), rule: useKID, want: errBadSignatureAlgorithm},
		{name: "alg none", body: []byte(`{"protected":"eyJhbGciOiJub25lIn0","payload":"","signature":""}`), rule: useKID, want: errBadSignatureAlgorithm},
		{name: "compact serialization", body: []byte(`eyJhbGciOiJFUzI1NiJ9.e30.c2ln`), rule: useKID, want: errMalformed},
		{name: "general serialization", body: []byte(`{"payload":"","signatures":[]}`), rule: useKID, want: errMalformed},
		{name: "unprotected header", body: []byte(`{"protected":"e30","header":{},"payload":"","signature":""}`), rule: useKID, want: errMalformed},
		{name: "two objects", body: []byte(`{"protected":"e30","payload":"","signature":""}{}`), rule: useKID, want: errMalformed},
		{name: "not JSON", body: []byte(`nope`), rule: useKID, want: errMalformed},
		{name: "wrong content type", req: ok, rule: useKID, ct: "application/json", want: errMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.body
			if body == nil {
				body = e.sign(t, tc.req, []byte(`{}`))
			}
			r := httptest.NewRequest("POST", url, bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/jose+json")
			if tc.ct != "" {
				r.Header.Set("Content-Type", tc.ct)
			}
			req, err := e.s.authenticate(context.Background(), r, e.d, url, tc.rule)
			if tc.want == "" {
				if err != nil || string(req.payload) != "{}" {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ae *acmeError
			if !errors.As(err, &ae) || ae.Type != tc.want {
				t.Fatalf("want %s, got %v", tc.want, err)
			}
		})
	}
}

// TestReplayIsRefused: the same signed request twice, the second a badNonce.
func TestACMEReplayIsRefused(t *testing.T) {
	e := newJWSEnv(t)
	url := testBase + "/new-order"
	body := e.sign(t, signReq{key: e.acctKey, alg: jose.ES256, kid: e.kid, url: url}, []byte{})
	for i, want := range []string{"", errBadNonce} {
		r := httptest.NewRequest("POST", url, bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/jose+json")
		req, err := e.s.authenticate(context.Background(), r, e.d, url, useKID)
		var ae *acmeError
		switch {
		case want == "" && (err != nil || !req.postAsGet()):
			t.Fatalf("request %d: %v", i, err)
		case want != "" && (!errors.As(err, &ae) || ae.Type != want):
			t.Fatalf("request %d: want %s, got %v", i, want, err)
		}
	}
}

func FuzzParseJWS(f *testing.F) {
	f.Add([]byte(`{"protected":"eyJhbGciOiJFUzI1NiJ9","payload":"","signature":"AA"}`))
	f.Add([]byte(`{"payload":"","signatures":[{"protected":"e30","signature":""}]}`))
	f.Add([]byte(`eyJhbGciOiJFUzI1NiJ9.e30.c2ln`))
	f.Fuzz(func(t *testing.T, body []byte) {
		jws, h, err := parseJWS(body)
		if err != nil {
			var ae *acmeError
			if !errors.As(err, &ae) {
				t.Fatalf("not an ACME error: %v", err)
			}
			return
		}
		if jws == nil || h == nil || (h.KeyID == "") == (h.JSONWebKey == nil) {
			t.Fatalf("accepted an ill-formed JWS: %s", body)
		}
		_, _ = json.Marshal(h.ExtraHeaders)
	})
}
