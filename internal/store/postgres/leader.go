package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// LeaderOptions tune a Leader; zero values are sensible defaults.
type LeaderOptions struct {
	// Name identifies the leadership (the advisory lock); nodes that
	// should elect one leader use the same name (default "signet.jobs").
	Name string
	// Lease is how long a verified hold of the lock counts as leadership
	// (default 6s). The holder re-verifies every Lease/3; a node that
	// acquires the lock waits one Lease before it leads (see Leader).
	Lease time.Duration
	// Retry is how often a node that is not the leader tries the lock
	// (default 1s).
	Retry time.Duration
	// Logger receives connection trouble (default slog.Default()).
	Logger *slog.Logger
}

// Leader elects one node to run background jobs (CRLs, notifications,
// discovery): the node whose dedicated connection holds a session-level
// advisory lock. Several nodes may each run one; IsLeader is true on at
// most one of them at any moment.
//
// A lock alone cannot promise that: when the holder's connection dies the
// server releases the lock at once, and another node may take it before the
// old holder notices. So leadership is a lease. The holder renews it by
// checking, every Lease/3, that its session still holds the lock; it leads
// until Lease after the start of its last successful check. A node that
// acquires the lock leads only after one Lease, by which time any previous
// holder's lease (renewed before it lost the lock) has run out. Leadership
// therefore moves within Retry + Lease of the old holder's connection
// dying, plus the time to reconnect.
//
// The connection must be a real session: a pooler in transaction mode
// (PgBouncer) would hand the lock to whichever client next uses the backend.
// The check would then fail and nobody would lead, rather than two.
type Leader struct {
	cfg   *pgx.ConnConfig
	key   int64
	opts  LeaderOptions
	log   *slog.Logger
	base  time.Time    // monotonic origin of the times below
	until atomic.Int64 // lease end, ns since base; 0 = not leading
	quit  chan struct{}
	done  chan struct{}
}

// NewLeader starts competing for leadership on the database at url. It
// returns at once; connection failures are retried in the background (and
// logged), and mean not leading meanwhile.
func NewLeader(url string, opts LeaderOptions) (*Leader, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse database URL: %w", err)
	}
	setDefault(cfg, "application_name", "signet-leader")
	// A holder that vanishes without closing its connection (a crashed
	// host, a partition) keeps the lock until the server notices.
	keepalives(cfg)
	if opts.Name == "" {
		opts.Name = "signet.jobs"
	}
	if opts.Lease <= 0 {
		opts.Lease = 6 * time.Second
	}
	if opts.Retry <= 0 {
		opts.Retry = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	l := &Leader{cfg: cfg, key: lockKey("signet.leader." + opts.Name), opts: opts, log: opts.Logger,
		base: time.Now(), quit: make(chan struct{}), done: make(chan struct{})}
	go l.loop()
	return l, nil
}

// IsLeader reports whether this node leads now. Jobs should check it
// before each unit of work rather than once.
func (l *Leader) IsLeader() bool {
	until := l.until.Load()
	return until != 0 && time.Since(l.base) < time.Duration(until)
}

// Close gives leadership up (releasing the lock) and stops competing.
func (l *Leader) Close() error {
	select {
	case <-l.quit:
	default:
		close(l.quit)
	}
	<-l.done
	return nil
}

func (l *Leader) loop() {
	defer close(l.done)
	var conn *pgx.Conn
	defer func() {
		l.until.Store(0)
		if conn != nil {
			ctx, cancel := context.WithTimeout(context.Background(), l.opts.Lease)
			defer cancel()
			_, _ = conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", l.key)
			_ = conn.Close(ctx)
		}
	}()
	var held bool             // this session holds the lock
	var claimAt time.Duration // when a fresh holder may start leading
	for {
		wait := l.opts.Retry
		if conn == nil {
			c, err := l.connect()
			if err != nil {
				l.log.Warn("leader: cannot connect; not leading", "err", err)
			}
			conn, held = c, false
		}
		if conn != nil {
			ok, err := l.step(conn, held, claimAt)
			switch {
			case err != nil:
				l.until.Store(0)
				l.log.Warn("leader: lost the database connection; not leading", "err", err, "was_holding", held)
				_ = conn.Close(context.Background())
				// Reconnect soon, but not in a tight loop against a flapping server.
				conn, held, wait = nil, false, min(l.opts.Retry, 100*time.Millisecond)
			case ok && !held:
				held, claimAt = true, time.Since(l.base)+l.opts.Lease
				wait = l.opts.Lease / 3
			case ok:
				wait = l.opts.Lease / 3
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-l.quit:
			t.Stop()
			return
		case <-t.C:
		}
	}
}

func (l *Leader) connect() (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), max(l.opts.Lease, 5*time.Second))
	defer cancel()
	return pgx.ConnectConfig(ctx, l.cfg)
}

// step tries the lock (when not holding it) or verifies the hold and
// renews the lease. ok reports holding the lock afterwards; err means the
// connection is gone or unusable.
func (l *Leader) step(conn *pgx.Conn, held bool, claimAt time.Duration) (ok bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), l.opts.Lease/3)
	defer cancel()
	start := time.Since(l.base)
	if !held {
		err = conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", l.key).Scan(&ok)
		return ok, err
	}
	// The session still holding the lock, not merely answering, is what
	// the lease rests on.
	err = conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted
		AND pid = pg_backend_pid() AND classid::bigint = $1 AND objid::bigint = $2 AND objsubid = 1)`,
		int64(uint64(l.key)>>32), int64(uint64(l.key)&0xffffffff)).Scan(&ok)
	if err != nil {
		return false, err
	}
	if !ok {
		return false, fmt.Errorf("the session no longer holds the advisory lock")
	}
	if start >= claimAt {
		l.until.Store(int64(start + l.opts.Lease))
	}
	return true, nil
}
