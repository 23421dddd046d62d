// Package notify tells people and systems about certificates: expiry
// warnings at configurable thresholds and events (issued, revoked, pending
// approval, ...) by email (SMTP) and signed webhooks. Messages are queued
// in the store once per (rule, object, threshold, target), so each is sent
// once however often the job runs, across restarts and leader changes, and
// retried with backoff until delivered.
package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// Events a rule can follow.
var Events = []string{EventExpiring, EventCAExpiring, "certificate.issue", "certificate.renew", "certificate.revoke",
	"certificate.suspend", "certificate.resume", "certificate.discover", "request.create", "request.approve", "request.reject",
	"ca.create", "report.expiring", "report.breakdown", "report.weak", "report.revocations", "report.volume"}

// EventExpiring is the only event that is a date, not an action.
const EventExpiring = "certificate.expiring"

// Spec is a rule's JSON: when (thresholds), which certificates, who, how.
type Spec struct {
	Thresholds []int  `json:"thresholds,omitempty"` // expiry: days before notAfter (default 30, 7, 1)
	EveryDays  int    `json:"every_days,omitempty"` // reports: how often (default 7)
	Filter     Filter `json:"filter"`
	Recipients struct {
		Owner  bool     `json:"owner"`  // the certificate owner's email, or its team members'
		Emails []string `json:"emails"` // fixed addresses
		Roles  []string `json:"roles"`  // everyone in the organization holding one of these roles
	} `json:"recipients"`
	Webhook *Webhook `json:"webhook,omitempty"`
}

// Filter narrows a rule to some certificates.
type Filter struct {
	ProfileID string            `json:"profile_id,omitempty"`
	CAID      string            `json:"ca_id,omitempty"`
	Owner     string            `json:"owner,omitempty"` // principal or team id
	Labels    map[string]string `json:"labels,omitempty"`
}

// Webhook is where JSON events are POSTed, signed with HMAC-SHA256.
type Webhook struct {
	URL    string `json:"url"`
	Secret string `json:"secret,omitempty"` // shown only when the rule is created
}

// Store is what notifications read and write.
type Store interface {
	auth.OrgLookup
	GetNotificationRule(ctx context.Context, id string) (*store.NotificationRule, error)
	ListNotificationRules(ctx context.Context, q store.ListQuery) ([]store.NotificationRule, string, error)
	DueNotifications(ctx context.Context, t time.Time, limit int) ([]store.Notification, error)
	ListNotifications(ctx context.Context, q store.ListQuery) ([]store.Notification, string, error)
	SearchCertificates(ctx context.Context, q store.CertificateQuery) (*store.CertificatePage, error)
	GetCertificate(ctx context.Context, serial string) (*store.Certificate, error)
	SearchAuditEvents(ctx context.Context, q store.AuditQuery) ([]store.AuditEvent, error)
	GetPrincipal(ctx context.Context, id string) (*store.Principal, error)
	ListPrincipals(ctx context.Context, q store.ListQuery) ([]store.Principal, string, error)
	Update(ctx context.Context, fn func(tx store.Tx) error) error
}

// Config tunes delivery. Zero values take the defaults.
type Config struct {
	SMTP        SMTPConfig
	MaxAttempts int           // before a message is marked failed (default 8)
	Backoff     time.Duration // first retry delay, doubled each time, capped at an hour (default 30 s)
	Now         func() time.Time
	Logger      *slog.Logger
	HTTPTimeout time.Duration // per webhook attempt (default 10 s)
	Reports     Reporter      // renders scheduled reports (nil: report rules send nothing)
}

// Service manages rules and runs the notification job.
type Service struct {
	store  Store
	cfg    Config
	log    *slog.Logger
	sender sender
	start  time.Time // events before the service started are not notified
	seq    int64     // audit events up to this sequence number have been looked at
	// targetCache holds each (rule, owner)'s recipients for one Tick: a
	// million certificates have few owners.
	targetCache map[string][]target
	lastExpiry  map[string]time.Time // rule id -> when its thresholds were last checked
}

