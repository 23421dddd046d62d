// Package certutil holds Signet's stateless certificate helpers: parsing and
// checking untrusted CSRs, certificates and keys; serials and fingerprints;
// PEM, DER, PKCS#7 and PKCS#12 encodings. Nothing here stores anything.
//
// Every error caused by bad input is a *problem.Error with a stable code, so
// transports can report it without knowing this package.
package certutil

import (
	"bytes"

	"github.com/signet-pki/signet/internal/problem"
)

// Input limits: every parser of untrusted input is bounded before it does any
// work, so a hostile body cannot make us allocate or compute without limit.
const (
	MaxPEMBytes = 1 << 20  // a certificate bundle
	MaxCSRBytes = 64 << 10 // a CSR
)

const (
	pemBegin = "-----BEGIN"
	// derSequence is the tag every DER certificate, CSR and key starts with,
	// and a byte PEM text never starts with; it is how DER is told from PEM.
	derSequence = 0x30
	// maxEcho bounds how much of an attacker's input is quoted back in an error.
	maxEcho = 64
)

func tooLarge(what string, limit int) error {
	return problem.New(problem.KindTooLarge, "input_too_large", "%s exceeds %d bytes", what, limit)
}

// invalidCause is problem.Invalid with a cause kept for logs but not shown
// to clients (it may hold details of a private key's structure).
func invalidCause(code string, cause error, format string, args ...any) error {
	e := problem.Invalid(code, format, args...)
	e.Err = cause
	return e
}

func isDER(data []byte) bool {
	return len(data) > 0 && data[0] == derSequence
}

// countPEMBegins is the number of "-----BEGIN" markers in data. pem.Decode
// silently skips a block it cannot read and moves on to the next marker, so
// comparing this count with the blocks actually decoded is how a truncated
// or corrupted block is caught instead of being dropped without a word.
func countPEMBegins(data []byte) int {
	return bytes.Count(data, []byte(pemBegin))
}

// truncate shortens untrusted text before it is quoted in an error message.
func truncate(s string) string {
	if len(s) > maxEcho {
		return s[:maxEcho] + "…"
	}
	return s
}
