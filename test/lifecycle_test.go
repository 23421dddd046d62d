package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/testutil"
)

func (e *env) issue(t *testing.T, key, name string) (serial, keyPath string) {
	t.Helper()
	keyPath, csr := e.csr(t, name, "/CN="+name+".example.com", "DNS:"+name+".example.com", ecKey...)
	m := e.Must(t, 201, "POST", "/api/v1/certificates", key, map[string]any{"profile": "tls-server", "csr": csr}).Map(t)
	return str(m, "certificate", "serial"), keyPath
}

func TestRenewSameKeyAndRekeyLinksCertificates(t *testing.T) {
	e := newEnv(t)
	serial, keyPath := e.issue(t, admin, "renew")
	// Same key, new CSR.
	csr := e.csrForKey(t, "renew2", keyPath, "/CN=renew.example.com", "DNS:renew.example.com")
	r1 := e.Must(t, 201, "POST", "/api/v1/certificates/"+serial+"/renew", admin, map[string]any{"csr": csr}).Map(t)
	next := str(r1, "certificate", "serial")
	if next == serial || str(r1, "certificate", "renewed_from") != serial || str(r1, "request", "kind") != "renew" {
		t.Fatalf("renewal: %v", r1)
	}
	old := e.Must(t, 200, "GET", "/api/v1/certificates/"+serial, admin, nil).Map(t)
	if old["renewed_by"] != next {
		t.Fatalf("old certificate not linked to its successor: %v", old)
	}
	e.verify(t, "renewed", str(r1, "certificate", "certificate_pem"), r1["chain_pem"].(string))
	// Renewing the same certificate twice is refused.
	if r := e.Must(t, 409, "POST", "/api/v1/certificates/"+serial+"/renew", admin, map[string]any{"csr": csr}); r.Map(t)["code"] != "certificate_already_renewed" {
		t.Fatalf("second renewal: %s", r.Body)
	}
	// Server re-key keeps the names and returns a new key.
	r2 := e.Must(t, 201, "POST", "/api/v1/certificates/"+next+"/renew", admin, map[string]any{"keygen": map[string]any{"algorithm": "ecdsa", "bits": 256}}).Map(t)
	if r2["private_key_pem"] == nil || str(r2, "certificate", "common_name") != "renew.example.com" {
		t.Fatalf("rekey: %v", r2)
	}
	sans := r2["certificate"].(map[string]any)["sans"].([]any)
	if len(sans) != 1 || sans[0] != "renew.example.com" {
		t.Fatalf("rekey lost SANs: %v", sans)
	}
	newKey := testutil.WriteFile(t, e.dir, "rekey.key", []byte(r2["private_key_pem"].(string)))
	oldPub := testutil.Openssl(t, e.dir, "pkey", "-in", keyPath, "-pubout")
	newPub := testutil.Openssl(t, e.dir, "pkey", "-in", newKey, "-pubout")
	if oldPub == newPub {
		t.Fatal("re-key reused the old key")
	}
}

