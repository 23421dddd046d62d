package inventory

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// Report kinds.
var ReportKinds = []string{"expiring", "breakdown", "weak", "revocations", "volume"}

// ReportRequest selects a report.
type ReportRequest struct {
	Kind  string
	Org   string // global callers: one organization ("" = all)
	Days  int    // expiring: window (default 30); revocations and volume: how far back (default 90)
	Now   time.Time
	Limit int // rows listed (default 10,000); counts always cover everything
}

// Report is a table plus the figures it sums up.
type Report struct {
	Kind        string            `json:"kind"`
	Title       string            `json:"title"`
	GeneratedAt time.Time         `json:"generated_at"`
	OrgID       string            `json:"org_id,omitempty"`
	Totals      map[string]int64  `json:"totals"`
	Columns     []string          `json:"columns"`
	Rows        [][]string        `json:"rows"`
	Truncated   bool              `json:"truncated,omitempty"`
	Params      map[string]string `json:"params,omitempty"`
}

// Report walks the caller's inventory once and builds the report.
func (s *Service) Report(ctx context.Context, req ReportRequest) (*Report, error) {
	p, err := auth.Require(ctx, auth.PermCertRead)
	if err != nil {
		return nil, err
	}
	orgID, err := auth.ScopeOrg(ctx, s.store, p, req.Org)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(ReportKinds, req.Kind) {
		return nil, problem.NotFound("report_unknown", "no report %q (want one of %v)", req.Kind, ReportKinds)
	}
	if req.Days < 0 || req.Days > 3650 {
		return nil, problem.Invalid("days_invalid", "days must be between 1 and 3650")
	}
	if req.Now.IsZero() {
		req.Now = s.now()
	}
	if req.Limit <= 0 {
		req.Limit = 10_000
	}
	b := newBuilder(req, orgID)
	q := store.CertificateQuery{OrgID: orgID, Sort: "created_at", Limit: MaxLimit, Now: req.Now}
	for {
		page, err := s.store.SearchCertificates(ctx, q)
		if err != nil {
			return nil, err
		}
		for i := range page.Items {
			b.add(&page.Items[i])
		}
		if page.NextCursor == "" {
			break
		}
		q.Cursor = page.NextCursor
	}
	return b.finish(), nil
}

type builder struct {
	req    ReportRequest
	r      *Report
	counts map[string]map[string]int64 // breakdown: dimension -> value -> count
	days   map[string]int64            // volume: day -> issued
}

func newBuilder(req ReportRequest, orgID string) *builder {
	r := &Report{Kind: req.Kind, GeneratedAt: req.Now.UTC(), OrgID: orgID, Totals: map[string]int64{}, Rows: [][]string{},
		Params: map[string]string{}}
	days := req.Days
	switch req.Kind {
	case "expiring":
		if days == 0 {
			days = 30
		}
		r.Title = fmt.Sprintf("Certificates expiring within %d days", days)
		r.Columns = []string{"serial", "common_name", "owner", "ca_id", "profile_id", "not_after", "days_left"}
	case "breakdown":
		r.Title = "Certificates by CA, profile, owner, key type and status"
		r.Columns = []string{"dimension", "value", "count"}
	case "weak":
		r.Title = "Weak keys and signature algorithms"
		r.Columns = []string{"serial", "common_name", "owner", "source", "problem", "not_after"}
	case "revocations":
		if days == 0 {
			days = 90
		}
		r.Title = fmt.Sprintf("Revocations and suspensions in the last %d days", days)
		r.Columns = []string{"serial", "common_name", "owner", "status", "reason", "revoked_at"}
	case "volume":
		if days == 0 {
			days = 90
		}
		r.Title = fmt.Sprintf("Certificates added per day, last %d days", days)
		r.Columns = []string{"day", "issued", "imported", "discovered"}
	}
	req.Days = days
	r.Params["days"] = strconv.Itoa(days)
	return &builder{req: req, r: r, counts: map[string]map[string]int64{}, days: map[string]int64{}}
}

func (b *builder) row(cells ...string) {
	if len(b.r.Rows) >= b.req.Limit {
		b.r.Truncated = true
		return
	}
	b.r.Rows = append(b.r.Rows, cells)
}

func status(c *store.Certificate, now time.Time) string {
	if c.Status == store.CertActive && !now.Before(c.NotAfter) {
		return store.CertExpired
	}
	return c.Status
}

