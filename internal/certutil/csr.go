// Package certutil holds Signet's stateless certificate helpers: parsing and
// checking untrusted CSRs, certificates and keys; serials and fingerprints;
// PEM, DER, PKCS#7 and PKCS#12 encodings. Nothing here stores anything.
package certutil

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"

	"github.com/signet-pki/signet/internal/problem"
)

// Input limits: every parser of untrusted input is bounded.
const (
	MaxPEMBytes = 1 << 20
	MaxCSRBytes = 64 << 10
)

func tooLarge(what string, limit int) error {
	return problem.New(problem.KindTooLarge, "input_too_large", "%s exceeds %d bytes", what, limit)
}

// ParseCSR parses a PEM or DER certificate request, verifies its signature
// and checks its public key.
func ParseCSR(data []byte) (*x509.CertificateRequest, error) {
	if len(data) > MaxCSRBytes {
		return nil, tooLarge("the CSR", MaxCSRBytes)
	}
	der := data
	if trimmed := bytes.TrimSpace(data); bytes.HasPrefix(trimmed, []byte("-----BEGIN")) {
		block, rest := pem.Decode(trimmed)
		if block == nil {
			return nil, problem.Invalid("csr_malformed", "the CSR is not valid PEM")
		}
		if block.Type != "CERTIFICATE REQUEST" && block.Type != "NEW CERTIFICATE REQUEST" {
			return nil, problem.Invalid("csr_malformed", "expected a CERTIFICATE REQUEST PEM block, got %q", block.Type)
		}
		if len(bytes.TrimSpace(rest)) != 0 {
			return nil, problem.Invalid("csr_malformed", "unexpected data after the CSR PEM block")
		}
		der = block.Bytes
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, problem.Invalid("csr_malformed", "the CSR cannot be parsed: %v", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, problem.Invalid("csr_signature_invalid", "the CSR signature does not verify: %v", err)
	}
	if err := CheckPublicKey(csr.PublicKey); err != nil {
		return nil, err
	}
	return csr, nil
}
