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
	key *store.APIKey
	at  time.Time
}

// NewAPIKeys returns the API key service.
func NewAPIKeys(s KeyStore, now func() time.Time) *APIKeys {
	return &APIKeys{store: s, now: now, recent: map[[32]byte]cachedKey{}}
}

// NewKey is what a caller asks for.
type NewKey struct {
	Name        string
	PrincipalID string // defaults to the caller
	Roles       []string
	ExpiresAt   *time.Time
	// Secret, when set, is used instead of a random one (bootstrap via SIGNET_ADMIN_API_KEY).
	Secret string
}

// Create makes a key and returns it with its token, which is shown only now.
func (s *APIKeys) Create(ctx context.Context, in NewKey) (*store.APIKey, string, error) {
	caller, err := Require(ctx, PermKeyManage)
	if err != nil {
		return nil, "", err
	}
	if err := ValidRoles(in.Roles); err != nil {
		return nil, "", err
	}
	if !caller.HasRole(RoleAdmin) {
		return nil, "", problem.Forbidden("forbidden", "only admins may create API keys")
	}
	if in.Name == "" || len(in.Name) > 100 {
		return nil, "", problem.Invalid("name_invalid", "name is required (at most 100 characters)")
	}
	if in.ExpiresAt != nil && !in.ExpiresAt.After(s.now()) {
		return nil, "", problem.Invalid("expires_at_past", "expires_at must be in the future")
	}
	if in.PrincipalID == "" {
		in.PrincipalID = "sa_" + strings.ToLower(strings.Map(keepIDChar, in.Name))
	}
	key := &store.APIKey{ID: store.NewID("key"), Name: in.Name, PrincipalID: in.PrincipalID,
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
		tx.AppendAudit(store.AuditEvent{Time: key.CreatedAt, Principal: caller.ID, Action: "apikey.create",
			ObjectType: "api_key", ObjectID: key.ID, Outcome: "success",
			Details: map[string]any{"name": key.Name, "roles": key.Roles, "principal": key.PrincipalID}})
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return key, token, nil
}

func keepIDChar(r rune) rune {
	if (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') || r == '-' {
		return r
	}
	return '-'
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
	key := s.cached(sum, now)
	if key == nil {
		var err error
		key, err = s.store.GetAPIKey(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, bad
		}
		if err != nil {
			return nil, fmt.Errorf("look up api key: %w", err)
		}
		if subtle.ConstantTimeCompare(key.SecretHash, sum[:]) != 1 {
			return nil, bad
		}
		s.remember(sum, key, now)
		if key.LastUsedAt == nil || now.Sub(*key.LastUsedAt) > time.Minute {
			_ = s.store.TouchAPIKey(ctx, key.ID, now) // best effort bookkeeping
		}
	}
	if key.RevokedAt != nil || (key.ExpiresAt != nil && !now.Before(*key.ExpiresAt)) {
		return nil, bad
	}
	return &Principal{ID: key.PrincipalID, Name: key.Name, Roles: slices.Clone(key.Roles), APIKeyID: key.ID}, nil
}

func (s *APIKeys) cached(sum [32]byte, now time.Time) *store.APIKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.recent[sum]
	if !ok || now.Sub(c.at) >= authCacheTTL {
		return nil
	}
	return c.key
}

func (s *APIKeys) remember(sum [32]byte, key *store.APIKey, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.recent) > 10000 {
		clear(s.recent) // bounded: many distinct keys cannot grow it without limit
	}
	s.recent[sum] = cachedKey{key: key, at: now}
}

func (s *APIKeys) forget() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.recent)
}

// List returns keys without secrets.
func (s *APIKeys) List(ctx context.Context, q store.ListQuery) ([]store.APIKey, string, error) {
	if _, err := Require(ctx, PermKeyRead); err != nil {
		return nil, "", err
	}
	return s.store.ListAPIKeys(ctx, q)
}

// Get returns one key without its secret.
func (s *APIKeys) Get(ctx context.Context, id string) (*store.APIKey, error) {
	if _, err := Require(ctx, PermKeyRead); err != nil {
		return nil, err
	}
	k, err := s.store.GetAPIKey(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, problem.NotFound("api_key_not_found", "no API key %q", id)
	}
	return k, err
}

// Revoke disables a key at once.
func (s *APIKeys) Revoke(ctx context.Context, id string) (*store.APIKey, error) {
	caller, err := Require(ctx, PermKeyManage)
	if err != nil {
		return nil, err
	}
	var out *store.APIKey
	err = s.store.Update(ctx, func(tx store.Tx) error {
		k, err := tx.GetAPIKey(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return problem.NotFound("api_key_not_found", "no API key %q", id)
		}
		if err != nil {
			return err
		}
		if k.RevokedAt != nil {
			return problem.Conflict("api_key_revoked", "API key %s is already revoked", id)
		}
		now := s.now()
		k.RevokedAt = &now
		if err := tx.UpdateAPIKey(ctx, k); err != nil {
			return fmt.Errorf("revoke api key: %w", err)
		}
		tx.AppendAudit(store.AuditEvent{Time: now, Principal: caller.ID, Action: "apikey.revoke",
			ObjectType: "api_key", ObjectID: k.ID, Outcome: "success"})
		out = k
		return nil
	})
	s.forget()
	return out, err
}

// CountKeys reports whether any key exists (bootstrap decides whether to mint the admin key).
func (s *APIKeys) CountKeys(ctx context.Context) (int, error) {
	keys, _, err := s.store.ListAPIKeys(ctx, store.ListQuery{Limit: 1})
	return len(keys), err
}
