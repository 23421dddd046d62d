// Package enrollsecret keeps the credentials devices enroll with when they
// have no Signet account: one-time enrollment secrets a manager creates for
// a profile (EST's HTTP Basic password or CSR challengePassword, SCEP's
// dynamic challenge as MDMs such as Intune and Jamf fetch them), and a
// static challenge per profile (SCEP's classic shared challenge).
//
// Secrets are stored hashed (SHA-256 of 160+ random bits: a slow hash adds
// nothing to that entropy) in the store's ProtocolObject table and are
// consumed atomically: of two concurrent uses, one wins. A secret enrolls as
// a requester-level principal of its organization whose id is the secret's,
// so the certificates it obtains are owned by, and audited as, that secret.
package enrollsecret

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/profile"
	"github.com/signet-pki/signet/internal/store"
)

// Kinds of store.ProtocolObject this package keeps.
const (
	kindSecret = "enrollsecret.secret" // ID: esec_...; AccountID: organization; Status: active | used
	kindStatic = "enrollsecret.static" // ID: protocol + ":" + profile id; Status: active
)

const (
	statusActive = "active"
	statusUsed   = "used"
)

// Protocols a secret may be restricted to. CMP is not one: its MAC
// protection needs the shared secret itself, which these hashed secrets
// cannot give back; CMP has its own (sealed) secrets, /api/v1/cmp/secrets.
var protocols = []string{"est", "scep"}

// Store is the persistence the service needs.
type Store interface {
	GetProtocolObject(ctx context.Context, kind, id string) (*store.ProtocolObject, error)
	ListProtocolObjects(ctx context.Context, kind, accountID string, limit int, cursor string) ([]store.ProtocolObject, string, error)
	Update(ctx context.Context, fn func(tx store.Tx) error) error
}

// Profiles resolves profile references.
type Profiles interface {
	Resolve(ctx context.Context, ref string) (*profile.Resolved, error)
}

// Orgs picks the organization an administrative call acts in (auth.Directory).
type Orgs interface {
	TargetOrg(ctx context.Context, p *auth.Principal, requested string) (string, error)
}

// Service manages and checks enrollment secrets.
type Service struct {
	store    Store
	profiles Profiles
	orgs     Orgs
	now      func() time.Time
}

// New returns the service.
func New(s Store, profiles Profiles, orgs Orgs, now func() time.Time) *Service {
	return &Service{store: s, profiles: profiles, orgs: orgs, now: now}
}

// DefaultLifetime is how long a secret stays usable unless asked otherwise.
const DefaultLifetime = 7 * 24 * time.Hour

// expiredRetention is how long an expired secret is still listed.
const expiredRetention = 30 * 24 * time.Hour

// maxLifetime bounds a one-time secret: a forgotten one should not stay a
// way in for ever.
const maxLifetime = 366 * 24 * time.Hour

// Input creates a one-time secret. Profile is required; Org defaults to the
// profile's.
type Input struct {
	Profile  string `json:"profile"`
	Protocol string `json:"protocol,omitempty"` // est | scep; "" = either
	// Subject, when set, is the only common name a CSR enrolled with the
	// secret may carry.
	Subject string `json:"subject,omitempty"`
	Name    string `json:"name,omitempty"`
	// BindTLSUnique asks EST clients to prove the CSR was made on the TLS
	// connection it arrives on (RFC 7030 section 3.5): the CSR's
	// challengePassword must be the connection's tls-unique (TLS 1.2), and
	// the secret then travels as the HTTP Basic password.
	BindTLSUnique bool `json:"bind_tls_unique,omitempty"`
	// ExpiresIn is the lifetime in seconds (default 7 days, at most 366).
	ExpiresIn int64 `json:"expires_in,omitempty"`
}

// Secret is a one-time secret as the API shows it; Value is set only in the
// answer to its creation.
type Secret struct {
	ID        string     `json:"id"`
	Value     string     `json:"secret,omitempty"`
	OrgID     string     `json:"org_id"`
	ProfileID string     `json:"profile_id"`
	Profile   string     `json:"profile"`
	Protocol  string     `json:"protocol,omitempty"`
	Subject   string     `json:"subject,omitempty"`
	Name      string     `json:"name,omitempty"`
	BindTLS   bool       `json:"bind_tls_unique,omitempty"`
	Status    string     `json:"status"` // active | used | expired
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	UsedAt    *time.Time `json:"used_at,omitempty"`
	UsedFor   string     `json:"used_for,omitempty"` // what it enrolled (protocol transaction)
}

// record is what is stored: the view without the secret, plus its hash.
type record struct {
	OrgID     string     `json:"org_id"`
	ProfileID string     `json:"profile_id"`
	Profile   string     `json:"profile"`
	Protocol  string     `json:"protocol,omitempty"`
	Subject   string     `json:"subject,omitempty"`
	Name      string     `json:"name,omitempty"`
	BindTLS   bool       `json:"bind_tls_unique,omitempty"`
	Hash      []byte     `json:"hash"`
	CreatedBy string     `json:"created_by"`
	UsedAt    *time.Time `json:"used_at,omitempty"`
	UsedFor   string     `json:"used_for,omitempty"`
}

var tokenEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newToken returns the secret text: "<id suffix>.<32 random base32 chars>".
// Only letters, digits and "." so that it fits a PrintableString (SCEP's
// challengePassword) and an HTTP Basic password unchanged; the id part
// finds the record without a scan.
func newToken(id string) string {
	var b [20]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms
	return strings.TrimPrefix(id, "esec_") + "." + tokenEncoding.EncodeToString(b[:])
}

// idOf returns the record id a token names: its shape is exact (16 + 32
// base32 characters around a dot), so API keys ("sgt_...") and passwords
// are not mistaken for secrets.
func idOf(token string) (string, bool) {
	idPart, rest, ok := strings.Cut(token, ".")
	if !ok || len(idPart) != 16 || len(rest) != 32 || !base32Only(idPart) || !base32Only(rest) {
		return "", false
	}
	return "esec_" + idPart, true
}

func base32Only(s string) bool {
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}

// SecretID returns the id of the secret a token would be, and whether it has
// the shape of one, so a transport can tell a secret from a password
// before looking anything up.
func SecretID(token string) (string, bool) { return idOf(token) }

func hashOf(token string) []byte {
	sum := sha256.Sum256([]byte("signet-enrollment-secret:" + token))
	return sum[:]
}

func (s *Service) view(o *store.ProtocolObject, r *record) Secret {
	v := Secret{ID: o.ID, OrgID: r.OrgID, ProfileID: r.ProfileID, Profile: r.Profile, Protocol: r.Protocol, Subject: r.Subject,
		Name: r.Name, BindTLS: r.BindTLS, Status: o.Status, CreatedBy: r.CreatedBy, CreatedAt: o.CreatedAt, UsedAt: r.UsedAt, UsedFor: r.UsedFor}
	if o.ExpiresAt != nil {
		v.ExpiresAt = *o.ExpiresAt
		if v.Status == statusActive && !s.now().Before(*o.ExpiresAt) {
			v.Status = "expired"
		}
	}
	return v
}

func decode(o *store.ProtocolObject) (*record, error) {
	var r record
	if err := json.Unmarshal(o.Data, &r); err != nil {
		return nil, fmt.Errorf("enrollment secret %s is corrupt: %w", o.ID, err)
	}
	return &r, nil
}

func encode(o *store.ProtocolObject, v any) *store.ProtocolObject {
	o.Data, _ = json.Marshal(v) // plain records always marshal
	return o
}

// Create makes a one-time secret for a profile. Managers and admins of the
// profile's organization may; the secret is returned this once.
func (s *Service) Create(ctx context.Context, in Input) (*Secret, error) {
	if _, err := auth.Require(ctx, auth.PermProfileWrite); err != nil {
		return nil, err
	}
	if in.Profile == "" {
		return nil, problem.Invalid("profile_required", "an enrollment secret is for one profile: name it")
	}
	if in.Protocol == "cmp" {
		return nil, problem.Invalid("protocol_invalid",
			"CMP protects messages with a MAC under the shared secret itself: create CMP secrets at /api/v1/cmp/secrets (signet cmp-secret create)")
	}
	if in.Protocol != "" && !slices.Contains(protocols, in.Protocol) {
		return nil, problem.Invalid("protocol_invalid", "protocol must be one of %v (or empty for any)", protocols)
	}
	if len(in.Subject) > 256 || len(strings.TrimSpace(in.Name)) > 100 {
		return nil, problem.Invalid("field_too_long", "subject is at most 256 characters, name at most 100")
	}
	life := DefaultLifetime
	if in.ExpiresIn != 0 {
		if in.ExpiresIn < 60 || time.Duration(in.ExpiresIn)*time.Second > maxLifetime {
			return nil, problem.Invalid("expires_in_invalid", "expires_in is between 60 seconds and 366 days")
		}
		life = time.Duration(in.ExpiresIn) * time.Second
	}
	prof, err := s.profiles.Resolve(ctx, in.Profile)
	if err != nil {
		return nil, err
	}
	caller, err := auth.RequireIn(ctx, auth.PermProfileWrite, prof.Profile.OrgID)
	if err != nil {
		return nil, err
	}
	if err := allows(prof, in.Protocol); err != nil {
		return nil, err
	}
	if in.BindTLSUnique && in.Protocol != "est" {
		return nil, problem.Invalid("bind_tls_unique_needs_est", "only EST secrets can be bound to the TLS channel (protocol est)")
	}
	now := s.now()
	exp := now.Add(life)
	id := store.NewID("esec")
	token := newToken(id)
	r := &record{OrgID: prof.Profile.OrgID, ProfileID: prof.Profile.ID, Profile: prof.Profile.Name, Protocol: in.Protocol,
		Subject: in.Subject, Name: strings.TrimSpace(in.Name), BindTLS: in.BindTLSUnique, Hash: hashOf(token), CreatedBy: caller.ID}
	o := encode(&store.ProtocolObject{Kind: kindSecret, ID: id, AccountID: r.OrgID, Status: statusActive, ExpiresAt: &exp,
		CreatedAt: now, UpdatedAt: now}, r)
	err = s.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.InsertProtocolObject(ctx, o); err != nil {
			return fmt.Errorf("insert enrollment secret: %w", err)
		}
		// Secrets expired for a while go as new ones are made (listed as
		// "expired" until then, so a manager sees why a device failed).
		if _, err := tx.DeleteExpiredProtocolObjects(ctx, kindSecret, now.Add(-expiredRetention)); err != nil {
			return fmt.Errorf("sweep expired enrollment secrets: %w", err)
		}
		tx.AppendAudit(caller.Event(now, r.OrgID, "enrollment_secret.create", "enrollment_secret", id,
			map[string]any{"profile": r.ProfileID, "protocol": r.Protocol, "subject": r.Subject, "expires_at": exp}))
		return nil
	})
	if err != nil {
		return nil, err
	}
	v := s.view(o, r)
	v.Value = token
	return &v, nil
}

