package cmp

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"hash"
)

// Message protection (RFC 4210 section 5.1.3, RFC 9481 section 6):
// password-based MACs for shared secrets, signatures for certificates.

var (
	oidPasswordBasedMac = asn1.ObjectIdentifier{1, 2, 840, 113533, 7, 66, 13}
	oidPBMAC1           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 14}
	oidPBKDF2           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}

	oidSHA1   = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}

	oidHMACSHA1      = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 8, 1, 2}
	oidHMACWithSHA1  = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACWithSHA25 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACWithSHA38 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 10}
	oidHMACWithSHA51 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}
)

// Bounds on client-chosen MAC parameters, so a request cannot make the
// server hash for seconds (RFC 9481 section 6.1.1 asks servers to limit
// the iteration count).
const (
	maxIterations = 100000
	minIterations = 100
	minSaltBytes  = 8
	maxSaltBytes  = 64
)

// pbmParameter is PBMParameter (RFC 4211 section 4.4).
type pbmParameter struct {
	Salt           []byte
	OWF            pkix.AlgorithmIdentifier
	IterationCount int
	MAC            pkix.AlgorithmIdentifier
}

// pbmac1Params is PBMAC1-params (RFC 8018 appendix A.5).
type pbmac1Params struct {
	KeyDerivationFunc pkix.AlgorithmIdentifier
	MessageAuthScheme pkix.AlgorithmIdentifier
}

// pbkdf2Params is PBKDF2-params (RFC 8018 appendix A.2); the salt is the
// "specified" OCTET STRING choice.
type pbkdf2Params struct {
	Salt           []byte
	IterationCount int
	KeyLength      int                      `asn1:"optional"`
	PRF            pkix.AlgorithmIdentifier `asn1:"optional"`
}

func hashFor(oid asn1.ObjectIdentifier) (func() hash.Hash, bool) {
	switch {
	case oid.Equal(oidSHA1):
		return sha1.New, true
	case oid.Equal(oidSHA256):
		return sha256.New, true
	case oid.Equal(oidSHA384):
		return sha512.New384, true
	case oid.Equal(oidSHA512):
		return sha512.New, true
	}
	return nil, false
}

func hmacHashFor(oid asn1.ObjectIdentifier) (func() hash.Hash, bool) {
	switch {
	case oid.Equal(oidHMACSHA1), oid.Equal(oidHMACWithSHA1):
		return sha1.New, true
	case oid.Equal(oidHMACWithSHA25):
		return sha256.New, true
	case oid.Equal(oidHMACWithSHA38):
		return sha512.New384, true
	case oid.Equal(oidHMACWithSHA51):
		return sha512.New, true
	}
	return nil, false
}

func isMAC(alg pkix.AlgorithmIdentifier) bool {
	return alg.Algorithm.Equal(oidPasswordBasedMac) || alg.Algorithm.Equal(oidPBMAC1)
}

// macKey derives the MAC key and hash from a shared secret and the
// protection algorithm's parameters.
func macKey(alg pkix.AlgorithmIdentifier, secret []byte) ([]byte, func() hash.Hash, error) {
	switch {
	case alg.Algorithm.Equal(oidPasswordBasedMac):
		var p pbmParameter
		if rest, err := asn1.Unmarshal(alg.Parameters.FullBytes, &p); err != nil || len(rest) != 0 {
			return nil, nil, fmt.Errorf("PBMParameter: %v", err)
		}
		if err := checkKDF(p.Salt, p.IterationCount); err != nil {
			return nil, nil, err
		}
		owf, ok := hashFor(p.OWF.Algorithm)
		if !ok {
			return nil, nil, fmt.Errorf("one-way function %v is not supported", p.OWF.Algorithm)
		}
		mac, ok := hmacHashFor(p.MAC.Algorithm)
		if !ok {
			return nil, nil, fmt.Errorf("MAC algorithm %v is not supported", p.MAC.Algorithm)
		}
		// RFC 4211 section 4.4: the OWF over password||salt, then
		// iterationCount-1 more times over its own output.
		h := owf()
		h.Write(secret)
		h.Write(p.Salt)
		key := h.Sum(nil)
		for i := 1; i < p.IterationCount; i++ {
			h.Reset()
			h.Write(key)
			key = h.Sum(key[:0])
		}
		return key, mac, nil
	case alg.Algorithm.Equal(oidPBMAC1):
		var p pbmac1Params
		if rest, err := asn1.Unmarshal(alg.Parameters.FullBytes, &p); err != nil || len(rest) != 0 {
			return nil, nil, fmt.Errorf("PBMAC1-params: %v", err)
		}
		if !p.KeyDerivationFunc.Algorithm.Equal(oidPBKDF2) {
			return nil, nil, fmt.Errorf("PBMAC1 key derivation %v is not PBKDF2", p.KeyDerivationFunc.Algorithm)
		}
		var kdf pbkdf2Params
		if rest, err := asn1.Unmarshal(p.KeyDerivationFunc.Parameters.FullBytes, &kdf); err != nil || len(rest) != 0 {
			return nil, nil, fmt.Errorf("PBKDF2-params: %v", err)
		}
		if err := checkKDF(kdf.Salt, kdf.IterationCount); err != nil {
			return nil, nil, err
		}
		prf := sha1.New // PBKDF2-params' DEFAULT algid-hmacWithSHA1
		if len(kdf.PRF.Algorithm) > 0 {
			var ok bool
			if prf, ok = hmacHashFor(kdf.PRF.Algorithm); !ok {
				return nil, nil, fmt.Errorf("PBKDF2 PRF %v is not supported", kdf.PRF.Algorithm)
			}
		}
		mac, ok := hmacHashFor(p.MessageAuthScheme.Algorithm)
		if !ok {
			return nil, nil, fmt.Errorf("PBMAC1 MAC %v is not supported", p.MessageAuthScheme.Algorithm)
		}
		keyLen := kdf.KeyLength
		if keyLen == 0 {
			keyLen = mac().Size()
		}
		if keyLen < 16 || keyLen > 64 {
			return nil, nil, fmt.Errorf("PBKDF2 key length %d is out of range", keyLen)
		}
		key, err := pbkdf2.Key(prf, string(secret), kdf.Salt, kdf.IterationCount, keyLen)
		if err != nil {
			return nil, nil, fmt.Errorf("PBKDF2: %w", err)
		}
		return key, mac, nil
	}
	return nil, nil, fmt.Errorf("protection algorithm %v is not a password-based MAC", alg.Algorithm)
}

