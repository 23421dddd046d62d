package certutil

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/signet-pki/signet/internal/problem"
)

// maxPrivateKeyBytes is tighter than MaxCSRBytes because parsing an RSA
// private key validates it at a cost that grows with the square of its size
// (~0.4 s for a 48 KB key), while the largest key accepted, RSA-8192, is
// ~6.5 KiB of PEM.
const maxPrivateKeyBytes = 16 << 10

// MarshalPrivateKeyPEM encodes a key as PKCS#8 "PRIVATE KEY" PEM, the one
// form every current tool reads whatever the key type.
func MarshalPrivateKeyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal private key: %w", err)
	}
	defer clear(der) // leave no plaintext key copy behind in the heap
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParsePrivateKey reads one PEM private key, PKCS#8 ("PRIVATE KEY"), PKCS#1
// ("RSA PRIVATE KEY") or SEC 1 ("EC PRIVATE KEY"), and checks its public
// half with CheckPublicKey. An "EC PARAMETERS" block, which `openssl ecparam
// -genkey` writes before the key, is skipped; any other block is rejected.
func ParsePrivateKey(data []byte) (crypto.Signer, error) {
	if len(data) > maxPrivateKeyBytes {
		return nil, tooLarge("the private key", maxPrivateKeyBytes)
	}
	block, err := privateKeyBlock(data)
	if err != nil {
		return nil, err
	}
	key, err := parsePrivateKeyDER(block.Bytes)
	if err != nil {
		return nil, invalidCause("private_key_malformed", err, "the private key cannot be parsed as PKCS#8, PKCS#1 or SEC 1")
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, problem.Invalid("key_unsupported_type", "key type %T cannot sign certificates", key)
	}
	if err := CheckPublicKey(signer.Public()); err != nil {
		return nil, err
	}
	return signer, nil
}

// privateKeyBlock finds the single private key block in data. Error
// messages never quote block contents: they are secret.
func privateKeyBlock(data []byte) (*pem.Block, error) {
	begins := countPEMBegins(data)
	if begins == 0 {
		return nil, problem.Invalid("private_key_malformed", "the private key must be PEM (-----BEGIN PRIVATE KEY-----)")
	}
	var key *pem.Block
	decoded := 0
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		decoded++
		switch block.Type {
		case "EC PARAMETERS":
			continue
		case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
			if key != nil {
				return nil, problem.Invalid("private_key_malformed", "more than one private key was given")
			}
			key = block
		case "ENCRYPTED PRIVATE KEY":
			return nil, encryptedKey()
		default:
			return nil, problem.Invalid("private_key_malformed", "unexpected PEM block %q (want PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)", truncate(block.Type))
		}
	}
	if decoded != begins {
		return nil, problem.Invalid("private_key_malformed", "a PEM block is truncated or corrupted")
	}
	if key == nil {
		return nil, problem.Invalid("private_key_malformed", "no private key block found")
	}
	// Legacy OpenSSL encryption keeps the block type and adds headers.
	if strings.Contains(key.Headers["Proc-Type"], "ENCRYPTED") {
		return nil, encryptedKey()
	}
	return key, nil
}

func encryptedKey() error {
	return problem.Invalid("private_key_malformed", "encrypted private keys are not accepted; decrypt it first (openssl pkey -in key.pem -out plain.pem)")
}

// parsePrivateKeyDER tries each format regardless of the PEM label, as
// crypto/tls does: tools mislabel keys often enough that the label is only
// a hint, and the DER is self-describing.
func parsePrivateKeyDER(der []byte) (any, error) {
	key, err8 := x509.ParsePKCS8PrivateKey(der)
	if err8 == nil {
		return key, nil
	}
	if key, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return key, nil
	}
	if key, err := x509.ParseECPrivateKey(der); err == nil {
		return key, nil
	}
	return nil, errors.Join(errors.New("not PKCS#8, PKCS#1 or SEC 1"), err8)
}

// KeyMatchesCertificate reports whether key is the private half of cert's
// public key.
func KeyMatchesCertificate(key crypto.Signer, cert *x509.Certificate) bool {
	if key == nil || cert == nil {
		return false
	}
	// Every public key type in the standard library has Equal.
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(cert.PublicKey)
}
