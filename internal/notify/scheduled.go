package notify

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

// Date-driven events besides certificate expiry.
const (
	EventCAExpiring = "ca.expiring"
	// EventReport mails a report on a schedule: "report.expiring",
	// "report.breakdown", ... (the inventory's report kinds).
	EventReport = "report."
)

// Reporter renders a report for an organization (inventory.Service).
type Reporter interface {
	ReportText(ctx context.Context, kind, orgID string) (title, csv string, err error)
}

// CAs lists an organization's CAs (the store).
type CAs interface {
	ListCAs(ctx context.Context, q store.ListQuery) ([]store.CA, string, error)
}

// queueCAExpiring warns about CAs of the rule's organization at each
// threshold, once per CA and threshold, like certificates.
func (s *Service) queueCAExpiring(ctx context.Context, r *store.NotificationRule, sp *Spec, now time.Time) error {
	cas, ok := s.store.(CAs)
	if !ok {
		return nil
	}
	var batch []*store.Notification
	cursor := ""
	for {
		list, next, err := cas.ListCAs(ctx, store.ListQuery{OrgID: r.OrgID, Status: store.CAActive, Limit: 500, Cursor: cursor})
		if err != nil {
			return err
		}
		for _, c := range list {
			left := c.NotAfter.Sub(now)
			i := slices.IndexFunc(sp.Thresholds, func(d int) bool { return left > 0 && left <= time.Duration(d)*24*time.Hour })
			if i < 0 {
				continue
			}
			days := int(left.Hours() / 24)
			m := Message{Event: EventCAExpiring, Rule: r.ID, OrgID: r.OrgID, Time: now, ObjectType: "ca", ObjectID: c.ID,
				NotAfter: c.NotAfter, DaysLeft: &days, Threshold: sp.Thresholds[i],
				Description: fmt.Sprintf("CA %s expires on %s, in %d days: everything it issued expires with it.", c.Name,
					c.NotAfter.UTC().Format(time.DateOnly), days)}
			ns, err := s.notifications(ctx, r, sp, m, fmt.Sprintf("%s|%s|%d", r.ID, c.ID, sp.Thresholds[i]), "")
			if err != nil {
				return err
			}
			batch = append(batch, ns...)
		}
		if next == "" {
			return s.enqueue(ctx, batch)
		}
		cursor = next
	}
}

// queueReport mails a report once per period (spec.every_days, default 7).
func (s *Service) queueReport(ctx context.Context, r *store.NotificationRule, sp *Spec, now time.Time) error {
	if s.cfg.Reports == nil {
		return nil
	}
	every := time.Duration(max(sp.EveryDays, 1)) * 24 * time.Hour
	period := now.Unix() / int64(every.Seconds())
	kind := strings.TrimPrefix(r.Event, EventReport)
	title, csv, err := s.cfg.Reports.ReportText(ctx, kind, r.OrgID)
	if err != nil {
		return err
	}
	m := Message{Event: r.Event, Rule: r.ID, OrgID: r.OrgID, Time: now, Description: title, Attachment: csv}
	ns, err := s.notifications(ctx, r, sp, m, fmt.Sprintf("%s|period-%d", r.ID, period), "")
	if err != nil {
		return err
	}
	return s.enqueue(ctx, ns)
}
