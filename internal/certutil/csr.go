package certutil

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"

	"github.com/signet-pki/signet/internal/problem"
)

// ParseCSR parses a PEM ("CERTIFICATE REQUEST" or the legacy "NEW
// CERTIFICATE REQUEST") or DER certificate request, verifies its
// self-signature (proof that the requester holds the private key) and checks
// its public key with CheckPublicKey. Only the RSA size limit is checked
// before the signature, because verifying a huge key is itself the attack.
func ParseCSR(data []byte) (*x509.CertificateRequest, error) {
	if len(data) > MaxCSRBytes {
		return nil, tooLarge("the CSR", MaxCSRBytes)
	}
	der, err := csrDER(data)
	if err != nil {
		return nil, err
	}
	// x509.ParseCertificateRequest rejects trailing bytes after the DER, so
	// DER input needs no separate trailing-garbage check.
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, problem.Invalid("csr_malformed", "the CSR cannot be parsed: %v", err)
	}
	if err := rejectHugeRSA(csr.PublicKey); err != nil {
		return nil, err
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, problem.Invalid("csr_signature_invalid", "the CSR signature does not verify: %v", err)
	}
	if err := CheckPublicKey(csr.PublicKey); err != nil {
		return nil, err
	}
	return csr, nil
}

// csrDER unwraps exactly one CSR PEM block, or passes DER through untouched
// (trimming DER would corrupt it when its last byte happens to be 0x0a).
func csrDER(data []byte) ([]byte, error) {
	if isDER(data) {
		return data, nil
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, problem.Invalid("csr_malformed", "the CSR is empty")
	}
	// Exactly one block and nothing around it: anything else is either a
	// paste error or an attempt to smuggle a second request past review.
	if !bytes.HasPrefix(trimmed, []byte(pemBegin)) || countPEMBegins(trimmed) != 1 {
		return nil, problem.Invalid("csr_malformed", "the CSR must be a single PEM CERTIFICATE REQUEST block or DER")
	}
	block, rest := pem.Decode(trimmed)
	if block == nil {
		return nil, problem.Invalid("csr_malformed", "the CSR is not valid PEM")
	}
	if block.Type != "CERTIFICATE REQUEST" && block.Type != "NEW CERTIFICATE REQUEST" {
		return nil, problem.Invalid("csr_malformed", "expected a CERTIFICATE REQUEST PEM block, got %q", truncate(block.Type))
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, problem.Invalid("csr_malformed", "unexpected data after the CSR PEM block")
	}
	return block.Bytes, nil
}
