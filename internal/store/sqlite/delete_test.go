package sqlite

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/signet-pki/signet/internal/store"
)

// TestDeleteInTheInsertingBatch: a certificate's trigram entry is written
// when its batch commits (see writeSearchEntries), so a certificate
// deleted by a later function of the same batch, or by the function that
// inserted it, must take its queued entry along. Afterwards no index row
// may point at a certificate that is gone.
func TestDeleteInTheInsertingBatch(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	cert := func(n int) *store.Certificate {
		c := testCert(n)
		c.Source, c.CommonName = store.SourceImported, fmt.Sprintf("x-%d.deleted.example", n)
		c.SANs = []string{c.CommonName}
		return c
	}
	kept := cert(3)
	release := holdWriter(t, s)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	steps := []func(tx store.Tx) error{
		func(tx store.Tx) error { return tx.InsertCertificate(ctx, cert(1)) },
		func(tx store.Tx) error { return tx.DeleteCertificate(ctx, cert(1).Serial) },
		func(tx store.Tx) error {
			if err := tx.InsertCertificate(ctx, cert(2)); err != nil {
				return err
			}
			return tx.DeleteCertificate(ctx, cert(2).Serial)
		},
		func(tx store.Tx) error { return tx.InsertCertificate(ctx, kept) },
	}
	for i, step := range steps {
		wg.Go(func() { errs[i] = s.Update(ctx, step) })
		waitQueued(t, s, i+1) // in this order
	}
	batches0, _ := s.w.stats()
	release()
	wg.Wait()
	if batches, _ := s.w.stats(); batches-batches0 != 1 {
		t.Errorf("%d batches, want one", batches-batches0)
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
	}
	snap, done, err := s.snapshot(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	indexed, err := queryMany(ctx, snap, func(sc scanner) (id int64, err error) { return id, sc.Scan(&id) },
		`SELECT rowid FROM certificate_names_fts WHERE certificate_names_fts MATCH '"deleted"'`)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(indexed, []int64{kept.IntID}) {
		t.Errorf("trigram index holds certificates %v, want only %d", indexed, kept.IntID)
	}
	for _, table := range []string{"certificate_names", "certificate_blobs"} {
		var orphans int
		if err := queryOne(ctx, snap, func(sc scanner) error { return sc.Scan(&orphans) },
			`SELECT count(*) FROM `+table+` WHERE cert_id NOT IN (SELECT int_id FROM certificates)`); err != nil {
			t.Fatal(err)
		}
		if orphans != 0 {
			t.Errorf("%s: %d rows of deleted certificates", table, orphans)
		}
	}
}
