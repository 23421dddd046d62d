package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/signet-pki/signet/internal/store"
)

const caColumns = `int_id, id, name, kind, status, parent_id, cert_der, key_blob, subject, serial_hex, ski_hex,
	not_before, not_after, key_type, crl_url, ocsp_url, created_at, updated_at, org_id`

func scanCA(s scanner) (store.CA, error) {
	var c store.CA
	err := s.Scan(&c.IntID, &c.ID, &c.Name, &c.Kind, &c.Status, &c.ParentID, &c.CertDER, &c.KeyBlob, &c.Subject,
		&c.SerialHex, &c.SKIHex, &c.NotBefore, &c.NotAfter, &c.KeyType, &c.CRLURL, &c.OCSPURL, &c.CreatedAt, &c.UpdatedAt,
		&c.OrgID)
	return c, err
}

// GetCA returns the CA with public id id.
func (r reader) GetCA(ctx context.Context, id string) (*store.CA, error) {
	return getOne(ctx, r, "cas", caColumns, "CA", scanCA, "id = $1", id)
}

// GetCAByName returns the CA named name.
func (r reader) GetCAByName(ctx context.Context, name string) (*store.CA, error) {
	return getOne(ctx, r, "cas", caColumns, "CA", scanCA, "name = $1", name)
}

// ListCAs pages CAs by int id, optionally by status and organization.
func (r reader) ListCAs(ctx context.Context, q store.ListQuery) ([]store.CA, string, error) {
	return listByID(ctx, r, "cas", caColumns, listFilter{org: q.OrgID, status: q.Status}, q, scanCA,
		func(c *store.CA) int64 { return c.IntID })
}

// InsertCA stores a new CA and sets its IntID; ErrDuplicate when the id or
// name is taken.
func (t *txView) InsertCA(ctx context.Context, c *store.CA) error {
	now := t.now()
	stamp(&c.CreatedAt, now)
	stamp(&c.UpdatedAt, now)
	normTime(&c.NotBefore)
	normTime(&c.NotAfter)
	return t.insert(ctx, &c.IntID, "CA "+c.ID, `INSERT INTO cas (id, name, kind, status, parent_id, cert_der, key_blob,
		subject, serial_hex, ski_hex, not_before, not_after, key_type, crl_url, ocsp_url, created_at, updated_at, org_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
		ON CONFLICT DO NOTHING RETURNING int_id`,
		c.ID, c.Name, c.Kind, c.Status, c.ParentID, c.CertDER, c.KeyBlob, c.Subject, c.SerialHex, c.SKIHex,
		c.NotBefore, c.NotAfter, c.KeyType, c.CRLURL, c.OCSPURL, c.CreatedAt, c.UpdatedAt, c.OrgID)
}

// UpdateCA rewrites every field of the CA but its ids, organization and
// CreatedAt (a re-sealed key or a renewed CA certificate are updates too).
func (t *txView) UpdateCA(ctx context.Context, c *store.CA) error {
	stamp(&c.UpdatedAt, t.now())
	normTime(&c.NotBefore)
	normTime(&c.NotAfter)
	return t.guardedUpdate(ctx, "update CA "+c.ID, `UPDATE cas SET name = $1, kind = $2, status = $3, parent_id = $4,
		cert_der = $5, key_blob = $6, subject = $7, serial_hex = $8, ski_hex = $9, not_before = $10, not_after = $11,
		key_type = $12, crl_url = $13, ocsp_url = $14, updated_at = $15 WHERE id = $16`,
		c.Name, c.Kind, c.Status, c.ParentID, c.CertDER, c.KeyBlob, c.Subject, c.SerialHex, c.SKIHex,
		c.NotBefore, c.NotAfter, c.KeyType, c.CRLURL, c.OCSPURL, c.UpdatedAt, c.ID)
}

// Shared shapes of the simple collections.

// listFilter narrows a by-id listing; empty fields do not filter.
type listFilter struct {
	org, status, kind, profile string
}

// listByID pages a table by int id.
func listByID[T any](ctx context.Context, r reader, table, columns string, f listFilter, q store.ListQuery,
	scan func(scanner) (T, error), id func(*T) int64) ([]T, string, error) {
	after, err := decodeListCursor(q.Cursor)
	if err != nil {
		return nil, "", err
	}
	limit := pageLimit(q.Limit)
	var w where
	w.add("int_id > ?", after)
	for _, c := range []struct{ cond, val string }{
		{"status = ?", f.status}, {"profile_id = ?", f.profile}, {"org_id = ?", f.org}, {"kind = ?", f.kind},
	} {
		if c.val != "" {
			w.add(c.cond, c.val)
		}
	}
	lim := w.arg(limit + 1)
	cond, args := w.sql()
	items, err := queryMany(ctx, r.q, scan, `SELECT `+columns+` FROM `+table+cond+` ORDER BY int_id LIMIT `+lim, args...)
	items, next, err := listPage(items, err, limit, id)
	return items, next, mapErr(err, "list "+table)
}

func getOne[T any](ctx context.Context, r reader, table, columns, what string, scan func(scanner) (T, error),
	cond string, args ...any) (*T, error) {
	var v T
	err := queryOne(ctx, r.q, func(s scanner) (err error) { v, err = scan(s); return err },
		`SELECT `+columns+` FROM `+table+` WHERE `+cond, args...)
	if err != nil {
		return nil, mapErr(err, "get "+what)
	}
	return &v, nil
}

// insert runs an INSERT ... ON CONFLICT DO NOTHING RETURNING int_id: no row
// back means a unique key (id, name, serial, ...) is taken.
func (t *txView) insert(ctx context.Context, intID *int64, what, sql string, args ...any) error {
	sql, args = t.keepIntID(*intID, sql, args)
	ok, err := t.b.writeRow(ctx, []any{intID}, sql, args...)
	if err != nil {
		return mapErr(err, "insert "+what)
	}
	if !ok {
		return fmt.Errorf("postgres: insert %s: %w", what, store.ErrDuplicate)
	}
	return nil
}

// guardedInsert runs an INSERT ... RETURNING int_id that may break a
// foreign key (or a unique key) in a savepoint of its own.
func (t *txView) guardedInsert(ctx context.Context, intID *int64, what, sql string, args ...any) error {
	sql, args = t.keepIntID(*intID, sql, args)
	return mapErr(t.b.guarded(func() error {
		_, err := t.b.writeRow(ctx, []any{intID}, sql, args...)
		return err
	}), "insert "+what)
}

// guardedUpdate runs an UPDATE or DELETE of one row by id that may break a
// unique or foreign key, in a savepoint of its own; no row is ErrNotFound.
func (t *txView) guardedUpdate(ctx context.Context, what, sql string, args ...any) error {
	var tag pgconn.CommandTag
	err := t.b.guarded(func() (err error) {
		tag, err = t.q.Exec(ctx, sql, args...)
		return err
	})
	return affectedOne(tag, err, store.ErrNotFound, what)
}

// updateOne runs an UPDATE or DELETE of one row that breaks no constraint;
// no row is ErrNotFound.
func (t *txView) updateOne(ctx context.Context, what, sql string, args ...any) error {
	tag, err := t.q.Exec(ctx, sql, args...)
	return affectedOne(tag, err, store.ErrNotFound, what)
}
