package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// tokenPrefix marks Signet API keys so secret scanners and humans recognise them.
const tokenPrefix = "sgt_"

// KeyStore is the persistence the API key service needs.
type KeyStore interface {
	GetAPIKey(ctx context.Context, id string) (*store.APIKey, error)
	GetPrincipal(ctx context.Context, id string) (*store.Principal, error)
	GetPrincipalByName(ctx context.Context, name string) (*store.Principal, error)
	ListAPIKeys(ctx context.Context, q store.ListQuery) ([]store.APIKey, string, error)
	Update(ctx context.Context, fn func(tx store.Tx) error) error
	TouchAPIKey(ctx context.Context, id string, at time.Time) error
}

// APIKeys creates, authenticates and revokes API keys.
type APIKeys struct {
	store KeyStore
	now   func() time.Time

	mu     sync.Mutex
	recent map[[32]byte]cachedKey // token hash -> verified key, see authCacheTTL
}

// authCacheTTL bounds how long a verified key is trusted without reading the
// store again. A revocation on this node takes effect at once (it clears the
// cache); the TTL bounds how long another node sharing the database may still
// accept a key revoked elsewhere.
const authCacheTTL = 2 * time.Second

type cachedKey struct {
	key       *store.APIKey
	principal *store.Principal
	at        time.Time
}

// NewAPIKeys returns the API key service.
func NewAPIKeys(s KeyStore, now func() time.Time) *APIKeys {
	return &APIKeys{store: s, now: now, recent: map[[32]byte]cachedKey{}}
}

// NewKey is what a caller asks for.
type NewKey struct {
	Name        string
	PrincipalID string   // defaults to the caller
	Roles       []string // defaults to the principal's roles; may only narrow them
	ExpiresAt   *time.Time
	// Secret, when set, is used instead of a random one (bootstrap via SIGNET_ADMIN_API_KEY).
	Secret string
}

// Create makes a key and returns it with its token, which is shown only now.
func (s *APIKeys) Create(ctx context.Context, in NewKey) (*store.APIKey, string, error) {
	caller := PrincipalFrom(ctx)
	if caller == nil {
		return nil, "", problem.Unauthorized("unauthenticated", "authentication required")
	}
	if in.Name == "" || len(in.Name) > 100 {
		return nil, "", problem.Invalid("name_invalid", "name is required (at most 100 characters)")
	}
	if in.ExpiresAt != nil && !in.ExpiresAt.After(s.now()) {
		return nil, "", problem.Invalid("expires_at_past", "expires_at must be in the future")
	}
	owner, err := s.keyOwner(ctx, caller, in.PrincipalID)
	if err != nil {
		return nil, "", err
	}
	if len(in.Roles) == 0 {
		in.Roles = slices.Clone(owner.Roles)
	}
	if err := ValidRoles(in.Roles); err != nil {
		return nil, "", err
	}
	if !rolesWithin(owner.Roles, in.Roles) {
		return nil, "", problem.Forbidden("roles_exceed_principal", "principal %s holds %v; a key may only narrow its roles", owner.ID, owner.Roles)
	}
	if owner.ID == caller.ID && caller.APIKeyID != "" && !rolesWithin(caller.Roles, in.Roles) {
		// A key minting keys for its own principal may not widen what it holds.
		return nil, "", problem.Forbidden("roles_exceed_caller", "this credential holds only %v", caller.Roles)
	}
	key := &store.APIKey{ID: store.NewID("key"), Name: in.Name, PrincipalID: owner.ID, OrgID: owner.OrgID,
		Roles: in.Roles, ExpiresAt: in.ExpiresAt, CreatedAt: s.now()}
	token, err := newToken(key.ID)
	if in.Secret != "" {
		// An operator-chosen key (SIGNET_ADMIN_API_KEY) is used verbatim; its id is derived from it.
		if len(in.Secret) < 24 {
			return nil, "", problem.Invalid("api_key_too_short", "an API key needs at least 24 characters")
		}
		token, key.ID = in.Secret, externalKeyID(in.Secret)
	}
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256([]byte(token))
	key.SecretHash = sum[:]
	err = s.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.InsertAPIKey(ctx, key); err != nil {
			return fmt.Errorf("insert api key: %w", err)
		}
		tx.AppendAudit(caller.Event(key.CreatedAt, key.OrgID, "apikey.create", "api_key", key.ID,
			map[string]any{"name": key.Name, "roles": key.Roles, "principal": key.PrincipalID}))
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return key, token, nil
}

