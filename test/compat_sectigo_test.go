package test

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/signet-pki/signet/internal/testutil"
)

// sectigoZoneDNS answers from a directory the acceptance script writes:
// <name>.TXT and <name>.CNAME files hold the records; every name under
// .test has the address 127.0.0.1 (where the script's web root is served).
func sectigoZoneDNS(t *testing.T, dir string) string {
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
			if resp := sectigoAnswer(dir, buf[:n]); resp != nil {
				_, _ = pc.WriteTo(resp, from)
			}
		}
	}()
	return pc.LocalAddr().String()
}

func sectigoAnswer(dir string, query []byte) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil
	}
	q, err := p.Question()
	if err != nil {
		return nil
	}
	name := strings.TrimSuffix(strings.ToLower(q.Name.String()), ".")
	read := func(kind string) []string {
		b, err := os.ReadFile(filepath.Join(dir, filepath.Base(name)+"."+kind))
		if err != nil {
			return nil
		}
		return strings.Fields(string(b))
	}
	txt, cname := read("TXT"), read("CNAME")
	isTest := strings.HasSuffix(name, ".test")
	rcode := dnsmessage.RCodeSuccess
	if !isTest && txt == nil && cname == nil {
		rcode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired, RCode: rcode})
	_ = b.StartQuestions()
	_ = b.Question(q)
	_ = b.StartAnswers()
	hdr := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 1}
	switch {
	case len(cname) > 0:
		if target, err := dnsmessage.NewName(cname[0]); err == nil {
			hdr.Type = dnsmessage.TypeCNAME
			_ = b.CNAMEResource(hdr, dnsmessage.CNAMEResource{CNAME: target})
		}
	case q.Type == dnsmessage.TypeTXT:
		hdr.Type = dnsmessage.TypeTXT
		for _, r := range txt {
			_ = b.TXTResource(hdr, dnsmessage.TXTResource{TXT: []string{r}})
		}
	case q.Type == dnsmessage.TypeA && isTest && !strings.HasPrefix(name, "_"):
		hdr.Type = dnsmessage.TypeA
		_ = b.AResource(hdr, dnsmessage.AResource{A: [4]byte{127, 0, 0, 1}})
	}
	out, err := b.Finish()
	if err != nil {
		return nil
	}
	return out
}

