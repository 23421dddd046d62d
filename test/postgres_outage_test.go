package test

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/config"
	"github.com/signet-pki/signet/internal/store/postgres"
	"github.com/signet-pki/signet/internal/testutil"
)

// cutProxy forwards TCP to PostgreSQL until cut, then refuses and drops
// every connection until restored on the same address.
type cutProxy struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	p := &cutProxy{t: t, target: target}
	p.listen("127.0.0.1:0")
	t.Cleanup(p.cut)
	return p
}

func (p *cutProxy) listen(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
}

func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *cutProxy) restore() { p.listen(p.addr) }

// TestDatabaseOutage cuts the node's connection to PostgreSQL during
// enrollments: requests fail with 503 problem documents (no certificate
// that was not recorded), and service resumes by itself when the database
// is reachable again.
func TestDatabaseOutage(t *testing.T) {
	direct := postgres.NewTestDatabase(t)
	host := direct[strings.Index(direct, "@")+1:]
	host = host[:strings.Index(host, "/")]
	proxy := newCutProxy(t, host)
	viaProxy := strings.Replace(direct, host, proxy.addr, 1)
	e := &env{Server: testutil.StartServerWith(t, func(c *config.Config) { c.Database = viaProxy }), dir: t.TempDir(),
		principals: map[string]string{}}
	serial, _ := e.issue(t, admin, "before")

	proxy.cut()
	body := map[string]any{"profile": "tls-server", "keygen": map[string]any{"algorithm": "ecdsa", "bits": 256}, "sans": []string{"during.example.com"}}
	for i := range 5 {
		r := e.Do(t, "POST", "/api/v1/certificates", admin, body)
		if r.Status != 503 || r.Header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("enrollment %d during the outage: status %d %s", i, r.Status, r.Body)
		}
		if strings.Contains(string(r.Body), "BEGIN CERTIFICATE") {
			t.Fatal("a certificate was returned while the database was unreachable")
		}
	}
	if r := e.Do(t, "GET", "/readyz", "", nil); r.Status != 503 {
		t.Fatalf("readyz during the outage: %d", r.Status)
	}

	proxy.restore()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := e.Do(t, "POST", "/api/v1/certificates", admin, body)
		if r.Status == 201 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("service did not resume after the database came back: %d %s", r.Status, r.Body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	e.Must(t, 200, "GET", "/api/v1/certificates/"+serial, admin, nil)
	if n := e.Must(t, 200, "GET", "/api/v1/certificates?q=during.example.com&total=true", admin, nil).Map(t)["total"].(float64); n != 1 {
		t.Fatalf("%v certificates for during.example.com, want exactly the one issued after recovery", n)
	}
	if v := e.Must(t, 200, "GET", "/api/v1/audit-events/verify", admin, nil).Map(t); v["ok"] != true {
		t.Fatalf("audit chain after the outage: %v", v)
	}
}
