package enrollsecret

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// Use is what a protocol presents a secret for.
type Use struct {
	ProfileID  string
	Protocol   string // est | scep
	CommonName string // the CSR's common name, checked against a bound subject
	For        string // what it enrolls (a transaction id), recorded on the secret
	// TLSUnique is the base64 tls-unique of the request's TLS connection
	// ("" without TLS 1.2) and ChallengePassword the CSR's: a secret bound to
	// the channel needs them equal.
	TLSUnique         string
	ChallengePassword string
}

// Used is a secret that has been accepted for a use.
type Used struct {
	ID        string
	OrgID     string
	ProfileID string
}

// Principal is the caller a secret enrolls as: a requester of the secret's
// organization whose id is the secret's, so its certificates are owned by
// the secret and the audit log names it.
func (u *Used) Principal(sourceIP string) *auth.Principal {
	return &auth.Principal{ID: u.ID, Name: u.ID, Kind: "enrollment_secret", OrgID: u.OrgID,
		Roles: []string{auth.RoleRequester}, Method: "enrollment_secret", SourceIP: sourceIP}
}

// invalid is the one answer to every bad secret, so a client learns nothing
// about which part was wrong.
func invalid() error {
	return problem.Unauthorized("invalid_enrollment_secret", "the enrollment secret is unknown, expired, already used, or not for this profile")
}

// check verifies a token against its record for a use, whatever its status.
func (s *Service) check(ctx context.Context, token string, use Use) (*store.ProtocolObject, *record, error) {
	id, ok := idOf(token)
	if !ok {
		return nil, nil, invalid()
	}
	o, err := s.store.GetProtocolObject(ctx, kindSecret, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, invalid()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("load enrollment secret: %w", err)
	}
	r, err := decode(o)
	if err != nil {
		return nil, nil, err
	}
	if subtle.ConstantTimeCompare(r.Hash, hashOf(token)) != 1 {
		return nil, nil, invalid()
	}
	if r.ProfileID != use.ProfileID || (r.Protocol != "" && r.Protocol != use.Protocol) {
		return nil, nil, invalid()
	}
	if o.ExpiresAt != nil && !s.now().Before(*o.ExpiresAt) {
		return nil, nil, invalid()
	}
	if r.BindTLS && (use.TLSUnique == "" || use.ChallengePassword != use.TLSUnique) {
		return nil, nil, problem.Forbidden("enrollment_secret_channel",
			"this enrollment secret needs the CSR's challengePassword to be the TLS 1.2 connection's tls-unique")
	}
	if r.Subject != "" && !strings.EqualFold(r.Subject, use.CommonName) {
		return nil, nil, problem.Forbidden("enrollment_secret_subject", "this enrollment secret is bound to another subject")
	}
	return o, r, nil
}

// Consume accepts a one-time secret for use and marks it used, atomically:
// a replayed or concurrently reused secret is refused.
func (s *Service) Consume(ctx context.Context, token string, use Use) (*Used, error) {
	o, r, err := s.check(ctx, token, use)
	if err != nil {
		return nil, err
	}
	if o.Status != statusActive {
		return nil, invalid()
	}
	now := s.now()
	r.UsedAt, r.UsedFor = &now, use.For
	o.Status, o.UpdatedAt = statusUsed, now
	err = s.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.UpdateProtocolObject(ctx, encode(o, r), statusActive); err != nil {
			if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
				return invalid()
			}
			return fmt.Errorf("consume enrollment secret: %w", err)
		}
		tx.AppendAudit(store.AuditEvent{Time: now, Principal: o.ID, Action: "enrollment_secret.use", ObjectType: "enrollment_secret",
			ObjectID: o.ID, Outcome: "success", OrgID: r.OrgID, Details: map[string]any{"protocol": use.Protocol, "for": use.For}})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Used{ID: o.ID, OrgID: r.OrgID, ProfileID: r.ProfileID}, nil
}

// Release gives a consumed secret back when the enrollment it was used for
// failed through no fault of the secret (a CSR outside the template): the
// device may retry with a corrected request. Only the use that consumed it
// may release it.
func (s *Service) Release(ctx context.Context, id, usedFor string) error {
	o, r, err := s.load(ctx, id)
	if err != nil {
		return err
	}
	if o.Status != statusUsed || r.UsedFor != usedFor {
		return nil
	}
	r.UsedAt, r.UsedFor = nil, ""
	o.Status, o.UpdatedAt = statusActive, s.now()
	return s.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.UpdateProtocolObject(ctx, encode(o, r), statusUsed); err != nil && !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("release enrollment secret: %w", err)
		}
		return nil
	})
}

// Verify checks a secret that was already consumed for the same use (a
// client polling for a pending enrollment presents it again).
func (s *Service) Verify(ctx context.Context, token string, use Use) (*Used, error) {
	o, r, err := s.check(ctx, token, use)
	if err != nil {
		return nil, err
	}
	if o.Status != statusUsed || r.UsedFor != use.For {
		return nil, invalid()
	}
	return &Used{ID: o.ID, OrgID: r.OrgID, ProfileID: r.ProfileID}, nil
}

