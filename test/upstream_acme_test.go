package test

import (
	"context"
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
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/signet-pki/signet/internal/testutil"
)

// pebbleVersion is the ACME test CA the upstream tests build from the Go module proxy.
const pebbleVersion = "v2.10.3"

// buildPebble builds Pebble (once per machine).
func buildPebble(t *testing.T) string {
	t.Helper()
	return testutil.GoTool(t, "github.com/letsencrypt/pebble/v2/cmd/pebble@"+pebbleVersion)
}

// testDNS is an authoritative DNS server for the test: every name has an A
// record 127.0.0.1, and TXT records come only from RFC 2136 updates signed
// with its TSIG key (hmac-sha256), as BIND, PowerDNS or Knot would demand.
type testDNS struct {
	addr    string
	keyName string
	secret  string
	mu      sync.Mutex
	txt     map[string][]string // lower-case fqdn -> values
	hide    map[string]bool     // fqdn whose TXT records are not served (a record that did not propagate)
	updates int                 // accepted additions
	refused int                 // updates refused for their signature
}

func startTestDNS(t *testing.T) *testDNS {
	t.Helper()
	d := &testDNS{keyName: "signet-key.", txt: map[string][]string{}, hide: map[string]bool{}}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	d.secret = base64.StdEncoding.EncodeToString(b)
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d.addr = udp.LocalAddr().String()
	tcp, err := net.Listen("tcp", d.addr)
	if err != nil {
		t.Fatal(err)
	}
	tsig := map[string]string{d.keyName: d.secret}
	// miekg/dns answers UPDATE with NOTIMP unless the accept function lets it through.
	accept := func(h dns.Header) dns.MsgAcceptAction {
		if int(h.Bits>>11)&0xF == dns.OpcodeUpdate && h.Bits&(1<<15) == 0 {
			return dns.MsgAccept
		}
		return dns.DefaultMsgAcceptFunc(h)
	}
	for _, s := range []*dns.Server{{PacketConn: udp, Handler: d, TsigSecret: tsig, MsgAcceptFunc: accept},
		{Listener: tcp, Handler: d, TsigSecret: tsig, MsgAcceptFunc: accept}} {
		go func() { _ = s.ActivateAndServe() }()
		t.Cleanup(func() { _ = s.Shutdown() })
	}
	return d
}

func (d *testDNS) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	d.mu.Lock()
	defer d.mu.Unlock()
	if r.Opcode == dns.OpcodeUpdate {
		if r.IsTsig() == nil || w.TsigStatus() != nil {
			m.Rcode = dns.RcodeNotAuth
			d.refused++
			_ = w.WriteMsg(m)
			return
		}
		for _, rr := range r.Ns {
			txt, ok := rr.(*dns.TXT)
			if !ok {
				continue
			}
			name := strings.ToLower(txt.Hdr.Name)
			if txt.Hdr.Class == dns.ClassNONE { // RFC 2136 2.5.4: delete this one record
				d.txt[name] = slices.DeleteFunc(d.txt[name], func(v string) bool { return slices.Contains(txt.Txt, v) })
			} else {
				d.txt[name] = append(d.txt[name], txt.Txt...)
				d.updates++
			}
		}
		m.SetTsig(d.keyName, dns.HmacSHA256, 300, time.Now().Unix())
		_ = w.WriteMsg(m)
		return
	}
	for _, q := range r.Question {
		name := strings.ToLower(q.Name)
		switch q.Qtype {
		case dns.TypeA:
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 0}, A: net.IPv4(127, 0, 0, 1)})
		case dns.TypeTXT:
			if d.hide[name] {
				continue
			}
			for _, v := range d.txt[name] {
				m.Answer = append(m.Answer, &dns.TXT{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 0}, Txt: []string{v}})
			}
		}
	}
	_ = w.WriteMsg(m)
}

// records returns the TXT values published for name and the update counts.
func (d *testDNS) records(name string) (txt []string, updates, refused int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.txt[name]), d.updates, d.refused
}

func (d *testDNS) setHidden(name string, hidden bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.hide[name] = hidden
}

// pebble is a running Pebble on 127.0.0.1 that resolves through a testDNS
// and requires external account binding with one key.
type pebble struct {
	dir, addr, mgmt string
	httpPort        int
	tlsRootPEM      []byte // trusts Pebble's HTTPS (directory and management API)
	eabKID, eabKey  string
	cmd             *exec.Cmd
}

