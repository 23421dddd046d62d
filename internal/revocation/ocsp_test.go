package revocation

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

func TestRespondStatuses(t *testing.T) {
	revokedAt := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	tests := []struct {
		name       string
		status     *CertStatus // nil: never seen
		wantStatus int
		wantReason int
	}{
		{name: "good", status: &CertStatus{Status: StatusGood}, wantStatus: ocsp.Good},
		{name: "revoked key compromise", status: &CertStatus{Status: StatusRevoked, RevokedAt: revokedAt, Reason: ocsp.KeyCompromise},
			wantStatus: ocsp.Revoked, wantReason: ocsp.KeyCompromise},
		{name: "revoked unspecified", status: &CertStatus{Status: StatusRevoked, RevokedAt: revokedAt},
			wantStatus: ocsp.Revoked, wantReason: ocsp.Unspecified},
		{name: "on hold", status: &CertStatus{Status: StatusOnHold, RevokedAt: revokedAt},
			wantStatus: ocsp.Revoked, wantReason: ocsp.CertificateHold},
		{name: "unknown serial", wantStatus: ocsp.Unknown},
	}
	for _, mode := range []SigningMode{SignWithCA, SignDelegated} {
		for _, kind := range []string{"p256", "rsa2048"} {
			f := newOCSPFixture(t, mode, kind, nil)
			for i, tc := range tests {
				for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256} {
					t.Run(modeName(mode)+"/"+kind+"/"+tc.name+"/"+h.String(), func(t *testing.T) {
						serial := big.NewInt(int64(1000 + i))
						if tc.status != nil {
							f.status.set("ca_main", serial, *tc.status)
						}
						got := f.r.Respond(context.Background(), "", request(t, f.ca.cert, serial, h))
						if got.Status != ocsp.Success || !got.Cacheable {
							t.Fatalf("status %v cacheable %v", got.Status, got.Cacheable)
						}
						resp := parseOK(t, got.DER, serial, f.ca.cert)
						if resp.Status != tc.wantStatus {
							t.Fatalf("status %d, want %d", resp.Status, tc.wantStatus)
						}
						if tc.wantStatus == ocsp.Revoked && (!resp.RevokedAt.Equal(revokedAt) || resp.RevocationReason != tc.wantReason) {
							t.Fatalf("revoked at %v reason %d, want %v reason %d", resp.RevokedAt, resp.RevocationReason, revokedAt, tc.wantReason)
						}
						now := f.clock.Now()
						if !resp.ThisUpdate.Equal(now.Add(-clockSkew)) || !resp.NextUpdate.Equal(now.Add(time.Hour)) || !resp.ProducedAt.Equal(now) {
							t.Fatalf("produced %v this %v next %v (now %v)", resp.ProducedAt, resp.ThisUpdate, resp.NextUpdate, now)
						}
						if !got.ThisUpdate.Equal(resp.ThisUpdate) || !got.NextUpdate.Equal(resp.NextUpdate) {
							t.Fatalf("Response times %v/%v disagree with the DER", got.ThisUpdate, got.NextUpdate)
						}
						checkResponder(t, mode, resp, f.ca.cert)
					})
				}
			}
		}
	}
}

func modeName(m SigningMode) string {
	if m == SignDelegated {
		return "delegated"
	}
	return "ca"
}

