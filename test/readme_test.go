package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	shellBlock   = regexp.MustCompile("(?s)```sh\n(.*?)```")
	readmeKeyVar = regexp.MustCompile(`(?m)^export SIGNET_API_KEY=sgt_\.\.\..*$`)
)

// TestREADMEWalkthrough runs the README's 5-minute walkthrough as written:
// its shell blocks in order, in a fresh directory, against the real binary
// started as the first block says. Only what a reader fills in is
// substituted: the address (the test's own port instead of 8443), the admin
// key printed on first start, and the CLI built from this checkout.
func TestREADMEWalkthrough(t *testing.T) {
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(raw), "\n## A 5-minute walkthrough\n")
	if !ok {
		t.Fatal("README has no walkthrough section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var blocks []string
	for _, m := range shellBlock.FindAllStringSubmatch(section, -1) {
		blocks = append(blocks, m[1])
	}
	if len(blocks) < 6 || !strings.HasPrefix(blocks[0], "go run ./cmd/signet serve\n") {
		t.Fatalf("walkthrough blocks: %q", blocks)
	}

	dir := t.TempDir()
	p := startSignet(t, nil, "--data-dir", filepath.Join(dir, "signet-data"))
	key := adminKeyLine.FindStringSubmatch(p.text())
	if key == nil {
		t.Fatalf("no admin key printed on first start:\n%s", p.text())
	}
	script := strings.Join(blocks[1:], "\n")
	if !readmeKeyVar.MatchString(script) || !strings.Contains(script, "go build -o signet ./cmd/signet\n") {
		t.Fatalf("the walkthrough no longer sets the key or builds the CLI as this test expects:\n%s", script)
	}
	script = readmeKeyVar.ReplaceAllLiteralString(script, "export SIGNET_API_KEY="+key[1])
	script = strings.ReplaceAll(script, "go build -o signet ./cmd/signet\n", "cp "+signetBinary(t)+" signet\n")
	script = strings.ReplaceAll(script, "https://127.0.0.1:8443", p.url)

	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("walkthrough failed: %v\n%s\nserver:\n%s", err, out, p.text())
	}
	for _, want := range []string{
		"app.crt: OK",            // openssl verify of the server-generated key's certificate
		"key_compromise",         // the revoked certificate, shown by cert get
		"\"/api/v1/certificates", // the OpenAPI document's paths
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("walkthrough output lacks %q:\n%s", want, out)
		}
	}
	for _, f := range []string{"app.key", "app.crt", "chain.pem", "web.csr", "web.crt"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("the walkthrough left no %s: %v", f, err)
		}
	}
	t.Logf("walkthrough output:\n%s", out)
}
