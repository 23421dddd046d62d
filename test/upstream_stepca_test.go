package test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/signet-pki/signet/internal/testutil"
)

// stepCAVersion is the step-ca the upstream tests build from the Go module proxy.
const stepCAVersion = "v0.30.2"

// buildStepCA builds step-ca (once per machine).
func buildStepCA(t *testing.T) string {
	t.Helper()
	return testutil.GoTool(t, "github.com/smallstep/certificates/cmd/step-ca@"+stepCAVersion)
}

// stepCA is a configured step-ca: a generated root and intermediate and a
// JWK provisioner named "signet", listening on 127.0.0.1:port once started.
type stepCA struct {
	bin, dir, addr string
	rootPEM        []byte
	root           *x509.Certificate
	provKeyJSON    string // private JWK, the connector's secret
	cmd            *exec.Cmd
	log            *os.File
}

// freeAddr returns a 127.0.0.1 address nothing listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func newStepCA(t *testing.T) *stepCA {
	t.Helper()
	s := &stepCA{bin: buildStepCA(t), dir: t.TempDir(), addr: freeAddr(t)}
	rootKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	rootTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Upstream Test Root"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(5, 0, 0), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, rootKey.Public(), rootKey)
	if err != nil {
		t.Fatal(err)
	}
	s.root, _ = x509.ParseCertificate(rootDER)
	intKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	intTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "Upstream Test Intermediate"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(4, 0, 0), IsCA: true, BasicConstraintsValid: true,
		MaxPathLenZero: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	intDER, err := x509.CreateCertificate(rand.Reader, intTmpl, s.root, intKey.Public(), rootKey)
	if err != nil {
		t.Fatal(err)
	}
	intKeyDER, _ := x509.MarshalECPrivateKey(intKey)
	s.rootPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rootDER})
	write := func(name string, b []byte) string {
		p := filepath.Join(s.dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	provKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwk := jose.JSONWebKey{Key: provKey, Algorithm: string(jose.ES256), Use: "sig"}
	tp, _ := jwk.Thumbprint(crypto.SHA256)
	jwk.KeyID = base64.RawURLEncoding.EncodeToString(tp)
	priv, _ := jwk.MarshalJSON()
	pub, _ := jwk.Public().MarshalJSON()
	s.provKeyJSON = string(priv)
	cfg := map[string]any{
		"root":    write("root.crt", s.rootPEM),
		"crt":     write("int.crt", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: intDER})),
		"key":     write("int.key", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: intKeyDER})),
		"address": s.addr, "dnsNames": []string{"127.0.0.1"},
		"db":  map[string]any{"type": "badgerv2", "dataSource": filepath.Join(s.dir, "db")},
		"crl": map[string]any{"enabled": true, "generateOnRevoke": true},
		"authority": map[string]any{"provisioners": []any{map[string]any{
			"type": "JWK", "name": "signet", "key": json.RawMessage(pub),
			"claims": map[string]any{"maxTLSCertDuration": "1000h", "defaultTLSCertDuration": "24h"},
		}}},
	}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	write("ca.json", b)
	return s
}

// start runs step-ca and waits until /health answers (bounded).
func (s *stepCA) start(t *testing.T) {
	t.Helper()
	var err error
	if s.log, err = os.OpenFile(filepath.Join(s.dir, "step-ca.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command(s.bin, filepath.Join(s.dir, "ca.json"))
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	client := s.client()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := client.Get("https://" + s.addr + "/health")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	logs, _ := os.ReadFile(filepath.Join(s.dir, "step-ca.log"))
	t.Fatalf("step-ca did not become healthy:\n%s", logs)
}

func (s *stepCA) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
	if s.log != nil {
		_ = s.log.Close()
		s.log = nil
	}
}

func (s *stepCA) client() *http.Client {
	pool := x509.NewCertPool()
	pool.AddCert(s.root)
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
}

// crl fetches step-ca's current CRL.
func (s *stepCA) crl(t *testing.T) *x509.RevocationList {
	t.Helper()
	resp, err := s.client().Get("https://" + s.addr + "/crl")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	der, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := pem.Decode(der); b != nil {
		der = b.Bytes
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatalf("step-ca CRL (HTTP %d): %v", resp.StatusCode, err)
	}
	return crl
}

// connectorBody is the API body creating a step-ca connector for s.
func (s *stepCA) connectorBody(name string) map[string]any {
	return map[string]any{"name": name, "type": "stepca",
		"config":  map[string]any{"url": "https://" + s.addr, "provisioner": "signet", "root_pem": string(s.rootPEM)},
		"secrets": map[string]any{"provisioner_key": s.provKeyJSON}}
}
