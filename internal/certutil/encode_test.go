package certutil

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smallstep/pkcs7"
	"software.sslmate.com/src/go-pkcs12"
)

func TestEncodeCertsPEM(t *testing.T) {
	leaf, root := chain(t)
	tests := []struct {
		name string
		ders [][]byte
	}{
		{"none", nil},
		{"one", [][]byte{leaf.Raw}},
		{"chain", [][]byte{leaf.Raw, root.Raw}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := EncodeCertsPEM(tc.ders...)
			if got := bytes.Count(out, []byte("-----BEGIN CERTIFICATE-----\n")); got != len(tc.ders) {
				t.Fatalf("%d blocks, want %d", got, len(tc.ders))
			}
			if len(tc.ders) == 0 {
				return
			}
			certs, err := ParseCertificates(out)
			wantCode(t, err, "")
			for i, c := range certs {
				if !bytes.Equal(c.Raw, tc.ders[i]) {
					t.Fatalf("certificate %d changed or moved", i)
				}
			}
		})
	}
}

// TestEncodeCertsPEMMatchesEncodingPEM pins the hand-built encoding to
// encoding/pem's, at every length around the line and padding boundaries.
func TestEncodeCertsPEMMatchesEncodingPEM(t *testing.T) {
	data := make([]byte, 400)
	for i := range data {
		data[i] = byte(i*7 + 3)
	}
	for n := range len(data) {
		ders := [][]byte{data[:n], data[n/2 : n], {}}
		var want bytes.Buffer
		for _, d := range ders {
			if err := pem.Encode(&want, &pem.Block{Type: "CERTIFICATE", Bytes: d}); err != nil {
				t.Fatal(err)
			}
		}
		if got := EncodeCertsPEM(ders...); !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("%d bytes: got\n%s\nwant\n%s", n, got, want.Bytes())
		}
	}
	if got := EncodeCertsPEM(); got != nil {
		t.Fatalf("no certificates: got %q, want nil", got)
	}
}

func BenchmarkEncodeCertsPEM(b *testing.B) {
	leaf, root := chain(b)
	b.ReportAllocs()
	for b.Loop() {
		_ = EncodeCertsPEM(leaf.Raw, root.Raw)
	}
}

func TestEncodePKCS7(t *testing.T) {
	leaf, root := chain(t)
	tests := []struct {
		name    string
		ders    [][]byte
		wantErr bool
	}{
		{"leaf", [][]byte{leaf.Raw}, false},
		{"chain", [][]byte{leaf.Raw, root.Raw}, false},
		{"none", nil, true},
		{"not der", [][]byte{leaf.Raw, []byte("junk")}, true},
		{"two elements in one", [][]byte{append(bytes.Clone(leaf.Raw), root.Raw...)}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := EncodePKCS7(tc.ders...)
			if tc.wantErr {
				if err == nil {
					t.Fatal("want an error")
				}
				return
			}
			wantCode(t, err, "")
			p7, err := pkcs7.Parse(out)
			if err != nil {
				t.Fatal(err)
			}
			if len(p7.Certificates) != len(tc.ders) {
				t.Fatalf("%d certificates, want %d", len(p7.Certificates), len(tc.ders))
			}
			for i, c := range p7.Certificates {
				if !bytes.Equal(c.Raw, tc.ders[i]) {
					t.Fatalf("certificate %d changed or moved", i)
				}
			}
			// OpenSSL is the independent reader.
			text := openssl(t, out, "pkcs7", "-inform", "DER", "-print_certs")
			if got := strings.Count(text, "-----BEGIN CERTIFICATE-----"); got != len(tc.ders) {
				t.Fatalf("openssl printed %d certificates, want %d:\n%s", got, len(tc.ders), text)
			}
			if !strings.Contains(text, "CN = leaf.example.com") {
				t.Fatalf("openssl output lacks the leaf:\n%s", text)
			}
		})
	}
}

func TestEncodePKCS12(t *testing.T) {
	leaf, root := chain(t)
	rsaCert := newCert(t, fx.rsa2048, "rsa.example.com", false, nil, nil)
	edCert := newCert(t, fx.ed, "ed.example.com", false, nil, nil)
	tests := []struct {
		name     string
		key      crypto.PrivateKey
		leaf     *x509.Certificate
		chain    []*x509.Certificate
		password string
		code     string // "pkcs12_password_invalid", "error" for a plain error, "" for success
	}{
		{"ecdsa with chain", fx.p256, leaf, []*x509.Certificate{root}, "p12-secret", ""},
		{"rsa", fx.rsa2048, rsaCert, nil, "pässwörd ünicode", ""},
		{"ed25519", fx.ed, edCert, nil, "pw", ""},
		{"empty password", fx.p256, leaf, nil, "", ""},
		{"emoji password", fx.p256, leaf, nil, "pw🔑", "pkcs12_password_invalid"},
		{"nul in password", fx.p256, leaf, nil, "a\x00b", "pkcs12_password_invalid"},
		{"invalid utf-8", fx.p256, leaf, nil, "a\xffb", "pkcs12_password_invalid"},
		{"wrong key", fx.p384, leaf, nil, "pw", "error"},
		{"no key", nil, leaf, nil, "pw", "error"},
		{"no certificate", fx.p256, nil, nil, "pw", "error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := EncodePKCS12(tc.key, tc.leaf, tc.chain, tc.password)
			switch tc.code {
			case "":
				wantCode(t, err, "")
			case "error":
				if err == nil {
					t.Fatal("want an error")
				}
				return
			default:
				wantCode(t, err, tc.code)
				return
			}
			key, got, cas, err := pkcs12.DecodeChain(out, tc.password)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Raw, tc.leaf.Raw) || len(cas) != len(tc.chain) {
				t.Fatalf("decoded leaf or chain differ (%d CA certificates)", len(cas))
			}
			if !KeyMatchesCertificate(key.(crypto.Signer), tc.leaf) {
				t.Fatal("decoded key does not match")
			}
			// OpenSSL reads the password from a file: on the command line
			// "pass:" would mangle an empty or non-ASCII one on some systems.
			pw := filepath.Join(t.TempDir(), "pw")
			if err := os.WriteFile(pw, []byte(tc.password+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			text := openssl(t, out, "pkcs12", "-info", "-nokeys", "-passin", "file:"+pw)
			if want := 1 + len(tc.chain); strings.Count(text, "-----BEGIN CERTIFICATE-----") != want {
				t.Fatalf("openssl printed the wrong number of certificates, want %d:\n%s", want, text)
			}
			if !strings.Contains(text, "PBES2") || !strings.Contains(text, "sha256") {
				t.Fatalf("openssl does not report the modern algorithms:\n%s", text)
			}
		})
	}
}

// TestEncodePKCS12OpensslPass is the command-line form from the brief: the
// password given as pass:... on the openssl command line.
func TestEncodePKCS12OpensslPass(t *testing.T) {
	leaf, root := chain(t)
	out, err := EncodePKCS12(fx.p256, leaf, []*x509.Certificate{root}, "p12-secret")
	wantCode(t, err, "")
	text := openssl(t, out, "pkcs12", "-info", "-nokeys", "-passin", "pass:p12-secret")
	if !strings.Contains(text, "CN = leaf.example.com") || !strings.Contains(text, "CN = signet test root") {
		t.Fatalf("openssl output lacks the chain:\n%s", text)
	}
}