// checkResponder checks who signed: the CA itself, or a delegated responder
// certificate with the OCSP signing EKU and id-pkix-ocsp-nocheck.
func checkResponder(t *testing.T, mode SigningMode, resp *ocsp.Response, ca *x509.Certificate) {
	t.Helper()
	if mode == SignWithCA {
		if resp.Certificate != nil || !bytes.Equal(resp.RawResponderName, ca.RawSubject) {
			t.Fatalf("CA-signed response names %x and carries a certificate: %v", resp.RawResponderName, resp.Certificate != nil)
		}
		return
	}
	c := resp.Certificate
	if c == nil {
		t.Fatal("delegated response carries no responder certificate")
	}
	if err := c.CheckSignatureFrom(ca); err != nil {
		t.Fatalf("responder certificate not signed by the CA: %v", err)
	}
	if !slices.Equal(c.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning}) || c.IsCA {
		t.Fatalf("responder certificate EKU %v IsCA %v", c.ExtKeyUsage, c.IsCA)
	}
	if !slices.ContainsFunc(c.Extensions, func(e pkix.Extension) bool {
		return e.Id.Equal(oidOCSPNoCheck) && bytes.Equal(e.Value, []byte{5, 0})
	}) {
		t.Fatal("responder certificate lacks id-pkix-ocsp-nocheck")
	}
	if !bytes.Equal(resp.RawResponderName, c.RawSubject) {
		t.Fatal("responder id is not the responder certificate's subject")
	}
}

func TestRespondErrors(t *testing.T) {
	f := newOCSPFixture(t, SignWithCA, "p256", nil)
	keyless := newTestCA(t, "p256", "Imported CA", f.clock.now.Add(-time.Hour), 24*time.Hour)
	f.dir.add(CA{ID: "ca_imported", Certificate: keyless.cert})
	expired := newTestCA(t, "p256", "Expired CA", f.clock.now.Add(-48*time.Hour), 24*time.Hour)
	f.dir.add(CA{ID: "ca_expired", Certificate: expired.cert, Signer: expired.key})
	stranger := newTestCA(t, "p256", "Stranger CA", f.clock.now.Add(-time.Hour), 24*time.Hour)
	good := request(t, f.ca.cert, f.leaf.SerialNumber, crypto.SHA1)
	md5 := bytes.Clone(good)
	// Swap the SHA-1 OID 1.3.14.3.2.26 for MD5's 1.2.840.113549.2.5 would
	// change lengths; instead corrupt the last arc to an unknown one.
	md5[bytes.Index(md5, []byte{0x2b, 0x0e, 0x03, 0x02, 0x1a})+4] = 0x1b

	tests := []struct {
		name string
		caID string
		req  []byte
		err  error // status source error
		want ocsp.ResponseStatus
	}{
		{name: "empty", req: nil, want: ocsp.Malformed},
		{name: "garbage", req: []byte("hello, world"), want: ocsp.Malformed},
		{name: "truncated", req: good[:len(good)-3], want: ocsp.Malformed},
		{name: "trailing data", req: append(bytes.Clone(good), 0x05, 0x00), want: ocsp.Malformed},
		{name: "two certificates", req: customRequest(t, good, 2, nil), want: ocsp.Malformed},
		{name: "no certificates", req: customRequest(t, good, 0, nil), want: ocsp.Malformed},
		{name: "unknown hash", req: md5, want: ocsp.Malformed},
		{name: "unknown issuer", req: request(t, stranger.cert, big.NewInt(1), crypto.SHA1), want: ocsp.Unauthorized},
		{name: "CA without key", req: request(t, keyless.cert, big.NewInt(1), crypto.SHA1), want: ocsp.Unauthorized},
		{name: "expired CA", req: request(t, expired.cert, big.NewInt(1), crypto.SHA1), want: ocsp.Unauthorized},
		{name: "path names another CA", caID: "ca_imported", req: good, want: ocsp.Unauthorized},
		{name: "path names unknown CA", caID: "ca_nope", req: good, want: ocsp.Unauthorized},
		{name: "status source down", req: request(t, f.ca.cert, big.NewInt(77), crypto.SHA1), err: errors.New("db down"), want: ocsp.TryLater},
		{name: "path names the right CA", caID: "ca_main", req: good, want: ocsp.Success},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.status.mu.Lock()
			f.status.err = tc.err
			f.status.mu.Unlock()
			got := f.r.Respond(context.Background(), tc.caID, tc.req)
			if got.Status != tc.want || responseStatus(t, got.DER) != tc.want {
				t.Fatalf("status %v (DER says %v), want %v", got.Status, responseStatus(t, got.DER), tc.want)
			}
			if tc.want != ocsp.Success && got.Cacheable {
				t.Fatal("error response marked cacheable")
			}
		})
	}
}

