package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/signet-pki/signet/internal/store"
)

const auditColumns = `seq, time, principal, action, object_type, object_id, outcome, details, prev_hash, hash,
	org_id, source_ip`

func scanAuditEvent(s scanner) (store.AuditEvent, error) {
	var ev store.AuditEvent
	var details string
	err := s.Scan(&ev.Seq, &ev.Time, &ev.Principal, &ev.Action, &ev.ObjectType, &ev.ObjectID, &ev.Outcome, &details,
		&ev.PrevHash, &ev.Hash, &ev.OrgID, &ev.SourceIP)
	if err != nil {
		return ev, err
	}
	ev.DetailsJSON = []byte(details)
	// A row whose details do not decode still comes back (with DetailsJSON)
	// so that a verifier can report it rather than stop at it.
	_ = json.Unmarshal(ev.DetailsJSON, &ev.Details)
	return ev, nil
}

// ListAuditEvents returns committed events after afterSeq in chain order.
// DetailsJSON holds the stored bytes the hash covers; Details their decoding.
func (r reader) ListAuditEvents(ctx context.Context, afterSeq int64, limit int) ([]store.AuditEvent, error) {
	events, err := queryMany(ctx, r.q, scanAuditEvent, `SELECT `+auditColumns+`
		FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2`, afterSeq, pageLimit(limit))
	return events, mapErr(err, "list audit events")
}

// GetAuditEvent returns the event with sequence number seq.
func (r reader) GetAuditEvent(ctx context.Context, seq int64) (*store.AuditEvent, error) {
	var ev store.AuditEvent
	err := queryOne(ctx, r.q, func(s scanner) (err error) { ev, err = scanAuditEvent(s); return err },
		`SELECT `+auditColumns+` FROM audit_events WHERE seq = $1`, seq)
	if err != nil {
		return nil, mapErr(err, "get audit event")
	}
	return &ev, nil
}

// SearchAuditEvents filters the log in chain order. The organization,
// principal and object filters have indexes ordered by seq; the others are
// tested on the rows those (or the primary key) yield.
func (r reader) SearchAuditEvents(ctx context.Context, q store.AuditQuery) ([]store.AuditEvent, error) {
	var w where
	w.add("seq > ?", q.AfterSeq)
	for _, f := range []struct{ cond, val string }{
		{"org_id = ?", q.OrgID}, {"principal = ?", q.Principal}, {"object_type = ?", q.ObjectType},
		{"object_id = ?", q.ObjectID}, {"outcome = ?", q.Outcome},
	} {
		if f.val != "" {
			w.add(f.cond, f.val)
		}
	}
	// action is COLLATE "C", so the range is exactly the prefix.
	if prefix, ok := strings.CutSuffix(q.Action, "."); ok && prefix != "" {
		w.add("action >= ? AND action < ?", prefix+".", prefix+"/")
	} else if q.Action != "" {
		w.add("action = ?", q.Action)
	}
	if q.From != nil {
		w.add("time >= ?", *q.From)
	}
	if q.To != nil {
		w.add("time < ?", *q.To)
	}
	limit := w.arg(pageLimit(q.Limit))
	cond, args := w.sql()
	events, err := queryMany(ctx, r.q, scanAuditEvent,
		`SELECT `+auditColumns+` FROM audit_events`+cond+` ORDER BY seq LIMIT `+limit, args...)
	return events, mapErr(err, "search audit events")
}

// chainHead is the last committed audit event.
type chainHead struct {
	seq  int64
	hash []byte
}

// prepareEvents stamps and normalizes the function's events, and refuses
// one PostgreSQL could not store (text holds neither NUL nor invalid
// UTF-8): such an event fails its own update here, instead of failing the
// batch's single audit insert later.
func (t *txView) prepareEvents(clock func() time.Time) error {
	for i := range t.events {
		ev := &t.events[i]
		if ev.Time.IsZero() {
			ev.Time = clock()
		}
		ev.Time = ev.Time.UTC().Truncate(store.AuditTimePrecision)
		for _, s := range []string{ev.Principal, ev.Action, ev.ObjectType, ev.ObjectID, ev.Outcome, ev.OrgID, ev.SourceIP,
			string(ev.DetailsJSON)} {
			if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
				return fmt.Errorf("postgres: audit event %q: text %q is not storable (NUL or invalid UTF-8)", ev.Action, s)
			}
		}
	}
	return nil
}

// auditStatement chains the batch's events after head and inserts them,
// and moves the head, in one statement: the only code that writes audit
// rows. One array per column keeps the statement text the same whatever
// the batch size, so it is prepared once.
func auditStatement(head chainHead, events []store.AuditEvent) (string, []any, bool) {
	if len(events) == 0 {
		return "", nil, false
	}
	var c struct {
		seq                                                                []int64
		time                                                               []time.Time
		principal, action, objectType, objectID, outcome, org, ip, details []string
		prev, hash                                                         [][]byte
	}
	for _, ev := range events {
		ev.Seq = head.seq + 1
		if ev.DetailsJSON == nil { // a copied event keeps the exact bytes its hash covered
			ev.DetailsJSON = store.AuditDetailsJSON(ev.Details)
		}
		ev.PrevHash = head.hash
		ev.Hash = store.HashAuditEvent(ev.PrevHash, ev)
		head = chainHead{seq: ev.Seq, hash: ev.Hash}
		c.seq, c.time = append(c.seq, ev.Seq), append(c.time, ev.Time)
		c.principal, c.action, c.objectType = append(c.principal, ev.Principal), append(c.action, ev.Action), append(c.objectType, ev.ObjectType)
		c.objectID, c.outcome, c.org = append(c.objectID, ev.ObjectID), append(c.outcome, ev.Outcome), append(c.org, ev.OrgID)
		c.ip, c.details = append(c.ip, ev.SourceIP), append(c.details, string(ev.DetailsJSON))
		c.prev, c.hash = append(c.prev, ev.PrevHash), append(c.hash, ev.Hash)
	}
	return `WITH appended AS (
		INSERT INTO audit_events (seq, time, principal, action, object_type, object_id, outcome, org_id, source_ip,
			details, prev_hash, hash)
		SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[],
			$7::text[], $8::text[], $9::text[], $10::text[], $11::bytea[], $12::bytea[]))
		UPDATE audit_head SET seq = $13, hash = $14 WHERE id = 1`,
		[]any{c.seq, c.time, c.principal, c.action, c.objectType, c.objectID, c.outcome, c.org, c.ip, c.details, c.prev,
			c.hash, head.seq, head.hash}, true
}

// where builds a WHERE clause with ? placeholders numbered as $n.
type where struct {
	conds []string
	args  []any
}

// add appends a condition; each ? in it takes the next argument.
func (w *where) add(cond string, args ...any) {
	var sb strings.Builder
	for _, part := range strings.SplitAfter(cond, "?") {
		if p, ok := strings.CutSuffix(part, "?"); ok {
			sb.WriteString(p)
			w.args = append(w.args, args[0])
			args = args[1:]
			sb.WriteString("$" + strconv.Itoa(len(w.args)))
			continue
		}
		sb.WriteString(part)
	}
	w.conds = append(w.conds, sb.String())
}

// arg reserves the next placeholder for an argument the caller appends.
func (w *where) arg(v any) string {
	w.args = append(w.args, v)
	return "$" + strconv.Itoa(len(w.args))
}

func (w *where) sql() (string, []any) {
	if len(w.conds) == 0 {
		return "", w.args
	}
	return " WHERE " + strings.Join(w.conds, " AND "), w.args
}
