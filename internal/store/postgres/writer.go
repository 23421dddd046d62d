package postgres

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signet-pki/signet/internal/store"
)

// op is one update function waiting for the writer; an op without fn only
// asks for a batch (to write API key touches).
type op struct {
	ctx context.Context
	fn  func(tx store.Tx) error
	// insertOnly: fn comes from Store.Insert, so the batch may run it
	// before it takes the audit chain head lock (see tryBatch).
	insertOnly bool
	state      atomic.Int32 // opQueued -> opClaimed (writer) | opAbandoned (caller)
	done       chan error   // buffered: the writer never blocks delivering
}

const (
	opQueued int32 = iota
	opClaimed
	opAbandoned
)

// writer is the group-commit loop, as in store/sqlite: update functions
// queue on a channel; the writer runs as many as are waiting in one
// transaction (see runBatch for how one function's failure is undone
// alone), chains their audit events, commits once and only then releases
// the callers. One commit, and one wait for the audit head lock, serve the
// whole batch.
type writer struct {
	cfg      *pgx.ConnConfig
	conn     *pgx.Conn // nil after it broke, until the next batch reconnects
	clock    func() time.Time
	log      *slog.Logger
	maxBatch int
	maxWait  time.Duration
	timeout  time.Duration
	trigram  bool // passed on to update functions' reads

	queue   chan *op
	pending atomic.Int64 // callers between announcing an op and the writer receiving it
	mu      sync.RWMutex // guards closed against sends on queue
	closed  bool
	stopped chan struct{}

	touchMu sync.Mutex
	touches map[string]time.Time // API key id -> latest use, written with the next batch

	batches, updates atomic.Uint64 // committed batches and the update functions they held
	busy             atomic.Int64  // nanoseconds spent running batches
}

func startWriter(conn *pgx.Conn, cfg *pgx.ConnConfig, opts Options, trigram bool) *writer {
	w := &writer{cfg: cfg, conn: conn, clock: opts.Clock, log: opts.Logger, maxBatch: opts.MaxBatch, trigram: trigram,
		maxWait: opts.MaxWait, timeout: opts.BatchTimeout, queue: make(chan *op, 4*opts.MaxBatch),
		stopped: make(chan struct{}), touches: map[string]time.Time{}}
	go w.loop()
	return w
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

// stop refuses new work, lets the loop finish what is queued, and closes
// the connection.
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
		if w.conn != nil {
			_ = w.conn.Close(context.Background())
		}
	}()
	for {
		first, ok := <-w.queue
		if !ok {
			w.runBatch(nil) // flush touches that arrived last
			return
		}
		w.pending.Add(-1)
		batch := w.gather(first)
		start := time.Now()
		w.runBatch(batch)
		w.busy.Add(int64(time.Since(start)))
	}
}

// gather collects the ops already waiting behind first, up to maxBatch. It
// does not sleep for ops that may come later: while this batch commits the
// next one queues up by itself. It only waits, at most maxWait, for callers
// that have already announced an op but not yet put it on the channel.
func (w *writer) gather(first *op) []*op {
	batch := []*op{first}
	var deadline time.Time
	for len(batch) < w.maxBatch {
		var o *op
		var ok bool
		select {
		case o, ok = <-w.queue:
		default:
			if w.pending.Load() <= 0 {
				return batch
			}
			if deadline.IsZero() {
				deadline = time.Now().Add(w.maxWait)
			}
			if o, ok = w.receiveUntil(deadline); o == nil && ok {
				return batch // waited long enough
			}
		}
		if !ok {
			return batch // closed: the loop finds out next time round
		}
		w.pending.Add(-1)
		batch = append(batch, o)
	}
	return batch
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

// connection returns the writer's connection, reconnecting after a loss
// (a server restart, a failover, a killed backend).
func (w *writer) connection(ctx context.Context) (*pgx.Conn, error) {
	if w.conn != nil && !w.conn.IsClosed() {
		return w.conn, nil
	}
	if w.conn != nil {
		_ = w.conn.Close(context.Background())
		w.conn = nil
	}
	c, err := dial(ctx, w.cfg)
	if err != nil {
		return nil, err
	}
	w.conn = c
	return c, nil
}
