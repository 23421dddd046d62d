package certutil

import (
	"crypto/x509"
	"encoding/pem"
	"strings"

	"github.com/signet-pki/signet/internal/problem"
)

// ParseCertificates reads certificates for import: a PEM bundle of one or
// more "CERTIFICATE" blocks, or a single DER certificate. Text between PEM
// blocks (as `openssl s_client -showcerts` prints) is allowed; other block
// types are not, and a private key gets a message saying where it belongs.
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	if len(data) > MaxPEMBytes {
		return nil, tooLarge("the certificate bundle", MaxPEMBytes)
	}
	if isDER(data) {
		// Untrimmed: DER may legitimately end in a whitespace byte.
		cert, err := x509.ParseCertificate(data)
		if err != nil {
			return nil, problem.Invalid("certificate_malformed", "the DER certificate cannot be parsed: %v", err)
		}
		return []*x509.Certificate{cert}, nil
	}
	begins := countPEMBegins(data)
	if begins == 0 {
		return nil, problem.Invalid("pem_empty", "no certificate found: expected PEM CERTIFICATE blocks or one DER certificate")
	}
	var certs []*x509.Certificate
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, unexpectedBlock(block.Type)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, problem.Invalid("certificate_malformed", "certificate %d cannot be parsed: %v", len(certs)+1, err)
		}
		certs = append(certs, cert)
	}
	if len(certs) != begins {
		return nil, problem.Invalid("certificate_malformed", "%d PEM block(s) started but only %d could be read: one is truncated or corrupted", begins, len(certs))
	}
	return certs, nil
}

func unexpectedBlock(typ string) error {
	if strings.Contains(typ, "PRIVATE KEY") {
		return problem.Invalid("unexpected_pem_block", "a PEM %q block does not belong in a certificate bundle; send the key in its own field", truncate(typ))
	}
	return problem.Invalid("unexpected_pem_block", "unexpected PEM block %q in a certificate bundle (only CERTIFICATE is accepted)", truncate(typ))
}
