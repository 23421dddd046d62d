package postgres

import (
	"cmp"
	"context"
	"math"

	"github.com/signet-pki/signet/internal/store"
)

// The one inventory query PostgreSQL's statistics mislead: a filter whose
// matches cluster at the far end of the sort order. Expired certificates
// are the oldest, so "status expired, newest first" looks cheap as a walk
// down the created_at index (7% of rows match, so 100 matches should come
// within ~1,400 rows) and reads the whole table before the first match:
// 1.8 s at a million certificates. No column statistic describes that
// correlation. So the store decides that case itself, as store/sqlite does
// for every case:
//
//   - Each filter with a B-tree index of its own is probed: its matches are
//     counted up to probeLimit (a short index range read). If one has fewer,
//     the page is picked from all matches (PostgreSQL fetches them through
//     the best index, then sorts): at most probeLimit rows, however they
//     are ordered.
//   - A NotAfter range (expired, expiring, ExpiresBefore/After) is sized
//     from the stats. Up to coveringLimit certificates, the page is picked
//     from the range, which certificates_status_expiry covers together with
//     the sort keys (an index-only scan and a top-N sort, no table reads).
//   - Otherwise PostgreSQL plans as it sees fit: every filter matches many
//     rows, and a walk of the sort index finds a page quickly.
//
// "Picked from all matches" is a MATERIALIZED CTE: PostgreSQL computes it
// whole before the outer ORDER BY ... LIMIT, so it cannot choose the walk.
const (
	probeLimit    = 2000
	coveringLimit = 150_000
)

type searchPlan struct {
	filters []certFilter
	sort    certSort
	gather  bool // pick the page from all matches rather than walk the sort index
}

func (r reader) plan(ctx context.Context, q querier, filters []certFilter, srt certSort) (*searchPlan, error) {
	p := &searchPlan{filters: filters, sort: srt}
	if len(filters) == 0 || len(filters) == 1 && filters[0].sorted == srt.col {
		return p, nil // nothing to decide: one index serves filter and order
	}
	limit := cmp.Or(r.probeLimit, probeLimit)
	for _, f := range filters {
		if !f.probe {
			continue
		}
		w := whereOf([]certFilter{f})
		lim := w.arg(limit)
		cond, args := w.sql()
		var n int
		err := queryOne(ctx, q, func(s scanner) error { return s.Scan(&n) },
			`SELECT count(*) FROM (SELECT 1 FROM certificates c`+cond+` LIMIT `+lim+`) AS probe`,
			append([]any{planPerQuery}, args...)...)
		if err != nil {
			return nil, err
		}
		if n < limit {
			p.gather = true
			return p, nil
		}
	}
	if srt.col == "not_after" {
		return p, nil // a walk of the NotAfter index stays inside the range
	}
	lo, hi, ok := expiryRange(filters)
	if !ok {
		return p, nil
	}
	n, err := countExpiryRange(ctx, q, lo, hi)
	if err != nil {
		return nil, err
	}
	// The bound scales down with the probe limit only so that tests, which
	// lower that, reach both sides of it on small data.
	p.gather = n <= int64(min(coveringLimit, 75*limit))
	return p, nil
}

// expiryRange intersects the NotAfter ranges the filters imply.
func expiryRange(filters []certFilter) (lo, hi int64, ok bool) {
	lo, hi = math.MinInt64, math.MaxInt64
	for _, f := range filters {
		if f.expiry != nil {
			lo, hi, ok = max(lo, f.expiry[0]), min(hi, f.expiry[1]), true
		}
	}
	return lo, hi, ok
}

// countExpiryRange estimates from the stats how many certificates (of any
// status) have lo <= NotAfter < hi, rounding out to whole days.
func countExpiryRange(ctx context.Context, q querier, lo, hi int64) (int64, error) {
	from, to := int64(math.MinInt64), int64(math.MaxInt64)
	if lo != math.MinInt64 {
		from = expiryDay(lo)
	}
	if hi != math.MaxInt64 {
		to = expiryDay(hi)
	}
	var n int64
	err := queryOne(ctx, q, func(s scanner) error { return s.Scan(&n) },
		`SELECT coalesce(sum(n), 0)::bigint FROM certificate_stats WHERE expiry_day BETWEEN $1 AND $2`, from, to)
	return n, err
}

