package test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// The challenge servers ACME tests answer validations with, all on
// 127.0.0.1: Signet is configured to connect to their ports, to ask their
// resolver, and to pin *.test to 127.0.0.1.

// http01Server answers /.well-known/acme-challenge/{token}.
type http01Server struct {
	port      int
	responses sync.Map // token -> key authorization
}

func startHTTP01(t *testing.T) *http01Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &http01Server{port: ln.Addr().(*net.TCPAddr).Port}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.URL.Path, "/.well-known/acme-challenge/")
		v, found := s.responses.Load(token)
		if !ok || !found {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(v.(string)))
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// tlsALPNServer serves acme-tls/1 handshakes with the certificate set for the SNI.
type tlsALPNServer struct {
	port  int
	certs sync.Map // server name -> *tls.Certificate
}

func startTLSALPN(t *testing.T) *tlsALPNServer {
	t.Helper()
	s := &tlsALPNServer{}
	cfg := &tls.Config{NextProtos: []string{"acme-tls/1"}, GetCertificate: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
		if c, ok := s.certs.Load(h.ServerName); ok {
			return c.(*tls.Certificate), nil
		}
		return nil, errors.New("no challenge certificate for " + h.ServerName)
	}}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.port = ln.Addr().(*net.TCPAddr).Port
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
				_ = conn.(*tls.Conn).Handshake()
			}()
		}
	}()
	t.Cleanup(func() { _ = ln.Close() })
	return s
}

// dnsServer answers TXT queries over UDP from its records; every other
// question gets an empty authoritative answer. It uses x/net's DNS message
// codec, which the module already depends on.
type dnsServer struct {
	addr string
	mu   sync.Mutex
	txt  map[string][]string // lower-case name with trailing dot -> records
}

func startDNS(t *testing.T) *dnsServer {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &dnsServer{addr: pc.LocalAddr().String(), txt: map[string][]string{}}
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if resp := s.answer(buf[:n]); resp != nil {
				_, _ = pc.WriteTo(resp, from)
			}
		}
	}()
	t.Cleanup(func() { _ = pc.Close() })
	return s
}

func (s *dnsServer) setTXT(name string, records ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.txt[strings.ToLower(name)+"."] = records
}

func (s *dnsServer) answer(query []byte) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil
	}
	q, err := p.Question()
	if err != nil {
		return nil
	}
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired})
	b.EnableCompression()
	_ = b.StartQuestions()
	_ = b.Question(q)
	_ = b.StartAnswers()
	if q.Type == dnsmessage.TypeTXT {
		s.mu.Lock()
		records := s.txt[strings.ToLower(q.Name.String())]
		s.mu.Unlock()
		for _, r := range records {
			_ = b.TXTResource(dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeTXT, Class: dnsmessage.ClassINET, TTL: 1},
				dnsmessage.TXTResource{TXT: []string{r}})
		}
	}
	out, err := b.Finish()
	if err != nil {
		return nil
	}
	return out
}

// waitCtx is a bounded context for one ACME flow.
func waitCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}