// static is a profile's shared challenge for one protocol.
type static struct {
	ProfileID string    `json:"profile_id"`
	Protocol  string    `json:"protocol"`
	Hash      []byte    `json:"hash"`
	SetBy     string    `json:"set_by"`
	SetAt     time.Time `json:"set_at"`
}

// Static is a profile's shared challenge as the API shows it; Value only in
// the answer to setting it.
type Static struct {
	ProfileID string    `json:"profile_id"`
	Protocol  string    `json:"protocol"`
	Value     string    `json:"challenge,omitempty"`
	SetBy     string    `json:"set_by"`
	SetAt     time.Time `json:"set_at"`
}

// minStatic keeps a shared challenge out of guessing range.
const minStatic = 16

// SetStatic sets (or, with an empty value, generates) a profile's shared
// challenge for a protocol. Managers and admins of the profile's organization.
func (s *Service) SetStatic(ctx context.Context, profileRef, protocol, value string) (*Static, error) {
	if _, err := auth.Require(ctx, auth.PermProfileWrite); err != nil {
		return nil, err
	}
	if protocol != "scep" {
		// EST authenticates devices with certificates, accounts or one-time
		// secrets; a shared static password is SCEP's legacy alone.
		return nil, problem.Invalid("protocol_invalid", "a static challenge is for scep")
	}
	prof, err := s.profiles.Resolve(ctx, profileRef)
	if err != nil {
		return nil, err
	}
	caller, err := auth.RequireIn(ctx, auth.PermProfileWrite, prof.Profile.OrgID)
	if err != nil {
		return nil, err
	}
	if err := allows(prof, protocol); err != nil {
		return nil, err
	}
	if value == "" {
		value = newToken("esec_static")
		value = value[strings.IndexByte(value, '.')+1:]
	}
	if len(value) < minStatic || len(value) > 128 {
		return nil, problem.Invalid("challenge_invalid", "a static challenge is %d to 128 characters", minStatic)
	}
	now := s.now()
	st := static{ProfileID: prof.Profile.ID, Protocol: protocol, Hash: hashOf(value), SetBy: caller.ID, SetAt: now}
	o := encode(&store.ProtocolObject{Kind: kindStatic, ID: protocol + ":" + prof.Profile.ID, AccountID: prof.Profile.OrgID,
		Status: statusActive, CreatedAt: now, UpdatedAt: now}, st)
	err = s.store.Update(ctx, func(tx store.Tx) error {
		err := tx.UpdateProtocolObject(ctx, o, statusActive)
		if errors.Is(err, store.ErrNotFound) {
			err = tx.InsertProtocolObject(ctx, o)
		}
		if err != nil {
			return fmt.Errorf("save static challenge: %w", err)
		}
		tx.AppendAudit(caller.Event(now, prof.Profile.OrgID, "enrollment_secret.static.set", "profile", prof.Profile.ID,
			map[string]any{"protocol": protocol}))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Static{ProfileID: prof.Profile.ID, Protocol: protocol, Value: value, SetBy: caller.ID, SetAt: now}, nil
}

// DeleteStatic removes a profile's shared challenge.
func (s *Service) DeleteStatic(ctx context.Context, profileRef, protocol string) error {
	if _, err := auth.Require(ctx, auth.PermProfileWrite); err != nil {
		return err
	}
	prof, err := s.profiles.Resolve(ctx, profileRef)
	if err != nil {
		return err
	}
	caller, err := auth.RequireIn(ctx, auth.PermProfileWrite, prof.Profile.OrgID)
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.DeleteProtocolObject(ctx, kindStatic, protocol+":"+prof.Profile.ID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return problem.NotFound("static_challenge_not_found", "profile %s has no static %s challenge", prof.Profile.Name, protocol)
			}
			return fmt.Errorf("delete static challenge: %w", err)
		}
		tx.AppendAudit(caller.Event(s.now(), prof.Profile.OrgID, "enrollment_secret.static.delete", "profile", prof.Profile.ID,
			map[string]any{"protocol": protocol}))
		return nil
	})
}

// CheckStatic reports whether value is the profile's shared challenge for
// protocol (false when it has none). Compared in constant time.
func (s *Service) CheckStatic(ctx context.Context, profileID, protocol, value string) (bool, error) {
	o, err := s.store.GetProtocolObject(ctx, kindStatic, protocol+":"+profileID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("load static challenge: %w", err)
	}
	var st static
	if err := decodeInto(o, &st); err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(st.Hash, hashOf(value)) == 1, nil
}

func decodeInto(o *store.ProtocolObject, v any) error {
	if err := json.Unmarshal(o.Data, v); err != nil {
		return fmt.Errorf("%s %s is corrupt: %w", o.Kind, o.ID, err)
	}
	return nil
}
