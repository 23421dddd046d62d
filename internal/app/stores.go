package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/config"
	"github.com/signet-pki/signet/internal/store"
	"github.com/signet-pki/signet/internal/store/sqlite"
)

// OpenStore opens a store named the way `signet migrate` and `--database`
// name them: "sqlite:PATH" (a database file, or a data directory holding
// signet.db) or a bare path.
func OpenStore(ctx context.Context, spec string, now func() time.Time) (store.Store, error) {
	switch {
	case strings.HasPrefix(spec, "postgres://"), strings.HasPrefix(spec, "postgresql://"):
		return nil, fmt.Errorf("%s: PostgreSQL is not built into this version yet", redact(spec))
	default:
		path := strings.TrimPrefix(spec, "sqlite:")
		if fi, err := os.Stat(path); err == nil && fi.IsDir() {
			path = (&config.Config{DataDir: path}).DatabasePath()
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		return sqlite.Open(ctx, path, sqlite.Options{Clock: now})
	}
}

// redact hides a password in a database URL before it is printed.
func redact(url string) string {
	scheme, rest, ok := strings.Cut(url, "://")
	if !ok {
		return url
	}
	cred, host, ok := strings.Cut(rest, "@")
	if !ok {
		return url
	}
	if user, _, hasPass := strings.Cut(cred, ":"); hasPass {
		return scheme + "://" + user + ":***@" + host
	}
	return url
}
