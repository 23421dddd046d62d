package certutil

import (
	"crypto/x509"
	"encoding/pem"
	"strings"

	"github.com/smallstep/pkcs7"

	"github.com/signet-pki/signet/internal/problem"
)

// ParseCertificates reads certificates for import: a PEM bundle of one or
// more "CERTIFICATE" or "PKCS7" blocks (a .p7b, as Windows CAs and vendors'
// downloads give them: the certificates of a degenerate SignedData), a
// single DER certificate, or a DER PKCS#7 bundle. Text between PEM blocks
// (as `openssl s_client -showcerts` prints) is allowed; other block types
// are not, and a private key gets a message saying where it belongs.
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	if len(data) > MaxPEMBytes {
		return nil, tooLarge("the certificate bundle", MaxPEMBytes)
	}
	if isDER(data) {
		// Untrimmed: DER may legitimately end in a whitespace byte.
		cert, err := x509.ParseCertificate(data)
		if err == nil {
			return []*x509.Certificate{cert}, nil
		}
		if certs, p7err := PKCS7Certificates(data); p7err == nil {
			return certs, nil
		}
		return nil, problem.Invalid("certificate_malformed", "the DER certificate cannot be parsed: %v", err)
	}
	begins := countPEMBegins(data)
	if begins == 0 {
		return nil, problem.Invalid("pem_empty", "no certificate found: expected PEM CERTIFICATE blocks or one DER certificate")
	}
	var certs []*x509.Certificate
	blocks := 0
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		blocks++
		switch block.Type {
		case "CERTIFICATE":
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, problem.Invalid("certificate_malformed", "certificate %d cannot be parsed: %v", len(certs)+1, err)
			}
			certs = append(certs, cert)
		case "PKCS7", "CMS":
			bundle, err := PKCS7Certificates(block.Bytes)
			if err != nil {
				return nil, err
			}
			certs = append(certs, bundle...)
		default:
			return nil, unexpectedBlock(block.Type)
		}
	}
	if blocks != begins {
		return nil, problem.Invalid("certificate_malformed", "%d PEM block(s) started but only %d could be read: one is truncated or corrupted", begins, blocks)
	}
	return certs, nil
}

// PKCS7Certificates reads the certificates of a PKCS#7 (CMS) SignedData, the
// .p7b format; one that carries none is refused.
func PKCS7Certificates(der []byte) (certs []*x509.Certificate, err error) {
	defer func() { // the parser is not ours; untrusted input must not take the server down
		if recover() != nil {
			certs, err = nil, problem.Invalid("pkcs7_malformed", "the PKCS#7 bundle cannot be parsed")
		}
	}()
	p7, err := pkcs7.Parse(der)
	if err != nil {
		return nil, problem.Invalid("pkcs7_malformed", "the PKCS#7 bundle cannot be parsed: %v", err)
	}
	if len(p7.Certificates) == 0 {
		return nil, problem.Invalid("pkcs7_empty", "the PKCS#7 bundle holds no certificate")
	}
	return p7.Certificates, nil
}

func unexpectedBlock(typ string) error {
	if strings.Contains(typ, "PRIVATE KEY") {
		return problem.Invalid("unexpected_pem_block", "a PEM %q block does not belong in a certificate bundle; send the key in its own field", truncate(typ))
	}
	return problem.Invalid("unexpected_pem_block", "unexpected PEM block %q in a certificate bundle (only CERTIFICATE and PKCS7 are accepted)", truncate(typ))
}
