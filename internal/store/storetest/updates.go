package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

var errBoom = errors.New("boom")

func testUpdateRollsBackAlone(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	c := newCert(1)
	err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.InsertCertificate(ctx, c); err != nil {
			return err
		}
		tx.AppendAudit(store.AuditEvent{Action: "certificate.issue", ObjectID: c.Serial})
		return errBoom
	})
	wantErr(t, "failing Update", err, errBoom)
	_, err = s.GetCertificate(ctx, c.Serial)
	wantErr(t, "certificate of a failed Update", err, store.ErrNotFound)
	events, err := s.ListAuditEvents(ctx, 0, 10)
	noErr(t, "ListAuditEvents", err)
	if len(events) != 0 {
		t.Errorf("failed Update left %d audit events", len(events))
	}
	// The same serial is free again.
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.InsertCertificate(ctx, newCert(1)) })
}

func testUpdateReadsOwnWrites(t *testing.T, s store.Store) {
	c := newCert(1)
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.InsertCertificate(ctx, c); err != nil {
			return err
		}
		got, err := tx.GetCertificate(ctx, c.Serial)
		if err != nil {
			return fmt.Errorf("read own write: %w", err)
		}
		page, err := tx.SearchCertificates(ctx, store.CertificateQuery{Name: c.CommonName, Now: t0})
		if err != nil || len(page.Items) != 1 || got.IntID != c.IntID {
			return fmt.Errorf("search own write: %v, %+v", err, page)
		}
		return nil
	})
}

func testUpdateCancelled(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	err := s.Update(ctx, func(tx store.Tx) error { ran = true; return nil })
	wantErr(t, "Update with a cancelled context", err, context.Canceled)
	if ran {
		t.Error("update function ran although its context was cancelled")
	}
}

// testConcurrentBatchIsolation runs many Updates at once, so that a
// group-committing backend batches them, where every fifth fails after
// writing: exactly the others must be stored, with their audit events.
func testConcurrentBatchIsolation(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	const n = 50
	errs := runConcurrent(ctx, s, n, func(i int) bool { return i%5 == 0 })
	for i, err := range errs {
		if i%5 == 0 {
			wantErr(t, fmt.Sprintf("update %d", i), err, errBoom)
		} else if err != nil {
			t.Errorf("update %d: %v", i, err)
		}
	}
	for i := range n {
		_, err := s.GetCertificate(ctx, newCert(i).Serial)
		if i%5 == 0 {
			wantErr(t, fmt.Sprintf("certificate %d of a failed update", i), err, store.ErrNotFound)
		} else if err != nil {
			t.Errorf("certificate %d: %v", i, err)
		}
	}
	events := allEvents(t, s)
	if len(events) != n-n/5 {
		t.Errorf("%d audit events, want %d", len(events), n-n/5)
	}
	for _, ev := range events {
		var i int
		if _, err := fmt.Sscanf(ev.ObjectID, "cert-%d", &i); err != nil || i%5 == 0 {
			t.Errorf("unexpected audit event for %q", ev.ObjectID)
		}
	}
	checkChain(t, events, nil)
}

// runConcurrent starts n Updates at once; update i inserts certificate i and
// one audit event, then fails if fail(i).
func runConcurrent(ctx context.Context, s store.Store, n int, fail func(int) bool) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = s.Update(ctx, func(tx store.Tx) error {
				c := newCert(i)
				if err := tx.InsertCertificate(ctx, c); err != nil {
					return err
				}
				tx.AppendAudit(store.AuditEvent{Time: at(time.Duration(i) * time.Microsecond), Principal: "usr_alice",
					Action: "certificate.issue", ObjectType: "certificate", ObjectID: fmt.Sprintf("cert-%d", i),
					Outcome: "success", Details: map[string]any{"n": i, "serial": c.Serial, "sans": c.SANs}})
				if fail(i) {
					return errBoom
				}
				return nil
			})
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

func allEvents(t *testing.T, s store.Store) []store.AuditEvent {
	t.Helper()
	ctx := ctxT(t)
	var all []store.AuditEvent
	for {
		var after int64
		if len(all) > 0 {
			after = all[len(all)-1].Seq
		}
		page, err := s.ListAuditEvents(ctx, after, 7)
		noErr(t, "ListAuditEvents", err)
		if len(page) == 0 {
			return all
		}
		all = append(all, page...)
	}
}