// keyOwner resolves whom a new key belongs to: the caller itself (any
// authenticated principal may mint keys for itself), or another principal
// of an organization the caller administers.
func (s *APIKeys) keyOwner(ctx context.Context, caller *Principal, id string) (*store.Principal, error) {
	if id == "" {
		id = caller.ID
	}
	p, err := store.ByRef(ctx, id, idPrefixOf(id), s.store.GetPrincipal, s.store.GetPrincipalByName)
	if errors.Is(err, store.ErrNotFound) {
		return nil, problem.NotFound("principal_not_found", "no principal %q", id)
	}
	if err != nil {
		return nil, fmt.Errorf("look up principal: %w", err)
	}
	if p.ID != caller.ID {
		if _, err := RequireIn(ctx, PermKeyManage, p.OrgID); err != nil {
			return nil, err
		}
		if p.OrgID == "" && !caller.Global() {
			return nil, problem.Forbidden("global_admin_required", "only a global administrator may mint keys for global principals")
		}
	}
	if p.Disabled {
		return nil, problem.Conflict("principal_disabled", "principal %s is disabled", p.ID)
	}
	return p, nil
}

// newToken builds "sgt_<key id suffix>.<secret>". The id part lets us find the
// row without scanning; the secret part is compared by hash in constant time.
func newToken(keyID string) (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate api key: %w", err)
	}
	return tokenPrefix + strings.TrimPrefix(keyID, "key_") + "." + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// externalKeyID derives the row id of a key whose text Signet did not choose.
func externalKeyID(token string) string {
	sum := sha256.Sum256([]byte("signet-key-id:" + token))
	return "key_" + hex.EncodeToString(sum[:10])
}

// keyIDOf finds the row id a presented token would be stored under.
func keyIDOf(token string) (string, bool) {
	rest, ok := strings.CutPrefix(token, tokenPrefix)
	if !ok {
		return externalKeyID(token), len(token) >= 24 && len(token) <= 512
	}
	idPart, _, ok := strings.Cut(rest, ".")
	return "key_" + idPart, ok && idPart != "" && len(idPart) <= 64
}

// Authenticate turns a bearer token into a Principal. Every failure is the
// same 401 so callers learn nothing about which part was wrong.
func (s *APIKeys) Authenticate(ctx context.Context, token string) (*Principal, error) {
	bad := problem.Unauthorized("invalid_api_key", "the API key is invalid, expired or revoked")
	id, ok := keyIDOf(token)
	if !ok {
		return nil, bad
	}
	now := s.now()
	sum := sha256.Sum256([]byte(token))
	c, ok := s.cached(sum, now)
	if !ok {
		key, err := s.store.GetAPIKey(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, bad
		}
		if err != nil {
			return nil, fmt.Errorf("look up api key: %w", err)
		}
		if subtle.ConstantTimeCompare(key.SecretHash, sum[:]) != 1 {
			return nil, bad
		}
		owner, err := s.store.GetPrincipal(ctx, key.PrincipalID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, bad
		}
		if err != nil {
			return nil, fmt.Errorf("look up key principal: %w", err)
		}
		c = cachedKey{key: key, principal: owner, at: now}
		s.remember(sum, c)
		if key.LastUsedAt == nil || now.Sub(*key.LastUsedAt) > time.Minute {
			_ = s.store.TouchAPIKey(ctx, key.ID, now) // best effort bookkeeping
		}
	}
	key, owner := c.key, c.principal
	if key.RevokedAt != nil || (key.ExpiresAt != nil && !now.Before(*key.ExpiresAt)) || owner.Disabled {
		return nil, bad
	}
	method := "api_key"
	if key.Name == sessionKeyName {
		method = "session"
	}
	return &Principal{ID: owner.ID, Name: owner.Name, Kind: owner.Kind, OrgID: owner.OrgID,
		TeamIDs: slices.Clone(owner.TeamIDs), Roles: NarrowRoles(key.Roles, owner.Roles), APIKeyID: key.ID,
		Method: method}, nil
}

func (s *APIKeys) cached(sum [32]byte, now time.Time) (cachedKey, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.recent[sum]
	if !ok || now.Sub(c.at) >= authCacheTTL {
		return cachedKey{}, false
	}
	return c, true
}

