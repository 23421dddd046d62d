package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// querier is what reads and writes run on: the read pool or the writer's
// connection, both through prepared-statement caches. Single-row reads go
// through queryOne rather than *sql.Row, which cannot carry an error of ours.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// maxCachedStmts bounds each statement cache: inventory searches build their
// SQL from the filters present, so the set of texts is finite but large.
const maxCachedStmts = 512

// poolQuerier runs queries on the read pool. Preparing costs about as much
// as running a point lookup, and the OCSP responder and API-key checks are
// point lookups, so statements are prepared once per text (database/sql
// re-prepares them lazily on each pool connection).
type poolQuerier struct {
	db    *sql.DB
	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
}

func newPoolQuerier(db *sql.DB) *poolQuerier {
	return &poolQuerier{db: db, stmts: map[string]*sql.Stmt{}}
}

func (p *poolQuerier) stmt(ctx context.Context, query string) *sql.Stmt {
	p.mu.RLock()
	st := p.stmts[query]
	p.mu.RUnlock()
	if st != nil {
		return st
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if st = p.stmts[query]; st != nil || len(p.stmts) >= maxCachedStmts {
		return st
	}
	st, err := p.db.PrepareContext(ctx, query)
	if err != nil {
		return nil // the unprepared path below reports the error
	}
	p.stmts[query] = st
	return st
}

func (p *poolQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := p.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return p.db.ExecContext(ctx, query, args...)
}

func (p *poolQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.db.QueryContext(ctx, query, args...)
}

func (p *poolQuerier) close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for _, st := range p.stmts {
		errs = append(errs, st.Close())
	}
	p.stmts = map[string]*sql.Stmt{}
	return errors.Join(errs...)
}

// connQuerier runs statements on the writer's single connection. Only the
// writer goroutine uses it, so the cache needs no lock.
//
// It ignores the caller's context: a cancelled context interrupts the running
// statement, and SQLite answers an interrupt by rolling back the whole batch
// transaction, every other caller's work included. Cancellation is honoured
// before an update function starts, not during it.
//
// It also watches for errors after which SQLite has rolled back the batch
// transaction by itself: from then on it refuses to run anything, because a
// statement run outside the batch transaction would autocommit on its own.
type connQuerier struct {
	conn    *sql.Conn
	stmts   map[string]*sql.Stmt
	aborted error // set once the batch transaction is known to be gone
	changes int64 // rows changed by statements run so far (see writer.apply)
}

func newConnQuerier(conn *sql.Conn) *connQuerier {
	return &connQuerier{conn: conn, stmts: map[string]*sql.Stmt{}}
}

func (c *connQuerier) stmt(query string) (*sql.Stmt, error) {
	ctx := context.Background()
	if c.aborted != nil {
		return nil, c.aborted
	}
	if st := c.stmts[query]; st != nil {
		return st, nil
	}
	st, err := c.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, c.watch(err)
	}
	if len(c.stmts) >= maxCachedStmts {
		for q, old := range c.stmts { // evict one; map order is random enough
			_ = old.Close()
			delete(c.stmts, q)
			break
		}
	}
	c.stmts[query] = st
	return st, nil
}

func (c *connQuerier) ExecContext(_ context.Context, query string, args ...any) (sql.Result, error) {
	st, err := c.stmt(query)
	if err != nil {
		return nil, err
	}
	res, err := st.ExecContext(context.Background(), args...)
	if err != nil {
		return nil, c.watch(err)
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		c.changes++ // unknown counts as changed: the safe side
	}
	return res, nil
}

func (c *connQuerier) QueryContext(_ context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := c.stmt(query)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(context.Background(), args...)
	return rows, c.watch(err)
}

// watch records errors after which SQLite rolls back the transaction by
// itself (https://sqlite.org/lang_transaction.html, "Response To Errors").
func (c *connQuerier) watch(err error) error {
	var se *sqlite.Error
	if err == nil || !errors.As(err, &se) {
		return err
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_NOMEM,
		sqlite3.SQLITE_INTERRUPT, sqlite3.SQLITE_CORRUPT:
		c.aborted = fmt.Errorf("batch transaction aborted: %w", err)
	}
	return err
}

func (c *connQuerier) close() error {
	var errs []error
	for _, st := range c.stmts {
		errs = append(errs, st.Close())
	}
	c.stmts = map[string]*sql.Stmt{}
	return errors.Join(errs...)
}

// dsn builds a modernc.org/sqlite data source name applying pragmas on
// every new connection. It is a file: URI (SQLite decodes %XX in its path),
// so characters that would end or corrupt the path are escaped.
func dsn(path string, pragmas ...string) string {
	v := url.Values{}
	for _, p := range pragmas {
		v.Add("_pragma", p)
	}
	return "file:" + uriPathEscaper.Replace(path) + "?" + v.Encode()
}

var uriPathEscaper = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")
