package test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/agent"
)

// TestAgentRenewsWritesReloadsAndChecksIn: the agent creates the files,
// leaves a fresh certificate alone, renews one near the end of its life and
// one the server revoked, runs the reload command each time, and the
// server lists it with the certificate it manages.
func TestAgentRenewsWritesReloadsAndChecksIn(t *testing.T) {
	e := newEnv(t)
	key := e.newKey(t, "web-agent", "requester")
	dir := t.TempDir()
	marker := filepath.Join(dir, "reloads")
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	cfg := agent.Config{Server: e.URL, APIKey: key, ID: "web-1", Certificates: []agent.Managed{{
		Name: "web", Profile: "tls-server", CommonName: "web.example.com", SANs: []string{"web.example.com", "127.0.0.1"},
		CertPath: filepath.Join(dir, "tls", "web.crt"), KeyPath: filepath.Join(dir, "tls", "web.key"), ValidityDays: 30,
		ReloadCommand: "echo reloaded >> " + marker}}}
	r, err := agent.NewRunner(cfg, e.Client, clock, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	serialOf := func() string {
		t.Helper()
		out := readFile(t, cfg.Certificates[0].CertPath)
		c := parseCertFile(t, cfg.Certificates[0].CertPath)
		if !strings.Contains(out, "BEGIN CERTIFICATE") {
			t.Fatal("no certificate written")
		}
		return strings.ToLower(c.SerialNumber.Text(16))
	}
	reloads := func() int {
		b, _ := os.ReadFile(marker)
		return strings.Count(string(b), "reloaded")
	}
	if err := r.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	first := serialOf()
	if fi, err := os.Stat(cfg.Certificates[0].KeyPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	if reloads() != 1 {
		t.Fatalf("reload ran %d times, want 1", reloads())
	}
	if err := r.RunOnce(ctx); err != nil || serialOf() != first || reloads() != 1 {
		t.Fatalf("a fresh certificate was renewed (err %v)", err)
	}
	// Near the end of its life (past 2/3 of 30 days).
	mu.Lock()
	now = now.Add(21 * 24 * time.Hour)
	mu.Unlock()
	if err := r.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	second := serialOf()
	if second == first || reloads() != 2 {
		t.Fatalf("near expiry: serial %s (was %s), reloads %d", second, first, reloads())
	}
	// A renewal, not a fresh enrollment: the inventory links the two.
	renewal := func(serial string) (renewedBy, renewedFrom string) {
		t.Helper()
		c := e.Must(t, 200, "GET", "/api/v1/certificates/"+serial, admin, nil).Map(t)
		by, _ := c["renewed_by"].(string)
		from, _ := c["renewed_from"].(string)
		return by, from
	}
	if by, _ := renewal(first); by != second {
		t.Fatalf("%s renewed_by = %q, want %s", first, by, second)
	}
	if _, from := renewal(second); from != first {
		t.Fatalf("%s renewed_from = %q, want %s", second, from, first)
	}
	// Revoked on the server: it cannot be renewed (409), so the agent
	// enrolls a fresh, unlinked certificate at the next round.
	e.Must(t, 200, "POST", "/api/v1/certificates/"+second+"/revoke", admin, map[string]any{"reason": "key_compromise"})
	if err := r.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	third := serialOf()
	if third == second || reloads() != 3 {
		t.Fatalf("after revocation: serial %s (was %s), reloads %d", third, second, reloads())
	}
	if by, _ := renewal(second); by != "" {
		t.Fatalf("revoked %s renewed_by = %q", second, by)
	}
	if _, from := renewal(third); from != "" {
		t.Fatalf("fresh enrollment %s renewed_from = %q", third, from)
	}
	// Already renewed elsewhere (here by an administrator, with a key the
	// agent does not hold): the agent falls back to a fresh enrollment
	// when its own certificate comes due, rather than failing every round.
	other := e.Must(t, 201, "POST", "/api/v1/certificates/"+third+"/renew", admin,
		map[string]any{"keygen": map[string]any{"algorithm": "ecdsa", "bits": 256}}).Map(t)["certificate"].(map[string]any)["serial"].(string)
	mu.Lock()
	now = now.Add(21 * 24 * time.Hour)
	mu.Unlock()
	if err := r.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	fourth := serialOf()
	if fourth == third || fourth == other || reloads() != 4 {
		t.Fatalf("after a renewal elsewhere: serial %s (was %s, other %s), reloads %d", fourth, third, other, reloads())
	}
	if by, _ := renewal(third); by != other {
		t.Fatalf("%s renewed_by = %q, want %s", third, by, other)
	}
	agents := e.Must(t, 200, "GET", "/api/v1/agents", admin, nil).Map(t)["items"].([]any)
	if len(agents) != 1 {
		t.Fatalf("agents: %v", agents)
	}
	a := agents[0].(map[string]any)
	certs := a["report"].(map[string]any)["certificates"].([]any)
	if a["id"] != "web-1" || len(certs) != 1 || certs[0].(map[string]any)["state"] != "renewed" {
		t.Fatalf("agent listing: %v", a)
	}
}

// TestAgentEnrollsWhenTheServerDoesNotKnowItsCertificate: a certificate in
// place that the server has no record of (a restore, a file copied by hand)
// cannot be renewed (404 certificate_not_found); when it comes due the agent
// enrolls a fresh one instead of failing every round.
func TestAgentEnrollsWhenTheServerDoesNotKnowItsCertificate(t *testing.T) {
	e := newEnv(t)
	key := e.newKey(t, "restored-agent", "requester")
	dir := t.TempDir()
	m := agent.Managed{Name: "web", Profile: "tls-server", CommonName: "restored.example.com",
		CertPath: filepath.Join(dir, "web.crt"), KeyPath: filepath.Join(dir, "web.key")}
	// Past 2/3 of its lifetime, so due at once.
	old := selfSigned(t, time.Now().Add(-20*24*time.Hour), time.Now().Add(5*24*time.Hour))
	if err := os.WriteFile(m.CertPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: old.Certificate[0]}), 0o644); err != nil {
		t.Fatal(err)
	}
	oldLeaf, err := x509.ParseCertificate(old.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	oldSerial := strings.ToLower(oldLeaf.SerialNumber.Text(16))
	e.Must(t, 404, "GET", "/api/v1/certificates/"+oldSerial, admin, nil)
	r, err := agent.NewRunner(agent.Config{Server: e.URL, APIKey: key, ID: "restored-1", Certificates: []agent.Managed{m}},
		e.Client, time.Now, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	leaf := parseCertFile(t, m.CertPath)
	serial := strings.ToLower(leaf.SerialNumber.Text(16))
	if serial == oldSerial || leaf.Subject.CommonName != "restored.example.com" {
		t.Fatalf("certificate in place: serial %s (was %s), CN %q", serial, oldSerial, leaf.Subject.CommonName)
	}
	if c := e.Must(t, 200, "GET", "/api/v1/certificates/"+serial, admin, nil).Map(t); c["renewed_from"] != nil || c["status"] != "active" {
		t.Fatalf("the fresh enrollment: %v", c)
	}
}

// TestAgentEnrollsWithAOneTimeToken: the agent trades an enrollment key
// (an API key named enroll:...) for its own, saved 0600; the token works once.
func TestAgentEnrollsWithAOneTimeToken(t *testing.T) {
	e := newEnv(t)
	e.newKey(t, "web-2-agent", "requester")
	token := e.Must(t, 201, "POST", "/api/v1/api-keys", admin, map[string]any{"name": "enroll:web-2",
		"principal_id": e.principals["web-2-agent"], "expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}).Map(t)["key"].(string)
	dir := t.TempDir()
	cfg := agent.Config{Server: e.URL, EnrollmentToken: token, KeyFile: filepath.Join(dir, "agent.key"), ID: "web-2",
		Certificates: []agent.Managed{{Name: "web", Profile: "tls-server", CommonName: "web2.example.com",
			CertPath: filepath.Join(dir, "web.crt"), KeyPath: filepath.Join(dir, "web.key")}}}
	r, err := agent.NewRunner(cfg, e.Client, time.Now, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(cfg.KeyFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	saved := strings.TrimSpace(readFile(t, cfg.KeyFile))
	if saved == token {
		t.Fatal("the agent kept the enrollment token instead of its own key")
	}
	e.Must(t, 200, "GET", "/api/v1/me", saved, nil)
	e.Must(t, 401, "POST", "/api/v1/agents/enroll", token, nil) // once only
	e.Must(t, 403, "POST", "/api/v1/agents/enroll", saved, nil) // an ordinary key cannot be traded
}

// TestAgentFollowsRenewalInformation: with a late renew_at, the agent
// still renews when the profile's ACME renewal information says it is time.
func TestAgentFollowsRenewalInformation(t *testing.T) {
	e := newEnv(t)
	key := e.newKey(t, "ari-agent", "requester")
	dir := t.TempDir()
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	cfg := agent.Config{Server: e.URL, APIKey: key, ID: "ari-1", Certificates: []agent.Managed{{
		Name: "web", Profile: "tls-server", CommonName: "ari.example.com", ValidityDays: 30, RenewAt: 0.99,
		CertPath: filepath.Join(dir, "web.crt"), KeyPath: filepath.Join(dir, "web.key")}}}
	r, err := agent.NewRunner(cfg, e.Client, clock, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := r.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	first := parseCertFile(t, cfg.Certificates[0].CertPath).SerialNumber
	mu.Lock()
	now = now.Add(10 * 24 * time.Hour) // before the suggested window (the last third)
	mu.Unlock()
	if err := r.RunOnce(ctx); err != nil || parseCertFile(t, cfg.Certificates[0].CertPath).SerialNumber.Cmp(first) != 0 {
		t.Fatalf("renewed before the window (err %v)", err)
	}
	mu.Lock()
	now = now.Add(11 * 24 * time.Hour) // inside it, long before 99 % of the lifetime
	mu.Unlock()
	if err := r.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if parseCertFile(t, cfg.Certificates[0].CertPath).SerialNumber.Cmp(first) == 0 {
		t.Fatal("the agent ignored the renewal information")
	}
}
