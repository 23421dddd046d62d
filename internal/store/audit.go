package store

import (
	"crypto/sha256"
	"encoding/json"
	"time"
)

// AuditTimePrecision is the resolution at which audit times are stored and
// hashed. Microseconds is what PostgreSQL's timestamptz keeps, so every
// backend stores exactly the instant the hash covers.
const AuditTimePrecision = time.Microsecond

// canonicalEvent fixes the field order of the bytes an audit hash covers.
type canonicalEvent struct {
	Seq        int64           `json:"seq"`
	Time       string          `json:"time"`
	Principal  string          `json:"principal"`
	Action     string          `json:"action"`
	ObjectType string          `json:"object_type"`
	ObjectID   string          `json:"object_id"`
	Outcome    string          `json:"outcome"`
	Details    json.RawMessage `json:"details"`
	// Added after the first release: omitted when empty so that events
	// written before they existed hash exactly as they did then.
	OrgID    string `json:"org_id,omitempty"`
	SourceIP string `json:"source_ip,omitempty"`
}

// AuditDetailsJSON is the stored form of an event's details. encoding/json
// sorts map keys, so it is deterministic; the hash covers these exact bytes,
// which is what a verifier reads back.
func AuditDetailsJSON(details map[string]any) []byte {
	if len(details) == 0 {
		return []byte("{}")
	}
	b, err := json.Marshal(details)
	if err != nil {
		return []byte(`{"_unencodable":true}`)
	}
	return b
}

// HashAuditEvent is SHA-256(prev || canonical(ev)), the link of the audit
// chain; every backend and the verifier use this one function. The details
// covered are ev.DetailsJSON when set (an event read back from storage),
// otherwise AuditDetailsJSON(ev.Details). ev.Time must already be at
// AuditTimePrecision, as writers store it, or a re-computation from the
// stored row will not match.
func HashAuditEvent(prev []byte, ev AuditEvent) []byte {
	details := ev.DetailsJSON
	if details == nil {
		details = AuditDetailsJSON(ev.Details)
	}
	c := canonicalEvent{Seq: ev.Seq, Time: ev.Time.UTC().Format(time.RFC3339Nano), Principal: ev.Principal,
		Action: ev.Action, ObjectType: ev.ObjectType, ObjectID: ev.ObjectID, Outcome: ev.Outcome, Details: details,
		OrgID: ev.OrgID, SourceIP: ev.SourceIP}
	h := sha256.New()
	h.Write(prev)
	b, err := json.Marshal(c)
	if err != nil {
		// Only stored details that are not JSON (a damaged or tampered row)
		// get here. Hash them raw under a prefix no canonical encoding (which
		// starts with '{') can produce, so they cannot pass for valid ones.
		c.Details = nil
		b, _ = json.Marshal(c)
		h.Write([]byte("\x00invalid-details\x00"))
		h.Write(details)
	}
	h.Write(b)
	return h.Sum(nil)
}
