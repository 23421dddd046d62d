package revocation

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"hash"
)

// sigParams is how one key signs: the AlgorithmIdentifier written into the
// CRL or OCSP response, the digest fed to the signer (zero for Ed25519, which
// signs the whole message), and an upper bound on the signature's size.
type sigParams struct {
	algo   x509.SignatureAlgorithm
	algID  []byte // DER AlgorithmIdentifier
	hash   crypto.Hash
	maxSig int
}

// algID returns the DER AlgorithmIdentifier for algo, byte-for-byte what
// crypto/x509 writes: RSA PKCS #1 v1.5 carries NULL parameters, ECDSA and
// Ed25519 none (RFC 4055, 5758, 8410).
func algID(algo x509.SignatureAlgorithm) []byte {
	switch algo {
	case x509.SHA256WithRSA:
		return []byte{0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00}
	case x509.SHA384WithRSA:
		return []byte{0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c, 0x05, 0x00}
	case x509.SHA512WithRSA:
		return []byte{0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d, 0x05, 0x00}
	case x509.ECDSAWithSHA256:
		return []byte{0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02}
	case x509.ECDSAWithSHA384:
		return []byte{0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03}
	case x509.ECDSAWithSHA512:
		return []byte{0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04}
	case x509.PureEd25519:
		return []byte{0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70}
	}
	return nil
}

// signatureParams picks the algorithm crypto/x509 would pick for pub
// (SHA-256 for RSA of any size, the curve's own hash for ECDSA, pure Ed25519)
// unless want names another one valid for the key. RSA-PSS is not offered:
// Signet's CAs sign certificates with PKCS #1 v1.5 and their CRLs match.
func signatureParams(pub crypto.PublicKey, want x509.SignatureAlgorithm) (sigParams, error) {
	var def x509.SignatureAlgorithm
	var maxSig int
	switch k := pub.(type) {
	case *rsa.PublicKey:
		def, maxSig = x509.SHA256WithRSA, k.Size()
		if want != 0 && want != x509.SHA256WithRSA && want != x509.SHA384WithRSA && want != x509.SHA512WithRSA {
			return sigParams{}, fmt.Errorf("signature algorithm %v does not fit an RSA key", want)
		}
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			def = x509.ECDSAWithSHA256
		case elliptic.P384():
			def = x509.ECDSAWithSHA384
		case elliptic.P521():
			def = x509.ECDSAWithSHA512
		default:
			return sigParams{}, errors.New("unsupported elliptic curve")
		}
		maxSig = ecdsaMaxSigLen(k.Curve)
		if want != 0 && want != x509.ECDSAWithSHA256 && want != x509.ECDSAWithSHA384 && want != x509.ECDSAWithSHA512 {
			return sigParams{}, fmt.Errorf("signature algorithm %v does not fit an ECDSA key", want)
		}
	case ed25519.PublicKey:
		def, maxSig = x509.PureEd25519, ed25519.SignatureSize
		if want != 0 && want != x509.PureEd25519 {
			return sigParams{}, fmt.Errorf("signature algorithm %v does not fit an Ed25519 key", want)
		}
	default:
		return sigParams{}, fmt.Errorf("unsupported public key type %T", pub)
	}
	algo := def
	if want != 0 {
		algo = want
	}
	p := sigParams{algo: algo, algID: algID(algo), maxSig: maxSig}
	switch algo {
	case x509.SHA256WithRSA, x509.ECDSAWithSHA256:
		p.hash = crypto.SHA256
	case x509.SHA384WithRSA, x509.ECDSAWithSHA384:
		p.hash = crypto.SHA384
	case x509.SHA512WithRSA, x509.ECDSAWithSHA512:
		p.hash = crypto.SHA512
	}
	return p, nil
}

// ecdsaMaxSigLen bounds the DER ECDSA-Sig-Value: two INTEGERs of at most the
// coordinate size plus a sign byte.
func ecdsaMaxSigLen(c elliptic.Curve) int {
	coord := (c.Params().BitSize + 7) / 8
	return tlvLen(2 * tlvLen(coord+1))
}

// newHash returns the streaming digest for p, or nil when the signer needs
// the whole message (Ed25519).
func (p sigParams) newHash() hash.Hash {
	if p.hash == 0 {
		return nil
	}
	return p.hash.New()
}

// sign signs either a digest (h != nil, already fed the whole message) or the
// message itself (Ed25519). With verify it then checks the signature against
// the signer's public key: a CRL that silently carries a bad signature
// (broken HSM, wrong key handle) is worse than one that fails loudly. The
// OCSP hot path verifies only the first signature of each key, because an
// ECDSA verification costs more than the signature.
func (p sigParams) sign(signer crypto.Signer, h hash.Hash, msg []byte, verify bool) ([]byte, error) {
	var sig []byte
	var err error
	var digest []byte
	if h != nil {
		digest = h.Sum(nil)
		sig, err = signer.Sign(rand.Reader, digest, p.hash)
	} else {
		sig, err = signer.Sign(rand.Reader, msg, crypto.Hash(0))
	}
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	if len(sig) > p.maxSig {
		return nil, fmt.Errorf("signer returned %d bytes, more than the %d a %v signature can take", len(sig), p.maxSig, p.algo)
	}
	if verify {
		if err := verifySig(signer.Public(), p.hash, digest, msg, sig); err != nil {
			return nil, fmt.Errorf("signature returned by signer is invalid: %w", err)
		}
	}
	return sig, nil
}

func verifySig(pub crypto.PublicKey, h crypto.Hash, digest, msg, sig []byte) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(k, h, digest, sig)
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(k, digest, sig) {
			return errors.New("ECDSA verification failed")
		}
	case ed25519.PublicKey:
		if !ed25519.Verify(k, msg, sig) {
			return errors.New("Ed25519 verification failed")
		}
	default:
		return fmt.Errorf("unsupported public key type %T", pub)
	}
	return nil
}

// samePublicKey reports whether signer holds the key certified by cert, so a
// misconfigured key is refused before anything is signed with it.
func samePublicKey(cert *x509.Certificate, signer crypto.Signer) bool {
	pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(cert.PublicKey)
}
