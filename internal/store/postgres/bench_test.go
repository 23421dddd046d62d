package postgres

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

// benchCert is a certificate shaped like an issued one (about 1 KB of DER,
// two SANs), as in store/sqlite's benchmark.
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
// path, as store/sqlite's benchmark of the same name: concurrent Updates,
// each inserting one certificate and one audit event, durably committed
// (synchronous_commit as the server has it, on by default) in group
// commits. nodes=2 runs two stores on the database, as two Signet nodes
// sharing it, with the clients split between them.
func BenchmarkInsertCertificates(b *testing.B) {
	for _, nodes := range []int{1, 2} {
		for _, par := range []int{1, 16, 128} {
			b.Run(fmt.Sprintf("nodes=%d/clients=%dxGOMAXPROCS", nodes, par), func(b *testing.B) {
				benchInsert(b, nodes, par)
			})
		}
	}
}

// benchInsert writes into a fresh database, or into the one
// SIGNET_BENCH_POSTGRES_URL names (e.g. one filled with a million
// certificates), since index inserts get dearer as the tables grow.
func benchInsert(b *testing.B, nodes, parallelism int) {
	url := os.Getenv("SIGNET_BENCH_POSTGRES_URL")
	if url == "" {
		url = NewTestDatabase(b)
	}
	stores := make([]*Store, nodes)
	for i := range stores {
		s, err := Open(context.Background(), url, Options{MaxConns: 2,
			Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		stores[i] = s
	}
	var next, client atomic.Int64
	base := time.Now().UnixNano() // fresh serials even in a reused database
	b.SetParallelism(parallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		s := stores[int(client.Add(1))%nodes]
		ctx := context.Background()
		for pb.Next() {
			c := benchCert(next.Add(1)+base, time.Now())
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
	var batches, updates uint64
	var busy time.Duration
	for _, s := range stores {
		bt, up, bz := s.GroupCommitStats()
		batches, updates, busy = batches+bt, updates+up, busy+bz
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "certs/s")
	if batches > 0 {
		b.ReportMetric(float64(updates)/float64(batches), "updates/batch")
		// Above 100% (with two nodes) the writers overlap: one runs its
		// functions while the other holds the audit head lock.
		b.ReportMetric(100*busy.Seconds()/b.Elapsed().Seconds(), "writer-busy-%")
	}
}
