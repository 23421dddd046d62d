// Command inventory measures the inventory queries of the SQLite store at
// scale: it bulk-loads N synthetic certificates with realistic distributions
// (several CAs, profiles and owners; 1-3 SANs; NotAfter spread over -30..+400
// days; ~5% revoked), then runs each common query R times and prints p50/p99
// latencies.
//
//	go run ./bench/inventory -n 1000000 -db /tmp/inventory.db
//
// An existing database that already holds at least N certificates is reused
// (-reuse=false starts over), so the queries can be re-measured without
// loading again.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/signet-pki/signet/internal/store"
	"github.com/signet-pki/signet/internal/store/sqlite"
)

func main() {
	n := flag.Int("n", 1_000_000, "certificates to load")
	path := flag.String("db", "/tmp/signet-inventory.db", "database file")
	rounds := flag.Int("r", 200, "runs of each query")
	maxPerQuery := flag.Duration("max", 20*time.Second, "stop measuring a query after this long")
	reuse := flag.Bool("reuse", true, "reuse a database that already holds n certificates")
	seed := flag.Uint64("seed", 1, "random seed of the synthetic inventory")
	flag.Parse()
	if err := run(context.Background(), *path, *n, *rounds, *maxPerQuery, *reuse, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "inventory:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, path string, n, rounds int, maxPerQuery time.Duration, reuse bool, seed uint64) error {
	if !reuse {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if err := os.Remove(path + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	now := time.Now().UTC()
	st, err := sqlite.Open(ctx, path, sqlite.Options{Clock: func() time.Time { return now }})
	if err != nil {
		return err
	}
	defer st.Close()
	have, err := count(ctx, st, now)
	if err != nil {
		return err
	}
	if have < int64(n) {
		if err := load(ctx, st, n-int(have), int(have), seed, now); err != nil {
			return err
		}
	} else {
		fmt.Printf("reusing %s: %d certificates\n", path, have)
	}
	if fi, err := os.Stat(path); err == nil {
		fmt.Printf("database file: %.0f MB\n", float64(fi.Size())/1e6)
	}
	samples, err := sample(ctx, st, now)
	if err != nil {
		return err
	}
	return measure(ctx, st, queries(samples, now), rounds, maxPerQuery)
}

func count(ctx context.Context, st *sqlite.Store, now time.Time) (int64, error) {
	page, err := st.SearchCertificates(ctx, store.CertificateQuery{Limit: 1, WithTotal: true, Now: now})
	if err != nil {
		return 0, fmt.Errorf("count certificates: %w", err)
	}
	return page.Total, nil
}

// load generates certificates on one goroutine while the store writes the
// previous chunk on the other core.
func load(ctx context.Context, st *sqlite.Store, n, offset int, seed uint64, now time.Time) error {
	const chunk = 50_000
	start := time.Now()
	chunks := make(chan []store.Certificate, 1)
	go func() {
		defer close(chunks)
		g := newGenerator(seed+uint64(offset), now)
		for done := 0; done < n; done += chunk {
			certs := make([]store.Certificate, min(chunk, n-done))
			for i := range certs {
				certs[i] = g.next(offset + done + i)
			}
			chunks <- certs
		}
	}()
	loaded := 0
	for certs := range chunks {
		if err := st.BulkInsertCertificates(ctx, certs); err != nil {
			return err
		}
		loaded += len(certs)
		if loaded%200_000 < chunk {
			el := time.Since(start)
			fmt.Printf("loaded %d in %v (%.0f certs/s)\n", loaded, el.Round(time.Second), float64(loaded)/el.Seconds())
		}
	}
	load := time.Since(start)
	if err := st.Optimize(ctx); err != nil {
		return fmt.Errorf("optimize: %w", err)
	}
	fmt.Printf("load: %d certificates in %v (%.0f certs/s); ANALYZE %v\n", loaded, load.Round(time.Millisecond),
		float64(loaded)/load.Seconds(), (time.Since(start) - load).Round(time.Millisecond))
	return nil
}
