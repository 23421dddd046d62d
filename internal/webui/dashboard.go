package webui

import (
	"context"
	"errors"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// timelineWeeks is how far ahead the expiry timeline looks.
const timelineWeeks = 13

// bar is one column of a server-rendered SVG chart.
type bar struct {
	Label string // axis label
	Title string // tooltip and accessible name
	Count int64
	Href  string // where a click goes ("" = not a link)
}

type dashboardView struct {
	Total      string
	ByStatus   []statusCount
	Expiring   []windowCount
	Timeline   template.HTML
	PerDay     template.HTML
	PerDayNote string
	Pending    []store.Request
	Names      map[string]string // requester ids -> names
	CanApprove bool
	Events     []store.AuditEvent
	CanAudit   bool
}

type statusCount struct {
	Status string
	Label  string
	Count  string
	Href   string
}

var statusLabels = map[string]string{store.CertActive: "Active", store.CertExpired: "Expired", store.CertOnHold: "On hold",
	store.CertRevoked: "Revoked"}

type windowCount struct {
	Days  int
	Count string
	Href  string
}

func (u *UI) dashboard(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p := principal(ctx)
	sum, err := u.d.Inventory.Summary(ctx, "")
	if err != nil {
		return err
	}
	v := dashboardView{Total: formatCount(sum.Total), CanApprove: p.Allows(auth.PermApprove), CanAudit: p.Allows(auth.PermAuditRead)}
	for _, st := range []string{store.CertActive, store.CertExpired, store.CertOnHold, store.CertRevoked} {
		v.ByStatus = append(v.ByStatus, statusCount{Status: st, Label: statusLabels[st], Count: formatCount(sum.ByStatus[st]),
			Href: withQuery(Prefix+"certificates", url.Values{"status": {st}})})
	}
	for _, d := range []struct {
		days int
		n    int64
	}{{7, sum.Expiring7}, {30, sum.Expiring30}, {90, sum.Expiring90}} {
		v.Expiring = append(v.Expiring, windowCount{Days: d.days, Count: formatCount(d.n),
			Href: withQuery(Prefix+"certificates", url.Values{"status": {store.CertActive}, "expiring": {fmt.Sprint(d.days)}, "sort": {"not_after"}})})
	}
	charts, err := u.charts(r)
	if err != nil {
		return err
	}
	v.Timeline = barChart("Certificates expiring per week", "week starting", charts.timeline)
	v.PerDay, v.PerDayNote = barChart("Certificates issued per day", "day", charts.perDay), charts.note
	if v.CanApprove {
		if v.Pending, _, err = u.d.Issuance.ListRequests(ctx, store.ListQuery{Status: store.RequestPending, Limit: 10}); err != nil {
			return err
		}
		ids := make([]string, 0, len(v.Pending))
		for _, rq := range v.Pending {
			ids = append(ids, rq.RequesterID)
		}
		v.Names = u.names(ctx, ids...)
	}
	if v.CanAudit {
		if v.Events, err = u.recentEvents(r, 10); err != nil {
			return err
		}
	}
	return u.render(w, r, http.StatusOK, "dashboard", "Dashboard", v)
}

// chartData is what the dashboard's two charts show for one organization
// scope; it is cached for chartTTL because at a million certificates the
// 13 weekly counts take a noticeable fraction of a second, and a chart of
// weeks need not be younger than a minute.
type chartData struct {
	at       time.Time
	timeline []bar
	perDay   []bar
	note     string
}

// chartTTL is how long a node reuses an organization's chart data.
const chartTTL = time.Minute

// chartCache holds chartData per organization scope. Every principal of an
// organization sees the same inventory (search is scoped by organization,
// not owner), so the scope is the key; the caller's read permission is
// checked before the cache is consulted.
type chartCache struct {
	mu sync.Mutex
	m  map[string]*chartData
}

func (u *UI) charts(r *http.Request) (*chartData, error) {
	p, err := auth.Require(r.Context(), auth.PermCertRead)
	if err != nil {
		return nil, err
	}
	now := u.d.Now()
	u.chartCache.mu.Lock()
	c := u.chartCache.m[p.OrgID]
	u.chartCache.mu.Unlock()
	if c != nil && now.Sub(c.at) < chartTTL {
		return c, nil
	}
	c = &chartData{at: now}
	if c.timeline, err = u.timeline(r); err != nil {
		return nil, err
	}
	if c.perDay, c.note, err = u.issuedPerDay(r); err != nil {
		return nil, err
	}
	u.chartCache.mu.Lock()
	if u.chartCache.m == nil || len(u.chartCache.m) > 10000 {
		u.chartCache.m = map[string]*chartData{} // bounded by the number of organizations anyway
	}
	u.chartCache.m[p.OrgID] = c
	u.chartCache.mu.Unlock()
	return c, nil
}

// timeline counts active certificates expiring in each of the next weeks,
// a few weeks at a time (the store has several read connections).
func (u *UI) timeline(r *http.Request) ([]bar, error) {
	start := u.d.Now().UTC().Truncate(24 * time.Hour)
	bars := make([]bar, timelineWeeks)
	errs := make([]error, timelineWeeks)
	sem := make(chan struct{}, 3)
	var wg sync.WaitGroup
	for i := range timelineWeeks {
		from, to := start.AddDate(0, 0, 7*i), start.AddDate(0, 0, 7*(i+1))
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			// Only the total is shown; sorting by expiry makes the one row
			// read the first of the range (newest-first would walk to it).
			page, err := u.d.Inventory.Search(r.Context(), store.CertificateQuery{Statuses: []string{store.CertActive},
				ExpiresAfter: &from, ExpiresBefore: &to, Sort: "not_after", Limit: 1, WithTotal: true})
			if err != nil {
				errs[i] = err
				return
			}
			bars[i] = bar{Label: from.Format("Jan 2"), Count: page.Total,
				Title: fmt.Sprintf("%d certificates expiring %s to %s", page.Total, from.Format("2006-01-02"), to.AddDate(0, 0, -1).Format("2006-01-02")),
				Href: withQuery(Prefix+"certificates", url.Values{"status": {store.CertActive}, "expires_after": {from.Format("2006-01-02")},
					"expires_before": {to.Format("2006-01-02")}, "sort": {"not_after"}})}
		})
	}
	wg.Wait()
	return bars, errors.Join(errs...)
}

