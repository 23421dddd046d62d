package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

// deletable returns certificate n as Signet did not issue it: imported
// (odd n) or discovered (even n), with names no other fixture has.
func deletable(n int) *store.Certificate {
	c := newCert(n)
	c.Source, c.Method, c.RequestID, c.ProfileID = store.SourceImported, "", "", ""
	if n%2 == 0 {
		c.Source = store.SourceDiscovered
	}
	c.CommonName = fmt.Sprintf("gone-%d.deleted.example", n)
	c.Subject = "CN=" + c.CommonName
	c.SANs = []string{c.CommonName, fmt.Sprintf("alias-%d.deleted.example", n)}
	return c
}

// findable reports which of the ways to find a certificate by its names or
// thumbprints still find c.
func findable(t *testing.T, s store.Store, c *store.Certificate) []string {
	t.Helper()
	ctx := ctxT(t)
	var found []string
	if _, err := s.GetCertificate(ctx, c.Serial); err == nil {
		found = append(found, "serial")
	} else if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetCertificate: %v", err)
	}
	if _, err := s.GetCertificateBySHA256(ctx, c.SHA256); err == nil {
		found = append(found, "sha256")
	} else if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetCertificateBySHA256: %v", err)
	}
	for what, q := range map[string]store.CertificateQuery{
		"name":     {Name: c.SANs[1]},
		"prefix":   {NamePrefix: c.SANs[1][:9]},
		"contains": {Contains: c.SANs[1][2:9]}, // long enough for the trigram index
		"source":   {Source: c.Source},
		"org":      {OrgID: c.OrgID},
	} {
		q.Now, q.Limit = t0, 1000
		page, err := s.SearchCertificates(ctx, q)
		noErr(t, "SearchCertificates "+what, err)
		if slices.Contains(serials(page.Items), c.Serial) {
			found = append(found, what)
		}
	}
	slices.Sort(found)
	return found
}

var everyWay = []string{"contains", "name", "org", "prefix", "serial", "sha256", "source"}

func summaryTotal(t *testing.T, s store.Store, orgID string) (total, active int64) {
	t.Helper()
	sum, err := s.Summarize(ctxT(t), t0, orgID)
	noErr(t, "Summarize", err)
	return sum.Total, sum.ByStatus[store.CertActive]
}