// allows checks that the profile accepts the protocol(s) a secret is for.
func allows(prof *profile.Resolved, protocol string) error {
	want := protocols
	if protocol != "" {
		want = []string{protocol}
	}
	for _, p := range want {
		if slices.Contains(prof.Profile.EnrollmentMethods, p) {
			return nil
		}
	}
	return problem.Invalid("profile_without_protocol", "profile %s allows none of the enrollment methods %v", prof.Profile.Name, want)
}

// List pages an organization's secrets (never their values).
func (s *Service) List(ctx context.Context, org string, limit int, cursor string) ([]Secret, string, error) {
	// Managers, admins and auditors (like API keys and EAB keys): requesters
	// have no business knowing which devices may enroll.
	caller, err := auth.Require(ctx, auth.PermKeyRead)
	if err != nil {
		return nil, "", err
	}
	orgID, err := s.orgs.TargetOrg(ctx, caller, org)
	if err != nil {
		return nil, "", err
	}
	if _, err := auth.RequireIn(ctx, auth.PermKeyRead, orgID); err != nil {
		return nil, "", err
	}
	objs, next, err := s.store.ListProtocolObjects(ctx, kindSecret, orgID, limit, cursor)
	if errors.Is(err, store.ErrBadCursor) {
		return nil, "", problem.Invalid("cursor_invalid", "the cursor is malformed")
	}
	if err != nil {
		return nil, "", fmt.Errorf("list enrollment secrets: %w", err)
	}
	out := make([]Secret, 0, len(objs))
	for i := range objs {
		r, err := decode(&objs[i])
		if err != nil {
			return nil, "", err
		}
		out = append(out, s.view(&objs[i], r))
	}
	return out, next, nil
}

// Get returns one secret (without its value).
func (s *Service) Get(ctx context.Context, id string) (*Secret, error) {
	if _, err := auth.Require(ctx, auth.PermKeyRead); err != nil {
		return nil, err
	}
	o, r, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if _, err := auth.RequireIn(ctx, auth.PermKeyRead, r.OrgID); err != nil {
		return nil, err
	}
	v := s.view(o, r)
	return &v, nil
}

func (s *Service) load(ctx context.Context, id string) (*store.ProtocolObject, *record, error) {
	o, err := s.store.GetProtocolObject(ctx, kindSecret, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, problem.NotFound("enrollment_secret_not_found", "no enrollment secret %q", id)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("load enrollment secret: %w", err)
	}
	r, err := decode(o)
	if err != nil {
		return nil, nil, err
	}
	return o, r, nil
}

// Delete removes a secret: it can no longer enroll. Certificates it
// enrolled stay (revoke them to stop them).
func (s *Service) Delete(ctx context.Context, id string) error {
	if _, err := auth.Require(ctx, auth.PermProfileWrite); err != nil {
		return err
	}
	_, r, err := s.load(ctx, id)
	if err != nil {
		return err
	}
	caller, err := auth.RequireIn(ctx, auth.PermProfileWrite, r.OrgID)
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.DeleteProtocolObject(ctx, kindSecret, id); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return problem.NotFound("enrollment_secret_not_found", "no enrollment secret %q", id)
			}
			return fmt.Errorf("delete enrollment secret: %w", err)
		}
		tx.AppendAudit(caller.Event(s.now(), r.OrgID, "enrollment_secret.delete", "enrollment_secret", id, nil))
		return nil
	})
}
