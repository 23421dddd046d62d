package postgres

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// watch samples two leaders every millisecond until stopped, failing the
// test the moment both lead, and reports which one leads.
type watch struct {
	leaders [2]*Leader
	both    atomic.Bool
	current atomic.Int32 // -1 none, else the index leading
	stop    chan struct{}
	done    sync.WaitGroup
}

func startWatch(a, b *Leader) *watch {
	w := &watch{leaders: [2]*Leader{a, b}, stop: make(chan struct{})}
	w.current.Store(-1)
	w.done.Go(func() {
		for {
			select {
			case <-w.stop:
				return
			case <-time.After(time.Millisecond):
			}
			la, lb := w.leaders[0].IsLeader(), w.leaders[1].IsLeader()
			switch {
			case la && lb:
				w.both.Store(true)
			case la:
				w.current.Store(0)
			case lb:
				w.current.Store(1)
			default:
				w.current.Store(-1)
			}
		}
	})
	return w
}

// waitFor waits until leader idx leads, and returns how long that took.
func (w *watch) waitFor(t *testing.T, idx int32, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for w.current.Load() != idx {
		if time.Since(start) > within {
			t.Fatalf("leader %d did not lead within %v (current %d)", idx, within, w.current.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

func newTestLeader(t *testing.T, url string) *Leader {
	t.Helper()
	l, err := NewLeader(url, LeaderOptions{Name: "test", Lease: 900 * time.Millisecond, Retry: 100 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// lockHolder is the backend pid holding the leaders' advisory lock.
func lockHolder(t *testing.T, l *Leader, url string) int32 {
	t.Helper()
	var pid int32
	err := adminConn(t, url).QueryRow(context.Background(), `SELECT pid FROM pg_locks WHERE locktype = 'advisory'
		AND granted AND classid::bigint = $1 AND objid::bigint = $2`,
		int64(uint64(l.key)>>32), int64(uint64(l.key)&0xffffffff)).Scan(&pid)
	if err != nil {
		t.Fatalf("find the lock holder: %v", err)
	}
	return pid
}

// TestLeader: of two Leaders on one database exactly one leads; when its
// connection is killed, leadership moves to the other within seconds and
// never overlaps; the killed one reconnects as a follower; Close hands
// leadership back.
func TestLeader(t *testing.T) {
	url := NewTestDatabase(t)
	a := newTestLeader(t, url)
	b := newTestLeader(t, url)
	w := startWatch(a, b)
	defer func() {
		close(w.stop)
		w.done.Wait()
		if w.both.Load() {
			t.Error("both leaders led at once")
		}
	}()

	start := time.Now()
	for w.current.Load() == -1 {
		if time.Since(start) > 5*time.Second {
			t.Fatal("nobody leads after 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	first := w.current.Load()
	t.Logf("leader %d elected after %v", first, time.Since(start))
	other := 1 - first

	pid := lockHolder(t, w.leaders[first], url)
	if _, err := adminConn(t, url).Exec(context.Background(), `SELECT pg_terminate_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	t.Logf("leadership moved to %d %v after the holder's connection was killed", other, w.waitFor(t, other, 5*time.Second))

	// The killed leader is back online but follows.
	time.Sleep(time.Second)
	if w.leaders[first].IsLeader() {
		t.Errorf("leader %d leads again while %d holds the lock", first, other)
	}

	// Close releases the lock at once; the other takes over.
	if err := w.leaders[other].Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("leadership moved back to %d %v after Close", first, w.waitFor(t, first, 5*time.Second))
}
