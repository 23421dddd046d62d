// Package postgres is Signet's shared store: several stateless Signet nodes
// use one PostgreSQL database, which brings its own replication and
// failover. It implements store.Store with the semantics of store/sqlite
// and passes the same conformance suite.
//
// Driver: pgx/v5 used directly (pgx.Conn), not through database/sql. The
// store needs what only the native interface gives: PgError codes, arrays
// and jsonb without wrappers, per-query execution modes (searches are
// planned for their actual arguments, see inventory.go), and a connection
// of its own for the writer and for Leader. Reads use a small bounded pool
// (pool.go) rather than pgxpool, whose dependency go.mod does not carry.
//
// Writes: every Update function runs on one writer goroutine per node,
// which batches concurrent functions into one transaction (group commit,
// see writer.go and batch.go). Each batch transaction begins by locking the
// audit chain head (one row, SELECT ... FOR UPDATE), so the batches of all
// nodes run one after another and the hash chain stays linear. Taking that
// lock first, not just before the audit rows are appended, is deliberate:
// update functions anywhere in the cluster then see exactly what they
// would under SQLite's single writer (a read-modify-write in one function,
// such as counting failed logins, cannot interleave with another node's),
// and writers can never deadlock each other. The price is that write
// throughput does not grow with nodes; it need not, since signing and
// linting, not the store, bound issuance.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signet-pki/signet/internal/store"
)

// Options tune the store; zero values are sensible defaults.
type Options struct {
	// MaxConns bounds the read pool (default max(4, GOMAXPROCS)). The
	// writer holds one more connection, so a node uses MaxConns+1.
	MaxConns int
	// MaxBatch caps how many update functions share one transaction (default 256).
	MaxBatch int
	// MaxWait caps how long the writer keeps gathering a batch while more
	// updates are announced (default 2ms); it never waits for updates that
	// are not on their way.
	MaxWait time.Duration
	// BatchTimeout bounds one batch transaction, lock waits included
	// (default 30s). A batch that runs out is rolled back and retried once.
	BatchTimeout time.Duration
	// Clock stamps zero CreatedAt/UpdatedAt and audit times (default time.Now).
	Clock func() time.Time
	// Logger receives migration notes and writer trouble (default slog.Default()).
	Logger *slog.Logger
}

func (o *Options) setDefaults() {
	if o.MaxConns <= 0 {
		o.MaxConns = max(4, runtime.GOMAXPROCS(0))
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 256
	}
	if o.MaxWait <= 0 {
		o.MaxWait = 2 * time.Millisecond
	}
	if o.BatchTimeout <= 0 {
		o.BatchTimeout = 30 * time.Second
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Store is the PostgreSQL implementation of store.Store.
type Store struct {
	reader // reads outside Update use the pool
	pool   *connPool
	w      *writer
}

var _ store.Store = (*Store)(nil)

// ErrClosed is returned by Update, TouchAPIKey and reads after Close.
var ErrClosed = errors.New("postgres: store closed")

// Open connects to the database at url (a postgres:// URL or a key=value
// DSN, as libpq takes), applies pending migrations and starts the writer.
// It fails when the database cannot be reached: callers decide whether to
// retry.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	opts.setDefaults()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse database URL: %w", err)
	}
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = "signet"
	}
	// The writer holds the audit head lock that every node's batches wait
	// for. Should this node vanish mid-batch (a crashed host, a partition),
	// the server must end its session soon, not when the kernel gives up
	// on the connection hours later: keepalives notice a dead peer, and a
	// transaction idle longer than a batch may last is one nobody drives.
	wcfg := cfg.Copy()
	keepalives(wcfg)
	setDefault(wcfg, "idle_in_transaction_session_timeout", strconv.FormatInt(opts.BatchTimeout.Milliseconds(), 10))
	conn, err := dial(ctx, wcfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", store.ErrUnavailable, err) // callers may wait and retry
	}
	trigram, err := migrate(ctx, conn, opts.Clock(), opts.Logger)
	if err != nil {
		return nil, errors.Join(err, conn.Close(context.Background()))
	}
	// The migration connection becomes the writer's.
	w := startWriter(conn, wcfg, opts, trigram)
	pool := newConnPool(cfg, opts.MaxConns)
	return &Store{reader: reader{q: pool, pool: pool, now: opts.Clock, trigram: trigram}, pool: pool, w: w}, nil
}

