package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

const objectColumns = `kind, id, account_id, key_id, status, data, expires_at, created_at, updated_at`

func scanObject(s scanner) (store.ProtocolObject, error) {
	var o store.ProtocolObject
	var key sql.NullString
	var exp sql.NullInt64
	var ca, ua int64
	err := s.Scan(&o.Kind, &o.ID, &o.AccountID, &key, &o.Status, &o.Data, &exp, &ca, &ua)
	o.KeyID, o.ExpiresAt, o.CreatedAt, o.UpdatedAt = key.String, fromDBPtr(exp), fromDB(ca), fromDB(ua)
	return o, err
}

// GetProtocolObject returns the object (kind, id).
func (r reader) GetProtocolObject(ctx context.Context, kind, id string) (*store.ProtocolObject, error) {
	return getOne(ctx, r, "protocol_objects", objectColumns, "object "+kind, scanObject, "kind = ? AND id = ?", kind, id)
}

// FindProtocolObject returns the object of a kind with the lookup key keyID.
func (r reader) FindProtocolObject(ctx context.Context, kind, keyID string) (*store.ProtocolObject, error) {
	return getOne(ctx, r, "protocol_objects", objectColumns, "object "+kind, scanObject, "kind = ? AND key_id = ?", kind, keyID)
}

// ListProtocolObjects pages an account's objects of a kind in creation order;
// the cursor is the last id returned.
func (r reader) ListProtocolObjects(ctx context.Context, kind, accountID string, limit int, cursor string) ([]store.ProtocolObject, string, error) {
	limit = pageLimit(limit)
	query, args := `SELECT `+objectColumns+` FROM protocol_objects WHERE kind = ? AND account_id = ?`, []any{kind, accountID}
	if cursor != "" {
		last, err := r.GetProtocolObject(ctx, kind, cursor)
		if err != nil {
			return nil, "", store.ErrBadCursor
		}
		query, args = query+` AND (created_at, id) > (?, ?)`, append(args, toDB(last.CreatedAt), last.ID)
	}
	items, err := queryMany(ctx, r.q, scanObject, query+` ORDER BY created_at, id LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return nil, "", mapErr(err, "list protocol objects")
	}
	next := ""
	if len(items) > limit {
		items, next = items[:limit], items[limit-1].ID
	}
	return items, next, nil
}

// ExportProtocolObjects pages all objects by primary key; the cursor is the
// last object's kind and id.
func (r reader) ExportProtocolObjects(ctx context.Context, limit int, cursor string) ([]store.ProtocolObject, string, error) {
	limit = pageLimit(limit)
	query, args := `SELECT `+objectColumns+` FROM protocol_objects`, []any{}
	if cursor != "" {
		kind, id, ok := store.SplitObjectCursor(cursor)
		if !ok {
			return nil, "", store.ErrBadCursor
		}
		query, args = query+` WHERE (kind, id) > (?, ?)`, append(args, kind, id)
	}
	items, err := queryMany(ctx, r.q, scanObject, query+` ORDER BY kind, id LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return nil, "", mapErr(err, "export protocol objects")
	}
	next := ""
	if len(items) > limit {
		items, next = items[:limit], store.ObjectCursor(&items[limit-1])
	}
	return items, next, nil
}

func nullKey(k string) any {
	if k == "" {
		return nil
	}
	return k
}

// InsertProtocolObject stores a new object.
func (t *txView) InsertProtocolObject(ctx context.Context, o *store.ProtocolObject) error {
	now := t.now()
	stamp(&o.CreatedAt, now)
	stamp(&o.UpdatedAt, now)
	normTimePtr(o.ExpiresAt)
	_, err := t.q.ExecContext(ctx, `INSERT INTO protocol_objects (`+objectColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		o.Kind, o.ID, o.AccountID, nullKey(o.KeyID), o.Status, o.Data, toDBPtr(o.ExpiresAt), toDB(o.CreatedAt), toDB(o.UpdatedAt))
	return mapErr(err, "insert ACME "+o.Kind)
}

// UpdateProtocolObject moves an object from fromStatus, atomically.
func (t *txView) UpdateProtocolObject(ctx context.Context, o *store.ProtocolObject, fromStatus string) error {
	o.UpdatedAt = t.now()
	normTimePtr(o.ExpiresAt)
	res, err := t.q.ExecContext(ctx, `UPDATE protocol_objects SET status = ?, data = ?, expires_at = ?, key_id = ?, updated_at = ?
		WHERE kind = ? AND id = ? AND status = ?`,
		o.Status, o.Data, toDBPtr(o.ExpiresAt), nullKey(o.KeyID), toDB(o.UpdatedAt), o.Kind, o.ID, fromStatus)
	err = affectedOne(res, err, store.ErrConflict, "update object "+o.Kind)
	if err == nil || !isConflict(err) {
		return err
	}
	if _, getErr := t.GetProtocolObject(ctx, o.Kind, o.ID); getErr != nil {
		return getErr
	}
	return err
}

// DeleteProtocolObject removes one object.
func (t *txView) DeleteProtocolObject(ctx context.Context, kind, id string) error {
	res, err := t.q.ExecContext(ctx, `DELETE FROM protocol_objects WHERE kind = ? AND id = ?`, kind, id)
	return affectedOne(res, err, store.ErrNotFound, "delete object "+kind)
}

// DeleteExpiredProtocolObjects removes objects of a kind expired before at.
func (t *txView) DeleteExpiredProtocolObjects(ctx context.Context, kind string, at time.Time) (int64, error) {
	res, err := t.q.ExecContext(ctx, `DELETE FROM protocol_objects WHERE kind = ? AND expires_at < ?`, kind, toDB(at))
	if err != nil {
		return 0, mapErr(err, "delete expired object "+kind)
	}
	n, err := res.RowsAffected()
	return n, mapErr(err, "delete expired object "+kind)
}

func isConflict(err error) bool { return errors.Is(err, store.ErrConflict) }
