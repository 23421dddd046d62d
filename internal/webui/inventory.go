package webui

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/certutil"
	"github.com/signet-pki/signet/internal/inventory"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// Inventory page sizes.
const (
	defaultPageSize = 50
	maxPageSize     = 500
	maxCSVRows      = 100_000
)

// filters are the inventory's URL parameters, kept as typed so the form
// can be filled back in and links can carry them.
type filters struct {
	Q, CA, Profile, Owner, Source, Sort, Cursor string
	Status                                      []string
	Expiring                                    string // days
	ExpiresAfter, ExpiresBefore                 string // YYYY-MM-DD
	Limit                                       int
}

func parseFilters(v url.Values) filters {
	f := filters{Q: strings.TrimSpace(v.Get("q")), CA: v.Get("ca"), Profile: v.Get("profile"), Owner: strings.TrimSpace(v.Get("owner")),
		Source: v.Get("source"), Sort: v.Get("sort"), Cursor: v.Get("cursor"), Expiring: v.Get("expiring"),
		ExpiresAfter: v.Get("expires_after"), ExpiresBefore: v.Get("expires_before"), Limit: defaultPageSize}
	for _, s := range v["status"] {
		if s != "" {
			f.Status = append(f.Status, s)
		}
	}
	if n, err := strconv.Atoi(v.Get("limit")); err == nil && n > 0 {
		f.Limit = min(n, maxPageSize)
	}
	return f
}

// values encodes the filters (without the cursor unless asked) for links.
func (f filters) values(withCursor bool) url.Values {
	v := url.Values{"q": {f.Q}, "ca": {f.CA}, "profile": {f.Profile}, "owner": {f.Owner}, "source": {f.Source},
		"sort": {f.Sort}, "expiring": {f.Expiring}, "expires_after": {f.ExpiresAfter}, "expires_before": {f.ExpiresBefore},
		"status": f.Status}
	if f.Limit != defaultPageSize {
		v.Set("limit", strconv.Itoa(f.Limit))
	}
	if withCursor {
		v.Set("cursor", f.Cursor)
	}
	return v
}

// query turns the filters into the inventory service's query; bad dates
// and numbers are violations named by their field, like the service's own.
func (f filters) query(now time.Time) (store.CertificateQuery, error) {
	q := store.CertificateQuery{Statuses: f.Status, CAID: f.CA, ProfileID: f.Profile, Owner: f.Owner, Source: f.Source,
		Sort: f.Sort, Cursor: f.Cursor, Limit: f.Limit}
	var vs []problem.Violation
	if f.Q != "" {
		// A long hex string is a serial; anything else searches names.
		if canon, err := certutil.NormalizeSerial(f.Q); err == nil && len(strings.Trim(f.Q, ":")) >= 16 && isHexSerial(f.Q) {
			q.Serial = canon
		} else {
			q.Contains = f.Q
		}
	}
	if f.Expiring != "" {
		days, err := strconv.Atoi(f.Expiring)
		if err != nil || days < 0 || days > 36500 {
			vs = append(vs, problem.Violation{Field: "expiring", Code: "invalid", Message: "expiring within must be a number of days"})
		} else {
			before := now.AddDate(0, 0, days)
			q.ExpiresBefore = &before
			if f.ExpiresAfter == "" {
				q.ExpiresAfter = &now
			}
		}
	}
	for _, d := range []struct {
		field, val string
		dst        **time.Time
	}{{"expires_after", f.ExpiresAfter, &q.ExpiresAfter}, {"expires_before", f.ExpiresBefore, &q.ExpiresBefore}} {
		if d.val == "" {
			continue
		}
		t, err := time.Parse("2006-01-02", d.val)
		if err != nil {
			vs = append(vs, problem.Violation{Field: d.field, Code: "invalid", Message: "dates are YYYY-MM-DD"})
			continue
		}
		*d.dst = &t
	}
	if len(vs) > 0 {
		return q, problem.Violations("query_invalid", "the filters are invalid", vs)
	}
	return q, nil
}