// perDayScan bounds how many recent certificates the per-day chart reads.
const perDayScan = 1000

// issuedPerDay counts certificates Signet issued on each of the last 14
// days (imported and discovered ones are not issuance), from the newest
// perDayScan (a bounded read at any size).
func (u *UI) issuedPerDay(r *http.Request) ([]bar, string, error) {
	const days = 14
	today := u.d.Now().UTC().Truncate(24 * time.Hour)
	first := today.AddDate(0, 0, -(days - 1))
	page, err := u.d.Inventory.Search(r.Context(), store.CertificateQuery{Source: store.SourceIssued, Sort: "-created_at", Limit: perDayScan})
	if err != nil {
		return nil, "", err
	}
	counts := make([]int64, days)
	for i := range page.Items {
		c := page.Items[i].CreatedAt.UTC()
		if c.Before(first) {
			break
		}
		if d := int(c.Sub(first).Hours() / 24); d >= 0 && d < days {
			counts[d]++
		}
	}
	note := ""
	if page.NextCursor != "" && len(page.Items) > 0 && !page.Items[len(page.Items)-1].CreatedAt.Before(first) {
		note = fmt.Sprintf("Counts cover the newest %d certificates only.", perDayScan)
	}
	bars := make([]bar, days)
	for i := range bars {
		d := first.AddDate(0, 0, i)
		bars[i] = bar{Label: d.Format("2"), Count: counts[i], Title: fmt.Sprintf("%d certificates issued on %s", counts[i], d.Format("2006-01-02"))}
	}
	return bars, note, nil
}

// recentEvents returns the newest audit events the caller may read: the
// last stretch of the log before its head.
func (u *UI) recentEvents(r *http.Request, n int) ([]store.AuditEvent, error) {
	head, err := u.auditHead(r.Context())
	if err != nil {
		return nil, err
	}
	evs, err := u.d.Audit.List(r.Context(), store.AuditQuery{AfterSeq: max(0, head-recentWindow), Limit: 1000})
	if err != nil {
		return nil, err
	}
	if len(evs) > n {
		evs = evs[len(evs)-n:]
	}
	slices.Reverse(evs) // newest first
	return evs, nil
}

