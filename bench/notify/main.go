// Command notify measures the expiry-notification job over a large
// inventory: one run of Tick over n certificates whose expiry dates spread
// over 400 days, with a 30/7/1-day rule mailing each owner.
//
//	go run ./bench/notify -n 1000000
package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/notify"
	"github.com/signet-pki/signet/internal/store"
	"github.com/signet-pki/signet/internal/store/sqlite"
)

func main() {
	n := flag.Int("n", 1_000_000, "certificates")
	flag.Parse()
	if err := run(*n); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(n int) error {
	ctx := auth.WithPrincipal(context.Background(), auth.System())
	dir, err := os.MkdirTemp("", "signet-notify-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	now := time.Now().UTC().Truncate(time.Second)
	var offset atomic.Int64 // the job's clock moves on between runs
	clock := func() time.Time { return now.Add(time.Duration(offset.Load())) }
	st, err := sqlite.Open(ctx, filepath.Join(dir, "signet.db"), sqlite.Options{Clock: clock})
	if err != nil {
		return err
	}
	defer st.Close()
	owners := make([]string, 100)
	err = st.Update(ctx, func(tx store.Tx) error {
		for i := range owners {
			owners[i] = fmt.Sprintf("usr_owner%03d", i)
			if err := tx.InsertPrincipal(ctx, &store.Principal{ID: owners[i], Kind: store.PrincipalUser, OrgID: store.DefaultOrgID,
				Name: owners[i], Email: owners[i] + "@example.com", Roles: []string{"requester"}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	start := time.Now()
	const chunk = 50_000
	for done := 0; done < n; done += chunk {
		certs := make([]store.Certificate, min(chunk, n-done))
		for i := range certs {
			k := done + i
			var raw [16]byte
			_, _ = rand.Read(raw[:])
			raw[0] &= 0x7f
			certs[i] = store.Certificate{Serial: new(big.Int).SetBytes(raw[:]).Text(16), SHA256: fmt.Sprintf("%064x", k),
				OrgID: store.DefaultOrgID, CAID: "ca_bench", Issuer: "CN=Bench", Subject: "CN=x", CommonName: fmt.Sprintf("h%d.example", k),
				KeyType: "ECDSA-P256", NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.Add(time.Duration(k%400)*24*time.Hour + time.Hour),
				DER: []byte{0x30}, Status: store.CertActive, Source: store.SourceIssued, Owner: owners[k%len(owners)]}
		}
		if err := st.BulkInsertCertificates(ctx, certs); err != nil {
			return err
		}
	}
	if err := st.Optimize(ctx); err != nil {
		return err
	}
	svc := notify.New(st, notify.Config{Now: clock, Logger: slog.New(slog.DiscardHandler),
		SMTP: notify.SMTPConfig{Host: "127.0.0.1", Port: 1}}) // unreachable: deliveries fail fast and are retried later
	if _, _, err := svc.CreateRule(ctx, notify.RuleInput{Name: "expiry", Event: notify.EventExpiring,
		Spec: notify.Spec{Thresholds: []int{30, 7, 1}, Recipients: struct {
			Owner  bool     `json:"owner"`
			Emails []string `json:"emails"`
			Roles  []string `json:"roles"`
		}{Owner: true}}}); err != nil {
		return err
	}
	fmt.Printf("Signet expiry-notification benchmark — %s, GOMAXPROCS=%d, %d certificates (loaded in %v)\n\n",
		runtime.Version(), runtime.GOMAXPROCS(0), n, time.Since(start).Round(time.Second))
	t0 := time.Now()
	_ = svc.Tick(ctx) // delivery errors (no relay) are expected
	first := time.Since(t0)
	queued, _, err := st.ListNotifications(ctx, store.ListQuery{Limit: 1})
	if err != nil {
		return err
	}
	offset.Store(int64(time.Minute))
	t1 := time.Now()
	_ = svc.Tick(ctx)
	second := time.Since(t1)
	var total int
	if len(queued) > 0 {
		total = int(queued[0].IntID)
	}
	after, _, err := st.ListNotifications(ctx, store.ListQuery{Limit: 1})
	if err != nil {
		return err
	}
	more := total
	if len(after) > 0 {
		more = int(after[0].IntID)
	}
	fmt.Println("| run | time | notifications queued |")
	fmt.Println("| --- | ---: | ---: |")
	fmt.Printf("| first (queues every crossed threshold) | %v | %d |\n", first.Round(time.Millisecond), total)
	fmt.Printf("| a minute later (only certificates that crossed a threshold since) | %v | %d |\n", second.Round(time.Millisecond), more-total)
	return nil
}