func (s *APIKeys) remember(sum [32]byte, c cachedKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.recent) > 10000 {
		clear(s.recent) // bounded: many distinct keys cannot grow it without limit
	}
	s.recent[sum] = c
}

// Forget drops every verified key, so that a change to a principal (roles,
// disabled) or a key takes effect on this node at once.
func (s *APIKeys) Forget() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.recent)
}

// List returns keys without secrets.
func (s *APIKeys) List(ctx context.Context, q store.ListQuery) ([]store.APIKey, string, error) {
	p, err := Require(ctx, PermKeyRead)
	if err != nil {
		return nil, "", err
	}
	if q.OrgID, err = Scope(p, q.OrgID); err != nil {
		return nil, "", err
	}
	return s.store.ListAPIKeys(ctx, q)
}

// Get returns one key without its secret.
func (s *APIKeys) Get(ctx context.Context, id string) (*store.APIKey, error) {
	caller := PrincipalFrom(ctx)
	if caller == nil {
		return nil, problem.Unauthorized("unauthenticated", "authentication required")
	}
	k, err := s.store.GetAPIKey(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, problem.NotFound("api_key_not_found", "no API key %q", id)
	}
	if err != nil {
		return nil, err
	}
	if k.PrincipalID != caller.ID {
		if _, err := RequireIn(ctx, PermKeyRead, k.OrgID); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// Revoke disables a key at once.
func (s *APIKeys) Revoke(ctx context.Context, id string) (*store.APIKey, error) {
	caller := PrincipalFrom(ctx)
	if caller == nil {
		return nil, problem.Unauthorized("unauthenticated", "authentication required")
	}
	var out *store.APIKey
	err := s.store.Update(ctx, func(tx store.Tx) error {
		k, err := tx.GetAPIKey(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return problem.NotFound("api_key_not_found", "no API key %q", id)
		}
		if err != nil {
			return err
		}
		if k.PrincipalID != caller.ID {
			if _, err := RequireIn(ctx, PermKeyManage, k.OrgID); err != nil {
				return err
			}
		}
		if k.RevokedAt != nil {
			return problem.Conflict("api_key_revoked", "API key %s is already revoked", id)
		}
		now := s.now()
		k.RevokedAt = &now
		if err := tx.UpdateAPIKey(ctx, k); err != nil {
			return fmt.Errorf("revoke api key: %w", err)
		}
		tx.AppendAudit(caller.Event(now, k.OrgID, "apikey.revoke", "api_key", k.ID, nil))
		out = k
		return nil
	})
	s.Forget()
	return out, err
}

// CountKeys reports whether any key exists (bootstrap decides whether to mint the admin key).
func (s *APIKeys) CountKeys(ctx context.Context) (int, error) {
	keys, _, err := s.store.ListAPIKeys(ctx, store.ListQuery{Limit: 1})
	return len(keys), err
}

// EnrollmentPrefix names the one-time keys agents trade for their own.
const EnrollmentPrefix = "enroll:"

// ExchangeEnrollment trades the one-time enrollment key the caller
// authenticated with for a new key of the same principal and roles, named
// "agent:<name>", and revokes the enrollment key: it works once.
func (s *APIKeys) ExchangeEnrollment(ctx context.Context, name string) (*store.APIKey, string, error) {
	caller := PrincipalFrom(ctx)
	if caller == nil || caller.APIKeyID == "" {
		return nil, "", problem.Unauthorized("unauthenticated", "authenticate with the enrollment key")
	}
	k, err := s.store.GetAPIKey(ctx, caller.APIKeyID)
	if err != nil {
		return nil, "", fmt.Errorf("look up enrollment key: %w", err)
	}
	if !strings.HasPrefix(k.Name, EnrollmentPrefix) {
		return nil, "", problem.Forbidden("not_an_enrollment_key", "only an enrollment key (named %s...) can be exchanged", EnrollmentPrefix)
	}
	if _, err := s.Revoke(ctx, k.ID); err != nil {
		return nil, "", err // revoked concurrently: the other exchange won
	}
	if name == "" {
		name = strings.TrimPrefix(k.Name, EnrollmentPrefix)
	}
	return s.Create(ctx, NewKey{Name: "agent:" + name, PrincipalID: k.PrincipalID, Roles: k.Roles})
}
