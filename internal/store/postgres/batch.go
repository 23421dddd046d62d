package postgres

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/signet-pki/signet/internal/store"
)

// errSkipped marks an op its caller abandoned before the writer claimed it;
// nobody waits for its result.
var errSkipped = errors.New("abandoned before it ran")

// errNeedSavepoints ends an optimistic attempt: an update function failed
// after writing (or a statement failed, which aborts a PostgreSQL
// transaction), and only a savepoint can undo its work alone.
var errNeedSavepoints = errors.New("an update function failed after writing")

// errCommitUnknown: the connection failed during COMMIT, so the batch may
// or may not have committed. Running it again could apply it twice, so it
// is not retried; its callers learn that the outcome is unknown.
var errCommitUnknown = errors.New("postgres: connection lost during commit; the outcome is unknown")

// rollbackTimeout bounds the ROLLBACK after a failed attempt; a server that
// does not answer it has a broken connection, which reconnecting fixes.
const rollbackTimeout = 5 * time.Second

// runBatch commits a batch and wakes every caller with its own result.
//
// The first attempt runs the functions one after another with no
// savepoints: each savepoint costs a round trip or two and a subtransaction
// (and past 64 of them PostgreSQL's snapshots slow down for every session).
// A function that fails before writing needs nothing undone. Only when one
// fails after writing, or one of its statements fails (which aborts the
// whole transaction in PostgreSQL), is the attempt rolled back and the
// batch run again with each function in its own savepoint, so that the
// failed one is undone alone. A batch whose transaction fails as a whole
// (lock timeout, deadlock, lost connection before COMMIT) is retried once.
// Either way update functions may run more than once, which the store.Store
// contract allows.
func (w *writer) runBatch(batch []*op) {
	touches := w.takeTouches()
	if len(batch) == 0 && len(touches) == 0 {
		return
	}
	results := make([]error, len(batch))
	for i, o := range batch {
		if !o.state.CompareAndSwap(opQueued, opClaimed) {
			results[i] = errSkipped
		}
	}
	err := w.tryBatch(batch, results, touches, false)
	if errors.Is(err, errNeedSavepoints) {
		err = w.tryBatch(batch, results, touches, true)
	}
	if err != nil && !errors.Is(err, errCommitUnknown) {
		w.log.Warn("postgres: batch transaction failed; retrying", "err", err, "updates", len(batch))
		first := err
		// Touches are lossy: should they be what failed, they go.
		if err = w.tryBatch(batch, results, nil, true); err != nil {
			err = fmt.Errorf("postgres: batch transaction failed twice: %w (first attempt: %v)", err, first)
		}
	}
	if err == nil {
		w.batches.Add(1)
		w.updates.Add(uint64(len(batch)))
	} else {
		w.log.Error("postgres: batch transaction failed", "err", err, "updates", len(batch))
		// Nothing was written; callers may try again once the database is back.
		if !errors.Is(err, errCommitUnknown) && (isUnavailable(err) || errors.Is(err, context.DeadlineExceeded)) {
			err = fmt.Errorf("%w: %w", store.ErrUnavailable, err)
		}
	}
	for i, o := range batch {
		if results[i] == errSkipped || o.done == nil {
			continue
		}
		if err != nil {
			results[i] = err
		}
		o.done <- results[i]
	}
}

// tryBatch runs the batch in one transaction. results[i] receives op i's own
// error; a returned error means nothing was committed (or, for
// errCommitUnknown, that nobody can tell).
//
// The audit chain head's row lock orders this batch against every other
// node's, and it is held until COMMIT. In a first attempt, functions from
// Store.Insert run before it is taken: they only add rows under new keys,
// so other nodes' batches need not wait for their statements, only for
// the commit. Every later attempt takes the lock first, as the one order
// that cannot deadlock (see begin).
func (w *writer) tryBatch(batch []*op, results []error, touches map[string]time.Time, savepoints bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), w.timeout)
	defer cancel()
	conn, err := w.connection(ctx)
	if err != nil {
		return fmt.Errorf("postgres: writer connection: %w", err)
	}
	b := &batchQuerier{conn: conn, ctx: ctx}
	early := !savepoints && slices.ContainsFunc(batch, func(o *op) bool { return o.insertOnly && o.fn != nil })
	var head chainHead
	if early {
		err = beginUnordered(ctx, conn)
	} else {
		head, err = begin(ctx, conn, touches)
	}
	if err != nil {
		return w.rollback(b, err)
	}
	var st batchState
	run := func(insertOnly bool) error {
		for i, o := range batch {
			if results[i] == errSkipped || o.fn == nil || (early && o.insertOnly != insertOnly) {
				continue
			}
			if results[i] = o.ctx.Err(); results[i] != nil {
				continue
			}
			var fatal error
			if savepoints {
				results[i], fatal = w.applyInSavepoint(b, o, &st)
			} else {
				results[i], fatal = w.apply(b, o, &st)
			}
			if fatal != nil {
				return fatal
			}
		}
		return nil
	}
	if early {
		if err := run(true); err != nil {
			return w.rollback(b, err)
		}
		if head, err = lockHead(ctx, conn, touches); err != nil {
			return w.rollback(b, err)
		}
	}
	if err := run(false); err != nil {
		return w.rollback(b, err)
	}
	return w.commit(b, head, &st)
}

