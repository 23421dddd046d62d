// Package sqlite is Signet's embedded store: one SQLite file in WAL mode, a
// single writer connection fed by a group-commit loop, and a pool of
// read-only connections for queries.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/signet-pki/signet/internal/store"
)

// Options tune the store; zero values are sensible defaults.
type Options struct {
	// MaxBatch caps how many update functions share one transaction (default 256).
	MaxBatch int
	// MaxWait caps how long the writer keeps gathering a batch while more
	// updates are still arriving (default 2ms). It waits only for updates
	// already on their way, or while more goroutines are ready to run than
	// the processors can take (then the processors stay busy meanwhile), so
	// a lone client on an unloaded machine is not slowed down.
	MaxWait time.Duration
	// Clock stamps zero CreatedAt/UpdatedAt and audit times (default time.Now).
	Clock func() time.Time
	// ReadConns is the size of the read-only connection pool (default max(4, GOMAXPROCS)).
	ReadConns int
	// Synchronous is SQLite's synchronous pragma: FULL (default) syncs the WAL
	// on every commit, so a committed certificate survives power loss;
	// NORMAL only syncs at checkpoints and may lose the last commits.
	Synchronous string

	backlog func() bool // replaces cpuBacklog in tests
}

func (o *Options) setDefaults() error {
	if o.MaxBatch <= 0 {
		o.MaxBatch = 256
	}
	if o.MaxWait <= 0 {
		o.MaxWait = 2 * time.Millisecond
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.ReadConns <= 0 {
		o.ReadConns = max(4, runtime.GOMAXPROCS(0))
	}
	switch o.Synchronous = strings.ToUpper(o.Synchronous); o.Synchronous {
	case "":
		o.Synchronous = "FULL"
	case "FULL", "NORMAL", "EXTRA":
	default:
		return fmt.Errorf("synchronous %q: want FULL, NORMAL or EXTRA", o.Synchronous)
	}
	return nil
}

// Connection settings.
const (
	// Page cache sizes (negative: KiB). The writer's holds a batch's dirty
	// pages and the hot index pages; each reader's the pages its queries walk.
	writerCacheKiB = -65536
	readerCacheKiB = -32768
	// Readers map the file (up to the 2 GiB modernc.org/sqlite allows):
	// page reads become memory reads instead of pread calls, which halved
	// search latencies at a million certificates. The writer gained
	// nothing from it, so it reads pages normally.
	readerMmapBytes = 2147418112
	walSizeLimit    = 64 << 20 // truncate the WAL file back to this after a checkpoint
)

// Store is the SQLite implementation of store.Store.
type Store struct {
	reader // reads outside Update use the read pool
	read   *sql.DB
	pool   *poolQuerier
	write  *sql.DB
	w      *writer
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database at path, applies pending
// migrations and starts the writer.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	common := []string{"busy_timeout(10000)", "foreign_keys(1)", "temp_store(MEMORY)", "synchronous(" + opts.Synchronous + ")"}
	write, err := openWriteDB(path, common)
	if err != nil {
		return nil, err
	}
	w, err := startWriter(ctx, write, opts)
	if err != nil {
		return nil, errors.Join(err, write.Close())
	}
	read, err := sql.Open("sqlite", dsn(path, append(common, "query_only(1)",
		fmt.Sprintf("cache_size(%d)", readerCacheKiB), fmt.Sprintf("mmap_size(%d)", readerMmapBytes))...))
	if err != nil {
		w.stop()
		return nil, errors.Join(fmt.Errorf("open %s for reading: %w", path, err), write.Close())
	}
	read.SetMaxOpenConns(opts.ReadConns)
	read.SetMaxIdleConns(opts.ReadConns)
	read.SetConnMaxLifetime(0)
	s := &Store{read: read, pool: newPoolQuerier(read), write: write, w: w}
	s.reader = reader{q: s.pool, now: opts.Clock}
	return s, nil
}

// openWriteDB opens the pool of the writer's and the checkpointer's
// connections (see checkpoint.go); nothing else writes. journal_mode is
// persistent in the file: setting it here, before any reader opens, means
// readers never race to convert the file.
func openWriteDB(path string, common []string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn(path, append([]string{"journal_mode(WAL)", fmt.Sprintf("cache_size(%d)", writerCacheKiB),
		fmt.Sprintf("wal_autocheckpoint(%d)", walSafetyPages), fmt.Sprintf("journal_size_limit(%d)", walSizeLimit)}, common...)...))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.SetMaxOpenConns(2)
	db.SetMaxIdleConns(2)
	db.SetConnMaxLifetime(0)
	return db, nil
}

// Close stops the writer once it has finished the updates already queued,
// then closes both pools. Update after Close returns ErrClosed.
func (s *Store) Close() error {
	s.w.stop()
	return errors.Join(s.pool.close(), s.read.Close(), s.write.Close())
}

// ErrClosed is returned by Update and TouchAPIKey after Close.
var ErrClosed = errors.New("sqlite store: closed")

// Update runs fn in the writer's next batch transaction; see store.Store.
func (s *Store) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.w.submit(ctx, &op{ctx: ctx, fn: fn})
}

// Insert is Update: one writer serializes every batch here, so there is no
// other node to let ahead; see store.Store.
func (s *Store) Insert(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.Update(ctx, fn)
}

// TouchAPIKey records key use. It only notes the time in memory: the writer
// folds all pending touches into its next batch, one UPDATE per key, outside
// the audit chain. Touches not yet written when the process dies are lost,
// which the contract allows; Close writes them.
func (s *Store) TouchAPIKey(_ context.Context, id string, at time.Time) error {
	return s.w.touch(id, at)
}

// IntIDFloors reports each table's largest int_id, and for certificates the
// largest ever deleted too (store.IntIDHistory).
func (s *Store) IntIDFloors(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	for _, table := range store.IntIDTables {
		query := `SELECT coalesce(max(int_id), 0) FROM ` + table
		if table == "certificates" {
			query = `SELECT max(coalesce((SELECT max(int_id) FROM certificates), 0),
				coalesce((SELECT deleted FROM certificate_id_floor), 0))`
		}
		var n int64
		if err := queryOne(ctx, s.reader.q, func(sc scanner) error { return sc.Scan(&n) }, query); err != nil {
			return nil, mapErr(err, "largest int_id of "+table)
		}
		out[table] = n
	}
	return out, nil
}
