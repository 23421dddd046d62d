package test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/config"
	"github.com/signet-pki/signet/internal/testutil"
)

// TestDiscoveryScanRatesAndImports scans two TLS servers started here (one
// serving a certificate Signet issued, one an expired self-signed one) and
// a closed port: the first is matched to its inventory record and graded
// well, the second lands in the inventory as discovered and fails, the
// closed port records nothing, and targets outside the allowed networks
// are refused.
func TestDiscoveryScanRatesAndImports(t *testing.T) {
	e := &env{Server: testutil.StartServerWith(t, func(c *config.Config) { c.DiscoveryAllowedNetworks = []string{"127.0.0.0/8"} }),
		dir: t.TempDir(), principals: map[string]string{}}
	m := e.Must(t, 201, "POST", "/api/v1/certificates", admin, map[string]any{"profile": "tls-server",
		"keygen": map[string]any{"algorithm": "ecdsa", "bits": 256}, "sans": []string{"127.0.0.1", "localhost"}}).Map(t)
	issued, err := tls.X509KeyPair([]byte(str(m, "certificate", "certificate_pem")+m["chain_pem"].(string)), []byte(m["private_key_pem"].(string)))
	if err != nil {
		t.Fatal(err)
	}
	good := tlsServer(t, &tls.Config{Certificates: []tls.Certificate{issued}, MinVersion: tls.VersionTLS12})
	expiredCert := selfSigned(t, time.Now().Add(-72*time.Hour), time.Now().Add(-24*time.Hour))
	bad := tlsServer(t, &tls.Config{Certificates: []tls.Certificate{expiredCert}})
	closed := freePort(t)

	e.Must(t, 403, "POST", "/api/v1/discovery/scans", admin, map[string]any{"targets": []string{"10.1.2.3"}, "ports": []int{443}})
	e.Must(t, 400, "POST", "/api/v1/discovery/scans", admin, map[string]any{"targets": []string{"127.0.0.0/8"}})
	job := e.Must(t, 202, "POST", "/api/v1/discovery/scans", admin, map[string]any{"targets": []string{"127.0.0.1"},
		"ports": []int{good, bad, closed}}).Map(t)
	deadline := time.Now().Add(30 * time.Second)
	for job["status"] != "done" {
		if time.Now().After(deadline) {
			t.Fatalf("scan did not finish: %v", job)
		}
		time.Sleep(100 * time.Millisecond)
		job = e.Must(t, 200, "GET", "/api/v1/discovery/scans/"+job["id"].(string), admin, nil).Map(t)
	}
	if job["total"].(float64) != 3 || job["reachable"].(float64) != 2 || len(job["endpoint_ids"].([]any)) != 2 || job["certificates"].(float64) != 1 {
		t.Fatalf("scan result: %v", job)
	}
	eps := e.Must(t, 200, "GET", "/api/v1/endpoints", admin, nil).Map(t)["items"].([]any)
	grades, ids := map[int]string{}, map[int]string{}
	for _, it := range eps {
		ep := it.(map[string]any)
		grades[int(ep["port"].(float64))] = ep["grade"].(string)
		ids[int(ep["port"].(float64))] = ep["id"].(string)
	}
	if g := grades[good]; g != "A+" && g != "A" && g != "B" {
		t.Errorf("endpoint with Signet's certificate graded %q: %s", g, e.Must(t, 200, "GET", "/api/v1/endpoints/"+ids[good], admin, nil).Body)
	}
	if grades[bad] != "F" {
		t.Errorf("expired self-signed endpoint graded %q, want F", grades[bad])
	}
	if _, ok := grades[closed]; ok {
		t.Error("a closed port was recorded as an endpoint")
	}
	// The issued certificate stays an issued one and is found by its endpoint.
	issuedSHA := e.Must(t, 200, "GET", "/api/v1/certificates/"+str(m, "certificate", "serial"), admin, nil).Map(t)["sha256"].(string)
	if n := len(e.Must(t, 200, "GET", "/api/v1/endpoints?sha256="+issuedSHA, admin, nil).Map(t)["items"].([]any)); n != 1 {
		t.Errorf("endpoints serving the issued certificate: %d", n)
	}
	found := e.Must(t, 200, "GET", "/api/v1/certificates?source=discovered", admin, nil).Map(t)["items"].([]any)
	if len(found) != 1 || found[0].(map[string]any)["status"] != "expired" {
		t.Fatalf("discovered certificates: %v", found)
	}
	one := e.Must(t, 200, "GET", "/api/v1/endpoints/"+job["endpoint_ids"].([]any)[0].(string), admin, nil).Map(t)
	if one["rating"] == nil {
		t.Fatalf("endpoint without its rating: %v", one)
	}
	// The same through the CLI: a rescan waits for its end, the listing shows the grade.
	out, _, err := runCLI("--server", e.URL, "--api-key", admin, "discovery", "scan", "--target", "127.0.0.1", "--port", strconv.Itoa(bad))
	if err != nil || !strings.Contains(out, "STATUS            done") {
		t.Fatalf("signet discovery scan: %v\n%s", err, out)
	}
	out, _, err = runCLI("--server", e.URL, "--api-key", admin, "endpoint", "list", "--grade", "F")
	if err != nil || !strings.Contains(out, strconv.Itoa(bad)) || strings.Contains(out, strconv.Itoa(good)) {
		t.Fatalf("signet endpoint list --grade F: %v\n%s", err, out)
	}
}

func tlsServer(t *testing.T, cfg *tls.Config) int {
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
	return ln.Addr().(*net.TCPAddr).Port
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	p, _ := strconv.Atoi(ln.Addr().String()[len("127.0.0.1:"):])
	return p
}

func selfSigned(t *testing.T, notBefore, notAfter time.Time) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(notBefore.UnixNano()), Subject: pkix.Name{CommonName: "legacy.example"},
		NotBefore: notBefore, NotAfter: notAfter, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
