package certutil

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/smallstep/pkcs7"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/signet-pki/signet/internal/problem"
)

// PEM framing of a certificate, as encoding/pem writes it.
const (
	pemCertBegin = "-----BEGIN CERTIFICATE-----\n"
	pemCertEnd   = "-----END CERTIFICATE-----\n"
	pemLineBytes = 48 // DER bytes per 64-character base64 line
)

// EncodeCertsPEM concatenates DER certificates as "CERTIFICATE" PEM blocks,
// in the order given (leaf first for a chain). The output is byte for byte
// what encoding/pem writes, built in one allocation: every issuance answers
// with its certificate and chain in PEM, and pem.Encode's streaming encoder
// cost more than the rest of the response's encoding.
func EncodeCertsPEM(ders ...[]byte) []byte {
	if len(ders) == 0 {
		return nil
	}
	size := 0
	for _, d := range ders {
		b64 := base64.StdEncoding.EncodedLen(len(d))
		size += len(pemCertBegin) + b64 + (b64+63)/64 + len(pemCertEnd)
	}
	out := make([]byte, 0, size)
	for _, d := range ders {
		out = append(out, pemCertBegin...)
		for len(d) > 0 {
			line := d[:min(len(d), pemLineBytes)]
			out = base64.StdEncoding.AppendEncode(out, line)
			out = append(out, '\n')
			d = d[len(line):]
		}
		out = append(out, pemCertEnd...)
	}
	return out
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
