package acme

import (
	"bytes"
	"context"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/signet-pki/signet/internal/store"
)

// addEAB stores a sealed EAB key, as CreateEABKey does, and returns it in clear.
func (e *jwsEnv) addEAB(t *testing.T, id, orgID, profileID, status string) []byte {
	t.Helper()
	k := &eabKey{OrgID: orgID, ProfileID: profileID, obj: store.ProtocolObject{Kind: kindEAB, ID: id, AccountID: orgID, Status: status}}
	secret := newHMACKey()
	if err := e.s.sealEAB(k, secret); err != nil {
		t.Fatal(err)
	}
	e.insertEAB(t, k)
	return secret
}

func (e *jwsEnv) insertEAB(t *testing.T, k *eabKey) {
	t.Helper()
	o := encode(&k.obj, k)
	if err := e.s.store.Update(context.Background(), func(tx store.Tx) error { return tx.InsertProtocolObject(context.Background(), o) }); err != nil {
		t.Fatal(err)
	}
}

// TestACMEEABKeysAreSealed: a key is stored sealed, never in clear; a key an
// older Signet stored in clear still verifies, and is sealed when it binds.
func TestACMEEABKeysAreSealed(t *testing.T) {
	e := newJWSEnv(t)
	ctx := context.Background()
	stored := func(id string) (*store.ProtocolObject, eabKey) {
		o, err := e.s.store.GetProtocolObject(ctx, kindEAB, id)
		if err != nil {
			t.Fatal(err)
		}
		var k eabKey
		if err := decode(o, &k); err != nil {
			t.Fatal(err)
		}
		return o, k
	}
	secret := e.addEAB(t, "eab_sealed", "org_default", "", eabActive)
	o, k := stored("eab_sealed")
	if len(k.HMAC) != 0 || len(k.Sealed) == 0 || bytes.Contains(o.Data, secret) ||
		bytes.Contains(o.Data, []byte(base64.StdEncoding.EncodeToString(secret))) {
		t.Fatalf("stored key: %s", o.Data)
	}

	legacy := &eabKey{OrgID: "org_default", HMAC: newHMACKey(),
		obj: store.ProtocolObject{Kind: kindEAB, ID: "eab_clear", AccountID: "org_default", Status: eabActive}}
	e.insertEAB(t, legacy)
	url := testBase + "/new-account"
	acctJWK := jose.JSONWebKey{Key: mustEC(t, elliptic.P256()).Public()}
	keyJSON, _ := acctJWK.MarshalJSON()
	thumb, _ := thumbprint(&acctJWK)
	for _, c := range []struct {
		kid string
		mac []byte
	}{{"eab_sealed", secret}, {"eab_clear", legacy.HMAC}} {
		raw := signEAB(t, eabReq{alg: jose.HS256, mac: c.mac, kid: c.kid, url: url, payload: keyJSON})
		if _, err := e.s.verifyEAB(ctx, e.d, raw, url, thumb); err != nil {
			t.Fatalf("%s: %v", c.kid, err)
		}
	}
	if err := e.s.store.Update(ctx, func(tx store.Tx) error { return e.s.bindEAB(ctx, tx, "eab_clear", "acct_a") }); err != nil {
		t.Fatal(err)
	}
	if o, k := stored("eab_clear"); len(k.HMAC) != 0 || len(k.Sealed) == 0 || o.Status != eabUsed {
		t.Fatalf("the key stored in clear, once bound: %s %s", o.Status, o.Data)
	}
	k.obj.ID = "eab_clear" // a sealed key opens only under its own id
	if _, err := e.s.eabSecret(&k); err == nil {
		t.Fatal("a key sealed for one record opened under another's id")
	}
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

	k2 := &eabKey{OrgID: "org_default", Reusable: true,
		obj: store.ProtocolObject{Kind: kindEAB, ID: "eab_many", AccountID: "org_default", Status: eabActive}}
	if err := e.s.sealEAB(k2, newHMACKey()); err != nil {
		t.Fatal(err)
	}
	e.insertEAB(t, k2)
	for _, a := range []string{"acct_1", "acct_2", "acct_3"} {
		if err := bind("eab_many", a); err != nil {
			t.Fatalf("reusable key, %s: %v", a, err)
		}
	}
}