// auditHead finds the newest event's sequence number (0: none). The log is
// read forward only, but its sequence numbers have no gaps, so a binary
// search of point lookups finds the head in ~2·log2(n) reads.
func (u *UI) auditHead(ctx context.Context) (int64, error) {
	exists := func(seq int64) (bool, error) {
		_, err := u.d.Audit.Get(ctx, seq)
		switch problem.KindOf(err) {
		case problem.KindNotFound:
			return false, nil
		case problem.KindForbidden: // another organization's event: it exists
			return true, nil
		}
		return err == nil, err
	}
	lo, hi := int64(0), int64(1) // lo exists (or is 0), hi is probed
	for range 62 {
		ok, err := exists(hi)
		if err != nil {
			return 0, err
		}
		if !ok {
			break
		}
		lo, hi = hi, hi*2
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		ok, err := exists(mid)
		if err != nil {
			return 0, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// recentWindow is how far back from the head the dashboard looks for the
// caller's events.
const recentWindow = 1000

// barChart renders bars as an accessible SVG: each bar is a link (when it
// has one) with a <title>, counts are on the vertical axis.
func barChart(title, axis string, bars []bar) template.HTML {
	const (
		w, h       = 720.0, 220.0
		left, bot  = 48.0, 36.0
		top, right = 12.0, 8.0
	)
	var maxN int64 = 1
	for _, b := range bars {
		maxN = max(maxN, b.Count)
	}
	ticks := niceTicks(maxN)
	top1 := float64(ticks[len(ticks)-1])
	plotW, plotH := w-left-right, h-top-bot
	slot := plotW / float64(len(bars))
	var s strings.Builder
	fmt.Fprintf(&s, `<svg class="chart" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`, w, h, html.EscapeString(title))
	fmt.Fprintf(&s, `<title>%s</title>`, html.EscapeString(title))
	for _, t := range ticks {
		y := top + plotH - plotH*float64(t)/top1
		fmt.Fprintf(&s, `<line class="grid" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, left, y, w-right, y)
		fmt.Fprintf(&s, `<text class="tick" x="%.1f" y="%.1f" text-anchor="end">%d</text>`, left-6, y+4, t)
	}
	for i, b := range bars {
		bh := plotH * float64(b.Count) / top1
		x := left + slot*float64(i) + slot*0.15
		y := top + plotH - bh
		rect := fmt.Sprintf(`<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s</title></rect>`,
			x, y, slot*0.7, max(bh, 0.5), html.EscapeString(b.Title))
		if b.Count > 0 {
			rect += fmt.Sprintf(`<text class="count" x="%.1f" y="%.1f" text-anchor="middle">%d</text>`, x+slot*0.35, y-3, b.Count)
		}
		if b.Href != "" {
			fmt.Fprintf(&s, `<a href="%s" aria-label="%s">%s</a>`, html.EscapeString(b.Href), html.EscapeString(b.Title), rect)
		} else {
			s.WriteString(rect)
		}
		fmt.Fprintf(&s, `<text class="tick" x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, x+slot*0.35, h-bot+16, html.EscapeString(b.Label))
	}
	fmt.Fprintf(&s, `<text class="axis" x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, left+plotW/2, h-4, html.EscapeString(axis))
	s.WriteString(`</svg>`)
	return template.HTML(s.String()) // #nosec: every interpolated string is escaped above
}

// niceTicks returns 0 and round steps (1, 2, 5 × 10^k) up to at least n,
// at most six of them.
func niceTicks(n int64) []int64 {
	step := int64(1)
	for mult := 0; (n+step-1)/step > 5; mult = (mult + 1) % 3 {
		step = step * []int64{2, 5, 2}[mult] / []int64{1, 2, 1}[mult]
	}
	var out []int64
	for v := int64(0); ; v += step {
		out = append(out, v)
		if v >= n {
			break
		}
	}
	return out
}

// timelineSVG serves the expiry timeline alone, for embedding elsewhere.
func (u *UI) timelineSVG(w http.ResponseWriter, r *http.Request) error {
	c, err := u.charts(r)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(barChart("Certificates expiring per week", "week starting", c.timeline)))
	return nil
}