// begin opens a batch transaction, locks the audit chain head and records
// pending API key touches, in one round trip (a pipeline). The head's row
// lock orders this batch after every other node's; it is taken first, so
// batches never wait on each other's row locks in opposite orders (no
// deadlocks between Signet writers). Another node's batch waiting on it
// reads the head this one leaves: READ COMMITTED re-reads a row locked FOR
// UPDATE once its locker commits, so every batch chains from the latest
// event.
func begin(ctx context.Context, conn *pgx.Conn, touches map[string]time.Time) (chainHead, error) {
	var head chainHead
	var pb pgx.Batch
	pb.Queue("BEGIN")
	queueHeadLock(&pb, &head, touches)
	if err := conn.SendBatch(ctx, &pb).Close(); err != nil {
		return head, fmt.Errorf("postgres: begin batch: %w", err)
	}
	head.hash = nonNil(head.hash)
	return head, nil
}

// beginUnordered opens a batch transaction that takes the head lock later
// (lockHead), once its Store.Insert functions have run. Until then it holds
// no lock another batch could need: those functions add new rows only, and
// API key touches, which update shared rows, wait for the head lock too.
// Should an Insert function still meet another batch in a lock cycle (both
// inserting one key, the other already holding the head), PostgreSQL
// breaks it and the retry takes the lock first.
func beginUnordered(ctx context.Context, conn *pgx.Conn) error {
	if _, err := conn.Exec(ctx, "BEGIN"); err != nil {
		return fmt.Errorf("postgres: begin batch: %w", err)
	}
	return nil
}

// lockHead takes the audit chain head lock in a transaction beginUnordered
// opened, with the API key touches, in one round trip.
func lockHead(ctx context.Context, conn *pgx.Conn, touches map[string]time.Time) (chainHead, error) {
	var head chainHead
	var pb pgx.Batch
	queueHeadLock(&pb, &head, touches)
	if err := conn.SendBatch(ctx, &pb).Close(); err != nil {
		return head, fmt.Errorf("postgres: lock audit head: %w", err)
	}
	head.hash = nonNil(head.hash)
	return head, nil
}

func queueHeadLock(pb *pgx.Batch, head *chainHead, touches map[string]time.Time) {
	pb.Queue(`SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE`).QueryRow(func(row pgx.Row) error {
		return row.Scan(&head.seq, &head.hash)
	})
	if sql, args, ok := touchStatement(touches); ok {
		pb.Queue(sql, args...)
	}
}

// commit writes what the batch's functions left (certificate counts, the
// chained audit events) and commits, in one round trip. A statement the
// server refuses ends the pipeline before COMMIT: nothing is committed and
// the batch may run again. A connection lost on the way leaves the outcome
// unknown.
func (w *writer) commit(b *batchQuerier, head chainHead, st *batchState) error {
	var pb pgx.Batch
	if sql, args, ok := statsStatement(st.stats); ok {
		pb.Queue(sql, args...)
	}
	if sql, args, ok := auditStatement(head, st.events); ok {
		pb.Queue(sql, args...)
	}
	var tag pgconn.CommandTag
	pb.Queue("COMMIT").Exec(func(ct pgconn.CommandTag) error { tag = ct; return nil })
	err := b.conn.SendBatch(b.ctx, &pb).Close()
	var pe *pgconn.PgError
	switch {
	case err != nil && errors.As(err, &pe) && pe.Severity != "PANIC":
		// The server answered with an error instead of COMMIT's completion:
		// it did not commit (even a FATAL waits for a commit to finish).
		return w.rollback(b, fmt.Errorf("postgres: commit batch: %w", err))
	case err != nil:
		_ = b.conn.Close(context.Background())
		return fmt.Errorf("%w: %v", errCommitUnknown, err)
	case tag.String() == "ROLLBACK":
		// The server rolled back a transaction it held as failed; the
		// writer tracks failures, so this is a bug, but nothing committed.
		return errors.New("postgres: commit: the transaction had failed and was rolled back")
	}
	return nil
}

