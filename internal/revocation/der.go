package revocation

import (
	"errors"
	"math/big"
	"time"
)

// Hand-written DER for the parts that are repeated per revoked certificate.
// encoding/asn1 goes through reflection and allocates per value, which is the
// difference between seconds and minutes on a million-entry CRL. Every
// appendX here has a matching xLen so lengths can be known before bytes are
// written.

// DER universal tags used here.
const (
	tagBoolean         = 0x01
	tagInteger         = 0x02
	tagBitString       = 0x03
	tagOctetString     = 0x04
	tagEnumerated      = 0x0a
	tagUTCTime         = 0x17
	tagGeneralizedTime = 0x18
	tagSequence        = 0x30
)

// lenOfLen is the number of bytes the DER length field takes for a content of n bytes.
func lenOfLen(n int) int {
	switch {
	case n < 0x80:
		return 1
	case n <= 0xff:
		return 2
	case n <= 0xffff:
		return 3
	case n <= 0xffffff:
		return 4
	default:
		return 5
	}
}

// tlvLen is the encoded size of a single-byte tag with n content bytes.
func tlvLen(n int) int { return 1 + lenOfLen(n) + n }

// appendHeader appends a single-byte tag and the DER length n.
func appendHeader(dst []byte, tag byte, n int) []byte {
	dst = append(dst, tag)
	switch {
	case n < 0x80:
		return append(dst, byte(n))
	case n <= 0xff:
		return append(dst, 0x81, byte(n))
	case n <= 0xffff:
		return append(dst, 0x82, byte(n>>8), byte(n))
	case n <= 0xffffff:
		return append(dst, 0x83, byte(n>>16), byte(n>>8), byte(n))
	default:
		return append(dst, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// intContentLen is the number of content bytes of the DER INTEGER for a
// non-negative n: minimal big-endian bytes plus a leading zero when the top
// bit would otherwise read as a sign.
func intContentLen(n *big.Int) int {
	bits := n.BitLen()
	if bits == 0 {
		return 1
	}
	return bits/8 + 1
}

// appendInt appends the DER INTEGER for a non-negative n without allocating.
func appendInt(dst []byte, n *big.Int) []byte {
	l := intContentLen(n)
	dst = appendHeader(dst, tagInteger, l)
	start := len(dst)
	dst = append(dst, make([]byte, l)...) // the compiler turns this into a zeroing grow, no allocation when cap suffices
	if n.Sign() != 0 {
		// FillBytes writes the magnitude right-aligned; a leading zero pad byte stays zero.
		byteLen := (n.BitLen() + 7) / 8
		n.FillBytes(dst[start+l-byteLen : start+l])
	}
	return dst
}

// errTimeRange reports a time DER cannot carry.
var errTimeRange = errors.New("time outside the years 0000-9999")

// timeLen is the encoded size of t as an RFC 5280 Time: UTCTime for the years
// 1950-2049, GeneralizedTime otherwise (RFC 5280 section 4.1.2.5, and what
// encoding/asn1 does).
func timeLen(t time.Time) int {
	if y := t.UTC().Year(); y >= 1950 && y < 2050 {
		return 2 + 13
	}
	return 2 + 15
}

// appendTime appends t as an RFC 5280 Time (see timeLen). Sub-second
// precision is truncated, as encoding/asn1 does.
func appendTime(dst []byte, t time.Time) ([]byte, error) {
	t = t.UTC()
	y := t.Year()
	if y >= 1950 && y < 2050 {
		dst = append(dst, tagUTCTime, 13)
		dst = append2(dst, y%100)
		return appendTimeTail(dst, t), nil
	}
	return appendGeneralizedTime(dst, t)
}

// appendGeneralizedTime appends t as a GeneralizedTime, which invalidityDate
// and every OCSP time require regardless of the year.
func appendGeneralizedTime(dst []byte, t time.Time) ([]byte, error) {
	t = t.UTC()
	y := t.Year()
	if y < 0 || y > 9999 {
		return nil, errTimeRange
	}
	dst = append(dst, tagGeneralizedTime, 15)
	dst = append2(dst, y/100)
	dst = append2(dst, y%100)
	return appendTimeTail(dst, t), nil
}

func appendTimeTail(dst []byte, t time.Time) []byte {
	_, mo, d := t.Date()
	h, mi, s := t.Clock()
	dst = append2(dst, int(mo))
	dst = append2(dst, d)
	dst = append2(dst, h)
	dst = append2(dst, mi)
	dst = append2(dst, s)
	return append(dst, 'Z')
}

func append2(dst []byte, v int) []byte {
	return append(dst, byte('0'+v/10), byte('0'+v%10))
}

// checkTime rejects times that cannot be encoded, so the encoding passes
// never have to fail half-way.
func checkTime(t time.Time) error {
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		return errTimeRange
	}
	return nil
}
