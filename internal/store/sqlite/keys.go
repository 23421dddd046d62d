package sqlite

import (
	"context"
	"database/sql"

	"github.com/signet-pki/signet/internal/store"
)

const apiKeyColumns = `int_id, id, name, principal_id, roles, secret_hash, expires_at, revoked_at, last_used_at, created_at`

func scanAPIKey(s scanner) (store.APIKey, int64, error) {
	var k store.APIKey
	var roles string
	var exp, rev, used sql.NullInt64
	var ca int64
	err := s.Scan(&k.IntID, &k.ID, &k.Name, &k.PrincipalID, &roles, &k.SecretHash, &exp, &rev, &used, &ca)
	k.Roles, k.ExpiresAt, k.RevokedAt, k.LastUsedAt, k.CreatedAt = fromJSON[[]string](roles), fromTSPtr(exp), fromTSPtr(rev), fromTSPtr(used), fromTS(ca)
	return k, k.IntID, err
}

func (r reader) GetAPIKey(ctx context.Context, id string) (*store.APIKey, error) {
	k, _, err := scanAPIKey(r.q.QueryRowContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE id = ?`, id))
	if err != nil {
		return nil, mapErr(err, "get api key")
	}
	return &k, nil
}

func (r reader) ListAPIKeys(ctx context.Context, q store.ListQuery) ([]store.APIKey, string, error) {
	after, err := parseListCursor(q.Cursor)
	if err != nil {
		return nil, "", err
	}
	limit := limitOf(q.Limit)
	rows, err := r.q.QueryContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE int_id > ? ORDER BY int_id LIMIT ?`, after, limit+1)
	return collect(rows, err, limit, scanAPIKey)
}

func (t *txView) InsertAPIKey(ctx context.Context, k *store.APIKey) error {
	res, err := t.q.ExecContext(ctx, `INSERT INTO api_keys (id, name, principal_id, roles, secret_hash, expires_at, revoked_at, last_used_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, k.ID, k.Name, k.PrincipalID, jsonText(k.Roles), k.SecretHash,
		tsPtr(k.ExpiresAt), tsPtr(k.RevokedAt), tsPtr(k.LastUsedAt), ts(k.CreatedAt))
	if err != nil {
		return mapErr(err, "insert api key")
	}
	k.IntID, _ = res.LastInsertId()
	return nil
}

func (t *txView) UpdateAPIKey(ctx context.Context, k *store.APIKey) error {
	res, err := t.q.ExecContext(ctx, `UPDATE api_keys SET name = ?, roles = ?, expires_at = ?, revoked_at = ?, last_used_at = ? WHERE id = ?`,
		k.Name, jsonText(k.Roles), tsPtr(k.ExpiresAt), tsPtr(k.RevokedAt), tsPtr(k.LastUsedAt), k.ID)
	return affectedOne(res, err, store.ErrNotFound, "update api key")
}

func (r reader) GetIdempotency(ctx context.Context, principalID, key string) (*store.Idempotency, error) {
	var i store.Idempotency
	var ca int64
	err := r.q.QueryRowContext(ctx, `SELECT principal_id, key, request_hash, result_type, result_id, created_at
		FROM idempotency_keys WHERE principal_id = ? AND key = ?`, principalID, key).
		Scan(&i.PrincipalID, &i.Key, &i.RequestHash, &i.ResultType, &i.ResultID, &ca)
	if err != nil {
		return nil, mapErr(err, "get idempotency key")
	}
	i.CreatedAt = fromTS(ca)
	return &i, nil
}

func (t *txView) PutIdempotency(ctx context.Context, i *store.Idempotency) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO idempotency_keys (principal_id, key, request_hash, result_type, result_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, i.PrincipalID, i.Key, i.RequestHash, i.ResultType, i.ResultID, ts(i.CreatedAt))
	return mapErr(err, "put idempotency key")
}

func (r reader) ListAuditEvents(ctx context.Context, afterSeq int64, limit int) ([]store.AuditEvent, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT seq, time, principal, action, object_type, object_id, outcome, details, prev_hash, hash
		FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?`, afterSeq, limitOf(limit))
	if err != nil {
		return nil, mapErr(err, "list audit events")
	}
	defer rows.Close()
	var out []store.AuditEvent
	for rows.Next() {
		var ev store.AuditEvent
		var t int64
		var details string
		if err := rows.Scan(&ev.Seq, &t, &ev.Principal, &ev.Action, &ev.ObjectType, &ev.ObjectID, &ev.Outcome, &details, &ev.PrevHash, &ev.Hash); err != nil {
			return nil, mapErr(err, "scan audit event")
		}
		ev.Time, ev.Details, ev.DetailsJSON = fromTS(t), fromJSON[map[string]any](details), []byte(details)
		out = append(out, ev)
	}
	return out, rows.Err()
}
