package postgres

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

var errBoom = errors.New("boom")

func nodeCert(node, worker, i int) *store.Certificate {
	serial := fmt.Sprintf("%x%02x%04x", node+1, worker, i)
	der := []byte("der of " + serial)
	sum := sha256.Sum256(der)
	cn := fmt.Sprintf("n%d-w%d-%d.example.com", node, worker, i)
	return &store.Certificate{Serial: serial, CAID: fmt.Sprintf("ca_%d", i%3), Issuer: "CN=CA", Subject: "CN=" + cn,
		CommonName: cn, SANs: []string{cn}, KeyType: "ECDSA-P256", NotBefore: time.Now(), NotAfter: time.Now().AddDate(0, 0, 30),
		SHA1: serial, SHA256: hex.EncodeToString(sum[:]), DER: der, Status: store.CertActive, Source: store.SourceIssued}
}

// TestTwoNodesOneChain runs two stores on one database, as two Signet
// nodes, appending audited updates concurrently (some failing after
// writing, so both nodes take the savepoint path too). Half the workers
// use Insert, whose functions run before their batch locks the chain head,
// the others Update, so batches mix both. The chain must come out linear
// and complete: consecutive sequence numbers, each prev_hash the previous
// hash, every hash recomputed, one event per successful update and none
// for a failed one.
func TestTwoNodesOneChain(t *testing.T) {
	url := NewTestDatabase(t)
	nodes := []*Store{openAt(t, url, Options{MaxConns: 2}), openAt(t, url, Options{MaxConns: 2})}
	const workers, perWorker = 8, 40
	ctx := context.Background()
	var mu sync.Mutex
	want := map[string]bool{} // serials of successful updates
	var wg sync.WaitGroup
	for n, s := range nodes {
		for w := range workers {
			wg.Go(func() {
				for i := range perWorker {
					c := nodeCert(n, w, i)
					fail := i%7 == 3
					update := s.Update
					if w%2 == 0 {
						update = s.Insert
					}
					err := update(ctx, func(tx store.Tx) error {
						if err := tx.InsertCertificate(ctx, c); err != nil {
							return err
						}
						tx.AppendAudit(store.AuditEvent{Principal: fmt.Sprintf("node-%d", n), Action: "certificate.issue",
							ObjectType: "certificate", ObjectID: c.Serial, Outcome: "success",
							Details: map[string]any{"worker": w, "i": i}})
						if fail {
							return errBoom
						}
						return nil
					})
					switch {
					case fail && !errors.Is(err, errBoom):
						t.Errorf("failing update %s: %v", c.Serial, err)
					case !fail && err != nil:
						t.Errorf("update %s: %v", c.Serial, err)
					case !fail:
						mu.Lock()
						want[c.Serial] = true
						mu.Unlock()
					}
				}
			})
		}
	}
	wg.Wait()

	var events []store.AuditEvent
	for {
		var after int64
		if len(events) > 0 {
			after = events[len(events)-1].Seq
		}
		page, err := nodes[0].ListAuditEvents(ctx, after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		events = append(events, page...)
	}
	verifyChain(t, events)
	seen := map[string]bool{}
	byNode := map[string]int{}
	for _, ev := range events {
		if !want[ev.ObjectID] || seen[ev.ObjectID] {
			t.Fatalf("event %d for %s: not a successful update, or seen twice", ev.Seq, ev.ObjectID)
		}
		seen[ev.ObjectID] = true
		byNode[ev.Principal]++
	}
	if len(seen) != len(want) {
		t.Fatalf("%d events for %d successful updates", len(seen), len(want))
	}
	if byNode["node-0"] == 0 || byNode["node-1"] == 0 {
		t.Fatalf("events by node: %v", byNode)
	}
	sum, err := nodes[1].Summarize(ctx, time.Now(), "")
	if err != nil || sum.Total != int64(len(want)) {
		t.Fatalf("summary total %d (%v), want %d", sum.Total, err, len(want))
	}
	for i, s := range nodes {
		batches, updates, busy := s.GroupCommitStats()
		t.Logf("node %d: %d updates in %d batches (writer busy %v)", i, updates, batches, busy)
	}
}

// verifyChain checks what `signet audit verify` will.
func verifyChain(t *testing.T, events []store.AuditEvent) {
	t.Helper()
	seq, prev := int64(1), []byte{}
	for _, ev := range events {
		if ev.Seq != seq {
			t.Fatalf("event seq %d, want %d", ev.Seq, seq)
		}
		if !bytes.Equal(ev.PrevHash, prev) {
			t.Fatalf("event %d: prev_hash %x, want %x", ev.Seq, ev.PrevHash, prev)
		}
		if h := store.HashAuditEvent(ev.PrevHash, ev); !bytes.Equal(h, ev.Hash) {
			t.Fatalf("event %d: hash %x, recomputed %x", ev.Seq, ev.Hash, h)
		}
		seq, prev = seq+1, ev.Hash
	}
}

// TestBatchIsolation makes the group commit deterministic: while one
// update holds the writer, 50 more queue, and then run as one batch in
// which every fifth fails after writing. That forces the savepoint
// attempt; exactly the others must commit.
func TestBatchIsolation(t *testing.T) {
	s := openAt(t, NewTestDatabase(t), Options{})
	ctx := context.Background()
	release := make(chan struct{})
	held := make(chan struct{})
	go func() {
		_ = s.Update(ctx, func(tx store.Tx) error {
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	const n = 50
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = s.Update(ctx, func(tx store.Tx) error {
				if err := tx.InsertCertificate(ctx, nodeCert(0, 0, i)); err != nil {
					return err
				}
				tx.AppendAudit(store.AuditEvent{Action: "certificate.issue", ObjectID: fmt.Sprint(i)})
				if i%5 == 0 {
					return fmt.Errorf("update %d: %w", i, errBoom)
				}
				return nil
			})
		})
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(s.w.queue) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d updates queued, want %d", len(s.w.queue), n)
		}
		time.Sleep(time.Millisecond)
	}
	batches0, _, _ := s.GroupCommitStats()
	close(release)
	wg.Wait()
	if batches, _, _ := s.GroupCommitStats(); batches-batches0 != 2 { // the holder's batch, then the 50
		t.Errorf("%d batches, want 2", batches-batches0)
	}
	for i, err := range errs {
		_, getErr := s.GetCertificate(ctx, nodeCert(0, 0, i).Serial)
		if i%5 == 0 {
			if !errors.Is(err, errBoom) || !errors.Is(getErr, store.ErrNotFound) {
				t.Errorf("update %d: %v, certificate: %v", i, err, getErr)
			}
		} else if err != nil || getErr != nil {
			t.Errorf("update %d: %v, certificate: %v", i, err, getErr)
		}
	}
	events, err := s.ListAuditEvents(ctx, 0, 1000)
	if err != nil || len(events) != n-n/5 {
		t.Fatalf("%d events (%v), want %d", len(events), err, n-n/5)
	}
	verifyChain(t, events)
}

