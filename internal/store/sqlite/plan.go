package sqlite

import (
	"context"
	"math"
	"strings"

	"github.com/signet-pki/signet/internal/store"
)

// Access paths for inventory searches.
//
// SQLite's planner costs a plan as if it read every matching row: it prefers
// "find the 50,000 revoked certificates by index, sort them, keep 100" to
// "walk the created_at index and stop at the 100th revoked one". At a million
// rows that is half a second against a few milliseconds. So the store picks
// the path itself and names the index:
//
//   - Each filter that has an index of its own is probed: up to probeLimit of
//     its matches are counted (a short index range read). The one with the
//     fewest matches, if below probeLimit, drives the plan: its rows are
//     fetched by its index, tested against the other filters, and sorted.
//   - Otherwise every filter matches many rows, and the plan walks the sort's
//     index in page order, testing the filters on each index entry (the sort
//     indexes carry the filter columns), and stops after LIMIT matches.
//
// Either way a page reads at most about probeLimit rows, however large the
// inventory; the walk is slow only when several filters each match many rows
// but together almost none.
//
// One more path serves NotAfter ranges (expired, expiring, ExpiresBefore):
// certificates_by_expiry covers every sort key, so when the stats say the
// range holds at most coveringLimit certificates, the page is picked from
// that index alone and sorted, without a table lookup. A walk would be
// slow exactly there: expired certificates are the oldest, so the created_at
// walk (the default sort) reaches them last.
const (
	defaultProbeLimit = 2000    // a filter with fewer matches than this drives the plan
	driveAtOnce       = 100     // a probe with at most this many matches ends probing
	coveringLimit     = 150_000 // a NotAfter range this small is read from certificates_by_expiry
)

const (
	walk     = -1 // searchPlan.driver: walk the sort index
	byExpiry = -2 // searchPlan.driver: read the NotAfter range from certificates_by_expiry
)

type searchPlan struct {
	filters []certFilter
	driver  int // index in filters of the driving filter, or walk, or byExpiry
	sort    certSort
}

// planSearch probes the filters and picks the access path; limit is the
// probe limit (tests lower it to exercise index walks on small data).
func planSearch(ctx context.Context, q querier, cq store.CertificateQuery, srt certSort, limit int) (*searchPlan, error) {
	p := &searchPlan{filters: certFilters(cq, toDB(cq.Now)), driver: walk, sort: srt}
	best := limit
	for i := range p.filters {
		f := &p.filters[i]
		if f.probe == "" {
			continue
		}
		n, err := probe(ctx, q, f, limit)
		if err != nil {
			return nil, err
		}
		if n < best {
			best, p.driver = n, i
		}
		if n <= min(driveAtOnce, limit-1) {
			break
		}
	}
	if p.driver != walk || p.sort.index == "certificates_by_expiry" {
		return p, nil
	}
	lo, hi, ok := p.expiryRange()
	if !ok {
		return p, nil
	}
	n, err := countExpiryRange(ctx, q, lo, hi)
	if err != nil {
		return nil, err
	}
	// The bound scales down with the probe limit only so that tests, which
	// lower that, reach both sides of it on small data.
	if n <= int64(min(coveringLimit, 75*limit)) {
		p.driver = byExpiry
	}
	return p, nil
}

// expiryRange intersects the NotAfter ranges the filters imply.
func (p *searchPlan) expiryRange() (lo, hi int64, ok bool) {
	lo, hi = math.MinInt64, math.MaxInt64
	for _, f := range p.filters {
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
		`SELECT coalesce(sum(n), 0) FROM certificate_stats WHERE expiry_day BETWEEN ? AND ?`, from, to)
	return n, err
}

// probe counts f's matches up to limit. For a trigram search it keeps the
// ids, so that a plan driven by it need not search again.
func probe(ctx context.Context, q querier, f *certFilter, limit int) (int, error) {
	if !f.probeIDs {
		var n int
		err := queryOne(ctx, q, func(s scanner) error { return s.Scan(&n) },
			"SELECT count(*) FROM ("+f.probe+" LIMIT ?)", append(f.probeArgs, limit)...)
		return n, err
	}
	ids, err := queryMany(ctx, q, func(s scanner) (id int64, err error) { return id, s.Scan(&id) },
		f.probe+" LIMIT ?", append(f.probeArgs, limit)...)
	if err != nil {
		return 0, err
	}
	if len(ids) < limit {
		f.useIDs(ids)
	}
	return len(ids), nil
}

// from names the table access: the driver's index, rowid lookups for a
// driver that is a set of ids, or the sort's index for a walk.
func (p *searchPlan) from() string {
	switch {
	case p.driver == walk:
		return " FROM certificates c INDEXED BY " + p.sort.index
	case p.driver == byExpiry:
		return " FROM certificates c INDEXED BY certificates_by_expiry"
	case p.filters[p.driver].index == "":
		return " FROM certificates c NOT INDEXED"
	}
	return " FROM certificates c INDEXED BY " + p.filters[p.driver].index
}