func TestRevokeSuspendResume(t *testing.T) {
	e := newEnv(t)
	serial, keyPath := e.issue(t, admin, "rev")
	// Suspend and resume.
	s := e.Must(t, 200, "POST", "/api/v1/certificates/"+serial+"/suspend", admin, nil).Map(t)
	if s["status"] != "on_hold" || s["revocation_reason"] != "certificate_hold" {
		t.Fatalf("suspend: %v", s)
	}
	if r := e.Must(t, 409, "POST", "/api/v1/certificates/"+serial+"/suspend", admin, nil); r.Map(t)["code"] != "certificate_not_active" {
		t.Fatalf("second suspend: %s", r.Body)
	}
	rs := e.Must(t, 200, "POST", "/api/v1/certificates/"+serial+"/resume", admin, nil).Map(t)
	if rs["status"] != "active" || rs["revoked_at"] != nil {
		t.Fatalf("resume: %v", rs)
	}
	if r := e.Must(t, 409, "POST", "/api/v1/certificates/"+serial+"/resume", admin, nil); r.Map(t)["code"] != "certificate_not_on_hold" {
		t.Fatalf("resume of active: %s", r.Body)
	}
	// Revoke with an RFC 5280 reason; twice is a conflict; revoked cannot be renewed.
	if r := e.Must(t, 400, "POST", "/api/v1/certificates/"+serial+"/revoke", admin, map[string]any{"reason": "bored"}); r.Map(t)["code"] != "reason_invalid" {
		t.Fatalf("bad reason: %s", r.Body)
	}
	rv := e.Must(t, 200, "POST", "/api/v1/certificates/"+serial+"/revoke", admin, map[string]any{"reason": "keyCompromise"}).Map(t)
	if rv["status"] != "revoked" || rv["revocation_reason"] != "key_compromise" || rv["revoked_at"] == nil {
		t.Fatalf("revoke: %v", rv)
	}
	if r := e.Must(t, 409, "POST", "/api/v1/certificates/"+serial+"/revoke", admin, map[string]any{"reason": "superseded"}); r.Map(t)["code"] != "certificate_already_revoked" {
		t.Fatalf("double revoke: %s", r.Body)
	}
	csr := e.csrForKey(t, "rev2", keyPath, "/CN=rev.example.com", "DNS:rev.example.com")
	if r := e.Must(t, 409, "POST", "/api/v1/certificates/"+serial+"/renew", admin, map[string]any{"csr": csr}); r.Map(t)["code"] != "certificate_not_active" {
		t.Fatalf("renew revoked: %s", r.Body)
	}
	if r := e.Must(t, 409, "POST", "/api/v1/certificates/"+serial+"/resume", admin, nil); r.Map(t)["code"] != "certificate_not_on_hold" {
		t.Fatalf("resume revoked: %s", r.Body)
	}
	// A requester may revoke only their own certificates.
	alice := e.newKey(t, "alice", "requester")
	mallory := e.newKey(t, "mallory", "requester")
	own, _ := e.issue(t, alice, "alice")
	if r := e.Must(t, 403, "POST", "/api/v1/certificates/"+own+"/revoke", mallory, nil); r.Map(t)["code"] != "not_owner" {
		t.Fatalf("foreign revoke: %s", r.Body)
	}
	e.Must(t, 200, "POST", "/api/v1/certificates/"+own+"/revoke", alice, nil)
}

