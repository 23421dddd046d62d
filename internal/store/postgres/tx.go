package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/signet-pki/signet/internal/store"
)

// reader implements store.Reader over a querier: the read pool for Store,
// the writer's batch transaction for update functions (which so read their
// own writes).
type reader struct {
	q       querier
	pool    *connPool        // nil inside an update function
	now     func() time.Time // reference time when a query leaves Now zero
	trigram bool             // the substring index exists (see migrate.go)
	// probeLimit overrides the planner's (see plan.go); tests lower it to
	// exercise index walks on small data.
	probeLimit int
}

// snapshot returns a querier whose reads all see one state of the database
// (when consistent is set) and a function to release it. An update
// function's reads already share the batch transaction.
func (r reader) snapshot(ctx context.Context, consistent bool) (querier, func(), error) {
	if !consistent || r.pool == nil {
		return r.q, func() {}, nil
	}
	return r.pool.snapshot(ctx)
}

// inBatch reports whether r reads inside a batch transaction, where the
// certificate stats do not yet include the batch's own changes (they are
// written when it ends), so counts must be taken from the rows.
func (r reader) inBatch() bool { return r.pool == nil }

// txView is the store.Tx an update function gets. It lives for one call of
// the function, on the writer goroutine.
type txView struct {
	reader
	b      *batchQuerier
	events []store.AuditEvent
	stats  statDeltas // certificate count changes, written when the batch ends
	// keepIDs: KeepIntIDs was called.
	keepIDs bool
}

var (
	_ store.Tx          = (*txView)(nil)
	_ store.IntIDKeeper = (*txView)(nil)
)

// KeepIntIDs makes the transaction's inserts keep the IntID they are given;
// see store.IntIDKeeper.
func (t *txView) KeepIntIDs() { t.keepIDs = true }

// AdvanceIntIDs sets each table's identity sequence to its largest int_id,
// or the source's largest ever given if that is larger: kept ids did not
// draw from it.
func (t *txView) AdvanceIntIDs(ctx context.Context, floors map[string]int64) error {
	for _, table := range store.IntIDTables {
		if _, err := t.b.Exec(ctx, `SELECT setval(pg_get_serial_sequence('`+table+`', 'int_id'), n)
			FROM (SELECT greatest(max(int_id), $1) AS n FROM `+table+`) m WHERE n > 0`, floors[table]); err != nil {
			return mapErr(err, "advance the int_id sequence of "+table)
		}
	}
	return nil
}

// keepIntID turns an insert's statement into one that gives the row id as
// its int_id, when the transaction keeps ids and id is set: int_id becomes
// the first column of the statement's first INSERT, its value a parameter
// after the others. Every other insert is left as written, numbered by the
// table's identity column (the statements are the store's own, each with one
// "INSERT INTO table (" and its "VALUES (").
func (t *txView) keepIntID(id int64, sql string, args []any) (string, []any) {
	if !t.keepIDs || id <= 0 {
		return sql, args
	}
	into := strings.Index(sql, "INSERT INTO ")
	cols := into + strings.Index(sql[into:], "(") + 1
	vals := cols + strings.Index(sql[cols:], "VALUES (") + len("VALUES (")
	param := "$" + strconv.Itoa(len(args)+1)
	sql = sql[:cols] + "int_id, " + sql[cols:vals] + param + ", " + sql[vals:]
	return sql, append(slices.Clip(args), id)
}

func newTxView(b *batchQuerier, clock func() time.Time, trigram bool) *txView {
	return &txView{reader: reader{q: b, now: clock, trigram: trigram}, b: b}
}

// AppendAudit queues ev; when the function returns nil the writer chains
// it and inserts it with the batch, in the same transaction.
func (t *txView) AppendAudit(ev store.AuditEvent) { t.events = append(t.events, ev) }

