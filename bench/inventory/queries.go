package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/store"
	"github.com/signet-pki/signet/internal/store/sqlite"
)

// samples are real rows to look up, so point queries hit existing data.
type samples struct {
	certs  []store.Certificate
	page10 string // cursor of the 10th page of the default listing
}

func sample(ctx context.Context, st *sqlite.Store, now time.Time) (*samples, error) {
	s := &samples{}
	for _, sort := range []string{"created_at", "-not_after", "common_name"} {
		page, err := st.SearchCertificates(ctx, store.CertificateQuery{Sort: sort, Limit: 500, Now: now})
		if err != nil {
			return nil, fmt.Errorf("sample: %w", err)
		}
		s.certs = append(s.certs, page.Items...)
	}
	q := store.CertificateQuery{Limit: 100, Now: now}
	for range 9 {
		page, err := st.SearchCertificates(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("walk to page 10: %w", err)
		}
		q.Cursor = page.NextCursor
	}
	s.page10 = q.Cursor
	return s, nil
}

// query is one measured inventory call; i varies the sample it uses.
type query struct {
	name string
	run  func(ctx context.Context, st *sqlite.Store, i int) (rows int, err error)
}

func search(q store.CertificateQuery) func(ctx context.Context, st *sqlite.Store, i int) (int, error) {
	return func(ctx context.Context, st *sqlite.Store, _ int) (int, error) {
		page, err := st.SearchCertificates(ctx, q)
		if err != nil {
			return 0, err
		}
		return len(page.Items), nil
	}
}

func searchSample(s *samples, now time.Time, q func(c *store.Certificate) store.CertificateQuery) func(ctx context.Context, st *sqlite.Store, i int) (int, error) {
	return func(ctx context.Context, st *sqlite.Store, i int) (int, error) {
		sq := q(&s.certs[i%len(s.certs)])
		sq.Now = now
		page, err := st.SearchCertificates(ctx, sq)
		if err != nil {
			return 0, err
		}
		if len(page.Items) == 0 {
			return 0, fmt.Errorf("no match for a sampled certificate")
		}
		return len(page.Items), nil
	}
}

func queries(s *samples, now time.Time) []query {
	in30d := now.AddDate(0, 0, 30)
	active := []string{store.CertActive}
	return []query{
		{"expiring in 30d, by not_after, 100", search(store.CertificateQuery{Statuses: active, ExpiresBefore: &in30d,
			Sort: "not_after", Limit: 100, Now: now})},
		{"status revoked", search(store.CertificateQuery{Statuses: []string{store.CertRevoked}, Limit: 100, Now: now})},
		{"status expired", search(store.CertificateQuery{Statuses: []string{store.CertExpired}, Limit: 100, Now: now})},
		{"status expired, by -not_after", search(store.CertificateQuery{Statuses: []string{store.CertExpired},
			Sort: "-not_after", Limit: 100, Now: now})},
		{"by CA", search(store.CertificateQuery{CAID: "ca_2", Limit: 100, Now: now})},
		{"by CA, by not_after", search(store.CertificateQuery{CAID: "ca_3", Sort: "not_after", Limit: 100, Now: now})},
		{"by owner", search(store.CertificateQuery{Owner: "owner-17", Limit: 100, Now: now})},
		{"by owner, expiring 30d", search(store.CertificateQuery{Owner: "owner-17", Statuses: active,
			ExpiresBefore: &in30d, Sort: "not_after", Limit: 100, Now: now})},
		{"contains team-7", search(store.CertificateQuery{Contains: "team-7", Limit: 100, Now: now})},
		{"contains team-7, by common_name", search(store.CertificateQuery{Contains: "team-7", Sort: "common_name", Limit: 100, Now: now})},
		{"contains team-7 + total", search(store.CertificateQuery{Contains: "team-7", Limit: 100, WithTotal: true, Now: now})},
		{"contains rare (host-NNN.)", searchSample(s, now, func(c *store.Certificate) store.CertificateQuery {
			return store.CertificateQuery{Contains: strings.SplitN(c.CommonName, ".", 2)[0] + "."}
		})},
		{"exact name", searchSample(s, now, func(c *store.Certificate) store.CertificateQuery {
			return store.CertificateQuery{Name: c.SANs[len(c.SANs)-1]}
		})},
		{"name prefix", searchSample(s, now, func(c *store.Certificate) store.CertificateQuery {
			return store.CertificateQuery{NamePrefix: c.CommonName[:len(c.CommonName)-4]}
		})},
		{"by serial", searchSample(s, now, func(c *store.Certificate) store.CertificateQuery {
			return store.CertificateQuery{Serial: c.Serial}
		})},
		{"by sha256", searchSample(s, now, func(c *store.Certificate) store.CertificateQuery {
			return store.CertificateQuery{SHA256: c.SHA256}
		})},
		{"GetCertificate (OCSP path)", func(ctx context.Context, st *sqlite.Store, i int) (int, error) {
			_, err := st.GetCertificate(ctx, s.certs[i%len(s.certs)].Serial)
			return 1, err
		}},
		{"first page + total", search(store.CertificateQuery{Limit: 100, WithTotal: true, Now: now})},
		{"10th page via cursor", search(store.CertificateQuery{Limit: 100, Cursor: s.page10, Now: now})},
		{"summary", func(ctx context.Context, st *sqlite.Store, _ int) (int, error) {
			sum, err := st.Summarize(ctx, now, "")
			if err != nil {
				return 0, err
			}
			return int(sum.Total), nil
		}},
	}
}

// measure runs each query rounds times (after one warm-up run), or for at
// most maxPerQuery, and prints its latencies as soon as it is done.
func measure(ctx context.Context, st *sqlite.Store, qs []query, rounds int, maxPerQuery time.Duration) error {
	fmt.Printf("%-36s %10s %10s %10s %6s %6s\n", "query", "p50", "p99", "max", "rows", "runs")
	r := rand.New(rand.NewPCG(7, 7))
	for _, q := range qs {
		rows, err := q.run(ctx, st, 0)
		if err != nil {
			return fmt.Errorf("%s: %w", q.name, err)
		}
		lat := make([]time.Duration, 0, rounds)
		for start := time.Now(); len(lat) < rounds && time.Since(start) < maxPerQuery; {
			t := time.Now()
			if _, err := q.run(ctx, st, r.IntN(1<<30)); err != nil {
				return fmt.Errorf("%s: %w", q.name, err)
			}
			lat = append(lat, time.Since(t))
		}
		slices.Sort(lat)
		fmt.Printf("%-36s %10v %10v %10v %6d %6d\n", q.name, round(lat[len(lat)/2]), round(lat[len(lat)*99/100]),
			round(lat[len(lat)-1]), rows, len(lat))
	}
	return nil
}

func round(d time.Duration) time.Duration {
	switch {
	case d > 10*time.Millisecond:
		return d.Round(time.Millisecond)
	case d > 10*time.Microsecond:
		return d.Round(time.Microsecond)
	}
	return d
}
