package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

func testNotifications(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	rule := &store.NotificationRule{ID: "nr_1", OrgID: "org_a", Name: "expiry", Event: "certificate.expiring",
		Spec: []byte(`{"thresholds":[30,7,1]}`), Enabled: true, CreatedAt: at(0), UpdatedAt: at(0)}
	off := &store.NotificationRule{ID: "nr_2", OrgID: "org_a", Name: "off", Event: "certificate.issue", Spec: []byte(`{}`),
		CreatedAt: at(0), UpdatedAt: at(0)}
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.InsertNotificationRule(ctx, rule); err != nil {
			return err
		}
		return tx.InsertNotificationRule(ctx, off)
	})
	got, err := s.GetNotificationRule(ctx, "nr_1")
	noErr(t, "GetNotificationRule", err)
	same(t, "rule", got, rule)
	enabled, _, err := s.ListNotificationRules(ctx, store.ListQuery{Status: "enabled"})
	noErr(t, "ListNotificationRules", err)
	same(t, "enabled rules", ids(enabled, func(r store.NotificationRule) string { return r.ID }), []string{"nr_1"})

	var queued []*store.Notification
	for i := range 3 {
		queued = append(queued, &store.Notification{ID: fmt.Sprintf("ntf_%d", i), OrgID: "org_a", RuleID: "nr_1",
			DedupeKey: fmt.Sprintf("nr_1|cert|%d|mail", i), Channel: "email", Target: "a@example.com", Status: "pending",
			Payload: []byte(`{}`), NextAttempt: at(time.Duration(i) * time.Minute), CreatedAt: at(0)})
	}
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, n := range queued {
			if ok, err := tx.QueueNotification(ctx, n); err != nil || !ok {
				return fmt.Errorf("queue %s: %v %v", n.ID, ok, err)
			}
		}
		// A key queued before is skipped without failing the transaction.
		dup := *queued[0]
		dup.ID = "ntf_dup"
		if ok, err := tx.QueueNotification(ctx, &dup); err != nil || ok {
			return fmt.Errorf("duplicate dedupe key: queued %v, err %v", ok, err)
		}
		extra := *queued[0]
		extra.ID, extra.DedupeKey = "ntf_extra", "other"
		ok, err := tx.QueueNotification(ctx, &extra)
		if err != nil || !ok {
			return fmt.Errorf("queue after a duplicate: %v %v", ok, err)
		}
		return tx.UpdateNotification(ctx, &store.Notification{ID: "ntf_extra", Status: "sent", NextAttempt: at(0), SentAt: ptr(at(0))})
	})
	due, err := s.DueNotifications(ctx, at(90*time.Second), 10)
	noErr(t, "DueNotifications", err)
	same(t, "due", ids(due, func(n store.Notification) string { return n.ID }), []string{"ntf_0", "ntf_1"})
	sent := due[0]
	sent.Status, sent.Attempts, sent.SentAt = "sent", 1, ptr(at(time.Minute))
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.UpdateNotification(ctx, &sent) })
	due, err = s.DueNotifications(ctx, at(time.Hour), 10)
	noErr(t, "DueNotifications after send", err)
	same(t, "still due", ids(due, func(n store.Notification) string { return n.ID }), []string{"ntf_1", "ntf_2"})
	all, _, err := s.ListNotifications(ctx, store.ListQuery{OrgID: "org_a"})
	noErr(t, "ListNotifications", err)
	same(t, "newest first", ids(all, func(n store.Notification) string { return n.ID }), []string{"ntf_extra", "ntf_2", "ntf_1", "ntf_0"})
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteNotificationRule(ctx, "nr_2") })
}