func checkKDF(salt []byte, iterations int) error {
	if len(salt) < minSaltBytes || len(salt) > maxSaltBytes {
		return fmt.Errorf("salt of %d bytes (%d to %d accepted)", len(salt), minSaltBytes, maxSaltBytes)
	}
	if iterations < minIterations || iterations > maxIterations {
		return fmt.Errorf("iteration count %d (%d to %d accepted)", iterations, minIterations, maxIterations)
	}
	return nil
}

// computeMAC is the protection of a protected part under alg and secret.
func computeMAC(alg pkix.AlgorithmIdentifier, secret, protected []byte) ([]byte, error) {
	key, h, err := macKey(alg, secret)
	if err != nil {
		return nil, err
	}
	m := hmac.New(h, key)
	m.Write(protected)
	return m.Sum(nil), nil
}

var errBadMAC = errors.New("the message's MAC does not verify")

// verifyMAC checks a request's password-based MAC in constant time.
func verifyMAC(r *request, secret []byte) error {
	want, err := computeMAC(r.header.ProtectionAlg, secret, protectedPart(r.msg.Header.FullBytes, r.msg.Body.FullBytes))
	if err != nil {
		return err
	}
	if r.msg.Protection.BitLength%8 != 0 || !hmac.Equal(want, r.msg.Protection.Bytes) {
		return errBadMAC
	}
	return nil
}

// freshMACAlg is the algorithm a response is protected with: the request's
// own choice of functions and iterations, with a new salt.
func freshMACAlg(req pkix.AlgorithmIdentifier) (pkix.AlgorithmIdentifier, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return pkix.AlgorithmIdentifier{}, fmt.Errorf("salt: %w", err)
	}
	switch {
	case req.Algorithm.Equal(oidPasswordBasedMac):
		var p pbmParameter
		if _, err := asn1.Unmarshal(req.Parameters.FullBytes, &p); err != nil {
			return pkix.AlgorithmIdentifier{}, fmt.Errorf("PBMParameter: %w", err)
		}
		p.Salt = salt
		return pkix.AlgorithmIdentifier{Algorithm: oidPasswordBasedMac, Parameters: asn1.RawValue{FullBytes: mustMarshal(p)}}, nil
	case req.Algorithm.Equal(oidPBMAC1):
		var p pbmac1Params
		if _, err := asn1.Unmarshal(req.Parameters.FullBytes, &p); err != nil {
			return pkix.AlgorithmIdentifier{}, fmt.Errorf("PBMAC1-params: %w", err)
		}
		var kdf pbkdf2Params
		if _, err := asn1.Unmarshal(p.KeyDerivationFunc.Parameters.FullBytes, &kdf); err != nil {
			return pkix.AlgorithmIdentifier{}, fmt.Errorf("PBKDF2-params: %w", err)
		}
		kdf.Salt = salt
		p.KeyDerivationFunc.Parameters = asn1.RawValue{FullBytes: mustMarshal(kdf)}
		return pkix.AlgorithmIdentifier{Algorithm: oidPBMAC1, Parameters: asn1.RawValue{FullBytes: mustMarshal(p)}}, nil
	}
	return pkix.AlgorithmIdentifier{}, fmt.Errorf("protection algorithm %v is not a password-based MAC", req.Algorithm)
}

// verifySignature checks a signature-protected request against the
// protection certificate.
func verifySignature(r *request, cert *x509.Certificate) error {
	alg, ok := signatureAlgorithm(r.header.ProtectionAlg)
	if !ok {
		return fmt.Errorf("signature algorithm %v is not supported", r.header.ProtectionAlg.Algorithm)
	}
	return cert.CheckSignature(alg, protectedPart(r.msg.Header.FullBytes, r.msg.Body.FullBytes), r.msg.Protection.RightAlign())
}
