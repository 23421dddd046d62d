package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

// holdWriter occupies the writer with an exclusive job until release is
// called, so that updates queue up and the next batch takes them all.
func holdWriter(t *testing.T, s *Store) (release func()) {
	t.Helper()
	started, gate := make(chan struct{}), make(chan struct{})
	go func() {
		_ = s.w.submit(context.Background(), &op{ctx: context.Background(), exclusive: func(context.Context, *connQuerier) error {
			close(started)
			<-gate
			return nil
		}})
	}()
	<-started
	return sync.OnceFunc(func() { close(gate) })
}

// waitQueued waits until n ops sit in the writer's queue.
func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(s.w.queue) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d ops queued, want %d", len(s.w.queue), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func testCert(n int) *store.Certificate {
	c := benchCert(int64(n), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	c.DER = []byte(fmt.Sprintf("der %d", n))
	return c
}

// TestBatchIsolation makes the group commit deterministic: 50 updates queue
// behind a held writer and run as one batch in which every fifth fails after
// writing. That forces the savepoint path; exactly the others must commit.
func TestBatchIsolation(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	release := holdWriter(t, s)
	const n = 50
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Update(ctx, func(tx store.Tx) error {
				if err := tx.InsertCertificate(ctx, testCert(i)); err != nil {
					return err
				}
				tx.AppendAudit(store.AuditEvent{Action: "certificate.issue", ObjectID: fmt.Sprint(i)})
				if i%5 == 0 {
					return fmt.Errorf("update %d: %w", i, errBoom)
				}
				return nil
			})
		}()
	}
	waitQueued(t, s, n)
	batches0, _ := s.w.stats()
	release()
	wg.Wait()
	if batches, _ := s.w.stats(); batches-batches0 != 1 {
		t.Errorf("%d batches, want the 50 updates in one", batches-batches0)
	}
	for i, err := range errs {
		_, getErr := s.GetCertificate(ctx, testCert(i).Serial)
		if i%5 == 0 {
			if !errors.Is(err, errBoom) || !errors.Is(getErr, store.ErrNotFound) {
				t.Errorf("failed update %d: err %v, get %v", i, err, getErr)
			}
		} else if err != nil || getErr != nil {
			t.Errorf("update %d: err %v, get %v", i, err, getErr)
		}
	}
	events, err := s.ListAuditEvents(ctx, 0, 1000)
	if err != nil || len(events) != n-n/5 {
		t.Fatalf("%d audit events (%v), want %d", len(events), err, n-n/5)
	}
	for i, ev := range events {
		if ev.Seq != int64(i+1) || ev.ObjectID == "0" || ev.ObjectID == "5" {
			t.Errorf("event %d: seq %d object %s", i, ev.Seq, ev.ObjectID)
		}
	}
}

var errBoom = errors.New("boom")

// TestBatchFailuresWithoutWrites: functions that fail before writing need no
// savepoint; the batch commits the rest in one optimistic pass.
func TestBatchFailuresWithoutWrites(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	release := holdWriter(t, s)
	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Update(ctx, func(tx store.Tx) error {
				if i%2 == 0 {
					_, err := tx.GetCertificate(ctx, "missing")
					return err
				}
				return tx.InsertCertificate(ctx, testCert(i))
			})
		}()
	}
	waitQueued(t, s, 10)
	release()
	wg.Wait()
	for i, err := range errs {
		if (i%2 == 0) != errors.Is(err, store.ErrNotFound) || (i%2 == 1 && err != nil) {
			t.Errorf("update %d: %v", i, err)
		}
	}
}

func TestUpdatePanicFailsOnlyItsCaller(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.InsertCertificate(ctx, testCert(1)); err != nil {
			return err
		}
		panic("bug")
	})
	if err == nil || !strings.Contains(err.Error(), "panicked: bug") {
		t.Fatalf("Update = %v, want the panic as an error", err)
	}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertCertificate(ctx, testCert(1)) }); err != nil {
		t.Fatalf("writer unusable after a panic: %v", err)
	}
}

// TestCancelWhileQueued: a caller that gives up before its update runs gets
// ctx.Err() at once, and the update never runs.
func TestCancelWhileQueued(t *testing.T) {
	s := openTemp(t)
	release := holdWriter(t, s)
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{}, 1)
	done := make(chan error)
	go func() { done <- s.Update(ctx, func(store.Tx) error { ran <- struct{}{}; return nil }) }()
	waitQueued(t, s, 1)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Update = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Update did not return after its context was cancelled")
	}
	release()
	if err := s.Update(context.Background(), func(store.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ran:
		t.Error("the abandoned update ran")
	default:
	}
}

