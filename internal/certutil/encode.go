package certutil

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/smallstep/pkcs7"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/signet-pki/signet/internal/problem"
)

// EncodeCertsPEM concatenates DER certificates as "CERTIFICATE" PEM blocks,
// in the order given (leaf first for a chain).
func EncodeCertsPEM(ders ...[]byte) []byte {
	var buf bytes.Buffer
	for _, d := range ders {
		// Writing to a bytes.Buffer cannot fail and the block has no headers
		// to be invalid, so the error is always nil.
		_ = pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: d})
	}
	return buf.Bytes()
}

// EncodePKCS7 builds a degenerate (certificates-only, unsigned) PKCS#7
// SignedData in DER, the "certs-only" format of .p7b files and RFC 7030.
func EncodePKCS7(ders ...[]byte) ([]byte, error) {
	if len(ders) == 0 {
		return nil, errors.New("encode PKCS#7: no certificates")
	}
	// DegenerateCertificate wraps the concatenation as the SET's contents
	// unchecked, so a bad element would silently corrupt the whole bundle.
	for i, d := range ders {
		var v asn1.RawValue
		if rest, err := asn1.Unmarshal(d, &v); err != nil || len(rest) != 0 {
			return nil, fmt.Errorf("encode PKCS#7: certificate %d is not one DER element", i+1)
		}
	}
	out, err := pkcs7.DegenerateCertificate(bytes.Join(ders, nil))
	if err != nil {
		return nil, fmt.Errorf("encode PKCS#7: %w", err)
	}
	return out, nil
}

// EncodePKCS12 bundles a key, its certificate and chain under a password
// with pkcs12.Modern (AES-256-CBC, PBKDF2, SHA-256 MAC), which OpenSSL 1.1.1+
// and current Windows and macOS read. key must be leaf's private key.
func EncodePKCS12(key crypto.PrivateKey, leaf *x509.Certificate, chain []*x509.Certificate, password string) ([]byte, error) {
	if err := CheckPKCS12Password(password); err != nil {
		return nil, err
	}
	if leaf == nil {
		return nil, errors.New("encode PKCS#12: no certificate")
	}
	signer, ok := key.(crypto.Signer)
	if !ok || !KeyMatchesCertificate(signer, leaf) {
		// A mismatched pair would produce a file no client can use; it can
		// only come from a bug in the caller, hence not a problem.Error.
		return nil, errors.New("encode PKCS#12: the key does not match the certificate")
	}
	out, err := pkcs12.Modern.Encode(key, leaf, chain, password)
	if err != nil {
		return nil, fmt.Errorf("encode PKCS#12: %w", err)
	}
	return out, nil
}

// CheckPKCS12Password reports whether password can protect a PKCS#12 file.
// PKCS#12 stores passwords as NUL-terminated UCS-2 (RFC 7292 B.1), so
// characters outside the Basic Multilingual Plane cannot be encoded and an
// embedded NUL would silently cut the password short in OpenSSL. Callers
// should check before issuing, so a bad password fails before a certificate
// exists.
func CheckPKCS12Password(password string) error {
	if !utf8.ValidString(password) {
		return problem.Invalid("pkcs12_password_invalid", "the PKCS#12 password is not valid UTF-8")
	}
	for _, r := range password {
		if r == 0 || r > 0xFFFF {
			return problem.Invalid("pkcs12_password_invalid", "the PKCS#12 password may not contain NUL or characters outside the Basic Multilingual Plane (such as emoji)")
		}
	}
	return nil
}
