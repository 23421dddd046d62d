package sqlite

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

// benchCert is a certificate shaped like an issued one (about 1 KB of DER,
// two SANs).
func benchCert(n int64, now time.Time) *store.Certificate {
	der := make([]byte, 1000)
	_, _ = rand.Read(der)
	s1, s256 := sha1.Sum(der), sha256.Sum256(der)
	cn := fmt.Sprintf("host-%d.team-%d.example.com", n, n%50)
	return &store.Certificate{
		Serial: fmt.Sprintf("%x%016x", n, n*7919), CAID: "ca_bench", ProfileID: "prof_bench", RequestID: fmt.Sprintf("req_%d", n),
		Issuer: "CN=Bench CA", Subject: "CN=" + cn, CommonName: cn, SANs: []string{cn, "www." + cn}, KeyType: "ECDSA-P256",
		NotBefore: now, NotAfter: now.AddDate(0, 0, 90), SHA1: hex.EncodeToString(s1[:]), SHA256: hex.EncodeToString(s256[:]),
		DER: der, Status: store.CertActive, Source: store.SourceIssued, Owner: fmt.Sprintf("owner-%d", n%100),
	}
}

// BenchmarkInsertCertificates is the persistence half of the issuance hot
// path: concurrent Updates, each inserting one certificate and one audit
// event, durably committed (synchronous=FULL) in group commits.
func BenchmarkInsertCertificates(b *testing.B) {
	for _, sync := range []string{"FULL", "NORMAL"} {
		for _, par := range []int{1, 16, 128} {
			b.Run(fmt.Sprintf("sync=%s/clients=%dxGOMAXPROCS", sync, par), func(b *testing.B) {
				benchInsert(b, sync, par)
			})
		}
	}
}

// benchInsert writes into a fresh database, or into SIGNET_BENCH_DB when set
// (e.g. one bench/inventory filled with a million certificates), since random
// index inserts get dearer as the tables outgrow the page cache.
func benchInsert(b *testing.B, sync string, parallelism int) {
	path := os.Getenv("SIGNET_BENCH_DB")
	if path == "" {
		path = filepath.Join(b.TempDir(), "bench.db")
	}
	s, err := Open(context.Background(), path, Options{Synchronous: sync})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var next atomic.Int64
	base := time.Now().UnixNano() // fresh serials even in a reused database
	batches0, updates0 := s.w.stats()
	b.SetParallelism(parallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			n := next.Add(1) + base
			c := benchCert(n, time.Now())
			err := s.Update(ctx, func(tx store.Tx) error {
				if err := tx.InsertCertificate(ctx, c); err != nil {
					return err
				}
				tx.AppendAudit(store.AuditEvent{Principal: "svc_bench", Action: "certificate.issue", ObjectType: "certificate",
					ObjectID: c.Serial, Outcome: "success", Details: map[string]any{"profile": c.ProfileID, "sans": c.SANs}})
				return nil
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	batches, updates := s.w.stats()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "certs/s")
	if n := batches - batches0; n > 0 {
		b.ReportMetric(float64(updates-updates0)/float64(n), "updates/batch")
	}
}
