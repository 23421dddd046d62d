package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/testutil"
)

func TestCAHierarchyCreateIssueDisable(t *testing.T) {
	e := newEnv(t)
	root := e.Must(t, 201, "POST", "/api/v1/cas", admin, map[string]any{
		"name": "corp-root", "kind": "root", "key": map[string]any{"algorithm": "rsa", "bits": 3072},
		"subject":       map[string]any{"common_name": "Corp Root", "organization": []string{"Corp"}, "country": []string{"DE"}},
		"validity_days": 3650, "path_len": 1,
	}).Map(t)
	if root["key_type"] != "RSA-3072" || root["has_key"] != true {
		t.Fatalf("root: %v", root)
	}
	inter := e.Must(t, 201, "POST", "/api/v1/cas", admin, map[string]any{
		"name": "corp-issuing", "kind": "intermediate", "parent": "corp-root", "key": map[string]any{"algorithm": "ed25519"},
		"subject": map[string]any{"common_name": "Corp Issuing"}, "validity_days": 1000, "path_len": 0,
		"name_constraints": map[string]any{"permitted_dns": []string{"corp.example"}},
	}).Map(t)
	if inter["parent_id"] != root["id"] || inter["key_type"] != "Ed25519" {
		t.Fatalf("intermediate: %v", inter)
	}
	// The intermediate verifies against the root with openssl and carries its constraints.
	rootFile := testutil.WriteFile(t, e.dir, "corp-root.pem", []byte(root["certificate_pem"].(string)))
	interFile := testutil.WriteFile(t, e.dir, "corp-issuing.pem", []byte(inter["certificate_pem"].(string)))
	if out := testutil.Openssl(t, e.dir, "verify", "-CAfile", rootFile, interFile); !strings.Contains(out, "OK") {
		t.Fatal(out)
	}
	text := testutil.Openssl(t, e.dir, "x509", "-in", interFile, "-noout", "-text")
	for _, want := range []string{"pathlen:0", "Permitted:", "DNS:corp.example", "Certificate Sign, CRL Sign"} {
		if !strings.Contains(text, want) {
			t.Errorf("intermediate lacks %q:\n%s", want, text)
		}
	}
	// A longer validity than the parent's is refused, and so is a CA under a path-length-0 CA.
	sub := map[string]any{"name": "too-long", "kind": "intermediate", "parent": "corp-root",
		"key": map[string]any{"algorithm": "ecdsa", "bits": 256}, "subject": map[string]any{"common_name": "x"}, "validity_days": 5000}
	if r := e.Must(t, 400, "POST", "/api/v1/cas", admin, sub); r.Map(t)["code"] != "validity_exceeds_issuer" {
		t.Fatalf("want validity_exceeds_issuer, got %s", r.Body)
	}
	sub["parent"], sub["validity_days"] = "corp-issuing", 100
	if r := e.Must(t, 409, "POST", "/api/v1/cas", admin, sub); r.Map(t)["code"] != "ca_path_length" {
		t.Fatalf("want ca_path_length, got %s", r.Body)
	}
	// Issue from the new hierarchy through a profile.
	spec := map[string]any{"key_types": []any{map[string]any{"algorithm": "ecdsa", "min_bits": 256}},
		"subject": []any{map[string]any{"field": "common_name"}}, "sans": map[string]any{"dns": []string{".corp.example"}, "required": true},
		"common_name_in_sans": true, "key_usages": []string{"digital_signature"}, "ext_key_usages": []string{"server_auth"}, "max_validity_days": 90}
	e.Must(t, 201, "POST", "/api/v1/templates", admin, map[string]any{"name": "corp-tls", "spec": spec})
	e.Must(t, 201, "POST", "/api/v1/profiles", admin, map[string]any{"name": "corp-tls", "template": "corp-tls", "ca": "corp-issuing"})
	_, csr := e.csr(t, "corp", "/CN=api.corp.example", "DNS:api.corp.example", ecKey...)
	m := e.Must(t, 201, "POST", "/api/v1/certificates", admin, map[string]any{"profile": "corp-tls", "csr": csr}).Map(t)
	leaf := testutil.WriteFile(t, e.dir, "corp-leaf.pem", []byte(str(m, "certificate", "certificate_pem")))
	chain := e.Must(t, 200, "GET", "/api/v1/cas/corp-issuing/chain", "", nil)
	chainFile := testutil.WriteFile(t, e.dir, "corp-chain.pem", chain.Body)
	if out := testutil.Openssl(t, e.dir, "verify", "-CAfile", rootFile, "-untrusted", chainFile, leaf); !strings.Contains(out, "OK") {
		t.Fatal(out)
	}
	// Disabled CAs issue nothing; re-enabled they do again.
	e.Must(t, 200, "POST", "/api/v1/cas/corp-issuing/disable", admin, nil)
	r := e.Must(t, 409, "POST", "/api/v1/certificates", admin, map[string]any{"profile": "corp-tls", "csr": csr})
	if r.Map(t)["code"] != "ca_disabled" {
		t.Fatalf("want ca_disabled: %s", r.Body)
	}
	e.Must(t, 200, "POST", "/api/v1/cas/corp-issuing/enable", admin, nil)
	e.Must(t, 201, "POST", "/api/v1/certificates", admin, map[string]any{"profile": "corp-tls", "csr": csr})
	list := e.Must(t, 200, "GET", "/api/v1/cas", admin, nil).Map(t)
	if n := len(list["items"].([]any)); n != 4 {
		t.Fatalf("want 4 CAs (default root+issuing, corp root+issuing), got %d", n)
	}
	der := e.Must(t, 200, "GET", "/api/v1/cas/corp-root/certificate?format=der", "", nil)
	if out := testutil.Openssl(t, e.dir, "x509", "-inform", "DER", "-noout", "-subject", "-in",
		testutil.WriteFile(t, e.dir, "root.der", der.Body)); !strings.Contains(out, "Corp Root") {
		t.Fatal(out)
	}
}

