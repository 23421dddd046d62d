package sqlite

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/signet-pki/signet/internal/store"
)

// certFilter is one condition of an inventory search, in the forms the
// plans in plan.go need.
type certFilter struct {
	// row tests one row of certificates c. It uses the columns the sort
	// indexes carry where it can, so a walk tests it without a table lookup.
	row     string
	rowArgs []any
	// set finds the matching rows through an index of their own: the form
	// used when this filter drives the plan, and for counting.
	set     string
	setArgs []any
	// index is what a plan driven by this filter reads certificates by;
	// "" reads them by rowid (set is a list or subquery of ids).
	index string
	// probe lists matches (one row each) to estimate how many there are;
	// "" means the filter cannot drive a plan. probeIDs: its rows are the
	// matching ids, worth keeping (see useIDs).
	probe     string
	probeArgs []any
	probeIDs  bool
	// expiry, when set, is the NotAfter range [lo, hi) the filter implies:
	// such filters can be answered from certificates_by_expiry alone.
	expiry *[2]int64
	// total counts the filter's matches when it is the only filter ("" =
	// count through set).
	total     string
	totalArgs []any
}

func sameFilter(cond string, args ...any) certFilter {
	return certFilter{row: cond, rowArgs: args, set: cond, setArgs: args}
}

// certFilters translates every filter of q, most selective kinds first: the
// planner probes in this order and stops at the first that matches few rows.
func certFilters(q store.CertificateQuery, now int64) []certFilter {
	var fs []certFilter
	for _, f := range []struct{ col, index, val string }{
		{"serial", "certificates_serial", q.Serial}, {"sha256", "certificates_sha256", q.SHA256},
	} {
		if f.val != "" {
			fs = append(fs, indexedEquality(f.col, f.index, f.val))
		}
	}
	if q.Name != "" {
		fs = append(fs, nameFilter(strings.ToLower(q.Name)))
	}
	if q.NamePrefix != "" {
		fs = append(fs, prefixFilter(strings.ToLower(q.NamePrefix)))
	}
	if q.Contains != "" {
		fs = append(fs, containsFilter(strings.ToLower(q.Contains)))
	}
	for _, f := range []struct{ col, index, val string }{
		{"owner", "certificates_owner", q.Owner}, {"ca_id", "certificates_ca", q.CAID},
		{"profile_id", "certificates_profile", q.ProfileID}, {"org_id", "certificates_org", q.OrgID},
	} {
		if f.val != "" {
			fs = append(fs, indexedEquality(f.col, f.index, f.val))
		}
	}
	if len(q.Statuses) > 0 {
		fs = append(fs, statusFilter(q.Statuses, now))
	}
	if q.ExpiresBefore != nil || q.ExpiresAfter != nil {
		fs = append(fs, expiryFilter(q))
	}
	if q.Source != "" {
		fs = append(fs, sameFilter("c.source = ?", q.Source))
	}
	fs = append(fs, attributeFilters("labels", q.Labels)...)
	fs = append(fs, attributeFilters("custom_fields", q.CustomFields)...)
	return fs
}

// attributeFilters match keys of a JSON map column exactly. They test rows
// only (no index): labels narrow a search that other filters drive.
func attributeFilters(col string, want map[string]string) []certFilter {
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	slices.Sort(keys) // deterministic SQL, so statements are reused
	fs := make([]certFilter, 0, len(keys))
	for _, k := range keys {
		path, _ := json.Marshal(k)
		fs = append(fs, sameFilter("json_extract(c."+col+", ?) = ?", "$."+string(path), want[k]))
	}
	return fs
}

func indexedEquality(col, index, val string) certFilter {
	f := sameFilter("c."+col+" = ?", val)
	f.index = index
	f.probe, f.probeArgs = "SELECT 1 FROM certificates INDEXED BY "+index+" WHERE "+col+" = ?", f.rowArgs
	return f
}

// Name filters test rows against c.names (the lower-cased names joined by
// newlines) and find rows through certificate_names.

func nameFilter(name string) certFilter {
	return certFilter{
		row: "instr(char(10) || c.names || char(10), ?) > 0", rowArgs: []any{nameSeparator + name + nameSeparator},
		set: "c.int_id IN (SELECT cert_id FROM certificate_names WHERE name = ?)", setArgs: []any{name},
		probe: "SELECT 1 FROM certificate_names WHERE name = ?", probeArgs: []any{name},
	}
}

// prefixFilter: every name with the prefix sorts in [prefix, prefix+0xFF):
// no UTF-8 byte is 0xFF, so that range is exactly the prefix match.
func prefixFilter(prefix string) certFilter {
	return certFilter{
		row: "instr(char(10) || c.names, ?) > 0", rowArgs: []any{nameSeparator + prefix},
		set: "c.int_id IN (SELECT cert_id FROM certificate_names WHERE name >= ? AND name < ?)", setArgs: []any{prefix, prefix + "\xff"},
		probe: "SELECT 1 FROM certificate_names WHERE name >= ? AND name < ?", probeArgs: []any{prefix, prefix + "\xff"},
	}
}

