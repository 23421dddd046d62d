package sqlite

import (
	"context"
	"database/sql"

	"github.com/signet-pki/signet/internal/store"
)

// API keys and idempotency keys: the credentials and replay records of
// callers.

const apiKeyColumns = `int_id, id, name, principal_id, roles, secret_hash, expires_at, revoked_at, last_used_at, created_at, org_id`

func scanAPIKey(s scanner) (store.APIKey, error) {
	var k store.APIKey
	var roles string
	var exp, rev, used sql.NullInt64
	var ca int64
	err := s.Scan(&k.IntID, &k.ID, &k.Name, &k.PrincipalID, &roles, &k.SecretHash, &exp, &rev, &used, &ca, &k.OrgID)
	if err != nil {
		return k, err
	}
	k.ExpiresAt, k.RevokedAt, k.LastUsedAt, k.CreatedAt = fromDBPtr(exp), fromDBPtr(rev), fromDBPtr(used), fromDB(ca)
	k.Roles, err = fromJSONText(roles)
	return k, err
}

// GetAPIKey returns the key with public id id.
func (r reader) GetAPIKey(ctx context.Context, id string) (*store.APIKey, error) {
	var k store.APIKey
	err := queryOne(ctx, r.q, func(s scanner) (err error) { k, err = scanAPIKey(s); return err },
		`SELECT `+apiKeyColumns+` FROM api_keys WHERE id = ?`, id)
	if err != nil {
		return nil, mapErr(err, "get API key")
	}
	return &k, nil
}

// ListAPIKeys pages keys by int id (keys have no status column: revocation
// and expiry are times).
func (r reader) ListAPIKeys(ctx context.Context, q store.ListQuery) ([]store.APIKey, string, error) {
	after, err := decodeListCursor(q.Cursor)
	if err != nil {
		return nil, "", err
	}
	limit := pageLimit(q.Limit)
	query, args := `SELECT `+apiKeyColumns+` FROM api_keys WHERE int_id > ?`, []any{after}
	if q.OrgID != "" {
		query, args = query+` AND org_id = ?`, append(args, q.OrgID)
	}
	items, err := queryMany(ctx, r.q, scanAPIKey, query+` ORDER BY int_id LIMIT ?`, append(args, limit+1)...)
	items, next, err := listPage(items, err, limit, func(k *store.APIKey) int64 { return k.IntID })
	return items, next, mapErr(err, "list API keys")
}

// InsertAPIKey stores a new key and sets its IntID.
func (t *txView) InsertAPIKey(ctx context.Context, k *store.APIKey) error {
	stamp(&k.CreatedAt, t.now())
	normTimePtr(k.ExpiresAt)
	normTimePtr(k.RevokedAt)
	normTimePtr(k.LastUsedAt)
	roles, err := jsonText(k.Roles)
	if err != nil {
		return mapErr(err, "insert API key "+k.ID)
	}
	res, err := t.q.ExecContext(ctx, `INSERT INTO api_keys (int_id, id, name, principal_id, roles, secret_hash, expires_at,
		revoked_at, last_used_at, created_at, org_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.keptID(k.IntID), k.ID, k.Name, k.PrincipalID, roles, k.SecretHash, toDBPtr(k.ExpiresAt), toDBPtr(k.RevokedAt),
		toDBPtr(k.LastUsedAt), toDB(k.CreatedAt), k.OrgID)
	if err != nil {
		return mapErr(err, "insert API key "+k.ID)
	}
	k.IntID, err = res.LastInsertId()
	return mapErr(err, "insert API key "+k.ID)
}

// UpdateAPIKey rewrites a key's name, roles and times (never its secret or
// owner: a new secret is a new key).
func (t *txView) UpdateAPIKey(ctx context.Context, k *store.APIKey) error {
	normTimePtr(k.ExpiresAt)
	normTimePtr(k.RevokedAt)
	normTimePtr(k.LastUsedAt)
	roles, err := jsonText(k.Roles)
	if err != nil {
		return mapErr(err, "update API key "+k.ID)
	}
	res, err := t.q.ExecContext(ctx, `UPDATE api_keys SET name = ?, roles = ?, expires_at = ?, revoked_at = ?,
		last_used_at = ? WHERE id = ?`,
		k.Name, roles, toDBPtr(k.ExpiresAt), toDBPtr(k.RevokedAt), toDBPtr(k.LastUsedAt), k.ID)
	return affectedOne(res, err, store.ErrNotFound, "update API key "+k.ID)
}

// GetIdempotency returns what (principal, key) produced.
func (r reader) GetIdempotency(ctx context.Context, principalID, key string) (*store.Idempotency, error) {
	var i store.Idempotency
	var ca int64
	err := queryOne(ctx, r.q, func(s scanner) error {
		return s.Scan(&i.PrincipalID, &i.Key, &i.RequestHash, &i.ResultType, &i.ResultID, &ca)
	}, `SELECT principal_id, key, request_hash, result_type, result_id, created_at
		FROM idempotency_keys WHERE principal_id = ? AND key = ?`, principalID, key)
	if err != nil {
		return nil, mapErr(err, "get idempotency key")
	}
	i.CreatedAt = fromDB(ca)
	return &i, nil
}

// PutIdempotency records an idempotency key; ErrDuplicate if taken.
func (t *txView) PutIdempotency(ctx context.Context, i *store.Idempotency) error {
	stamp(&i.CreatedAt, t.now())
	_, err := t.q.ExecContext(ctx, `INSERT INTO idempotency_keys (principal_id, key, request_hash, result_type, result_id,
		created_at) VALUES (?, ?, ?, ?, ?, ?)`, i.PrincipalID, i.Key, i.RequestHash, i.ResultType, i.ResultID, toDB(i.CreatedAt))
	return mapErr(err, "put idempotency key")
}