func testDeleteCertificate(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	issued, imported, discovered := newCert(1), deletable(3), deletable(4)
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, c := range []*store.Certificate{issued, imported, discovered} {
			if err := tx.InsertCertificate(ctx, c); err != nil {
				return err
			}
		}
		return nil
	})
	same(t, "findable before deletion", findable(t, s, imported), everyWay)
	total, active := summaryTotal(t, s, "")
	orgTotal, _ := summaryTotal(t, s, imported.OrgID)

	// A certificate Signet issued is the CA's record: never deleted.
	wantErr(t, "DeleteCertificate issued",
		s.Update(ctx, func(tx store.Tx) error { return tx.DeleteCertificate(ctx, issued.Serial) }), store.ErrConflict)
	if _, err := s.GetCertificate(ctx, issued.Serial); err != nil {
		t.Fatalf("issued certificate after a refused deletion: %v", err)
	}
	wantErr(t, "DeleteCertificate unknown",
		s.Update(ctx, func(tx store.Tx) error { return tx.DeleteCertificate(ctx, "fedcba") }), store.ErrNotFound)

	// A function that fails after deleting undoes its deletion, trigram entry and counts included.
	errAbort := errors.New("abort")
	err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.DeleteCertificate(ctx, imported.Serial); err != nil {
			return err
		}
		return errAbort
	})
	wantErr(t, "rolled back deletion", err, errAbort)
	same(t, "findable after a rolled back deletion", findable(t, s, imported), everyWay)

	// The deletion and its audit event commit together.
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.DeleteCertificate(ctx, imported.Serial); err != nil {
			return err
		}
		tx.AppendAudit(store.AuditEvent{Time: t0, Principal: "usr_alice", Action: "certificate.delete",
			ObjectType: "certificate", ObjectID: imported.Serial, Outcome: "success", OrgID: imported.OrgID})
		return nil
	})
	same(t, "findable after deletion", findable(t, s, imported), []string(nil))
	same(t, "discovered certificate untouched", findable(t, s, discovered), everyWay)
	gotTotal, gotActive := summaryTotal(t, s, "")
	same(t, "summary after deletion", []int64{gotTotal, gotActive}, []int64{total - 1, active - 1})
	gotOrg, _ := summaryTotal(t, s, imported.OrgID)
	same(t, "organization summary after deletion", gotOrg, orgTotal-1)
	page, err := s.SearchCertificates(ctx, store.CertificateQuery{WithTotal: true, Now: t0})
	noErr(t, "SearchCertificates with total", err)
	same(t, "total after deletion", page.Total, total-1)
	events, err := s.SearchAuditEvents(ctx, store.AuditQuery{Action: "certificate.delete", Limit: 10})
	noErr(t, "SearchAuditEvents", err)
	same(t, "deletion events", ids(events, func(e store.AuditEvent) string { return e.ObjectID }), []string{imported.Serial})
	wantErr(t, "DeleteCertificate twice",
		s.Update(ctx, func(tx store.Tx) error { return tx.DeleteCertificate(ctx, imported.Serial) }), store.ErrNotFound)

	// A revoked (or held) one leaves its own status's count.
	held := deletable(5)
	held.Status, held.RevocationReason, held.RevokedAt = store.CertOnHold, 6, ptr(at(time.Minute))
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.InsertCertificate(ctx, held) })
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteCertificate(ctx, held.Serial) })
	sum, err := s.Summarize(ctx, t0, "")
	noErr(t, "Summarize", err)
	same(t, "on-hold count after deletion", sum.ByStatus[store.CertOnHold], int64(0))

	// Inserted and deleted by one function: nothing of it remains.
	brief := deletable(7)
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.InsertCertificate(ctx, brief); err != nil {
			return err
		}
		return tx.DeleteCertificate(ctx, brief.Serial)
	})
	same(t, "findable after insert and delete in one update", findable(t, s, brief), []string(nil))

	// Inserted and deleted by concurrent updates, which may share a batch.
	var wg sync.WaitGroup
	for i := range 8 {
		c := deletable(20 + i)
		wg.Go(func() {
			if err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertCertificate(ctx, c) }); err != nil {
				t.Errorf("insert %s: %v", c.Serial, err)
				return
			}
			if err := s.Update(ctx, func(tx store.Tx) error { return tx.DeleteCertificate(ctx, c.Serial) }); err != nil {
				t.Errorf("delete %s: %v", c.Serial, err)
			}
		})
	}
	wg.Wait()
	for i := range 8 {
		same(t, "findable after concurrent insert and delete", findable(t, s, deletable(20+i)), []string(nil))
	}

	// The newest certificate's integer id is not handed to the next one: the
	// compatibility APIs expose it.
	newest := deletable(9)
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.InsertCertificate(ctx, newest) })
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteCertificate(ctx, newest.Serial) })
	next := deletable(11)
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.InsertCertificate(ctx, next) })
	if next.IntID <= newest.IntID {
		t.Errorf("IntID %d after deleting %d: a deleted certificate's id was reused", next.IntID, newest.IntID)
	}

	// The same certificate may come back (imported again), findable every way.
	again := deletable(3)
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.InsertCertificate(ctx, again) })
	if again.IntID == imported.IntID {
		t.Errorf("re-imported certificate got its deleted IntID %d", again.IntID)
	}
	got, err := s.GetCertificate(ctx, again.Serial)
	noErr(t, "GetCertificate re-imported", err)
	same(t, "re-imported certificate", got, again)
	same(t, "findable after re-import", findable(t, s, again), everyWay)
}
