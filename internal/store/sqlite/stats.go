package sqlite

import (
	"context"
	"math"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

// certificate_stats counts certificates by (status, CA, UTC day of expiry).
// Every write of a certificate keeps it current in the same transaction, so
// the summary and unfiltered totals add up a few thousand rows instead of
// counting a million index entries. "Expired" is not a stored status: it is
// the active certificates of the days before now, plus an exact index count
// for the part of today's bucket that lies before now.

const dayMicros = int64(24 * time.Hour / time.Microsecond)

// dayOffset shifts times before the epoch to positive values so that integer
// division floors both in Go and in SQL (which truncate): buckets are then
// plain [day*dayMicros-dayOffset, (day+1)*dayMicros-dayOffset) ranges.
const dayOffset = 800_000 * dayMicros

func expiryDay(notAfter int64) int64 { return (notAfter + dayOffset) / dayMicros }

func dayStart(day int64) int64 { return day*dayMicros - dayOffset }

// countCertificate adds one certificate to the stats.
func countCertificate(ctx context.Context, q querier, status, caID string, notAfter int64) error {
	_, err := q.ExecContext(ctx, `INSERT INTO certificate_stats (status, ca_id, expiry_day, n) VALUES (?, ?, ?, 1)
		ON CONFLICT (status, ca_id, expiry_day) DO UPDATE SET n = n + 1`, status, caID, expiryDay(notAfter))
	return err
}

// recountCertificate moves a stored certificate from one status to another
// in the stats.
func recountCertificate(ctx context.Context, q querier, serial, from, to string) error {
	_, err := q.ExecContext(ctx, `UPDATE certificate_stats SET n = n - 1
		WHERE status = ? AND (ca_id, expiry_day) = (SELECT ca_id, (not_after + ?) / ? FROM certificates WHERE serial = ?)`,
		from, dayOffset, dayMicros, serial)
	if err != nil {
		return err
	}
	_, err = q.ExecContext(ctx, `INSERT INTO certificate_stats (status, ca_id, expiry_day, n)
		SELECT ?, ca_id, (not_after + ?) / ?, 1 FROM certificates WHERE serial = ? AND true
		ON CONFLICT (status, ca_id, expiry_day) DO UPDATE SET n = n + 1`, to, dayOffset, dayMicros, serial)
	return err
}

// activeCounter counts active certificates by NotAfter range: whole days
// from the stats, plus exact index counts of the partial days at the edges.
type activeCounter struct {
	ctx context.Context
	q   querier
}

// count returns the active certificates with lo <= not_after < hi;
// lo == math.MinInt64 means no lower bound.
func (a activeCounter) count(lo, hi int64) (int64, error) {
	fullFrom := int64(math.MinInt64) // first day counted from the stats
	var n int64
	if lo != math.MinInt64 {
		fullFrom = expiryDay(lo)
		if dayStart(fullFrom) != lo {
			fullFrom++
		}
		if edge := min(dayStart(fullFrom), hi); lo < edge {
			m, err := a.exact(lo, edge)
			if err != nil {
				return 0, err
			}
			n += m
		}
	}
	fullTo := expiryDay(hi) // first day not counted from the stats
	if start := max(dayStart(fullTo), lo); start < hi && (lo == math.MinInt64 || fullTo >= fullFrom) {
		m, err := a.exact(start, hi)
		if err != nil {
			return 0, err
		}
		n += m
	}
	if fullTo > fullFrom {
		var m int64
		err := queryOne(a.ctx, a.q, func(s scanner) error { return s.Scan(&m) }, `SELECT coalesce(sum(n), 0)
			FROM certificate_stats WHERE status = 'active' AND expiry_day >= ? AND expiry_day < ?`, fullFrom, fullTo)
		if err != nil {
			return 0, err
		}
		n += m
	}
	return n, nil
}

func (a activeCounter) exact(lo, hi int64) (int64, error) {
	var n int64
	err := queryOne(a.ctx, a.q, func(s scanner) error { return s.Scan(&n) },
		`SELECT count(*) FROM certificates INDEXED BY certificates_status_expiry
		WHERE status = 'active' AND not_after >= ? AND not_after < ?`, lo, hi)
	return n, err
}

// storedCounts sums the stats by stored status and CA.
func storedCounts(ctx context.Context, q querier) (map[[2]string]int64, error) {
	rows, err := queryMany(ctx, q, func(s scanner) (r struct {
		key [2]string
		n   int64
	}, err error) {
		err = s.Scan(&r.key[0], &r.key[1], &r.n)
		return r, err
	}, `SELECT status, ca_id, sum(n) FROM certificate_stats GROUP BY status, ca_id HAVING sum(n) <> 0`)
	if err != nil {
		return nil, err
	}
	out := make(map[[2]string]int64, len(rows))
	for _, r := range rows {
		out[r.key] = r.n
	}
	return out, nil
}

// Summarize counts the inventory for the dashboard, all from one read
// transaction. "Expiring within N days" means active, not yet expired, and
// NotAfter < now+N days: the set a search with Statuses [active] and
// ExpiresBefore now+N days returns.
func (r reader) Summarize(ctx context.Context, now time.Time, orgID string) (*store.Summary, error) {
	snap, done, err := r.snapshot(ctx, true)
	if err != nil {
		return nil, mapErr(err, "summarize certificates")
	}
	defer done()
	if orgID != "" {
		return summarizeOrg(ctx, snap, now, orgID)
	}
	counts, err := storedCounts(ctx, snap)
	if err != nil {
		return nil, mapErr(err, "summarize certificates")
	}
	s := &store.Summary{
		ByStatus: map[string]int64{store.CertActive: 0, store.CertExpired: 0, store.CertRevoked: 0, store.CertOnHold: 0},
		ByCA:     map[string]int64{},
	}
	for key, n := range counts {
		s.Total += n
		s.ByStatus[key[0]] += n
		s.ByCA[key[1]] += n
	}
	ac := activeCounter{ctx: ctx, q: snap}
	n := toDB(now)
	expired, err := ac.count(math.MinInt64, n+1)
	if err != nil {
		return nil, mapErr(err, "count expired certificates")
	}
	s.ByStatus[store.CertExpired] = expired
	s.ByStatus[store.CertActive] -= expired
	for _, w := range []struct {
		days int
		dst  *int64
	}{{7, &s.Expiring7}, {30, &s.Expiring30}, {90, &s.Expiring90}} {
		if *w.dst, err = ac.count(n+1, toDB(now.AddDate(0, 0, w.days))); err != nil {
			return nil, mapErr(err, "count expiring certificates")
		}
	}
	return s, nil
}

// summarizeOrg counts one organization's certificates from certificates_org
// alone. The stats table is not split by organization: an organization is
// usually a small part of a large inventory, and its index range is short.
func summarizeOrg(ctx context.Context, q querier, now time.Time, orgID string) (*store.Summary, error) {
	type row struct {
		status, ca string
		n          int64
	}
	rows, err := queryMany(ctx, q, func(s scanner) (r row, err error) { return r, s.Scan(&r.status, &r.ca, &r.n) },
		`SELECT status, ca_id, count(*) FROM certificates INDEXED BY certificates_org WHERE org_id = ?
		GROUP BY status, ca_id`, orgID)
	if err != nil {
		return nil, mapErr(err, "summarize organization certificates")
	}
	s := &store.Summary{
		ByStatus: map[string]int64{store.CertActive: 0, store.CertExpired: 0, store.CertRevoked: 0, store.CertOnHold: 0},
		ByCA:     map[string]int64{},
	}
	for _, r := range rows {
		s.Total += r.n
		s.ByStatus[r.status] += r.n
		s.ByCA[r.ca] += r.n
	}
	count := func(lo, hi int64) (n int64, err error) {
		err = queryOne(ctx, q, func(s scanner) error { return s.Scan(&n) },
			`SELECT count(*) FROM certificates INDEXED BY certificates_org
			WHERE org_id = ? AND status = 'active' AND not_after >= ? AND not_after < ?`, orgID, lo, hi)
		return n, err
	}
	n := toDB(now)
	expired, err := count(math.MinInt64, n+1)
	if err != nil {
		return nil, mapErr(err, "count expired certificates")
	}
	s.ByStatus[store.CertExpired] = expired
	s.ByStatus[store.CertActive] -= expired
	for _, w := range []struct {
		days int
		dst  *int64
	}{{7, &s.Expiring7}, {30, &s.Expiring30}, {90, &s.Expiring90}} {
		if *w.dst, err = count(n+1, toDB(now.AddDate(0, 0, w.days))); err != nil {
			return nil, mapErr(err, "count expiring certificates")
		}
	}
	return s, nil
}
