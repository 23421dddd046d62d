package postgres

import (
	"context"

	"github.com/signet-pki/signet/internal/store"
)

// API keys and idempotency keys: the credentials and replay records of
// callers.

const apiKeyColumns = `int_id, id, name, principal_id, roles, secret_hash, expires_at, revoked_at, last_used_at,
	created_at, org_id`

func scanAPIKey(s scanner) (store.APIKey, error) {
	var k store.APIKey
	err := s.Scan(&k.IntID, &k.ID, &k.Name, &k.PrincipalID, &k.Roles, &k.SecretHash, &k.ExpiresAt, &k.RevokedAt,
		&k.LastUsedAt, &k.CreatedAt, &k.OrgID)
	return k, err
}

// GetAPIKey returns the key with public id id.
func (r reader) GetAPIKey(ctx context.Context, id string) (*store.APIKey, error) {
	return getOne(ctx, r, "api_keys", apiKeyColumns, "API key", scanAPIKey, "id = $1", id)
}

// ListAPIKeys pages keys by int id (keys have no status column: revocation
// and expiry are times).
func (r reader) ListAPIKeys(ctx context.Context, q store.ListQuery) ([]store.APIKey, string, error) {
	return listByID(ctx, r, "api_keys", apiKeyColumns, listFilter{org: q.OrgID}, q, scanAPIKey,
		func(k *store.APIKey) int64 { return k.IntID })
}

// InsertAPIKey stores a new key and sets its IntID.
func (t *txView) InsertAPIKey(ctx context.Context, k *store.APIKey) error {
	stamp(&k.CreatedAt, t.now())
	normTimePtr(k.ExpiresAt)
	normTimePtr(k.RevokedAt)
	normTimePtr(k.LastUsedAt)
	return t.insert(ctx, &k.IntID, "API key "+k.ID, `INSERT INTO api_keys (id, name, principal_id, roles, secret_hash,
		expires_at, revoked_at, last_used_at, created_at, org_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT DO NOTHING RETURNING int_id`,
		k.ID, k.Name, k.PrincipalID, list(k.Roles), nonNil(k.SecretHash), k.ExpiresAt, k.RevokedAt, k.LastUsedAt,
		k.CreatedAt, k.OrgID)
}

// UpdateAPIKey rewrites a key's name, roles and times (never its secret or
// owner: a new secret is a new key).
func (t *txView) UpdateAPIKey(ctx context.Context, k *store.APIKey) error {
	normTimePtr(k.ExpiresAt)
	normTimePtr(k.RevokedAt)
	normTimePtr(k.LastUsedAt)
	return t.updateOne(ctx, "update API key "+k.ID, `UPDATE api_keys SET name = $1, roles = $2, expires_at = $3,
		revoked_at = $4, last_used_at = $5 WHERE id = $6`,
		k.Name, list(k.Roles), k.ExpiresAt, k.RevokedAt, k.LastUsedAt, k.ID)
}

// GetIdempotency returns what (principal, key) produced.
func (r reader) GetIdempotency(ctx context.Context, principalID, key string) (*store.Idempotency, error) {
	return getOne(ctx, r, "idempotency_keys", `principal_id, key, request_hash, result_type, result_id, created_at`,
		"idempotency key", func(s scanner) (i store.Idempotency, err error) {
			return i, s.Scan(&i.PrincipalID, &i.Key, &i.RequestHash, &i.ResultType, &i.ResultID, &i.CreatedAt)
		}, "principal_id = $1 AND key = $2", principalID, key)
}

// PutIdempotency records an idempotency key; ErrDuplicate if taken.
func (t *txView) PutIdempotency(ctx context.Context, i *store.Idempotency) error {
	stamp(&i.CreatedAt, t.now())
	var one int64
	return t.insert(ctx, &one, "idempotency key", `INSERT INTO idempotency_keys (principal_id, key, request_hash,
		result_type, result_id, created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING 1`,
		i.PrincipalID, i.Key, i.RequestHash, i.ResultType, i.ResultID, i.CreatedAt)
}
