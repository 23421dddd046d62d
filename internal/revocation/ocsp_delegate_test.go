package revocation

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"errors"
	"math/big"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

func TestDelegatedRotation(t *testing.T) {
	f := newOCSPFixture(t, SignDelegated, "p256", nil)
	ctx := context.Background()
	if err := f.r.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if f.rec.count() != 1 {
		t.Fatalf("Reload recorded %d responder certificates, want 1", f.rec.count())
	}
	start := f.clock.Now()
	responder := func() []byte {
		t.Helper()
		f.r.Invalidate("ca_main", f.leaf.SerialNumber) // force a fresh signature
		got := f.r.Respond(ctx, "", request(t, f.ca.cert, f.leaf.SerialNumber, crypto.SHA1))
		resp := parseOK(t, got.DER, f.leaf.SerialNumber, f.ca.cert)
		if resp.Certificate == nil {
			t.Fatal("no responder certificate")
		}
		if !bytes.Equal(resp.Certificate.Raw, f.rec.last()) {
			t.Fatal("responder certificate in use was not the last one recorded")
		}
		if resp.NextUpdate.After(resp.Certificate.NotAfter) {
			t.Fatalf("response outlives its responder certificate: %v > %v", resp.NextUpdate, resp.Certificate.NotAfter)
		}
		return resp.Certificate.Raw
	}
	first := responder()
	c := parseOK(t, f.r.Respond(ctx, "", request(t, f.ca.cert, f.leaf.SerialNumber, crypto.SHA1)).DER, f.leaf.SerialNumber, f.ca.cert).Certificate
	if !c.NotBefore.Equal(start.Add(-clockSkew)) || !c.NotAfter.Equal(start.Add(DefaultResponderCertValidity)) {
		t.Fatalf("responder certificate valid %v..%v, want %v..%v", c.NotBefore, c.NotAfter, start.Add(-clockSkew), start.Add(DefaultResponderCertValidity))
	}

	f.clock.Advance(4 * 24 * time.Hour) // before 2/3 of 7 days
	if !bytes.Equal(responder(), first) || f.rec.count() != 1 {
		t.Fatal("responder certificate rotated before 2/3 of its life")
	}
	f.clock.Advance(18 * time.Hour) // 4d18h: past 2/3 (4d16h)
	second := responder()
	if bytes.Equal(second, first) || f.rec.count() != 2 {
		t.Fatalf("responder certificate not rotated after 2/3 of its life (%d recorded)", f.rec.count())
	}

	// Recording fails: the current certificate stays in use while valid.
	f.rec.mu.Lock()
	f.rec.fail = errors.New("store down")
	f.rec.mu.Unlock()
	f.clock.Advance(5 * 24 * time.Hour) // past 2/3 of the second certificate
	if !bytes.Equal(responder(), second) {
		t.Fatal("an unrecorded certificate was used, or the valid one dropped")
	}
	f.clock.Advance(2*24*time.Hour + time.Minute) // the second certificate has expired
	f.r.Invalidate("ca_main", f.leaf.SerialNumber)
	if got := f.r.Respond(ctx, "", request(t, f.ca.cert, f.leaf.SerialNumber, crypto.SHA1)); got.Status != ocsp.TryLater {
		t.Fatalf("status %v with no valid recorded responder certificate, want tryLater", got.Status)
	}
	f.rec.mu.Lock()
	f.rec.fail = nil
	f.rec.mu.Unlock()
	f.clock.Advance(time.Minute) // past the retry back-off
	if third := responder(); bytes.Equal(third, second) || f.rec.count() != 3 {
		t.Fatal("no new responder certificate once recording works again")
	}
}

func TestDelegatedClampedToCA(t *testing.T) {
	f := newOCSPFixture(t, SignDelegated, "p256", nil)
	short := newTestCA(t, "p256", "Short CA", f.clock.now.Add(-time.Hour), 2*time.Hour+30*time.Minute) // 90 minutes left
	f.dir.add(CA{ID: "ca_short", Certificate: short.cert, Signer: short.key})
	f.status.set("ca_short", big.NewInt(5), CertStatus{Status: StatusGood})
	got := f.r.Respond(context.Background(), "", request(t, short.cert, big.NewInt(5), crypto.SHA1))
	resp := parseOK(t, got.DER, big.NewInt(5), short.cert)
	if !resp.Certificate.NotAfter.Equal(short.cert.NotAfter) {
		t.Fatalf("responder certificate ends %v, CA %v", resp.Certificate.NotAfter, short.cert.NotAfter)
	}
	f.clock.Advance(45 * time.Minute)
	f.r.Invalidate("ca_short", big.NewInt(5))
	got = f.r.Respond(context.Background(), "", request(t, short.cert, big.NewInt(5), crypto.SHA1))
	resp = parseOK(t, got.DER, big.NewInt(5), short.cert)
	if !resp.NextUpdate.Equal(short.cert.NotAfter) || f.rec.count() != 2 {
		t.Fatalf("nextUpdate %v, want the CA's end %v; %d certificates recorded, want 2 (no rotation)", resp.NextUpdate, short.cert.NotAfter, f.rec.count())
	}
}

