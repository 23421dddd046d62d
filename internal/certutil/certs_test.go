package certutil

import (
	"bytes"
	"crypto/x509"
	"testing"

	"github.com/smallstep/pkcs7"
)

func TestParseCertificates(t *testing.T) {
	leaf, root := chain(t)
	leafPEM, rootPEM := EncodeCertsPEM(leaf.Raw), EncodeCertsPEM(root.Raw)
	bundle := EncodeCertsPEM(leaf.Raw, root.Raw)
	// openssl s_client -showcerts style: text around and between the blocks.
	annotated := bytes.Join([][]byte{[]byte("subject=CN=leaf\n"), leafPEM, []byte("---\nsubject=CN=root\n"), rootPEM, []byte("---\n")}, nil)
	newline := untilLastByte(t, '\n', func() []byte { return newCert(t, fx.p256, "nl", false, nil, nil).Raw })
	keyPEM, err := MarshalPrivateKeyPEM(fx.p256)
	wantCode(t, err, "")
	p7, err := pkcs7.DegenerateCertificate(append(bytes.Clone(leaf.Raw), root.Raw...)) // a .p7b of both
	wantCode(t, err, "")

	tests := []struct {
		name string
		in   []byte
		want []*x509.Certificate // nil with code set
		code string
	}{
		{"one pem", leafPEM, []*x509.Certificate{leaf}, ""},
		{"bundle", bundle, []*x509.Certificate{leaf, root}, ""},
		{"annotated bundle", annotated, []*x509.Certificate{leaf, root}, ""},
		{"crlf", bytes.ReplaceAll(leafPEM, []byte("\n"), []byte("\r\n")), []*x509.Certificate{leaf}, ""},
		{"der", root.Raw, []*x509.Certificate{root}, ""},
		{"der ending in newline", newline, []*x509.Certificate{{Raw: newline}}, ""},
		{"pkcs7 pem", pemBlock("PKCS7", p7), []*x509.Certificate{leaf, root}, ""},
		{"pkcs7 der", p7, []*x509.Certificate{leaf, root}, ""},
		{"pkcs7 and a certificate", append(pemBlock("PKCS7", p7), leafPEM...), []*x509.Certificate{leaf, root, leaf}, ""},

		{"empty", nil, nil, "pem_empty"},
		{"whitespace", []byte("\n \n"), nil, "pem_empty"},
		{"text", []byte("no certificates here"), nil, "pem_empty"},
		{"private key", append(bytes.Clone(leafPEM), keyPEM...), nil, "unexpected_pem_block"},
		{"rsa private key", pemBlock("RSA PRIVATE KEY", []byte{1}), nil, "unexpected_pem_block"},
		{"csr", pemBlock("CERTIFICATE REQUEST", csrDERFor(t, fx.p256)), nil, "unexpected_pem_block"},
		{"trusted certificate", pemBlock("TRUSTED CERTIFICATE", root.Raw), nil, "unexpected_pem_block"},
		{"truncated last block", bundle[:len(bundle)-30], nil, "certificate_malformed"},
		{"truncated first block", append(bytes.Clone(leafPEM[:len(leafPEM)-30]), rootPEM...), nil, "certificate_malformed"},
		{"bad base64", []byte("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"), nil, "certificate_malformed"},
		{"not a certificate", pemBlock("CERTIFICATE", []byte{0x30, 0x03, 0x02, 0x01, 0x01}), nil, "certificate_malformed"},
		{"der trailing byte", append(bytes.Clone(root.Raw), 0), nil, "certificate_malformed"},
		{"der truncated", root.Raw[:len(root.Raw)-1], nil, "certificate_malformed"},
		{"der garbage", []byte{0x30, 0xff, 0xff}, nil, "certificate_malformed"},
		{"pkcs7 garbage", pemBlock("PKCS7", []byte{0x30, 0x03, 0x02, 0x01, 0x01}), nil, "pkcs7_malformed"},
		{"pkcs7 truncated", pemBlock("PKCS7", p7[:len(p7)-40]), nil, "pkcs7_malformed"},
		{"too large", bytes.Repeat(leafPEM, MaxPEMBytes/len(leafPEM)+1), nil, "input_too_large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseCertificates(tc.in)
			wantCode(t, err, tc.code)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d certificates, want %d", len(got), len(tc.want))
			}
			for i := range got {
				if !bytes.Equal(got[i].Raw, tc.want[i].Raw) {
					t.Fatalf("certificate %d differs", i)
				}
			}
		})
	}
}