func TestImportExternalCAWithAndWithoutKey(t *testing.T) {
	e := newEnv(t)
	// An external CA made by openssl, and a leaf it issued.
	testutil.Openssl(t, e.dir, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", "ext.key", "-out", "ext.pem", "-subj", "/CN=External CA", "-days", "365",
		"-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
	keyPath, _ := e.csr(t, "extleaf", "/CN=legacy.example.net", "", ecKey...)
	testutil.Openssl(t, e.dir, "req", "-new", "-key", keyPath, "-subj", "/CN=legacy.example.net", "-out", "extleaf.csr")
	testutil.Openssl(t, e.dir, "x509", "-req", "-in", "extleaf.csr", "-CA", "ext.pem", "-CAkey", "ext.key",
		"-CAcreateserial", "-days", "30", "-out", "extleaf.pem")
	read := func(n string) string {
		b, err := os.ReadFile(filepath.Join(e.dir, n))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	// Without the key: tracked, but cannot issue.
	ca := e.Must(t, 201, "POST", "/api/v1/cas/import", admin, map[string]any{"name": "external", "certificate": read("ext.pem")}).Map(t)
	if ca["kind"] != "imported" || ca["has_key"] != false {
		t.Fatalf("imported CA: %v", ca)
	}
	// A leaf certificate imported afterwards is linked to it.
	imp := e.Must(t, 200, "POST", "/api/v1/certificates/import", admin, map[string]any{"pem": read("extleaf.pem")}).Map(t)
	items := imp["imported"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["ca_id"] != ca["id"] || items[0].(map[string]any)["source"] != "imported" {
		t.Fatalf("import: %v", imp)
	}
	// A profile on a keyless CA is refused with a reason.
	r := e.Must(t, 400, "POST", "/api/v1/profiles", admin, map[string]any{"name": "ext", "template": "tls-server", "ca": "external"})
	if !strings.Contains(string(r.Body), "ca_has_no_key") {
		t.Fatalf("want ca_has_no_key: %s", r.Body)
	}
	// With the key (a second CA record from another openssl CA): it can issue.
	testutil.Openssl(t, e.dir, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384", "-nodes",
		"-keyout", "ext2.key", "-out", "ext2.pem", "-subj", "/CN=External CA 2", "-days", "365",
		"-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature")
	r = e.Must(t, 400, "POST", "/api/v1/cas/import", admin, map[string]any{"name": "mismatch", "certificate": read("ext2.pem"), "private_key": read("ext.key")})
	if r.Map(t)["code"] != "key_mismatch" {
		t.Fatalf("want key_mismatch: %s", r.Body)
	}
	e.Must(t, 201, "POST", "/api/v1/cas/import", admin, map[string]any{"name": "external2", "certificate": read("ext2.pem"), "private_key": read("ext2.key")})
	e.Must(t, 201, "POST", "/api/v1/profiles", admin, map[string]any{"name": "ext2", "template": "tls-server", "ca": "external2"})
	_, csr := e.csr(t, "viaext", "/CN=via.example.net", "DNS:via.example.net", ecKey...)
	m := e.Must(t, 201, "POST", "/api/v1/certificates", admin, map[string]any{"profile": "ext2", "csr": csr}).Map(t)
	leaf := testutil.WriteFile(t, e.dir, "via.pem", []byte(str(m, "certificate", "certificate_pem")))
	if out := testutil.Openssl(t, e.dir, "verify", "-CAfile", filepath.Join(e.dir, "ext2.pem"), leaf); !strings.Contains(out, "OK") {
		t.Fatal(out)
	}
	// Not a CA certificate.
	r = e.Must(t, 400, "POST", "/api/v1/cas/import", admin, map[string]any{"name": "leaf", "certificate": read("extleaf.pem")})
	if r.Map(t)["code"] != "not_a_ca" {
		t.Fatalf("want not_a_ca: %s", r.Body)
	}
}
