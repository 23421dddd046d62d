package certutil

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"math/big"

	"github.com/titanous/rocacheck"

	"github.com/signet-pki/signet/internal/problem"
)

// Key rules, after Let's Encrypt Boulder's goodkey package.
const (
	minRSABits = 2048
	maxRSABits = 8192
	// rsaExponent is the only public exponent accepted: small exponents such
	// as 3 invite padding attacks, and odd ones mark unusual key generators.
	rsaExponent = 65537
	// smallPrimeBound: a modulus with a factor below it is trivially broken.
	smallPrimeBound = 1000
	// fermatRounds catches primes that share roughly their top half of bits,
	// the signature of a broken generator; honest keys never come close.
	fermatRounds = 100
)

// CheckPublicKey rejects keys Signet will not certify, naming the reason.
// Accepted: RSA 2048-8192 bits with e=65537, ECDSA P-256/P-384, Ed25519.
func CheckPublicKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return checkRSA(k)
	case *ecdsa.PublicKey:
		return checkECDSA(k)
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return problem.Invalid("key_invalid", "the Ed25519 key is %d bytes, not %d", len(k), ed25519.PublicKeySize)
		}
		return nil
	default:
		return problem.Invalid("key_unsupported_type", "key type %T is not supported (want RSA, ECDSA P-256/P-384 or Ed25519)", pub)
	}
}

func checkRSA(k *rsa.PublicKey) error {
	if k == nil || k.N == nil || k.N.Sign() <= 0 {
		return problem.Invalid("key_invalid", "the RSA modulus is missing")
	}
	bits := k.N.BitLen()
	switch {
	case bits < minRSABits:
		return problem.Invalid("key_too_small", "the RSA key is %d bits; at least %d are required", bits, minRSABits)
	case bits > maxRSABits:
		return rsaTooLarge(bits)
	case k.E != rsaExponent:
		return problem.Invalid("key_bad_exponent", "the RSA public exponent is %d; only %d is accepted", k.E, rsaExponent)
	case hasSmallFactor(k.N):
		return problem.Invalid("key_small_factor", "the RSA modulus has a prime factor below %d", smallPrimeBound)
	case rocacheck.IsWeak(k):
		return problem.Invalid("key_roca_vulnerable", "the RSA key was made by a generator vulnerable to ROCA (CVE-2017-15361)")
	case fermatFactorable(k.N, fermatRounds):
		return problem.Invalid("key_fermat_factorable", "the RSA modulus factors quickly by Fermat's method (its primes are too close together)")
	}
	return nil
}

func rsaTooLarge(bits int) error {
	return problem.Invalid("key_too_large", "the RSA key is %d bits; at most %d are accepted", bits, maxRSABits)
}

// rejectHugeRSA refuses an RSA key above maxRSABits before anything costly
// is done with it. RSA verification time grows with the square of the
// modulus: a 64 KiB CSR can carry a 260,000-bit key that takes seconds to
// verify, against milliseconds for 8192 bits.
func rejectHugeRSA(pub crypto.PublicKey) error {
	if k, ok := pub.(*rsa.PublicKey); ok && k != nil && k.N != nil && k.N.BitLen() > maxRSABits {
		return rsaTooLarge(k.N.BitLen())
	}
	return nil
}

// hasSmallFactor reports whether n shares a factor with the product of the
// primes below smallPrimeBound: one GCD instead of 168 divisions.
func hasSmallFactor(n *big.Int) bool {
	g := new(big.Int).GCD(nil, nil, n, smallPrimesProduct())
	return g.Cmp(big.NewInt(1)) != 0
}

// smallPrimesProduct multiplies the primes below smallPrimeBound, found with
// a sieve. It is rebuilt on every call (microseconds, far less than a
// signature check) so the package keeps no global state.
func smallPrimesProduct() *big.Int {
	composite := make([]bool, smallPrimeBound)
	product := big.NewInt(1)
	p := new(big.Int)
	for i := 2; i < smallPrimeBound; i++ {
		if composite[i] {
			continue
		}
		product.Mul(product, p.SetInt64(int64(i)))
		for j := i * i; j < smallPrimeBound; j += i {
			composite[j] = true
		}
	}
	return product
}

// fermatFactorable reports whether Fermat's method factors n within rounds
// steps. Writing n = a² - b² = (a+b)(a-b) and walking a up from ceil(√n)
// finds b quickly exactly when p and q are close. Starting at the ceiling
// (Boulder starts one above the floor) also catches n = p², where b = 0.
func fermatFactorable(n *big.Int, rounds int) bool {
	one := big.NewInt(1)
	a := new(big.Int).Sqrt(n)
	b2 := new(big.Int).Mul(a, a)
	if b2.Cmp(n) < 0 {
		a.Add(a, one)
	}
	b := new(big.Int)
	bb := new(big.Int)
	for range rounds {
		b2.Mul(a, a).Sub(b2, n) // b² = a² - n
		b.Sqrt(b2)
		if bb.Mul(b, b).Cmp(b2) == 0 {
			return true
		}
		a.Add(a, one)
	}
	return false
}

