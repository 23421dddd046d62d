package storetest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

const day = 24 * time.Hour

// inventory inserts a varied set of certificates: every filter matches some
// and misses others, and sort keys tie often, so tie-breaking by int id and
// cursors inside a run of equal keys get exercised.
func inventory(t *testing.T, s store.Store) []store.Certificate {
	const n = 130
	words := []string{"Web", "api", "DB", "mail"}
	certs := make([]store.Certificate, n)
	for i := range certs {
		c := newCert(i)
		c.CAID = []string{"ca_a", "ca_b", "ca_c", ""}[i%4]
		c.ProfileID = []string{"prof_x", "prof_y", "prof_z"}[i%3]
		c.Owner = fmt.Sprintf("owner-%d", i%5)
		c.Source = store.SourceIssued
		switch {
		case i%11 == 0:
			c.Source = store.SourceDiscovered
		case i%7 == 0:
			c.Source = store.SourceImported
		}
		switch i % 10 {
		case 3:
			c.Status, c.RevocationReason, c.RevokedAt = store.CertRevoked, 1, ptr(at(-time.Hour))
		case 7:
			c.Status, c.RevocationReason, c.RevokedAt = store.CertOnHold, 6, ptr(at(-time.Hour))
		}
		// Runs of equal NotAfter, some past, one group exactly at t0 (expired).
		c.NotAfter = at(time.Duration(i%40-10) * 12 * time.Hour)
		if i%9 == 0 {
			c.NotAfter = at(time.Duration(i) * day)
		}
		c.CreatedAt = at(-time.Duration(i%30) * time.Minute)
		c.CommonName = fmt.Sprintf("%s-%d.Team-%d.example.com", words[i%4], i%20, i%6) // repeats every 60
		c.SANs = []string{strings.ToLower(c.CommonName)}
		if i%3 == 0 {
			c.SANs = append(c.SANs, fmt.Sprintf("alt-%d.example.org", i))
		}
		if i%5 == 0 {
			c.SANs = append(c.SANs, fmt.Sprintf("10.0.%d.1", i))
		}
		if i == 42 {
			c.SANs = nil
		}
		certs[i] = *c
	}
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		for i := range certs {
			if err := tx.InsertCertificate(ctx, &certs[i]); err != nil {
				return err
			}
		}
		return nil
	})
	return certs
}

// searchCase is a query and the reference predicate it must equal.
type searchCase struct {
	name  string
	q     store.CertificateQuery
	match func(c *store.Certificate) bool
}

func names(c *store.Certificate) []string {
	out := []string{strings.ToLower(c.CommonName)}
	for _, n := range c.SANs {
		out = append(out, strings.ToLower(n))
	}
	return out
}

func anyName(c *store.Certificate, f func(string) bool) bool { return slices.ContainsFunc(names(c), f) }

func isStatus(c *store.Certificate, st string) bool {
	switch st {
	case store.CertActive:
		return c.Status == store.CertActive && c.NotAfter.After(t0)
	case store.CertExpired:
		return c.Status == store.CertActive && !c.NotAfter.After(t0)
	}
	return c.Status == st
}

func statusCase(sts ...string) searchCase {
	return searchCase{"status " + strings.Join(sts, ","), store.CertificateQuery{Statuses: sts},
		func(c *store.Certificate) bool {
			return slices.ContainsFunc(sts, func(st string) bool { return isStatus(c, st) })
		}}
}

