package cmp

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// Shared secrets (RFC 9483 section 4.1.1's "MAC-based protection" with a
// reference and a secret): created by a manager for one profile, good for
// one enrollment. A MAC needs the secret itself, so it cannot be stored
// hashed; it is sealed with the CA key sealer (AES-256-GCM under the
// passphrase's KEK, bound to the secret's id) as the seed of an Ed25519
// key, the one kind of value the sealer takes (see docs/decisions.md).

// SecretInput creates a shared secret.
type SecretInput struct {
	Profile  string `json:"profile"` // id or name; required
	Name     string `json:"name,omitempty"`
	TTLHours int    `json:"ttl_hours,omitempty"` // default 168 (7 days), at most 8760
}

// Secret is a shared secret as the API shows it. Secret is set only in the
// answer to its creation.
type Secret struct {
	Reference   string     `json:"reference"` // what clients send as senderKID (openssl cmp -ref)
	Secret      string     `json:"secret,omitempty"`
	OrgID       string     `json:"org_id"`
	ProfileID   string     `json:"profile_id"`
	Name        string     `json:"name,omitempty"`
	Status      string     `json:"status"` // active | used
	CreatedBy   string     `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   time.Time  `json:"expires_at"`
	UsedAt      *time.Time `json:"used_at,omitempty"`
	Transaction string     `json:"transaction,omitempty"` // hex transactionID of the enrollment that used it
}

const (
	secretActive    = "active"
	secretUsed      = "used"
	secretBytes     = ed25519.SeedSize
	defaultTTLHours = 7 * 24
	maxTTLHours     = 365 * 24
)

// secretRecord is the stored JSON of kindSecret.
type secretRecord struct {
	OrgID       string    `json:"org_id"`
	ProfileID   string    `json:"profile_id"`
	Name        string    `json:"name,omitempty"`
	Sealed      []byte    `json:"sealed"`
	CreatedBy   string    `json:"created_by"`
	UsedAt      time.Time `json:"used_at,omitzero"`
	Transaction string    `json:"transaction,omitempty"`

	obj store.ProtocolObject
}

func (k *secretRecord) view() Secret {
	v := Secret{Reference: k.obj.ID, OrgID: k.OrgID, ProfileID: k.ProfileID, Name: k.Name, Status: k.obj.Status,
		CreatedBy: k.CreatedBy, CreatedAt: k.obj.CreatedAt, Transaction: k.Transaction}
	if k.obj.ExpiresAt != nil {
		v.ExpiresAt = *k.obj.ExpiresAt
	}
	if !k.UsedAt.IsZero() {
		t := k.UsedAt
		v.UsedAt = &t
	}
	return v
}

var b64 = base64.RawURLEncoding

// CreateSecret makes a one-time shared secret for a CMP profile (managers
// and admins of its organization). The secret is returned this once.
func (s *Service) CreateSecret(ctx context.Context, in SecretInput) (*Secret, error) {
	if _, err := auth.Require(ctx, auth.PermProfileWrite); err != nil {
		return nil, err
	}
	if in.Profile == "" {
		return nil, problem.Invalid("profile_required", "a shared secret is for one profile: name it")
	}
	prof, err := s.profiles.Resolve(ctx, in.Profile)
	if err != nil {
		return nil, err
	}
	caller, err := auth.RequireIn(ctx, auth.PermProfileWrite, prof.Profile.OrgID)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(prof.Profile.EnrollmentMethods, method) {
		return nil, problem.Invalid("profile_without_cmp", "profile %s does not allow the cmp enrollment method", prof.Profile.Name)
	}
	if in.Name = strings.TrimSpace(in.Name); len(in.Name) > 100 {
		return nil, problem.Invalid("name_invalid", "name is at most 100 characters")
	}
	if in.TTLHours == 0 {
		in.TTLHours = defaultTTLHours
	}
	if in.TTLHours < 1 || in.TTLHours > maxTTLHours {
		return nil, problem.Invalid("ttl_invalid", "ttl_hours is 1 to %d", maxTTLHours)
	}
	seed := make([]byte, secretBytes)
	if _, err := rand.Read(seed); err != nil {
		return nil, fmt.Errorf("shared secret: %w", err)
	}
	now := s.now()
	exp := now.Add(time.Duration(in.TTLHours) * time.Hour)
	k := &secretRecord{OrgID: prof.Profile.OrgID, ProfileID: prof.Profile.ID, Name: in.Name, CreatedBy: caller.ID}
	k.obj = store.ProtocolObject{Kind: kindSecret, ID: store.NewID("cmpref"), AccountID: k.OrgID, Status: secretActive,
		ExpiresAt: &exp, CreatedAt: now, UpdatedAt: now}
	if k.Sealed, err = s.sealer.Seal(ed25519.NewKeyFromSeed(seed), sealID(k.obj.ID)); err != nil {
		return nil, fmt.Errorf("seal shared secret: %w", err)
	}
	err = s.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.InsertProtocolObject(ctx, encode(&k.obj, k)); err != nil {
			return fmt.Errorf("insert shared secret: %w", err)
		}
		tx.AppendAudit(caller.Event(now, k.OrgID, "cmp.secret.create", "cmp_secret", k.obj.ID,
			map[string]any{"profile": k.ProfileID, "name": k.Name, "expires_at": exp}))
		return nil
	})
	if err != nil {
		return nil, err
	}
	v := k.view()
	v.Secret = b64.EncodeToString(seed)
	return &v, nil
}

// sealID binds a sealed secret to its record.
func sealID(ref string) string { return "cmp-secret:" + ref }

// ListSecrets pages an organization's shared secrets, without the secrets.
func (s *Service) ListSecrets(ctx context.Context, org string, limit int, cursor string) ([]Secret, string, error) {
	caller, err := auth.Require(ctx, auth.PermKeyRead)
	if err != nil {
		return nil, "", err
	}
	orgID, err := s.orgs.TargetOrg(ctx, caller, org)
	if err != nil {
		return nil, "", err
	}
	objs, next, err := s.store.ListProtocolObjects(ctx, kindSecret, orgID, limit, cursor)
	if errors.Is(err, store.ErrBadCursor) {
		return nil, "", problem.Invalid("cursor_invalid", "the cursor is malformed")
	}
	if err != nil {
		return nil, "", fmt.Errorf("list shared secrets: %w", err)
	}
	out := make([]Secret, 0, len(objs))
	for i := range objs {
		k := &secretRecord{obj: objs[i]}
		if err := decode(&objs[i], k); err != nil {
			return nil, "", err
		}
		out = append(out, k.view())
	}
	return out, next, nil
}

// GetSecret shows one shared secret, without the secret.
func (s *Service) GetSecret(ctx context.Context, ref string) (*Secret, error) {
	if _, err := auth.Require(ctx, auth.PermKeyRead); err != nil {
		return nil, err
	}
	o, err := s.store.GetProtocolObject(ctx, kindSecret, ref)
	if errors.Is(err, store.ErrNotFound) {
		return nil, problem.NotFound("cmp_secret_not_found", "no CMP shared secret %q", ref)
	}
	if err != nil {
		return nil, fmt.Errorf("load shared secret: %w", err)
	}
	if _, err := auth.RequireIn(ctx, auth.PermKeyRead, o.AccountID); err != nil {
		return nil, err
	}
	k := &secretRecord{obj: *o}
	if err := decode(o, k); err != nil {
		return nil, err
	}
	v := k.view()
	return &v, nil
}

// DeleteSecret removes a shared secret: it can no longer protect anything.
func (s *Service) DeleteSecret(ctx context.Context, ref string) error {
	if _, err := auth.Require(ctx, auth.PermProfileWrite); err != nil {
		return err
	}
	o, err := s.store.GetProtocolObject(ctx, kindSecret, ref)
	if errors.Is(err, store.ErrNotFound) {
		return problem.NotFound("cmp_secret_not_found", "no CMP shared secret %q", ref)
	}
	if err != nil {
		return fmt.Errorf("load shared secret: %w", err)
	}
	caller, err := auth.RequireIn(ctx, auth.PermProfileWrite, o.AccountID)
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.DeleteProtocolObject(ctx, kindSecret, ref); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return problem.NotFound("cmp_secret_not_found", "no CMP shared secret %q", ref)
			}
			return fmt.Errorf("delete shared secret: %w", err)
		}
		tx.AppendAudit(caller.Event(s.now(), o.AccountID, "cmp.secret.delete", "cmp_secret", ref, nil))
		return nil
	})
}

// loadSecret finds the secret a MAC-protected request names and opens it.
// Any problem is the same failure, so a client learns nothing about which
// part was wrong.
func (s *Service) loadSecret(ctx context.Context, ref string, profileID string, tid string) (*secretRecord, []byte, error) {
	o, err := s.store.GetProtocolObject(ctx, kindSecret, ref)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.log.ErrorContext(ctx, "cannot load a CMP shared secret", "reference", ref, "err", err)
		}
		return nil, nil, errUnknownSecret
	}
	k := &secretRecord{obj: *o}
	if err := decode(o, k); err != nil {
		return nil, nil, fmt.Errorf("decode shared secret: %w", err)
	}
	if k.ProfileID != profileID || (o.ExpiresAt != nil && s.now().After(*o.ExpiresAt)) {
		return nil, nil, errUnknownSecret
	}
	// A used secret still protects the rest of its own transaction
	// (certConf, pollReq), never a new one.
	if o.Status != secretActive && (o.Status != secretUsed || k.Transaction != tid) {
		return nil, nil, errUsedSecret
	}
	key, err := s.sealer.Open(k.Sealed, sealID(ref))
	if err != nil {
		return nil, nil, fmt.Errorf("open shared secret %s: %w", ref, err)
	}
	ed, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, nil, fmt.Errorf("shared secret %s is not sealed as a seed", ref)
	}
	return k, []byte(b64.EncodeToString(ed.Seed())), nil
}

var (
	errUnknownSecret = errors.New("unknown, expired or other profile's shared secret")
	errUsedSecret    = errors.New("the shared secret has already been used")
)

// consumeSecret marks a secret used by transaction tid, atomically: of two
// concurrent uses one fails.
func (s *Service) consumeSecret(ctx context.Context, tx store.Tx, k *secretRecord, tid string) error {
	if k.obj.Status == secretUsed {
		return nil // this transaction's own, already consumed
	}
	k.obj.Status, k.UsedAt, k.Transaction, k.obj.UpdatedAt = secretUsed, s.now(), tid, s.now()
	if err := tx.UpdateProtocolObject(ctx, encode(&k.obj, k), secretActive); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return errUsedSecret
		}
		return fmt.Errorf("consume shared secret: %w", err)
	}
	return nil
}

// releaseSecret gives a secret back after its enrollment was refused, so
// the device may retry with a corrected request.
func (s *Service) releaseSecret(ctx context.Context, k *secretRecord) {
	k.obj.Status, k.UsedAt, k.Transaction, k.obj.UpdatedAt = secretActive, time.Time{}, "", s.now()
	err := s.store.Update(ctx, func(tx store.Tx) error {
		return tx.UpdateProtocolObject(ctx, encode(&k.obj, k), secretUsed)
	})
	if err != nil {
		s.log.WarnContext(ctx, "cannot release a CMP shared secret after a refused enrollment", "reference", k.obj.ID, "err", err)
	}
}
