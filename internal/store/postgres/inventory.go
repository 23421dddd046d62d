package postgres

import (
	"context"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/signet-pki/signet/internal/store"
)

// Inventory searches are planned by PostgreSQL, which (unlike SQLite) weighs
// LIMIT against sorting and keeps statistics; the store gives it an index
// for each real query (see the schema) and two kinds of help, in plan.go.
// First, statements run in QueryExecModeCacheDescribe: an unnamed statement
// planned for its actual arguments every time, never a cached generic plan
// chosen once for all of them ("status = $1" is as selective for 'on_hold'
// as for 'active'). Second, the store probes for the one case statistics
// cannot see, where matches cluster at the far end of the sort order.
const planPerQuery = pgx.QueryExecModeCacheDescribe

// certFilter is one condition of an inventory search.
type certFilter struct {
	cond string // SQL over certificates c, with ? placeholders
	args []any
	// probe marks a filter with an index of its own, whose matches can be
	// counted cheaply up to a limit (see plan.go).
	probe bool
	// sorted names the sort column the filter's index is ordered by after
	// the filter's own: alone, such a filter pages straight off its index.
	sorted string
	// expiry, when set, is the NotAfter range [lo, hi) (unix microseconds)
	// the filter implies.
	expiry *[2]int64
}

// certFilters translates every filter of q. trigram says whether the
// substring index exists.
func certFilters(q store.CertificateQuery, trigram bool) []certFilter {
	var fs []certFilter
	for _, f := range []struct {
		col, val string
		probe    bool
		sorted   string
	}{
		{"serial", q.Serial, false, ""}, {"sha256", q.SHA256, false, ""}, // unique: the planner knows they match one row
		{"owner", q.Owner, true, "created_at"}, {"ca_id", q.CAID, true, "created_at"},
		{"profile_id", q.ProfileID, true, "created_at"}, {"org_id", q.OrgID, true, ""}, {"source", q.Source, false, ""},
	} {
		if f.val != "" {
			fs = append(fs, certFilter{cond: "c." + f.col + " = ?", args: []any{f.val}, probe: f.probe, sorted: f.sorted})
		}
	}
	if q.Name != "" {
		fs = append(fs, certFilter{cond: "c.int_id IN (SELECT cert_id FROM certificate_names WHERE name = ?)",
			args: []any{strings.ToLower(q.Name)}})
	}
	if q.NamePrefix != "" {
		prefix := strings.ToLower(q.NamePrefix)
		f := certFilter{cond: "c.int_id IN (SELECT cert_id FROM certificate_names WHERE name >= ?)", args: []any{prefix}, probe: true}
		if next, ok := successor(prefix); ok {
			f.cond, f.args = "c.int_id IN (SELECT cert_id FROM certificate_names WHERE name >= ? AND name < ?)", []any{prefix, next}
		}
		fs = append(fs, f)
	}
	if q.Contains != "" {
		fs = append(fs, containsFilter(strings.ToLower(q.Contains), trigram))
	}
	if len(q.Statuses) > 0 {
		fs = append(fs, statusFilter(q.Statuses, q.Now))
	}
	if q.ExpiresBefore != nil || q.ExpiresAfter != nil {
		fs = append(fs, expiryFilter(q))
	}
	if len(q.Labels) > 0 {
		fs = append(fs, certFilter{cond: "c.labels @> ?::jsonb", args: []any{jsonMap(q.Labels)}})
	}
	if len(q.CustomFields) > 0 {
		fs = append(fs, certFilter{cond: "c.custom_fields @> ?::jsonb", args: []any{jsonMap(q.CustomFields)}})
	}
	return fs
}

// trigramExpr is what the substring index covers: names_text with the
// punctuation of names (dots, dashes, ...) spelled as letter pairs that
// hardly occur in names. pg_trgm takes trigrams of alphanumeric runs only,
// so over the raw text "host-1.team-7" it would index "host", "1", "team"
// and "7" separately, and a search for "-1.team" would find every name
// with a word "1" and a word "team". Spelled out, the punctuation is part
// of the trigrams, as in SQLite's trigram index. Any character-for-string
// substitution keeps substrings substrings, so the index condition never
// misses a match; the exact LIKE on names_text then drops false ones.
const trigramExpr = `replace(replace(replace(replace(replace(replace(replace(names_text,
	'.', 'qz'), '-', 'qx'), '_', 'qj'), ':', 'qk'), '@', 'qv'), '/', 'qw'), '*', 'qy')`

var trigramSpelling = strings.NewReplacer(".", "qz", "-", "qx", "_", "qj", ":", "qk", "@", "qv", "/", "qw", "*", "qy")

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func containsFilter(s string, trigram bool) certFilter {
	if strings.Contains(s, nameSeparator) {
		return certFilter{cond: "false"} // names are stored newline-delimited: no single name holds one
	}
	f := certFilter{cond: "c.names_text LIKE ?", args: []any{"%" + likeEscaper.Replace(s) + "%"}}
	spelled := trigramSpelling.Replace(s)
	if trigram && longestAlnumRun(spelled) >= 3 { // else no trigram to look up: the index cannot help
		f.cond = trigramExpr + " LIKE ? AND " + f.cond
		f.args = append([]any{"%" + likeEscaper.Replace(spelled) + "%"}, f.args...)
	}
	// Not probed: a GIN bitmap scan reads the whole posting list of every
	// trigram before the first row, so counting even a few matches costs as
	// much as the search. PostgreSQL's estimate from the index statistics
	// picks between the bitmap and a walk well enough.
	return f
}

