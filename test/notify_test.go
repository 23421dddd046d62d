package test

import (
	"bufio"
	"context"
	"crypto/hmac"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/notify"
	"github.com/signet-pki/signet/internal/store"
)

// smtpSink is a minimal SMTP server on 127.0.0.1 that keeps what it receives.
type smtpSink struct {
	mu   sync.Mutex
	msgs []string
	addr string
}

func startSMTPSink(t *testing.T) *smtpSink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
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
	return s
}

func (s *smtpSink) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	reply := func(line string) { _, _ = io.WriteString(c, line+"\r\n") }
	reply("220 sink ready")
	var data strings.Builder
	inData := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if inData {
			if line == ".\r\n" {
				inData = false
				s.mu.Lock()
				s.msgs = append(s.msgs, data.String())
				s.mu.Unlock()
				data.Reset()
				reply("250 queued")
				continue
			}
			data.WriteString(line)
			continue
		}
		switch cmd := strings.ToUpper(strings.TrimSpace(line)); {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			reply("250 sink")
		case cmd == "DATA":
			inData = true
			reply("354 go on")
		case cmd == "QUIT":
			reply("221 bye")
			return
		default:
			reply("250 ok")
		}
	}
}

func (s *smtpSink) messages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.msgs...)
}

// TestNotificationsExpiryOnceEachAndSignedWebhooks drives the notification
// job with its own clock over a real server's store: the owner gets the
// 30-, 7- and 1-day warnings in order and once each; a webhook sees a
// revocation, HMAC-signed, retried after a 500.
func TestNotificationsExpiryOnceEachAndSignedWebhooks(t *testing.T) {
	e := newEnv(t)
	owner := e.Must(t, 201, "POST", "/api/v1/users", admin, map[string]any{"name": "olga", "email": "olga@example.com",
		"roles": []string{"requester"}}).Map(t)
	cert := e.Must(t, 201, "POST", "/api/v1/certificates", admin, map[string]any{"profile": "tls-server", "validity_days": 40,
		"owner": owner["id"], "keygen": map[string]any{"algorithm": "ecdsa", "bits": 256}, "sans": []string{"olga.example.com"}}).Map(t)
	sink := startSMTPSink(t)
	host, port, _ := net.SplitHostPort(sink.addr)

	var clockMu sync.Mutex
	now := time.Now()
	clock := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return now }
	advance := func(d time.Duration) { clockMu.Lock(); now = now.Add(d); clockMu.Unlock() }
	svc := notify.New(e.App.Store, notify.Config{Now: clock, SMTP: notify.SMTPConfig{Host: host, Port: atoi(port), From: "signet@example.com"}})
	ctx := auth.WithPrincipal(context.Background(), auth.System())

	if _, _, err := svc.CreateRule(ctx, notify.RuleInput{Name: "expiry", Event: notify.EventExpiring,
		Spec: notify.Spec{Thresholds: []int{1, 7, 30}, Recipients: struct {
			Owner  bool     `json:"owner"`
			Emails []string `json:"emails"`
			Roles  []string `json:"roles"`
		}{Owner: true}}}); err != nil {
		t.Fatal(err)
	}
	hook := newWebhookRecorder(t, func(n int) int {
		if n == 1 {
			return http.StatusInternalServerError // the first attempt fails
		}
		return http.StatusOK
	})
	_, spec, err := svc.CreateRule(ctx, notify.RuleInput{Name: "revocations", Event: "certificate.revoke",
		Spec: notify.Spec{Webhook: &notify.Webhook{URL: hook.URL}}})
	if err != nil {
		t.Fatal(err)
	}
	hook.setSecret(spec.Webhook.Secret)

	tick := func() {
		t.Helper()
		if err := svc.Tick(ctx); err != nil {
			t.Fatalf("tick: %v", err)
		}
	}
	tick()
	if n := len(sink.messages()); n != 0 {
		t.Fatalf("%d mails with 40 days left", n)
	}
	for _, step := range []struct {
		advance time.Duration
		want    string
	}{
		{11 * 24 * time.Hour, "in 28 days"},
		{23 * 24 * time.Hour, "in 5 days"},
		{5*24*time.Hour + 12*time.Hour, "in 0 days"},
	} {
		advance(step.advance)
		tick()
		tick() // a second run on the same day sends nothing more
		msgs := sink.messages()
		if !strings.Contains(msgs[len(msgs)-1], step.want) || !strings.Contains(msgs[len(msgs)-1], "To: olga@example.com") {
			t.Fatalf("after %v: last mail %q, want %q", step.advance, msgs[len(msgs)-1], step.want)
		}
	}
	if n := len(sink.messages()); n != 3 {
		t.Fatalf("%d mails, want exactly 3 (30, 7, 1 days)", n)
	}
	// Through the API: the secret is shown once, listings hide it, requesters may not manage rules.
	created := e.Must(t, 201, "POST", "/api/v1/notification-rules", admin, map[string]any{"name": "api", "event": "certificate.issue",
		"spec": map[string]any{"webhook": map[string]any{"url": hook.URL}}}).Map(t)
	apiSecret := created["spec"].(map[string]any)["webhook"].(map[string]any)["secret"].(string)
	if listing := e.Must(t, 200, "GET", "/api/v1/notification-rules", admin, nil); strings.Contains(string(listing.Body), apiSecret) || strings.Contains(string(listing.Body), spec.Webhook.Secret) {
		t.Fatal("a webhook secret appears in the rule listing")
	}
	e.Must(t, 400, "POST", "/api/v1/notification-rules", admin, map[string]any{"name": "bad", "event": "certificate.expiring",
		"spec": map[string]any{"recipients": map[string]any{"emails": []string{"not-an-address"}}}})
	e.Must(t, 403, "POST", "/api/v1/notification-rules", e.newKey(t, "req", "requester"), map[string]any{"name": "x", "event": "certificate.issue",
		"spec": map[string]any{"recipients": map[string]any{"owner": true}}})
	e.Must(t, 204, "DELETE", "/api/v1/notification-rules/"+created["id"].(string), admin, nil)

	e.Must(t, 200, "POST", "/api/v1/certificates/"+str(cert, "certificate", "serial")+"/revoke", admin, map[string]any{"reason": "superseded"})
	advance(time.Second)
	tick()
	advance(time.Minute) // past the first retry's backoff
	tick()
	calls := hook.bodies()
	if len(calls) != 2 || calls[0] != calls[1] || !strings.Contains(calls[0], `"event":"certificate.revoke"`) {
		t.Fatalf("webhook calls: %v", calls)
	}
	ns, _, err := svc.Notifications(ctx, store.ListQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		if n.Channel == "webhook" && (n.Status != "sent" || n.Attempts != 2) {
			t.Fatalf("webhook notification: status %s after %d attempts (%s)", n.Status, n.Attempts, n.LastError)
		}
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// TestScheduledReportsAndCAExpiry: a CA nearing its end is announced once
// per threshold, and a report rule mails the report once per period.
func TestScheduledReportsAndCAExpiry(t *testing.T) {
	e := newEnv(t)
	e.issue(t, admin, "reported")
	sink := startSMTPSink(t)
	host, port, _ := net.SplitHostPort(sink.addr)
	var clockMu sync.Mutex
	now := time.Now()
	clock := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return now }
	svc := notify.New(e.App.Store, notify.Config{Now: clock, Reports: e.App.Inventory,
		SMTP: notify.SMTPConfig{Host: host, Port: atoi(port), From: "signet@example.com"}})
	ctx := auth.WithPrincipal(context.Background(), auth.System())
	to := struct {
		Owner  bool     `json:"owner"`
		Emails []string `json:"emails"`
		Roles  []string `json:"roles"`
	}{Emails: []string{"pki-team@example.com"}}
	for _, in := range []notify.RuleInput{
		{Name: "ca", Event: notify.EventCAExpiring, Spec: notify.Spec{Thresholds: []int{3650}, Recipients: to}},
		{Name: "weekly", Event: "report.expiring", Spec: notify.Spec{EveryDays: 7, Recipients: to}},
	} {
		if _, _, err := svc.CreateRule(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if err := svc.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	msgs := sink.messages()
	if len(msgs) != 2 { // the issuing CA (5 years; the 10-year root is beyond 3650 days) and one report
		t.Fatalf("%d mails, want 2:\n%v", len(msgs), msgs)
	}
	all := strings.Join(msgs, "\n")
	if !strings.Contains(all, "CA signet-issuing expires") || !strings.Contains(all, "Certificates expiring within 30 days") ||
		!strings.Contains(all, "serial,common_name,owner") {
		t.Fatalf("mails:\n%s", all)
	}
	clockMu.Lock()
	now = now.Add(8 * 24 * time.Hour)
	clockMu.Unlock()
	if err := svc.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	// A week on: the next report, and the 10-year root has now crossed 3650 days too.
	if msgs := sink.messages(); len(msgs) != 4 || !strings.Contains(msgs[2]+msgs[3], "CA signet-root expires") {
		t.Fatalf("%d mails after a week, want 4:\n%s", len(msgs), strings.Join(msgs, "\n====\n"))
	}
}

// webhookRecorder receives Signet's webhooks: it checks each one's
// signature with the rule's secret (known once the rule exists, hence
// setSecret) and keeps its body.
type webhookRecorder struct {
	*httptest.Server
	mu     sync.Mutex
	secret string
	got    []string
}

// newWebhookRecorder starts a recorder; status, if set, answers the n-th
// delivery (from 1), else 200.
func newWebhookRecorder(t *testing.T, status func(n int) int) *webhookRecorder {
	h := &webhookRecorder{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if !hmac.Equal([]byte(r.Header.Get(notify.SignatureHeader)), []byte(notify.Sign(h.secret, body))) {
			t.Errorf("webhook signature does not verify")
		}
		h.got = append(h.got, string(body))
		if status != nil {
			w.WriteHeader(status(len(h.got)))
		}
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *webhookRecorder) setSecret(s string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.secret = s
}

// bodies are the deliveries so far, oldest first.
func (h *webhookRecorder) bodies() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.got...)
}