func isHexSerial(s string) bool {
	for _, c := range strings.ReplaceAll(s, ":", "") {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

type inventoryView struct {
	F          filters
	Items      []store.Certificate
	CAs        map[string]string // id -> name
	Profiles   map[string]string
	CAList     []option
	ProfList   []option
	Next       string
	First      string
	CSV        string
	Names      map[string]string // owner id -> name
	SortLinks  map[string]string
	Statuses   []string
	Sources    []string
	Violations []problem.Violation
}

type option struct{ Value, Label string }

func (u *UI) inventory(w http.ResponseWriter, r *http.Request) error {
	v, err := u.inventoryPage(r)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if len(v.Violations) > 0 {
		status = http.StatusBadRequest
	}
	return u.render(w, r, status, "inventory", "Certificates", v)
}

// inventoryPage runs the view's query and builds everything the page shows.
func (u *UI) inventoryPage(r *http.Request) (*inventoryView, error) {
	f := parseFilters(r.URL.Query())
	v := &inventoryView{F: f, Statuses: []string{store.CertActive, store.CertExpired, store.CertOnHold, store.CertRevoked},
		Sources: []string{store.SourceIssued, store.SourceImported, store.SourceDiscovered}}
	var err error
	if v.CAs, v.CAList, err = u.caNames(r); err != nil {
		return nil, err
	}
	if v.Profiles, v.ProfList, err = u.profileNames(r); err != nil {
		return nil, err
	}
	q, err := f.query(u.d.Now())
	if err == nil {
		q.Owner, err = u.ownerID(r.Context(), f.Owner)
	}
	if err == nil {
		var page *store.CertificatePage
		page, err = u.d.Inventory.Search(r.Context(), q)
		if err == nil {
			v.Items = page.Items
			owners := make([]string, 0, len(page.Items))
			for i := range page.Items {
				owners = append(owners, page.Items[i].Owner)
			}
			v.Names = u.names(r.Context(), owners...)
			if page.NextCursor != "" {
				next := f
				next.Cursor = page.NextCursor
				v.Next = withQuery(Prefix+"certificates", next.values(true))
			}
		}
	}
	if pe := problem.As(err); pe != nil && pe.Kind == problem.KindInvalid {
		v.Violations = pe.Violations
		if len(v.Violations) == 0 {
			v.Violations = []problem.Violation{{Field: "", Code: pe.Code, Message: pe.Message}}
		}
	} else if err != nil {
		return nil, err
	}
	if f.Cursor != "" {
		v.First = withQuery(Prefix+"certificates", f.values(false))
	}
	v.CSV = withQuery(Prefix+"certificates.csv", f.values(false))
	v.SortLinks = map[string]string{}
	for _, col := range []string{"common_name", "not_after", "created_at"} {
		s := f
		s.Cursor = ""
		s.Sort = col
		if f.Sort == col {
			s.Sort = "-" + col
		}
		v.SortLinks[col] = withQuery(Prefix+"certificates", s.values(false))
	}
	return v, nil
}

// ownerID resolves the owner filter: an id is used as it is, a name is
// looked up as a user or service account, then as a team of the caller's
// organization (people type names; the inventory stores ids).
func (u *UI) ownerID(ctx context.Context, owner string) (string, error) {
	if owner == "" || strings.HasPrefix(owner, "usr_") || strings.HasPrefix(owner, "svc_") || strings.HasPrefix(owner, "team_") {
		return owner, nil
	}
	if p, err := u.d.Directory.Principal(ctx, owner); err == nil {
		return p.ID, nil
	}
	if t, err := u.d.Directory.Team(ctx, owner); err == nil {
		return t.ID, nil
	}
	return "", problem.Violations("query_invalid", "the filters are invalid", []problem.Violation{{Field: "owner", Code: "unknown",
		Message: fmt.Sprintf("there is no user, service account or team %q that you can see", owner)}})
}

func (u *UI) caNames(r *http.Request) (map[string]string, []option, error) {
	cas, _, err := u.d.CAs.List(r.Context(), store.ListQuery{Limit: 1000})
	if err != nil {
		return nil, nil, err
	}
	names := make(map[string]string, len(cas))
	opts := make([]option, 0, len(cas))
	for _, c := range cas {
		names[c.ID] = c.Name
		opts = append(opts, option{c.ID, c.Name})
	}
	return names, opts, nil
}

func (u *UI) profileNames(r *http.Request) (map[string]string, []option, error) {
	ps, _, err := u.d.Profiles.ListProfiles(r.Context(), store.ListQuery{Limit: 1000})
	if err != nil {
		return nil, nil, err
	}
	names := make(map[string]string, len(ps))
	opts := make([]option, 0, len(ps))
	for _, p := range ps {
		names[p.ID] = p.Name
		opts = append(opts, option{p.ID, p.Name})
	}
	return names, opts, nil
}

// inventoryCSV exports every certificate of the current view (all pages,
// up to maxCSVRows) with the inventory's CSV report encoder.
func (u *UI) inventoryCSV(w http.ResponseWriter, r *http.Request) error {
	f := parseFilters(r.URL.Query())
	f.Cursor, f.Limit = "", inventory.MaxLimit
	q, err := f.query(u.d.Now())
	if err != nil {
		return err
	}
	if q.Owner, err = u.ownerID(r.Context(), f.Owner); err != nil {
		return err
	}
	cas, _, err := u.caNames(r)
	if err != nil {
		return err
	}
	profs, _, err := u.profileNames(r)
	if err != nil {
		return err
	}
	now := u.d.Now()
	rep := &inventory.Report{Columns: []string{"serial", "common_name", "sans", "status", "ca", "profile", "owner", "source",
		"key_type", "not_before", "not_after", "sha256"}}
	for len(rep.Rows) < maxCSVRows {
		page, err := u.d.Inventory.Search(r.Context(), q)
		if err != nil {
			return err
		}
		for i := range page.Items {
			c := &page.Items[i]
			rep.Rows = append(rep.Rows, []string{c.Serial, c.CommonName, strings.Join(c.SANs, " "), certStatus(c, now),
				cas[c.CAID], profs[c.ProfileID], c.Owner, c.Source, c.KeyType, c.NotBefore.UTC().Format(time.RFC3339),
				c.NotAfter.UTC().Format(time.RFC3339), c.SHA256})
		}
		if page.NextCursor == "" {
			break
		}
		q.Cursor = page.NextCursor
	}
	body, ct, err := inventory.Render(rep, "csv")
	if err != nil {
		return fmt.Errorf("encode CSV: %w", err)
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", `attachment; filename="certificates.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(body)
	return nil
}
