package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

// Message is what a notification carries (the webhook body, the mail's facts).
type Message struct {
	Event       string    `json:"event"`
	Rule        string    `json:"rule"`
	OrgID       string    `json:"org_id"`
	Time        time.Time `json:"time"`
	Serial      string    `json:"serial,omitempty"`
	CommonName  string    `json:"common_name,omitempty"`
	SANs        []string  `json:"sans,omitempty"`
	NotAfter    time.Time `json:"not_after,omitzero"`
	DaysLeft    *int      `json:"days_left,omitempty"`
	Threshold   int       `json:"threshold_days,omitempty"`
	Owner       string    `json:"owner,omitempty"`
	ObjectType  string    `json:"object_type,omitempty"`
	ObjectID    string    `json:"object_id,omitempty"`
	Principal   string    `json:"principal,omitempty"`
	AuditSeq    int64     `json:"audit_seq,omitempty"`
	Description string    `json:"description"`
	Attachment  string    `json:"report_csv,omitempty"` // scheduled reports
}

// queueExpiring queues, for each certificate the rule covers, the warning
// of the tightest threshold it has crossed: a certificate first seen with 6
// days left gets the 7-day warning, not the 30-day one as well. The first
// run looks at everything within the largest threshold; later runs only at
// certificates that crossed a threshold since the previous run (notAfter in
// (last+T, now+T] for each T), so a steady job costs next to nothing.
func (s *Service) queueExpiring(ctx context.Context, r *store.NotificationRule, sp *Spec, now time.Time) error {
	last, seen := s.lastExpiry[r.ID]
	if !seen || !last.Before(now) {
		horizon := now.AddDate(0, 0, sp.Thresholds[len(sp.Thresholds)-1])
		if err := s.queueExpiringWindow(ctx, r, sp, now, now, horizon); err != nil {
			return err
		}
	} else {
		for _, d := range sp.Thresholds {
			from, to := last.AddDate(0, 0, d), now.AddDate(0, 0, d)
			if from.Before(now) {
				from = now
			}
			if err := s.queueExpiringWindow(ctx, r, sp, now, from, to); err != nil {
				return err
			}
		}
	}
	s.lastExpiry[r.ID] = now
	return nil
}

func (s *Service) queueExpiringWindow(ctx context.Context, r *store.NotificationRule, sp *Spec, now, from, to time.Time) error {
	q := store.CertificateQuery{OrgID: r.OrgID, Statuses: []string{store.CertActive}, ExpiresAfter: &from, ExpiresBefore: &to,
		ProfileID: sp.Filter.ProfileID, CAID: sp.Filter.CAID, Owner: sp.Filter.Owner, Labels: sp.Filter.Labels,
		Sort: "not_after", Limit: 1000, Now: now}
	for {
		page, err := s.store.SearchCertificates(ctx, q)
		if err != nil {
			return err
		}
		var batch []*store.Notification
		for i := range page.Items {
			c := &page.Items[i]
			left := c.NotAfter.Sub(now)
			i := slices.IndexFunc(sp.Thresholds, func(d int) bool { return left <= time.Duration(d)*24*time.Hour })
			if i < 0 {
				continue
			}
			days := int(left.Hours() / 24)
			m := Message{Event: EventExpiring, Rule: r.ID, OrgID: r.OrgID, Time: now, Serial: c.Serial, CommonName: c.CommonName,
				SANs: c.SANs, NotAfter: c.NotAfter, DaysLeft: &days, Threshold: sp.Thresholds[i], Owner: c.Owner,
				Description: fmt.Sprintf("Certificate %s (%s) expires on %s, in %d days.", c.CommonName, c.Serial,
					c.NotAfter.UTC().Format(time.DateOnly), days)}
			ns, err := s.notifications(ctx, r, sp, m, fmt.Sprintf("%s|%s|%d", r.ID, c.Serial, sp.Thresholds[i]), c.Owner)
			if err != nil {
				return err
			}
			batch = append(batch, ns...)
		}
		if err := s.enqueue(ctx, batch); err != nil {
			return err
		}
		if page.NextCursor == "" {
			return nil
		}
		q.Cursor = page.NextCursor
	}
}