// rollback ends the attempt's transaction; a connection that cannot even
// do that is closed, and the next attempt reconnects.
func (w *writer) rollback(b *batchQuerier, cause error) error {
	ctx, cancel := context.WithTimeout(context.Background(), rollbackTimeout)
	defer cancel()
	if _, err := b.conn.Exec(ctx, "ROLLBACK"); err != nil {
		_ = b.conn.Close(context.Background())
	}
	return cause
}

// batchState is what the update functions that succeeded leave for the end
// of the batch: audit events to chain and certificate count changes.
type batchState struct {
	events []store.AuditEvent
	stats  statDeltas
}

func (st *batchState) merge(tx *txView) {
	st.events = append(st.events, tx.events...)
	st.stats = st.stats.add(tx.stats)
}

// apply runs one update function directly in the batch transaction. A
// function that fails having changed no row leaves nothing to undo; one
// that fails after changing rows, or whose statement failed, ends the
// attempt with errNeedSavepoints.
func (w *writer) apply(b *batchQuerier, o *op, st *batchState) (result, fatal error) {
	changes := b.changes
	tx := newTxView(b, w.clock, w.trigram)
	result = callFn(o.fn, tx)
	if result == nil {
		result = tx.prepareEvents(w.clock)
	}
	switch {
	case b.aborted != nil:
		return nil, errNeedSavepoints
	case result != nil && b.changes != changes:
		return nil, errNeedSavepoints
	case result != nil:
		return result, nil
	}
	st.merge(tx)
	return nil, nil
}

// applyInSavepoint is apply with the function inside a savepoint, so that
// its failure undoes its own writes only. A function that swallowed the
// error of a failed statement still fails: the statement's transaction
// state is gone, so its work cannot be committed.
func (w *writer) applyInSavepoint(b *batchQuerier, o *op, st *batchState) (result, fatal error) {
	if _, err := b.conn.Exec(b.ctx, "SAVEPOINT op"); err != nil {
		return nil, fmt.Errorf("postgres: savepoint: %w", err)
	}
	tx := newTxView(b, w.clock, w.trigram)
	result = callFn(o.fn, tx)
	if result == nil && b.aborted != nil {
		result = fmt.Errorf("postgres: update function ignored a failed statement: %w", b.aborted)
	}
	if result == nil {
		result = tx.prepareEvents(w.clock)
	}
	if result != nil {
		// One simple-protocol message, one round trip.
		if _, err := b.conn.Exec(b.ctx, "ROLLBACK TO SAVEPOINT op; RELEASE SAVEPOINT op"); err != nil {
			return nil, fmt.Errorf("postgres: rollback to savepoint: %w", err)
		}
		b.aborted = nil
		return result, nil
	}
	if _, err := b.conn.Exec(b.ctx, "RELEASE SAVEPOINT op"); err != nil {
		return nil, fmt.Errorf("postgres: release savepoint: %w", err)
	}
	st.merge(tx)
	return nil, nil
}

// callFn runs an update function, turning a panic into its error so that one
// buggy caller cannot take the writer (and every other caller) down.
func callFn(fn func(store.Tx) error, tx store.Tx) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("update function panicked: %v\n%s", v, debug.Stack())
		}
	}()
	return fn(tx)
}

// touchStatement records API key use noted since the last batch, in one
// statement. GREATEST ignores NULL, so a first use sets the time.
func touchStatement(touches map[string]time.Time) (string, []any, bool) {
	if len(touches) == 0 {
		return "", nil, false
	}
	ids, ats := make([]string, 0, len(touches)), make([]time.Time, 0, len(touches))
	for id, at := range touches {
		ids, ats = append(ids, id), append(ats, at)
	}
	return `UPDATE api_keys k SET last_used_at = GREATEST(k.last_used_at, t.at)
		FROM unnest($1::text[], $2::timestamptz[]) AS t(id, at) WHERE k.id = t.id`, []any{ids, ats}, true
}
