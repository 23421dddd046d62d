package postgres

import (
	"cmp"
	"context"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

// certificate_stats counts certificates by (status, CA, UTC day of expiry),
// as in store/sqlite: the summary and unfiltered totals add up a few
// thousand rows instead of counting millions. "Expired" is not a stored
// status: it is the active certificates of the days before now, plus an
// exact index count for the part of today's bucket that lies before now.
//
// Update functions do not write the stats row by row: they note deltas,
// which the writer sums over the batch and writes in one statement when the
// batch ends. Hundreds of issuances into the same (active, CA, day) bucket
// so cost one row version, not hundreds.

const dayMicros = int64(24 * time.Hour / time.Microsecond)

// dayOffset shifts times before the epoch to positive values so that
// integer division floors: buckets are [day*dayMicros-dayOffset, +dayMicros).
const dayOffset = 800_000 * dayMicros

func expiryDay(notAfter int64) int64 { return (notAfter + dayOffset) / dayMicros }

func dayStart(day int64) int64 { return day*dayMicros - dayOffset }

type statKey struct {
	status, ca string
	day        int64
}

// statDeltas are count changes not yet written.
type statDeltas map[statKey]int64

func (d *statDeltas) count(status, ca string, notAfter time.Time, by int64) {
	if *d == nil {
		*d = statDeltas{}
	}
	(*d)[statKey{status, ca, expiryDay(notAfter.UnixMicro())}] += by
}

func (d statDeltas) add(o statDeltas) statDeltas {
	if d == nil {
		d = statDeltas{}
	}
	for k, n := range o {
		d[k] += n
	}
	return d
}

// statsStatement applies the batch's deltas in one upsert, in key order.
func statsStatement(d statDeltas) (string, []any, bool) {
	keys := slices.SortedFunc(maps.Keys(d), func(a, b statKey) int {
		return cmp.Or(cmp.Compare(a.status, b.status), cmp.Compare(a.ca, b.ca), cmp.Compare(a.day, b.day))
	})
	var statuses, cas []string
	var days, ns []int64
	for _, k := range keys {
		if n := d[k]; n != 0 {
			statuses, cas, days, ns = append(statuses, k.status), append(cas, k.ca), append(days, k.day), append(ns, n)
		}
	}
	if len(ns) == 0 {
		return "", nil, false
	}
	return `INSERT INTO certificate_stats (status, ca_id, expiry_day, n)
		SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[])
		ON CONFLICT (status, ca_id, expiry_day) DO UPDATE SET n = certificate_stats.n + excluded.n`,
		[]any{statuses, cas, days, ns}, true
}

// activeCounter counts active certificates by NotAfter range: whole days
// from the stats, plus exact index counts of the partial days at the edges.
type activeCounter struct {
	ctx context.Context
	q   querier
}

// count returns the active certificates with lo <= not_after < hi (unix
// microseconds); lo == math.MinInt64 means no lower bound.
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
		err := queryOne(a.ctx, a.q, func(s scanner) error { return s.Scan(&m) }, `SELECT coalesce(sum(n), 0)::bigint
			FROM certificate_stats WHERE status = 'active' AND expiry_day >= $1 AND expiry_day < $2`, fullFrom, fullTo)
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
		`SELECT count(*) FROM certificates WHERE status = 'active' AND not_after >= $1 AND not_after < $2`,
		time.UnixMicro(lo), time.UnixMicro(hi))
	return n, err
}

// storedCounts sums the stats by stored status and CA.
func storedCounts(ctx context.Context, q querier) (map[[2]string]int64, error) {
	type row struct {
		key [2]string
		n   int64
	}
	rows, err := queryMany(ctx, q, func(s scanner) (r row, err error) { return r, s.Scan(&r.key[0], &r.key[1], &r.n) },
		`SELECT status, ca_id, sum(n)::bigint FROM certificate_stats GROUP BY status, ca_id HAVING sum(n) <> 0`)
	if err != nil {
		return nil, err
	}
	out := make(map[[2]string]int64, len(rows))
	for _, r := range rows {
		out[r.key] = r.n
	}
	return out, nil
}

