package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

const ruleColumns = `int_id, id, org_id, name, event, spec, enabled, created_at, updated_at`

func scanRule(s scanner) (store.NotificationRule, error) {
	var r store.NotificationRule
	var ca, ua int64
	err := s.Scan(&r.IntID, &r.ID, &r.OrgID, &r.Name, &r.Event, &r.Spec, &r.Enabled, &ca, &ua)
	r.CreatedAt, r.UpdatedAt = fromDB(ca), fromDB(ua)
	return r, err
}

// GetNotificationRule returns one rule.
func (r reader) GetNotificationRule(ctx context.Context, id string) (*store.NotificationRule, error) {
	return getOne(ctx, r, "notification_rules", ruleColumns, "notification rule", scanRule, "id = ?", id)
}

// ListNotificationRules pages rules by int id; Status "enabled" keeps enabled ones.
func (r reader) ListNotificationRules(ctx context.Context, q store.ListQuery) ([]store.NotificationRule, string, error) {
	after, err := decodeListCursor(q.Cursor)
	if err != nil {
		return nil, "", err
	}
	limit := pageLimit(q.Limit)
	query, args := `SELECT `+ruleColumns+` FROM notification_rules WHERE int_id > ?`, []any{after}
	if q.OrgID != "" {
		query, args = query+` AND org_id = ?`, append(args, q.OrgID)
	}
	if q.Status == "enabled" {
		query += ` AND enabled = 1`
	}
	items, err := queryMany(ctx, r.q, scanRule, query+` ORDER BY int_id LIMIT ?`, append(args, limit+1)...)
	items, next, err := listPage(items, err, limit, func(x *store.NotificationRule) int64 { return x.IntID })
	return items, next, mapErr(err, "list notification rules")
}

// InsertNotificationRule stores a rule.
func (t *txView) InsertNotificationRule(ctx context.Context, r *store.NotificationRule) error {
	now := t.now()
	stamp(&r.CreatedAt, now)
	stamp(&r.UpdatedAt, now)
	return t.insertRow(ctx, &r.IntID, "notification rule "+r.ID, `INSERT INTO notification_rules (int_id, id, org_id, name, event, spec,
		enabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.keptID(r.IntID), r.ID, r.OrgID, r.Name, r.Event, r.Spec, r.Enabled, toDB(r.CreatedAt), toDB(r.UpdatedAt))
}

// UpdateNotificationRule rewrites a rule's name, event, spec and switch.
func (t *txView) UpdateNotificationRule(ctx context.Context, r *store.NotificationRule) error {
	stamp(&r.UpdatedAt, t.now())
	res, err := t.q.ExecContext(ctx, `UPDATE notification_rules SET name = ?, event = ?, spec = ?, enabled = ?, updated_at = ?
		WHERE id = ?`, r.Name, r.Event, r.Spec, r.Enabled, toDB(r.UpdatedAt), r.ID)
	return affectedOne(res, err, store.ErrNotFound, "update notification rule "+r.ID)
}

// DeleteNotificationRule removes a rule (its sent messages stay).
func (t *txView) DeleteNotificationRule(ctx context.Context, id string) error {
	return t.deleteRow(ctx, "notification_rules", id)
}

const notificationColumns = `int_id, id, org_id, rule_id, dedupe_key, channel, target, status, attempts, last_error, payload,
	next_attempt, created_at, sent_at`

func scanNotification(s scanner) (store.Notification, error) {
	var n store.Notification
	var na, ca int64
	var sent sql.NullInt64
	err := s.Scan(&n.IntID, &n.ID, &n.OrgID, &n.RuleID, &n.DedupeKey, &n.Channel, &n.Target, &n.Status, &n.Attempts,
		&n.LastError, &n.Payload, &na, &ca, &sent)
	n.NextAttempt, n.CreatedAt, n.SentAt = fromDB(na), fromDB(ca), fromDBPtr(sent)
	return n, err
}

// DueNotifications lists pending messages due before t.
func (r reader) DueNotifications(ctx context.Context, t time.Time, limit int) ([]store.Notification, error) {
	items, err := queryMany(ctx, r.q, scanNotification, `SELECT `+notificationColumns+` FROM notifications
		WHERE status = 'pending' AND next_attempt <= ? ORDER BY next_attempt, int_id LIMIT ?`, toDB(t), pageLimit(limit))
	return items, mapErr(err, "due notifications")
}

// ListNotifications pages messages newest first.
func (r reader) ListNotifications(ctx context.Context, q store.ListQuery) ([]store.Notification, string, error) {
	before, err := decodeListCursor(q.Cursor)
	if err != nil {
		return nil, "", err
	}
	if before == 0 {
		before = 1<<62 - 1
	}
	limit := pageLimit(q.Limit)
	query, args := `SELECT `+notificationColumns+` FROM notifications WHERE int_id < ?`, []any{before}
	if q.OrgID != "" {
		query, args = query+` AND org_id = ?`, append(args, q.OrgID)
	}
	if q.Status != "" {
		query, args = query+` AND status = ?`, append(args, q.Status)
	}
	items, err := queryMany(ctx, r.q, scanNotification, query+` ORDER BY int_id DESC LIMIT ?`, append(args, limit+1)...)
	items, next, err := listPage(items, err, limit, func(x *store.Notification) int64 { return x.IntID })
	return items, next, mapErr(err, "list notifications")
}

// QueueNotification queues a message once per dedupe key.
func (t *txView) QueueNotification(ctx context.Context, n *store.Notification) (bool, error) {
	stamp(&n.CreatedAt, t.now())
	normTime(&n.NextAttempt)
	res, err := t.q.ExecContext(ctx, `INSERT INTO notifications (id, org_id, rule_id, dedupe_key, channel,
		target, status, attempts, last_error, payload, next_attempt, created_at, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (dedupe_key) DO NOTHING`,
		n.ID, n.OrgID, n.RuleID, n.DedupeKey, n.Channel, n.Target, n.Status, n.Attempts, n.LastError, n.Payload,
		toDB(n.NextAttempt), toDB(n.CreatedAt), toDBPtr(n.SentAt))
	if err != nil {
		return false, mapErr(err, "queue notification")
	}
	rows, err := res.RowsAffected()
	if err != nil || rows == 0 {
		return false, mapErr(err, "queue notification")
	}
	n.IntID, err = res.LastInsertId()
	return true, mapErr(err, "queue notification")
}

// UpdateNotification records an attempt.
func (t *txView) UpdateNotification(ctx context.Context, n *store.Notification) error {
	normTime(&n.NextAttempt)
	normTimePtr(n.SentAt)
	res, err := t.q.ExecContext(ctx, `UPDATE notifications SET status = ?, attempts = ?, last_error = ?, next_attempt = ?,
		sent_at = ? WHERE id = ?`, n.Status, n.Attempts, n.LastError, toDB(n.NextAttempt), toDBPtr(n.SentAt), n.ID)
	return affectedOne(res, err, store.ErrNotFound, "update notification "+n.ID)
}
