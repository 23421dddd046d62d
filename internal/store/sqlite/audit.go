package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/signet-pki/signet/internal/store"
)

// ListAuditEvents returns committed events after afterSeq in chain order.
// DetailsJSON holds the stored bytes the hash covers; Details their decoding.
func (r reader) ListAuditEvents(ctx context.Context, afterSeq int64, limit int) ([]store.AuditEvent, error) {
	events, err := queryMany(ctx, r.q, scanAuditEvent, `SELECT seq, time, principal, action, object_type, object_id,
		outcome, details, prev_hash, hash FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?`, afterSeq, pageLimit(limit))
	return events, mapErr(err, "list audit events")
}

func scanAuditEvent(s scanner) (store.AuditEvent, error) {
	var ev store.AuditEvent
	var t int64
	var details string
	err := s.Scan(&ev.Seq, &t, &ev.Principal, &ev.Action, &ev.ObjectType, &ev.ObjectID, &ev.Outcome, &details,
		&ev.PrevHash, &ev.Hash)
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
		ev.DetailsJSON = store.AuditDetailsJSON(ev.Details)
		ev.PrevHash = head.hash
		ev.Hash = store.HashAuditEvent(ev.PrevHash, ev)
		_, err := w.q.ExecContext(ctx, `INSERT INTO audit_events
			(seq, time, principal, action, object_type, object_id, outcome, details, prev_hash, hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			ev.Seq, toDB(ev.Time), ev.Principal, ev.Action, ev.ObjectType, ev.ObjectID, ev.Outcome,
			string(ev.DetailsJSON), ev.PrevHash, ev.Hash)
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