func searchCases(certs []store.Certificate) []searchCase {
	in5d, sample := at(5*day), certs[17]
	// Not on day boundaries, so that a total from day-by-day stats needs its
	// edges counted exactly: [in30h, in9d) holds partial days at both ends.
	in30h, in9d := at(30*time.Hour), at(9*day+5*time.Hour)
	contains := func(s string) func(*store.Certificate) bool {
		return func(c *store.Certificate) bool {
			return anyName(c, func(n string) bool { return strings.Contains(n, strings.ToLower(s)) })
		}
	}
	return []searchCase{
		{"everything", store.CertificateQuery{}, func(*store.Certificate) bool { return true }},
		statusCase(store.CertActive), statusCase(store.CertExpired), statusCase(store.CertRevoked),
		statusCase(store.CertOnHold), statusCase(store.CertActive, store.CertExpired),
		statusCase(store.CertRevoked, store.CertOnHold), statusCase(store.CertExpired, store.CertRevoked),
		statusCase(store.CertActive, store.CertOnHold),
		{"CA", store.CertificateQuery{CAID: "ca_b"}, func(c *store.Certificate) bool { return c.CAID == "ca_b" }},
		{"profile", store.CertificateQuery{ProfileID: "prof_z"}, func(c *store.Certificate) bool { return c.ProfileID == "prof_z" }},
		{"owner", store.CertificateQuery{Owner: "owner-3"}, func(c *store.Certificate) bool { return c.Owner == "owner-3" }},
		{"source", store.CertificateQuery{Source: store.SourceImported}, func(c *store.Certificate) bool { return c.Source == store.SourceImported }},
		{"serial", store.CertificateQuery{Serial: sample.Serial}, func(c *store.Certificate) bool { return c.Serial == sample.Serial }},
		{"sha256", store.CertificateQuery{SHA256: sample.SHA256}, func(c *store.Certificate) bool { return c.SHA256 == sample.SHA256 }},
		{"contains", store.CertificateQuery{Contains: "TEAM-3"}, contains("team-3")},
		{"contains across a dot", store.CertificateQuery{Contains: "1.team-1.ex"}, contains("1.team-1.ex")},
		{"contains in a SAN only", store.CertificateQuery{Contains: "xample.org"}, contains("xample.org")},
		{"contains two characters", store.CertificateQuery{Contains: "i-"}, contains("i-")},
		{"contains one character", store.CertificateQuery{Contains: "8"}, contains("8")},
		{"contains spanning two names", store.CertificateQuery{Contains: "com alt"}, contains("com alt")},
		{"contains nothing known", store.CertificateQuery{Contains: "zzz"}, contains("zzz")},
		{"exact name", store.CertificateQuery{Name: "API-5.team-5.EXAMPLE.com"},
			func(c *store.Certificate) bool {
				return anyName(c, func(n string) bool { return n == "api-5.team-5.example.com" })
			}},
		{"exact SAN", store.CertificateQuery{Name: "10.0.15.1"},
			func(c *store.Certificate) bool { return anyName(c, func(n string) bool { return n == "10.0.15.1" }) }},
		{"name prefix", store.CertificateQuery{NamePrefix: "WEB-1"},
			func(c *store.Certificate) bool {
				return anyName(c, func(n string) bool { return strings.HasPrefix(n, "web-1") })
			}},
		{"SAN prefix", store.CertificateQuery{NamePrefix: "alt-1"},
			func(c *store.Certificate) bool {
				return anyName(c, func(n string) bool { return strings.HasPrefix(n, "alt-1") })
			}},
		{"expires before", store.CertificateQuery{ExpiresBefore: &in5d}, func(c *store.Certificate) bool { return c.NotAfter.Before(in5d) }},
		{"expires after", store.CertificateQuery{ExpiresAfter: &in5d}, func(c *store.Certificate) bool { return !c.NotAfter.Before(in5d) }},
		{"expiring within 5 days", store.CertificateQuery{Statuses: []string{store.CertActive}, ExpiresBefore: &in5d},
			func(c *store.Certificate) bool { return isStatus(c, store.CertActive) && c.NotAfter.Before(in5d) }},
		{"active, expiring in a range", store.CertificateQuery{Statuses: []string{store.CertActive}, ExpiresAfter: &in30h, ExpiresBefore: &in9d},
			func(c *store.Certificate) bool {
				return isStatus(c, store.CertActive) && !c.NotAfter.Before(in30h) && c.NotAfter.Before(in9d)
			}},
		{"active, expiring in a past range", store.CertificateQuery{Statuses: []string{store.CertActive}, ExpiresBefore: &in30h,
			ExpiresAfter: ptr(at(-3 * day))}, func(c *store.Certificate) bool {
			return isStatus(c, store.CertActive) && c.NotAfter.Before(in30h)
		}},
		{"combined", store.CertificateQuery{CAID: "ca_a", Owner: "owner-2", Statuses: []string{store.CertActive, store.CertRevoked}, Contains: "example"},
			func(c *store.Certificate) bool {
				return c.CAID == "ca_a" && c.Owner == "owner-2" && (isStatus(c, store.CertActive) || isStatus(c, store.CertRevoked))
			}},
	}
}