// queueEvents turns audit events since the last look into messages for
// the rules that follow their action.
//
// The log is followed by sequence number, which every node agrees on; on
// the first run only events since the service started count.
func (s *Service) queueEvents(ctx context.Context, rules []store.NotificationRule) error {
	for {
		q := store.AuditQuery{AfterSeq: s.seq, Limit: 1000}
		if s.seq == 0 {
			q.From = &s.start
		}
		evs, err := s.store.SearchAuditEvents(ctx, q)
		if err != nil {
			return err
		}
		var batch []*store.Notification
		for _, ev := range evs {
			s.seq = ev.Seq
			if ev.Outcome != "success" {
				continue
			}
			for i := range rules {
				r := &rules[i]
				if r.Event != ev.Action || r.OrgID != ev.OrgID {
					continue
				}
				var sp Spec
				if json.Unmarshal(r.Spec, &sp) != nil {
					continue
				}
				ns, err := s.eventNotifications(ctx, r, &sp, ev)
				if err != nil {
					return err
				}
				batch = append(batch, ns...)
			}
		}
		if err := s.enqueue(ctx, batch); err != nil {
			return err
		}
		if len(evs) < 1000 {
			return nil
		}
	}
}

func (s *Service) eventNotifications(ctx context.Context, r *store.NotificationRule, sp *Spec, ev store.AuditEvent) ([]*store.Notification, error) {
	m := Message{Event: ev.Action, Rule: r.ID, OrgID: r.OrgID, Time: ev.Time, ObjectType: ev.ObjectType, ObjectID: ev.ObjectID,
		Principal: ev.Principal, AuditSeq: ev.Seq, Description: fmt.Sprintf("%s of %s %s by %s.", ev.Action, ev.ObjectType, ev.ObjectID, ev.Principal)}
	owner := ""
	if ev.ObjectType == "certificate" {
		c, err := s.store.GetCertificate(ctx, ev.ObjectID)
		if err == nil {
			if !matches(c, sp.Filter) {
				return nil, nil
			}
			m.Serial, m.CommonName, m.SANs, m.NotAfter, m.Owner, owner = c.Serial, c.CommonName, c.SANs, c.NotAfter, c.Owner, c.Owner
		}
	}
	return s.notifications(ctx, r, sp, m, fmt.Sprintf("%s|audit-%d", r.ID, ev.Seq), owner)
}

func matches(c *store.Certificate, f Filter) bool {
	if (f.ProfileID != "" && c.ProfileID != f.ProfileID) || (f.CAID != "" && c.CAID != f.CAID) || (f.Owner != "" && c.Owner != f.Owner) {
		return false
	}
	for k, v := range f.Labels {
		if c.Labels[k] != v {
			return false
		}
	}
	return true
}

// notifications builds one message per target of a rule.
func (s *Service) notifications(ctx context.Context, r *store.NotificationRule, sp *Spec, m Message, key, owner string) ([]*store.Notification, error) {
	payload, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	cacheKey := r.ID + "|" + owner
	targets, ok := s.targetCache[cacheKey]
	if !ok {
		if targets, err = s.targets(ctx, r.OrgID, sp, owner); err != nil {
			return nil, err
		}
		s.targetCache[cacheKey] = targets
	}
	now := s.cfg.Now()
	out := make([]*store.Notification, 0, len(targets))
	for _, t := range targets {
		out = append(out, &store.Notification{ID: store.NewID("ntf"), OrgID: r.OrgID, RuleID: r.ID,
			DedupeKey: key + "|" + t.channel + "|" + t.address, Channel: t.channel, Target: t.address, Status: "pending",
			Payload: payload, NextAttempt: now, CreatedAt: now})
	}
	return out, nil
}