// startPebble runs Pebble validating http-01 on httpPort (0: a free port).
func startPebble(t *testing.T, d *testDNS, httpPort int) *pebble {
	t.Helper()
	if httpPort == 0 {
		httpPort = freePort(t)
	}
	p := &pebble{dir: t.TempDir(), addr: freeAddr(t), mgmt: freeAddr(t), httpPort: httpPort, eabKID: "signet-eab"}
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	p.eabKey = base64.RawURLEncoding.EncodeToString(k)
	// Pebble's HTTPS certificate, from a throwaway root the client trusts.
	rootKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rootTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pebble TLS root"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	rootDER, _ := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, rootKey.Public(), rootKey)
	root, _ := x509.ParseCertificate(rootDER)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	leafDER, _ := x509.CreateCertificate(rand.Reader, leafTmpl, root, leafKey.Public(), rootKey)
	leafKeyDER, _ := x509.MarshalECPrivateKey(leafKey)
	p.tlsRootPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rootDER})
	certPath, keyPath := filepath.Join(p.dir, "cert.pem"), filepath.Join(p.dir, "key.pem")
	_ = os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}), 0o600)
	_ = os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: leafKeyDER}), 0o600)
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress": p.addr, "managementListenAddress": p.mgmt, "certificate": certPath, "privateKey": keyPath,
		"httpPort": p.httpPort, "tlsPort": freePort(t), "externalAccountBindingRequired": true,
		"externalAccountMACKeys": map[string]string{p.eabKID: p.eabKey},
		"profiles":               map[string]any{"default": map[string]any{"description": "default", "validityPeriod": 7776000}},
	}}
	b, _ := json.Marshal(cfg)
	cfgPath := filepath.Join(p.dir, "pebble.json")
	_ = os.WriteFile(cfgPath, b, 0o600)
	logf, err := os.Create(filepath.Join(p.dir, "pebble.log"))
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(buildPebble(t), "-config", cfgPath, "-dnsserver", d.addr)
	p.cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0")
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
		_ = logf.Close()
		if t.Failed() {
			logs, _ := os.ReadFile(filepath.Join(p.dir, "pebble.log"))
			t.Logf("pebble log:\n%s", logs)
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := p.client().Get("https://" + p.addr + "/dir")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("pebble did not start: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (p *pebble) client() *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(p.tlsRootPEM)
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
}

// issuingRoot is the root Pebble chains its certificates to (management API).
func (p *pebble) issuingRoot(t *testing.T) *x509.Certificate {
	t.Helper()
	resp, err := p.client().Get("https://" + p.mgmt + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return parsePEMCert(t, string(b))
}

// certStatus asks Pebble's management API whether a certificate is revoked.
func (p *pebble) certStatus(t *testing.T, serialHex string) string {
	t.Helper()
	resp, err := p.client().Get("https://" + p.mgmt + "/cert-status-by-serial/" + serialHex)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var out struct {
		Status string `json:"Status"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("cert-status-by-serial (HTTP %d): %s", resp.StatusCode, b)
	}
	return out.Status
}

// connectorBody is the API body creating an ACME connector for Pebble,
// with EAB (this Pebble requires it) and the challenge's settings.
func (p *pebble) connectorBody(name, challenge string, d *testDNS) map[string]any {
	cfg := map[string]any{"directory_url": "https://" + p.addr + "/dir", "email": "pki@upstream.test", "challenge": challenge,
		"root_pem": string(p.tlsRootPEM), "eab_kid": p.eabKID}
	secrets := map[string]any{"eab_hmac_key": p.eabKey}
	if challenge == "http-01" {
		cfg["http01_listen"] = fmt.Sprintf("127.0.0.1:%d", p.httpPort)
	} else {
		cfg["dns_server"], cfg["dns_zone"], cfg["tsig_key_name"] = d.addr, "upstream.test", d.keyName
		secrets["tsig_secret"] = d.secret
	}
	return map[string]any{"name": name, "type": "acme", "config": cfg, "secrets": secrets}
}

// waitIssued polls a pending_upstream request until the upstream job
// completes it, and returns the request.
func (e *env) waitIssued(t *testing.T, id string, within time.Duration) map[string]any {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		r := e.Must(t, 200, "GET", "/api/v1/requests/"+id, admin, nil).Map(t)
		if r["status"] == "issued" {
			if r["reason"] != nil && r["reason"] != "" {
				t.Errorf("issued request keeps reason %v", r["reason"])
			}
			return r
		}
		if r["status"] != "pending_upstream" || time.Now().After(deadline) {
			t.Fatalf("request %s was not issued through the upstream job: %v", id, r)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// pickup fetches an issued certificate and its chain the usual way.
func (e *env) pickup(t *testing.T, serial string) (leafPEM, chainPEM string, cert map[string]any) {
	t.Helper()
	cert = e.Must(t, 200, "GET", "/api/v1/certificates/"+serial, admin, nil).Map(t)
	chain := e.Must(t, 200, "GET", "/api/v1/certificates/"+serial+"/download?format=chain", admin, nil)
	return cert["certificate_pem"].(string), string(chain.Body), cert
}

// verifyPebble checks that leaf chains to Pebble's issuing root with
// openssl and with crypto/x509 (for the DNS name).
func verifyPebble(t *testing.T, e *env, p *pebble, name, host, leafPEM, chainPEM string) {
	t.Helper()
	root := p.issuingRoot(t)
	rootFile := testutil.WriteFile(t, e.dir, name+"-pebble-root.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw}))
	leafFile := testutil.WriteFile(t, e.dir, name+".crt", []byte(leafPEM))
	chainFile := testutil.WriteFile(t, e.dir, name+"-chain.pem", []byte(chainPEM))
	if out := testutil.Openssl(t, e.dir, "verify", "-CAfile", rootFile, "-untrusted", chainFile, leafFile); !strings.Contains(out, ": OK") {
		t.Fatalf("openssl verify against Pebble's root: %s", out)
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(root)
	for _, c := range pemCerts(t, chainPEM) {
		inter.AddCert(c)
	}
	if _, err := parsePEMCert(t, leafPEM).Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: host}); err != nil {
		t.Fatalf("certificate does not chain to Pebble's root: %v", err)
	}
}

func connectorStats(t *testing.T, e *env, name string) map[string]any {
	t.Helper()
	return e.Must(t, 200, "GET", "/api/v1/connectors/"+name, admin, nil).Map(t)["stats"].(map[string]any)
}

// TestUpstreamACMEPebble issues through Pebble as the public CA stand-in:
// dns-01 by TSIG-signed RFC 2136 updates to a loopback DNS server, http-01
// answered by Signet, EAB (this Pebble requires it), asynchronous orders
// completed by the job, failures kept with the upstream's words and
// retried, renewal, and revocation sent to Pebble.
func TestUpstreamACMEPebble(t *testing.T) {
	d := startTestDNS(t)
	p := startPebble(t, d, 0)
	e := newEnv(t)
	e.upstreamTemplate(t, "up")

	t.Run("dns-01", func(t *testing.T) {
		// First with a TSIG key the DNS server does not know: the update is
		// refused and the request waits with the server's answer.
		body := p.connectorBody("pebble-dns", "dns-01", d)
		good := body["secrets"].(map[string]any)
		bad := map[string]any{"eab_hmac_key": good["eab_hmac_key"], "tsig_secret": base64.StdEncoding.EncodeToString([]byte("not the key the server has"))}
		body["secrets"] = bad
		c := e.Must(t, 201, "POST", "/api/v1/connectors", admin, body).Map(t)
		if !slices.Contains(anyStrings(c["secret_names"]), "account_key") {
			t.Errorf("no generated account key: %v", c)
		}
		e.Must(t, 201, "POST", "/api/v1/profiles", admin, map[string]any{"name": "pebble-dns", "template": "up",
			"issuer_type": "external", "connector": "pebble-dns"})
		host := "dns.upstream.test"
		_, csr := e.csr(t, "dns", "/CN="+host, "DNS:"+host, ecKey...)
		var got enrolled
		e.Must(t, 202, "POST", "/api/v1/certificates", admin, map[string]any{"profile": "pebble-dns", "csr": csr}).JSON(t, &got)
		if got.Request.Status != "pending_upstream" || !strings.Contains(got.Request.Reason, "NOTAUTH") {
			t.Fatalf("enroll with a wrong TSIG key: %+v", got.Request)
		}
		if _, _, refused := d.records(""); refused == 0 {
			t.Errorf("the DNS server refused no update")
		}
		if st := connectorStats(t, e, "pebble-dns"); st["failed"].(float64) < 1 || !strings.Contains(fmt.Sprint(st["last_error"]), "NOTAUTH") {
			t.Errorf("stats after the refusal: %v", st)
		}
		// The right key: the job retries and the request completes.
		e.Must(t, 200, "PATCH", "/api/v1/connectors/pebble-dns", admin, map[string]any{"secrets": good})
		req := e.waitIssued(t, got.Request.ID, 45*time.Second)
		leafPEM, chainPEM, _ := e.pickup(t, req["certificate_serial"].(string))
		verifyPebble(t, e, p, "dns", host, leafPEM, chainPEM)
		if txt, updates, _ := d.records("_acme-challenge." + host + "."); len(txt) != 0 || updates == 0 {
			t.Errorf("challenge records after issuance: %v (%d additions), want withdrawn", txt, updates)
		}

		// A record the CA cannot see fails validation: the request waits
		// with Pebble's words, and the retry places a new order.
		lost := "lost.upstream.test"
		d.setHidden("_acme-challenge."+lost+".", true)
		_, csrLost := e.csr(t, "lost", "/CN="+lost, "DNS:"+lost, ecKey...)
		var pend enrolled
		e.Must(t, 202, "POST", "/api/v1/certificates", admin, map[string]any{"profile": "pebble-dns", "csr": csrLost}).JSON(t, &pend)
		if pend.Request.Status != "pending_upstream" || !strings.Contains(pend.Request.Reason, "dns-01 validation of "+lost+" failed") {
			t.Fatalf("enroll while the record is invisible: %+v", pend.Request)
		}
		d.setHidden("_acme-challenge."+lost+".", false)
		e.waitIssued(t, pend.Request.ID, 45*time.Second)

		// Renewal completes within the call (the connector waits for
		// validation); revocation is sent to Pebble and followed locally.
		serial := req["certificate_serial"].(string)
		_, csr2 := e.csr(t, "dns-2", "/CN="+host, "DNS:"+host, ecKey...)
		var ren enrolled
		start := time.Now()
		e.Must(t, 201, "POST", "/api/v1/certificates/"+serial+"/renew", admin, map[string]any{"csr": csr2}).JSON(t, &ren)
		t.Logf("synchronous dns-01 renewal through Pebble: %v", time.Since(start).Round(time.Millisecond))
		if ren.Certificate == nil || ren.Certificate.RenewedFrom != serial {
			t.Fatalf("renew: %+v", ren)
		}
		verifyPebble(t, e, p, "dns-2", host, ren.Certificate.PEM, ren.Chain)
		revokeAtPebble(t, e, p, ren.Certificate.Serial)
		st := connectorStats(t, e, "pebble-dns")
		if st["issued"].(float64) != 3 || st["revoked"].(float64) != 1 || st["last_success"] == nil {
			t.Errorf("stats: %v", st)
		}
	})

	t.Run("http-01", func(t *testing.T) {
		// sync_wait_seconds 0: every order is left to the job at once.
		body := p.connectorBody("pebble-http", "http-01", d)
		body["config"].(map[string]any)["sync_wait_seconds"] = 0
		e.Must(t, 201, "POST", "/api/v1/connectors", admin, body)
		e.Must(t, 201, "POST", "/api/v1/profiles", admin, map[string]any{"name": "pebble-http", "template": "up",
			"issuer_type": "external", "connector": "pebble-http"})
		host := "http.upstream.test"
		_, csr := e.csr(t, "http", "/CN="+host, "DNS:"+host, ecKey...)
		var got enrolled
		e.Must(t, 202, "POST", "/api/v1/certificates", admin, map[string]any{"profile": "pebble-http", "csr": csr}).JSON(t, &got)
		if got.Request.Status != "pending_upstream" || got.Request.Reason != "" || got.Certificate != nil {
			t.Fatalf("enroll: %+v", got.Request)
		}
		start := time.Now()
		req := e.waitIssued(t, got.Request.ID, 45*time.Second)
		t.Logf("asynchronous http-01 order completed by the job %v after the 202", time.Since(start).Round(time.Millisecond))
		serial := req["certificate_serial"].(string)
		leafPEM, chainPEM, _ := e.pickup(t, serial)
		verifyPebble(t, e, p, "http", host, leafPEM, chainPEM)

		// Server-side keygen: the key is delivered with the pending answer,
		// the certificate for it later.
		var kg enrolled
		e.Must(t, 202, "POST", "/api/v1/certificates", admin, map[string]any{"profile": "pebble-http",
			"keygen": map[string]any{"algorithm": "ecdsa", "bits": 256}, "subject": map[string]any{"common_name": "kg.upstream.test"},
			"sans": []string{"kg.upstream.test"}}).JSON(t, &kg)
		if kg.Key == "" {
			t.Fatalf("keygen enroll delivered no key: %+v", kg.Request)
		}
		kgReq := e.waitIssued(t, kg.Request.ID, 45*time.Second)
		kgPEM, _, _ := e.pickup(t, kgReq["certificate_serial"].(string))
		kb, _ := pem.Decode([]byte(kg.Key))
		key, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
		if err != nil {
			key, err = x509.ParseECPrivateKey(kb.Bytes)
		}
		if err != nil || !publicEqual(t, key.(crypto.Signer).Public(), parsePEMCert(t, kgPEM).PublicKey) {
			t.Errorf("the certificate is not for the delivered key: %v", err)
		}

		_, csr2 := e.csr(t, "http-2", "/CN="+host, "DNS:"+host, ecKey...)
		var ren enrolled
		e.Must(t, 202, "POST", "/api/v1/certificates/"+serial+"/renew", admin, map[string]any{"csr": csr2}).JSON(t, &ren)
		renReq := e.waitIssued(t, ren.Request.ID, 45*time.Second)
		renSerial := renReq["certificate_serial"].(string)
		renPEM, renChain, renCert := e.pickup(t, renSerial)
		if renCert["renewed_from"] != serial {
			t.Errorf("renewed certificate: renewed_from %v, want %s", renCert["renewed_from"], serial)
		}
		verifyPebble(t, e, p, "http-2", host, renPEM, renChain)
		revokeAtPebble(t, e, p, renSerial)

		// The http-01 listener runs only while an order needs it.
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p.httpPort), time.Second); err == nil {
			_ = c.Close()
			t.Errorf("the http-01 listener is still bound after every order finished")
		}
		st := connectorStats(t, e, "pebble-http")
		if st["issued"].(float64) != 3 || st["pending"].(float64) < 3 || st["revoked"].(float64) != 1 {
			t.Errorf("stats: %v", st)
		}
	})

	t.Run("http-01 on Signet's listener", func(t *testing.T) {
		// Without http01_listen the answers are in the store and served at
		// /.well-known/acme-challenge/ on the main listener (any node can
		// answer): this Pebble validates on the test server's port.
		u, err := url.Parse(e.URL)
		if err != nil {
			t.Fatal(err)
		}
		port, _ := strconv.Atoi(u.Port())
		p2 := startPebble(t, d, port)
		body := p2.connectorBody("pebble-main", "http-01", d)
		delete(body["config"].(map[string]any), "http01_listen")
		e.Must(t, 201, "POST", "/api/v1/connectors", admin, body)
		e.Must(t, 201, "POST", "/api/v1/profiles", admin, map[string]any{"name": "pebble-main", "template": "up",
			"issuer_type": "external", "connector": "pebble-main"})
		host := "main.upstream.test"
		_, csr := e.csr(t, "main", "/CN="+host, "DNS:"+host, ecKey...)
		var got enrolled
		e.Must(t, 201, "POST", "/api/v1/certificates", admin, map[string]any{"profile": "pebble-main", "csr": csr}).JSON(t, &got)
		if got.Certificate == nil {
			t.Fatalf("enroll: %+v", got.Request)
		}
		verifyPebble(t, e, p2, "main", host, got.Certificate.PEM, got.Chain)
		// The answer is withdrawn with the order; unknown tokens are a 404 problem.
		if left, _, err := e.App.Store.ListProtocolObjects(context.Background(), "upstream.acme.http01", "", 10, ""); err != nil || len(left) != 0 {
			t.Errorf("http-01 answers left in the store: %d (%v)", len(left), err)
		}
		if r := e.Do(t, "GET", "/.well-known/acme-challenge/unknown-token", "", nil); r.Status != 404 || !strings.Contains(string(r.Body), "challenge_not_found") {
			t.Errorf("unknown token: %d %s", r.Status, r.Body)
		}
		revokeAtPebble(t, e, p2, got.Certificate.Serial)
	})

	t.Run("EAB required", func(t *testing.T) {
		body := p.connectorBody("pebble-noeab", "http-01", d)
		delete(body["config"].(map[string]any), "eab_kid")
		body["secrets"] = map[string]any{}
		e.Must(t, 201, "POST", "/api/v1/connectors", admin, body)
		e.Must(t, 201, "POST", "/api/v1/profiles", admin, map[string]any{"name": "pebble-noeab", "template": "up",
			"issuer_type": "external", "connector": "pebble-noeab"})
		_, csr := e.csr(t, "noeab", "/CN=noeab.upstream.test", "DNS:noeab.upstream.test", ecKey...)
		r := e.Must(t, 400, "POST", "/api/v1/certificates", admin, map[string]any{"profile": "pebble-noeab", "csr": csr}).Map(t)
		if r["code"] != "upstream_rejected" || !strings.Contains(fmt.Sprint(r["detail"]), "externalAccountBinding") {
			t.Errorf("enroll without EAB: %v", r)
		}
	})

	t.Run("invalid settings", func(t *testing.T) {
		cases := []struct {
			name  string
			edit  func(cfg, secrets map[string]any)
			field string
		}{
			{"plain http directory", func(c, _ map[string]any) { c["directory_url"] = "http://" + p.addr + "/dir" }, "config.directory_url"},
			{"unknown challenge", func(c, _ map[string]any) { c["challenge"] = "tls-alpn-01" }, "config.challenge"},
			{"no dns server", func(c, _ map[string]any) { delete(c, "dns_server") }, "config.dns_server"},
			{"no zone", func(c, _ map[string]any) { delete(c, "dns_zone") }, "config.dns_zone"},
			{"TSIG key not base64", func(_, s map[string]any) { s["tsig_secret"] = "not base64!" }, "secrets.tsig_secret"},
			{"TSIG algorithm", func(c, _ map[string]any) { c["tsig_algorithm"] = "hmac-md5" }, "config.tsig_algorithm"},
			{"EAB key missing", func(_, s map[string]any) { delete(s, "eab_hmac_key") }, "secrets.eab_hmac_key"},
			{"account key", func(_, s map[string]any) { s["account_key"] = "not a key" }, "secrets.account_key"},
			{"sync wait too long", func(c, _ map[string]any) { c["sync_wait_seconds"] = 600 }, "config.sync_wait_seconds"},
			{"sync wait not a number", func(c, _ map[string]any) { c["sync_wait_seconds"] = "soon" }, "config.sync_wait_seconds"},
			{"untrusted root", func(c, _ map[string]any) { c["root_pem"] = "junk" }, "config.root_pem"},
		}
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				body := p.connectorBody(fmt.Sprintf("bad-%d", i), "dns-01", d)
				c.edit(body["config"].(map[string]any), body["secrets"].(map[string]any))
				r := e.Must(t, 400, "POST", "/api/v1/connectors", admin, body)
				if !strings.Contains(string(r.Body), `"field":"`+c.field+`"`) {
					t.Errorf("want a violation of %s: %s", c.field, r.Body)
				}
			})
		}
		body := p.connectorBody("bad-http", "http-01", d)
		body["config"].(map[string]any)["http01_listen"] = "port 80"
		if r := e.Must(t, 400, "POST", "/api/v1/connectors", admin, body); !strings.Contains(string(r.Body), "config.http01_listen") {
			t.Errorf("bad http01_listen: %s", r.Body)
		}
	})

	// Every call is audited, and no secret is in the audit log.
	for _, want := range []string{"connector.create", "connector.update", "connector.issue", "connector.poll", "connector.revoke"} {
		if a := e.Must(t, 200, "GET", "/api/v1/audit-events?action="+want+"&limit=5", admin, nil); !strings.Contains(string(a.Body), want) {
			t.Errorf("audit lacks %s", want)
		}
	}
	audit := e.Must(t, 200, "GET", "/api/v1/audit-events?action=connector.&limit=200", admin, nil)
	for _, secret := range []string{d.secret, p.eabKey, "PRIVATE KEY"} {
		if strings.Contains(string(audit.Body), secret) {
			t.Errorf("the audit log holds a secret (%.12s...)", secret)
		}
	}
}

// revokeAtPebble revokes through Signet and checks Pebble's and Signet's status.
func revokeAtPebble(t *testing.T, e *env, p *pebble, serial string) {
	t.Helper()
	if s := p.certStatus(t, serial); s != "Valid" {
		t.Errorf("Pebble status before revoke = %q", s)
	}
	e.Must(t, 200, "POST", "/api/v1/certificates/"+serial+"/revoke", admin, map[string]any{"reason": "superseded"})
	if s := p.certStatus(t, serial); s != "Revoked" {
		t.Errorf("Pebble status after revoke = %q, want Revoked", s)
	}
	if m := e.Must(t, 200, "GET", "/api/v1/certificates/"+serial, admin, nil).Map(t); m["status"] != "revoked" {
		t.Errorf("local status after revoke: %v", m["status"])
	}
}
