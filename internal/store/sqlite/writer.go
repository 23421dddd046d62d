package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

// op is one unit of work for the writer: an update function, or an
// exclusive job (bulk load) that runs alone on the writer's connection.
type op struct {
	ctx       context.Context
	fn        func(tx store.Tx) error
	exclusive func(ctx context.Context, q *connQuerier) error
	state     atomic.Int32 // opQueued -> opClaimed (writer) | opAbandoned (caller)
	done      chan error   // buffered: the writer never blocks delivering
}

const (
	opQueued int32 = iota
	opClaimed
	opAbandoned
)

// writer is the group-commit loop. Update functions queue on a channel; the
// writer runs as many as are waiting in one transaction (see runBatch for
// how one function's failure is undone alone), chains their audit events,
// commits once and only then releases the callers. One fsync serves the
// whole batch, which is how a durable SQLite store keeps up with signing.
type writer struct {
	conn     *sql.Conn
	q        *connQuerier
	clock    func() time.Time
	maxBatch int
	maxWait  time.Duration

	queue   chan *op
	pending atomic.Int64 // callers between announcing an op and the writer receiving it
	mu      sync.RWMutex // guards closed against sends on queue
	closed  bool
	stopped chan struct{}

	touchMu sync.Mutex
	touches map[string]time.Time // API key id -> latest use, written with the next batch

	checkpoints *checkpointer

	backlog func() bool // are the processors oversubscribed? (cpuBacklog)

	// Owned by the loop goroutine.
	held *op // an exclusive op met while gathering, run after the batch
	head chainHead

	batches, updates atomic.Uint64 // committed batches and the update functions they held
	busy             atomic.Int64  // nanoseconds spent running batches, commits included
}

// stats reports how many batches have committed and how many update
// functions they carried: their ratio is the group-commit factor.
func (w *writer) stats() (batches, updates uint64) {
	return w.batches.Load(), w.updates.Load()
}

// GroupCommitStats reports the writer's committed batches, the update
// functions they carried, and the time it spent running them (statements,
// commit and fsync): what benchmarks need to tell a saturated writer from
// an idle one.
func (s *Store) GroupCommitStats() (batches, updates uint64, busy time.Duration) {
	b, u := s.w.stats()
	return b, u, time.Duration(s.w.busy.Load())
}

// chainHead is the last committed audit event.
type chainHead struct {
	seq  int64
	hash []byte
}

func startWriter(ctx context.Context, db *sql.DB, opts Options) (*writer, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("writer connection: %w", err)
	}
	if err := migrate(ctx, conn, opts.Clock); err != nil {
		return nil, errors.Join(err, conn.Close())
	}
	w := &writer{conn: conn, q: newConnQuerier(conn), clock: opts.Clock, maxBatch: opts.MaxBatch, maxWait: opts.MaxWait,
		queue: make(chan *op, 4*opts.MaxBatch), stopped: make(chan struct{}), touches: map[string]time.Time{}, backlog: opts.backlog}
	if w.backlog == nil {
		w.backlog = cpuBacklog
	}
	if w.head, err = loadHead(ctx, w.q); err != nil {
		return nil, errors.Join(err, conn.Close())
	}
	if w.checkpoints, err = startCheckpointer(ctx, db); err != nil {
		return nil, errors.Join(err, conn.Close())
	}
	go w.loop()
	return w, nil
}

// loadHead reads the audit chain head from the database.
func loadHead(ctx context.Context, q querier) (chainHead, error) {
	h := chainHead{hash: []byte{}}
	err := queryOne(ctx, q, func(s scanner) error { return s.Scan(&h.seq, &h.hash) },
		`SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1`)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return h, fmt.Errorf("load audit chain head: %w", err)
	}
	return h, nil
}

// submit queues o and waits for its outcome. A caller whose context ends
// while o is still queued gets ctx.Err() at once and o never runs; once the
// writer has claimed o, the caller waits for the batch, because its result
// (committed or not) is what it must learn.
func (w *writer) submit(ctx context.Context, o *op) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o.done = make(chan error, 1)
	if err := w.enqueue(ctx, o); err != nil {
		return err
	}
	select {
	case err := <-o.done:
		return err
	case <-ctx.Done():
		if o.state.CompareAndSwap(opQueued, opAbandoned) {
			return ctx.Err()
		}
		return <-o.done
	}
}

func (w *writer) enqueue(ctx context.Context, o *op) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return ErrClosed
	}
	w.pending.Add(1)
	select {
	case w.queue <- o:
		return nil
	case <-ctx.Done():
		w.pending.Add(-1)
		return ctx.Err()
	}
}

