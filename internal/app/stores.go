package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/config"
	"github.com/signet-pki/signet/internal/store"
	"github.com/signet-pki/signet/internal/store/postgres"
	"github.com/signet-pki/signet/internal/store/sqlite"
	"github.com/signet-pki/signet/internal/telemetry"
)

// OpenStore opens a store named the way `signet migrate` and `--database`
// name them: "sqlite:PATH" (a database file, or a data directory holding
// signet.db) or a bare path.
func OpenStore(ctx context.Context, spec string, now func() time.Time) (store.Store, error) {
	switch {
	case isPostgres(spec):
		st, err := postgres.Open(ctx, spec, postgres.Options{Clock: now})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", redact(spec), err)
		}
		return st, nil
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
func openBackend(ctx context.Context, cfg config.Config, now func() time.Time, log *slog.Logger) (Backend, error) {
	if isPostgres(cfg.Database) {
		st, err := postgres.Open(ctx, cfg.Database, postgres.Options{Clock: now, Logger: log})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", redact(cfg.Database), err)
		}
		leader, err := postgres.NewLeader(cfg.Database, postgres.LeaderOptions{Logger: log})
		if err != nil {
			return nil, errors.Join(err, st.Close())
		}
		return &postgresBackend{Store: st, leader: leader}, nil
	}
	st, err := sqlite.Open(ctx, cfg.DatabasePath(), sqlite.Options{Clock: now})
	if err != nil {
		return nil, err
	}
	return sqliteBackend{st}, nil
}

func isPostgres(spec string) bool {
	return strings.HasPrefix(spec, "postgres://") || strings.HasPrefix(spec, "postgresql://")
}

// postgresBackend: several nodes share the database; the one holding the
// advisory lock runs the background jobs.
type postgresBackend struct {
	*postgres.Store
	leader *postgres.Leader
}

func (b *postgresBackend) Pool() telemetry.PoolStats { return telemetry.FromDBStats(b.Stats()) }
func (b *postgresBackend) IsLeader() bool            { return b.leader.IsLeader() }
func (b *postgresBackend) Name() string              { return "postgres" }

// Close releases leadership first, so another node takes over at once.
func (b *postgresBackend) Close() error { return errors.Join(b.leader.Close(), b.Store.Close()) }
