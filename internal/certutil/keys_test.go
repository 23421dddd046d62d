//lint:file-ignore SA1019 these tests build invalid keys (raw coordinates, DSA) on purpose

package certutil

import (
	"crypto"
	"crypto/dsa" //nolint:staticcheck // only to prove DSA keys are refused
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"testing"
)

// rocaKey is the first vulnerable key in github.com/titanous/rocacheck's own
// tests: a real 2048-bit key from an affected Infineon chip, e=65537.
const rocaKey = `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAlze9c7qGdjDLVR/ntk+4
ZkfMcYsAnmfTFHfe3Xv7jRQqPCXCULtr0y0jG3aRJmEenoXO9uDveqr43gFB9yvA
dLEhu0aJqpB7lNZ+yXsvfVp/96dkSN8oWYL/dd9Z7GQOvVniHUY3Xsd7zdw2eYOy
HSXhhA2Ttwnj3c1jEYfC0y9q1cU99aL0ogGDqolcOvlkJu+mGb+6+WyboFa1gwRu
kYxBHZWKiHCt/eihvXsPTzTlXmTXWdGJtA1xZDnCBWuZ90b5R0agXVIESTl0cCyH
aQM/tLZmktJIU+Eu7ALBXemPg9kh3SCnYd3/YvDGCtYSXOWthHwlP5CImRBcQaNn
cQIDAQAB
-----END PUBLIC KEY-----`

func parsePublicKeyPEM(t *testing.T, s string) crypto.PublicKey {
	t.Helper()
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		t.Fatal("bad PEM in test")
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// mersenne2203 is the prime 2^2203 - 1: a large known prime lets the test
// build a >2048-bit modulus with a chosen small factor without a slow search.
func mersenne2203() *big.Int {
	m := new(big.Int).Lsh(big.NewInt(1), 2203)
	return m.Sub(m, big.NewInt(1))
}

func nextPrime(n *big.Int) *big.Int {
	p := new(big.Int).Set(n)
	if p.Bit(0) == 0 {
		p.Add(p, big.NewInt(1))
	}
	for !p.ProbablyPrime(20) {
		p.Add(p, big.NewInt(2))
	}
	return p
}

// closePrimes are consecutive primes just above 2^1024: the product is a
// 2049-bit modulus that Fermat's method factors in its first round.
func closePrimes() (p, q *big.Int) {
	p = nextPrime(new(big.Int).Lsh(big.NewInt(1), 1024))
	q = nextPrime(new(big.Int).Add(p, big.NewInt(1)))
	return p, q
}

func mul(a, b *big.Int) *big.Int { return new(big.Int).Mul(a, b) }

func TestCheckPublicKey(t *testing.T) {
	m := mersenne2203()
	p, q := closePrimes()
	p256 := fx.p256.PublicKey
	fieldP := elliptic.P256().Params().P
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p521, err := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		pub  crypto.PublicKey
		code string
	}{
		{"rsa-2048", &fx.rsa2048.PublicKey, ""},
		{"p-256", &fx.p256.PublicKey, ""},
		{"p-384", &fx.p384.PublicKey, ""},
		{"ed25519", fx.ed.Public(), ""},

		{"rsa-1024", &fx.rsa1024.PublicKey, "key_too_small"},
		{"rsa-8193", rsaPub(new(big.Int).Lsh(big.NewInt(1), 8192), 65537), "key_too_large"},
		{"rsa e=3", rsaPub(fx.rsa2048.N, 3), "key_bad_exponent"},
		{"rsa e=65539", rsaPub(fx.rsa2048.N, 65539), "key_bad_exponent"},
		{"rsa even modulus", rsaPub(mul(big.NewInt(2), m), 65537), "key_small_factor"},
		{"rsa factor 3", rsaPub(mul(big.NewInt(3), m), 65537), "key_small_factor"},
		{"rsa factor 997", rsaPub(mul(big.NewInt(997), m), 65537), "key_small_factor"},
		{"rsa roca", parsePublicKeyPEM(t, rocaKey), "key_roca_vulnerable"},
		{"rsa close primes", rsaPub(mul(p, q), 65537), "key_fermat_factorable"},
		{"rsa square", rsaPub(mul(p, p), 65537), "key_fermat_factorable"},
		{"rsa nil modulus", &rsa.PublicKey{E: 65537}, "key_invalid"},
		{"rsa negative modulus", rsaPub(new(big.Int).Neg(fx.rsa2048.N), 65537), "key_invalid"},
		{"rsa nil pointer", (*rsa.PublicKey)(nil), "key_invalid"},

		{"p-224", &fx.p224.PublicKey, "key_unsupported_curve"},
		{"p-521", &p521.PublicKey, "key_unsupported_curve"},
		{"p-256 generic params", &ecdsa.PublicKey{Curve: elliptic.P256().Params(), X: p256.X, Y: p256.Y}, "key_unsupported_curve"},
		{"nil curve", &ecdsa.PublicKey{X: p256.X, Y: p256.Y}, "key_unsupported_curve"},
		{"point off curve", &ecdsa.PublicKey{Curve: elliptic.P256(), X: big.NewInt(1), Y: big.NewInt(1)}, "key_invalid"},
		{"point at infinity", &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int), Y: new(big.Int)}, "key_invalid"},
		{"x outside field", &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).Add(p256.X, fieldP), Y: p256.Y}, "key_invalid"},
		{"negative y", &ecdsa.PublicKey{Curve: elliptic.P256(), X: p256.X, Y: new(big.Int).Neg(p256.Y)}, "key_invalid"},
		{"nil coordinates", &ecdsa.PublicKey{Curve: elliptic.P384()}, "key_invalid"},
		{"ecdsa nil pointer", (*ecdsa.PublicKey)(nil), "key_invalid"},
		{"ed25519 short", ed25519.PublicKey(make([]byte, 31)), "key_invalid"},

		{"dsa", &dsa.PublicKey{Y: big.NewInt(5)}, "key_unsupported_type"},
		{"x25519", x25519.PublicKey(), "key_unsupported_type"},
		{"rsa by value", fx.rsa2048.PublicKey, "key_unsupported_type"},
		{"nil", nil, "key_unsupported_type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, CheckPublicKey(tc.pub), tc.code)
		})
	}
}

