package digicert

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

// auditItem is the vendor's AuditLogItem, rendered from a Signet audit
// event: id is the event's sequence number, action its last dotted part
// ("certificate.revoke" -> "revoke"), resource_type its object type.
type auditItem struct {
	ID           string  `json:"id"`
	Account      idOnly  `json:"account"`
	BusinessUnit idOnly  `json:"business_unit"`
	ResourceType string  `json:"resource_type"`
	ResourceID   string  `json:"resource_id"`
	Action       string  `json:"action"`
	User         idName  `json:"user"`
	Timestamp    string  `json:"timestamp"`
	Status       string  `json:"status"`
	Data         string  `json:"data"`
	SourceIP     *string `json:"source_ip,omitempty"`
}

// resourceTypes maps Signet object types to the vendor's resource types.
var resourceTypes = map[string]string{"certificate": "end_entity_certificate", "enrollment": "enrollment", "seat": "seat",
	"profile": "profile", "user": "user", "service_account": "user", "organization": "account"}

// outcomes maps Signet's audit outcomes to the vendor's statuses.
var outcomes = map[string]string{"success": "success", "failure": "failure", "denied": "failure"}

func auditItemOf(ev *store.AuditEvent) auditItem {
	action := ev.Action
	if i := strings.LastIndex(action, "."); i >= 0 {
		action = action[i+1:]
	}
	rt := ev.ObjectType
	if v, ok := resourceTypes[rt]; ok {
		rt = v
	}
	data := string(ev.DetailsJSON)
	if data == "" && ev.Details != nil {
		b, _ := json.Marshal(ev.Details)
		data = string(b)
	}
	it := auditItem{ID: strconv.FormatInt(ev.Seq, 10), Account: idOnly{ID: ev.OrgID}, BusinessUnit: idOnly{ID: ev.OrgID},
		ResourceType: rt, ResourceID: ev.ObjectID, Action: action, User: idName{ID: ev.Principal, Name: ev.Principal},
		Timestamp: ev.Time.UTC().Format(time.RFC3339Nano), Status: outcomes[ev.Outcome], Data: data}
	if it.Status == "" {
		it.Status = ev.Outcome
	}
	if ev.SourceIP != "" {
		ip := ev.SourceIP
		it.SourceIP = &ip
	}
	return it
}

// listAudit pages Signet's audit chain with the vendor's filters
// (action, status, from, to, resource_id) and offset paging. total counts
// the matches up to the end of the requested page plus what one more
// bounded read finds, since the chain has no count query.
func (h *Handler) listAudit(w http.ResponseWriter, r *http.Request) error {
	limit, offset, err := paging(r, 20, 1000)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	aq := store.AuditQuery{ObjectID: q.Get("resource_id")}
	if v := q.Get("action"); v != "" {
		aq.Action = v
		if !strings.Contains(v, ".") {
			// The vendor's actions are bare verbs; Signet's are object.verb.
			aq.Action = ""
		}
	}
	for name, dst := range map[string]**time.Time{"from": &aq.From, "to": &aq.To} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return fieldErr(name, "invalid_input", "%s must be an RFC 3339 date-time", name)
			}
			*dst = &t
		}
	}
	verb, status := strings.ToLower(q.Get("action")), strings.ToLower(q.Get("status"))
	var (
		items []auditItem
		seen  int64
	)
	for {
		aq.Limit = 1000
		evs, err := h.d.Audit.List(r.Context(), aq)
		if err != nil {
			return err
		}
		for i := range evs {
			it := auditItemOf(&evs[i])
			if (verb != "" && !strings.Contains(verb, ".") && it.Action != verb) || (status != "" && it.Status != status) {
				continue
			}
			if seen >= int64(offset) && len(items) < limit {
				items = append(items, it)
			}
			seen++
		}
		if len(evs) < aq.Limit || seen > int64(offset+limit)+maxOffset {
			break
		}
		aq.AfterSeq = evs[len(evs)-1].Seq
	}
	if items == nil {
		items = []auditItem{}
	}
	return writeJSON(w, http.StatusOK, page(limit, offset, seen, items))
}

func (h *Handler) getAudit(w http.ResponseWriter, r *http.Request) error {
	seq, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || seq <= 0 {
		return apiErr(http.StatusNotFound, "audit_event_not_found", "no audit log event "+r.PathValue("id"))
	}
	ev, err := h.d.Audit.Get(r.Context(), seq)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, auditItemOf(ev))
}
