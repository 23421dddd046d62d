package revocation

import (
	"errors"
	"fmt"
	"math/big"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
	"golang.org/x/crypto/ocsp"
)

// maxNonce is the longest nonce echoed. RFC 8954 section 2.1: responders
// accept 1–32 octets and may answer longer nonces without one.
const maxNonce = 32

// parseRequest parses a DER OCSPRequest with x/crypto/ocsp and returns the
// raw extnValue of its nonce extension, if any. x/crypto/ocsp ignores
// requestExtensions and silently drops all but the first certificate, so the
// outer structure is walked here first.
func parseRequest(der []byte) (*ocsp.Request, []byte, error) {
	nonce, count, err := scanRequest(der)
	if err != nil {
		return nil, nil, err
	}
	if count != 1 {
		return nil, nil, fmt.Errorf("request names %d certificates, want 1", count)
	}
	req, err := ocsp.ParseRequest(der)
	if err != nil {
		return nil, nil, err
	}
	return req, nonce, nil
}

// oidNonce is id-pkix-ocsp-nonce (1.3.6.1.5.5.7.48.1.2) in DER.
var oidNonce = []byte{0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02}

// scanRequest walks OCSPRequest → TBSRequest (RFC 6960 section 4.1.1) and
// returns the nonce extnValue and the number of requested certificates.
func scanRequest(der []byte) (nonce []byte, count int, err error) {
	in := cryptobyte.String(der)
	var req, tbs, list cryptobyte.String
	if !in.ReadASN1(&req, cbasn1.SEQUENCE) || !in.Empty() || !req.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		return nil, 0, errors.New("not an OCSPRequest")
	}
	if !tbs.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) || // version
		!tbs.SkipOptionalASN1(cbasn1.Tag(1).Constructed().ContextSpecific()) || // requestorName
		!tbs.ReadASN1(&list, cbasn1.SEQUENCE) {
		return nil, 0, errors.New("malformed TBSRequest")
	}
	for !list.Empty() {
		if !list.SkipASN1(cbasn1.SEQUENCE) {
			return nil, 0, errors.New("malformed requestList")
		}
		count++
	}
	var exts cryptobyte.String
	var hasExts bool
	if !tbs.ReadOptionalASN1(&exts, &hasExts, cbasn1.Tag(2).Constructed().ContextSpecific()) || !tbs.Empty() {
		return nil, 0, errors.New("malformed requestExtensions")
	}
	if !hasExts {
		return nil, count, nil
	}
	var seq cryptobyte.String
	if !exts.ReadASN1(&seq, cbasn1.SEQUENCE) || !exts.Empty() {
		return nil, 0, errors.New("malformed requestExtensions")
	}
	for !seq.Empty() {
		var ext, oid, value cryptobyte.String
		if !seq.ReadASN1(&ext, cbasn1.SEQUENCE) || !ext.ReadASN1(&oid, cbasn1.OBJECT_IDENTIFIER) ||
			!ext.SkipOptionalASN1(cbasn1.BOOLEAN) || !ext.ReadASN1(&value, cbasn1.OCTET_STRING) || !ext.Empty() {
			return nil, 0, errors.New("malformed extension")
		}
		if string(oid) == string(oidNonce) {
			nonce = acceptableNonce(value)
		}
	}
	return nonce, count, nil
}

// acceptableNonce returns the extnValue to echo, or nil to answer without a
// nonce. Conforming clients wrap the nonce in an OCTET STRING (RFC 8954);
// some old ones put it raw into extnValue, which is echoed as sent.
func acceptableNonce(value []byte) []byte {
	inner := cryptobyte.String(value)
	var n cryptobyte.String
	if inner.ReadASN1(&n, cbasn1.OCTET_STRING) && inner.Empty() {
		if len(n) >= 1 && len(n) <= maxNonce {
			return value
		}
		return nil
	}
	if len(value) >= 1 && len(value) <= maxNonce {
		return value
	}
	return nil
}

// responseFields is one SingleResponse and its context.
type responseFields struct {
	certID                             []byte // CertID content before the serial
	serial                             *big.Int
	status                             CertStatus
	producedAt, thisUpdate, nextUpdate time.Time
	nonce                              []byte // extnValue to echo, or nil
}