// TestInsertDoesNotWaitForAnotherNodesStatements: while node A's batch holds
// the audit chain head (its Update function is still running), node B's
// Insert function runs; B's commit then waits for A's, and both commit.
func TestInsertDoesNotWaitForAnotherNodesStatements(t *testing.T) {
	url := NewTestDatabase(t)
	a, b := openAt(t, url, Options{}), openAt(t, url, Options{})
	ctx := context.Background()
	release, held, ran := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var heldOnce, ranOnce sync.Once // functions may run more than once
	var wg sync.WaitGroup
	var errA, errB error
	wg.Go(func() {
		errA = a.Update(ctx, func(tx store.Tx) error {
			if err := tx.InsertCertificate(ctx, nodeCert(0, 0, 1)); err != nil {
				return err
			}
			tx.AppendAudit(store.AuditEvent{Action: "certificate.issue", ObjectID: "a"})
			heldOnce.Do(func() { close(held) })
			<-release
			return nil
		})
	})
	<-held
	wg.Go(func() {
		errB = b.Insert(ctx, func(tx store.Tx) error {
			if err := tx.InsertCertificate(ctx, nodeCert(1, 0, 1)); err != nil {
				return err
			}
			tx.AppendAudit(store.AuditEvent{Action: "certificate.issue", ObjectID: "b"})
			ranOnce.Do(func() { close(ran) })
			return nil
		})
	})
	select {
	case <-ran:
	case <-time.After(10 * time.Second):
		t.Error("node B's Insert function waited for node A's batch")
	}
	close(release)
	wg.Wait()
	if errA != nil || errB != nil {
		t.Fatalf("update on A: %v, insert on B: %v", errA, errB)
	}
	events, err := b.ListAuditEvents(ctx, 0, 10)
	if err != nil || len(events) != 2 || events[0].ObjectID != "a" || events[1].ObjectID != "b" {
		t.Fatalf("events %+v (%v), want a then b", events, err)
	}
	verifyChain(t, events)
}

// TestInsertAndUpdateOnOneKeyDoNotHang: node A's Insert function adds an
// idempotency key and then waits for the audit head, which node B's batch
// holds while its Update function adds the same key (and so waits for A): a
// lock cycle only an Insert can enter. PostgreSQL breaks it, the aborted
// batch retries with the head lock first, and exactly one of the two keeps
// the key; the other learns it is taken. Nothing hangs and the chain holds.
func TestInsertAndUpdateOnOneKeyDoNotHang(t *testing.T) {
	url := NewTestDatabase(t)
	a, b := openAt(t, url, Options{}), openAt(t, url, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	key := func(by string) *store.Idempotency {
		return &store.Idempotency{PrincipalID: "p", Key: "k", RequestHash: by, ResultType: "request", ResultID: by}
	}
	inserted := make(chan struct{})
	var once sync.Once
	var errA, errB error
	var wg sync.WaitGroup
	wg.Go(func() {
		errA = a.Insert(ctx, func(tx store.Tx) error {
			if err := tx.PutIdempotency(ctx, key("a")); err != nil {
				return err
			}
			tx.AppendAudit(store.AuditEvent{Action: "request.create", ObjectID: "a"})
			once.Do(func() { close(inserted) })
			time.Sleep(300 * time.Millisecond) // B takes the head and waits for this key meanwhile
			return nil
		})
	})
	<-inserted
	wg.Go(func() {
		errB = b.Update(ctx, func(tx store.Tx) error {
			if err := tx.PutIdempotency(ctx, key("b")); err != nil {
				return err
			}
			tx.AppendAudit(store.AuditEvent{Action: "request.create", ObjectID: "b"})
			return nil
		})
	})
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatal("the two batches hung")
	}
	if (errA == nil) == (errB == nil) {
		t.Fatalf("insert on A: %v, update on B: %v; want exactly one to keep the key", errA, errB)
	}
	for _, err := range []error{errA, errB} {
		if err != nil && !errors.Is(err, store.ErrDuplicate) {
			t.Errorf("the loser's error: %v, want ErrDuplicate", err)
		}
	}
	got, err := a.GetIdempotency(ctx, "p", "k")
	if err != nil || (got.ResultID == "a") != (errA == nil) {
		t.Fatalf("stored key %+v (%v); insert on A: %v", got, err, errA)
	}
	events, err := a.ListAuditEvents(ctx, 0, 10)
	if err != nil || len(events) != 1 {
		t.Fatalf("events %+v (%v), want the winner's one", events, err)
	}
	verifyChain(t, events)
}
