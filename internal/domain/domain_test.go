package domain

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/notify"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
	"github.com/signet-pki/signet/internal/store/sqlite"
)

// dnsServer is a tiny authoritative DNS server on 127.0.0.1 answering
// TXT, CNAME and A records from maps the test fills.
type dnsServer struct {
	addr  string
	mu    sync.Mutex
	txt   map[string][]string
	cname map[string]string
	a     map[string]net.IP
}

func startDNS(t *testing.T) *dnsServer {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &dnsServer{addr: pc.LocalAddr().String(), txt: map[string][]string{}, cname: map[string]string{}, a: map[string]net.IP{}}
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

func (s *dnsServer) set(fn func(s *dnsServer)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s)
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
	name := strings.ToLower(q.Name.String())
	s.mu.Lock()
	txt, cname, ip := s.txt[name], s.cname[name], s.a[name]
	s.mu.Unlock()
	rcode := dnsmessage.RCodeSuccess
	if txt == nil && cname == "" && ip == nil {
		rcode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired, RCode: rcode})
	_ = b.StartQuestions()
	_ = b.Question(q)
	_ = b.StartAnswers()
	hdr := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 1}
	switch {
	case cname != "":
		hdr.Type = dnsmessage.TypeCNAME
		_ = b.CNAMEResource(hdr, dnsmessage.CNAMEResource{CNAME: dnsmessage.MustNewName(cname)})
	case q.Type == dnsmessage.TypeTXT:
		for _, r := range txt {
			hdr.Type = dnsmessage.TypeTXT
			_ = b.TXTResource(hdr, dnsmessage.TXTResource{TXT: []string{r}})
		}
	case q.Type == dnsmessage.TypeA && ip != nil:
		hdr.Type = dnsmessage.TypeA
		_ = b.AResource(hdr, dnsmessage.AResource{A: [4]byte(ip.To4())})
	}
	out, err := b.Finish()
	if err != nil {
		return nil
	}
	return out
}

// fileServer serves /.well-known/pki-validation/ files the test sets.
type fileServer struct {
	mu    sync.Mutex
	files map[string]string
}

func (f *fileServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	body, ok := f.files[r.URL.Path]
	f.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	_, _ = w.Write([]byte(body))
}

func (f *fileServer) put(path, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.files[path] = body
}

// smtpSink accepts mail on 127.0.0.1 and keeps the DATA of each message.
type smtpSink struct {
	addr string
	mu   sync.Mutex
	msgs []string
}

func startSMTPSink(t *testing.T) *smtpSink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpSink{addr: ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	t.Cleanup(func() { _ = ln.Close() })
	return s
}

func (s *smtpSink) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	write := func(line string) { _, _ = c.Write([]byte(line + "\r\n")) }
	write("220 sink")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			write("250 sink")
		case strings.HasPrefix(cmd, "DATA"):
			write("354 go on")
			var msg strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				msg.WriteString(l)
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, msg.String())
			s.mu.Unlock()
			write("250 queued")
		case strings.HasPrefix(cmd, "QUIT"):
			write("221 bye")
			return
		default:
			write("250 ok")
		}
	}
}

func (s *smtpSink) messages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.msgs...)
}

