package certutil

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
)

func TestParseCSR(t *testing.T) {
	p256 := csrDERFor(t, fx.p256)
	p256PEM := pemBlock("CERTIFICATE REQUEST", p256)
	tampered := bytes.Clone(p256)
	tampered[len(tampered)-1] ^= 0x01 // last byte of the signature
	// A CSR whose DER ends in '\n' proves DER input is never trimmed.
	newline := untilLastByte(t, '\n', func() []byte { return csrDERFor(t, fx.p256) })

	tests := []struct {
		name string
		in   []byte
		code string
	}{
		{"pem p256", p256PEM, ""},
		{"der p256", p256, ""},
		{"der ending in newline", newline, ""},
		{"legacy label", pemBlock("NEW CERTIFICATE REQUEST", p256), ""},
		{"surrounding whitespace", append(append([]byte("\n\n  "), p256PEM...), "\r\n\n"...), ""},
		{"pem p384", pemBlock("CERTIFICATE REQUEST", csrDERFor(t, fx.p384)), ""},
		{"pem rsa-2048", pemBlock("CERTIFICATE REQUEST", csrDERFor(t, fx.rsa2048)), ""},
		{"pem ed25519", pemBlock("CERTIFICATE REQUEST", csrDERFor(t, fx.ed)), ""},

		{"empty", nil, "csr_malformed"},
		{"whitespace", []byte(" \n\t"), "csr_malformed"},
		{"text", []byte("hello"), "csr_malformed"},
		{"wrong block type", pemBlock("CERTIFICATE", p256), "csr_malformed"},
		{"trailing garbage", append(bytes.Clone(p256PEM), "junk"...), "csr_malformed"},
		{"leading text", append([]byte("subject=CN=x\n"), p256PEM...), "csr_malformed"},
		{"two requests", append(bytes.Clone(p256PEM), p256PEM...), "csr_malformed"},
		{"truncated pem", p256PEM[:len(p256PEM)-20], "csr_malformed"},
		{"bad base64", []byte("-----BEGIN CERTIFICATE REQUEST-----\n!!!!\n-----END CERTIFICATE REQUEST-----\n"), "csr_malformed"},
		{"der trailing byte", append(bytes.Clone(p256), 0), "csr_malformed"},
		{"der truncated", p256[:len(p256)-1], "csr_malformed"},
		{"not a csr", pemBlock("CERTIFICATE REQUEST", []byte{0x30, 0x03, 0x02, 0x01, 0x01}), "csr_malformed"},
		{"tampered signature", tampered, "csr_signature_invalid"},
		{"rsa-1024", pemBlock("CERTIFICATE REQUEST", csrDERFor(t, fx.rsa1024)), "key_too_small"},
		{"p-224", pemBlock("CERTIFICATE REQUEST", csrDERFor(t, fx.p224)), "key_unsupported_curve"},
		{"too large", bytes.Repeat([]byte{'a'}, MaxCSRBytes+1), "input_too_large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			csr, err := ParseCSR(tc.in)
			wantCode(t, err, tc.code)
			if tc.code == "" && (csr == nil || csr.Subject.CommonName != "signet-test") {
				t.Fatalf("parsed CSR is wrong: %+v", csr)
			}
		})
	}
}

// TestParseCSRSignatureCoversSubject: changing a signed byte outside the
// signature must also fail verification, not just parsing.
func TestParseCSRSignatureCoversSubject(t *testing.T) {
	for _, key := range []crypto.Signer{fx.p256, fx.rsa2048, fx.ed} {
		der := csrDERFor(t, key)
		i := bytes.Index(der, []byte("signet-test"))
		if i < 0 {
			t.Fatal("subject not found in the DER")
		}
		der[i] = 'S'
		_, err := ParseCSR(der)
		wantCode(t, err, "csr_signature_invalid")
	}
}

func TestParseCSRKeepsRequest(t *testing.T) {
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		DNSNames: []string{"x.example.com", "y.example.com"},
	}, fx.p384)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := ParseCSR(der)
	wantCode(t, err, "")
	if len(csr.DNSNames) != 2 || KeyTypeLabel(csr.PublicKey) != "ECDSA-P384" {
		t.Fatalf("got names %v, key %s", csr.DNSNames, KeyTypeLabel(csr.PublicKey))
	}
}

// unsignedRSACSR assembles a CSR for an RSA public key with a random
// signature: crypto/x509 refuses to create one for a key we lack.
func unsignedRSACSR(t *testing.T, pub *rsa.PublicKey) []byte {
	t.Helper()
	type spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	type tbs struct {
		Version   int
		Subject   asn1.RawValue
		PublicKey spki
		Attrs     []asn1.RawValue `asn1:"tag:0"`
	}
	type request struct {
		TBS       tbs
		Algorithm pkix.AlgorithmIdentifier
		Signature asn1.BitString
	}
	subject, err := asn1.Marshal(pkix.Name{CommonName: "signet-test"}.ToRDNSequence())
	if err != nil {
		t.Fatal(err)
	}
	key := x509.MarshalPKCS1PublicKey(pub)
	sig := make([]byte, (pub.N.BitLen()+7)/8)
	if _, err := rand.Read(sig[1:]); err != nil {
		t.Fatal(err)
	}
	der, err := asn1.Marshal(request{
		TBS: tbs{
			Subject: asn1.RawValue{FullBytes: subject},
			PublicKey: spki{
				Algorithm: pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}, Parameters: asn1.NullRawValue},
				PublicKey: asn1.BitString{Bytes: key, BitLength: 8 * len(key)},
			},
		},
		Algorithm: pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}, Parameters: asn1.NullRawValue},
		Signature: asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestParseCSRHugeKeyIsCheap: a CSR near the size limit can carry a
// ~250,000-bit RSA key whose signature takes seconds to verify; it must be
// refused on size before the signature is checked.
func TestParseCSRHugeKeyIsCheap(t *testing.T) {
	n := new(big.Int).Lsh(big.NewInt(1), 250000)
	n.Sub(n, big.NewInt(1))
	der := unsignedRSACSR(t, &rsa.PublicKey{N: n, E: 65537})
	if len(der) > MaxCSRBytes {
		t.Fatalf("test CSR is %d bytes, over the limit", len(der))
	}
	// The code, not a timing, is the assertion: had the signature been
	// checked first (slowly), it would have failed as csr_signature_invalid,
	// as the same construction with a normal-size key does.
	_, err := ParseCSR(der)
	wantCode(t, err, "key_too_large")
	_, err = ParseCSR(unsignedRSACSR(t, &fx.rsa2048.PublicKey))
	wantCode(t, err, "csr_signature_invalid")
}