func TestRespondDirectoryDown(t *testing.T) {
	f := newOCSPFixture(t, SignWithCA, "p256", nil)
	f.dir.err = errors.New("db down")
	req := request(t, f.ca.cert, f.leaf.SerialNumber, crypto.SHA1)
	if got := f.r.Respond(context.Background(), "", req); got.Status != ocsp.TryLater {
		t.Fatalf("status %v, want tryLater", got.Status)
	}
	if got := f.r.Respond(context.Background(), "", req); got.Status != ocsp.TryLater || f.dir.reads.Load() != 1 {
		t.Fatalf("status %v after %d directory reads, want tryLater after 1", got.Status, f.dir.reads.Load())
	}
	f.dir.err = nil
	f.clock.Advance(DefaultCAReloadInterval)
	if got := f.r.Respond(context.Background(), "", req); got.Status != ocsp.Success {
		t.Fatalf("status %v after the directory recovered", got.Status)
	}
}

func TestRespondNewCAFoundByReload(t *testing.T) {
	f := newOCSPFixture(t, SignWithCA, "p256", nil)
	if err := f.r.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	late := newTestCA(t, "p256", "Late CA", f.clock.now.Add(-time.Hour), 24*time.Hour)
	f.dir.add(CA{ID: "ca_late", Certificate: late.cert, Signer: late.key})
	req := request(t, late.cert, big.NewInt(9), crypto.SHA1)
	if got := f.r.Respond(context.Background(), "", req); got.Status != ocsp.Unauthorized {
		t.Fatalf("status %v within the reload interval, want unauthorized", got.Status)
	}
	f.clock.Advance(DefaultCAReloadInterval)
	if got := f.r.Respond(context.Background(), "", req); got.Status != ocsp.Success {
		t.Fatalf("status %v after the reload interval", got.Status)
	}
	reads := f.dir.reads.Load()
	stranger := newTestCA(t, "p256", "Stranger CA", f.clock.now.Add(-time.Hour), 24*time.Hour)
	for range 10 {
		f.r.Respond(context.Background(), "", request(t, stranger.cert, big.NewInt(1), crypto.SHA1))
	}
	if f.dir.reads.Load() != reads {
		t.Fatalf("unknown issuers read the directory %d times within the interval", f.dir.reads.Load()-reads)
	}
}