// pageSQL selects limit rows from the cursor on. The inner query picks the
// page's ids touching only what it must (often an index alone); the outer
// one reads those rows and their DER.
func (p *searchPlan) pageSQL(cur *certCursor, limit int) (string, []any) {
	var extra []certFilter
	if cur != nil {
		extra = append(extra, p.sort.after(cur))
	}
	w := whereOf(p.filters, extra...)
	lim := w.arg(limit)
	cond, args := w.sql()
	order := p.sort.orderBy("k", "int_id")
	pick := `SELECT c.int_id, c.` + p.sort.col + ` AS k FROM certificates c` + cond
	var inner, with string
	if p.gather {
		with = `WITH matches AS MATERIALIZED (` + pick + `) `
		inner = `SELECT int_id, k FROM matches` + order + ` LIMIT ` + lim
	} else {
		inner = pick + p.sort.orderBy("c."+p.sort.col, "c.int_id") + ` LIMIT ` + lim
	}
	return with + `SELECT ` + certColumns + ` FROM (` + inner + `) AS p JOIN certificates c ON c.int_id = p.int_id
		JOIN certificate_blobs b ON b.cert_id = p.int_id` + p.sort.orderBy("p.k", "p.int_id"), args
}

// expiringCount answers the total of active certificates in a NotAfter
// range, when that is the only filter (the dashboard's weekly expiry
// timeline, "expiring within N days"): whole days from the stats, the
// partial days at the edges from the index, instead of counting every
// entry in the range (~77,000 a week at a million certificates).
func expiringCount(ctx context.Context, q querier, cq store.CertificateQuery) (int64, bool, error) {
	before, after := cq.ExpiresBefore, cq.ExpiresAfter
	other := cq
	other.ExpiresBefore, other.ExpiresAfter = nil, nil
	if !onlyStatusAndCA(other) || other.CAID != "" || len(cq.Statuses) != 1 || cq.Statuses[0] != store.CertActive || before == nil {
		return 0, false, nil
	}
	lo, hi := cq.Now.UnixMicro()+1, before.UnixMicro() // "active" is also not yet expired
	if after != nil {
		lo = max(lo, after.UnixMicro())
	}
	if lo >= hi {
		return 0, true, nil
	}
	n, err := activeCounter{ctx: ctx, q: q}.count(lo, hi)
	return n, true, err
}

// statsCount answers a total from certificate_stats when the only filters
// are statuses and a CA (not both a CA and a derived status, which the
// stats cannot split): the unfiltered listing, status tabs, per-CA totals.
func statsCount(ctx context.Context, q querier, cq store.CertificateQuery) (int64, bool, error) {
	if !onlyStatusAndCA(cq) {
		return 0, false, nil
	}
	want := map[string]bool{}
	for _, st := range cq.Statuses {
		want[st] = true
	}
	all := len(want) == 0
	bothActive := want[store.CertActive] && want[store.CertExpired]
	derived := want[store.CertActive] != want[store.CertExpired]
	if derived && cq.CAID != "" {
		return 0, false, nil
	}
	counts, err := storedCounts(ctx, q)
	if err != nil {
		return 0, true, err
	}
	var n, active int64
	for key, c := range counts {
		status, ca := key[0], key[1]
		if status == store.CertActive {
			active += c
		}
		if cq.CAID != "" && ca != cq.CAID {
			continue
		}
		if all || (status == store.CertActive && bothActive) || (status != store.CertActive && want[status]) {
			n += c
		}
	}
	if !derived {
		return n, true, nil
	}
	expired, err := activeCounter{ctx: ctx, q: q}.count(math.MinInt64, cq.Now.UnixMicro()+1)
	if err != nil {
		return 0, true, err
	}
	if want[store.CertExpired] {
		return n + expired, true, nil
	}
	return n + active - expired, true, nil
}