func TestHasSmallFactor(t *testing.T) {
	tests := []struct {
		n    int64
		want bool
	}{
		{2, true},
		{997, true},            // the largest prime below the bound
		{997 * 1009, true},     // one small factor is enough
		{1009, false},          // the smallest prime above it
		{1009 * 1013, false},   // composite, but no factor below 1000
		{65537 * 65539, false}, // 65539 is prime
		{3 * 5 * 7 * 11, true}, // several
		{1 << 40, true},        // a power of two
		{7919 * 7927, false},   // the 1000th and 1001st primes
		{991 * 7919 * 7927, true},
	}
	for _, tc := range tests {
		if got := hasSmallFactor(big.NewInt(tc.n)); got != tc.want {
			t.Errorf("hasSmallFactor(%d) = %v, want %v", tc.n, got, tc.want)
		}
	}
}

func TestFermatFactorable(t *testing.T) {
	p, q := closePrimes()
	// Primes about 2^600 apart: Fermat's method needs astronomically many rounds.
	far := nextPrime(new(big.Int).Add(p, new(big.Int).Lsh(big.NewInt(1), 600)))
	tests := []struct {
		name string
		n    *big.Int
		want bool
	}{
		{"consecutive primes", mul(p, q), true},
		{"square", mul(q, q), true},
		{"primes 2^600 apart", mul(p, far), false},
		{"real rsa-2048", fx.rsa2048.N, false},
		{"small", big.NewInt(15), true}, // 4² - 1²
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := fermatFactorable(tc.n, fermatRounds); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestKeyInfo(t *testing.T) {
	tests := []struct {
		name  string
		pub   crypto.PublicKey
		alg   string
		bits  int
		label string
	}{
		{"rsa-2048", &fx.rsa2048.PublicKey, "rsa", 2048, "RSA-2048"},
		{"rsa-1024", &fx.rsa1024.PublicKey, "rsa", 1024, "RSA-1024"},
		{"p-256", &fx.p256.PublicKey, "ecdsa", 256, "ECDSA-P256"},
		{"p-384", &fx.p384.PublicKey, "ecdsa", 384, "ECDSA-P384"},
		{"ed25519", fx.ed.Public(), "ed25519", 256, "Ed25519"},
		{"rsa nil modulus", &rsa.PublicKey{}, "rsa", 0, "RSA-0"},
		{"dsa", &dsa.PublicKey{}, "unknown", 0, "unknown"},
		{"nil", nil, "unknown", 0, "unknown"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			alg, bits := KeyInfo(tc.pub)
			if alg != tc.alg || bits != tc.bits {
				t.Fatalf("KeyInfo = %q, %d; want %q, %d", alg, bits, tc.alg, tc.bits)
			}
			if got := KeyTypeLabel(tc.pub); got != tc.label {
				t.Fatalf("KeyTypeLabel = %q, want %q", got, tc.label)
			}
		})
	}
}

// TestGenerateKey covers every accepted size except RSA: RSA-2048 is made
// through GenerateKey in TestMain, and 3072/4096 would add seconds per run
// for a branch that only passes bits through to crypto/rsa.
func TestGenerateKey(t *testing.T) {
	tests := []struct {
		alg   string
		bits  int
		label string // "" means keygen_unsupported
	}{
		{"ecdsa", 256, "ECDSA-P256"},
		{"ecdsa", 0, "ECDSA-P256"},
		{"ecdsa", 384, "ECDSA-P384"},
		{"ed25519", 0, "Ed25519"},
		{"ed25519", 256, "Ed25519"},

		{"rsa", 1024, ""},
		{"rsa", 2047, ""},
		{"rsa", 8192, ""},
		{"rsa", -1, ""},
		{"ecdsa", 224, ""},
		{"ecdsa", 521, ""},
		{"ed25519", 2048, ""},
		{"ec", 256, ""},
		{"RSA", 2048, ""},
		{"dsa", 2048, ""},
		{"", 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.alg, func(t *testing.T) {
			key, err := GenerateKey(tc.alg, tc.bits)
			if tc.label == "" {
				wantCode(t, err, "keygen_unsupported")
				if key != nil {
					t.Fatal("a key came back with the error")
				}
				return
			}
			wantCode(t, err, "")
			if got := KeyTypeLabel(key.Public()); got != tc.label {
				t.Fatalf("got %s, want %s", got, tc.label)
			}
			wantCode(t, CheckPublicKey(key.Public()), "")
		})
	}
	if got := KeyTypeLabel(fx.rsa2048.Public()); got != "RSA-2048" {
		t.Fatalf("fixture key from GenerateKey(rsa, 2048) is %s", got)
	}
}