func TestRespondNonce(t *testing.T) {
	for _, mode := range []SigningMode{SignWithCA, SignDelegated} {
		t.Run(modeName(mode), func(t *testing.T) {
			f := newOCSPFixture(t, mode, "p256", nil)
			base := request(t, f.ca.cert, f.leaf.SerialNumber, crypto.SHA1)
			nonce := bytes.Repeat([]byte{0xab}, 16)
			ext := nonceExt(t, nonce)
			got := f.r.Respond(context.Background(), "", customRequest(t, base, 1, []pkix.Extension{ext}))
			if got.Status != ocsp.Success || got.Cacheable {
				t.Fatalf("status %v cacheable %v", got.Status, got.Cacheable)
			}
			resp := parseOK(t, got.DER, f.leaf.SerialNumber, f.ca.cert)
			exts := responseExtensions(t, resp)
			if len(exts) != 1 || !exts[0].Id.Equal(ext.Id) || !bytes.Equal(exts[0].Value, ext.Value) {
				t.Fatalf("responseExtensions %+v, want the nonce %x", exts, ext.Value)
			}
			if len(resp.Extensions) != 0 {
				t.Fatalf("singleExtensions %+v, want none", resp.Extensions)
			}
			again := f.r.Respond(context.Background(), "", customRequest(t, base, 1, []pkix.Extension{ext}))
			if bytes.Equal(again.DER, got.DER) { // ECDSA signatures differ each time
				t.Fatal("a nonce request was answered from a cache")
			}
			if n := f.status.lookups.Load(); n != 2 {
				t.Fatalf("%d status lookups for two nonce requests, want 2", n)
			}
			// A cached plain response spares later nonce requests the lookup.
			plain := f.r.Respond(context.Background(), "", base)
			f.r.Respond(context.Background(), "", customRequest(t, base, 1, []pkix.Extension{ext}))
			if n := f.status.lookups.Load(); n != 3 {
				t.Fatalf("%d status lookups, want 3", n)
			}
			if len(responseExtensions(t, parseOK(t, plain.DER, f.leaf.SerialNumber, f.ca.cert))) != 0 {
				t.Fatal("plain response carries extensions")
			}
			// Too long a nonce (RFC 8954: over 32 octets) is answered without one, from the cache.
			long := f.r.Respond(context.Background(), "", customRequest(t, base, 1, []pkix.Extension{nonceExt(t, make([]byte, 33))}))
			if !bytes.Equal(long.DER, plain.DER) {
				t.Fatal("over-long nonce not answered from the cache")
			}
			// Other extensions are ignored.
			other := pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 4}, Value: []byte{0x30, 0x00}}
			if got := f.r.Respond(context.Background(), "", customRequest(t, base, 1, []pkix.Extension{other})); !bytes.Equal(got.DER, plain.DER) {
				t.Fatal("request with an unrelated extension not answered from the cache")
			}
		})
	}
}

func TestCacheInvalidate(t *testing.T) {
	f := newOCSPFixture(t, SignDelegated, "p256", nil)
	ctx := context.Background()
	serial := f.leaf.SerialNumber
	sha1Req := request(t, f.ca.cert, serial, crypto.SHA1)
	sha256Req := request(t, f.ca.cert, serial, crypto.SHA256)
	first := f.r.Respond(ctx, "", sha1Req)
	f.r.Respond(ctx, "", sha256Req)
	if again := f.r.Respond(ctx, "", sha1Req); !bytes.Equal(again.DER, first.DER) {
		t.Fatal("second request not served from the cache")
	}
	if n := f.status.lookups.Load(); n != 2 {
		t.Fatalf("%d lookups, want 2 (one per CertID hash)", n)
	}

	revokedAt := f.clock.Now().Add(-time.Minute).UTC()
	f.status.set("ca_main", serial, CertStatus{Status: StatusRevoked, RevokedAt: revokedAt, Reason: ocsp.Superseded})
	if r := parseOK(t, f.r.Respond(ctx, "", sha1Req).DER, serial, f.ca.cert); r.Status != ocsp.Good {
		t.Fatal("cache did not hold the good response before Invalidate")
	}
	f.r.Invalidate("ca_main", serial)
	for _, req := range [][]byte{sha1Req, sha256Req} {
		r := parseOK(t, f.r.Respond(ctx, "", req).DER, serial, f.ca.cert)
		if r.Status != ocsp.Revoked || r.RevocationReason != ocsp.Superseded || !r.RevokedAt.Equal(revokedAt.Truncate(time.Second)) {
			t.Fatalf("after Invalidate: status %d reason %d at %v", r.Status, r.RevocationReason, r.RevokedAt)
		}
	}
	before := f.status.lookups.Load()

	// Fresh until less than half the validity remains, then re-signed.
	f.clock.Advance(29 * time.Minute)
	f.r.Respond(ctx, "", sha1Req)
	if n := f.status.lookups.Load(); n != before {
		t.Fatalf("re-signed after 29 minutes (%d lookups)", n-before)
	}
	f.clock.Advance(2 * time.Minute)
	r := parseOK(t, f.r.Respond(ctx, "", sha1Req).DER, serial, f.ca.cert)
	if n := f.status.lookups.Load(); n != before+1 || !r.ThisUpdate.Equal(f.clock.Now().Add(-clockSkew)) {
		t.Fatalf("not re-signed after 31 minutes: %d lookups, thisUpdate %v", n-before, r.ThisUpdate)
	}
	f.r.Invalidate("ca_unknown", serial) // harmless
	f.r.Invalidate("ca_main", nil)
}

