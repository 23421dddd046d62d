package test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDigiCertTutorialScript runs test/compat/digicert/tutorial.sh (the
// DigiCert TLM "Request a TLS certificate" tutorial with curl, jq and
// openssl) against the real binary over HTTPS: once under the main
// listener's /compat/digicert prefix and once at the root of a
// compat_listeners listener, where the vendor's paths are used unchanged.
func TestDigiCertTutorialScript(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is required (scripts/test installs it): %v", tool, err)
		}
	}
	dataDir := t.TempDir()
	port := strconv.Itoa(freePort(t))
	cfg := filepath.Join(t.TempDir(), "signet.yaml")
	if err := os.WriteFile(cfg, []byte("compat_listeners:\n  - api: digicert\n    listen: 127.0.0.1:"+port+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	key := "digicert-tutorial-admin-key-0123456789"
	p := startSignet(t, []string{"SIGNET_ADMIN_API_KEY=" + key, "SIGNET_KEY_PASSPHRASE=digicert-tutorial-passphrase"},
		"--data-dir", dataDir, "--config", cfg)
	if !strings.HasPrefix(p.url, "https://") {
		t.Fatalf("want HTTPS, got %s", p.url)
	}
	for _, tc := range []struct{ name, base string }{
		{"prefix", p.url + "/compat/digicert"},
		{"own listener", "https://127.0.0.1:" + port},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "bash", "compat/digicert/tutorial.sh")
			cmd.Env = append(os.Environ(), "BASE="+tc.base, "API_KEY="+key, "CACERT="+filepath.Join(dataDir, "ca-root.pem"),
				"WORKDIR="+t.TempDir(), "SIGNET_URL="+p.url, "SEAT_ID=tutorial-"+strings.ReplaceAll(tc.name, " ", "-")+"@example.com")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("tutorial.sh against %s: %v\n%s\nserver output:\n%s", tc.base, err, out, p.text())
			}
			if !strings.Contains(string(out), "OK: DigiCert tutorial passed") {
				t.Fatalf("tutorial.sh did not finish:\n%s", out)
			}
		})
	}
}