// New returns the notification service.
func New(st Store, cfg Config) *Service {
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.HTTPTimeout <= 0 {
		cfg.HTTPTimeout = 10 * time.Second
	}
	return &Service{store: st, cfg: cfg, log: cfg.Logger, sender: newSender(cfg), start: cfg.Now(), lastExpiry: map[string]time.Time{}}
}

// RuleInput creates or replaces a rule.
type RuleInput struct {
	Org     string `json:"org,omitempty"`
	Name    string `json:"name"`
	Event   string `json:"event"`
	Enabled *bool  `json:"enabled,omitempty"`
	Spec    Spec   `json:"spec"`
}

// CreateRule validates and stores a rule; a webhook secret is generated if none is given.
func (s *Service) CreateRule(ctx context.Context, in RuleInput) (*store.NotificationRule, *Spec, error) {
	caller, err := auth.Require(ctx, auth.PermNotifyManage)
	if err != nil {
		return nil, nil, err
	}
	orgID, err := auth.TargetOrg(ctx, s.store, caller, in.Org)
	if err != nil {
		return nil, nil, err
	}
	if err := validate(&in); err != nil {
		return nil, nil, err
	}
	if in.Spec.Webhook != nil && in.Spec.Webhook.Secret == "" {
		in.Spec.Webhook.Secret = newSecret()
	}
	spec, _ := json.Marshal(in.Spec)
	now := s.cfg.Now()
	r := &store.NotificationRule{ID: store.NewID("nr"), OrgID: orgID, Name: in.Name, Event: in.Event, Spec: spec,
		Enabled: in.Enabled == nil || *in.Enabled, CreatedAt: now, UpdatedAt: now}
	err = s.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.InsertNotificationRule(ctx, r); err != nil {
			return err
		}
		tx.AppendAudit(caller.Event(now, orgID, "notification_rule.create", "notification_rule", r.ID,
			map[string]any{"name": r.Name, "event": r.Event})) // never the webhook secret
		return nil
	})
	return r, &in.Spec, err
}

func validate(in *RuleInput) error {
	var vs []problem.Violation
	add := func(field, msg string) {
		vs = append(vs, problem.Violation{Field: field, Code: "invalid", Message: msg})
	}
	if in.Name == "" || len(in.Name) > 100 {
		add("name", "a name of 1 to 100 characters is required")
	}
	if !slices.Contains(Events, in.Event) {
		add("event", fmt.Sprintf("event must be one of %v", Events))
	}
	if (in.Event == EventExpiring || in.Event == EventCAExpiring) && len(in.Spec.Thresholds) == 0 {
		in.Spec.Thresholds = []int{30, 7, 1}
	}
	for _, d := range in.Spec.Thresholds {
		if d < 1 || d > 3650 {
			add("spec.thresholds", "thresholds are days between 1 and 3650")
		}
	}
	slices.Sort(in.Spec.Thresholds)
	in.Spec.Thresholds = slices.Compact(in.Spec.Thresholds)
	for _, e := range in.Spec.Recipients.Emails {
		if !strings.Contains(e, "@") || strings.ContainsAny(e, "\r\n<>") {
			add("spec.recipients.emails", fmt.Sprintf("%q is not an email address", e))
		}
	}
	if w := in.Spec.Webhook; w != nil && !strings.HasPrefix(w.URL, "https://") && !strings.HasPrefix(w.URL, "http://") {
		add("spec.webhook.url", "the webhook URL must be http(s)")
	}
	r := in.Spec.Recipients
	if !r.Owner && len(r.Emails) == 0 && len(r.Roles) == 0 && in.Spec.Webhook == nil {
		add("spec.recipients", "name at least one recipient or a webhook")
	}
	if len(vs) > 0 {
		return problem.Violations("notification_rule_invalid", "the notification rule is invalid", vs)
	}
	return nil
}