func TestImportBundleFromAnyIssuer(t *testing.T) {
	e := newEnv(t)
	var bundle strings.Builder
	for _, cn := range []string{"old-a.example.org", "old-b.example.org"} {
		testutil.Openssl(t, e.dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", cn+".key", "-out", cn+".pem",
			"-subj", "/CN="+cn, "-days", "20", "-addext", "subjectAltName=DNS:"+cn)
		b, err := os.ReadFile(filepath.Join(e.dir, cn+".pem"))
		if err != nil {
			t.Fatal(err)
		}
		bundle.Write(b)
	}
	team := e.Must(t, 201, "POST", "/api/v1/teams", admin, map[string]any{"name": "legacy-team"}).Map(t)["id"].(string)
	m := e.Must(t, 200, "POST", "/api/v1/certificates/import", admin, map[string]any{"pem": bundle.String(), "owner": team}).Map(t)
	if n := len(m["imported"].([]any)); n != 2 {
		t.Fatalf("imported %d, want 2: %v", n, m)
	}
	// Importing again skips both instead of duplicating.
	again := e.Must(t, 200, "POST", "/api/v1/certificates/import", admin, map[string]any{"pem": bundle.String()}).Map(t)
	if len(again["imported"].([]any)) != 0 || len(again["skipped"].([]any)) != 2 {
		t.Fatalf("re-import: %v", again)
	}
	list := e.Must(t, 200, "GET", "/api/v1/certificates?source=imported&owner="+team+"&expiring_within=30d&total=true", admin, nil).Map(t)
	if list["total"].(float64) != 2 {
		t.Fatalf("inventory of imported certificates: %v", list)
	}
	r := e.Must(t, 400, "POST", "/api/v1/certificates/import", admin, map[string]any{"pem": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"})
	if code := r.Map(t)["code"]; code != "certificate_malformed" {
		t.Fatalf("garbage import: %s", r.Body)
	}
}

// TestImportJavaKeyStore: `signet cert import` reads a JKS made by
// keytool (a key pair's certificate and a trusted certificate) with the
// store's password, locally; a wrong password is said, not guessed around.
func TestImportJavaKeyStore(t *testing.T) {
	e := newEnv(t)
	keytool := func(args ...string) {
		t.Helper()
		cmd := exec.Command("keytool", args...)
		cmd.Dir = e.dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("keytool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	store := []string{"-keystore", "app.jks", "-storetype", "JKS", "-storepass", "changeit"}
	keytool(append([]string{"-genkeypair", "-alias", "app", "-keyalg", "EC", "-groupname", "secp256r1",
		"-dname", "CN=jks-app.example.org", "-validity", "30", "-keypass", "changeit"}, store...)...)
	e.opensslCert(t, "ext", "/CN=jks-trusted.example.org")
	keytool(append([]string{"-importcert", "-noprompt", "-alias", "partner", "-file", "ext.pem"}, store...)...)

	jks := filepath.Join(e.dir, "app.jks")
	if _, errOut, err := runCLI("--server", e.URL, "--api-key", admin, "cert", "import", jks, "--password", "wrong-one"); err == nil ||
		!strings.Contains(errOut+err.Error(), "Java KeyStore this password opens") {
		t.Fatalf("import with a wrong password: %v\n%s", err, errOut)
	}
	out, errOut, err := runCLI("--server", e.URL, "--api-key", admin, "cert", "import", jks, "--password", "changeit", "-o", "json")
	if err != nil || !strings.Contains(out, "jks-app.example.org") || !strings.Contains(out, "jks-trusted.example.org") {
		t.Fatalf("import of a JKS: %v\n%s\n%s", err, out, errOut)
	}
}

// TestImportPKCS7Bundles: a .p7b (what Windows CAs and vendors' download
// pages give) imports through the API as PEM and through the CLI as DER,
// both made by openssl; a damaged one is refused with its own code.
func TestImportPKCS7Bundles(t *testing.T) {
	e := newEnv(t)
	var files []string
	for _, cn := range []string{"p7-a.example.org", "p7-b.example.org", "p7-c.example.org"} {
		files = append(files, e.opensslCert(t, cn, "/CN="+cn, "-addext", "subjectAltName=DNS:"+cn))
	}
	testutil.Openssl(t, e.dir, "crl2pkcs7", "-nocrl", "-certfile", files[0], "-certfile", files[1], "-out", "ab.p7b")
	testutil.Openssl(t, e.dir, "crl2pkcs7", "-nocrl", "-certfile", files[2], "-outform", "DER", "-out", "c.p7b")
	p7PEM, err := os.ReadFile(filepath.Join(e.dir, "ab.p7b"))
	if err != nil || !strings.Contains(string(p7PEM), "BEGIN PKCS7") {
		t.Fatalf("openssl's .p7b: %v %.80s", err, p7PEM)
	}
	m := e.Must(t, 200, "POST", "/api/v1/certificates/import", admin, map[string]any{"pem": string(p7PEM)}).Map(t)
	if n := len(m["imported"].([]any)); n != 2 {
		t.Fatalf("imported %d from the PEM .p7b, want 2: %v", n, m)
	}
	out, errOut, err := runCLI("--server", e.URL, "--api-key", admin, "cert", "import", filepath.Join(e.dir, "c.p7b"), "-o", "json")
	if err != nil || !strings.Contains(out, "p7-c.example.org") {
		t.Fatalf("signet cert import of a DER .p7b: %v\n%s\n%s", err, out, errOut)
	}
	list := e.Must(t, 200, "GET", "/api/v1/certificates?source=imported&q=p7-&total=true", admin, nil).Map(t)
	if list["total"].(float64) != 3 {
		t.Fatalf("imported certificates: %v", list)
	}
	damaged := strings.Replace(string(p7PEM), "\n", "\nAAAA", 3)
	r := e.Must(t, 400, "POST", "/api/v1/certificates/import", admin, map[string]any{"pem": damaged})
	if code := r.Map(t)["code"]; code != "pkcs7_malformed" {
		t.Fatalf("damaged .p7b: %s", r.Body)
	}
}
