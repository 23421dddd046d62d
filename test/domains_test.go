package test

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/config"
	"github.com/signet-pki/signet/internal/testutil"
)

// TestDomainsNativeAPIAndCLI registers a domain as a requester (it waits
// for approval), approves it as the admin, validates it by DNS TXT through
// `signet domain` commands against a local DNS server, delegates it to a
// team (approved by a manager), validates other domains by CNAME and by
// email (the code through a local SMTP sink), suspends, activates, lists
// and deletes, and checks that a template requiring validated domains then
// issues under it over the native API and refuses other names with a
// field-level problem.
func TestDomainsNativeAPIAndCLI(t *testing.T) {
	zone := t.TempDir()
	resolver := sectigoZoneDNS(t, zone)
	maildir := t.TempDir()
	smtpHost, smtpPort, _ := net.SplitHostPort(sectigoMailSink(t, maildir))
	s := testutil.StartServerWith(t, func(c *config.Config) {
		c.DCV.Resolver = resolver
		c.SMTP.Host, c.SMTP.From = smtpHost, "signet@example.com"
		c.SMTP.Port, _ = strconv.Atoi(smtpPort)
	})
	e := &env{Server: s, dir: t.TempDir(), principals: map[string]string{}}

	svc := e.Must(t, 201, "POST", "/api/v1/service-accounts", admin, map[string]any{"org": "default", "name": "domain-requester", "roles": []string{"requester"}}).Map(t)
	key := e.Must(t, 201, "POST", "/api/v1/api-keys", admin, map[string]any{"name": "dr", "principal_id": svc["id"]}).Map(t)
	reqKey, _ := key["token"].(string)
	if reqKey == "" {
		reqKey, _ = key["key"].(string)
	}
	if reqKey == "" {
		t.Fatalf("no token in %v", key)
	}

	cli := func(key string, args ...string) map[string]any {
		t.Helper()
		out, errOut, err := runCLI(append([]string{"--server", s.URL, "--api-key", key, "-o", "json", "domain"}, args...)...)
		if err != nil {
			t.Fatalf("signet domain %v: %v\n%s%s", args, err, out, errOut)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("signet domain %v: %q: %v", args, out, err)
		}
		return m
	}
	d := cli(reqKey, "register", "Example.Test")
	id, _ := d["id"].(string)
	if d["status"] != "requested" || d["name"] != "example.test" || id == "" {
		t.Fatalf("requester's registration: %v", d)
	}
	if r := e.Do(t, "POST", "/api/v1/domains/"+id+"/approve", reqKey, nil); r.Status != 403 {
		t.Fatalf("requester approving: %d %s", r.Status, r.Body)
	}
	if d = cli(testutil.AdminKey, "approve", id); d["status"] != "approved" {
		t.Fatalf("approve: %v", d)
	}
	d = cli(reqKey, "submit", id, "--method", "txt")
	ch, _ := d["challenge"].(map[string]any)
	host, _ := ch["host"].(string)
	point, _ := ch["point"].(string)
	if d["validation_status"] != "not_validated" || host != "_pki-validation.example.test." || point == "" {
		t.Fatalf("submit before publishing: %v", d)
	}
	if err := os.WriteFile(filepath.Join(zone, strings.TrimSuffix(host, ".")+".TXT"), []byte(point), 0o600); err != nil {
		t.Fatal(err)
	}
	if d = cli(reqKey, "check", id); d["validation_status"] != "validated" {
		t.Fatalf("check after publishing: %v", d)
	}
	if strings.Contains(string(e.Must(t, 200, "GET", "/api/v1/domains/"+id, admin, nil).Body), "code_hash") {
		t.Fatal("the API shows an email code hash")
	}

	// Delegation to a team: a requester's awaits a manager's approval.
	team := e.Must(t, 201, "POST", "/api/v1/teams", admin, map[string]any{"name": "web-ops"}).Map(t)["id"].(string)
	d = cli(reqKey, "delegate", id, "--team", team)
	if dels, _ := d["delegations"].([]any); len(dels) != 1 || dels[0].(map[string]any)["status"] != "requested" {
		t.Fatalf("requester's delegation: %v", d)
	}
	d = cli(testutil.AdminKey, "delegate", id, "--team", team, "--approve")
	if dels, _ := d["delegations"].([]any); len(dels) != 1 || dels[0].(map[string]any)["status"] != "active" {
		t.Fatalf("approved delegation: %v", d)
	}

	// CNAME validation of a second domain: start prints the record, submit checks it.
	d = cli(testutil.AdminKey, "register", "cname.test")
	cid := d["id"].(string)
	if d["status"] != "approved" {
		t.Fatalf("admin's registration: %v", d)
	}
	d = cli(testutil.AdminKey, "start", cid, "--method", "cname")
	ch, _ = d["challenge"].(map[string]any)
	host, _ = ch["host"].(string)
	point, _ = ch["point"].(string)
	if !strings.HasSuffix(host, ".cname.test.") || !strings.HasSuffix(point, ".dcv.signet.") {
		t.Fatalf("cname challenge: %v", d)
	}
	if d = cli(testutil.AdminKey, "submit", cid, "--method", "cname"); d["validation_status"] != "not_validated" {
		t.Fatalf("submit before publishing the CNAME: %v", d)
	}
	if err := os.WriteFile(filepath.Join(zone, strings.TrimSuffix(host, ".")+".CNAME"), []byte(point), 0o600); err != nil {
		t.Fatal(err)
	}
	if d = cli(testutil.AdminKey, "submit", cid, "--method", "cname"); d["validation_status"] != "validated" {
		t.Fatalf("submit after publishing the CNAME: %v", d)
	}
	if d = cli(testutil.AdminKey, "suspend", cid); d["state"] != "suspended" {
		t.Fatalf("suspend: %v", d)
	}
	if d = cli(testutil.AdminKey, "activate", cid); d["state"] != "active" {
		t.Fatalf("activate: %v", d)
	}
	// Email validation: start lists the addresses, submit mails a code, confirm takes it.
	mid := cli(testutil.AdminKey, "register", "mail.test")["id"].(string)
	d = cli(testutil.AdminKey, "start", mid, "--method", "email")
	if ch, _ = d["challenge"].(map[string]any); !strings.Contains(fmt.Sprint(ch["emails"]), "postmaster@mail.test") {
		t.Fatalf("email challenge: %v", d)
	}
	if d = cli(testutil.AdminKey, "submit", mid, "--method", "email", "--email", "postmaster@mail.test"); d["validation_status"] != "not_validated" {
		t.Fatalf("email submit: %v", d)
	}
	code := ""
	for deadline := time.Now().Add(5 * time.Second); code == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		files, _ := filepath.Glob(filepath.Join(maildir, "*"))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			if m := regexp.MustCompile(`(?m)^\s+([0-9a-f]{32})\r?$`).FindSubmatch(b); m != nil && strings.Contains(string(b), "To: postmaster@mail.test") {
				code = string(m[1])
			}
		}
	}
	if code == "" {
		t.Fatal("no validation mail reached the SMTP sink")
	}
	if d = cli(reqKey, "confirm", code); d["validation_status"] != "validated" || d["domain"] != "mail.test" {
		t.Fatalf("confirm: %v", d)
	}
	if _, _, err := runCLI("--server", s.URL, "--api-key", reqKey, "domain", "confirm", code); err == nil {
		t.Fatal("a confirmation code worked twice")
	}

	out, _, err := runCLI("--server", s.URL, "--api-key", testutil.AdminKey, "-o", "json", "domain", "list")
	if err != nil || !strings.Contains(out, "cname.test") || !strings.Contains(out, "example.test") {
		t.Fatalf("domain list: %v %s", err, out)
	}
	if _, _, err := runCLI("--server", s.URL, "--api-key", testutil.AdminKey, "domain", "delete", cid); err != nil {
		t.Fatalf("domain delete: %v", err)
	}
	if r := e.Do(t, "GET", "/api/v1/domains/"+cid, admin, nil); r.Status != 404 {
		t.Fatalf("deleted domain: %d %s", r.Status, r.Body)
	}

	// A template that requires validated domains.
	tpl := e.Must(t, 200, "GET", "/api/v1/templates/tls-server", admin, nil).Map(t)
	spec, _ := tpl["spec"].(map[string]any)
	spec["require_validated_domains"] = true
	e.Must(t, 201, "POST", "/api/v1/templates", admin, map[string]any{"name": "validated-only", "org": "default", "spec": spec})
	e.Must(t, 201, "POST", "/api/v1/profiles", admin, map[string]any{"name": "validated-only", "org": "default", "template": "validated-only", "ca": "signet-issuing"})
	for _, tc := range []struct {
		name string
		want int
	}{{"www.example.test", 201}, {"example.test", 201}, {"www.other.test", 422}} {
		r := e.Do(t, "POST", "/api/v1/certificates", reqKey, map[string]any{"profile": "validated-only",
			"keygen": map[string]any{"algorithm": "ecdsa", "bits": 256}, "subject": map[string]any{"common_name": tc.name}, "sans": []string{tc.name}})
		if r.Status == 400 && tc.want == 422 {
			r.Status = 422 // either is a refusal of the input; the field-level problem is what matters
		}
		if r.Status != tc.want {
			t.Fatalf("%s: %d %s", tc.name, r.Status, r.Body)
		}
		if tc.want != 201 && (!strings.Contains(string(r.Body), "domain_not_validated") || !strings.Contains(string(r.Body), "sans.dns[0]")) {
			t.Fatalf("%s: not a field-level domain problem: %s", tc.name, r.Body)
		}
	}
}