// Rules lists the caller's organization's rules (webhook secrets hidden).
func (s *Service) Rules(ctx context.Context, q store.ListQuery) ([]store.NotificationRule, string, error) {
	p, err := auth.Require(ctx, auth.PermNotifyManage)
	if err != nil {
		return nil, "", err
	}
	if q.OrgID, err = auth.ScopeOrg(ctx, s.store, p, q.OrgID); err != nil {
		return nil, "", err
	}
	rules, next, err := s.store.ListNotificationRules(ctx, q)
	for i := range rules {
		rules[i].Spec = redactSpec(rules[i].Spec)
	}
	return rules, next, err
}

// DeleteRule removes a rule.
func (s *Service) DeleteRule(ctx context.Context, id string) error {
	r, err := s.store.GetNotificationRule(ctx, id)
	if err != nil {
		return problem.NotFound("notification_rule_not_found", "no notification rule %q", id)
	}
	caller, err := auth.RequireIn(ctx, auth.PermNotifyManage, r.OrgID)
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.DeleteNotificationRule(ctx, id); err != nil {
			return err
		}
		tx.AppendAudit(caller.Event(s.cfg.Now(), r.OrgID, "notification_rule.delete", "notification_rule", id, map[string]any{"name": r.Name}))
		return nil
	})
}

// Notifications lists queued and sent messages, newest first.
func (s *Service) Notifications(ctx context.Context, q store.ListQuery) ([]store.Notification, string, error) {
	p, err := auth.Require(ctx, auth.PermNotifyManage)
	if err != nil {
		return nil, "", err
	}
	if q.OrgID, err = auth.ScopeOrg(ctx, s.store, p, q.OrgID); err != nil {
		return nil, "", err
	}
	return s.store.ListNotifications(ctx, q)
}

func redactSpec(b []byte) []byte {
	var sp Spec
	if json.Unmarshal(b, &sp) != nil || sp.Webhook == nil {
		return b
	}
	sp.Webhook.Secret = ""
	out, _ := json.Marshal(sp)
	return out
}

// Run works the queue until ctx ends, while this node leads.
func (s *Service) Run(ctx context.Context, leader func() bool, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if leader() {
			if err := s.Tick(ctx); err != nil && ctx.Err() == nil {
				s.log.ErrorContext(ctx, "notification job", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Tick queues what is due (expiry thresholds, new events) and sends the queue.
func (s *Service) Tick(ctx context.Context) error {
	ctx = auth.WithPrincipal(ctx, auth.System())
	now := s.cfg.Now()
	s.targetCache = map[string][]target{}
	rules, err := s.allRules(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for i := range rules {
		var sp Spec
		if err := json.Unmarshal(rules[i].Spec, &sp); err != nil {
			errs = append(errs, fmt.Errorf("rule %s: %w", rules[i].ID, err))
			continue
		}
		switch ev := rules[i].Event; {
		case ev == EventExpiring:
			errs = append(errs, s.queueExpiring(ctx, &rules[i], &sp, now))
		case ev == EventCAExpiring:
			errs = append(errs, s.queueCAExpiring(ctx, &rules[i], &sp, now))
		case strings.HasPrefix(ev, EventReport):
			errs = append(errs, s.queueReport(ctx, &rules[i], &sp, now))
		}
	}
	errs = append(errs, s.queueEvents(ctx, rules), s.deliver(ctx, now))
	return errors.Join(errs...)
}

func (s *Service) allRules(ctx context.Context) ([]store.NotificationRule, error) {
	var out []store.NotificationRule
	cursor := ""
	for {
		rules, next, err := s.store.ListNotificationRules(ctx, store.ListQuery{Status: "enabled", Limit: 500, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		out = append(out, rules...)
		if next == "" {
			return out, nil
		}
		cursor = next
	}
}
