package test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// compatScriptTools fails the test unless the acceptance scripts' tools are here.
func compatScriptTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"bash", "curl", "jq", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is required (scripts/test installs it): %v", tool, err)
		}
	}
}

// nativePost calls the native API of a real binary over HTTPS, trusting its root.
func nativePost(t *testing.T, dataDir, url, key string, body any) {
	t.Helper()
	root, err := os.ReadFile(filepath.Join(dataDir, "ca-root.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(root)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 201 {
		t.Fatalf("POST %s: %d %s", url, resp.StatusCode, out)
	}
}

// runCompatScript runs one acceptance script with env and wants its OK line.
func runCompatScript(t *testing.T, script, okLine string, p *process, env ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", script)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s\nserver output:\n%s", script, err, out, p.text())
	}
	if !strings.Contains(string(out), okLine) {
		t.Fatalf("%s did not finish:\n%s", script, out)
	}
}

// TestNotaryWorkflowScript runs test/compat/notary/workflow.sh (the seed's
// certificate-request workflow with curl, jq and openssl) against the real
// binary over HTTPS, under /compat/notary and at the root of its own
// compat_listeners listener; then restarts the binary and checks that the
// numeric ids still name the same requests and CAs.
func TestNotaryWorkflowScript(t *testing.T) {
	compatScriptTools(t)
	dataDir := t.TempDir()
	port := strconv.Itoa(freePort(t))
	cfg := filepath.Join(t.TempDir(), "signet.yaml")
	if err := os.WriteFile(cfg, []byte("compat_listeners:\n  - api: notary\n    listen: 127.0.0.1:"+port+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	key := "notary-workflow-admin-key-0123456789"
	env := []string{"SIGNET_ADMIN_API_KEY=" + key, "SIGNET_KEY_PASSPHRASE=notary-workflow-passphrase"}
	p := startSignet(t, env, "--data-dir", dataDir, "--config", cfg)
	nativePost(t, dataDir, p.url+"/api/v1/profiles", key, map[string]any{"name": "notary-tls", "template": "tls-server",
		"ca": "signet-issuing", "enrollment_methods": []string{"notary"}})
	runs := []struct{ name, base, workdir, email string }{
		{"prefix", p.url + "/compat/notary", t.TempDir(), "prefix-manager@example.com"},
		{"own listener", "https://127.0.0.1:" + port, t.TempDir(), "listener-manager@example.com"},
	}
	caCert := "CACERT=" + filepath.Join(dataDir, "ca-root.pem")
	for _, run := range runs {
		t.Run(run.name, func(t *testing.T) {
			runCompatScript(t, "compat/notary/workflow.sh", "OK: Notary workflow passed", p,
				"BASE="+run.base, "API_KEY="+key, caCert, "WORKDIR="+run.workdir, "EMAIL="+run.email)
		})
	}
	p.stop(t)
	p2 := startSignet(t, env, "--data-dir", dataDir, "--config", cfg)
	for _, run := range runs {
		base := p2.url + "/compat/notary"
		if run.name == "own listener" {
			base = run.base
		}
		t.Run(run.name+" after restart", func(t *testing.T) {
			runCompatScript(t, "compat/notary/workflow.sh", "OK: Notary ids stable across restart", p2,
				"BASE="+base, "API_KEY="+key, caCert, "WORKDIR="+run.workdir, "PHASE=check")
		})
	}
}
