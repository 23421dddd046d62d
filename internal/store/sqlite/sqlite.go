// Package sqlite is Signet's embedded store: one SQLite file in WAL mode, a
// single writer connection fed by a group-commit loop, and a pool of
// read-only connections for queries.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/signet-pki/signet/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Options tune the store; zero values are sensible defaults.
type Options struct {
	MaxBatch    int              // most update functions per transaction (default 256)
	Clock       func() time.Time // for audit bookkeeping (default time.Now)
	ReadConns   int              // read pool size (default 4)
	Synchronous string           // FULL (default: a commit survives power loss) or NORMAL
}

// Store is the SQLite implementation of store.Store.
type Store struct {
	write *sql.DB // exactly one connection: SQLite has one writer anyway
	read  *sql.DB
	opts  Options
	w     *writer
	reader
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database at path and applies migrations.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.ReadConns <= 0 {
		opts.ReadConns = 4
	}
	if opts.Synchronous == "" {
		opts.Synchronous = "FULL"
	}
	pragmas := []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(" + opts.Synchronous + ")"}
	write, err := sql.Open("sqlite", dsn(path, pragmas, "_txlock=immediate"))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	if err := migrate(ctx, write); err != nil {
		_ = write.Close()
		return nil, err
	}
	read, err := sql.Open("sqlite", dsn(path, append(pragmas, "query_only(1)")))
	if err != nil {
		_ = write.Close()
		return nil, fmt.Errorf("open %s for reading: %w", path, err)
	}
	read.SetMaxOpenConns(opts.ReadConns)
	read.SetMaxIdleConns(opts.ReadConns)
	s := &Store{write: write, read: read, opts: opts, reader: reader{q: read}}
	if s.w, err = startWriter(ctx, write, opts); err != nil {
		_ = read.Close()
		_ = write.Close()
		return nil, err
	}
	return s, nil
}

func dsn(path string, pragmas []string, extra ...string) string {
	v := url.Values{}
	for _, p := range pragmas {
		v.Add("_pragma", p)
	}
	q := v.Encode()
	for _, e := range extra {
		q += "&" + e
	}
	return "file:" + path + "?" + q
}

// migrate applies embedded migrations in name order, each once, each in its own transaction.
func migrate(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE name = ?`, name).Scan(&n); err != nil {
			return fmt.Errorf("check migration %s: %w", name, err)
		}
		if n > 0 {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("begin migration %s: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("apply migration %s: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`, name, time.Now().UnixNano()); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("record migration %s: %w", name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit migration %s: %w", name, err)
		}
	}
	return nil
}

// Close stops the writer (after it finishes queued work) and closes the database.
func (s *Store) Close() error {
	s.w.stop()
	return errors.Join(s.read.Close(), s.write.Close())
}

// Update runs fn in the writer's next batch; see store.Store.
func (s *Store) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.w.submit(ctx, fn)
}

// TouchAPIKey records key use outside the audit chain; it is queued, not awaited.
func (s *Store) TouchAPIKey(_ context.Context, id string, at time.Time) error {
	s.w.enqueue(&op{ctx: context.Background(), fn: func(tx store.Tx) error {
		_, err := tx.(*txView).q.ExecContext(context.Background(), `UPDATE api_keys SET last_used_at = ? WHERE id = ?`, at.UnixNano(), id)
		return err
	}})
	return nil
}

// mapErr turns SQLite constraint errors into store sentinels.
func mapErr(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%s: %w", what, store.ErrDuplicate)
		}
		if strings.Contains(se.Error(), "UNIQUE constraint failed") {
			return fmt.Errorf("%s: %w", what, store.ErrDuplicate)
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}