// enqueue queues messages in one transaction; a dedupe key seen before is
// skipped, which is what makes every message go out once.
func (s *Service) enqueue(ctx context.Context, ns []*store.Notification) error {
	if len(ns) == 0 {
		return nil
	}
	return s.store.Update(ctx, func(tx store.Tx) error {
		for _, n := range ns {
			if _, err := tx.QueueNotification(ctx, n); err != nil {
				return err
			}
		}
		return nil
	})
}

type target struct{ channel, address string }

// targets resolves a rule's recipients to addresses.
func (s *Service) targets(ctx context.Context, orgID string, sp *Spec, owner string) ([]target, error) {
	var emails []string
	emails = append(emails, sp.Recipients.Emails...)
	if sp.Recipients.Owner && owner != "" {
		if p, err := s.store.GetPrincipal(ctx, owner); err == nil && p.Email != "" {
			emails = append(emails, p.Email)
		} else if errors.Is(err, store.ErrNotFound) {
			// A team: its members.
			members, err := s.principals(ctx, orgID)
			if err != nil {
				return nil, err
			}
			for _, m := range members {
				if slices.Contains(m.TeamIDs, owner) && m.Email != "" {
					emails = append(emails, m.Email)
				}
			}
		}
	}
	if len(sp.Recipients.Roles) > 0 {
		members, err := s.principals(ctx, orgID)
		if err != nil {
			return nil, err
		}
		for _, m := range members {
			if m.Email != "" && slices.ContainsFunc(m.Roles, func(r string) bool { return slices.Contains(sp.Recipients.Roles, r) }) {
				emails = append(emails, m.Email)
			}
		}
	}
	slices.Sort(emails)
	var out []target
	for _, e := range slices.Compact(emails) {
		out = append(out, target{"email", e})
	}
	if sp.Webhook != nil {
		out = append(out, target{"webhook", sp.Webhook.URL})
	}
	return out, nil
}

func (s *Service) principals(ctx context.Context, orgID string) ([]store.Principal, error) {
	var out []store.Principal
	cursor := ""
	for {
		ps, next, err := s.store.ListPrincipals(ctx, store.ListQuery{OrgID: orgID, Limit: 1000, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		out = append(out, ps...)
		if next == "" {
			return out, nil
		}
		cursor = next
	}
}

// deliver sends what is due; a failure is retried with exponential backoff
// and every attempt is recorded on the notification.
func (s *Service) deliver(ctx context.Context, now time.Time) error {
	due, err := s.store.DueNotifications(ctx, now, 200)
	if err != nil {
		return err
	}
	for i := range due {
		n := &due[i]
		err := s.send(ctx, n)
		n.Attempts++
		switch {
		case err == nil:
			at := s.cfg.Now()
			n.Status, n.SentAt, n.LastError = "sent", &at, ""
		case n.Attempts >= s.cfg.MaxAttempts:
			n.Status, n.LastError = "failed", err.Error()
		default:
			delay := min(s.cfg.Backoff<<(n.Attempts-1), time.Hour)
			n.LastError, n.NextAttempt = err.Error(), now.Add(delay)
		}
		if err := s.store.Update(ctx, func(tx store.Tx) error { return tx.UpdateNotification(ctx, n) }); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) send(ctx context.Context, n *store.Notification) error {
	var m Message
	if err := json.Unmarshal(n.Payload, &m); err != nil {
		return err
	}
	switch n.Channel {
	case "email":
		return s.sender.mail(ctx, n.Target, m)
	case "webhook":
		r, err := s.store.GetNotificationRule(ctx, n.RuleID)
		if err != nil {
			return fmt.Errorf("rule %s is gone", n.RuleID)
		}
		var sp Spec
		if err := json.Unmarshal(r.Spec, &sp); err != nil || sp.Webhook == nil {
			return fmt.Errorf("rule %s has no webhook any more", n.RuleID)
		}
		return s.sender.webhook(ctx, sp.Webhook, n, m)
	}
	return fmt.Errorf("unknown channel %s", n.Channel)
}

func newSecret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return "whsec_" + hex.EncodeToString(b)
}