// touch notes an API key use and makes sure a batch will come to write it.
func (w *writer) touch(id string, at time.Time) error {
	w.touchMu.Lock()
	prev, seen := w.touches[id]
	first := len(w.touches) == 0
	if !seen || at.After(prev) {
		w.touches[id] = at
	}
	w.touchMu.Unlock()
	if !first {
		return nil // a wake-up is already on its way
	}
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return ErrClosed
	}
	w.pending.Add(1)
	select {
	case w.queue <- &op{ctx: context.Background()}: // no fn: just a batch
	default:
		w.pending.Add(-1) // the queue is full, so a batch is coming anyway
	}
	return nil
}

func (w *writer) takeTouches() map[string]time.Time {
	w.touchMu.Lock()
	defer w.touchMu.Unlock()
	if len(w.touches) == 0 {
		return nil
	}
	t := w.touches
	w.touches = map[string]time.Time{}
	return t
}

// stop refuses new work, lets the loop finish what is queued, and closes the
// connection.
func (w *writer) stop() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.queue)
	}
	w.mu.Unlock()
	<-w.stopped
}

func (w *writer) loop() {
	defer close(w.stopped)
	defer func() {
		_ = w.checkpoints.stop()
		_ = w.q.close()
		_ = w.conn.Close()
	}()
	for {
		first := w.held
		w.held = nil
		if first == nil {
			var ok bool
			if first, ok = <-w.queue; !ok {
				w.runBatch(nil) // flush touches that arrived last
				return
			}
			w.pending.Add(-1)
		}
		if first.exclusive != nil {
			w.runExclusive(first)
			continue
		}
		batch := w.gather(first)
		start := time.Now()
		w.runBatch(batch)
		w.busy.Add(int64(time.Since(start)))
	}
}

// gather collects the ops already waiting behind first, up to maxBatch.
// Usually it does not wait for ops that may come later: while this batch
// commits the next one queues up by itself. It waits, at most maxWait in
// all, only for callers that have already announced an op but not yet put it
// on the channel, and while the processors are oversubscribed (cpuBacklog),
// when waiting costs no throughput and saves commits.
func (w *writer) gather(first *op) []*op {
	batch := []*op{first}
	var deadline time.Time
	for len(batch) < w.maxBatch {
		var o *op
		var ok bool
		select {
		case o, ok = <-w.queue:
		default:
			if w.pending.Load() <= 0 && !w.backlog() {
				return batch
			}
			now := time.Now()
			if deadline.IsZero() {
				deadline = now.Add(w.maxWait)
			} else if !now.Before(deadline) {
				return batch // waited long enough
			}
			until := now.Add(gatherPoll)
			if until.After(deadline) {
				until = deadline
			}
			if o, ok = w.receiveUntil(until); o == nil && ok {
				continue // is waiting still worth it?
			}
		}
		if !ok {
			return batch // closed: the loop finds out next time round
		}
		w.pending.Add(-1)
		if o.exclusive != nil {
			w.held = o
			return batch
		}
		batch = append(batch, o)
	}
	return batch
}

// gatherPoll is how often a waiting writer checks whether waiting is still worth it.
const gatherPoll = 250 * time.Microsecond

// backlogPerProc is how many goroutines per processor must be waiting to run
// for the writer to hold a batch open (see cpuBacklog).
const backlogPerProc = 3

// cpuBacklog reports whether several goroutines per processor are ready to
// run but waiting for one. The processors then stay busy while the writer
// waits, so holding the batch open costs no throughput, and the requests
// being worked on will mostly end in updates that can share its commit. A
// commit's fixed cost (the fsync, the table and index tail pages every
// commit rewrites, the trigram index flush) is most of what a small batch
// costs, so under load this keeps the writer from spending the processors on
// commits of two or three updates. When the processors are not
// oversubscribed, waiting would only leave them idle while the commit runs
// later, so the writer commits at once, as before.
func cpuBacklog() bool {
	sample := []metrics.Sample{{Name: "/sched/goroutines/runnable:goroutines"}} // per call: every store's writer asks
	metrics.Read(sample)
	v := sample[0].Value
	return v.Kind() == metrics.KindUint64 && v.Uint64() >= uint64(backlogPerProc*runtime.GOMAXPROCS(0))
}

// receiveUntil waits for the next op until deadline; (nil, true) on timeout.
func (w *writer) receiveUntil(deadline time.Time) (*op, bool) {
	d := time.Until(deadline)
	if d <= 0 {
		return nil, true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case o, ok := <-w.queue:
		return o, ok
	case <-t.C:
		return nil, true
	}
}

// runExclusive runs a job alone on the writer's connection.
func (w *writer) runExclusive(o *op) {
	if !o.state.CompareAndSwap(opQueued, opClaimed) {
		return
	}
	err := o.ctx.Err()
	if err == nil {
		err = o.exclusive(o.ctx, w.q)
		w.checkpoints.nudge()
	}
	o.done <- err
}