// sortKey orders certificates as a sort name says, ties by int id.
func sortKey(sort string) func(a, b store.Certificate) int {
	desc := strings.HasPrefix(sort, "-")
	var key func(a, b store.Certificate) int
	switch strings.TrimPrefix(sort, "-") {
	case "not_after":
		key = func(a, b store.Certificate) int { return a.NotAfter.Compare(b.NotAfter) }
	case "common_name":
		key = func(a, b store.Certificate) int {
			return strings.Compare(strings.ToLower(a.CommonName), strings.ToLower(b.CommonName))
		}
	default:
		key = func(a, b store.Certificate) int { return a.CreatedAt.Compare(b.CreatedAt) }
	}
	return func(a, b store.Certificate) int {
		r := cmp.Or(key(a, b), cmp.Compare(a.IntID, b.IntID))
		if desc || sort == "" {
			return -r
		}
		return r
	}
}

func testSearch(t *testing.T, s store.Store) {
	certs := inventory(t, s)
	sorts := []string{"", "not_after", "-not_after", "created_at", "-created_at", "common_name", "-common_name"}
	for _, tc := range searchCases(certs) {
		var want []store.Certificate
		for i := range certs {
			if tc.match(&certs[i]) {
				want = append(want, certs[i])
			}
		}
		if tc.name != "contains nothing known" && tc.name != "contains spanning two names" && len(want) == 0 {
			t.Fatalf("%s: the fixture has no match; the case tests nothing", tc.name)
		}
		for _, sort := range sorts {
			sorted := slices.Clone(want)
			slices.SortFunc(sorted, sortKey(sort))
			for _, limit := range []int{7, 1000} {
				t.Run(fmt.Sprintf("%s/sort=%s/limit=%d", tc.name, sort, limit), func(t *testing.T) {
					q := tc.q
					q.Sort, q.Limit, q.Now, q.WithTotal = sort, limit, t0, true
					got := walkSearch(t, s, q, int64(len(sorted)))
					same(t, "serials", serials(got), serials(sorted))
				})
			}
		}
	}
	// Items come back whole.
	page, err := s.SearchCertificates(ctxT(t), store.CertificateQuery{Serial: certs[3].Serial, Now: t0})
	noErr(t, "SearchCertificates", err)
	if len(page.Items) != 1 || page.Total != -1 || page.NextCursor != "" {
		t.Fatalf("search by serial: %d items, total %d, cursor %q", len(page.Items), page.Total, page.NextCursor)
	}
	same(t, "searched certificate", page.Items[0], certs[3])
}

// walkSearch follows cursors to the end, checking page sizes and totals.
func walkSearch(t *testing.T, s store.Store, q store.CertificateQuery, wantTotal int64) []store.Certificate {
	t.Helper()
	var all []store.Certificate
	for pages := 0; ; pages++ {
		page, err := s.SearchCertificates(ctxT(t), q)
		noErr(t, "SearchCertificates", err)
		if page.Total != wantTotal {
			t.Errorf("page %d: total %d, want %d", pages, page.Total, wantTotal)
		}
		if len(page.Items) > q.Limit || (page.NextCursor != "" && len(page.Items) != q.Limit) {
			t.Fatalf("page %d: %d items with limit %d and cursor %q", pages, len(page.Items), q.Limit, page.NextCursor)
		}
		all = append(all, page.Items...)
		if page.NextCursor == "" || pages > 100 {
			return all
		}
		q.Cursor = page.NextCursor
	}
}

func serials(certs []store.Certificate) []string {
	return ids(certs, func(c store.Certificate) string { return c.Serial })
}

