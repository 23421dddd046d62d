package certutil

import (
	"crypto/sha1" //nolint:gosec // SHA-1 thumbprints identify certificates in inventories (Windows shows them); nothing is signed with it
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/signet-pki/signet/internal/problem"
)

// maxFingerprintInput leaves room for a SHA-256 thumbprint in "AB:CD:..."
// form (95 characters) plus stray spaces.
const maxFingerprintInput = 256

// SHA256Hex is the lower-case hex SHA-256 thumbprint of der, no colons.
func SHA256Hex(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// SHA1Hex is the lower-case hex SHA-1 thumbprint of der, no colons.
func SHA1Hex(der []byte) string {
	sum := sha1.Sum(der) //nolint:gosec // see import
	return hex.EncodeToString(sum[:])
}

// NormalizeFingerprint accepts a SHA-1 (40 hex digits) or SHA-256 (64)
// thumbprint with colons, spaces or upper case and returns lower-case hex.
func NormalizeFingerprint(s string) (string, error) {
	if len(s) > maxFingerprintInput {
		return "", problem.Invalid("fingerprint_invalid", "the thumbprint is too long")
	}
	t := strings.ToLower(strings.NewReplacer(":", "", " ", "").Replace(strings.TrimSpace(s)))
	if len(t) != 40 && len(t) != 64 {
		return "", problem.Invalid("fingerprint_invalid", "a thumbprint is 40 (SHA-1) or 64 (SHA-256) hex digits, not %d", len(t))
	}
	if !isHex(t) {
		return "", problem.Invalid("fingerprint_invalid", "the thumbprint is not hexadecimal")
	}
	return t, nil
}