func checkECDSA(k *ecdsa.PublicKey) error {
	if k == nil {
		return problem.Invalid("key_invalid", "the ECDSA key is missing")
	}
	if k.Curve != elliptic.P256() && k.Curve != elliptic.P384() {
		return problem.Invalid("key_unsupported_curve", "curve %s is not supported (want P-256 or P-384)", curveName(k.Curve))
	}
	//lint:ignore SA1019 a nil coordinate must be refused before ECDH() dereferences it
	if k.X == nil || k.Y == nil {
		return problem.Invalid("key_invalid", "the ECDSA public point is missing")
	}
	// ECDH re-encodes the point through crypto/ecdh, which rejects points off
	// the curve, coordinates outside the field and the point at infinity
	// (invalid-curve attacks start from exactly such points).
	if _, err := k.ECDH(); err != nil {
		return problem.Invalid("key_invalid", "the ECDSA public key is not a valid point: %v", err)
	}
	return nil
}

func curveName(c elliptic.Curve) string {
	if c == nil || c.Params() == nil {
		return "unknown"
	}
	return c.Params().Name
}

// KeyInfo names a key's algorithm ("rsa", "ecdsa", "ed25519") and size in
// bits: the modulus for RSA, the curve for ECDSA, 256 for Ed25519. Unknown
// keys give ("unknown", 0).
func KeyInfo(pub crypto.PublicKey) (algorithm string, bits int) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k == nil || k.N == nil {
			return "rsa", 0
		}
		return "rsa", k.N.BitLen()
	case *ecdsa.PublicKey:
		if k == nil || k.Curve == nil || k.Curve.Params() == nil {
			return "ecdsa", 0
		}
		return "ecdsa", k.Curve.Params().BitSize
	case ed25519.PublicKey:
		return "ed25519", 256
	default:
		return "unknown", 0
	}
}

// KeyTypeLabel is the inventory's key type: "RSA-2048", "ECDSA-P256",
// "ECDSA-P384", "Ed25519" (or "unknown").
func KeyTypeLabel(pub crypto.PublicKey) string {
	alg, bits := KeyInfo(pub)
	switch alg {
	case "rsa":
		return fmt.Sprintf("RSA-%d", bits)
	case "ecdsa":
		return fmt.Sprintf("ECDSA-P%d", bits)
	case "ed25519":
		return "Ed25519"
	default:
		return "unknown"
	}
}

// GenerateKey makes a key for server-side generation: "rsa" 2048/3072/4096,
// "ecdsa" 256/384, "ed25519" (bits 0 or 256). Bits 0 picks the default size
// (RSA-2048, P-256) because the CLI lets users write just "--keygen ecdsa".
func GenerateKey(algorithm string, bits int) (crypto.Signer, error) {
	switch algorithm {
	case "rsa":
		if bits == 0 {
			bits = 2048
		}
		if bits != 2048 && bits != 3072 && bits != 4096 {
			return nil, problem.Invalid("keygen_unsupported", "RSA keys are 2048, 3072 or 4096 bits, not %d", bits)
		}
		return wrapKeygen(rsa.GenerateKey(rand.Reader, bits))
	case "ecdsa":
		var curve elliptic.Curve
		switch bits {
		case 0, 256:
			curve = elliptic.P256()
		case 384:
			curve = elliptic.P384()
		default:
			return nil, problem.Invalid("keygen_unsupported", "ECDSA keys are 256 (P-256) or 384 (P-384) bits, not %d", bits)
		}
		return wrapKeygen(ecdsa.GenerateKey(curve, rand.Reader))
	case "ed25519":
		if bits != 0 && bits != 256 {
			return nil, problem.Invalid("keygen_unsupported", "Ed25519 keys are 256 bits, not %d", bits)
		}
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return wrapKeygen(priv, err)
	default:
		return nil, problem.Invalid("keygen_unsupported", "key algorithm %q is not supported (want rsa, ecdsa or ed25519)", truncate(algorithm))
	}
}

// wrapKeygen turns a generator's concrete result into a crypto.Signer,
// taking care that a failed generation never yields a non-nil interface
// holding a nil pointer.
func wrapKeygen[K crypto.Signer](key K, err error) (crypto.Signer, error) {
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	return key, nil
}
