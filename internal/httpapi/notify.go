package httpapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/signet-pki/signet/internal/notify"
	"github.com/signet-pki/signet/internal/store"
)

func (a *API) notifyRoutes() []route {
	if a.svc.Notify == nil {
		return nil
	}
	return []route{
		{method: "GET", pattern: "/api/v1/notification-rules", summary: "Notification rules (webhook secrets hidden)", tag: "notifications", handler: a.listRules},
		{method: "POST", pattern: "/api/v1/notification-rules", summary: "Create a rule: expiry thresholds or an event; owner, emails, roles, webhook (secret shown once)", tag: "notifications", handler: a.createRule},
		{method: "DELETE", pattern: "/api/v1/notification-rules/{id}", summary: "Delete a rule", tag: "notifications", handler: a.deleteRule},
		{method: "GET", pattern: "/api/v1/notifications", summary: "Queued and sent notifications with their attempts (?status=)", tag: "notifications", handler: a.listNotifications},
	}
}

type ruleJSON struct {
	ID        string          `json:"id"`
	OrgID     string          `json:"org_id"`
	Name      string          `json:"name"`
	Event     string          `json:"event"`
	Enabled   bool            `json:"enabled"`
	Spec      json.RawMessage `json:"spec"`
	CreatedAt time.Time       `json:"created_at"`
}

func ruleOut(r *store.NotificationRule) ruleJSON {
	return ruleJSON{ID: r.ID, OrgID: r.OrgID, Name: r.Name, Event: r.Event, Enabled: r.Enabled, Spec: r.Spec, CreatedAt: r.CreatedAt.UTC()}
}

func (a *API) listRules(w http.ResponseWriter, r *http.Request) error {
	q, err := listQuery(r)
	if err != nil {
		return err
	}
	rules, next, err := a.svc.Notify.Rules(r.Context(), q)
	if err != nil {
		return listErr(err)
	}
	return writeJSON(w, http.StatusOK, page[ruleJSON]{Items: mapItems(rules, ruleOut), NextCursor: next})
}

func (a *API) createRule(w http.ResponseWriter, r *http.Request) error {
	var in notify.RuleInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	rule, spec, err := a.svc.Notify.CreateRule(r.Context(), in)
	if err != nil {
		return err
	}
	out := ruleOut(rule)
	out.Spec, _ = json.Marshal(spec) // with the webhook secret, this once
	return writeJSON(w, http.StatusCreated, out)
}

func (a *API) deleteRule(w http.ResponseWriter, r *http.Request) error {
	if err := a.svc.Notify.DeleteRule(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type notificationJSON struct {
	ID          string          `json:"id"`
	RuleID      string          `json:"rule_id"`
	Channel     string          `json:"channel"`
	Target      string          `json:"target"`
	Status      string          `json:"status"`
	Attempts    int             `json:"attempts"`
	LastError   string          `json:"last_error,omitempty"`
	NextAttempt time.Time       `json:"next_attempt"`
	SentAt      *time.Time      `json:"sent_at,omitempty"`
	CreatedAt   time.Time       `json:"created_at"`
	Payload     json.RawMessage `json:"payload"`
}

func (a *API) listNotifications(w http.ResponseWriter, r *http.Request) error {
	q, err := listQuery(r)
	if err != nil {
		return err
	}
	ns, next, err := a.svc.Notify.Notifications(r.Context(), q)
	if err != nil {
		return listErr(err)
	}
	return writeJSON(w, http.StatusOK, page[notificationJSON]{Items: mapItems(ns, func(n *store.Notification) notificationJSON {
		return notificationJSON{ID: n.ID, RuleID: n.RuleID, Channel: n.Channel, Target: n.Target, Status: n.Status, Attempts: n.Attempts,
			LastError: n.LastError, NextAttempt: n.NextAttempt.UTC(), SentAt: utcPtr(n.SentAt), CreatedAt: n.CreatedAt.UTC(), Payload: n.Payload}
	}), NextCursor: next})
}
