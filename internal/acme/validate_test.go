package acme

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

func TestACMEPins(t *testing.T) {
	pins, err := parsePins([]string{"*.test=127.0.0.1", " exact.example = ::1 ", "*=10.0.0.9"})
	if err != nil {
		t.Fatal(err)
	}
	v := &validator{pins: pins}
	cases := []struct{ name, want string }{
		{"a.test", "127.0.0.1"},
		{"deep.a.test", "127.0.0.1"},
		{"A.TEST.", "127.0.0.1"},
		{"exact.example", "::1"},
		{"other.example", "10.0.0.9"},
		{"192.0.2.7", "192.0.2.7"}, // an IP address is its own address
	}
	for _, tc := range cases {
		addrs, fail := v.addresses(context.Background(), tc.name)
		if fail != nil || len(addrs) != 1 || addrs[0].String() != tc.want {
			t.Errorf("%s: %v %v, want %s", tc.name, addrs, fail, tc.want)
		}
	}
	for _, bad := range []string{"nothing", "x=", "=1.2.3.4", "a.test=not-an-ip"} {
		if _, err := parsePins([]string{bad}); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}

func TestACMEHTTP01(t *testing.T) {
	const token, keyAuth = "tok", "tok.thumb"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/acme-challenge/" + token:
			switch r.Host {
			case "ok.test:" + port(r):
				_, _ = w.Write([]byte(keyAuth))
			case "ws.test:" + port(r):
				_, _ = w.Write([]byte(keyAuth + " \r\n"))
			case "wrong.test:" + port(r):
				_, _ = w.Write([]byte("tok.other"))
			case "big.test:" + port(r):
				_, _ = w.Write([]byte(keyAuth + strings.Repeat(" ", 2000)))
			case "redirect.test:" + port(r):
				http.Redirect(w, r, "/final", http.StatusFound)
			case "elsewhere.test:" + port(r):
				http.Redirect(w, r, "http://127.0.0.1:1/admin", http.StatusFound)
			case "secret.test:" + port(r):
				_, _ = w.Write([]byte("internal secret: hunter2"))
			default:
				http.NotFound(w, r)
			}
		case "/final":
			_, _ = w.Write([]byte(keyAuth))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	p, _ := strconv.Atoi(srv.URL[strings.LastIndex(srv.URL, ":")+1:])
	closed := freeLoopbackPort(t)
	pins, _ := parsePins([]string{"*.test=127.0.0.1"})
	v := &validator{httpPort: p, pins: pins, resolver: net.DefaultResolver}
	cases := []struct {
		name string
		id   identifier
		port int
		want string // "" = valid
	}{
		{"answers", identifier{"dns", "ok.test"}, p, ""},
		{"trailing white space", identifier{"dns", "ws.test"}, p, ""},
		{"redirected", identifier{"dns", "redirect.test"}, p, ""},
		{"IP identifier", identifier{"ip", "127.0.0.1"}, p, errIncorrectResponse}, // the server answers 404 for that host
		{"wrong key authorization", identifier{"dns", "wrong.test"}, p, errIncorrectResponse},
		{"too long", identifier{"dns", "big.test"}, p, errIncorrectResponse},
		{"redirect to another port", identifier{"dns", "elsewhere.test"}, p, errConnection},
		{"something else", identifier{"dns", "secret.test"}, p, errIncorrectResponse},
		{"404", identifier{"dns", "missing.test"}, p, errIncorrectResponse},
		{"nobody listening", identifier{"dns", "ok.test"}, closed, errConnection},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v.httpPort = tc.port
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			got := v.http01(ctx, tc.id, token, keyAuth)
			if (got == nil) != (tc.want == "") || (got != nil && got.Type != tc.want) {
				t.Fatalf("want %q, got %v", tc.want, got)
			}
			if got != nil && strings.Contains(got.Detail, "hunter2") {
				t.Fatalf("the detail relays what the server answered: %s", got.Detail)
			}
		})
	}
}

func port(r *http.Request) string { return r.Host[strings.LastIndex(r.Host, ":")+1:] }

