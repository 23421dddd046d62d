package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// connPool is a bounded pool of read connections. It is small on purpose:
// pgxpool would do, but it needs github.com/jackc/puddle/v2, which go.mod
// does not list, and the store needs little of it (no health-check loop,
// no min-idle). Connections idle for a while are pinged before reuse, so a
// server restart costs no failed queries beyond those already running.
type connPool struct {
	cfg   *pgx.ConnConfig
	slots chan struct{} // one token per connection that may exist
	idle  chan idleConn

	mu     sync.Mutex
	closed bool

	waits     atomic.Int64 // acquisitions that found every connection in use
	waitNanos atomic.Int64 // and how long they waited in all
}

type idleConn struct {
	conn  *pgx.Conn
	since time.Time
}

// pingAfter is how long a connection may sit idle before it is checked
// on reuse.
const pingAfter = time.Second

func newConnPool(cfg *pgx.ConnConfig, maxConns int) *connPool {
	return &connPool{cfg: cfg, slots: make(chan struct{}, maxConns), idle: make(chan idleConn, maxConns)}
}

// dial opens one connection with the store's session settings.
func dial(ctx context.Context, cfg *pgx.ConnConfig) (*pgx.Conn, error) {
	c, err := pgx.ConnectConfig(ctx, cfg.Copy())
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	// Times come back in UTC, as the SQLite store returns them, whatever
	// the session's TimeZone.
	c.TypeMap().RegisterType(&pgtype.Type{Name: "timestamptz", OID: pgtype.TimestamptzOID,
		Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC}})
	return c, nil
}

func (p *connPool) acquire(ctx context.Context) (*pgx.Conn, error) {
	select {
	case p.slots <- struct{}{}:
	default:
		start := time.Now()
		p.waits.Add(1)
		select {
		case p.slots <- struct{}{}:
			p.waitNanos.Add(int64(time.Since(start)))
		case <-ctx.Done():
			p.waitNanos.Add(int64(time.Since(start)))
			return nil, ctx.Err()
		}
	}
	for {
		if p.isClosed() {
			<-p.slots
			return nil, ErrClosed
		}
		select {
		case ic := <-p.idle:
			if ic.conn.IsClosed() {
				continue
			}
			if time.Since(ic.since) > pingAfter {
				if err := ic.conn.Ping(ctx); err != nil {
					_ = ic.conn.Close(context.Background())
					if ctx.Err() != nil {
						<-p.slots
						return nil, ctx.Err()
					}
					continue
				}
			}
			return ic.conn, nil
		default:
			c, err := dial(ctx, p.cfg)
			if err != nil {
				<-p.slots
				return nil, err
			}
			return c, nil
		}
	}
}

// release returns c to the pool, or closes it when it is broken, inside a
// transaction or still busy (a caller that gave up half way).
func (p *connPool) release(c *pgx.Conn) {
	defer func() { <-p.slots }()
	pc := c.PgConn()
	if c.IsClosed() || pc.IsBusy() || pc.TxStatus() != 'I' || p.isClosed() {
		_ = c.Close(context.Background())
		return
	}
	p.idle <- idleConn{conn: c, since: time.Now()} // never blocks: idle holds at most cap(slots)
}

func (p *connPool) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// close closes the idle connections; those in use close on release.
func (p *connPool) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	for {
		select {
		case ic := <-p.idle:
			_ = ic.conn.Close(context.Background())
		default:
			return
		}
	}
}

// stats reports the pool in database/sql's terms, which the metrics use.
func (p *connPool) stats() sql.DBStats {
	inUse, idle := len(p.slots), len(p.idle)
	return sql.DBStats{MaxOpenConnections: cap(p.slots), OpenConnections: inUse + idle, InUse: inUse, Idle: idle,
		WaitCount: p.waits.Load(), WaitDuration: time.Duration(p.waitNanos.Load())}
}

// Exec runs one statement on a pooled connection.
func (p *connPool) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	c, err := p.acquire(ctx)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	defer p.release(c)
	return c.Exec(ctx, sql, args...)
}

// Query runs a query on a pooled connection, which goes back to the pool
// when the rows are closed.
func (p *connPool) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	c, err := p.acquire(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := c.Query(ctx, sql, args...)
	if err != nil {
		rows.Close()
		p.release(c)
		return nil, err
	}
	return &pooledRows{Rows: rows, release: func() { p.release(c) }}, nil
}

type pooledRows struct {
	pgx.Rows
	once    sync.Once
	release func()
}

func (r *pooledRows) Close() {
	r.Rows.Close()
	r.once.Do(r.release)
}

// snapshot begins a read-only REPEATABLE READ transaction on one pooled
// connection, so that several queries (a page and its total, a summary's
// counts) see one state of the database.
func (p *connPool) snapshot(ctx context.Context) (querier, func(), error) {
	c, err := p.acquire(ctx)
	if err != nil {
		return nil, nil, err
	}
	if _, err := c.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); err != nil {
		p.release(c)
		return nil, nil, err
	}
	return c, func() {
		_, _ = c.Exec(context.Background(), "COMMIT")
		p.release(c)
	}, nil
}