// TestCancelWhileRunning: once an update runs, its outcome stands even if
// its context ends meanwhile, and the statement is not interrupted.
func TestCancelWhileRunning(t *testing.T) {
	s := openTemp(t)
	ctx, cancel := context.WithCancel(context.Background())
	err := s.Update(ctx, func(tx store.Tx) error {
		cancel()
		return tx.InsertCertificate(ctx, testCert(1))
	})
	if err != nil {
		t.Fatalf("Update = %v, want its committed result", err)
	}
	if _, err := s.GetCertificate(context.Background(), testCert(1).Serial); err != nil {
		t.Fatal(err)
	}
}

func TestClosed(t *testing.T) {
	s := openTemp(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(context.Background(), func(store.Tx) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("Update after Close = %v, want ErrClosed", err)
	}
	if err := s.TouchAPIKey(context.Background(), "key_x", time.Now()); !errors.Is(err, ErrClosed) {
		t.Errorf("TouchAPIKey after Close = %v, want ErrClosed", err)
	}
}

// TestTwoWritersShareTheChain: a second process appending to the same file
// moves the chain head under the first; the first notices (the sequence
// number is taken), re-reads the head and continues the one chain.
func TestTwoWritersShareTheChain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "signet.db")
	a, b := openAt(t, path, Options{}), openAt(t, path, Options{})
	ctx := context.Background()
	for i, s := range []*Store{a, b, a, b, b, a} {
		err := s.Update(ctx, func(tx store.Tx) error {
			tx.AppendAudit(store.AuditEvent{Action: "test", ObjectID: fmt.Sprint(i)})
			return nil
		})
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	events, err := a.ListAuditEvents(ctx, 0, 100)
	if err != nil || len(events) != 6 {
		t.Fatalf("%d events (%v), want 6", len(events), err)
	}
	prev := []byte{}
	for i, ev := range events {
		if ev.ObjectID != fmt.Sprint(i) || string(ev.PrevHash) != string(prev) ||
			string(store.HashAuditEvent(ev.PrevHash, ev)) != string(ev.Hash) {
			t.Fatalf("event %d breaks the chain: %+v", i, ev)
		}
		prev = ev.Hash
	}
}

// TestBatchHeldOpenUnderBacklog: while the processors are oversubscribed a
// batch stays open (up to MaxWait) for updates still to come, so that they
// share its commit; otherwise it commits at once.
func TestBatchHeldOpenUnderBacklog(t *testing.T) {
	for _, busy := range []bool{true, false} {
		t.Run(fmt.Sprintf("backlog=%v", busy), func(t *testing.T) {
			const maxWait = time.Second
			s := openAt(t, filepath.Join(t.TempDir(), "signet.db"), Options{MaxWait: maxWait, backlog: func() bool { return busy }})
			ctx := context.Background()
			batches0, _ := s.w.stats()
			first := make(chan error, 1)
			go func() {
				first <- s.Update(ctx, func(tx store.Tx) error { return tx.InsertCertificate(ctx, testCert(1)) })
			}()
			time.Sleep(100 * time.Millisecond) // the first update is in its batch by now
			second := time.Now()
			if err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertCertificate(ctx, testCert(2)) }); err != nil {
				t.Fatal(err)
			}
			if err := <-first; err != nil {
				t.Fatal(err)
			}
			batches, _ := s.w.stats()
			if want := map[bool]uint64{true: 1, false: 2}[busy]; batches-batches0 != want {
				t.Errorf("%d batches, want %d", batches-batches0, want)
			}
			if d := time.Since(second); !busy && d > maxWait/2 {
				t.Errorf("the second update took %v without a backlog: something held its batch", d)
			}
		})
	}
}

// TestBatchHoldIsBounded: under a backlog that never clears, a lone update
// still commits once MaxWait has passed.
func TestBatchHoldIsBounded(t *testing.T) {
	const maxWait = 300 * time.Millisecond
	s := openAt(t, filepath.Join(t.TempDir(), "signet.db"), Options{MaxWait: maxWait, backlog: func() bool { return true }})
	start := time.Now()
	if err := s.Update(context.Background(), func(store.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < maxWait || d > maxWait+5*time.Second {
		t.Errorf("Update took %v, want about MaxWait (%v)", d, maxWait)
	}
}
