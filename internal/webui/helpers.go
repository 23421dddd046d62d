package webui

import (
	"context"
	"fmt"
	"html/template"
	"net/url"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/issuance"
	"github.com/signet-pki/signet/internal/store"
)

// funcs are the template helpers.
func funcs(now func() time.Time) template.FuncMap {
	return template.FuncMap{
		"date": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format("2006-01-02")
		},
		"datetime": func(t any) string {
			switch v := t.(type) {
			case time.Time:
				if v.IsZero() {
					return ""
				}
				return v.UTC().Format("2006-01-02 15:04:05 UTC")
			case *time.Time:
				if v == nil {
					return ""
				}
				return v.UTC().Format("2006-01-02 15:04:05 UTC")
			}
			return ""
		},
		"daysLeft":   func(t time.Time) int { return int(t.Sub(now()).Hours() / 24) },
		"certStatus": func(c *store.Certificate) string { return certStatus(c, now()) },
		"reason":     issuance.ReasonName,
		"join":       strings.Join,
		"iso":        func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"hexColons": func(s string) string {
			var b strings.Builder
			for i := 0; i < len(s); i += 2 {
				if i > 0 {
					b.WriteByte(':')
				}
				b.WriteString(strings.ToUpper(s[i:min(i+2, len(s))]))
			}
			return b.String()
		},
		"short": func(s string, n int) string {
			if len(s) > n {
				return s[:n] + "…"
			}
			return s
		},
		"add":  func(a, b int) int { return a + b },
		"pair": func(a, b any) []any { return []any{a, b} },
		"asked": func(r any) requested {
			switch v := r.(type) {
			case store.Request:
				return describeRequest(&v)
			case *store.Request:
				return describeRequest(v)
			}
			return requested{}
		},
		"has": func(list []string, v string) bool {
			for _, x := range list {
				if x == v {
					return true
				}
			}
			return false
		},
		"statusLabel": statusLabel,
		"fieldErrors": func(errs map[string][]string, field string) []string { return errs[field] },
	}
}

// statusLabel is how a request status reads on a page: the API's names,
// except the one that would puzzle a person.
func statusLabel(status string) string {
	if status == store.RequestPendingUpstream {
		return "waiting for the external CA"
	}
	return status
}

// certStatus is a certificate's status with "expired" derived from its dates.
func certStatus(c *store.Certificate, now time.Time) string {
	if c.Status == store.CertActive && !now.Before(c.NotAfter) {
		return store.CertExpired
	}
	return c.Status
}

// withQuery returns path with the values encoded, dropping empty ones.
func withQuery(path string, v url.Values) string {
	clean := url.Values{}
	for k, vs := range v {
		for _, s := range vs {
			if s != "" {
				clean.Add(k, s)
			}
		}
	}
	if len(clean) == 0 {
		return path
	}
	return path + "?" + clean.Encode()
}

// formatCount prints large counts with thousands separators.
func formatCount(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return s
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// maxNameLookups bounds the owner and requester names one page resolves.
const maxNameLookups = 100

// names resolves principal and team ids to their names for display, as far
// as the caller may read them; an id it may not read stays an id.
func (u *UI) names(ctx context.Context, ids ...string) map[string]string {
	out := map[string]string{}
	for _, id := range ids {
		if _, done := out[id]; done || len(out) >= maxNameLookups {
			continue
		}
		out[id] = id
		switch {
		case strings.HasPrefix(id, "usr_"), strings.HasPrefix(id, "svc_"):
			if p, err := u.d.Directory.Principal(ctx, id); err == nil {
				out[id] = p.Name
			}
		case strings.HasPrefix(id, "team_"):
			if t, err := u.d.Directory.Team(ctx, id); err == nil {
				out[id] = "team " + t.Name
			}
		}
	}
	return out
}