func (b *builder) add(c *store.Certificate) {
	now, r := b.req.Now, b.r
	r.Totals["certificates"]++
	st := status(c, now)
	switch b.req.Kind {
	case "expiring":
		if st == store.CertActive && c.NotAfter.Before(now.AddDate(0, 0, b.req.Days)) {
			r.Totals["expiring"]++
			b.row(c.Serial, c.CommonName, c.Owner, c.CAID, c.ProfileID, c.NotAfter.UTC().Format(time.RFC3339),
				strconv.Itoa(int(c.NotAfter.Sub(now).Hours()/24)))
		}
	case "breakdown":
		for dim, v := range map[string]string{"ca": c.CAID, "profile": c.ProfileID, "owner": c.Owner, "key_type": c.KeyType, "status": st} {
			if b.counts[dim] == nil {
				b.counts[dim] = map[string]int64{}
			}
			b.counts[dim][v]++
		}
	case "weak":
		for _, problem := range weaknesses(c) {
			r.Totals["weak"]++
			b.row(c.Serial, c.CommonName, c.Owner, c.Source, problem, c.NotAfter.UTC().Format(time.RFC3339))
		}
	case "revocations":
		if (st == store.CertRevoked || st == store.CertOnHold) && c.RevokedAt != nil && c.RevokedAt.After(now.AddDate(0, 0, -b.req.Days)) {
			r.Totals[st]++
			b.row(c.Serial, c.CommonName, c.Owner, st, reasonName(c.RevocationReason), c.RevokedAt.UTC().Format(time.RFC3339))
		}
	case "volume":
		if c.CreatedAt.After(now.AddDate(0, 0, -b.req.Days)) {
			b.days[c.CreatedAt.UTC().Format(time.DateOnly)+"|"+c.Source]++
			r.Totals[c.Source]++
		}
	}
}

func (b *builder) finish() *Report {
	switch b.req.Kind {
	case "breakdown":
		for _, dim := range []string{"status", "ca", "profile", "owner", "key_type"} {
			values := b.counts[dim]
			keys := make([]string, 0, len(values))
			for k := range values {
				keys = append(keys, k)
			}
			slices.SortFunc(keys, func(x, y string) int { return int(values[y] - values[x]) })
			for _, k := range keys {
				b.row(dim, k, strconv.FormatInt(values[k], 10))
			}
		}
	case "volume":
		for d := b.req.Days - 1; d >= 0; d-- {
			day := b.req.Now.UTC().AddDate(0, 0, -d).Format(time.DateOnly)
			b.row(day, strconv.FormatInt(b.days[day+"|issued"], 10), strconv.FormatInt(b.days[day+"|imported"], 10),
				strconv.FormatInt(b.days[day+"|discovered"], 10))
		}
	}
	return b.r
}

// weaknesses lists what is weak about a certificate's key and signature.
func weaknesses(c *store.Certificate) []string {
	var out []string
	kt := c.KeyType
	if bits, ok := strings.CutPrefix(kt, "RSA-"); ok {
		if n, err := strconv.Atoi(bits); err == nil && n < 2048 {
			out = append(out, "RSA key of "+bits+" bits")
		}
	}
	if kt == "ECDSA-P224" {
		out = append(out, "ECDSA key on P-224")
	}
	if cert, err := x509.ParseCertificate(c.DER); err == nil {
		switch cert.SignatureAlgorithm {
		case x509.SHA1WithRSA, x509.ECDSAWithSHA1, x509.DSAWithSHA1, x509.MD5WithRSA, x509.MD2WithRSA:
			out = append(out, "signed with "+cert.SignatureAlgorithm.String())
		}
	}
	return out
}

func reasonName(r int) string {
	names := []string{"unspecified", "key_compromise", "ca_compromise", "affiliation_changed", "superseded",
		"cessation_of_operation", "certificate_hold", "", "remove_from_crl", "privilege_withdrawn", "aa_compromise"}
	if r >= 0 && r < len(names) {
		return names[r]
	}
	return strconv.Itoa(r)
}

// Render encodes a report as json, csv or html.
func Render(r *Report, format string) (body []byte, contentType string, err error) {
	switch format {
	case "", "json":
		b, err := json.MarshalIndent(r, "", "  ")
		return b, "application/json", err
	case "csv":
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		_ = w.Write(r.Columns)
		_ = w.WriteAll(r.Rows)
		return buf.Bytes(), "text/csv; charset=utf-8", w.Error()
	case "html":
		var buf bytes.Buffer
		err := reportPage.Execute(&buf, r)
		return buf.Bytes(), "text/html; charset=utf-8", err
	}
	return nil, "", problem.Invalid("format_invalid", "format must be json, csv or html")
}

var reportPage = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #999;padding:.3em .6em;text-align:left}th{background:#eee}@media print{body{margin:0}}</style>
</head><body><h1>{{.Title}}</h1>
<p>Generated {{.GeneratedAt.Format "2006-01-02 15:04 MST"}}{{if .OrgID}} for organization {{.OrgID}}{{end}}.
{{range $k, $v := .Totals}}{{$k}}: <strong>{{$v}}</strong>. {{end}}</p>
<table><thead><tr>{{range .Columns}}<th>{{.}}</th>{{end}}</tr></thead><tbody>
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</tbody></table>{{if .Truncated}}<p>The list is truncated; the totals cover everything.</p>{{end}}
</body></html>
`))

// ReportText renders a report of an organization as CSV, for scheduled
// mail (notify.Reporter). The caller in ctx must be allowed to read it.
func (s *Service) ReportText(ctx context.Context, kind, orgID string) (title, csvText string, err error) {
	r, err := s.Report(ctx, ReportRequest{Kind: kind, Org: orgID})
	if err != nil {
		return "", "", err
	}
	body, _, err := Render(r, "csv")
	return r.Title, string(body), err
}