// sectigoMailSink is an SMTP server on 127.0.0.1 writing each message to a file of dir.
func sectigoMailSink(t *testing.T, dir string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	var n atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				r := bufio.NewReader(c)
				say := func(s string) { _, _ = fmt.Fprintf(c, "%s\r\n", s) }
				say("220 sink")
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					switch cmd := strings.ToUpper(strings.TrimSpace(line)); {
					case strings.HasPrefix(cmd, "DATA"):
						say("354 go on")
						var msg strings.Builder
						for {
							l, err := r.ReadString('\n')
							if err != nil || l == ".\r\n" {
								break
							}
							msg.WriteString(l)
						}
						_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("msg-%d.eml", n.Add(1))), []byte(msg.String()), 0o600)
						say("250 queued")
					case strings.HasPrefix(cmd, "QUIT"):
						say("221 bye")
						return
					default:
						say("250 ok")
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// TestSectigoScripts runs test/compat/sectigo/ssl.sh (the SSL API with
// curl, jq and openssl) against the real binary under /compat/sectigo and
// at the root of its own compat_listeners listener, and dcv.sh (domains and
// DCV by HTTP file, DNS TXT and CNAME records and email, checked for real
// against a local web root, DNS server and SMTP sink).
func TestSectigoScripts(t *testing.T) {
	compatScriptTools(t)
	webroot, zonedir, maildir := t.TempDir(), t.TempDir(), t.TempDir()
	web := &http.Server{Handler: http.FileServer(http.Dir(webroot)), ReadHeaderTimeout: 5 * time.Second}
	wl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = web.Serve(wl) }()
	t.Cleanup(func() { _ = web.Close() })
	resolver := sectigoZoneDNS(t, zonedir)
	smtpHost, smtpPort, _ := net.SplitHostPort(sectigoMailSink(t, maildir))
	_, webPort, _ := net.SplitHostPort(wl.Addr().String())

	dataDir := t.TempDir()
	port := strconv.Itoa(freePort(t))
	cfg := filepath.Join(t.TempDir(), "signet.yaml")
	yaml := fmt.Sprintf("compat_listeners:\n  - api: sectigo\n    listen: 127.0.0.1:%s\n"+
		"dcv:\n  resolver: %s\n  http_port: %s\n"+
		"smtp:\n  host: %s\n  port: %s\n  from: signet@example.com\n", port, resolver, webPort, smtpHost, smtpPort)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	key := "sectigo-scripts-admin-key-0123456789"
	env := []string{"SIGNET_ADMIN_API_KEY=" + key, "SIGNET_KEY_PASSPHRASE=sectigo-scripts-passphrase"}
	p := startSignet(t, env, "--data-dir", dataDir, "--config", cfg)
	common := []string{"NATIVE=" + p.url, "API_KEY=" + key, "CACERT=" + filepath.Join(dataDir, "ca-root.pem")}
	for i, run := range []struct{ name, base, cn string }{
		{"prefix", p.url + "/compat/sectigo", "ccmqa.com"},
		{"own listener", "https://127.0.0.1:" + port, "ccmqa-listener.com"},
	} {
		t.Run("ssl "+run.name, func(t *testing.T) {
			runCompatScript(t, "compat/sectigo/ssl.sh", "OK: Sectigo SSL workflow passed", p,
				append(common, "BASE="+run.base, "WORKDIR="+t.TempDir(), "SUFFIX="+strconv.Itoa(i), "CN="+run.cn)...)
		})
	}
	t.Run("dcv", func(t *testing.T) {
		runCompatScript(t, "compat/sectigo/dcv.sh", "OK: Sectigo DCV workflow passed", p,
			append(common, "BASE="+p.url+"/compat/sectigo", "WORKDIR="+t.TempDir(), "SUFFIX=d",
				"WEBROOT="+webroot, "ZONEDIR="+zonedir, "MAILDIR="+maildir)...)
	})
}

// TestSectigoCertificateLogin: the document's certificate-login variant
// (/private/...) authenticates a Signet client certificate whose owner's
// name is the login header; without the certificate, or for another
// login, it is the document's -16.
func TestSectigoCertificateLogin(t *testing.T) {
	e := &env{Server: testutil.StartTLSServer(t), dir: t.TempDir(), principals: map[string]string{}}
	erin := e.Must(t, 201, "POST", "/api/v1/users", admin, map[string]any{"org": "default", "name": "erin", "roles": []string{"requester"}}).Map(t)
	m := e.Must(t, 201, "POST", "/api/v1/certificates", admin, map[string]any{"profile": "tls-client",
		"keygen": map[string]any{"algorithm": "ecdsa", "bits": 256}, "subject": map[string]any{"common_name": "erin"},
		"sans": []string{"erin@example.com"}, "owner": erin["id"]}).Map(t)
	pair, err := tls.X509KeyPair([]byte(str(m, "certificate", "certificate_pem")+m["chain_pem"].(string)), []byte(m["private_key_pem"].(string)))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, login string
		cert        bool
		status      int
	}{{"certificate of the login", "erin", true, 200}, {"another login", "admin", true, 401}, {"no certificate", "erin", false, 401}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := e.TLSConfig(t)
			if tc.cert {
				cfg.Certificates = []tls.Certificate{pair}
			}
			saved := e.Client
			e.Client = &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
			defer func() { e.Client = saved }()
			r := e.Do(t, "GET", "/compat/sectigo/private/api/ssl/v1/types", "", nil, "login", tc.login, "customerUri", "default")
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			if tc.status == 401 && r.Map(t)["code"] != float64(-16) {
				t.Fatalf("not the document's -16: %s", r.Body)
			}
		})
	}
}
