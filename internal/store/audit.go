package store

import (
	"crypto/sha256"
	"encoding/json"
	"time"
)

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
// chain. Every backend and the verifier use this one function.
func HashAuditEvent(prev []byte, ev AuditEvent, detailsJSON []byte) []byte {
	b, _ := json.Marshal(canonicalEvent{Seq: ev.Seq, Time: ev.Time.UTC().Format(time.RFC3339Nano), Principal: ev.Principal,
		Action: ev.Action, ObjectType: ev.ObjectType, ObjectID: ev.ObjectID, Outcome: ev.Outcome, Details: detailsJSON})
	h := sha256.New()
	h.Write(prev)
	h.Write(b)
	return h.Sum(nil)
}
