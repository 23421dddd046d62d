package test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// TestImportFilesAndDirectories imports a directory tree holding PEM (with
// a private key beside the certificate), DER and password-protected PKCS#12
// files: every certificate lands in the inventory once, no key is sent.
func TestImportFilesAndDirectories(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	mk := func(cn string) ([]byte, *ecdsa.PrivateKey) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
			DNSNames: []string{cn}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(90 * 24 * time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
		if err != nil {
			t.Fatal(err)
		}
		return der, key
	}
	pemDER, pemKey := mk("pem.files.example")
	keyDER, _ := x509.MarshalPKCS8PrivateKey(pemKey)
	bundle := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pemDER}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})...)
	derDER, _ := mk("der.files.example")
	p12DER, p12Key := mk("p12.files.example")
	p12Cert, _ := x509.ParseCertificate(p12DER)
	p12, err := pkcs12.Modern.Encode(p12Key, p12Cert, nil, "store-password")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"web/site.pem": bundle, "legacy/old.cer": derDER, "java/app.p12": p12,
		"notes/readme.txt": []byte("not a certificate"), "web/copy.pem": bundle} {
		path := filepath.Join(dir, name)
		_ = os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := runCLI("--server", e.URL, "--api-key", admin, "cert", "import", dir, "--pkcs12-password", "wrong"); err != nil {
		t.Logf("with a wrong password the PKCS#12 is reported and the rest imported: %v", err)
	}
	out, stderr, err := runCLI("--server", e.URL, "--api-key", admin, "cert", "import", dir, "--pkcs12-password", "store-password")
	if err != nil {
		t.Fatalf("import: %v\n%s\n%s", err, out, stderr)
	}
	if !strings.Contains(out+stderr, "p12.files.example") && !strings.Contains(stderr, "already") {
		t.Fatalf("import output:\n%s\n%s", out, stderr)
	}
	for _, cn := range []string{"pem.files.example", "der.files.example", "p12.files.example"} {
		n := e.Must(t, 200, "GET", "/api/v1/certificates?name="+cn+"&total=true", admin, nil).Map(t)["total"].(float64)
		if n != 1 {
			t.Errorf("%s: %v certificates in the inventory, want 1", cn, n)
		}
	}
	if strings.Contains(e.LogText(), "PRIVATE KEY") {
		t.Fatal("a private key reached the server")
	}
}
