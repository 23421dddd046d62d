package certutil

import (
	"bytes"
	"crypto/x509"
	"regexp"
	"testing"

	"github.com/smallstep/pkcs7"

	"github.com/signet-pki/signet/internal/problem"
)

// Every parser of untrusted input must never panic, and must fail only with
// a *problem.Error so transports can always answer with a stable code.

func wantProblem(t *testing.T, err error) {
	t.Helper()
	if err != nil && problem.As(err) == nil {
		t.Fatalf("error is not a *problem.Error: %T %v", err, err)
	}
}

func FuzzParseCSR(f *testing.F) {
	der := csrDERFor(f, fx.p256)
	f.Add(pemBlock("CERTIFICATE REQUEST", der))
	f.Add(der)
	f.Add(csrDERFor(f, fx.ed))
	f.Add([]byte("-----BEGIN NEW CERTIFICATE REQUEST-----\n-----END NEW CERTIFICATE REQUEST-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		csr, err := ParseCSR(data)
		wantProblem(t, err)
		if err == nil {
			if csr == nil || csr.CheckSignature() != nil || CheckPublicKey(csr.PublicKey) != nil {
				t.Fatal("accepted a CSR that does not check out")
			}
		}
	})
}

func FuzzParseCertificates(f *testing.F) {
	leaf, root := chain(f)
	f.Add(EncodeCertsPEM(leaf.Raw, root.Raw))
	f.Add(leaf.Raw)
	f.Add([]byte("text\n" + string(EncodeCertsPEM(root.Raw)) + "more text\n"))
	f.Add(pemBlock("PRIVATE KEY", []byte{0x30, 0}))
	if p7, err := pkcs7.DegenerateCertificate(append(bytes.Clone(leaf.Raw), root.Raw...)); err == nil {
		f.Add(p7)
		f.Add(pemBlock("PKCS7", p7))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, err := ParseCertificates(data)
		wantProblem(t, err)
		if err == nil && len(certs) == 0 {
			t.Fatal("no error and no certificates")
		}
		for _, c := range certs {
			if _, err := x509.ParseCertificate(c.Raw); err != nil {
				t.Fatalf("returned an unparsable certificate: %v", err)
			}
		}
	})
}

func FuzzNormalizeSerial(f *testing.F) {
	s, err := NewSerial()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(SerialHex(s))
	for _, seed := range []string{"A9:3E:0F", "0x00a93e0f", "a9 3e 0f", "0", "", "00:00", "a:3e:f"} {
		f.Add(seed)
	}
	canonical := regexp.MustCompile(`^(0|[1-9a-f][0-9a-f]{0,39})$`)
	f.Fuzz(func(t *testing.T, in string) {
		got, err := NormalizeSerial(in)
		wantProblem(t, err)
		if err != nil {
			return
		}
		if !canonical.MatchString(got) {
			t.Fatalf("NormalizeSerial(%q) = %q, not canonical", in, got)
		}
		if again, err := NormalizeSerial(got); err != nil || again != got {
			t.Fatalf("not idempotent: %q -> %q, %v", got, again, err)
		}
	})
}

func FuzzParsePrivateKey(f *testing.F) {
	p256, err := MarshalPrivateKeyPEM(fx.p256)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(p256)
	f.Add(pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(fx.rsa2048)))
	sec1, err := x509.MarshalECPrivateKey(fx.p384)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pemBlock("EC PRIVATE KEY", sec1))
	f.Fuzz(func(t *testing.T, data []byte) {
		key, err := ParsePrivateKey(data)
		wantProblem(t, err)
		if err == nil && CheckPublicKey(key.Public()) != nil {
			t.Fatal("accepted a key that fails CheckPublicKey")
		}
	})
}