func newSummary() *store.Summary {
	return &store.Summary{
		ByStatus: map[string]int64{store.CertActive: 0, store.CertExpired: 0, store.CertRevoked: 0, store.CertOnHold: 0},
		ByCA:     map[string]int64{},
	}
}

// Summarize counts the inventory for the dashboard, all from one snapshot.
// "Expiring within N days" means active, not yet expired, and NotAfter <
// now+N days: the set a search with Statuses [active] and ExpiresBefore
// now+N days returns.
func (r reader) Summarize(ctx context.Context, now time.Time, orgID string) (*store.Summary, error) {
	snap, done, err := r.snapshot(ctx, true)
	if err != nil {
		return nil, mapErr(err, "summarize certificates")
	}
	defer done()
	if orgID != "" || r.inBatch() {
		return summarizeRows(ctx, snap, now, orgID)
	}
	counts, err := storedCounts(ctx, snap)
	if err != nil {
		return nil, mapErr(err, "summarize certificates")
	}
	s := newSummary()
	for key, n := range counts {
		s.Total += n
		s.ByStatus[key[0]] += n
		s.ByCA[key[1]] += n
	}
	ac := activeCounter{ctx: ctx, q: snap}
	n := now.UnixMicro()
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
		if *w.dst, err = ac.count(n+1, now.AddDate(0, 0, w.days).UnixMicro()); err != nil {
			return nil, mapErr(err, "count expiring certificates")
		}
	}
	return s, nil
}

// summarizeRows counts from the certificates themselves: for one
// organization (the stats are not split by organization, whose index range
// in certificates_org is short and answers this alone), or inside an
// update function, whose own changes are not in the stats yet.
func summarizeRows(ctx context.Context, q querier, now time.Time, orgID string) (*store.Summary, error) {
	type row struct {
		status, ca string
		n          int64
	}
	// Two statement texts rather than "$1 = '' OR org_id = $1", which a
	// cached generic plan could not serve from certificates_org.
	var scope where
	if orgID != "" {
		scope.add("org_id = ?", orgID)
	}
	cond, args := scope.sql()
	rows, err := queryMany(ctx, q, func(s scanner) (r row, err error) { return r, s.Scan(&r.status, &r.ca, &r.n) },
		`SELECT status, ca_id, count(*) FROM certificates`+cond+` GROUP BY status, ca_id`, args...)
	if err != nil {
		return nil, mapErr(err, "summarize certificates")
	}
	s := newSummary()
	for _, r := range rows {
		s.Total += r.n
		s.ByStatus[r.status] += r.n
		s.ByCA[r.ca] += r.n
	}
	count := func(lo *time.Time, hi time.Time) (n int64, err error) {
		w := where{conds: slices.Clone(scope.conds), args: slices.Clone(scope.args)}
		w.add("status = 'active'")
		if lo != nil {
			w.add("not_after >= ?", *lo)
		}
		w.add("not_after < ?", hi)
		cond, args := w.sql()
		err = queryOne(ctx, q, func(s scanner) error { return s.Scan(&n) }, `SELECT count(*) FROM certificates`+cond, args...)
		return n, err
	}
	n := time.UnixMicro(now.UnixMicro() + 1)
	expired, err := count(nil, n)
	if err != nil {
		return nil, mapErr(err, "count expired certificates")
	}
	s.ByStatus[store.CertExpired] = expired
	s.ByStatus[store.CertActive] -= expired
	for _, w := range []struct {
		days int
		dst  *int64
	}{{7, &s.Expiring7}, {30, &s.Expiring30}, {90, &s.Expiring90}} {
		if *w.dst, err = count(&n, now.AddDate(0, 0, w.days)); err != nil {
			return nil, mapErr(err, "count expiring certificates")
		}
	}
	return s, nil
}
