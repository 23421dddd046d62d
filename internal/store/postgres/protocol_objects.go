package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

// Protocol state (ACME, EST, SCEP, CMP, compatibility APIs): documents the
// owning package writes, which the store
// finds by id, lookup key or account, and moves between statuses atomically.

const objectColumns = `kind, id, account_id, key_id, status, data, expires_at, created_at, updated_at`

func scanObject(s scanner) (store.ProtocolObject, error) {
	var o store.ProtocolObject
	var key *string
	err := s.Scan(&o.Kind, &o.ID, &o.AccountID, &key, &o.Status, &o.Data, &o.ExpiresAt, &o.CreatedAt, &o.UpdatedAt)
	if key != nil {
		o.KeyID = *key
	}
	return o, err
}

// nullKey stores "no lookup key" as NULL, which the unique index on
// (kind, key_id) lets any number of objects share.
func nullKey(k string) *string {
	if k == "" {
		return nil
	}
	return &k
}

// GetProtocolObject returns the object (kind, id).
func (r reader) GetProtocolObject(ctx context.Context, kind, id string) (*store.ProtocolObject, error) {
	return getOne(ctx, r, "protocol_objects", objectColumns, "object "+kind, scanObject, "kind = $1 AND id = $2", kind, id)
}

// FindProtocolObject returns the object of a kind with the lookup key keyID.
func (r reader) FindProtocolObject(ctx context.Context, kind, keyID string) (*store.ProtocolObject, error) {
	return getOne(ctx, r, "protocol_objects", objectColumns, "object "+kind, scanObject, "kind = $1 AND key_id = $2", kind, keyID)
}

// ListProtocolObjects pages an account's objects of a kind in creation order;
// the cursor is the last id returned.
func (r reader) ListProtocolObjects(ctx context.Context, kind, accountID string, limit int, cursor string) ([]store.ProtocolObject, string, error) {
	limit = pageLimit(limit)
	var w where
	w.add("kind = ? AND account_id = ?", kind, accountID)
	if cursor != "" {
		last, err := r.GetProtocolObject(ctx, kind, cursor)
		if err != nil {
			return nil, "", fmt.Errorf("postgres: object cursor %q: %w", cursor, store.ErrBadCursor)
		}
		w.add("(created_at, id) > (?, ?)", last.CreatedAt, last.ID)
	}
	lim := w.arg(limit + 1)
	cond, args := w.sql()
	items, err := queryMany(ctx, r.q, scanObject, `SELECT `+objectColumns+` FROM protocol_objects`+cond+
		` ORDER BY created_at, id LIMIT `+lim, args...)
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
	var w where
	if cursor != "" {
		kind, id, ok := store.SplitObjectCursor(cursor)
		if !ok {
			return nil, "", fmt.Errorf("postgres: object cursor %q: %w", cursor, store.ErrBadCursor)
		}
		w.add("(kind, id) > (?, ?)", kind, id)
	}
	lim := w.arg(limit + 1)
	cond, args := w.sql()
	items, err := queryMany(ctx, r.q, scanObject, `SELECT `+objectColumns+` FROM protocol_objects`+cond+
		` ORDER BY kind, id LIMIT `+lim, args...)
	if err != nil {
		return nil, "", mapErr(err, "export protocol objects")
	}
	next := ""
	if len(items) > limit {
		items, next = items[:limit], store.ObjectCursor(&items[limit-1])
	}
	return items, next, nil
}

// InsertProtocolObject stores a new object; ErrDuplicate if (kind, id) or
// (kind, key id) is taken.
func (t *txView) InsertProtocolObject(ctx context.Context, o *store.ProtocolObject) error {
	now := t.now()
	stamp(&o.CreatedAt, now)
	stamp(&o.UpdatedAt, now)
	normTimePtr(o.ExpiresAt)
	var one int64
	return t.insert(ctx, &one, "object "+o.Kind, `INSERT INTO protocol_objects (`+objectColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING 1`,
		o.Kind, o.ID, o.AccountID, nullKey(o.KeyID), o.Status, nonNil(o.Data), o.ExpiresAt, o.CreatedAt, o.UpdatedAt)
}

// UpdateProtocolObject moves an object from fromStatus, atomically: ErrConflict
// when it is in another status, ErrNotFound when it does not exist. A new
// key id that another object holds is ErrDuplicate.
func (t *txView) UpdateProtocolObject(ctx context.Context, o *store.ProtocolObject, fromStatus string) error {
	o.UpdatedAt = t.now()
	normTime(&o.UpdatedAt)
	normTimePtr(o.ExpiresAt)
	what := "update object " + o.Kind
	var found bool
	update := func() (err error) {
		found, err = t.b.writeRow(ctx, []any{new(int32)}, `UPDATE protocol_objects SET status = $1, data = $2, expires_at = $3,
			key_id = $4, updated_at = $5 WHERE kind = $6 AND id = $7 AND status = $8 RETURNING 1`,
			o.Status, nonNil(o.Data), o.ExpiresAt, nullKey(o.KeyID), o.UpdatedAt, o.Kind, o.ID, fromStatus)
		return err
	}
	var err error
	if o.KeyID != "" {
		err = t.b.guarded(update) // the key id may be another object's
	} else {
		err = update() // NULL keys never collide: no savepoint needed (nonces, orders)
	}
	if err != nil {
		return mapErr(err, what)
	}
	if !found {
		var one int
		err := queryOne(ctx, t.q, func(s scanner) error { return s.Scan(&one) },
			`SELECT 1 FROM protocol_objects WHERE kind = $1 AND id = $2`, o.Kind, o.ID)
		if errors.Is(mapErr(err, what), store.ErrNotFound) {
			return fmt.Errorf("postgres: %s %s: %w", what, o.ID, store.ErrNotFound)
		} else if err != nil {
			return mapErr(err, what)
		}
		return fmt.Errorf("postgres: %s %s: %w", what, o.ID, store.ErrConflict)
	}
	return nil
}

// DeleteProtocolObject removes one object; ErrNotFound if absent (a nonce used twice).
func (t *txView) DeleteProtocolObject(ctx context.Context, kind, id string) error {
	return t.updateOne(ctx, "delete object "+kind+" "+id, `DELETE FROM protocol_objects WHERE kind = $1 AND id = $2`, kind, id)
}

// DeleteExpiredProtocolObjects removes objects of a kind expired before at.
func (t *txView) DeleteExpiredProtocolObjects(ctx context.Context, kind string, at time.Time) (int64, error) {
	tag, err := t.q.Exec(ctx, `DELETE FROM protocol_objects WHERE kind = $1 AND expires_at < $2`, kind, at)
	if err != nil {
		return 0, mapErr(err, "delete expired object "+kind)
	}
	return tag.RowsAffected(), nil
}
