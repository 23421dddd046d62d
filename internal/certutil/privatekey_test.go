package certutil

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"testing"
)

func TestParsePrivateKey(t *testing.T) {
	pkcs8 := func(key any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	sec1 := func(der []byte, err error) []byte {
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	p256SEC1 := sec1(x509.MarshalECPrivateKey(fx.p256))
	p384SEC1 := sec1(x509.MarshalECPrivateKey(fx.p384))
	p224SEC1 := sec1(x509.MarshalECPrivateKey(fx.p224))
	rsaPKCS1 := x509.MarshalPKCS1PrivateKey(fx.rsa2048)
	p256PKCS8 := pemBlock("PRIVATE KEY", pkcs8(fx.p256))
	// What `openssl ecparam -name prime256v1 -genkey` prints.
	params, err := asn1.Marshal(asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7})
	if err != nil {
		t.Fatal(err)
	}
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	legacyEncrypted := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY",
		Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00112233445566778899AABBCCDDEEFF"},
		Bytes:   rsaPKCS1})

	tests := []struct {
		name string
		in   []byte
		want crypto.PublicKey // the key expected back, nil with code set
		code string
	}{
		{"pkcs8 p256", p256PKCS8, fx.p256.Public(), ""},
		{"pkcs8 rsa", pemBlock("PRIVATE KEY", pkcs8(fx.rsa2048)), fx.rsa2048.Public(), ""},
		{"pkcs8 ed25519", pemBlock("PRIVATE KEY", pkcs8(fx.ed)), fx.ed.Public(), ""},
		{"pkcs1 rsa", pemBlock("RSA PRIVATE KEY", rsaPKCS1), fx.rsa2048.Public(), ""},
		{"sec1 p384", pemBlock("EC PRIVATE KEY", p384SEC1), fx.p384.Public(), ""},
		{"ec parameters first", append(pemBlock("EC PARAMETERS", params), pemBlock("EC PRIVATE KEY", p256SEC1)...), fx.p256.Public(), ""},
		{"mislabelled pkcs1", pemBlock("PRIVATE KEY", rsaPKCS1), fx.rsa2048.Public(), ""},
		{"mislabelled sec1", pemBlock("RSA PRIVATE KEY", p256SEC1), fx.p256.Public(), ""},
		{"surrounding text", append(append([]byte("key:\n"), p256PKCS8...), "\n\n"...), fx.p256.Public(), ""},

		{"empty", nil, nil, "private_key_malformed"},
		{"der", pkcs8(fx.p256), nil, "private_key_malformed"},
		{"encrypted pkcs8", pemBlock("ENCRYPTED PRIVATE KEY", []byte{0x30, 0}), nil, "private_key_malformed"},
		{"legacy encrypted", legacyEncrypted, nil, "private_key_malformed"},
		{"two keys", append(bytes.Clone(p256PKCS8), p256PKCS8...), nil, "private_key_malformed"},
		{"certificate", EncodeCertsPEM(newCert(t, fx.p256, "x", false, nil, nil).Raw), nil, "private_key_malformed"},
		{"public key", pemBlock("PUBLIC KEY", []byte{0x30, 0}), nil, "private_key_malformed"},
		{"only parameters", pemBlock("EC PARAMETERS", params), nil, "private_key_malformed"},
		{"garbage der", pemBlock("PRIVATE KEY", []byte("not a key")), nil, "private_key_malformed"},
		{"truncated", p256PKCS8[:len(p256PKCS8)-25], nil, "private_key_malformed"},
		{"truncated before key", append(pemBlock("EC PARAMETERS", params)[:20], p256PKCS8...), nil, "private_key_malformed"},
		{"rsa-1024", pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(fx.rsa1024)), nil, "key_too_small"},
		{"p-224", pemBlock("EC PRIVATE KEY", p224SEC1), nil, "key_unsupported_curve"},
		{"x25519", pemBlock("PRIVATE KEY", pkcs8(x25519)), nil, "key_unsupported_type"},
		{"too large", bytes.Repeat([]byte{'a'}, maxPrivateKeyBytes+1), nil, "input_too_large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key, err := ParsePrivateKey(tc.in)
			wantCode(t, err, tc.code)
			if tc.want == nil {
				if key != nil {
					t.Fatal("a key came back with the error")
				}
				return
			}
			if !key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(tc.want) {
				t.Fatal("parsed a different key")
			}
		})
	}
}

// TestMarshalPrivateKeyPEM round-trips every key type through the parser.
func TestMarshalPrivateKeyPEM(t *testing.T) {
	for _, key := range []crypto.Signer{fx.rsa2048, fx.p256, fx.p384, fx.ed} {
		t.Run(KeyTypeLabel(key.Public()), func(t *testing.T) {
			out, err := MarshalPrivateKeyPEM(key)
			wantCode(t, err, "")
			if !bytes.HasPrefix(out, []byte("-----BEGIN PRIVATE KEY-----\n")) {
				t.Fatalf("not PKCS#8 PEM:\n%s", out)
			}
			back, err := ParsePrivateKey(out)
			wantCode(t, err, "")
			if !back.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(key.Public()) {
				t.Fatal("round trip changed the key")
			}
		})
	}
}

func TestKeyMatchesCertificate(t *testing.T) {
	leaf, root := chain(t)
	edCert := newCert(t, fx.ed, "ed", false, nil, nil)
	rsaCert := newCert(t, fx.rsa2048, "rsa", false, nil, nil)
	tests := []struct {
		name string
		key  crypto.Signer
		cert *x509.Certificate
		want bool
	}{
		{"leaf", fx.p256, leaf, true},
		{"root", fx.p384, root, true},
		{"ed25519", fx.ed, edCert, true},
		{"rsa", fx.rsa2048, rsaCert, true},
		{"other key", fx.p384, leaf, false},
		{"other type", fx.ed, rsaCert, false},
		{"nil cert", fx.p256, nil, false},
		{"nil key", nil, leaf, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := KeyMatchesCertificate(tc.key, tc.cert); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}