// checkChain verifies what `signet audit verify` will: consecutive
// sequence numbers, each prev_hash the previous hash, each hash recomputed.
func checkChain(t *testing.T, events []store.AuditEvent, prev *store.AuditEvent) {
	t.Helper()
	seq, hash := int64(1), []byte{}
	if prev != nil {
		seq, hash = prev.Seq+1, prev.Hash
	}
	for _, ev := range events {
		if ev.Seq != seq {
			t.Fatalf("event seq %d, want %d", ev.Seq, seq)
		}
		if !bytes.Equal(ev.PrevHash, hash) {
			t.Fatalf("event %d prev_hash %x, want %x", ev.Seq, ev.PrevHash, hash)
		}
		if want := store.HashAuditEvent(ev.PrevHash, ev); !bytes.Equal(ev.Hash, want) {
			t.Fatalf("event %d hash %x, recomputed %x", ev.Seq, ev.Hash, want)
		}
		seq, hash = seq+1, ev.Hash
	}
}

func testAuditChain(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	ev := store.AuditEvent{Time: time.Date(2026, 6, 1, 12, 0, 0, 123456789, time.FixedZone("X", 3600)), Principal: "usr_alice",
		Action: "ca.create", ObjectType: "ca", ObjectID: "ca_1", Outcome: "success",
		Details: map[string]any{"b": "two", "a": 1, "nested": map[string]any{"z": true, "y": nil}}}
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		tx.AppendAudit(ev)
		tx.AppendAudit(store.AuditEvent{Action: "ca.update", ObjectType: "ca", ObjectID: "ca_1", Outcome: "success"})
		return nil
	})
	events := allEvents(t, s)
	if len(events) != 2 {
		t.Fatalf("%d events, want 2", len(events))
	}
	got := events[0]
	if !got.Time.Equal(ev.Time.Truncate(store.AuditTimePrecision)) {
		t.Errorf("event time %v, want %v at storage precision", got.Time, ev.Time)
	}
	if string(got.DetailsJSON) != `{"a":1,"b":"two","nested":{"y":null,"z":true}}` {
		t.Errorf("details stored as %s, want sorted canonical JSON", got.DetailsJSON)
	}
	if got.Principal != ev.Principal || got.Action != ev.Action || got.ObjectID != ev.ObjectID || got.Details["b"] != "two" {
		t.Errorf("event read back as %+v", got)
	}
	if events[1].Time.IsZero() {
		t.Error("an event without a time was not stamped")
	}

	// Many concurrent updates, some failing, still make one unbroken chain.
	errs := runConcurrent(ctx, s, 40, func(i int) bool { return i%4 == 1 })
	okCount := 0
	for _, err := range errs {
		if err == nil {
			okCount++
		}
	}
	events = allEvents(t, s)
	if len(events) != 2+okCount {
		t.Errorf("%d events, want %d", len(events), 2+okCount)
	}
	checkChain(t, events, nil)
}

func testReopen(t *testing.T, open func(t *testing.T) (store.Store, func(t *testing.T) store.Store)) {
	ctx := ctxT(t)
	s, reopen := open(t)
	ca, tpl, p := seedCatalog(t, s)
	c := newCert(1)
	k := newAPIKey(1)
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		tx.AppendAudit(store.AuditEvent{Action: "certificate.issue", ObjectType: "certificate", ObjectID: c.Serial, Outcome: "success"})
		if err := tx.InsertAPIKey(ctx, k); err != nil {
			return err
		}
		return tx.InsertCertificate(ctx, c)
	})
	// The newest certificate is deleted: its integer id stays taken after reopening.
	gone := deletable(2)
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.InsertCertificate(ctx, gone) })
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteCertificate(ctx, gone.Serial) })
	before := allEvents(t, s)
	noErr(t, "Close", s.Close())

	s = reopen(t)
	for what, get := range map[string]func() (any, any, error){
		"CA":          func() (any, any, error) { v, err := s.GetCA(ctx, ca.ID); return v, ca, err },
		"template":    func() (any, any, error) { v, err := s.GetTemplate(ctx, tpl.ID); return v, tpl, err },
		"profile":     func() (any, any, error) { v, err := s.GetProfile(ctx, p.ID); return v, p, err },
		"certificate": func() (any, any, error) { v, err := s.GetCertificate(ctx, c.Serial); return v, c, err },
		"API key":     func() (any, any, error) { v, err := s.GetAPIKey(ctx, k.ID); return v, k, err },
	} {
		got, want, err := get()
		noErr(t, "get "+what+" after reopen", err)
		same(t, what+" after reopen", got, want)
	}
	same(t, "audit events after reopen", allEvents(t, s), before)
	next := deletable(4)
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.InsertCertificate(ctx, next) })
	if next.IntID <= gone.IntID {
		t.Errorf("IntID %d after reopening: the deleted certificate's %d was reused", next.IntID, gone.IntID)
	}

	// The chain continues from the stored head.
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		tx.AppendAudit(store.AuditEvent{Action: "certificate.revoke", ObjectType: "certificate", ObjectID: c.Serial, Outcome: "success"})
		return nil
	})
	after := allEvents(t, s)
	if len(after) != len(before)+1 {
		t.Fatalf("%d events after reopen and append, want %d", len(after), len(before)+1)
	}
	checkChain(t, after, nil)
}
