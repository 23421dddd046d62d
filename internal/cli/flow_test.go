package cli

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"os"
	"os/exec"
	"strings"
	"testing"
)

const internalSpec = `{
  "key_types": [{"algorithm": "ecdsa", "min_bits": 256}],
  "subject": [{"field": "common_name", "required": true}],
  "sans": {"dns": ["*.internal.example"], "required": true},
  "common_name_in_sans": true,
  "key_usages": ["digital_signature"],
  "ext_key_usages": ["server_auth"],
  "max_validity_days": 90
}`

type certJSON struct {
	Serial           string   `json:"serial"`
	Status           string   `json:"status"`
	CommonName       string   `json:"common_name"`
	SANs             []string `json:"sans"`
	RevocationReason string   `json:"revocation_reason"`
	CertificatePEM   string   `json:"certificate_pem"`
	RenewedFrom      string   `json:"renewed_from"`
}

type enrollJSON struct {
	Request struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	} `json:"request"`
	Certificate   *certJSON `json:"certificate"`
	ChainPEM      string    `json:"chain_pem"`
	PrivateKeyPEM string    `json:"private_key_pem"`
}

type listJSON[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
	Total      *int   `json:"total"`
}

// TestCLIAgainstServer drives the CLI through a realistic session against
// the real server: each step builds on the previous ones.
func TestCLIAgainstServer(t *testing.T) {
	s := startServer(t)
	var serial, rootPEM string

	t.Run("ca list and root certificate", func(t *testing.T) {
		out := s.ok(t, "ca", "list")
		for _, want := range []string{"NAME", "signet-root", "signet-issuing", "root", "intermediate"} {
			if !strings.Contains(out, want) {
				t.Errorf("ca list lacks %q:\n%s", want, out)
			}
		}
		rootPEM = s.ok(t, "ca", "cert", "signet-root")
		if certs := parseCerts(t, []byte(rootPEM)); len(certs) != 1 || !certs[0].IsCA {
			t.Fatalf("ca cert: want one CA certificate, got %d", len(certs))
		}
		s.write(t, "root.pem", rootPEM)
		chain := s.ok(t, "ca", "chain", "signet-issuing")
		if n := len(parseCerts(t, []byte(chain))); n != 2 {
			t.Errorf("ca chain signet-issuing: %d certificates, want 2", n)
		}
	})

	t.Run("issue with server-side key", func(t *testing.T) {
		r := s.as(testAdminKey, "cert", "issue", "--profile", "tls-server", "--keygen", "ecdsa:256",
			"--cn", "app.example.com", "--san", "app.example.com", "--san", "10.1.2.3",
			"--key-out", s.path("app.key"), "--cert-out", s.path("app.crt"), "--chain-out", s.path("chain.pem"))
		if r.err != nil {
			t.Fatalf("issue: %v\n%s", r.err, r.stderr)
		}
		serial = detailValue(t, r.stdout, "SERIAL")
		if got := detailValue(t, r.stdout, "STATUS"); got != "active" {
			t.Errorf("STATUS %q, want active", got)
		}
		if !strings.Contains(r.stderr, "wrote private key to") {
			t.Errorf("stderr lacks the key note:\n%s", r.stderr)
		}
		fi, err := os.Stat(s.path("app.key"))
		if err != nil {
			t.Fatal(err)
		}
		if mode := fi.Mode().Perm(); mode != 0o600 {
			t.Errorf("key file mode %o, want 600", mode)
		}
		if _, err := tls.LoadX509KeyPair(s.path("app.crt"), s.path("app.key")); err != nil {
			t.Errorf("certificate and key do not match: %v", err)
		}
		leaf := parseCerts(t, mustRead(t, s.path("app.crt")))[0]
		if leaf.Subject.CommonName != "app.example.com" || len(leaf.IPAddresses) != 1 {
			t.Errorf("leaf: CN %q, IPs %v", leaf.Subject.CommonName, leaf.IPAddresses)
		}
		cmd := exec.Command("openssl", "verify", "-CAfile", s.path("root.pem"), "-untrusted", s.path("chain.pem"), s.path("app.crt"))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("openssl verify: %v\n%s", err, out)
		}
	})

	t.Run("find and read", func(t *testing.T) {
		if out := s.ok(t, "cert", "list", "--q", "app.example"); !strings.Contains(out, serial) {
			t.Errorf("cert list --q app.example lacks %s:\n%s", serial, out)
		}
		if out := s.ok(t, "cert", "list", "--q", "no-such-name.example"); strings.Contains(out, serial) {
			t.Errorf("cert list --q no-such-name lists %s", serial)
		}
		var c certJSON
		s.okJSON(t, testAdminKey, &c, "cert", "get", serial)
		if c.Serial != serial || c.Status != "active" || c.CommonName != "app.example.com" {
			t.Errorf("cert get -o json: %+v", c)
		}
		pemOut := s.ok(t, "cert", "get", serial, "-o", "pem")
		if !bytes.Equal(bytes.TrimSpace([]byte(pemOut)), bytes.TrimSpace(mustRead(t, s.path("app.crt")))) {
			t.Errorf("cert get -o pem differs from --cert-out:\n%s", pemOut)
		}
		s.ok(t, "cert", "download", serial, "--format", "chain", "--out", s.path("dl-chain.pem"))
		chain := parseCerts(t, mustRead(t, s.path("dl-chain.pem")))
		if len(chain) < 2 || chain[0].SerialNumber.Text(16) != strings.TrimLeft(serial, "0") {
			t.Errorf("download --format chain: %d certificates, first serial %x", len(chain), chain[0].SerialNumber)
		}
		der := s.ok(t, "cert", "download", serial, "--format", "der")
		if _, err := x509.ParseCertificate([]byte(der)); err != nil {
			t.Errorf("download --format der: %v", err)
		}
	})

	t.Run("revoke twice", func(t *testing.T) {
		out := s.ok(t, "cert", "revoke", serial, "--reason", "key_compromise")
		if got := detailValue(t, out, "STATUS"); got != "revoked" {
			t.Errorf("after revoke STATUS %q", got)
		}
		if got := detailValue(t, out, "REVOCATION REASON"); got != "key_compromise" {
			t.Errorf("REVOCATION REASON %q", got)
		}
		r := s.fails(t, testAdminKey, "cert", "revoke", serial)
		for _, want := range []string{"error: ", "certificate_already_revoked", "HTTP 409"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("second revoke: stderr lacks %q:\n%s", want, r.stderr)
			}
		}
		if code := ExitCode(r.err); code != 1 {
			t.Errorf("exit code %d, want 1", code)
		}
	})

	var mgrKey, mgrKeyID, requestID string
	t.Run("template, manual profile and manager key", func(t *testing.T) {
		spec := s.write(t, "internal.json", internalSpec)
		out := s.ok(t, "template", "create", "--name", "internal-web", "--description", "internal servers", "--spec", spec)
		if !strings.Contains(out, "internal-web") {
			t.Errorf("template create:\n%s", out)
		}
		var tpl struct {
			Spec struct {
				MaxValidityDays int `json:"max_validity_days"`
			} `json:"spec"`
		}
		s.okJSON(t, testAdminKey, &tpl, "template", "get", "internal-web")
		if tpl.Spec.MaxValidityDays != 90 {
			t.Errorf("template spec max_validity_days %d", tpl.Spec.MaxValidityDays)
		}
		out = s.ok(t, "profile", "create", "--name", "internal-manual", "--template", "internal-web", "--ca", "signet-issuing",
			"--approval", "manual", "--default-validity-days", "30", "--methods", "api,acme")
		if got := detailValue(t, out, "APPROVAL"); got != "manual" {
			t.Errorf("profile APPROVAL %q", got)
		}
		if got := detailValue(t, out, "METHODS"); got != "api,acme" {
			t.Errorf("profile METHODS %q", got)
		}

		r := s.as(testAdminKey, "api-key", "create", "--name", "approver", "--role", "manager", "--expires-in", "30d")
		if r.err != nil {
			t.Fatalf("api-key create: %v\n%s", r.err, r.stderr)
		}
		mgrKey = strings.TrimSpace(r.stdout)
		if strings.Contains(mgrKey, "\n") || len(mgrKey) < 24 {
			t.Fatalf("api-key create stdout should be the key alone, got %q", r.stdout)
		}
		if !strings.Contains(r.stderr, "shown only now") {
			t.Errorf("api-key create: no warning on stderr:\n%s", r.stderr)
		}
		mgrKeyID = detailValue(t, r.stderr, "ID")
		var me struct {
			Roles []string `json:"roles"`
		}
		s.okJSON(t, mgrKey, &me, "me")
		if len(me.Roles) != 1 || me.Roles[0] != "manager" {
			t.Errorf("me as manager: roles %v", me.Roles)
		}
	})

	t.Run("manual approval", func(t *testing.T) {
		bad := s.write(t, "bad.csr", newCSR(t, "www.public.example", "www.public.example"))
		r := s.fails(t, testAdminKey, "cert", "issue", "--profile", "internal-manual", "--csr", bad)
		if !strings.Contains(r.stderr, "policy_violation") || !strings.Contains(r.stderr, "\n  - sans") {
			t.Errorf("policy violation not reported with its fields:\n%s", r.stderr)
		}
		csr := s.write(t, "db.csr", newCSR(t, "db.internal.example", "db.internal.example"))
		var pending enrollJSON
		s.okJSON(t, testAdminKey, &pending, "cert", "issue", "--profile", "internal-manual", "--csr", csr,
			"--idempotency-key", "db-1")
		if pending.Request.Status != "pending" || pending.Certificate != nil {
			t.Fatalf("manual profile: request %+v, certificate %v", pending.Request, pending.Certificate)
		}
		requestID = pending.Request.ID
		if out := s.ok(t, "request", "list", "--status", "pending"); !strings.Contains(out, requestID) {
			t.Errorf("request list --status pending lacks %s:\n%s", requestID, out)
		}
		r = s.as(mgrKey, "request", "approve", requestID)
		if r.err != nil {
			t.Fatalf("approve as manager: %v\n%s", r.err, r.stderr)
		}
		issued := detailValue(t, r.stdout, "SERIAL")
		if got := detailValue(t, r.stdout, "REQUEST STATUS"); got != "issued" {
			t.Errorf("REQUEST STATUS %q, want issued", got)
		}
		var c certJSON
		s.okJSON(t, testAdminKey, &c, "cert", "get", issued)
		if c.CommonName != "db.internal.example" {
			t.Errorf("approved certificate CN %q", c.CommonName)
		}
		r = s.fails(t, mgrKey, "request", "approve", requestID)
		if !strings.Contains(r.stderr, "request_not_pending") {
			t.Errorf("second approve:\n%s", r.stderr)
		}
		if out := s.ok(t, "request", "get", requestID); detailValue(t, out, "SERIAL") != issued {
			t.Errorf("request get:\n%s", out)
		}
	})

	t.Run("revoke api key", func(t *testing.T) {
		if out := s.ok(t, "api-key", "list"); !strings.Contains(out, "approver") || strings.Contains(out, mgrKey) {
			t.Errorf("api-key list:\n%s", out)
		}
		out := s.ok(t, "api-key", "revoke", mgrKeyID)
		if detailValue(t, out, "REVOKED") == emptyCell {
			t.Errorf("api-key revoke:\n%s", out)
		}
		r := s.fails(t, mgrKey, "me")
		if !strings.Contains(r.stderr, "invalid_api_key") || !strings.Contains(r.stderr, "HTTP 401") {
			t.Errorf("revoked key:\n%s", r.stderr)
		}
	})

	t.Run("renew, suspend and resume", func(t *testing.T) {
		var e enrollJSON
		s.okJSON(t, testAdminKey, &e, "cert", "issue", "--profile", "tls-server", "--keygen", "rsa:2048",
			"--cn", "svc.example.com", "--san", "svc.example.com", "--validity-days", "30")
		if e.Certificate == nil || !strings.Contains(e.PrivateKeyPEM, "PRIVATE KEY") {
			t.Fatalf("issue -o json without --key-out should carry the key: %+v", e)
		}
		out := s.ok(t, "cert", "renew", e.Certificate.Serial, "--keygen", "ecdsa", "--key-out", s.path("svc.key"),
			"--cert-out", s.path("svc.crt"))
		renewed := detailValue(t, out, "SERIAL")
		if _, err := tls.LoadX509KeyPair(s.path("svc.crt"), s.path("svc.key")); err != nil {
			t.Errorf("renewed certificate and key: %v", err)
		}
		var c certJSON
		s.okJSON(t, testAdminKey, &c, "cert", "get", renewed)
		if c.RenewedFrom != e.Certificate.Serial {
			t.Errorf("renewed_from %q, want %q", c.RenewedFrom, e.Certificate.Serial)
		}
		if got := detailValue(t, s.ok(t, "cert", "suspend", renewed), "STATUS"); got != "on_hold" {
			t.Errorf("suspend: STATUS %q", got)
		}
		if got := detailValue(t, s.ok(t, "cert", "resume", renewed), "STATUS"); got != "active" {
			t.Errorf("resume: STATUS %q", got)
		}
	})

	t.Run("CSR on stdin and PKCS#12", func(t *testing.T) {
		r := s.withStdin(testAdminKey, newCSR(t, "stdin.example.com", "stdin.example.com"),
			"cert", "issue", "--profile", "tls-server", "--csr", "-", "-o", "pem")
		if r.err != nil {
			t.Fatalf("issue --csr -: %v\n%s", r.err, r.stderr)
		}
		certs := parseCerts(t, []byte(r.stdout))
		if len(certs) < 2 || certs[0].Subject.CommonName != "stdin.example.com" || !certs[1].IsCA {
			t.Errorf("-o pem should print the leaf, then its CAs: %d certificates", len(certs))
		}
		s.ok(t, "cert", "issue", "--profile", "tls-client", "--keygen", "ecdsa:384", "--cn", "alice",
			"--key-out", s.path("alice.key"), "--pkcs12-password", "pw-123456", "--pkcs12-out", s.path("alice.p12"))
		for _, f := range []string{"alice.key", "alice.p12"} {
			if fi, err := os.Stat(s.path(f)); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: %v, mode %v", f, err, fi.Mode())
			}
		}
		out, err := exec.Command("openssl", "pkcs12", "-in", s.path("alice.p12"), "-passin", "pass:pw-123456", "-nokeys").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "alice") {
			t.Errorf("openssl pkcs12: %v\n%s", err, out)
		}
		r = s.as(testAdminKey, "cert", "issue", "--profile", "tls-server", "--keygen", "ecdsa", "--cn", "x.example.com",
			"--san", "x.example.com", "--key-out", s.path("no-such-dir/x.key"))
		if r.err == nil || !strings.Contains(r.stderr, "cannot write") {
			t.Errorf("an unwritable --key-out should fail before issuing: %v", r.err)
		}
		var none listJSON[certJSON]
		s.okJSON(t, testAdminKey, &none, "cert", "list", "--name", "x.example.com")
		if len(none.Items) != 0 {
			t.Errorf("a certificate was issued although its key could not be saved")
		}
	})

	t.Run("paging and summary", func(t *testing.T) {
		var all listJSON[certJSON]
		s.okJSON(t, testAdminKey, &all, "cert", "list", "--all", "--limit", "1", "--total")
		if len(all.Items) < 6 || all.NextCursor != "" || all.Total == nil || *all.Total != len(all.Items) {
			t.Errorf("cert list --all --limit 1: %d items, next %q, total %v", len(all.Items), all.NextCursor, all.Total)
		}
		if out := s.ok(t, "cert", "list", "--limit", "1"); !strings.Contains(out, "more: --cursor ") {
			t.Errorf("one page of several should say how to go on:\n%s", out)
		}
		out := s.ok(t, "cert", "list", "--status", "revoked", "-o", "pem")
		if n := len(parseCerts(t, []byte(out))); n != 1 {
			t.Errorf("cert list --status revoked -o pem: %d certificates", n)
		}
		out = s.ok(t, "cert", "summary")
		if !strings.Contains(out, "TOTAL") || !strings.Contains(out, "REVOKED") {
			t.Errorf("summary:\n%s", out)
		}
	})

	t.Run("ca create, disable and enable", func(t *testing.T) {
		out := s.ok(t, "ca", "create", "--name", "team-int", "--kind", "intermediate", "--parent", "signet-root",
			"--key", "ecdsa:256", "--subject-org", "Team", "--path-len", "0", "--permitted-dns", "team.example", "--validity-days", "365")
		if detailValue(t, out, "NAME") != "team-int" || detailValue(t, out, "STATUS") != "active" {
			t.Errorf("ca create:\n%s", out)
		}
		if got := detailValue(t, s.ok(t, "ca", "disable", "team-int"), "STATUS"); got != "disabled" {
			t.Errorf("disable: STATUS %q", got)
		}
		if got := detailValue(t, s.ok(t, "ca", "enable", "team-int"), "STATUS"); got != "active" {
			t.Errorf("enable: STATUS %q", got)
		}
		r := s.fails(t, testAdminKey, "ca", "create", "--name", "", "--kind", "root", "--validity-days", "0")
		if !strings.Contains(r.stderr, "ca_invalid") || !strings.Contains(r.stderr, "  - validity_days: ") {
			t.Errorf("invalid CA should list violations:\n%s", r.stderr)
		}
	})

	t.Run("update keeps unchanged fields", func(t *testing.T) {
		out := s.ok(t, "profile", "update", "internal-manual", "--approval", "auto")
		if detailValue(t, out, "APPROVAL") != "auto" || detailValue(t, out, "DEFAULT DAYS") != "30" ||
			detailValue(t, out, "METHODS") != "api,acme" {
			t.Errorf("profile update:\n%s", out)
		}
		out = s.ok(t, "template", "update", "internal-web", "--description", "changed")
		if detailValue(t, out, "DESCRIPTION") != "changed" || detailValue(t, out, "MAX DAYS") != "90" {
			t.Errorf("template update:\n%s", out)
		}
		spec := s.write(t, "spare.json", internalSpec)
		s.ok(t, "template", "create", "--name", "spare", "--spec", spec)
		if out := s.ok(t, "template", "delete", "spare"); !strings.Contains(out, "deleted") {
			t.Errorf("template delete: %q", out)
		}
		r := s.fails(t, testAdminKey, "template", "get", "spare")
		if !strings.Contains(r.stderr, "HTTP 404") {
			t.Errorf("deleted template:\n%s", r.stderr)
		}
	})

	t.Run("import", func(t *testing.T) {
		bundle := s.write(t, "bundle.pem", rootPEM)
		var team struct {
			ID string `json:"id"`
		}
		s.okJSON(t, testAdminKey, &team, "team", "create", "ops")
		teamID := team.ID
		r := s.as(testAdminKey, "cert", "import", bundle, "--owner", teamID)
		if r.err != nil {
			t.Fatalf("import: %v\n%s", r.err, r.stderr)
		}
		if !strings.Contains(r.stdout+r.stderr, "Signet Root CA") && !strings.Contains(r.stderr, "skipped") {
			t.Errorf("import printed neither the certificate nor a skip:\n%s\n%s", r.stdout, r.stderr)
		}
	})
}