// conditional finishes a conditional update ("... WHERE key = $1 AND status
// = $2") that changed no row: ErrConflict when the row exists in another
// state, ErrNotFound when it does not exist at all.
func (t *txView) conditional(ctx context.Context, table, keyCol, key, what string) error {
	var one int
	err := queryOne(ctx, t.q, func(s scanner) error { return s.Scan(&one) },
		`SELECT 1 FROM `+table+` WHERE `+keyCol+` = $1`, key)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("postgres: %s: %w", what, store.ErrNotFound)
	case err != nil:
		return mapErr(err, what)
	}
	return fmt.Errorf("postgres: %s: %w", what, store.ErrConflict)
}

// batchQuerier runs statements in the writer's batch transaction.
//
// It ignores the caller's context: cancelling a statement would close the
// connection (pgx's cancellation) and with it every other caller's work.
// Cancellation is honoured before an update function starts; the batch has
// a deadline of its own.
//
// It also notes the first failed statement: PostgreSQL then refuses every
// statement until the transaction (or a savepoint) is rolled back, so the
// querier refuses them too, and the writer knows to undo the function.
type batchQuerier struct {
	conn    *pgx.Conn
	ctx     context.Context
	aborted error // set once a statement failed, cleared by a rollback to savepoint
	changes int64 // statements that changed rows so far (see writer.apply)
}

func (b *batchQuerier) fail(err error) {
	if b.aborted == nil {
		b.aborted = fmt.Errorf("batch transaction aborted: %w", err)
	}
}

func (b *batchQuerier) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if b.aborted != nil {
		return pgconn.CommandTag{}, b.aborted
	}
	tag, err := b.conn.Exec(b.ctx, sql, args...)
	if err != nil {
		b.fail(err)
		return tag, err
	}
	if tag.RowsAffected() > 0 {
		b.changes++
	}
	return tag, nil
}

func (b *batchQuerier) Query(_ context.Context, sql string, args ...any) (pgx.Rows, error) {
	if b.aborted != nil {
		return nil, b.aborted
	}
	rows, err := b.conn.Query(b.ctx, sql, args...)
	if err != nil {
		rows.Close()
		b.fail(err)
		return nil, err
	}
	return &watchedRows{Rows: rows, b: b}, nil
}

// watchedRows notes a query that failed while its rows were read.
type watchedRows struct {
	pgx.Rows
	b *batchQuerier
}

func (r *watchedRows) Close() {
	r.Rows.Close()
	if err := r.Rows.Err(); err != nil {
		r.b.fail(err)
	}
}

// writeRow runs a data-modifying statement with RETURNING and scans the row
// it returns, if any: ON CONFLICT DO NOTHING returns none on a duplicate,
// without failing (and so without aborting) the transaction.
func (b *batchQuerier) writeRow(ctx context.Context, dest []any, sql string, args ...any) (bool, error) {
	err := queryOne(ctx, b, func(s scanner) error { return s.Scan(dest...) }, sql, args...)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	b.changes++
	return true, nil
}

// guarded runs a statement that may break a constraint (a rename onto a
// taken name, a delete of a row still referenced) in a savepoint of its
// own, so that its failure is an error for the function, as in SQLite,
// rather than the end of the transaction. These are rare administrative
// writes; the hot path (certificate, request, audit inserts) uses ON
// CONFLICT instead and needs no savepoint.
func (b *batchQuerier) guarded(fn func() error) error {
	if b.aborted != nil {
		return b.aborted
	}
	if _, err := b.conn.Exec(b.ctx, "SAVEPOINT stmt"); err != nil {
		b.fail(err)
		return err
	}
	err := fn()
	if err != nil && b.aborted != nil && isPgError(err) {
		if _, rbErr := b.conn.Exec(b.ctx, "ROLLBACK TO SAVEPOINT stmt; RELEASE SAVEPOINT stmt"); rbErr != nil {
			return errors.Join(err, rbErr)
		}
		b.aborted = nil
		return err
	}
	if _, relErr := b.conn.Exec(b.ctx, "RELEASE SAVEPOINT stmt"); relErr != nil {
		b.fail(relErr)
		return errors.Join(err, relErr)
	}
	return err
}