func TestCacheInvalidateRacingFill(t *testing.T) {
	f := newOCSPFixture(t, SignWithCA, "p256", nil)
	ctx := context.Background()
	if err := f.r.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	req := request(t, f.ca.cert, f.leaf.SerialNumber, crypto.SHA1)
	f.status.gate, f.status.entered = make(chan struct{}), make(chan struct{}, 1)
	done := make(chan *Response)
	go func() { done <- f.r.Respond(ctx, "", req) }()
	<-f.status.entered // the fill has read "good"
	f.status.set("ca_main", f.leaf.SerialNumber, CertStatus{Status: StatusRevoked, RevokedAt: f.clock.Now()})
	f.r.Invalidate("ca_main", f.leaf.SerialNumber)
	close(f.status.gate)
	if r := parseOK(t, (<-done).DER, f.leaf.SerialNumber, f.ca.cert); r.Status != ocsp.Good {
		t.Fatalf("racing request got %d, want the good it read", r.Status)
	}
	f.status.entered = nil
	if r := parseOK(t, f.r.Respond(ctx, "", req).DER, f.leaf.SerialNumber, f.ca.cert); r.Status != ocsp.Revoked {
		t.Fatal("the fill that raced with Invalidate cached its stale status")
	}
}

func TestCacheSharedFill(t *testing.T) {
	f := newOCSPFixture(t, SignWithCA, "p256", nil)
	ctx := context.Background()
	if err := f.r.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	req := request(t, f.ca.cert, f.leaf.SerialNumber, crypto.SHA1)
	f.status.gate, f.status.entered = make(chan struct{}), make(chan struct{}, 16)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if got := f.r.Respond(ctx, "", req); got.Status != ocsp.Success {
				t.Errorf("status %v", got.Status)
			}
		})
	}
	<-f.status.entered
	time.Sleep(20 * time.Millisecond) // let the others queue behind the fill (they hit the cache otherwise)
	close(f.status.gate)
	wg.Wait()
	if n := f.status.lookups.Load(); n != 1 {
		t.Fatalf("%d status lookups for 16 concurrent requests, want 1", n)
	}
}

func TestCacheBounds(t *testing.T) {
	f := newOCSPFixture(t, SignWithCA, "p256", func(c *ResponderConfig) { c.CacheSize, c.UnknownCacheSize = 64, 32 })
	ctx := context.Background()
	for i := range 200 {
		s := big.NewInt(int64(10_000 + i))
		if i%2 == 0 {
			f.status.set("ca_main", s, CertStatus{Status: StatusGood})
		}
		f.r.Respond(ctx, "", request(t, f.ca.cert, s, crypto.SHA1))
	}
	if n := f.r.known.len(); n == 0 || n > 64 {
		t.Fatalf("%d known entries, want 1..64", n)
	}
	if n := f.r.unknown.len(); n == 0 || n > 32 {
		t.Fatalf("%d unknown entries, want 1..32", n)
	}

	off := newOCSPFixture(t, SignWithCA, "p256", func(c *ResponderConfig) { c.CacheSize, c.UnknownCacheSize = -1, -1 })
	req := request(t, off.ca.cert, off.leaf.SerialNumber, crypto.SHA1)
	off.r.Respond(ctx, "", req)
	off.r.Respond(ctx, "", req)
	if n := off.status.lookups.Load(); n != 2 || off.r.known.len() != 0 {
		t.Fatalf("disabled cache: %d lookups, %d entries", n, off.r.known.len())
	}
}
