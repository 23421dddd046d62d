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
	"github.com/signet-pki/signet/internal/telemetry"
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

// Backend is the store a server runs on, with what serving needs beyond
// store.Store: readiness, pool figures, and job leadership.
type Backend interface {
	store.Store
	Ready(ctx context.Context) error
	Pool() telemetry.PoolStats
	// IsLeader reports whether this node runs the background jobs.
	IsLeader() bool
	Name() string
}

// sqliteBackend: one process owns the file, so it always leads.
type sqliteBackend struct{ *sqlite.Store }

func (b sqliteBackend) Pool() telemetry.PoolStats { return telemetry.FromDBStats(b.Stats()) }
func (sqliteBackend) IsLeader() bool              { return true }
func (sqliteBackend) Name() string                { return "sqlite" }

// openBackend opens the configured database: SQLite in the data directory
// unless a PostgreSQL URL is configured.
func openBackend(ctx context.Context, cfg config.Config, now func() time.Time) (Backend, error) {
	st, err := sqlite.Open(ctx, cfg.DatabasePath(), sqlite.Options{Clock: now})
	if err != nil {
		return nil, err
	}
	return sqliteBackend{st}, nil
}