// TestAuthErrors checks what a bad or missing key prints, and that the key
// itself is never printed.
func TestAuthErrors(t *testing.T) {
	s := startServer(t)
	const wrongKey = "sk_this-is-not-a-valid-key-0123456789"
	tests := []struct {
		name, key string
		want      []string
	}{
		{"wrong key", wrongKey, []string{"invalid_api_key", "HTTP 401"}},
		{"no key", "", []string{"unauthenticated", "HTTP 401"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(envAPIKey, "")
			for _, args := range [][]string{{"me"}, {"cert", "list"}, {"ca", "list", "-o", "json"}} {
				r := s.fails(t, tc.key, args...)
				for _, w := range tc.want {
					if !strings.Contains(r.stderr, w) {
						t.Errorf("%v: stderr lacks %q:\n%s", args, w, r.stderr)
					}
				}
				if strings.Contains(r.stdout+r.stderr, wrongKey) {
					t.Errorf("%v printed the API key", args)
				}
				if code := ExitCode(r.err); code != 1 {
					t.Errorf("%v: exit code %d, want 1", args, code)
				}
			}
		})
	}
}

// TestEnvironment checks SIGNET_SERVER and SIGNET_API_KEY stand in for the flags.
func TestEnvironment(t *testing.T) {
	s := startServer(t)
	t.Setenv(envServer, s.url)
	t.Setenv(envAPIKey, testAdminKey)
	r := execute([]string{"me"}, "")
	if r.err != nil {
		t.Fatalf("me from the environment: %v\n%s", r.err, r.stderr)
	}
	if detailValue(t, r.stdout, "NAME") != "admin" || !strings.HasPrefix(detailValue(t, r.stdout, "ID"), "usr_") {
		t.Errorf("me:\n%s", r.stdout)
	}
	r = execute([]string{"me", "--api-key", "flag-beats-environment-0123456789"}, "")
	if r.err == nil || !strings.Contains(r.stderr, "invalid_api_key") {
		t.Errorf("--api-key should override SIGNET_API_KEY: %v", r.err)
	}
	r = execute([]string{"--help"}, "")
	if strings.Contains(r.stdout, testAdminKey) {
		t.Error("--help shows the API key from the environment")
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
