package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/signet-pki/signet/internal/store"
)

// ListAuditEvents returns committed events after afterSeq in chain order.
// DetailsJSON holds the stored bytes the hash covers; Details their decoding.
func (r reader) ListAuditEvents(ctx context.Context, afterSeq int64, limit int) ([]store.AuditEvent, error) {
	events, err := queryMany(ctx, r.q, scanAuditEvent, `SELECT `+auditColumns+`
		FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?`, afterSeq, pageLimit(limit))
	return events, mapErr(err, "list audit events")
}

const auditColumns = `seq, time, principal, action, object_type, object_id, outcome, details, prev_hash, hash,
	org_id, source_ip`

// GetAuditEvent returns the event with sequence number seq.
func (r reader) GetAuditEvent(ctx context.Context, seq int64) (*store.AuditEvent, error) {
	var ev store.AuditEvent
	err := queryOne(ctx, r.q, func(s scanner) (err error) { ev, err = scanAuditEvent(s); return err },
		`SELECT `+auditColumns+` FROM audit_events WHERE seq = ?`, seq)
	if err != nil {
		return nil, mapErr(err, "get audit event")
	}
	return &ev, nil
}

// SearchAuditEvents filters the log in chain order. The organization,
// principal and object filters have indexes ordered by seq; the others are
// tested on the rows those (or the primary key) yield.
func (r reader) SearchAuditEvents(ctx context.Context, q store.AuditQuery) ([]store.AuditEvent, error) {
	query, args := `SELECT `+auditColumns+` FROM audit_events WHERE seq > ?`, []any{q.AfterSeq}
	for _, f := range []struct{ cond, val string }{
		{"org_id = ?", q.OrgID}, {"principal = ?", q.Principal}, {"object_type = ?", q.ObjectType},
		{"object_id = ?", q.ObjectID}, {"outcome = ?", q.Outcome},
	} {
		if f.val != "" {
			query, args = query+" AND "+f.cond, append(args, f.val)
		}
	}
	if prefix, ok := strings.CutSuffix(q.Action, "."); ok && prefix != "" {
		query, args = query+" AND action >= ? AND action < ?", append(args, prefix+".", prefix+"/")
	} else if q.Action != "" {
		query, args = query+" AND action = ?", append(args, q.Action)
	}
	if q.From != nil {
		query, args = query+" AND time >= ?", append(args, toDB(*q.From))
	}
	if q.To != nil {
		query, args = query+" AND time < ?", append(args, toDB(*q.To))
	}
	events, err := queryMany(ctx, r.q, scanAuditEvent, query+" ORDER BY seq LIMIT ?", append(args, pageLimit(q.Limit))...)
	return events, mapErr(err, "search audit events")
}

func scanAuditEvent(s scanner) (store.AuditEvent, error) {
	var ev store.AuditEvent
	var t int64
	var details string
	err := s.Scan(&ev.Seq, &t, &ev.Principal, &ev.Action, &ev.ObjectType, &ev.ObjectID, &ev.Outcome, &details,
		&ev.PrevHash, &ev.Hash, &ev.OrgID, &ev.SourceIP)
	if err != nil {
		return ev, err
	}
	ev.Time, ev.DetailsJSON = fromDB(t), []byte(details)
	// A row whose details do not decode still comes back (with DetailsJSON)
	// so that a verifier can report it rather than stop at it.
	_ = json.Unmarshal(ev.DetailsJSON, &ev.Details)
	return ev, nil
}

// appendEvents chains events after head and inserts them: the only code
// that writes audit rows. Times are cut to the stored precision before
// hashing, so the hash can be recomputed from the row.
func (w *writer) appendEvents(ctx context.Context, head chainHead, events []store.AuditEvent) (chainHead, error) {
	for _, ev := range events {
		ev.Seq = head.seq + 1
		if ev.Time.IsZero() {
			ev.Time = w.clock()
		}
		ev.Time = ev.Time.UTC().Truncate(store.AuditTimePrecision)
		if ev.DetailsJSON == nil { // a copied event keeps the exact bytes its hash covered
			ev.DetailsJSON = store.AuditDetailsJSON(ev.Details)
		}
		ev.PrevHash = head.hash
		ev.Hash = store.HashAuditEvent(ev.PrevHash, ev)
		_, err := w.q.ExecContext(ctx, `INSERT INTO audit_events
			(seq, time, principal, action, object_type, object_id, outcome, details, prev_hash, hash, org_id, source_ip)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			ev.Seq, toDB(ev.Time), ev.Principal, ev.Action, ev.ObjectType, ev.ObjectID, ev.Outcome,
			string(ev.DetailsJSON), ev.PrevHash, ev.Hash, ev.OrgID, ev.SourceIP)
		if err != nil {
			if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
				// Someone else appended (another process on this file): our
				// head is stale. Fail the attempt; the retry re-reads the head.
				w.q.aborted = fmt.Errorf("audit chain head moved under the writer: %w", err)
			}
			return head, fmt.Errorf("append audit event: %w", err)
		}
		head = chainHead{seq: ev.Seq, hash: ev.Hash}
	}
	return head, nil
}

func isConstraint(err error, code int) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == code
}
