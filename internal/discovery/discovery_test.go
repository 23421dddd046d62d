package discovery

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

type testCA struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Discovery Test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key}
}

// leaf issues a certificate for 127.0.0.1; with ca nil it is self-signed.
func leaf(t *testing.T, ca *testCA, key crypto.Signer, notBefore, notAfter time.Time) tls.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: notBefore, NotAfter: notAfter, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment}
	parent, signer := tmpl, key
	if ca != nil {
		parent, signer = ca.cert, ca.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	chain := [][]byte{der}
	if ca != nil {
		chain = append(chain, ca.cert.Raw)
	}
	return tls.Certificate{Certificate: chain, PrivateKey: key}
}

// serve runs a TLS server on 127.0.0.1 until the test ends.
func serve(t *testing.T, cfg *tls.Config) Endpoint {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				_ = c.(*tls.Conn).Handshake()
			}()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	p, _ := strconv.Atoi(port)
	return Endpoint{Host: "127.0.0.1", Port: p}
}

func TestProbeAndRateThreeServers(t *testing.T) {
	ca := newTestCA(t)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	now := time.Now()
	modern := serve(t, &tls.Config{Certificates: []tls.Certificate{leaf(t, ca, ecKey, now.Add(-time.Hour), now.Add(90*24*time.Hour))},
		MinVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305}})
	legacy := serve(t, &tls.Config{Certificates: []tls.Certificate{leaf(t, ca, rsaKey, now.Add(-time.Hour), now.Add(90*24*time.Hour))},
		MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}})
	expired := serve(t, &tls.Config{Certificates: []tls.Certificate{leaf(t, nil, ecKey, now.Add(-48*time.Hour), now.Add(-24*time.Hour))}})
	closed := func() Endpoint {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := ln.Addr().(*net.TCPAddr)
		ln.Close()
		return Endpoint{Host: "127.0.0.1", Port: addr.Port}
	}()

	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	p := &Prober{Roots: func() *x509.CertPool { return roots }, Timeout: 3 * time.Second}
	tests := []struct {
		name         string
		ep           Endpoint
		grade        string
		versions     []string
		issue        string
		insecureSeen string
	}{
		{"modern", modern, "A+", []string{"TLS 1.2", "TLS 1.3"}, "", ""},
		{"legacy", legacy, "C", []string{"TLS 1.0", "TLS 1.1", "TLS 1.2"}, "TLS 1.0 is accepted", "TLS_RSA_WITH_3DES_EDE_CBC_SHA"},
		{"expired self-signed", expired, "F", []string{"TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3"}, "self-signed", ""},
		{"nothing listening", closed, "F", nil, "no TLS handshake", ""},
	}
	// Go's TLS server refuses 1.0 and 1.1 unless its config allows them,
	// which expired's does not: expect only what the server accepts.
	tests[2].versions = []string{"TLS 1.2", "TLS 1.3"}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := p.Probe(context.Background(), tc.ep)
			r := Rate(o, time.Now())
			if r.Grade != tc.grade {
				t.Errorf("grade %s, want %s; issues %v", r.Grade, tc.grade, r.Issues)
			}
			if !slices.Equal(o.Versions, tc.versions) {
				t.Errorf("versions %v, want %v", o.Versions, tc.versions)
			}
			if tc.issue != "" && !slices.ContainsFunc(r.Issues, func(s string) bool { return strings.Contains(s, tc.issue) }) {
				t.Errorf("issues %v lack %q", r.Issues, tc.issue)
			}
			if tc.insecureSeen != "" {
				found := false
				for _, cs := range o.Ciphers {
					for _, c := range cs {
						found = found || (c.Name == tc.insecureSeen && c.Rating == "insecure")
					}
				}
				if !found {
					t.Errorf("cipher %s not reported insecure: %v", tc.insecureSeen, o.Ciphers)
				}
			}
			t.Logf("%s: grade %s, versions %v, issues %v", tc.name, r.Grade, o.Versions, r.Issues)
			if o.Reachable && len(o.ChainDER) == 0 {
				t.Error("no certificate recorded")
			}
		})
	}
}
