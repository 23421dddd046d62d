package test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/testutil"
)

// TestBackupWhileServingAndRestore snapshots a serving data directory,
// restores it into a fresh one and issues, revokes and verifies there.
func TestBackupWhileServingAndRestore(t *testing.T) {
	e := newEnv(t)
	var before []string
	for _, n := range []string{"b1", "b2", "b3"} {
		s, _ := e.issue(t, admin, n)
		before = append(before, s)
	}
	e.Must(t, 200, "POST", "/api/v1/certificates/"+before[0]+"/revoke", admin, map[string]any{"reason": "superseded"})
	snapshot := filepath.Join(t.TempDir(), "snap.db")
	if out, _, err := runCLI("backup", "--data-dir", e.DataDir, "--out", snapshot); err != nil || !strings.Contains(out, "backup written") {
		t.Fatalf("backup while serving: %v %s", err, out)
	}
	after, _ := e.issue(t, admin, "after-backup")
	if _, _, err := runCLI("backup", "--data-dir", e.DataDir, "--out", snapshot); err == nil {
		t.Fatal("backup overwrote an existing file")
	}

	restored := filepath.Join(t.TempDir(), "restored")
	out, _, err := runCLI("restore", "--from", snapshot, "--data-dir", restored)
	if err != nil || !strings.Contains(out, "audit chain intact") {
		t.Fatalf("restore: %v %s", err, out)
	}
	if _, _, err := runCLI("restore", "--from", snapshot, "--data-dir", restored); err == nil {
		t.Fatal("restore over an existing database should be refused")
	}
	r := &env{Server: testutil.StartServerAt(t, restored), dir: t.TempDir(), principals: map[string]string{}}
	for i, s := range before {
		c := r.Must(t, 200, "GET", "/api/v1/certificates/"+s, admin, nil).Map(t)
		if want := map[bool]string{true: "revoked", false: "active"}[i == 0]; c["status"] != want {
			t.Fatalf("restored certificate %s is %v, want %s", s, c["status"], want)
		}
	}
	r.Must(t, 404, "GET", "/api/v1/certificates/"+after, admin, nil)
	s, _ := r.issue(t, admin, "on-restored")
	r.Must(t, 200, "POST", "/api/v1/certificates/"+s+"/revoke", admin, map[string]any{"reason": "key_compromise"})
	if v := r.Must(t, 200, "GET", "/api/v1/audit-events/verify", admin, nil).Map(t); v["ok"] != true {
		t.Fatalf("audit chain on the restored server: %v", v)
	}
}
