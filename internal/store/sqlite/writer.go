package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/signet-pki/signet/internal/store"
)

// op is one Update call waiting for the writer.
type op struct {
	ctx  context.Context
	fn   func(tx store.Tx) error
	done chan error // nil for fire-and-forget ops
}

// writer is the group-commit loop: it takes every queued update function,
// runs each in its own savepoint of one transaction, chains their audit
// events, commits once, and only then releases the callers. One fsync serves
// the whole batch, which is how a durable SQLite store keeps up with signing.
type writer struct {
	db       *sql.DB
	maxBatch int
	queue    chan *op
	quit     chan struct{}
	wg       sync.WaitGroup

	headSeq  int64 // audit chain head, owned by the loop goroutine
	headHash []byte
}

var errStoreClosed = errors.New("store: closed")

func startWriter(ctx context.Context, db *sql.DB, opts Options) (*writer, error) {
	w := &writer{db: db, maxBatch: opts.MaxBatch, queue: make(chan *op, 4*opts.MaxBatch), quit: make(chan struct{})}
	err := db.QueryRowContext(ctx, `SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1`).Scan(&w.headSeq, &w.headHash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("load audit chain head: %w", err)
	}
	if w.headHash == nil {
		w.headHash = []byte{}
	}
	w.wg.Add(1)
	go w.loop()
	return w, nil
}

func (w *writer) submit(ctx context.Context, fn func(tx store.Tx) error) error {
	o := &op{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case w.queue <- o:
	case <-ctx.Done():
		return ctx.Err()
	case <-w.quit:
		return errStoreClosed
	}
	// Once queued, wait for the outcome even if ctx ends: the batch may
	// already be committing, and the caller must learn whether it landed.
	return <-o.done
}

// enqueue queues a best-effort op, dropping it if the queue is full.
func (w *writer) enqueue(o *op) {
	select {
	case w.queue <- o:
	default:
	}
}

func (w *writer) stop() {
	select {
	case <-w.quit:
	default:
		close(w.quit)
	}
	w.wg.Wait()
}

func (w *writer) loop() {
	defer w.wg.Done()
	for {
		var first *op
		select {
		case first = <-w.queue:
		case <-w.quit:
			w.drain()
			return
		}
		batch := []*op{first}
		// Take whatever else is already waiting; never sleep for more. While
		// this batch commits, the next one queues up by itself.
	gather:
		for len(batch) < w.maxBatch {
			select {
			case o := <-w.queue:
				batch = append(batch, o)
			default:
				break gather
			}
		}
		w.run(batch)
	}
}

// drain finishes ops queued before stop.
func (w *writer) drain() {
	for {
		select {
		case o := <-w.queue:
			w.run([]*op{o})
		default:
			return
		}
	}
}

func (w *writer) run(batch []*op) {
	results := make([]error, len(batch))
	err := w.commit(batch, results)
	for i, o := range batch {
		if o.done == nil {
			continue
		}
		if err != nil && results[i] == nil {
			results[i] = err
		}
		o.done <- results[i]
	}
}

// commit runs the batch in one transaction; results[i] receives op i's own error.
func (w *writer) commit(batch []*op, results []error) error {
	ctx := context.Background()
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin batch: %w", err)
	}
	seq, head := w.headSeq, w.headHash
	for i, o := range batch {
		if err := o.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		results[i] = w.apply(ctx, tx, o, &seq, &head)
	}
	if err := tx.Commit(); err != nil {
		_ = tx.Rollback()
		return fmt.Errorf("commit batch: %w", err)
	}
	w.headSeq, w.headHash = seq, head
	return nil
}

// apply runs one op inside a savepoint so its failure undoes only its own writes.
func (w *writer) apply(ctx context.Context, tx *sql.Tx, o *op, seq *int64, head *[]byte) (err error) {
	if _, err := tx.ExecContext(ctx, `SAVEPOINT op`); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	view := &txView{reader: reader{q: tx}, tx: tx}
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("update function panicked: %v", v)
		}
		if err != nil {
			_, rerr := tx.ExecContext(ctx, `ROLLBACK TO op`)
			if rerr == nil {
				_, rerr = tx.ExecContext(ctx, `RELEASE op`)
			}
			if rerr != nil {
				err = errors.Join(err, fmt.Errorf("rollback to savepoint: %w", rerr))
			}
		}
	}()
	if err = o.fn(view); err != nil {
		return err
	}
	s, h := *seq, *head
	for _, ev := range view.events {
		s++
		if h, err = appendAudit(ctx, tx, s, h, ev); err != nil {
			return err
		}
	}
	if _, err = tx.ExecContext(ctx, `RELEASE op`); err != nil {
		return fmt.Errorf("release savepoint: %w", err)
	}
	*seq, *head = s, h
	return nil
}

func appendAudit(ctx context.Context, tx *sql.Tx, seq int64, prev []byte, ev store.AuditEvent) ([]byte, error) {
	ev.Seq = seq
	ev.Time = ev.Time.UTC()
	details := store.AuditDetailsJSON(ev.Details)
	hash := store.HashAuditEvent(prev, ev, details)
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_events (seq, time, principal, action, object_type, object_id, outcome, details, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, seq, ev.Time.UnixNano(), ev.Principal, ev.Action, ev.ObjectType, ev.ObjectID,
		ev.Outcome, string(details), prev, hash)
	if err != nil {
		return nil, fmt.Errorf("append audit event: %w", err)
	}
	return hash, nil
}
