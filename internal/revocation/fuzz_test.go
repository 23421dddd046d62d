package revocation

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509/pkix"
	"errors"
	"testing"

	"golang.org/x/crypto/ocsp"
)

// FuzzRespond feeds arbitrary bytes to the responder: whatever arrives, the
// answer is a well-formed OCSP response and nothing panics.
//
//	go test -run '^$' -fuzz FuzzRespond ./internal/revocation/
func FuzzRespond(f *testing.F) {
	fx := newOCSPFixture(f, SignWithCA, "p256", nil)
	good := request(f, fx.ca.cert, fx.leaf.SerialNumber, crypto.SHA1)
	f.Add(good)
	f.Add(request(f, fx.ca.cert, fx.leaf.SerialNumber, crypto.SHA256))
	f.Add(customRequest(f, good, 1, []pkix.Extension{nonceExt(f, bytes.Repeat([]byte{7}, 16))}))
	f.Add(customRequest(f, good, 2, nil))
	f.Add([]byte{0x30, 0x00})
	f.Add([]byte{0x30, 0x80})
	f.Fuzz(func(t *testing.T, der []byte) {
		resp := fx.r.Respond(context.Background(), "", der)
		_, err := ocsp.ParseResponse(resp.DER, nil)
		var re ocsp.ResponseError
		switch {
		case err == nil && resp.Status != ocsp.Success:
			t.Fatalf("successful DER for status %v", resp.Status)
		case err != nil && (!errors.As(err, &re) || re.Status != resp.Status):
			t.Fatalf("response does not parse as status %v: %v", resp.Status, err)
		}
	})
}

// FuzzScanRequest checks the nonce scanner never panics and never returns a
// nonce it would refuse to echo.
func FuzzScanRequest(f *testing.F) {
	fx := newOCSPFixture(f, SignWithCA, "p256", nil)
	good := request(f, fx.ca.cert, fx.leaf.SerialNumber, crypto.SHA1)
	f.Add(good)
	f.Add(customRequest(f, good, 1, []pkix.Extension{nonceExt(f, make([]byte, 32))}))
	f.Add(customRequest(f, good, 3, []pkix.Extension{{Id: []int{1, 2, 3}, Critical: true, Value: []byte{1}}}))
	f.Fuzz(func(t *testing.T, der []byte) {
		nonce, _, err := scanRequest(der)
		if err == nil && nonce != nil && acceptableNonce(nonce) == nil {
			t.Fatalf("unacceptable nonce %x returned", nonce)
		}
	})
}

// FuzzDecodeGET checks the GET path decoder never panics or over-reads.
func FuzzDecodeGET(f *testing.F) {
	for _, s := range []string{"MEMwQTA%2FMD0wOzAJBgUrDgMCGgUABBQ", "a+b/c==", "%zz", "", "-_-_"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if der, err := decodeGET(s); err == nil && len(der) > MaxOCSPRequest {
			t.Fatalf("decoded %d bytes, over the limit", len(der))
		}
	})
}