// keepalives makes the server probe an idle client after 5s, every 2s, and
// drop it after 3 failures: about 11s instead of the kernel's default two
// hours. Settings given in the URL win.
func keepalives(cfg *pgx.ConnConfig) {
	setDefault(cfg, "tcp_keepalives_idle", "5")
	setDefault(cfg, "tcp_keepalives_interval", "2")
	setDefault(cfg, "tcp_keepalives_count", "3")
}

func setDefault(cfg *pgx.ConnConfig, param, v string) {
	if cfg.RuntimeParams[param] == "" {
		cfg.RuntimeParams[param] = v
	}
}

// Close stops the writer once it has committed the updates already queued
// (and pending API key touches), then closes the connections.
func (s *Store) Close() error {
	s.w.stop()
	s.pool.close()
	return nil
}

// Update runs fn in the writer's next batch transaction; see store.Store.
func (s *Store) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.w.submit(ctx, &op{ctx: ctx, fn: fn})
}

// Insert is Update for a function that only inserts new rows; see
// store.Store. Its batch runs it before locking the audit chain head, so
// that another node's batch waits for this one's commit only, not for its
// statements.
func (s *Store) Insert(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.w.submit(ctx, &op{ctx: ctx, fn: fn, insertOnly: true})
}

// TouchAPIKey records key use. It only notes the time in memory: the writer
// folds pending touches into its next batch, one statement for all of them,
// outside the audit chain. Touches not yet written when the process dies
// are lost, which the contract allows; Close writes them.
func (s *Store) TouchAPIKey(_ context.Context, id string, at time.Time) error {
	return s.w.touch(id, at)
}

// GroupCommitStats reports the writer's committed batches, the update
// functions they carried (their ratio is the group-commit factor), and the
// time it spent running batches (statements, commit and the wait for the
// audit head lock): what benchmarks need to tell a saturated writer from an
// idle one. The same method as store/sqlite's.
func (s *Store) GroupCommitStats() (batches, updates uint64, busy time.Duration) {
	return s.w.batches.Load(), s.w.updates.Load(), time.Duration(s.w.busy.Load())
}

// Stats reports the read pool's state, for metrics (as store/sqlite's Stats;
// the writer's one connection is not included).
func (s *Store) Stats() sql.DBStats { return s.pool.stats() }

// Ready reports whether the store can serve: the database answers and every
// migration this binary knows has been applied (another node may have
// migrated further, which Open refuses, or a restore may have gone back).
func (s *Store) Ready(ctx context.Context) error {
	applied, err := queryMany(ctx, s.pool, func(sc scanner) (name string, err error) { return name, sc.Scan(&name) },
		`SELECT name FROM schema_migrations`)
	if err != nil {
		return mapErr(err, "read schema_migrations")
	}
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("postgres: list migrations: %w", err)
	}
	for _, name := range names {
		if !slices.Contains(applied, name) {
			return fmt.Errorf("postgres: migration %s is not applied", name)
		}
	}
	return nil
}

// IntIDFloors reports, per table, the largest int_id its identity sequence
// has given, deleted rows included, or the largest stored if a copy kept
// larger ones (store.IntIDHistory).
func (s *Store) IntIDFloors(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	for _, table := range store.IntIDTables {
		var n int64
		err := queryOne(ctx, s.pool, func(sc scanner) error { return sc.Scan(&n) },
			`SELECT greatest(coalesce(pg_sequence_last_value(pg_get_serial_sequence('`+table+`', 'int_id')), 0),
				coalesce((SELECT max(int_id) FROM `+table+`), 0))`)
		if err != nil {
			return nil, mapErr(err, "largest int_id of "+table)
		}
		out[table] = n
	}
	return out, nil
}
