package certutil

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"strings"

	"github.com/signet-pki/signet/internal/problem"
)

const (
	// maxSerialHex is 20 octets, the RFC 5280 4.1.2.2 maximum.
	maxSerialHex = 40
	// maxSerialInput bounds what is even looked at: 20 octets in the
	// "0a:1b:..." form are 59 characters, so this leaves room for padding.
	maxSerialInput = 256
	serialBytes    = 16
)

// NewSerial returns 128 random bits with the top bit cleared, so the DER
// INTEGER is positive and fits 16 octets; 127 bits of entropy is well over
// the CA/Browser Forum's 64. Zero is not a valid serial and is redrawn.
func NewSerial() (*big.Int, error) {
	var b [serialBytes]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("generate serial: %w", err)
		}
		b[0] &= 0x7f
		if s := new(big.Int).SetBytes(b[:]); s.Sign() > 0 {
			return s, nil
		}
	}
}

// SerialHex is the canonical serial form used across Signet: lower-case hex
// without leading zeros, "0" for zero. A nil serial gives "".
func SerialHex(s *big.Int) string {
	if s == nil {
		return ""
	}
	return s.Text(16)
}

// NormalizeSerial turns a serial as users paste it into the canonical form:
// hex in either case, an optional "0x" prefix, or the byte form with colon or
// space separators that openssl and Windows print ("A9:3E:0F", "a9 3e 0f").
func NormalizeSerial(s string) (string, error) {
	if len(s) > maxSerialInput {
		return "", problem.Invalid("serial_invalid", "the serial number is too long")
	}
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "0x") || strings.HasPrefix(t, "0X") {
		t = t[2:]
	}
	digits, ok := serialDigits(t)
	if !ok || digits == "" {
		return "", problem.Invalid("serial_invalid", "%q is not a hexadecimal serial number", truncate(s))
	}
	digits = strings.TrimLeft(strings.ToLower(digits), "0")
	if digits == "" {
		return "0", nil
	}
	if len(digits) > maxSerialHex {
		return "", problem.Invalid("serial_invalid", "serial numbers are at most 20 octets (%d hex digits)", maxSerialHex)
	}
	return digits, nil
}

// serialDigits joins the byte form into plain hex. Each separated group is
// one byte, so a one-digit group is padded: "a:3e" is 0a 3e, not a3e.
func serialDigits(t string) (string, bool) {
	if !strings.ContainsAny(t, ": ") {
		return t, isHex(t)
	}
	var b strings.Builder
	for _, g := range strings.FieldsFunc(t, func(r rune) bool { return r == ':' || r == ' ' }) {
		if len(g) > 2 || !isHex(g) {
			return "", false
		}
		if len(g) == 1 {
			b.WriteByte('0')
		}
		b.WriteString(g)
	}
	return b.String(), true
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// SerialFromDecimal converts a decimal serial, as some vendor APIs and
// `openssl x509 -text` for small serials show it, to the canonical hex form.
func SerialFromDecimal(s string) (string, error) {
	t := strings.TrimSpace(s)
	if t == "" || len(t) > maxSerialInput || strings.TrimLeft(t, "0123456789") != "" {
		return "", problem.Invalid("serial_invalid", "%q is not a decimal serial number", truncate(s))
	}
	n, ok := new(big.Int).SetString(t, 10)
	if !ok {
		return "", problem.Invalid("serial_invalid", "%q is not a decimal serial number", truncate(s))
	}
	if h := n.Text(16); len(h) <= maxSerialHex {
		return h, nil
	}
	return "", problem.Invalid("serial_invalid", "serial numbers are at most 20 octets")
}
