package sqlite

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"
	"os"

	"github.com/signet-pki/signet/internal/store"
)

func TestZZLatency(t *testing.T) {
	if os.Getenv("LAT") == "" { t.Skip() }
	for _, sync := range []string{"FULL", "NORMAL", "OFF"} {
		s, err := Open(context.Background(), filepath.Join(t.TempDir(), "l.db"), Options{Synchronous: sync})
		if sync == "OFF" { s, err = Open(context.Background(), filepath.Join(t.TempDir(), "l.db"), Options{Synchronous: "NORMAL"}) }
		if err != nil { t.Fatal(err) }
		ctx := context.Background()
		var lat []time.Duration
		for i := 0; i < 2000; i++ {
			c := benchCert(int64(i), time.Now())
			start := time.Now()
			err := s.Update(ctx, func(tx store.Tx) error {
				if err := tx.InsertCertificate(ctx, c); err != nil { return err }
				tx.AppendAudit(store.AuditEvent{Action: "x", ObjectID: c.Serial})
				return nil
			})
			if err != nil { t.Fatal(err) }
			lat = append(lat, time.Since(start))
		}
		slices.Sort(lat)
		t.Logf("%s: p50 %v p90 %v p99 %v", sync, lat[len(lat)/2], lat[len(lat)*9/10], lat[len(lat)*99/100])
		s.Close()
	}
}
