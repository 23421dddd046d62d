package certutil

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/problem"
)

// fixture holds the keys every test shares. RSA key generation takes seconds
// on a small CI machine, so each key is made once per test binary, in
// TestMain, and only the sizes the tests truly need are made at all.
type fixture struct {
	rsa2048 *rsa.PrivateKey // made through GenerateKey, which tests that path too
	rsa1024 *rsa.PrivateKey // for key_too_small with a real, signing key
	p224    *ecdsa.PrivateKey
	p256    *ecdsa.PrivateKey
	p384    *ecdsa.PrivateKey
	ed      ed25519.PrivateKey
}

var fx fixture

func TestMain(m *testing.M) {
	if err := buildFixture(&fx); err != nil {
		fmt.Fprintln(os.Stderr, "certutil test fixture:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func buildFixture(f *fixture) error {
	k, err := GenerateKey("rsa", 2048)
	if err != nil {
		return err
	}
	f.rsa2048 = k.(*rsa.PrivateKey)
	if f.rsa1024, err = rsa.GenerateKey(rand.Reader, 1024); err != nil {
		return err
	}
	if f.p224, err = ecdsa.GenerateKey(elliptic.P224(), rand.Reader); err != nil {
		return err
	}
	if f.p256, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return err
	}
	if f.p384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader); err != nil {
		return err
	}
	_, f.ed, err = ed25519.GenerateKey(rand.Reader)
	return err
}

// wantCode fails unless err is a *problem.Error with the given code and
// kind; code "" means err must be nil.
func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	pe := problem.As(err)
	if pe == nil {
		t.Fatalf("want *problem.Error %q, got %T %v", code, err, err)
	}
	if pe.Code != code {
		t.Fatalf("want code %q, got %q (%v)", code, pe.Code, err)
	}
	wantKind := problem.KindInvalid
	if code == "input_too_large" {
		wantKind = problem.KindTooLarge
	}
	if pe.Kind != wantKind {
		t.Fatalf("code %q: want kind %v, got %v", code, wantKind, pe.Kind)
	}
}

func csrDERFor(t testing.TB, key crypto.Signer) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:  pkix.Name{CommonName: "signet-test"},
		DNSNames: []string{"a.example.com"},
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// newCert signs a certificate for key; parent and parentKey nil make it
// self-signed. isCA marks it as a CA.
func newCert(t testing.TB, key crypto.Signer, cn string, isCA bool, parent *x509.Certificate, parentKey crypto.Signer) *x509.Certificate {
	t.Helper()
	serial, err := NewSerial()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		BasicConstraintsValid: true,
		IsCA:                  isCA,
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// chain is a P-384 root and a P-256 leaf it signed.
func chain(t testing.TB) (leaf, root *x509.Certificate) {
	t.Helper()
	root = newCert(t, fx.p384, "signet test root", true, nil, nil)
	leaf = newCert(t, fx.p256, "leaf.example.com", false, root, fx.p384)
	return leaf, root
}

// untilLastByte calls gen until its DER output ends in b: DER ending in a
// whitespace byte is the case that trimming input would corrupt.
func untilLastByte(t testing.TB, b byte, gen func() []byte) []byte {
	t.Helper()
	for range 10000 {
		if der := gen(); der[len(der)-1] == b {
			return der
		}
	}
	t.Fatalf("no DER ending in %#x after 10000 tries", b)
	return nil
}

// openssl runs the openssl binary, which these tests require: it is the
// independent reader that proves our encodings interoperate.
func openssl(t testing.TB, stdin []byte, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatalf("openssl binary not found: %v", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("openssl %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func rsaPub(n *big.Int, e int) *rsa.PublicKey {
	return &rsa.PublicKey{N: n, E: e}
}
