package test

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TestInfisicalWorkflowScript runs test/compat/infisical/workflow.sh (the
// seed's API-enrollment workflow with curl, jq and openssl) against the real
// binary over HTTPS, under /compat/infisical and at the root of its own
// compat_listeners listener.
func TestInfisicalWorkflowScript(t *testing.T) {
	compatScriptTools(t)
	dataDir := t.TempDir()
	port := strconv.Itoa(freePort(t))
	cfg := filepath.Join(t.TempDir(), "signet.yaml")
	if err := os.WriteFile(cfg, []byte("compat_listeners:\n  - api: infisical\n    listen: 127.0.0.1:"+port+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	key := "infisical-workflow-admin-key-0123456789"
	p := startSignet(t, []string{"SIGNET_ADMIN_API_KEY=" + key, "SIGNET_KEY_PASSPHRASE=infisical-workflow-passphrase"},
		"--data-dir", dataDir, "--config", cfg)
	for i, run := range []struct{ name, base string }{
		{"prefix", p.url + "/compat/infisical"},
		{"own listener", "https://127.0.0.1:" + port},
	} {
		t.Run(run.name, func(t *testing.T) {
			runCompatScript(t, "compat/infisical/workflow.sh", "OK: Infisical workflow passed", p,
				"SIGNET="+p.url, "BASE="+run.base, "API_KEY="+key, "CACERT="+filepath.Join(dataDir, "ca-root.pem"),
				"WORKDIR="+t.TempDir(), "SUFFIX="+strconv.Itoa(i))
		})
	}
}
