package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

const acmeColumns = `kind, id, account_id, key_id, status, data, expires_at, created_at, updated_at`

func scanACME(s scanner) (store.ACMEObject, error) {
	var o store.ACMEObject
	var key sql.NullString
	var exp sql.NullInt64
	var ca, ua int64
	err := s.Scan(&o.Kind, &o.ID, &o.AccountID, &key, &o.Status, &o.Data, &exp, &ca, &ua)
	o.KeyID, o.ExpiresAt, o.CreatedAt, o.UpdatedAt = key.String, fromDBPtr(exp), fromDB(ca), fromDB(ua)
	return o, err
}

// GetACMEObject returns the object (kind, id).
func (r reader) GetACMEObject(ctx context.Context, kind, id string) (*store.ACMEObject, error) {
	return getOne(ctx, r, "acme_objects", acmeColumns, "ACME "+kind, scanACME, "kind = ? AND id = ?", kind, id)
}

// FindACMEObject returns the object of a kind with the lookup key keyID.
func (r reader) FindACMEObject(ctx context.Context, kind, keyID string) (*store.ACMEObject, error) {
	return getOne(ctx, r, "acme_objects", acmeColumns, "ACME "+kind, scanACME, "kind = ? AND key_id = ?", kind, keyID)
}

// ListACMEObjects pages an account's objects of a kind in creation order;
// the cursor is the last id returned.
func (r reader) ListACMEObjects(ctx context.Context, kind, accountID string, limit int, cursor string) ([]store.ACMEObject, string, error) {
	limit = pageLimit(limit)
	query, args := `SELECT `+acmeColumns+` FROM acme_objects WHERE kind = ? AND account_id = ?`, []any{kind, accountID}
	if cursor != "" {
		last, err := r.GetACMEObject(ctx, kind, cursor)
		if err != nil {
			return nil, "", store.ErrBadCursor
		}
		query, args = query+` AND (created_at, id) > (?, ?)`, append(args, toDB(last.CreatedAt), last.ID)
	}
	items, err := queryMany(ctx, r.q, scanACME, query+` ORDER BY created_at, id LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return nil, "", mapErr(err, "list ACME objects")
	}
	next := ""
	if len(items) > limit {
		items, next = items[:limit], items[limit-1].ID
	}
	return items, next, nil
}

func nullKey(k string) any {
	if k == "" {
		return nil
	}
	return k
}

// InsertACMEObject stores a new object.
func (t *txView) InsertACMEObject(ctx context.Context, o *store.ACMEObject) error {
	now := t.now()
	stamp(&o.CreatedAt, now)
	stamp(&o.UpdatedAt, now)
	normTimePtr(o.ExpiresAt)
	_, err := t.q.ExecContext(ctx, `INSERT INTO acme_objects (`+acmeColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		o.Kind, o.ID, o.AccountID, nullKey(o.KeyID), o.Status, o.Data, toDBPtr(o.ExpiresAt), toDB(o.CreatedAt), toDB(o.UpdatedAt))
	return mapErr(err, "insert ACME "+o.Kind)
}

// UpdateACMEObject moves an object from fromStatus, atomically.
func (t *txView) UpdateACMEObject(ctx context.Context, o *store.ACMEObject, fromStatus string) error {
	o.UpdatedAt = t.now()
	normTimePtr(o.ExpiresAt)
	res, err := t.q.ExecContext(ctx, `UPDATE acme_objects SET status = ?, data = ?, expires_at = ?, key_id = ?, updated_at = ?
		WHERE kind = ? AND id = ? AND status = ?`,
		o.Status, o.Data, toDBPtr(o.ExpiresAt), nullKey(o.KeyID), toDB(o.UpdatedAt), o.Kind, o.ID, fromStatus)
	err = affectedOne(res, err, store.ErrConflict, "update ACME "+o.Kind)
	if err == nil || !isConflict(err) {
		return err
	}
	if _, getErr := t.GetACMEObject(ctx, o.Kind, o.ID); getErr != nil {
		return getErr
	}
	return err
}

// DeleteACMEObject removes one object.
func (t *txView) DeleteACMEObject(ctx context.Context, kind, id string) error {
	res, err := t.q.ExecContext(ctx, `DELETE FROM acme_objects WHERE kind = ? AND id = ?`, kind, id)
	return affectedOne(res, err, store.ErrNotFound, "delete ACME "+kind)
}

// DeleteExpiredACMEObjects removes objects of a kind expired before at.
func (t *txView) DeleteExpiredACMEObjects(ctx context.Context, kind string, at time.Time) (int64, error) {
	res, err := t.q.ExecContext(ctx, `DELETE FROM acme_objects WHERE kind = ? AND expires_at < ?`, kind, toDB(at))
	if err != nil {
		return 0, mapErr(err, "delete expired ACME "+kind)
	}
	n, err := res.RowsAffected()
	return n, mapErr(err, "delete expired ACME "+kind)
}

func isConflict(err error) bool { return errors.Is(err, store.ErrConflict) }
