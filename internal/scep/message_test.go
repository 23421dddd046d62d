package scep

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"

	"github.com/smallstep/pkcs7"
)

func selfSigned(t testing.TB, key any, pub any) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "t"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
		SubjectKeyId: []byte{1, 2, 3, 4}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

// TestEnvelopeOpensWithPKCS7: what envelope encrypts, the PKCS#7 library
// clients use decrypts, for contents of every padding length.
func TestEnvelopeOpensWithPKCS7(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	cert := selfSigned(t, key, key.Public())
	for _, n := range []int{0, 1, 15, 16, 17, 1000} {
		content := bytes.Repeat([]byte{byte(n)}, n)
		env, err := envelope(content, cert)
		if err != nil {
			t.Fatal(err)
		}
		p7, err := pkcs7.Parse(env)
		if err != nil {
			t.Fatalf("parse envelope of %d bytes: %v", n, err)
		}
		got, err := p7.Decrypt(cert, key)
		if err != nil || !bytes.Equal(got, content) {
			t.Fatalf("decrypt envelope of %d bytes: %v (%d bytes)", n, err, len(got))
		}
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := envelope([]byte("x"), selfSigned(t, ec, ec.Public())); err == nil {
		t.Fatal("an envelope to an EC certificate should be refused (RSA key transport only)")
	}
}

func TestDegenerateCRLParses(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	issuer := selfSigned(t, key, key.Public())
	crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: time.Now(),
		NextUpdate: time.Now().Add(time.Hour)}, issuer, key)
	if err != nil {
		t.Fatal(err)
	}
	der, err := degenerateCRL(crl)
	if err != nil {
		t.Fatal(err)
	}
	p7, err := pkcs7.Parse(der)
	if err != nil || len(p7.CRLs) != 1 || len(p7.Certificates) != 0 {
		t.Fatalf("degenerate CRL: %v", err)
	}
}

// FuzzParseRequest: no pkiMessage makes the parser panic.
func FuzzParseRequest(f *testing.F) {
	f.Add([]byte{0x30, 0x00})
	f.Add([]byte{0x30, 0x80, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = parseRequest(b)
		_, _ = parseIssuerAndSerial(b)
		_, _ = parseIssuerAndSubject(b)
	})
}

// TestAttributesEchoAnyTransactionID: a transactionID outside
// PrintableString's alphabet is echoed as a UTF8String with the same text.
func TestAttributesEchoAnyTransactionID(t *testing.T) {
	for _, tc := range []struct{ id, tag string }{{"0123abcdEF+/=", "printable"}, {"tx_1@device", "utf8"}} {
		raw := printable(tc.id)
		var got string
		if rest, err := asn1.Unmarshal(raw.FullBytes, &got); err != nil || len(rest) != 0 || got != tc.id {
			t.Fatalf("%q: %v %q", tc.id, err, got)
		}
		wantTag := asn1.TagPrintableString
		if tc.tag == "utf8" {
			wantTag = asn1.TagUTF8String
		}
		if int(raw.FullBytes[0]) != wantTag {
			t.Fatalf("%q encoded with tag %d, want %d", tc.id, raw.FullBytes[0], wantTag)
		}
	}
}
