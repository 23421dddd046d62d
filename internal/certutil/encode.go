package certutil

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"

	"github.com/smallstep/pkcs7"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/signet-pki/signet/internal/problem"
)

// EncodeCertsPEM concatenates DER certificates as PEM.
func EncodeCertsPEM(ders ...[]byte) []byte {
	var buf bytes.Buffer
	for _, d := range ders {
		_ = pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: d})
	}
	return buf.Bytes()
}

// EncodePKCS7 builds a degenerate (certificates-only) PKCS#7 SignedData, DER.
func EncodePKCS7(ders ...[]byte) ([]byte, error) {
	out, err := pkcs7.DegenerateCertificate(bytes.Join(ders, nil))
	if err != nil {
		return nil, fmt.Errorf("encode PKCS#7: %w", err)
	}
	return out, nil
}

// EncodePKCS12 bundles a key, its certificate and chain under a password,
// with modern algorithms (AES-256-CBC, PBKDF2, SHA-256 MAC).
func EncodePKCS12(key crypto.PrivateKey, leaf *x509.Certificate, chain []*x509.Certificate, password string) ([]byte, error) {
	if len(password) < 4 {
		return nil, problem.Invalid("pkcs12_password_too_short", "the PKCS#12 password needs at least 4 characters")
	}
	out, err := pkcs12.Modern.WithRand(rand.Reader).Encode(key, leaf, chain, password)
	if err != nil {
		return nil, fmt.Errorf("encode PKCS#12: %w", err)
	}
	return out, nil
}

// ParseCertificates reads a PEM bundle of certificates, or one DER certificate.
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	if len(data) > 8*MaxPEMBytes {
		return nil, tooLarge("the certificate bundle", 8*MaxPEMBytes)
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, problem.Invalid("pem_empty", "no certificate found")
	}
	if !bytes.Contains(trimmed, []byte("-----BEGIN")) {
		if trimmed[0] != 0x30 { // not a DER SEQUENCE either
			return nil, problem.Invalid("pem_empty", "no PEM certificate found")
		}
		cert, err := x509.ParseCertificate(trimmed)
		if err != nil {
			return nil, problem.Invalid("certificate_malformed", "the DER certificate cannot be parsed: %v", err)
		}
		return []*x509.Certificate{cert}, nil
	}
	var certs []*x509.Certificate
	rest := trimmed
	for len(bytes.TrimSpace(rest)) > 0 {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" && block.Type != "TRUSTED CERTIFICATE" {
			return nil, problem.Invalid("unexpected_pem_block", "unexpected PEM block %q in a certificate bundle (private keys do not belong here)", block.Type)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, problem.Invalid("certificate_malformed", "certificate %d cannot be parsed: %v", len(certs)+1, err)
		}
		certs = append(certs, cert)
		if len(certs) > 10000 {
			return nil, problem.Invalid("bundle_too_large", "a bundle holds at most 10000 certificates")
		}
	}
	if len(certs) == 0 {
		return nil, problem.Invalid("pem_empty", "no PEM certificate found")
	}
	return certs, nil
}