func TestNewResponderConfig(t *testing.T) {
	if _, err := NewResponder(&memDir{}, newMemStatus(), ResponderConfig{Mode: SignDelegated}); err == nil {
		t.Fatal("delegated mode without RecordResponderCert accepted")
	}
	if _, err := NewResponder(&memDir{}, newMemStatus(), ResponderConfig{Mode: 7}); err == nil {
		t.Fatal("unknown mode accepted")
	}
	if _, err := NewResponder(nil, newMemStatus(), ResponderConfig{}); err == nil {
		t.Fatal("nil directory accepted")
	}
	f := newOCSPFixture(t, SignWithCA, "p256", nil)
	other := newTestCA(t, "p256", "Other", f.clock.now, time.Hour)
	f.dir.add(CA{ID: "ca_bad", Certificate: f.ca.cert, Signer: other.key})
	if err := f.r.Reload(context.Background()); err == nil {
		t.Fatal("Reload accepted a CA whose signer holds another key")
	}
	if got := f.r.Respond(context.Background(), "", request(t, f.ca.cert, f.leaf.SerialNumber, crypto.SHA1)); got.Status != ocsp.Success {
		t.Fatalf("the valid CA stopped answering: %v", got.Status)
	}
}

// TestEncodingMatchesCreateResponse checks that, apart from the nonce, the
// responses are laid out exactly as ocsp.CreateResponse lays them out.
func TestEncodingMatchesCreateResponse(t *testing.T) {
	revokedAt := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	statuses := []struct {
		name string
		cs   *CertStatus
		tmpl ocsp.Response
	}{
		{"good", &CertStatus{Status: StatusGood}, ocsp.Response{Status: ocsp.Good}},
		{"revoked", &CertStatus{Status: StatusRevoked, RevokedAt: revokedAt, Reason: ocsp.KeyCompromise},
			ocsp.Response{Status: ocsp.Revoked, RevokedAt: revokedAt, RevocationReason: ocsp.KeyCompromise}},
		{"revoked unspecified", &CertStatus{Status: StatusRevoked, RevokedAt: revokedAt}, ocsp.Response{Status: ocsp.Revoked, RevokedAt: revokedAt}},
		{"on hold", &CertStatus{Status: StatusOnHold, RevokedAt: revokedAt},
			ocsp.Response{Status: ocsp.Revoked, RevokedAt: revokedAt, RevocationReason: ocsp.CertificateHold}},
		{"unknown", nil, ocsp.Response{Status: ocsp.Unknown}},
	}
	for _, mode := range []SigningMode{SignWithCA, SignDelegated} {
		for _, kind := range []string{"p256", "rsa2048"} {
			f := newOCSPFixture(t, mode, kind, nil)
			for i, s := range statuses {
				for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256} {
					t.Run(modeName(mode)+"/"+kind+"/"+s.name+"/"+h.String(), func(t *testing.T) {
						serial := big.NewInt(int64(500 + i))
						if s.cs != nil {
							f.status.set("ca_main", serial, *s.cs)
						}
						for attempt := 0; ; attempt++ { // CreateResponse stamps producedAt from the wall clock's minute
							minute := time.Now().Truncate(time.Minute)
							f.clock.mu.Lock()
							f.clock.now = minute
							f.clock.mu.Unlock()
							f.r.Invalidate("ca_main", serial)
							ours := parseOK(t, f.r.Respond(context.Background(), "", request(t, f.ca.cert, serial, h)).DER, serial, f.ca.cert)
							id := f.r.index.Load().byID["ca_main"].current.Load()
							tmpl := s.tmpl
							tmpl.SerialNumber, tmpl.IssuerHash = serial, h
							tmpl.ThisUpdate, tmpl.NextUpdate = ours.ThisUpdate, ours.NextUpdate
							responderCert := f.ca.cert
							if mode == SignDelegated {
								responderCert, tmpl.Certificate = ours.Certificate, ours.Certificate
							}
							der, err := ocsp.CreateResponse(f.ca.cert, responderCert, tmpl, id.signer)
							if err != nil {
								t.Fatal(err)
							}
							theirs := parseOK(t, der, serial, f.ca.cert)
							if !time.Now().Truncate(time.Minute).Equal(minute) && attempt < 3 {
								continue
							}
							if !bytes.Equal(ours.TBSResponseData, theirs.TBSResponseData) {
								t.Fatalf("ResponseData differs from ocsp.CreateResponse\n ours %x\ntheirs %x", ours.TBSResponseData, theirs.TBSResponseData)
							}
							break
						}
					})
				}
			}
		}
	}
}

func TestReloadKeepsUnchangedCAs(t *testing.T) {
	f := newOCSPFixture(t, SignDelegated, "p256", nil)
	ctx := context.Background()
	if err := f.r.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	req := request(t, f.ca.cert, f.leaf.SerialNumber, crypto.SHA1)
	first := f.r.Respond(ctx, "", req)
	if err := f.r.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if again := f.r.Respond(ctx, "", req); !bytes.Equal(again.DER, first.DER) || f.rec.count() != 1 {
		t.Fatalf("Reload of an unchanged CA dropped its cache or responder certificate (%d recorded)", f.rec.count())
	}
	// The keystore hands out a new signer object for the same key.
	key := *f.ca.key.(*ecdsa.PrivateKey)
	f.dir.mu.Lock()
	f.dir.cas[0].Signer = &key
	f.dir.mu.Unlock()
	if err := f.r.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if again := f.r.Respond(ctx, "", req); bytes.Equal(again.DER, first.DER) || f.rec.count() != 2 {
		t.Fatalf("Reload kept the old signer (%d recorded)", f.rec.count())
	}
}
