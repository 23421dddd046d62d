package test

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/testutil"
)

// TestDeviceEnrollmentOutOfTheBox: the real binary's first start, with no
// configuration, answers EST cacerts and simpleenroll (admin + the printed
// admin key), SCEP GetCACaps and CMP genm on the default profile
// (tls-server), over its HTTPS listener, with curl and openssl cmp.
func TestDeviceEnrollmentOutOfTheBox(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	p := startSignet(t, nil, "--data-dir", dataDir)
	m := adminKeyLine.FindStringSubmatch(p.text())
	if m == nil {
		t.Fatalf("no admin key printed:\n%s", p.text())
	}
	key, root, dir := m[1], filepath.Join(dataDir, "ca-root.pem"), t.TempDir()
	curl := func(out, path string, args ...string) int {
		t.Helper()
		full := append([]string{"-sS", "--max-time", "30", "--cacert", root, "-o", filepath.Join(dir, out), "-w", "%{http_code}"}, args...)
		cmd := exec.Command("curl", append(full, p.url+path)...)
		cmd.Dir = dir
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("curl %s: %v\n%s", path, err, stderr.String())
		}
		var code int
		if _, err := fmt.Sscan(stdout.String(), &code); err != nil {
			t.Fatalf("curl status %q: %v", stdout.String(), err)
		}
		return code
	}

	if curl("cacerts.b64", "/.well-known/est/tls-server/cacerts") != 200 {
		t.Fatal("EST cacerts on the default profile")
	}
	testutil.Openssl(t, dir, "base64", "-d", "-in", "cacerts.b64", "-out", "cacerts.p7")
	testutil.Openssl(t, dir, "pkcs7", "-inform", "DER", "-in", "cacerts.p7", "-print_certs", "-out", "cacerts.pem")
	if pemText := readFile(t, filepath.Join(dir, "cacerts.pem")); strings.Count(pemText, "BEGIN CERTIFICATE") != 2 {
		t.Fatalf("EST cacerts:\n%s", pemText)
	}
	testutil.Openssl(t, dir, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "dev.key",
		"-subj", "/CN=router1.example.com", "-addext", "subjectAltName=DNS:router1.example.com", "-outform", "DER", "-out", "dev.der")
	testutil.Openssl(t, dir, "base64", "-in", "dev.der", "-out", "dev.b64")
	if curl("dev.p7.b64", "/.well-known/est/simpleenroll", "-u", "admin:"+key, "-H", "Content-Type: application/pkcs10",
		"--data-binary", "@dev.b64") != 200 {
		t.Fatalf("EST simpleenroll with admin and the printed admin key: %s", readFile(t, filepath.Join(dir, "dev.p7.b64")))
	}
	testutil.Openssl(t, dir, "base64", "-d", "-in", "dev.p7.b64", "-out", "dev.p7")
	testutil.Openssl(t, dir, "pkcs7", "-inform", "DER", "-in", "dev.p7", "-print_certs", "-out", "dev.pem")
	if out := testutil.Openssl(t, dir, "verify", "-CAfile", root, "-untrusted", "cacerts.pem", "dev.pem"); !strings.Contains(out, "OK") {
		t.Fatalf("openssl verify: %s", out)
	}

	if curl("caps.txt", "/scep/tls-server?operation=GetCACaps") != 200 {
		t.Fatal("SCEP GetCACaps on the default profile")
	}
	if caps := readFile(t, filepath.Join(dir, "caps.txt")); !strings.Contains(caps, "POSTPKIOperation") || !strings.Contains(caps, "Renewal") {
		t.Fatalf("GetCACaps: %q", caps)
	}

	host := strings.TrimPrefix(p.url, "https://")
	for _, path := range []string{"cmp/tls-server", ".well-known/cmp"} {
		out, err := testutil.OpensslErr(dir, "cmp", "-server", host, "-tls_used", "-tls_trusted", root, "-path", path, "-cmd", "genm",
			"-unprotected_requests", "-ref", "anonymous", "-trusted", root, "-msg_timeout", "20", "-total_timeout", "40")
		if err != nil || !strings.Contains(out, "GENP") {
			t.Fatalf("CMP genm at /%s: %v\n%s", path, err, out)
		}
	}
}