// idPKIXOCSPBasic is id-pkix-ocsp-basic (1.3.6.1.5.5.7.48.1.1).
var idPKIXOCSPBasic = []int{1, 3, 6, 1, 5, 5, 7, 48, 1, 1}

// encodeResponse builds and signs a successful OCSPResponse holding one
// BasicOCSPResponse, laid out as ocsp.CreateResponse lays it out (responder
// by name, no version, reason omitted when unspecified) plus the
// responseExtensions carrying the nonce.
func (id *identity) encodeResponse(f responseFields) ([]byte, error) {
	st := f.status
	if st.Known && st.Status != StatusGood && st.RevokedAt.IsZero() {
		return nil, errors.New("status source returned a revocation without its time")
	}
	tb := cryptobyte.NewBuilder(make([]byte, 0, 256))
	tb.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // ResponseData
		b.AddBytes(id.responderID)
		addGeneralizedTime(b, f.producedAt)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // responses
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SingleResponse
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // CertID
					b.AddBytes(f.certID)
					b.AddASN1BigInt(f.serial)
				})
				addCertStatus(b, st)
				addGeneralizedTime(b, f.thisUpdate)
				b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					addGeneralizedTime(b, f.nextUpdate)
				})
			})
		})
		if f.nonce != nil {
			b.AddASN1(cbasn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1(cbasn1.OBJECT_IDENTIFIER, func(b *cryptobyte.Builder) { b.AddBytes(oidNonce) })
						b.AddASN1OctetString(f.nonce)
					})
				})
			})
		}
	})
	tbs, err := tb.Bytes()
	if err != nil {
		return nil, fmt.Errorf("encode ResponseData: %w", err)
	}
	var sig []byte
	if h := id.params.newHash(); h != nil {
		h.Write(tbs)
		sig, err = id.params.sign(id.signer, h, nil, !id.verified.Load())
	} else {
		sig, err = id.params.sign(id.signer, nil, tbs, !id.verified.Load())
	}
	if err != nil {
		return nil, err
	}
	id.verified.Store(true)

	out := cryptobyte.NewBuilder(make([]byte, 0, len(tbs)+len(sig)+len(id.certs)+64))
	out.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // OCSPResponse
		b.AddASN1Enum(int64(ocsp.Success))
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // ResponseBytes
				b.AddASN1ObjectIdentifier(idPKIXOCSPBasic)
				b.AddASN1(cbasn1.OCTET_STRING, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // BasicOCSPResponse
						b.AddBytes(tbs)
						b.AddBytes(id.params.algID)
						b.AddASN1BitString(sig)
						b.AddBytes(id.certs)
					})
				})
			})
		})
	})
	der, err := out.Bytes()
	if err != nil {
		return nil, fmt.Errorf("encode OCSPResponse: %w", err)
	}
	return der, nil
}

// addCertStatus writes good [0] IMPLICIT NULL, revoked [1] IMPLICIT
// RevokedInfo or unknown [2] IMPLICIT NULL.
func addCertStatus(b *cryptobyte.Builder, st CertStatus) {
	switch {
	case !st.Known:
		b.AddASN1(cbasn1.Tag(2).ContextSpecific(), func(*cryptobyte.Builder) {})
	case st.Status == StatusGood:
		b.AddASN1(cbasn1.Tag(0).ContextSpecific(), func(*cryptobyte.Builder) {})
	default:
		reason := st.Reason
		if st.Status == StatusOnHold {
			reason = ocsp.CertificateHold
		}
		b.AddASN1(cbasn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			addGeneralizedTime(b, st.RevokedAt)
			if reason != reasonUnspecified {
				b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					b.AddASN1Enum(int64(reason))
				})
			}
		})
	}
}

// addGeneralizedTime writes t in whole seconds, UTC, as DER requires.
func addGeneralizedTime(b *cryptobyte.Builder, t time.Time) {
	var buf [17]byte
	enc, err := appendGeneralizedTime(buf[:0], t)
	if err != nil {
		b.SetError(err)
		return
	}
	b.AddBytes(enc)
}
