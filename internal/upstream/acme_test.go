package upstream

import (
	"context"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/signet-pki/signet/internal/problem"
)

func TestACMERef(t *testing.T) {
	r := acmeRef{Order: "https://ca.test/order/1", CSR: []byte{0x30, 0x82, 0x01}}
	got, err := parseACMERef(r.String())
	if err != nil || got.Order != r.Order || string(got.CSR) != string(r.CSR) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for _, bad := range []string{"", "https://ca.test/order/1", "https://ca.test/order/1#", "http://ca.test/o#MIIB", "https://ca.test/o#!!"} {
		if _, err := parseACMERef(bad); err == nil {
			t.Errorf("parseACMERef(%q) accepted", bad)
		}
	}
}

func TestDNS01Name(t *testing.T) {
	for in, want := range map[string]string{
		"www.example.com":   "_acme-challenge.www.example.com.",
		"www.example.com.":  "_acme-challenge.www.example.com.",
		"*.example.com":     "_acme-challenge.example.com.",
		"example.com":       "_acme-challenge.example.com.",
		"a.b.c.example.org": "_acme-challenge.a.b.c.example.org.",
	} {
		if got := dns01Name(in); got != want {
			t.Errorf("dns01Name(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestHTTP01Pool: an answer is served while published; the listener goes
// away with the last answer, or when the answer expires.
func TestHTTP01Pool(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	p := newHTTP01Pool()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := (&http.Client{Timeout: 2 * time.Second}).Get("http://" + addr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	const a, b = "/.well-known/acme-challenge/tokA", "/.well-known/acme-challenge/tokB"
	if err := p.publish(addr, a, "tokA.thumb", time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := p.publish(addr, b, "tokB.thumb", 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if code, body := get(a); code != 200 || body != "tokA.thumb" {
		t.Errorf("GET %s = %d %q", a, code, body)
	}
	if code, _ := get("/.well-known/acme-challenge/other"); code != 404 {
		t.Errorf("unknown token = %d, want 404", code)
	}
	// Publishing again extends the answer's life past its first TTL.
	time.Sleep(100 * time.Millisecond)
	if err := p.publish(addr, b, "tokB.thumb", 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if code, _ := get(b); code != 200 {
		t.Errorf("republished answer = %d, want 200", code)
	}
	time.Sleep(300 * time.Millisecond)
	if code, _ := get(b); code != 404 {
		t.Errorf("expired answer = %d, want 404", code)
	}
	p.withdraw(addr, a)
	if code, msg := get(a); code != 0 {
		t.Errorf("listener still answers after the last answer was withdrawn: %d %s", code, msg)
	}
	p.withdraw(addr, a) // withdrawing twice is harmless
}

// tsigServer accepts RFC 2136 updates signed with one key and records the TXT values.
type tsigServer struct {
	addr string
	mu   sync.Mutex
	txt  map[string][]string
}

func startTSIGServer(t *testing.T, keyName, secret string) *tsigServer {
	t.Helper()
	s := &tsigServer{txt: map[string][]string{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	srv := &dns.Server{Listener: ln, TsigSecret: map[string]string{keyName: secret},
		MsgAcceptFunc: func(dns.Header) dns.MsgAcceptAction { return dns.MsgAccept },
		Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
			m := new(dns.Msg)
			m.SetReply(r)
			if r.IsTsig() == nil || w.TsigStatus() != nil {
				m.Rcode = dns.RcodeNotAuth
				_ = w.WriteMsg(m)
				return
			}
			s.mu.Lock()
			for _, rr := range r.Ns {
				if txt, ok := rr.(*dns.TXT); ok {
					if txt.Hdr.Class == dns.ClassNONE {
						delete(s.txt, txt.Hdr.Name)
					} else {
						s.txt[txt.Hdr.Name] = append(s.txt[txt.Hdr.Name], txt.Txt...)
					}
				}
			}
			s.mu.Unlock()
			m.SetTsig(keyName, dns.HmacSHA256, 300, time.Now().Unix())
			_ = w.WriteMsg(m)
		})}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return s
}

func TestRFC2136Update(t *testing.T) {
	key := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	srv := startTSIGServer(t, "acme-key.", key)
	cases := []struct {
		name, fqdn, secret string
		wantErr            string // "" = success
		rejected           bool
	}{
		{"signed update", "_acme-challenge.www.example.com.", key, "", false},
		{"wrong key", "_acme-challenge.www.example.com.", base64.StdEncoding.EncodeToString([]byte("wrong")), "NOTAUTH", false},
		{"outside the zone", "_acme-challenge.www.example.org.", key, "not in the dns-01 zone", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := newRFC2136(map[string]any{"dns_server": srv.addr, "dns_zone": "Example.com", "tsig_key_name": "acme-key"},
				map[string]string{"tsig_secret": c.secret})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err = r.update(ctx, c.fqdn, "value-1", true)
			if c.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				srv.mu.Lock()
				got := srv.txt[c.fqdn]
				srv.mu.Unlock()
				if len(got) != 1 || got[0] != "value-1" {
					t.Fatalf("server holds %v", got)
				}
				if err := r.update(ctx, c.fqdn, "value-1", false); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) || IsRejected(err) != c.rejected {
				t.Errorf("err = %v (rejected %v), want %q (rejected %v)", err, IsRejected(err), c.wantErr, c.rejected)
			}
		})
	}
	if _, err := newRFC2136(map[string]any{"dns_server": "ns1", "tsig_key_name": "k", "tsig_algorithm": "hmac-md5"},
		map[string]string{"tsig_secret": "%%"}); err == nil || problem.As(err) == nil || len(problem.As(err).Violations) != 4 {
		t.Errorf("want four violations (server, zone, algorithm, secret): %v", err)
	}
}
