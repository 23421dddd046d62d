package postgres

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

// TestScale measures the inventory queries at scale, as bench/inventory
// does for SQLite (same synthetic shape: 6 CAs, 12 profiles, 200 owners,
// 1-3 SANs, NotAfter over now-30d..now+400d, ~5% revoked). It only runs
// when SIGNET_PG_SCALE holds a certificate count:
//
//	SIGNET_PG_SCALE=1000000 SIGNET_PG_SCALE_URL=postgres://root@127.0.0.1/scale?sslmode=disable \
//	    go test -run TestScale -v -timeout 1h ./internal/store/postgres/
//
// With SIGNET_PG_SCALE_URL the database is kept and reused (loading only
// what is missing), else a throwaway one is made.
func TestScale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SIGNET_PG_SCALE"))
	if n <= 0 {
		t.Skip("set SIGNET_PG_SCALE to a certificate count to run")
	}
	url := os.Getenv("SIGNET_PG_SCALE_URL")
	if url == "" {
		url = NewTestDatabase(t)
	}
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	s := openAt(t, url, Options{Clock: func() time.Time { return now }})
	ctx := context.Background()
	page, err := s.SearchCertificates(ctx, store.CertificateQuery{Limit: 1, WithTotal: true, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if have := int(page.Total); have < n {
		start := time.Now()
		g := scaleGen{r: rand.New(rand.NewPCG(uint64(have), 1)), now: now}
		for done := have; done < n; done += 50_000 {
			certs := make([]store.Certificate, min(50_000, n-done))
			for i := range certs {
				certs[i] = g.next(done + i)
			}
			if err := s.BulkInsertCertificates(ctx, certs); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("loaded %d certificates in %v", n-have, time.Since(start).Round(time.Second))
		if _, err := adminConn(t, url).Exec(ctx, "VACUUM ANALYZE"); err != nil {
			t.Fatal(err)
		}
	}
	sample, err := s.SearchCertificates(ctx, store.CertificateQuery{Sort: "common_name", Limit: 500, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	in30d := now.AddDate(0, 0, 30)
	active := []string{store.CertActive}
	pick := func(i int) *store.Certificate { return &sample.Items[i%len(sample.Items)] }
	for _, q := range []struct {
		name string
		q    func(i int) store.CertificateQuery
	}{
		{"expiring in 30d, by not_after", func(int) store.CertificateQuery {
			return store.CertificateQuery{Statuses: active, ExpiresBefore: &in30d, Sort: "not_after"}
		}},
		{"status revoked", func(int) store.CertificateQuery { return store.CertificateQuery{Statuses: []string{store.CertRevoked}} }},
		{"status expired", func(int) store.CertificateQuery { return store.CertificateQuery{Statuses: []string{store.CertExpired}} }},
		{"status expired, by -not_after", func(int) store.CertificateQuery {
			return store.CertificateQuery{Statuses: []string{store.CertExpired}, Sort: "-not_after"}
		}},
		{"by CA", func(int) store.CertificateQuery { return store.CertificateQuery{CAID: "ca_2"} }},
		{"by CA, by not_after", func(int) store.CertificateQuery { return store.CertificateQuery{CAID: "ca_3", Sort: "not_after"} }},
		{"by owner", func(int) store.CertificateQuery { return store.CertificateQuery{Owner: "owner-17"} }},
		{"by owner, expiring 30d", func(int) store.CertificateQuery {
			return store.CertificateQuery{Owner: "owner-17", Statuses: active, ExpiresBefore: &in30d, Sort: "not_after"}
		}},
		{"contains team-7", func(int) store.CertificateQuery { return store.CertificateQuery{Contains: "team-7"} }},
		{"contains team-7, by common_name", func(int) store.CertificateQuery {
			return store.CertificateQuery{Contains: "team-7", Sort: "common_name"}
		}},
		{"contains team-7 + total", func(int) store.CertificateQuery {
			return store.CertificateQuery{Contains: "team-7", WithTotal: true}
		}},
		{"contains rare (host-NNN.)", func(i int) store.CertificateQuery {
			return store.CertificateQuery{Contains: strings.SplitN(pick(i).CommonName, ".", 2)[0] + "."}
		}},
		{"exact name", func(i int) store.CertificateQuery {
			return store.CertificateQuery{Name: pick(i).SANs[len(pick(i).SANs)-1]}
		}},
		{"name prefix", func(i int) store.CertificateQuery {
			return store.CertificateQuery{NamePrefix: pick(i).CommonName[:len(pick(i).CommonName)-4]}
		}},
		{"by serial", func(i int) store.CertificateQuery { return store.CertificateQuery{Serial: pick(i).Serial} }},
		{"first page + total", func(int) store.CertificateQuery { return store.CertificateQuery{WithTotal: true} }},
		{"status revoked + total", func(int) store.CertificateQuery {
			return store.CertificateQuery{Statuses: []string{store.CertRevoked}, WithTotal: true}
		}},
	} {
		lat := make([]time.Duration, 0, 50)
		rows := 0
		for i := range 50 {
			cq := q.q(i)
			cq.Now, cq.Limit = now, 100
			start := time.Now()
			page, err := s.SearchCertificates(ctx, cq)
			if err != nil {
				t.Fatalf("%s: %v", q.name, err)
			}
			lat, rows = append(lat, time.Since(start)), len(page.Items)
		}
		slices.Sort(lat)
		t.Logf("%-34s p50 %9v  p99 %9v  rows %d", q.name, lat[len(lat)/2].Round(time.Microsecond),
			lat[len(lat)*99/100].Round(time.Microsecond), rows)
	}
	lat := make([]time.Duration, 0, 50)
	for range 50 {
		start := time.Now()
		if _, err := s.Summarize(ctx, now, ""); err != nil {
			t.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	t.Logf("%-34s p50 %9v  p99 %9v", "summary", lat[len(lat)/2].Round(time.Microsecond), lat[len(lat)*99/100].Round(time.Microsecond))
}

type scaleGen struct {
	r   *rand.Rand
	now time.Time
}

func (g scaleGen) next(i int) store.Certificate {
	team := g.r.IntN(50)
	cn := fmt.Sprintf("host-%d.team-%d.example.com", i, team)
	sans := []string{cn}
	if g.r.IntN(2) == 0 {
		sans = append(sans, "www."+cn)
	}
	if g.r.IntN(3) == 0 {
		sans = append(sans, fmt.Sprintf("10.%d.%d.%d", team, g.r.IntN(256), g.r.IntN(256)))
	}
	notAfter := g.now.Add(time.Duration(g.r.Int64N(int64(430*24*time.Hour))) - 30*24*time.Hour).Truncate(time.Second)
	notBefore := notAfter.AddDate(0, 0, -[]int{90, 365, 398}[g.r.IntN(3)])
	der := make([]byte, 900+g.r.IntN(500))
	for j := range der {
		der[j] = byte(g.r.Uint32())
	}
	s1, s256 := sha1.Sum(der), sha256.Sum256(der)
	c := store.Certificate{Serial: fmt.Sprintf("%x%016x", i+1, g.r.Uint64()), CAID: fmt.Sprintf("ca_%d", g.r.IntN(6)),
		ProfileID: fmt.Sprintf("prof_%02d", g.r.IntN(12)), Issuer: "CN=Signet Issuing CA", Subject: "CN=" + cn,
		CommonName: cn, SANs: sans, KeyType: "ECDSA-P256", NotBefore: notBefore, NotAfter: notAfter,
		SHA1: hex.EncodeToString(s1[:]), SHA256: hex.EncodeToString(s256[:]), DER: der, Status: store.CertActive,
		Source: store.SourceIssued, Owner: fmt.Sprintf("owner-%d", g.r.IntN(200)), OrgID: store.DefaultOrgID,
		CreatedAt: notBefore, UpdatedAt: notBefore}
	if p := g.r.IntN(1000); p < 50 {
		at := notBefore.Add(time.Hour)
		c.Status, c.RevocationReason, c.RevokedAt = store.CertRevoked, 1, &at
	} else if p < 55 {
		at := notBefore.Add(time.Hour)
		c.Status, c.RevocationReason, c.RevokedAt = store.CertOnHold, 6, &at
	}
	return c
}
