package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

// reader implements store.Reader over a querier: the read pool for Store,
// the writer's connection for update functions (which so read their own
// writes).
type reader struct {
	q          querier
	now        func() time.Time // reference time when a query leaves Now zero
	probeLimit int              // see plan.go; 0 is the default
}

// txView is the store.Tx an update function gets. It lives for one call of
// the function, on the writer goroutine.
type txView struct {
	reader
	events  []store.AuditEvent
	search  []searchEntry // trigram index entries, written at the end of the batch
	deleted []int64       // certificates deleted: their entries queued by earlier functions of the batch are dropped
	keepIDs bool          // KeepIntIDs was called
}

var (
	_ store.Tx          = (*txView)(nil)
	_ store.IntIDKeeper = (*txView)(nil)
)

// KeepIntIDs makes the transaction's inserts keep the IntID they are given;
// see store.IntIDKeeper.
func (t *txView) KeepIntIDs() { t.keepIDs = true }

// AdvanceIntIDs raises the certificates' id floor to the source's: SQLite
// numbers a row max(int_id) + 1, so rows inserted after kept ones already
// come after them, but only certificate_id_floor keeps the ids of deleted
// certificates (whose Sectigo sslId a client may hold) from being given
// again. Other tables reuse a deleted newest id on SQLite anyway.
func (t *txView) AdvanceIntIDs(ctx context.Context, floors map[string]int64) error {
	floor := floors["certificates"]
	if floor <= 0 {
		return nil
	}
	_, err := t.q.ExecContext(ctx, `INSERT INTO certificate_id_floor (one, deleted)
		SELECT 1, ? WHERE ? > coalesce((SELECT max(int_id) FROM certificates), 0)
		ON CONFLICT (one) DO UPDATE SET deleted = max(deleted, excluded.deleted)`, floor, floor)
	return mapErr(err, "raise the certificate id floor")
}

// keptID is the value an INSERT gives int_id: the row's IntID when the
// transaction keeps ids, else NULL, which SQLite numbers itself.
func (t *txView) keptID(id int64) any {
	if t.keepIDs && id > 0 {
		return id
	}
	return nil
}

// AppendAudit queues ev; when the function returns nil the writer chains
// and inserts it, in the same transaction as the function's writes.
func (t *txView) AppendAudit(ev store.AuditEvent) { t.events = append(t.events, ev) }

// conditional finishes a conditional update ("... WHERE key = ? AND status =
// ?"): no row changed is ErrConflict when the row exists in another state,
// ErrNotFound when it does not exist at all.
func (t *txView) conditional(ctx context.Context, res sql.Result, err error, table, keyCol, key, what string) error {
	err = affectedOne(res, err, store.ErrConflict, what)
	if !errors.Is(err, store.ErrConflict) {
		return err
	}
	var one int
	if lookErr := queryOne(ctx, t.q, func(s scanner) error { return s.Scan(&one) },
		`SELECT 1 FROM `+table+` WHERE `+keyCol+` = ?`, key); errors.Is(lookErr, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return err
}

// snapshot returns a querier whose reads all see one state of the database
// (when consistent is set) and a function to release it. The writer's
// connection is already inside the batch transaction; the read pool needs a
// read transaction.
func (r reader) snapshot(ctx context.Context, consistent bool) (querier, func(), error) {
	p, ok := r.q.(*poolQuerier)
	if !consistent || !ok {
		return r.q, func() {}, nil
	}
	tx, err := p.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("begin read transaction: %w", err)
	}
	return tx, func() { _ = tx.Rollback() }, nil
}
