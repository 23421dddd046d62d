package certutil

import (
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // SHA-1 thumbprints are an inventory identifier, not a signature
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"

	"github.com/signet-pki/signet/internal/problem"
)

// maxSerialHex is 20 octets (RFC 5280 4.1.2.2).
const maxSerialHex = 40

// NewSerial returns 128 random bits with the top bit cleared: positive in
// DER, and well over the 64 bits of entropy the CA/Browser Forum requires.
func NewSerial() (*big.Int, error) {
	var b [16]byte
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

// SerialHex is the canonical form: lower-case hex without leading zeros.
func SerialHex(s *big.Int) string {
	return s.Text(16)
}

// NormalizeSerial accepts hex in any case, with an optional 0x prefix and
// colon or space separators ("A9:3E:0F"), and returns the canonical form.
func NormalizeSerial(s string) (string, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimPrefix(strings.TrimPrefix(t, "0x"), "0X")
	t = strings.NewReplacer(":", "", " ", "", "-", "").Replace(t)
	t = strings.ToLower(t)
	if t == "" || len(t) > maxSerialHex*2 {
		return "", problem.Invalid("serial_invalid", "%q is not a serial number (hex, at most 20 octets)", truncate(s))
	}
	if _, err := hex.DecodeString(padEven(t)); err != nil {
		return "", problem.Invalid("serial_invalid", "%q is not a hexadecimal serial number", truncate(s))
	}
	t = strings.TrimLeft(t, "0")
	if t == "" {
		t = "0"
	}
	if len(t) > maxSerialHex {
		return "", problem.Invalid("serial_invalid", "serial numbers are at most 20 octets")
	}
	return t, nil
}

// SerialFromDecimal converts a decimal serial (some vendor APIs use them).
func SerialFromDecimal(s string) (string, error) {
	n, ok := new(big.Int).SetString(strings.TrimSpace(s), 10)
	if !ok || n.Sign() < 0 || len(n.Text(16)) > maxSerialHex {
		return "", problem.Invalid("serial_invalid", "%q is not a decimal serial number", truncate(s))
	}
	return n.Text(16), nil
}

func padEven(s string) string {
	if len(s)%2 == 1 {
		return "0" + s
	}
	return s
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// SHA256Hex is the lower-case hex SHA-256 thumbprint of der.
func SHA256Hex(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// SHA1Hex is the lower-case hex SHA-1 thumbprint of der.
func SHA1Hex(der []byte) string {
	sum := sha1.Sum(der) //nolint:gosec // thumbprint, see import comment
	return hex.EncodeToString(sum[:])
}

// NormalizeFingerprint accepts a SHA-1 or SHA-256 thumbprint with colons,
// spaces or upper case and returns lower-case hex.
func NormalizeFingerprint(s string) (string, error) {
	t := strings.ToLower(strings.NewReplacer(":", "", " ", "").Replace(strings.TrimSpace(s)))
	if len(t) != 40 && len(t) != 64 {
		return "", problem.Invalid("fingerprint_invalid", "a thumbprint is 40 (SHA-1) or 64 (SHA-256) hex digits")
	}
	if _, err := hex.DecodeString(t); err != nil {
		return "", problem.Invalid("fingerprint_invalid", "the thumbprint is not hexadecimal")
	}
	return t, nil
}
