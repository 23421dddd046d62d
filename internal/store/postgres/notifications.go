package postgres

import (
	"context"
	"math"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

// Notification rules and the messages they queue.

const ruleColumns = `int_id, id, org_id, name, event, spec, enabled, created_at, updated_at`

func scanRule(s scanner) (store.NotificationRule, error) {
	var r store.NotificationRule
	err := s.Scan(&r.IntID, &r.ID, &r.OrgID, &r.Name, &r.Event, &r.Spec, &r.Enabled, &r.CreatedAt, &r.UpdatedAt)
	return r, err
}

// GetNotificationRule returns one rule.
func (r reader) GetNotificationRule(ctx context.Context, id string) (*store.NotificationRule, error) {
	return getOne(ctx, r, "notification_rules", ruleColumns, "notification rule", scanRule, "id = $1", id)
}

// ListNotificationRules pages rules by int id; Status "enabled" keeps enabled ones.
func (r reader) ListNotificationRules(ctx context.Context, q store.ListQuery) ([]store.NotificationRule, string, error) {
	after, err := decodeListCursor(q.Cursor)
	if err != nil {
		return nil, "", err
	}
	limit := pageLimit(q.Limit)
	var w where
	w.add("int_id > ?", after)
	if q.OrgID != "" {
		w.add("org_id = ?", q.OrgID)
	}
	if q.Status == "enabled" {
		w.add("enabled")
	}
	lim := w.arg(limit + 1)
	cond, args := w.sql()
	items, err := queryMany(ctx, r.q, scanRule, `SELECT `+ruleColumns+` FROM notification_rules`+cond+
		` ORDER BY int_id LIMIT `+lim, args...)
	items, next, err := listPage(items, err, limit, func(x *store.NotificationRule) int64 { return x.IntID })
	return items, next, mapErr(err, "list notification rules")
}

// InsertNotificationRule stores a rule; ErrDuplicate when its id is taken.
func (t *txView) InsertNotificationRule(ctx context.Context, r *store.NotificationRule) error {
	now := t.now()
	stamp(&r.CreatedAt, now)
	stamp(&r.UpdatedAt, now)
	return t.insert(ctx, &r.IntID, "notification rule "+r.ID, `INSERT INTO notification_rules (id, org_id, name, event,
		spec, enabled, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING int_id`,
		r.ID, r.OrgID, r.Name, r.Event, nonNil(r.Spec), r.Enabled, r.CreatedAt, r.UpdatedAt)
}

// UpdateNotificationRule rewrites a rule's name, event, spec and switch.
func (t *txView) UpdateNotificationRule(ctx context.Context, r *store.NotificationRule) error {
	stamp(&r.UpdatedAt, t.now())
	return t.updateOne(ctx, "update notification rule "+r.ID, `UPDATE notification_rules SET name = $1, event = $2,
		spec = $3, enabled = $4, updated_at = $5 WHERE id = $6`, r.Name, r.Event, nonNil(r.Spec), r.Enabled, r.UpdatedAt, r.ID)
}

// DeleteNotificationRule removes a rule (its messages stay).
func (t *txView) DeleteNotificationRule(ctx context.Context, id string) error {
	return t.updateOne(ctx, "delete notification rule "+id, `DELETE FROM notification_rules WHERE id = $1`, id)
}

const notificationColumns = `int_id, id, org_id, rule_id, dedupe_key, channel, target, status, attempts, last_error,
	payload, next_attempt, created_at, sent_at`

func scanNotification(s scanner) (store.Notification, error) {
	var n store.Notification
	err := s.Scan(&n.IntID, &n.ID, &n.OrgID, &n.RuleID, &n.DedupeKey, &n.Channel, &n.Target, &n.Status, &n.Attempts,
		&n.LastError, &n.Payload, &n.NextAttempt, &n.CreatedAt, &n.SentAt)
	return n, err
}

// DueNotifications lists pending messages due at t, oldest first.
func (r reader) DueNotifications(ctx context.Context, t time.Time, limit int) ([]store.Notification, error) {
	items, err := queryMany(ctx, r.q, scanNotification, `SELECT `+notificationColumns+` FROM notifications
		WHERE status = 'pending' AND next_attempt <= $1 ORDER BY next_attempt, int_id LIMIT $2`, t, pageLimit(limit))
	return items, mapErr(err, "due notifications")
}

// ListNotifications pages messages newest first; the cursor is the last
// int id seen, and the next page holds older ones.
func (r reader) ListNotifications(ctx context.Context, q store.ListQuery) ([]store.Notification, string, error) {
	before, err := decodeListCursor(q.Cursor)
	if err != nil {
		return nil, "", err
	}
	if before == 0 {
		before = math.MaxInt64
	}
	limit := pageLimit(q.Limit)
	var w where
	w.add("int_id < ?", before)
	if q.OrgID != "" {
		w.add("org_id = ?", q.OrgID)
	}
	if q.Status != "" {
		w.add("status = ?", q.Status)
	}
	lim := w.arg(limit + 1)
	cond, args := w.sql()
	items, err := queryMany(ctx, r.q, scanNotification, `SELECT `+notificationColumns+` FROM notifications`+cond+
		` ORDER BY int_id DESC LIMIT `+lim, args...)
	items, next, err := listPage(items, err, limit, func(x *store.Notification) int64 { return x.IntID })
	return items, next, mapErr(err, "list notifications")
}

// QueueNotification queues a message unless its dedupe key was queued
// before: then it reports false, and the transaction goes on (ON CONFLICT,
// not a failed statement).
func (t *txView) QueueNotification(ctx context.Context, n *store.Notification) (bool, error) {
	stamp(&n.CreatedAt, t.now())
	normTime(&n.NextAttempt)
	normTimePtr(n.SentAt)
	ok, err := t.b.writeRow(ctx, []any{&n.IntID}, `INSERT INTO notifications (id, org_id, rule_id, dedupe_key,
		channel, target, status, attempts, last_error, payload, next_attempt, created_at, sent_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (dedupe_key) DO NOTHING RETURNING int_id`,
		n.ID, n.OrgID, n.RuleID, n.DedupeKey, n.Channel, n.Target, n.Status, n.Attempts, n.LastError, nonNil(n.Payload),
		n.NextAttempt, n.CreatedAt, n.SentAt)
	return ok, mapErr(err, "queue notification "+n.ID)
}

// UpdateNotification records an attempt.
func (t *txView) UpdateNotification(ctx context.Context, n *store.Notification) error {
	normTime(&n.NextAttempt)
	normTimePtr(n.SentAt)
	return t.updateOne(ctx, "update notification "+n.ID, `UPDATE notifications SET status = $1, attempts = $2,
		last_error = $3, next_attempt = $4, sent_at = $5 WHERE id = $6`,
		n.Status, n.Attempts, n.LastError, n.NextAttempt, n.SentAt, n.ID)
}
