package sqlite

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/signet-pki/signet/internal/store"
)

// errSkipped marks an op its caller abandoned before the writer claimed it;
// nobody waits for its result.
var errSkipped = errors.New("abandoned before it ran")

// errNeedSavepoints ends an optimistic attempt: an update function failed
// after writing, and only a savepoint can undo its writes alone.
var errNeedSavepoints = errors.New("an update function failed after writing")

// runBatch commits a batch and wakes every caller with its own result.
//
// The first attempt runs the functions one after another with no savepoints,
// which is the common case made cheap: savepoints cost a fifth of the
// writer's time (SQLite copies every page an update touches into a statement
// journal). A function that fails before writing anything needs nothing
// undone. Only when one fails after writing is the attempt rolled back and
// the batch run again with each function in its own savepoint, so that the
// failed one is undone alone. A batch whose transaction fails as a whole
// (BEGIN, COMMIT, or an error after which SQLite drops the transaction) is
// retried once. Either way update functions may run twice, which the
// store.Store contract allows.
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
	if err != nil {
		// The head may be stale (another process appended) or the commit
		// ambiguous; re-read it before trying again.
		first := errors.Join(err, w.reloadHead())
		if err = w.tryBatch(batch, results, touches, true); err != nil {
			err = fmt.Errorf("batch transaction failed twice: %w (first attempt: %v)", err, first)
			_ = w.reloadHead()
		}
	}
	if err == nil {
		w.batches.Add(1)
		w.updates.Add(uint64(len(batch)))
		w.checkpoints.nudge()
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

func (w *writer) reloadHead() error {
	h, err := loadHead(context.Background(), w.q)
	if err == nil {
		w.head = h
	}
	return err
}

// tryBatch runs the batch in one transaction. results[i] receives op i's own
// error; a returned error means nothing was committed.
func (w *writer) tryBatch(batch []*op, results []error, touches map[string]time.Time, savepoints bool) error {
	ctx := context.Background()
	w.q.aborted = nil
	if _, err := w.conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("begin batch: %w", err)
	}
	head := w.head
	if err := w.writeTouches(ctx, touches); err != nil {
		return w.rollback(err)
	}
	var search []searchEntry
	for i, o := range batch {
		if results[i] == errSkipped || o.fn == nil {
			continue
		}
		if results[i] = o.ctx.Err(); results[i] != nil {
			continue
		}
		var fatal error
		if savepoints {
			results[i], fatal = w.applyInSavepoint(ctx, o, &head, &search)
		} else {
			results[i], fatal = w.apply(ctx, o, &head, &search)
		}
		if fatal != nil {
			return w.rollback(fatal)
		}
	}
	if err := writeSearchEntries(ctx, w.q, search); err != nil {
		return w.rollback(err)
	}
	if _, err := w.conn.ExecContext(ctx, "COMMIT"); err != nil {
		return w.rollback(fmt.Errorf("commit: %w", err))
	}
	w.head = head
	return nil
}

// rollback ends the attempt's transaction; afterwards the connection is
// usable again (for re-reading the chain head, and for the retry).
func (w *writer) rollback(cause error) error {
	defer func() { w.q.aborted = nil }()
	if _, err := w.conn.ExecContext(context.Background(), "ROLLBACK"); err != nil && !isNoTransaction(err) {
		return errors.Join(cause, fmt.Errorf("rollback: %w", err))
	}
	return cause
}

func isNoTransaction(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_ERROR // "cannot rollback - no transaction is active"
}

// apply runs one update function directly in the batch transaction and, if
// it succeeds, chains its audit events. A function that fails having changed
// no row leaves nothing to undo; one that fails after changing rows ends the
// attempt with errNeedSavepoints. fatal means the attempt cannot go on.
func (w *writer) apply(ctx context.Context, o *op, head *chainHead, search *[]searchEntry) (result, fatal error) {
	changes := w.q.changes
	tx := &txView{reader: reader{q: w.q, now: w.clock}}
	result = callFn(o.fn, tx)
	next := *head
	if result == nil {
		next, result = w.appendEvents(ctx, *head, tx.events)
	}
	switch {
	case w.q.aborted != nil:
		return nil, w.q.aborted
	case result != nil && w.q.changes != changes:
		return nil, errNeedSavepoints
	case result != nil:
		return result, nil
	}
	*head = next
	*search = mergeSearch(*search, tx)
	return nil, nil
}

// applyInSavepoint is apply with the function and its audit events inside a
// savepoint, so that its failure undoes its own writes only (an event that
// cannot be stored fails its update, never the batch).
func (w *writer) applyInSavepoint(ctx context.Context, o *op, head *chainHead, search *[]searchEntry) (result, fatal error) {
	if _, err := w.q.ExecContext(ctx, "SAVEPOINT op"); err != nil {
		return nil, fmt.Errorf("savepoint: %w", err)
	}
	tx := &txView{reader: reader{q: w.q, now: w.clock}}
	result = callFn(o.fn, tx)
	next := *head
	if result == nil {
		next, result = w.appendEvents(ctx, *head, tx.events)
	}
	if w.q.aborted != nil {
		return nil, w.q.aborted
	}
	if result != nil {
		if _, err := w.q.ExecContext(ctx, "ROLLBACK TO op"); err != nil {
			return nil, fmt.Errorf("rollback to savepoint: %w", err)
		}
	}
	if _, err := w.q.ExecContext(ctx, "RELEASE op"); err != nil {
		return nil, fmt.Errorf("release savepoint: %w", err)
	}
	if result == nil {
		*head = next
		*search = mergeSearch(*search, tx)
	}
	return result, nil
}

// mergeSearch adds a successful function's trigram entries to the batch's,
// dropping those of the certificates it deleted.
func mergeSearch(batch []searchEntry, tx *txView) []searchEntry {
	for _, id := range tx.deleted {
		batch = dropSearchEntry(batch, id)
	}
	return append(batch, tx.search...)
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

// writeTouches records API key use noted since the last batch. A failure
// loses nothing but the touches, unless it broke the transaction.
func (w *writer) writeTouches(ctx context.Context, touches map[string]time.Time) error {
	for id, at := range touches {
		if _, err := w.q.ExecContext(ctx, `UPDATE api_keys SET last_used_at = max(coalesce(last_used_at, 0), ?) WHERE id = ?`,
			toDB(at), id); err != nil && w.q.aborted != nil {
			return w.q.aborted
		}
	}
	return nil
}