// containsFilter finds a substring of any name. From three characters on the
// trigram index finds the matches; shorter strings, which no trigram index
// can serve, are only tested row by row.
func containsFilter(s string) certFilter {
	if strings.Contains(s, nameSeparator) {
		return sameFilter("0") // names are stored newline-joined: no single name holds one
	}
	f := certFilter{row: "instr(c.names, ?) > 0", rowArgs: []any{s}}
	if utf8.RuneCountInString(s) < 3 {
		f.set, f.setArgs = f.row, f.rowArgs
		return f
	}
	phrase := []any{`"` + strings.ReplaceAll(s, `"`, `""`) + `"`}
	f.set, f.setArgs = "c.int_id IN (SELECT rowid FROM certificate_names_fts WHERE certificate_names_fts MATCH ?)", phrase
	f.probe, f.probeArgs, f.probeIDs = "SELECT rowid FROM certificate_names_fts WHERE certificate_names_fts MATCH ?", phrase, true
	// Every indexed document is a stored certificate (none are deleted).
	f.total, f.totalArgs = "SELECT count(*) FROM certificate_names_fts WHERE certificate_names_fts MATCH ?", phrase
	return f
}

// useIDs makes a probed contains filter drive by the ids it found.
func (f *certFilter) useIDs(ids []int64) {
	b, _ := json.Marshal(ids) // a slice of ints always encodes
	f.set, f.setArgs = "c.int_id IN (SELECT value FROM json_each(?))", []any{string(b)}
}

// statusFilter handles stored statuses and the derived ones: "active" means
// active and not yet expired, "expired" active with NotAfter <= now. A
// single status can drive a plan through (status, not_after).
func statusFilter(statuses []string, now int64) certFilter {
	var active, expired bool
	var stored []any
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
	switch {
	case active && expired:
		stored = append(stored, store.CertActive)
	case active:
		ors, args = append(ors, "(c.status = 'active' AND c.not_after > ?)"), append(args, now)
		expiry = &[2]int64{now + 1, math.MaxInt64}
	case expired:
		ors, args = append(ors, "(c.status = 'active' AND c.not_after <= ?)"), append(args, now)
		expiry = &[2]int64{math.MinInt64, now + 1}
	}
	if len(stored) > 0 {
		ors = append(ors, "c.status IN (?"+strings.Repeat(", ?", len(stored)-1)+")")
		args = append(args, stored...)
	}
	if len(ors) > 1 {
		return sameFilter("("+strings.Join(ors, " OR ")+")", args...)
	}
	f := sameFilter(ors[0], args...)
	f.index, f.expiry = "certificates_status_expiry", expiry
	f.probe, f.probeArgs = "SELECT 1 FROM certificates c INDEXED BY certificates_status_expiry WHERE "+ors[0], args
	return f
}

func expiryFilter(q store.CertificateQuery) certFilter {
	var conds []string
	var args []any
	expiry := [2]int64{math.MinInt64, math.MaxInt64}
	if q.ExpiresBefore != nil {
		expiry[1] = toDB(*q.ExpiresBefore)
		conds, args = append(conds, "c.not_after < ?"), append(args, expiry[1])
	}
	if q.ExpiresAfter != nil {
		expiry[0] = toDB(*q.ExpiresAfter)
		conds, args = append(conds, "c.not_after >= ?"), append(args, expiry[0])
	}
	cond := strings.Join(conds, " AND ")
	f := sameFilter(cond, args...)
	f.index, f.expiry = "certificates_by_expiry", &expiry
	f.probe, f.probeArgs = "SELECT 1 FROM certificates c INDEXED BY certificates_by_expiry WHERE "+cond, args
	return f
}

// certSort is a validated sort order.
type certSort struct {
	name  string // as in CertificateQuery.Sort, e.g. "-not_after"
	col   string // the column sorted on
	index string // the index that walks certificates in this order
	desc  bool
	text  bool // the key is text (common name), else an integer time
}

func parseSort(s string) (certSort, error) {
	if s == "" {
		s = "-created_at"
	}
	srt := certSort{name: s, desc: strings.HasPrefix(s, "-")}
	switch strings.TrimPrefix(s, "-") {
	case "not_after":
		srt.col, srt.index = "c.not_after", "certificates_by_expiry"
	case "created_at":
		srt.col, srt.index = "c.created_at", "certificates_by_created"
	case "common_name":
		srt.col, srt.index, srt.text = "c.cn_lower", "certificates_by_cn", true
	default:
		return srt, fmt.Errorf("unknown sort %q", s)
	}
	return srt, nil
}

func (s certSort) orderBy() string {
	dir := " ASC"
	if s.desc {
		dir = " DESC"
	}
	return " ORDER BY " + s.col + dir + ", c.int_id" + dir
}

// after is the condition for rows past the cursor: one row-value comparison
// that the sort index, ordered by (sort key, int_id), seeks to directly.
func (s certSort) after(cur *certCursor) (string, []any) {
	op := ">"
	if s.desc {
		op = "<"
	}
	var key any = cur.Int
	if s.text {
		key = cur.Str
	}
	return "(" + s.col + ", c.int_id) " + op + " (?, ?)", []any{key, cur.ID}
}

// SearchCertificates runs an inventory query with keyset pagination: a page
// costs the same however deep it is. The total and the page come from one
// read transaction, so they agree.
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
	p, err := planSearch(ctx, snap, q, srt, cmp.Or(r.probeLimit, defaultProbeLimit))
	if err != nil {
		return nil, mapErr(err, "plan certificate search")
	}
	page := &store.CertificatePage{Total: -1}
	if q.WithTotal {
		if page.Total, err = p.count(ctx, snap, q); err != nil {
			return nil, mapErr(err, "count certificates")
		}
	}
	limit := pageLimit(q.Limit)
	query, args := p.pageSQL(cur, limit+1)
	items, err := queryMany(ctx, snap, scanCertificate, query, args...)
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