func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// txtServer answers TXT queries for _acme-challenge.ok.test. with records.
func txtServer(t *testing.T, records ...string) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			var p dnsmessage.Parser
			h, err := p.Start(buf[:n])
			if err != nil {
				continue
			}
			q, err := p.Question()
			if err != nil {
				continue
			}
			rcode := dnsmessage.RCodeSuccess
			if q.Name.String() != "_acme-challenge.ok.test." {
				rcode = dnsmessage.RCodeNameError
			}
			b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RCode: rcode})
			_ = b.StartQuestions()
			_ = b.Question(q)
			_ = b.StartAnswers()
			for _, r := range records {
				if rcode == dnsmessage.RCodeSuccess && q.Type == dnsmessage.TypeTXT {
					_ = b.TXTResource(dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeTXT, Class: dnsmessage.ClassINET},
						dnsmessage.TXTResource{TXT: []string{r}})
				}
			}
			out, _ := b.Finish()
			_, _ = pc.WriteTo(out, from)
		}
	}()
	return pc.LocalAddr().String()
}

func TestACMEDNS01(t *testing.T) {
	const keyAuth = "tok.thumb"
	sum := sha256.Sum256([]byte(keyAuth))
	digest := b64.EncodeToString(sum[:])
	cases := []struct {
		name    string
		domain  string
		records []string
		want    string
	}{
		{"one record", "ok.test", []string{digest}, ""},
		{"among others", "ok.test", []string{"unrelated", digest}, ""},
		{"wrong digest", "ok.test", []string{"AAAA"}, errIncorrectResponse},
		{"no record", "ok.test", nil, errDNS},
		{"no such name", "other.test", []string{digest}, errDNS},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := newValidator(Config{DNSResolver: txtServer(t, tc.records...)})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			got := v.dns01(ctx, tc.domain, keyAuth)
			if (got == nil) != (tc.want == "") || (got != nil && got.Type != tc.want) {
				t.Fatalf("want %q, got %v", tc.want, got)
			}
		})
	}
}

func TestACMEALPNCertificate(t *testing.T) {
	const keyAuth = "tok.thumb"
	sum := sha256.Sum256([]byte(keyAuth))
	good, _ := asn1.Marshal(sum[:])
	other, _ := asn1.Marshal(make([]byte, 32))
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cert := func(names []string, ips []net.IP, ext *pkix.Extension) *x509.Certificate {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), DNSNames: names, IPAddresses: ips,
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
		if ext != nil {
			tmpl.ExtraExtensions = []pkix.Extension{*ext}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		return c
	}
	ext := &pkix.Extension{Id: idPeACMEIdentifier, Critical: true, Value: good}
	cases := []struct {
		name string
		cert *x509.Certificate
		id   identifier
		ok   bool
	}{
		{"valid", cert([]string{"a.test"}, nil, ext), identifier{"dns", "a.test"}, true},
		{"valid IP", cert(nil, []net.IP{net.ParseIP("192.0.2.1")}, ext), identifier{"ip", "192.0.2.1"}, true},
		{"other name", cert([]string{"b.test"}, nil, ext), identifier{"dns", "a.test"}, false},
		{"extra name", cert([]string{"a.test", "b.test"}, nil, ext), identifier{"dns", "a.test"}, false},
		{"no extension", cert([]string{"a.test"}, nil, nil), identifier{"dns", "a.test"}, false},
		{"not critical", cert([]string{"a.test"}, nil, &pkix.Extension{Id: idPeACMEIdentifier, Value: good}), identifier{"dns", "a.test"}, false},
		{"wrong digest", cert([]string{"a.test"}, nil, &pkix.Extension{Id: idPeACMEIdentifier, Critical: true, Value: other}), identifier{"dns", "a.test"}, false},
		{"not an OCTET STRING", cert([]string{"a.test"}, nil, &pkix.Extension{Id: idPeACMEIdentifier, Critical: true, Value: []byte{5, 0}}), identifier{"dns", "a.test"}, false},
	}
	for _, tc := range cases {
		if got := checkALPNCertificate(tc.cert, tc.id, keyAuth); (got == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, got)
		}
	}
}

func TestACMEReverseName(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":          "1.2.0.192.in-addr.arpa",
		"2001:db8::567:89ab": "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
	} {
		if got := reverseName(mustAddr(t, in)); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}
