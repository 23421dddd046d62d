package revocation

import (
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"
)

// RFC 5280 CRLReason values the encoder treats specially.
const (
	reasonUnspecified   = 0
	reasonUnused        = 7 // value 7 is not assigned
	reasonRemoveFromCRL = 8
	reasonMax           = 10 // aACompromise
)

// Entry is one revoked certificate of a CRL.
type Entry struct {
	// Serial is the certificate's serial number; it must be non-negative.
	// The encoder reads it during the yield call only, so a source may reuse
	// one big.Int for every entry.
	Serial *big.Int
	// RevokedAt is the revocationDate; required.
	RevokedAt time.Time
	// Reason is the RFC 5280 CRLReason. Zero (unspecified) writes no
	// reasonCode extension, as RFC 5280 section 5.3.1 recommends and
	// crypto/x509 does. removeFromCRL (8) is accepted in delta CRLs only.
	Reason int
	// InvalidityDate, when non-zero, adds the invalidityDate extension
	// (RFC 5280 section 5.3.2): when the key is known or suspected to have
	// been compromised, which may precede RevokedAt.
	InvalidityDate time.Time
}

// EntrySource streams the revoked certificates of one CRL.
//
// CreateCRL calls Entries exactly twice: the first pass only measures every
// entry so that all DER lengths are known before the first byte is written,
// the second encodes them straight into the digest and the output. Both
// passes must yield the same entries in the same order — a store should read
// them inside one snapshot (a read transaction) — or CreateCRL fails with
// ErrSourceChanged rather than produce a malformed CRL. The order is written
// as yielded (serial order is the natural choice); duplicates are not
// detected.
//
// Entries must stop and return yield's error as soon as yield returns one,
// and should honour ctx.
type EntrySource interface {
	Entries(ctx context.Context, yield func(Entry) error) error
}

// EntrySourceFunc adapts a function to EntrySource.
type EntrySourceFunc func(ctx context.Context, yield func(Entry) error) error

// Entries calls f.
func (f EntrySourceFunc) Entries(ctx context.Context, yield func(Entry) error) error {
	return f(ctx, yield)
}

// EntryList is an in-memory EntrySource, for small CRLs and tests.
type EntryList []Entry