// where joins the driver's set form with every other filter's row form.
// Reading certificates_by_expiry, it starts with the intersection of the
// filters' NotAfter ranges: SQLite bounds an index range by one of several
// terms on its column, and "active" (not_after > now) next to "expiring
// from next month" would otherwise read the whole month in between.
func (p *searchPlan) where(extra string, extraArgs ...any) (string, []any) {
	var conds []string
	var args []any
	if p.driver == byExpiry || (p.driver == walk && p.sort.index == "certificates_by_expiry") {
		if lo, hi, ok := p.expiryRange(); ok {
			conds, args = append(conds, "c.not_after >= ? AND c.not_after < ?"), append(args, lo, hi)
		}
	}
	for i, f := range p.filters {
		if i == p.driver {
			conds, args = append(conds, f.set), append(args, f.setArgs...)
		} else {
			conds, args = append(conds, f.row), append(args, f.rowArgs...)
		}
	}
	if extra != "" {
		conds, args = append(conds, extra), append(args, extraArgs...)
	}
	if len(conds) == 0 {
		return "", args
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// pageSQL selects limit rows from the cursor on. The inner query picks the
// page's ids touching only what it must (often an index alone, even when it
// sorts thousands of candidates); the outer one reads those rows and DER.
func (p *searchPlan) pageSQL(cur *certCursor, limit int) (string, []any) {
	var where string
	var args []any
	if cur != nil {
		cond, condArgs := p.sort.after(cur)
		where, args = p.where(cond, condArgs...)
	} else {
		where, args = p.where("")
	}
	inner := `SELECT c.int_id AS id, ` + p.sort.col + ` AS k` + p.from() + where + p.sort.orderBy() + ` LIMIT ?`
	dir := " ASC"
	if p.sort.desc {
		dir = " DESC"
	}
	return `SELECT ` + certColumns + ` FROM (` + inner + `) p CROSS JOIN certificates c ON c.int_id = p.id
		CROSS JOIN certificate_blobs b ON b.cert_id = p.id ORDER BY p.k` + dir + `, p.id` + dir, append(args, limit)
}

// count counts every match: from the stats when the filters allow, through
// the driver when there is one (few rows), else through each filter's own
// index as SQLite sees fit.
func (p *searchPlan) count(ctx context.Context, q querier, cq store.CertificateQuery) (int64, error) {
	if n, ok, err := statsCount(ctx, q, cq); ok || err != nil {
		return n, err
	}
	if n, ok, err := expiringCount(ctx, q, cq); ok || err != nil {
		return n, err
	}
	var query string
	var args []any
	switch {
	case len(p.filters) == 1 && p.filters[0].total != "":
		query, args = p.filters[0].total, p.filters[0].totalArgs
	case p.driver != walk:
		where, wargs := p.where("")
		query, args = "SELECT count(*)"+p.from()+where, wargs
	default:
		var conds []string
		for _, f := range p.filters {
			conds, args = append(conds, f.set), append(args, f.setArgs...)
		}
		query = "SELECT count(*) FROM certificates c WHERE " + strings.Join(conds, " AND ")
	}
	var n int64
	err := queryOne(ctx, q, func(s scanner) error { return s.Scan(&n) }, query, args...)
	return n, err
}

// statsCount answers a total from certificate_stats when the only filters
// are statuses and a CA (not both a CA and a derived status, which the stats
// cannot split): the unfiltered listing, status tabs, per-CA totals.
func statsCount(ctx context.Context, q querier, cq store.CertificateQuery) (int64, bool, error) {
	other := cq
	other.Statuses, other.CAID = nil, ""
	if !isUnfiltered(other) {
		return 0, false, nil
	}
	counts, err := storedCounts(ctx, q)
	if err != nil {
		return 0, true, err
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
	var n int64
	for key, c := range counts {
		status, ca := key[0], key[1]
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
	expired, err := activeCounter{ctx: ctx, q: q}.count(math.MinInt64, toDB(cq.Now)+1)
	if err != nil {
		return 0, true, err
	}
	if want[store.CertExpired] {
		return n + expired, true, nil
	}
	return n + activeTotal(counts) - expired, true, nil
}

// expiringCount answers the total of active certificates in a NotAfter
// range, when that is the only filter (the dashboard's weekly expiry
// timeline, "expiring within N days"): whole days from the stats, the
// partial days at the edges from the index, instead of counting every
// entry in the range (~77,000 a week at a million certificates).
func expiringCount(ctx context.Context, q querier, cq store.CertificateQuery) (int64, bool, error) {
	other := cq
	other.Statuses, other.ExpiresAfter, other.ExpiresBefore = nil, nil, nil
	if !isUnfiltered(other) || len(cq.Statuses) != 1 || cq.Statuses[0] != store.CertActive || cq.ExpiresBefore == nil {
		return 0, false, nil
	}
	lo, hi := toDB(cq.Now)+1, toDB(*cq.ExpiresBefore) // "active" is also not yet expired
	if cq.ExpiresAfter != nil {
		lo = max(lo, toDB(*cq.ExpiresAfter))
	}
	if lo >= hi {
		return 0, true, nil
	}
	n, err := activeCounter{ctx: ctx, q: q}.count(lo, hi)
	return n, true, err
}

func activeTotal(counts map[[2]string]int64) int64 {
	var n int64
	for key, c := range counts {
		if key[0] == store.CertActive {
			n += c
		}
	}
	return n
}

// isUnfiltered reports whether q filters on nothing.
func isUnfiltered(q store.CertificateQuery) bool {
	return len(q.Statuses) == 0 && q.CAID == "" && q.ProfileID == "" && q.Owner == "" && q.Contains == "" &&
		q.OrgID == "" && len(q.Labels) == 0 && len(q.CustomFields) == 0 &&
		q.Name == "" && q.NamePrefix == "" && q.Serial == "" && q.SHA256 == "" && q.Source == "" &&
		q.ExpiresBefore == nil && q.ExpiresAfter == nil
}
