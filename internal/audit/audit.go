// Package audit reads and verifies Signet's hash-chained audit log, and
// records refused requests. Changes are audited by the services that make
// them, in the same transaction (auth.Principal.Event); this package never
// writes an event for a change.
package audit

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// Reader is what verification needs: the whole chain in order.
type Reader interface {
	ListAuditEvents(ctx context.Context, afterSeq int64, limit int) ([]store.AuditEvent, error)
}

// Store is what the service needs.
type Store interface {
	Reader
	SearchAuditEvents(ctx context.Context, q store.AuditQuery) ([]store.AuditEvent, error)
	GetAuditEvent(ctx context.Context, seq int64) (*store.AuditEvent, error)
	Update(ctx context.Context, fn func(tx store.Tx) error) error
	auth.OrgLookup // a ?org= given by id or name
}

// Service lists, exports and verifies the audit log.
type Service struct {
	store Store
	now   func() time.Time
}

// New returns the audit service.
func New(s Store, now func() time.Time) *Service { return &Service{store: s, now: now} }

// List returns events matching q in chain order; callers outside the
// global scope see their organization's events only.
func (s *Service) List(ctx context.Context, q store.AuditQuery) ([]store.AuditEvent, error) {
	p, err := auth.Require(ctx, auth.PermAuditRead)
	if err != nil {
		return nil, err
	}
	if q.OrgID, err = auth.ScopeOrg(ctx, s.store, p, q.OrgID); err != nil {
		return nil, err
	}
	if q.Limit < 0 || q.Limit > 1000 {
		return nil, problem.Invalid("limit_invalid", "limit must be between 1 and 1000")
	}
	return s.store.SearchAuditEvents(ctx, q)
}

// Get returns one event by sequence number.
func (s *Service) Get(ctx context.Context, seq int64) (*store.AuditEvent, error) {
	p, err := auth.Require(ctx, auth.PermAuditRead)
	if err != nil {
		return nil, err
	}
	ev, err := s.store.GetAuditEvent(ctx, seq)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, problem.NotFound("audit_event_not_found", "no audit event %d", seq)
		}
		return nil, err
	}
	if !p.InOrg(ev.OrgID) || (ev.OrgID == "" && !p.Global()) {
		return nil, problem.Forbidden("other_organization", "audit event %d belongs to another organization", seq)
	}
	return ev, nil
}

// Export writes every matching event as one JSON object per line.
func (s *Service) Export(ctx context.Context, q store.AuditQuery, w io.Writer) error {
	q.Limit = 1000
	for {
		events, err := s.List(ctx, q)
		if err != nil {
			return err
		}
		for i := range events {
			if err := json.NewEncoder(w).Encode(View(&events[i])); err != nil {
				return fmt.Errorf("write audit export: %w", err)
			}
		}
		if len(events) < q.Limit {
			return nil
		}
		q.AfterSeq = events[len(events)-1].Seq
	}
}

// EventView is the JSON form of an event (API, export, CLI).
type EventView struct {
	Seq        int64           `json:"seq"`
	Time       time.Time       `json:"time"`
	Principal  string          `json:"principal"`
	SourceIP   string          `json:"source_ip,omitempty"`
	OrgID      string          `json:"org_id,omitempty"`
	Action     string          `json:"action"`
	ObjectType string          `json:"object_type"`
	ObjectID   string          `json:"object_id"`
	Outcome    string          `json:"outcome"`
	Details    json.RawMessage `json:"details"`
	PrevHash   string          `json:"prev_hash"`
	Hash       string          `json:"hash"`
}

// View renders an event.
func View(ev *store.AuditEvent) EventView {
	details := json.RawMessage(ev.DetailsJSON)
	if !json.Valid(details) {
		details = json.RawMessage(`null`)
	}
	return EventView{Seq: ev.Seq, Time: ev.Time, Principal: ev.Principal, SourceIP: ev.SourceIP, OrgID: ev.OrgID,
		Action: ev.Action, ObjectType: ev.ObjectType, ObjectID: ev.ObjectID, Outcome: ev.Outcome, Details: details,
		PrevHash: hex.EncodeToString(ev.PrevHash), Hash: hex.EncodeToString(ev.Hash)}
}

// Result is the outcome of a chain verification.
type Result struct {
	Checked  int64  `json:"checked"`             // events read
	OK       bool   `json:"ok"`                  // the whole chain verifies
	FirstBad int64  `json:"first_bad,omitempty"` // sequence number of the first bad event
	Problem  string `json:"problem,omitempty"`
}

// Verify walks the whole chain from the first event and reports the first
// event that was edited (its hash does not recompute), deleted or reordered
// (a gap in seq, or prev_hash not the previous event's hash). It needs no
// principal: `signet audit verify` runs it on the database directly.
func Verify(ctx context.Context, r Reader) (*Result, error) {
	res := &Result{OK: true}
	var prev []byte
	var last int64
	for {
		events, err := r.ListAuditEvents(ctx, last, 1000)
		if err != nil {
			return nil, fmt.Errorf("read audit log: %w", err)
		}
		for i := range events {
			ev := &events[i]
			res.Checked++
			switch {
			case ev.Seq != last+1:
				return res.bad(last+1, fmt.Sprintf("event %d is missing (next is %d): deleted or reordered", last+1, ev.Seq)), nil
			case !bytes.Equal(ev.PrevHash, prev):
				return res.bad(ev.Seq, "prev_hash does not match the previous event's hash: an event before it was deleted, reordered or rewritten"), nil
			case !bytes.Equal(store.HashAuditEvent(prev, *ev), ev.Hash):
				return res.bad(ev.Seq, "its content does not match its hash: the event was edited"), nil
			}
			prev, last = ev.Hash, ev.Seq
		}
		if len(events) < 1000 {
			return res, nil
		}
	}
}

func (r *Result) bad(seq int64, why string) *Result {
	r.OK, r.FirstBad, r.Problem = false, seq, why
	return r
}

// Verify checks the chain for an auditor through the API.
func (s *Service) Verify(ctx context.Context) (*Result, error) {
	p, err := auth.Require(ctx, auth.PermAuditRead)
	if err != nil {
		return nil, err
	}
	if !p.Global() {
		return nil, problem.Forbidden("global_admin_required", "the chain spans every organization; only a global principal may verify it")
	}
	return Verify(ctx, s.store)
}

// Refusal describes a request the server refused for lack of authentication
// or permission.
type Refusal struct {
	Principal *auth.Principal // nil when authentication failed
	SourceIP  string
	Method    string
	Path      string
	Err       *problem.Error
}

// RecordRefusal appends an audit event for a refused request. A denial
// changes nothing, so it is recorded on its own; a failure to record is
// returned for logging but never turns the refusal into another error.
func (s *Service) RecordRefusal(ctx context.Context, r Refusal) error {
	ev := store.AuditEvent{Time: s.now(), Principal: "anonymous", Action: "auth.failed", ObjectType: "request",
		ObjectID: truncate(r.Method+" "+r.Path, 200), Outcome: "failure", SourceIP: r.SourceIP,
		Details: map[string]any{"code": r.Err.Code, "message": truncate(r.Err.Message, 500)}}
	if r.Principal != nil {
		ev.Principal, ev.OrgID, ev.Action, ev.Outcome = r.Principal.ID, r.Principal.OrgID, "authz.denied", "denied"
	}
	return s.store.Update(ctx, func(tx store.Tx) error { tx.AppendAudit(ev); return nil })
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