// Entries yields the list in order.
func (l EntryList) Entries(ctx context.Context, yield func(Entry) error) error {
	for _, e := range l {
		if err := yield(e); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// CRLTemplate describes one CRL.
type CRLTemplate struct {
	// Number is the cRLNumber: non-negative, at most 20 octets, increasing
	// across every CRL (full and delta) of one issuer.
	Number *big.Int
	// BaseNumber, when set, makes this a delta CRL: it is the cRLNumber of
	// the full CRL the delta applies to, written in the critical
	// deltaCRLIndicator extension. It must be lower than Number.
	BaseNumber *big.Int
	// ThisUpdate and NextUpdate are required; NextUpdate may not precede ThisUpdate.
	ThisUpdate, NextUpdate time.Time
	// SignatureAlgorithm overrides the algorithm crypto/x509 would choose
	// for the key (for example SHA384WithRSA); zero keeps the default.
	SignatureAlgorithm x509.SignatureAlgorithm
	// ExtraExtensions are appended after authorityKeyIdentifier, cRLNumber
	// and deltaCRLIndicator, for example an issuingDistributionPoint.
	ExtraExtensions []pkix.Extension
}

// ErrSourceChanged means the two passes over an EntrySource disagreed.
var ErrSourceChanged = errors.New("revocation: entry source yielded different entries on the second pass")

// Object identifiers of the CRL extensions written here.
var (
	oidAuthorityKeyID    = asn1.ObjectIdentifier{2, 5, 29, 35}
	oidCRLNumber         = asn1.ObjectIdentifier{2, 5, 29, 20}
	oidDeltaCRLIndicator = asn1.ObjectIdentifier{2, 5, 29, 27}
)

// DER of the entry extensions up to their variable part: the reasonCode
// extension {2.5.29.21, OCTET STRING {ENUMERATED r}} and the invalidityDate
// extension {2.5.29.24, OCTET STRING {GeneralizedTime}}.
const (
	reasonExtLen     = 12
	invalidityExtLen = 26
)

// crlLayout is everything of a CRL that does not depend on its entries.
type crlLayout struct {
	prefix []byte // TBS content before revokedCertificates
	exts   []byte // [0] EXPLICIT crlExtensions
	params sigParams
	delta  bool
}

// CreateCRL issues an RFC 5280 v2 CRL over the entries of src, signed by
// signer, the key certified by issuer, and returns its DER.
//
// The entries are never held as values: the first pass over src measures
// them, the output is allocated once at its exact size, and the second pass
// DER-encodes each entry into it while the digest consumes the bytes as they
// are written (Ed25519 signs the whole TBS, which is already in the output).
// A CRL is a single DER value whose outer length includes the signature, and
// an ECDSA signature's length is known only after the last TBS byte is hashed,
// so the result is a byte slice rather than a stream; it is what gets served
// anyway. Peak memory is the CRL's size plus a few KiB.
//
// The TBS bytes equal those of x509.CreateRevocationList for the same input
// when invalidityDate and deltaCRLIndicator are passed to it as
// ExtraExtensions (entry extensions are written invalidityDate first, then
// reasonCode, as it orders them).
func CreateCRL(ctx context.Context, tmpl *CRLTemplate, issuer *x509.Certificate, signer crypto.Signer, src EntrySource) ([]byte, error) {
	lay, err := layoutCRL(tmpl, issuer, signer)
	if err != nil {
		return nil, err
	}

	// Pass 1: validate and measure.
	var count, revokedLen int
	err = src.Entries(ctx, func(e Entry) error {
		n, err := entryLen(e, lay.delta)
		if err != nil {
			return fmt.Errorf("revoked entry %d (serial %x): %w", count, e.Serial, err)
		}
		revokedLen += n
		count++
		if count%4096 == 0 {
			return ctx.Err()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("revocation: measure CRL entries: %w", err)
	}

	revokedTLV := 0
	if count > 0 {
		revokedTLV = tlvLen(revokedLen)
	}
	tbsContent := len(lay.prefix) + revokedTLV + len(lay.exts)
	maxOuter := tlvLen(tbsContent) + len(lay.params.algID) + tlvLen(1+lay.params.maxSig)
	off := 1 + lenOfLen(maxOuter) // room for the outer header, written last
	buf := make([]byte, off, off+maxOuter)
	buf = appendHeader(buf, tagSequence, tbsContent)
	buf = append(buf, lay.prefix...)
	if count > 0 {
		buf = appendHeader(buf, tagSequence, revokedLen)
	}

	// Pass 2: encode into buf and the digest.
	h := lay.params.newHash()
	hashed := off
	end := len(buf) + revokedLen
	seen := 0
	err = src.Entries(ctx, func(e Entry) error {
		n, err := entryLen(e, lay.delta)
		if err != nil || seen == count || len(buf)+n > end {
			return ErrSourceChanged
		}
		buf = appendEntry(buf, e)
		seen++
		if h != nil && len(buf)-hashed >= 64<<10 {
			h.Write(buf[hashed:])
			hashed = len(buf)
		}
		if seen%4096 == 0 {
			return ctx.Err()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("revocation: encode CRL entries: %w", err)
	}
	if seen != count || len(buf) != end {
		return nil, fmt.Errorf("revocation: encode CRL entries: %w", ErrSourceChanged)
	}
	buf = append(buf, lay.exts...)
	if h != nil {
		h.Write(buf[hashed:])
	}

	sig, err := lay.params.sign(signer, h, buf[off:], true)
	if err != nil {
		return nil, fmt.Errorf("revocation: CRL: %w", err)
	}
	buf = append(buf, lay.params.algID...)
	buf = appendHeader(buf, tagBitString, 1+len(sig))
	buf = append(buf, 0) // no unused bits
	buf = append(buf, sig...)
	if cap(buf) != off+maxOuter {
		return nil, errors.New("revocation: CRL size estimate exceeded") // a bug, never the input
	}
	outer := len(buf) - off
	start := off - 1 - lenOfLen(outer)
	appendHeader(buf[start:start], tagSequence, outer)
	return buf[start:], nil
}

// layoutCRL validates the template and issuer and encodes every part of the
// CRL that does not depend on the entries.
func layoutCRL(tmpl *CRLTemplate, issuer *x509.Certificate, signer crypto.Signer) (*crlLayout, error) {
	switch {
	case tmpl == nil:
		return nil, errors.New("revocation: nil CRL template")
	case issuer == nil || signer == nil:
		return nil, errors.New("revocation: CRL needs an issuer certificate and its signer")
	case issuer.KeyUsage != 0 && issuer.KeyUsage&x509.KeyUsageCRLSign == 0:
		return nil, errors.New("revocation: issuer certificate lacks the cRLSign key usage")
	case len(issuer.SubjectKeyId) == 0:
		// RFC 5280 section 5.2.1 requires authorityKeyIdentifier, built from it.
		return nil, errors.New("revocation: issuer certificate has no subject key identifier")
	case !samePublicKey(issuer, signer):
		return nil, errors.New("revocation: signer does not hold the issuer certificate's key")
	case tmpl.ThisUpdate.IsZero() || tmpl.NextUpdate.IsZero():
		return nil, errors.New("revocation: CRL needs thisUpdate and nextUpdate")
	case tmpl.NextUpdate.Before(tmpl.ThisUpdate):
		return nil, errors.New("revocation: CRL nextUpdate precedes thisUpdate")
	}
	if err := checkTime(tmpl.ThisUpdate); err != nil {
		return nil, fmt.Errorf("revocation: CRL thisUpdate: %w", err)
	}
	if err := checkTime(tmpl.NextUpdate); err != nil {
		return nil, fmt.Errorf("revocation: CRL nextUpdate: %w", err)
	}
	if err := checkCRLNumber(tmpl.Number); err != nil {
		return nil, fmt.Errorf("revocation: CRL number: %w", err)
	}
	lay := &crlLayout{delta: tmpl.BaseNumber != nil}
	if lay.delta {
		if err := checkCRLNumber(tmpl.BaseNumber); err != nil {
			return nil, fmt.Errorf("revocation: base CRL number: %w", err)
		}
		if tmpl.BaseNumber.Cmp(tmpl.Number) >= 0 {
			return nil, errors.New("revocation: a delta CRL's number must exceed its base CRL number")
		}
	}
	var err error
	if lay.params, err = signatureParams(signer.Public(), tmpl.SignatureAlgorithm); err != nil {
		return nil, fmt.Errorf("revocation: CRL: %w", err)
	}

	subject := issuer.RawSubject
	if len(subject) == 0 {
		if subject, err = asn1.Marshal(issuer.Subject.ToRDNSequence()); err != nil {
			return nil, fmt.Errorf("revocation: encode issuer name: %w", err)
		}
	}
	p := []byte{tagInteger, 1, 1} // version v2
	p = append(p, lay.params.algID...)
	p = append(p, subject...)
	p, _ = appendTime(p, tmpl.ThisUpdate) // range checked above
	p, _ = appendTime(p, tmpl.NextUpdate)
	lay.prefix = p

	if lay.exts, err = crlExtensions(tmpl, issuer.SubjectKeyId); err != nil {
		return nil, err
	}
	return lay, nil
}

func checkCRLNumber(n *big.Int) error {
	switch {
	case n == nil:
		return errors.New("missing")
	case n.Sign() < 0:
		return errors.New("negative")
	case intContentLen(n) > 20:
		return errors.New("exceeds 20 octets") // RFC 5280 section 5.2.3
	}
	return nil
}

// crlExtensions encodes [0] EXPLICIT Extensions in crypto/x509's order.
func crlExtensions(tmpl *CRLTemplate, ski []byte) ([]byte, error) {
	aki, err := asn1.Marshal(struct {
		ID []byte `asn1:"optional,tag:0"`
	}{ski})
	if err != nil {
		return nil, fmt.Errorf("revocation: encode authority key identifier: %w", err)
	}
	num, err := asn1.Marshal(tmpl.Number)
	if err != nil {
		return nil, fmt.Errorf("revocation: encode CRL number: %w", err)
	}
	exts := []pkix.Extension{{Id: oidAuthorityKeyID, Value: aki}, {Id: oidCRLNumber, Value: num}}
	if tmpl.BaseNumber != nil {
		base, err := asn1.Marshal(tmpl.BaseNumber)
		if err != nil {
			return nil, fmt.Errorf("revocation: encode base CRL number: %w", err)
		}
		// RFC 5280 section 5.2.4: the deltaCRLIndicator is critical.
		exts = append(exts, pkix.Extension{Id: oidDeltaCRLIndicator, Critical: true, Value: base})
	}
	for _, e := range tmpl.ExtraExtensions {
		if e.Id.Equal(oidAuthorityKeyID) || e.Id.Equal(oidCRLNumber) || e.Id.Equal(oidDeltaCRLIndicator) {
			return nil, fmt.Errorf("revocation: extra extension %v is written by the encoder itself", e.Id)
		}
		exts = append(exts, e)
	}
	seq, err := asn1.Marshal(exts)
	if err != nil {
		return nil, fmt.Errorf("revocation: encode CRL extensions: %w", err)
	}
	return append(appendHeader(nil, 0xa0, len(seq)), seq...), nil
}

// entryLen validates e and returns the size of its DER encoding.
func entryLen(e Entry, delta bool) (int, error) {
	switch {
	case e.Serial == nil:
		return 0, errors.New("missing serial number")
	case e.Serial.Sign() < 0:
		return 0, errors.New("negative serial number")
	case e.RevokedAt.IsZero():
		return 0, errors.New("missing revocation date")
	case e.Reason < 0 || e.Reason > reasonMax || e.Reason == reasonUnused:
		return 0, fmt.Errorf("invalid reason code %d", e.Reason)
	case e.Reason == reasonRemoveFromCRL && !delta:
		return 0, errors.New("reason removeFromCRL is only allowed in a delta CRL")
	}
	if err := checkTime(e.RevokedAt); err != nil {
		return 0, fmt.Errorf("revocation date: %w", err)
	}
	if !e.InvalidityDate.IsZero() {
		if err := checkTime(e.InvalidityDate); err != nil {
			return 0, fmt.Errorf("invalidity date: %w", err)
		}
	}
	return tlvLen(entryContentLen(e)), nil
}

func entryContentLen(e Entry) int {
	n := tlvLen(intContentLen(e.Serial)) + timeLen(e.RevokedAt)
	if x := entryExtsLen(e); x > 0 {
		n += tlvLen(x)
	}
	return n
}

func entryExtsLen(e Entry) int {
	n := 0
	if !e.InvalidityDate.IsZero() {
		n += invalidityExtLen
	}
	if e.Reason != reasonUnspecified {
		n += reasonExtLen
	}
	return n
}

// appendEntry appends the DER of an entry already validated by entryLen.
func appendEntry(dst []byte, e Entry) []byte {
	dst = appendHeader(dst, tagSequence, entryContentLen(e))
	dst = appendInt(dst, e.Serial)
	dst, _ = appendTime(dst, e.RevokedAt)
	x := entryExtsLen(e)
	if x == 0 {
		return dst
	}
	dst = appendHeader(dst, tagSequence, x)
	if !e.InvalidityDate.IsZero() {
		dst = append(dst, tagSequence, invalidityExtLen-2, 0x06, 0x03, 0x55, 0x1d, 0x18, tagOctetString, 17)
		dst, _ = appendGeneralizedTime(dst, e.InvalidityDate)
	}
	if e.Reason != reasonUnspecified {
		dst = append(dst, tagSequence, reasonExtLen-2, 0x06, 0x03, 0x55, 0x1d, 0x15,
			tagOctetString, 3, tagEnumerated, 1, byte(e.Reason))
	}
	return dst
}

// EncodeCRLPEM returns der as a PEM "X509 CRL" block.
func EncodeCRLPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})
}

// WriteCRLPEM writes der to w as a PEM "X509 CRL" block without holding a
// second, base64 copy of a large CRL in memory.
func WriteCRLPEM(w io.Writer, der []byte) error {
	if err := pem.Encode(w, &pem.Block{Type: "X509 CRL", Bytes: der}); err != nil {
		return fmt.Errorf("revocation: write CRL PEM: %w", err)
	}
	return nil
}