func testSearchCursorErrors(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	inventory(t, s)
	page, err := s.SearchCertificates(ctx, store.CertificateQuery{Sort: "not_after", Limit: 5, Now: t0})
	noErr(t, "SearchCertificates", err)
	if page.NextCursor == "" {
		t.Fatal("no next cursor")
	}
	for what, q := range map[string]store.CertificateQuery{
		"not base64":         {Cursor: "***"},
		"base64 of garbage":  {Cursor: "Z2FyYmFnZQ"},
		"from another sort":  {Sort: "-not_after", Cursor: page.NextCursor},
		"from the default":   {Cursor: page.NextCursor},
		"truncated":          {Sort: "not_after", Cursor: page.NextCursor[:len(page.NextCursor)/2]},
		"empty JSON object":  {Sort: "not_after", Cursor: "e30"},
		"list cursor format": {Sort: "not_after", Cursor: "aWQ6MTA"},
	} {
		q.Now = t0
		_, err := s.SearchCertificates(ctx, q)
		wantErr(t, "cursor "+what, err, store.ErrBadCursor)
	}
}

func testSummary(t *testing.T, s store.Store) {
	certs := inventory(t, s)
	checkSummary(t, s, certs)
	// Lifecycle changes move certificates between the counts.
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		for i := range certs {
			c := &certs[i]
			from := c.Status
			switch {
			case i%13 == 0 && c.Status == store.CertActive:
				c.Status, c.RevocationReason, c.RevokedAt = store.CertRevoked, 4, ptr(at(time.Hour))
			case i%10 == 7 && i%3 == 0: // some on-hold certificates resume
				c.Status, c.RevocationReason, c.RevokedAt = store.CertActive, 0, nil
			default:
				continue
			}
			if err := tx.UpdateCertificate(ctx, c, from); err != nil {
				return err
			}
		}
		return nil
	})
	checkSummary(t, s, certs)
}

func checkSummary(t *testing.T, s store.Store, certs []store.Certificate) {
	t.Helper()
	want := store.Summary{ByStatus: map[string]int64{store.CertActive: 0, store.CertExpired: 0, store.CertRevoked: 0, store.CertOnHold: 0},
		ByCA: map[string]int64{}}
	for i := range certs {
		c := &certs[i]
		want.Total++
		want.ByCA[c.CAID]++
		for _, st := range []string{store.CertActive, store.CertExpired, store.CertRevoked, store.CertOnHold} {
			if isStatus(c, st) {
				want.ByStatus[st]++
			}
		}
		if isStatus(c, store.CertActive) {
			for _, w := range []struct {
				days int
				n    *int64
			}{{7, &want.Expiring7}, {30, &want.Expiring30}, {90, &want.Expiring90}} {
				if c.NotAfter.Before(t0.AddDate(0, 0, w.days)) {
					*w.n++
				}
			}
		}
	}
	got, err := s.Summarize(ctxT(t), t0, "")
	noErr(t, "Summarize", err)
	same(t, "summary", got, &want)
	if want.Expiring7 == want.Expiring30 || want.Expiring30 == want.Expiring90 || want.ByStatus[store.CertExpired] == 0 {
		t.Errorf("fixture does not separate the windows: %+v", want)
	}
	// Totals of status and CA listings agree with the summary.
	for _, q := range []store.CertificateQuery{
		{}, {Statuses: []string{store.CertActive}}, {Statuses: []string{store.CertExpired}},
		{Statuses: []string{store.CertRevoked, store.CertOnHold}}, {Statuses: []string{store.CertActive, store.CertExpired}},
		{CAID: "ca_b"}, {CAID: "ca_b", Statuses: []string{store.CertRevoked}}, {CAID: "ca_c", Statuses: []string{store.CertExpired}},
	} {
		q.Now, q.WithTotal, q.Limit = t0, true, 1
		page, err := s.SearchCertificates(ctxT(t), q)
		noErr(t, "SearchCertificates", err)
		var n int64
		for i := range certs {
			c := &certs[i]
			if (q.CAID == "" || c.CAID == q.CAID) &&
				(len(q.Statuses) == 0 || slices.ContainsFunc(q.Statuses, func(st string) bool { return isStatus(c, st) })) {
				n++
			}
		}
		if page.Total != n {
			t.Errorf("total of %v/%q = %d, want %d", q.Statuses, q.CAID, page.Total, n)
		}
	}
}