// clock is a test clock the expiry tests move.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	svc   *Service
	dns   *dnsServer
	files *fileServer
	sink  *smtpSink
	clock *clock
	ctx   context.Context
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	clk := &clock{t: time.Now().UTC()}
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "signet.db"), sqlite.Options{Clock: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	e := &env{dns: startDNS(t), files: &fileServer{files: map[string]string{}}, sink: startSMTPSink(t), clock: clk}
	plain := httptest.NewServer(e.files)
	t.Cleanup(plain.Close)
	tlsSrv := httptest.NewTLSServer(e.files)
	t.Cleanup(tlsSrv.Close)
	host, port, _ := net.SplitHostPort(e.sink.addr)
	mailer := notify.New(st, notify.Config{Now: clk.now, SMTP: notify.SMTPConfig{Host: host, Port: atoi(port), From: "signet@example.com"}})
	e.svc, err = New(st, mailer, Config{Resolver: e.dns.addr, HTTPPort: portOf(plain.URL), HTTPSPort: portOf(tlsSrv.URL),
		CheckTimeout: 5 * time.Second, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	e.ctx = auth.WithPrincipal(ctx, &auth.Principal{ID: "usr_mgr", Name: "mgr", Kind: "user", OrgID: store.DefaultOrgID, Roles: []string{auth.RoleManager}})
	return e
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

func portOf(u string) int {
	_, p, _ := net.SplitHostPort(strings.TrimPrefix(strings.TrimPrefix(u, "http://"), "https://"))
	return atoi(p)
}

// register creates an approved domain that resolves to 127.0.0.1.
func (e *env) register(t *testing.T, name string) *Domain {
	t.Helper()
	d, err := e.svc.Create(e.ctx, CreateInput{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	e.dns.set(func(s *dnsServer) { s.a[name+"."] = net.IPv4(127, 0, 0, 1) })
	return d
}

// publish makes the challenge visible (right: the expected value; else a wrong one).
func (e *env) publish(t *testing.T, d *Domain, c *Challenge, right bool) {
	t.Helper()
	value := c.Point
	if c.FirstLine != "" {
		value = c.FirstLine
	}
	if !right {
		value = strings.Repeat("0", len(value))
		if c.Method == MethodCNAME {
			value = "wrong." + cnameSuffix
		}
	}
	switch c.Method {
	case MethodHTTP, MethodHTTPS:
		path := c.URL[strings.Index(c.URL, "/.well-known"):]
		e.files.put(path, value+"\n"+c.SecondLine+"\n")
	case MethodTXT:
		e.dns.set(func(s *dnsServer) { s.txt[strings.ToLower(c.Host)] = []string{value} })
	case MethodCNAME:
		e.dns.set(func(s *dnsServer) { s.cname[strings.ToLower(c.Host)] = value })
	}
}

func TestValidationByMethod(t *testing.T) {
	for _, method := range []string{MethodHTTP, MethodHTTPS, MethodTXT, MethodCNAME} {
		for _, tc := range []struct {
			name    string
			publish bool
			right   bool
			want    string
			errLike string
		}{
			{"success", true, true, Validated, ""},
			{"wrong token", true, false, NotValidated, "not|holds|points"},
			{"missing record", false, false, NotValidated, "no such record|HTTP 404"},
		} {
			t.Run(method+"/"+tc.name, func(t *testing.T) {
				e := newEnv(t)
				d := e.register(t, "example.test")
				var c *Challenge
				var err error
				if method == MethodTXT {
					// TXT needs no start (as in Sectigo): submit gives the record.
					d, err = e.svc.Submit(e.ctx, d.ID, method, "")
					if err != nil {
						t.Fatal(err)
					}
					c = ChallengeOf(d)
				} else if _, c, err = e.svc.Start(e.ctx, d.ID, method); err != nil {
					t.Fatal(err)
				}
				if tc.publish {
					e.publish(t, d, c, tc.right)
				}
				d, err = e.svc.Submit(e.ctx, d.ID, method, "")
				if err != nil {
					t.Fatal(err)
				}
				if got := d.ValidationStatus(e.clock.now()); got != tc.want {
					t.Fatalf("status %s, want %s (order %+v)", got, tc.want, d.Order)
				}
				if tc.errLike != "" && !regexp.MustCompile(tc.errLike).MatchString(d.Order.LastError) {
					t.Fatalf("last error %q, want /%s/", d.Order.LastError, tc.errLike)
				}
				err = e.svc.CheckNames(e.ctx, store.DefaultOrgID, []string{"www.example.test"})
				if (err == nil) != (tc.want == Validated) {
					t.Fatalf("CheckNames after %s: %v", tc.name, err)
				}
			})
		}
		t.Run(method+"/expired validation", func(t *testing.T) {
			e := newEnv(t)
			d := e.register(t, "example.test")
			_, c, err := e.svc.Start(e.ctx, d.ID, method)
			if err != nil {
				t.Fatal(err)
			}
			e.publish(t, d, c, true)
			if d, err = e.svc.Submit(e.ctx, d.ID, method, ""); err != nil || d.ValidationStatus(e.clock.now()) != Validated {
				t.Fatalf("submit: %v %+v", err, d)
			}
			e.clock.add(399 * 24 * time.Hour)
			if d, _ = e.svc.Get(e.ctx, d.ID); d.ValidationStatus(e.clock.now()) != Expired {
				t.Fatalf("status %s after 399 days, want expired", d.ValidationStatus(e.clock.now()))
			}
			if err := e.svc.CheckNames(e.ctx, store.DefaultOrgID, []string{"example.test"}); !problem.Is(err, "domain_not_validated") {
				t.Fatalf("CheckNames on an expired validation: %v", err)
			}
		})
	}
}

func TestOrderExpires(t *testing.T) {
	e := newEnv(t)
	d := e.register(t, "example.test")
	_, c, err := e.svc.Start(e.ctx, d.ID, MethodHTTP)
	if err != nil {
		t.Fatal(err)
	}
	e.publish(t, d, c, true)
	e.clock.add(31 * 24 * time.Hour)
	if _, err := e.svc.Submit(e.ctx, d.ID, MethodHTTP, ""); !problem.Is(err, "dcv_not_started") {
		t.Fatalf("submit of an expired order: %v", err)
	}
}

var codeRE = regexp.MustCompile(`(?m)^\s+([0-9a-f]{32})\r?$`)

func TestEmailValidation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		email  string
		code   func(real string) string
		age    time.Duration
		want   string
		errIs  string
		mailed bool
	}{
		{"success", "admin@example.test", func(c string) string { return c }, 0, Validated, "", true},
		{"wrong token", "hostmaster@example.test", func(string) string { return strings.Repeat("ab", 16) }, 0, NotValidated, "dcv_code_invalid", true},
		{"missing record (not a constructed address)", "someone@elsewhere.test", nil, 0, NotValidated, "dcv_email_invalid", false},
		{"expired validation", "webmaster@example.test", func(c string) string { return c }, 31 * 24 * time.Hour, NotValidated, "dcv_code_invalid", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			d := e.register(t, "example.test")
			_, c, err := e.svc.Start(e.ctx, d.ID, MethodEmail)
			if err != nil || len(c.Emails) != 5 {
				t.Fatalf("start: %v %+v", err, c)
			}
			_, err = e.svc.Submit(e.ctx, d.ID, MethodEmail, tc.email)
			if !tc.mailed {
				if !problem.Is(err, tc.errIs) || len(e.sink.messages()) != 0 {
					t.Fatalf("submit to %s: %v, %d mail(s)", tc.email, err, len(e.sink.messages()))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			msgs := e.sink.messages()
			if len(msgs) != 1 || !strings.Contains(msgs[0], "To: "+tc.email) {
				t.Fatalf("mails: %q", msgs)
			}
			m := codeRE.FindStringSubmatch(msgs[0])
			if m == nil {
				t.Fatalf("no code in %q", msgs[0])
			}
			e.clock.add(tc.age)
			_, err = e.svc.ConfirmEmail(context.Background(), tc.code(m[1]))
			if tc.errIs != "" && !problem.Is(err, tc.errIs) {
				t.Fatalf("confirm: %v, want %s", err, tc.errIs)
			}
			if tc.errIs == "" && err != nil {
				t.Fatal(err)
			}
			d, _ = e.svc.Get(e.ctx, d.ID)
			if got := d.ValidationStatus(e.clock.now()); got != tc.want {
				t.Fatalf("status %s, want %s", got, tc.want)
			}
			if tc.want == Validated {
				// A code works once.
				if _, err := e.svc.ConfirmEmail(context.Background(), m[1]); !problem.Is(err, "dcv_code_invalid") {
					t.Fatalf("second confirm: %v", err)
				}
			}
		})
	}
}

func TestCheckNamesScope(t *testing.T) {
	e := newEnv(t)
	d := e.register(t, "example.test")
	_, c, _ := e.svc.Start(e.ctx, d.ID, MethodTXT)
	e.publish(t, d, c, true)
	if d, _ = e.svc.Submit(e.ctx, d.ID, MethodTXT, ""); d.ValidationStatus(e.clock.now()) != Validated {
		t.Fatalf("not validated: %+v", d.Order)
	}
	for _, tc := range []struct {
		names []string
		org   string
		ok    bool
	}{
		{[]string{"example.test"}, store.DefaultOrgID, true},
		{[]string{"a.b.example.test", "*.example.test"}, store.DefaultOrgID, true},
		{[]string{"example.test", "evil.test"}, store.DefaultOrgID, false},
		{[]string{"notexample.test"}, store.DefaultOrgID, false},
		{[]string{"example.test"}, "org_other", false},
	} {
		err := e.svc.CheckNames(e.ctx, tc.org, tc.names)
		if (err == nil) != tc.ok {
			t.Errorf("CheckNames(%s, %v) = %v, want ok=%v", tc.org, tc.names, err, tc.ok)
		}
		if err != nil {
			pe := problem.As(err)
			if pe == nil || len(pe.Violations) == 0 || !strings.HasPrefix(pe.Violations[0].Field, "sans.dns[") {
				t.Errorf("not a field-level problem: %#v", err)
			}
		}
	}
	// Suspending the domain withdraws it.
	if _, err := e.svc.SetState(e.ctx, d.ID, false); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.CheckNames(e.ctx, store.DefaultOrgID, []string{"example.test"}); err == nil {
		t.Fatal("a suspended domain still certifies")
	}
}

func TestApprovalStep(t *testing.T) {
	e := newEnv(t)
	req := auth.WithPrincipal(e.ctx, &auth.Principal{ID: "usr_req", Name: "req", Kind: "user", OrgID: store.DefaultOrgID, Roles: []string{auth.RoleRequester}})
	d, err := e.svc.Create(req, CreateInput{Name: "Requested.Example."})
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != StatusRequested || d.Name != "requested.example" {
		t.Fatalf("requester's domain: %+v", d)
	}
	if _, err := e.svc.Approve(req, d.ID); problem.KindOf(err) != problem.KindForbidden {
		t.Fatalf("requester approving: %v", err)
	}
	if d, err = e.svc.Approve(e.ctx, d.ID); err != nil || d.Status != StatusApproved {
		t.Fatalf("approve: %v %+v", err, d)
	}
	if _, err := e.svc.Approve(e.ctx, d.ID); !problem.Is(err, "domain_not_requested") {
		t.Fatalf("second approve: %v", err)
	}
	if _, err := e.svc.Create(e.ctx, CreateInput{Name: "requested.example"}); !problem.Is(err, "domain_exists") {
		t.Fatalf("duplicate: %v", err)
	}
	for _, bad := range []string{"nodot", "-a.example", "a..b", "sp ace.example", strings.Repeat("a", 64) + ".example"} {
		if _, err := e.svc.Create(e.ctx, CreateInput{Name: bad}); !problem.Is(err, "domain_name_invalid") {
			t.Errorf("create %q: %v", bad, err)
		}
	}
}
