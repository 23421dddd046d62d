package test

import (
	"context"
	"crypto/x509"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/config"
	"github.com/signet-pki/signet/internal/store/postgres"
	"github.com/signet-pki/signet/internal/testutil"
)

// TestMigrateCopiesEverything copies a used store into a fresh one with
// `signet migrate` and serves the copy: certificates, users (who can still
// log in), labels, CRLs and the audit chain (same head hash) all arrive.
func TestMigrateCopiesEverything(t *testing.T) {
	e := newEnv(t)
	e.Must(t, 201, "POST", "/api/v1/organizations", admin, map[string]any{"name": "acme"})
	e.Must(t, 201, "POST", "/api/v1/users", admin, map[string]any{"name": "erin", "roles": []string{"auditor"}, "password": "migrate me please 123"})
	e.Must(t, 201, "POST", "/api/v1/custom-fields", admin, map[string]any{"name": "cost_center"})
	// State beyond certificates: ACME (an EAB key), a notification rule and the notifications it queues.
	e.Must(t, 201, "POST", "/api/v1/teams", admin, map[string]any{"name": "web"})
	eab := e.Must(t, 201, "POST", "/api/v1/acme/eab-keys", admin, map[string]any{"team": "web", "name": "web servers"}).Map(t)
	e.Must(t, 201, "POST", "/api/v1/notification-rules", admin, map[string]any{"name": "issued", "event": "certificate.issue",
		"spec": map[string]any{"webhook": map[string]any{"url": "http://127.0.0.1:9/hook"}}})
	var serials []string
	for _, n := range []string{"m1", "m2", "m3"} {
		m := e.Must(t, 201, "POST", "/api/v1/certificates", admin, map[string]any{"profile": "tls-server",
			"keygen": map[string]any{"algorithm": "ecdsa", "bits": 256}, "sans": []string{n + ".example.com"},
			"labels": map[string]string{"app": n}}).Map(t)
		serials = append(serials, str(m, "certificate", "serial"))
	}
	e.Must(t, 200, "POST", "/api/v1/certificates/"+serials[0]+"/revoke", admin, map[string]any{"reason": "superseded"})
	caID := e.Must(t, 200, "GET", "/api/v1/cas/signet-issuing", admin, nil).Map(t)["id"].(string)
	e.waitForCRL(t, caID, false, func(l *x509.RevocationList) bool { return hasEntry(l, serials[0], 4) })
	notificationIDs := func(c *env) []string {
		var ids []string
		for _, n := range c.Must(t, 200, "GET", "/api/v1/notifications", admin, nil).Map(t)["items"].([]any) {
			ids = append(ids, n.(map[string]any)["id"].(string))
		}
		return ids
	}
	if err := e.App.Notify.Tick(context.Background()); err != nil { // queue the issue events now, not in a minute
		t.Fatal(err)
	}
	srcNotifications := notificationIDs(e)
	if len(srcNotifications) != 3 {
		t.Fatalf("%d notifications queued, want 3 (one per issuance)", len(srcNotifications))
	}
	srcEvents := e.auditSince(t, 0)
	srcHead := srcEvents[len(srcEvents)-1]

	target := filepath.Join(t.TempDir(), "copy")
	out, _, err := runCLI("migrate", "--from", "sqlite:"+e.DataDir, "--to", "sqlite:"+filepath.Join(target, "signet.db"))
	if err != nil || !strings.Contains(out, "audit chain verified") || !strings.Contains(out, `"certificates": 3`) {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	if _, _, err := runCLI("migrate", "--from", "sqlite:"+e.DataDir, "--to", "sqlite:"+filepath.Join(target, "signet.db")); err == nil {
		t.Fatal("migrating into a non-empty store should be refused")
	}

	c := &env{Server: testutil.StartServerAt(t, target), dir: t.TempDir(), principals: map[string]string{}}
	got := c.Must(t, 200, "GET", "/api/v1/certificates/"+serials[1], admin, nil).Map(t)
	if got["labels"].(map[string]any)["app"] != "m2" {
		t.Fatalf("copied certificate: %v", got)
	}
	if st := c.Must(t, 200, "GET", "/api/v1/certificates/"+serials[0], admin, nil).Map(t)["status"]; st != "revoked" {
		t.Fatalf("revoked certificate is %v after the copy", st)
	}
	c.Must(t, 201, "POST", "/api/v1/login", "", map[string]any{"username": "erin", "password": "migrate me please 123"})
	copied := c.auditSince(t, 0)
	var head map[string]any
	for _, ev := range copied {
		if ev["seq"] == srcHead["seq"] {
			head = ev
		}
	}
	if head == nil || head["hash"] != srcHead["hash"] {
		t.Fatalf("audit head after the copy %v, want hash %v", head, srcHead["hash"])
	}
	if v := c.Must(t, 200, "GET", "/api/v1/audit-events/verify", admin, nil).Map(t); v["ok"] != true {
		t.Fatalf("audit chain of the copy: %v", v)
	}
	if got := notificationIDs(c); !slices.Equal(got, srcNotifications) {
		t.Fatalf("notifications after the copy %v, want %v in the same order", got, srcNotifications)
	}
	keys := c.Must(t, 200, "GET", "/api/v1/acme/eab-keys", admin, nil).Map(t)["items"].([]any)
	if len(keys) != 1 || keys[0].(map[string]any)["id"] != eab["id"] {
		t.Fatalf("EAB keys after the copy: %v, want %v", keys, eab["id"])
	}
	if rules := c.Must(t, 200, "GET", "/api/v1/notification-rules", admin, nil).Map(t)["items"].([]any); len(rules) != 1 {
		t.Fatalf("notification rules after the copy: %v", rules)
	}
	c.issue(t, admin, "after-migrate")

	// SQLite to PostgreSQL, served by a node on it.
	pg := postgres.NewTestDatabase(t)
	out, _, err = runCLI("migrate", "--from", "sqlite:"+e.DataDir, "--to", pg)
	if err != nil || !strings.Contains(out, "audit chain verified") {
		t.Fatalf("migrate to PostgreSQL: %v\n%s", err, out)
	}
	p := &env{Server: testutil.StartServerWith(t, func(cfg *config.Config) { cfg.Database = pg }), dir: t.TempDir(), principals: map[string]string{}}
	if st := p.Must(t, 200, "GET", "/api/v1/certificates/"+serials[0], admin, nil).Map(t)["status"]; st != "revoked" {
		t.Fatalf("on PostgreSQL the revoked certificate is %v", st)
	}
	p.Must(t, 201, "POST", "/api/v1/login", "", map[string]any{"username": "erin", "password": "migrate me please 123"})
	if v := p.Must(t, 200, "GET", "/api/v1/audit-events/verify", admin, nil).Map(t); v["ok"] != true {
		t.Fatalf("audit chain on PostgreSQL: %v", v)
	}
	p.issue(t, admin, "on-postgres")
	if _, _, err := runCLI("audit", "verify", "--database", pg); err != nil {
		t.Fatalf("audit verify --database after the copy: %v", err)
	}
}
