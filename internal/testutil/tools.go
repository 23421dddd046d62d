package testutil

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// tools remembers the builds of this test process, one per package@version.
var tools sync.Map // string -> *toolBuild

type toolBuild struct {
	once sync.Once
	path string
	err  error
}

// GoTool builds a command from the Go module proxy (pkg@version, e.g.
// "github.com/letsencrypt/pebble/v2/cmd/pebble@v2.10.3") and returns the
// binary's path. The binary is kept under os.TempDir(), keyed by package
// and version, so later runs on the machine reuse it; cgo is off, so no C
// library is needed (no test uses what cgo would add, such as step-ca's
// YubiKey support).
func GoTool(t testing.TB, pkgAtVersion string) string {
	t.Helper()
	v, _ := tools.LoadOrStore(pkgAtVersion, &toolBuild{})
	b := v.(*toolBuild)
	b.once.Do(func() {
		pkg, version, ok := strings.Cut(pkgAtVersion, "@")
		if !ok {
			b.err = fmt.Errorf("GoTool(%q): want package@version", pkgAtVersion)
			return
		}
		dir := filepath.Join(os.TempDir(), "signet-test-tools", strings.NewReplacer("/", "_", "@", "_").Replace(pkgAtVersion))
		b.path = filepath.Join(dir, path.Base(pkg))
		if _, err := os.Stat(b.path); err == nil {
			return
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.err = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "install", pkg+"@"+version)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=", "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("build %s: %v\n%s", pkgAtVersion, err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}