func longestAlnumRun(s string) int {
	best, run := 0, 0
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			run++
			best = max(best, run)
		} else {
			run = 0
		}
	}
	return best
}

// successor is the least string greater than every string with prefix p,
// in code point order (which COLLATE "C" on UTF-8 is): p with its last
// character incremented, dropping characters that are already the maximum.
func successor(p string) (string, bool) {
	for p != "" {
		r, size := utf8.DecodeLastRuneInString(p)
		p = p[:len(p)-size]
		for r++; r <= utf8.MaxRune; r++ {
			if utf8.ValidRune(r) { // skips the surrogate range
				return p + string(r), true
			}
		}
	}
	return "", false
}

// statusFilter handles stored statuses and the derived ones: "active" means
// active and not yet expired, "expired" active with NotAfter <= now.
func statusFilter(statuses []string, now time.Time) certFilter {
	var active, expired bool
	var stored []string
	for _, st := range statuses {
		switch st {
		case store.CertActive:
			active = true
		case store.CertExpired:
			expired = true
		default:
			stored = append(stored, st)
		}
	}
	var ors []string
	var args []any
	var expiry *[2]int64
	n := now.UnixMicro()
	switch {
	case active && expired:
		stored = append(stored, store.CertActive)
	case active:
		ors, args = append(ors, "(c.status = 'active' AND c.not_after > ?)"), append(args, now)
		expiry = &[2]int64{n + 1, math.MaxInt64}
	case expired:
		ors, args = append(ors, "(c.status = 'active' AND c.not_after <= ?)"), append(args, now)
		expiry = &[2]int64{math.MinInt64, n + 1}
	}
	if len(stored) == 1 {
		ors, args = append(ors, "c.status = ?"), append(args, stored[0])
	} else if len(stored) > 1 {
		ors, args = append(ors, "c.status = ANY(?)"), append(args, stored)
	}
	if len(ors) > 1 {
		return certFilter{cond: "(" + strings.Join(ors, " OR ") + ")", args: args}
	}
	return certFilter{cond: ors[0], args: args, expiry: expiry}
}

func expiryFilter(q store.CertificateQuery) certFilter {
	var conds []string
	var args []any
	expiry := [2]int64{math.MinInt64, math.MaxInt64}
	if q.ExpiresBefore != nil {
		expiry[1] = q.ExpiresBefore.UnixMicro()
		conds, args = append(conds, "c.not_after < ?"), append(args, *q.ExpiresBefore)
	}
	if q.ExpiresAfter != nil {
		expiry[0] = q.ExpiresAfter.UnixMicro()
		conds, args = append(conds, "c.not_after >= ?"), append(args, *q.ExpiresAfter)
	}
	return certFilter{cond: strings.Join(conds, " AND "), args: args, expiry: &expiry}
}

// SearchCertificates runs an inventory query with keyset pagination: a page
// costs the same however deep it is. The total and the page come from one
// snapshot, so they agree.
func (r reader) SearchCertificates(ctx context.Context, q store.CertificateQuery) (*store.CertificatePage, error) {
	if q.Now.IsZero() {
		q.Now = r.now()
	}
	srt, err := parseSort(q.Sort)
	if err != nil {
		return nil, err
	}
	var cur *certCursor
	if q.Cursor != "" {
		if cur, err = decodeCertCursor(q.Cursor, srt); err != nil {
			return nil, err
		}
	}
	snap, done, err := r.snapshot(ctx, q.WithTotal)
	if err != nil {
		return nil, mapErr(err, "search certificates")
	}
	defer done()
	filters := certFilters(q, r.trigram)
	page := &store.CertificatePage{Total: -1}
	if q.WithTotal {
		if page.Total, err = r.countCertificates(ctx, snap, q, filters); err != nil {
			return nil, mapErr(err, "count certificates")
		}
	}
	p, err := r.plan(ctx, snap, filters, srt)
	if err != nil {
		return nil, mapErr(err, "plan certificate search")
	}
	limit := pageLimit(q.Limit)
	sql, args := p.pageSQL(cur, limit+1)
	items, err := queryMany(ctx, snap, scanCertificate, sql, append([]any{planPerQuery}, args...)...)
	if err != nil {
		return nil, mapErr(err, "search certificates")
	}
	if len(items) > limit {
		items = items[:limit]
		page.NextCursor = encodeCertCursor(srt, &items[limit-1])
	}
	page.Items = items
	return page, nil
}

// whereOf joins filters (and extra conditions) into a WHERE clause.
func whereOf(filters []certFilter, extra ...certFilter) where {
	var w where
	for _, f := range slices.Concat(filters, extra) {
		w.add(f.cond, f.args...)
	}
	return w
}

// countCertificates counts every match of q: from the stats when the
// filters allow (outside update functions), else from the rows.
func (r reader) countCertificates(ctx context.Context, q querier, cq store.CertificateQuery, filters []certFilter) (int64, error) {
	if !r.inBatch() {
		if n, ok, err := statsCount(ctx, q, cq); ok || err != nil {
			return n, err
		}
		if n, ok, err := expiringCount(ctx, q, cq); ok || err != nil {
			return n, err
		}
	}
	w := whereOf(filters)
	cond, args := w.sql()
	var n int64
	err := queryOne(ctx, q, func(s scanner) error { return s.Scan(&n) },
		`SELECT count(*) FROM certificates c`+cond, append([]any{planPerQuery}, args...)...)
	return n, err
}
