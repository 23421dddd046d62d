package sqlite

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

// TestActiveCounter compares the stats-based range count with a plain count
// over ranges that start and end on, near and between day boundaries,
// before and after the epoch.
func TestActiveCounter(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	base := time.Date(1969, 12, 25, 0, 0, 0, 0, time.UTC)
	var certs []store.Certificate
	for i := range 400 {
		c := testCert(i)
		c.NotAfter = base.Add(time.Duration(r.Int64N(int64(20 * 24 * time.Hour))))
		if i%10 == 0 {
			c.NotAfter = base.AddDate(0, 0, i/10).Add(time.Duration(i%3-1) * time.Microsecond) // at and next to midnight
		}
		if i%7 == 0 {
			c.Status = store.CertRevoked
		}
		certs = append(certs, *c)
	}
	if err := s.BulkInsertCertificates(ctx, certs); err != nil {
		t.Fatal(err)
	}
	snap, done, err := s.snapshot(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	ac := activeCounter{ctx: ctx, q: snap}
	edges := []int64{math.MinInt64}
	for d := range 22 {
		mid := toDB(base.AddDate(0, 0, d))
		edges = append(edges, mid-1, mid, mid+1, mid+r.Int64N(dayMicros))
	}
	for range 2000 {
		lo, hi := edges[r.IntN(len(edges))], edges[1+r.IntN(len(edges)-1)]
		if lo >= hi {
			continue
		}
		got, err := ac.count(lo, hi)
		if err != nil {
			t.Fatal(err)
		}
		var want int64
		for _, c := range certs {
			if na := toDB(c.NotAfter); c.Status == store.CertActive && na >= lo && na < hi {
				want++
			}
		}
		if got != want {
			t.Fatalf("count(%d, %d) = %d, want %d", lo, hi, got, want)
		}
	}
}
