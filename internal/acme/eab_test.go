package acme

import (
	"context"
	"crypto/elliptic"
	"encoding/json"
	"errors"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/signet-pki/signet/internal/store"
)

func (e *jwsEnv) addEAB(t *testing.T, id, orgID, profileID, status string) []byte {
	t.Helper()
	k := &eabKey{OrgID: orgID, ProfileID: profileID, HMAC: newHMACKey()}
	o := encode(&store.ProtocolObject{Kind: kindEAB, ID: id, AccountID: orgID, Status: status}, k)
	if err := e.s.store.Update(context.Background(), func(tx store.Tx) error { return tx.InsertProtocolObject(context.Background(), o) }); err != nil {
		t.Fatal(err)
	}
	return k.HMAC
}

type eabReq struct {
	alg     jose.SignatureAlgorithm
	mac     []byte
	kid     string
	url     string
	nonce   string
	payload []byte // the bound JWK
}

func signEAB(t *testing.T, r eabReq) json.RawMessage {
	t.Helper()
	opts := &jose.SignerOptions{ExtraHeaders: map[jose.HeaderKey]any{"url": r.url, "kid": r.kid}}
	if r.nonce != "" {
		opts.NonceSource = staticNonce(r.nonce)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: r.alg, Key: r.mac}, opts)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(r.payload)
	if err != nil {
		t.Fatal(err)
	}
	return json.RawMessage(jws.FullSerialize())
}

func TestACMEVerifyEAB(t *testing.T) {
	e := newJWSEnv(t)
	url := testBase + "/new-account"
	mac := e.addEAB(t, "eab_ok", "org_default", "", eabActive)
	e.addEAB(t, "eab_used", "org_default", "", eabUsed)
	otherOrg := e.addEAB(t, "eab_org", "org_other", "", eabActive)
	otherProfile := e.addEAB(t, "eab_prof", "org_default", "prof_other", eabActive)
	acctJWK := jose.JSONWebKey{Key: mustEC(t, elliptic.P256()).Public()}
	keyJSON, _ := acctJWK.MarshalJSON()
	thumb, _ := thumbprint(&acctJWK)
	otherJWK := jose.JSONWebKey{Key: mustEC(t, elliptic.P256()).Public()}
	otherJSON, _ := otherJWK.MarshalJSON()
	wrong := append([]byte{}, mac...)
	wrong[0] ^= 1

	ok := eabReq{alg: jose.HS256, mac: mac, kid: "eab_ok", url: url, payload: keyJSON}
	with := func(f func(*eabReq)) eabReq { r := ok; f(&r); return r }
	cases := []struct {
		name string
		req  eabReq
		raw  string // instead of a signed binding
		want string // "" = accepted
	}{
		{name: "HS256", req: ok},
		{name: "HS512", req: with(func(r *eabReq) { r.alg = jose.HS512 })},
		{name: "wrong MAC", req: with(func(r *eabReq) { r.mac = wrong }), want: errUnauthorized},
		{name: "unknown key", req: with(func(r *eabReq) { r.kid = "eab_none" }), want: errUnauthorized},
		{name: "used key", req: with(func(r *eabReq) { r.kid = "eab_used" }), want: errUnauthorized},
		{name: "key of another organization", req: with(func(r *eabReq) { r.kid, r.mac = "eab_org", otherOrg }), want: errUnauthorized},
		{name: "key of another profile", req: with(func(r *eabReq) { r.kid, r.mac = "eab_prof", otherProfile }), want: errUnauthorized},
		{name: "binds another key", req: with(func(r *eabReq) { r.payload = otherJSON }), want: errUnauthorized},
		{name: "payload not a key", req: with(func(r *eabReq) { r.payload = []byte(`{"kty":"nope"}`) }), want: errMalformed},
		{name: "other url", req: with(func(r *eabReq) { r.url = testBase + "/new-order" }), want: errMalformed},
		{name: "carries a nonce", req: with(func(r *eabReq) { r.nonce = "abc" }), want: errMalformed},
		{name: "no kid", req: with(func(r *eabReq) { r.kid = "" }), want: errMalformed},
		{name: "not HMAC", raw: `{"protected":"eyJhbGciOiJFUzI1NiJ9","payload":"","signature":""}`, want: errMalformed},
		{name: "not a JWS", raw: `"hello"`, want: errMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw := json.RawMessage(tc.raw)
			if tc.raw == "" {
				raw = signEAB(t, tc.req)
			}
			k, err := e.s.verifyEAB(context.Background(), e.d, raw, url, thumb)
			if tc.want == "" {
				if err != nil || k.obj.ID != tc.req.kid {
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

// TestBindEABOnce: a single-use key binds one account; a reusable one any number.
func TestACMEBindEABOnce(t *testing.T) {
	e := newJWSEnv(t)
	e.addEAB(t, "eab_once", "org_default", "", eabActive)
	bind := func(id, acct string) error {
		return e.s.store.Update(context.Background(), func(tx store.Tx) error { return e.s.bindEAB(context.Background(), tx, id, acct) })
	}
	if err := bind("eab_once", "acct_1"); err != nil {
		t.Fatal(err)
	}
	var ae *acmeError
	if err := bind("eab_once", "acct_2"); !errors.As(err, &ae) || ae.Type != errUnauthorized {
		t.Fatalf("second binding: %v", err)
	}
	o, _ := e.s.store.GetProtocolObject(context.Background(), kindEAB, "eab_once")
	var k eabKey
	_ = decode(o, &k)
	if o.Status != eabUsed || len(k.Accounts) != 1 || k.Accounts[0] != "acct_1" {
		t.Fatalf("key after binding: %s %+v", o.Status, k)
	}

	k2 := &eabKey{OrgID: "org_default", HMAC: newHMACKey(), Reusable: true}
	o2 := encode(&store.ProtocolObject{Kind: kindEAB, ID: "eab_many", AccountID: "org_default", Status: eabActive}, k2)
	_ = e.s.store.Update(context.Background(), func(tx store.Tx) error { return tx.InsertProtocolObject(context.Background(), o2) })
	for _, a := range []string{"acct_1", "acct_2", "acct_3"} {
		if err := bind("eab_many", a); err != nil {
			t.Fatalf("reusable key, %s: %v", a, err)
		}
	}
}
