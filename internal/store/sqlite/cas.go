package sqlite

import (
	"context"

	"github.com/signet-pki/signet/internal/store"
)

const caColumns = `int_id, id, name, kind, status, parent_id, cert_der, key_blob, subject, serial_hex, ski_hex,
	not_before, not_after, key_type, crl_url, ocsp_url, created_at, updated_at, org_id`

func scanCA(s scanner) (store.CA, error) {
	var c store.CA
	var nb, na, ca, ua int64
	err := s.Scan(&c.IntID, &c.ID, &c.Name, &c.Kind, &c.Status, &c.ParentID, &c.CertDER, &c.KeyBlob, &c.Subject,
		&c.SerialHex, &c.SKIHex, &nb, &na, &c.KeyType, &c.CRLURL, &c.OCSPURL, &ca, &ua, &c.OrgID)
	c.NotBefore, c.NotAfter, c.CreatedAt, c.UpdatedAt = fromDB(nb), fromDB(na), fromDB(ca), fromDB(ua)
	return c, err
}

func (r reader) getCA(ctx context.Context, where string, arg any) (*store.CA, error) {
	var c store.CA
	err := queryOne(ctx, r.q, func(s scanner) (err error) { c, err = scanCA(s); return err },
		`SELECT `+caColumns+` FROM cas WHERE `+where, arg)
	if err != nil {
		return nil, mapErr(err, "get CA")
	}
	return &c, nil
}

// GetCA returns the CA with public id id.
func (r reader) GetCA(ctx context.Context, id string) (*store.CA, error) {
	return r.getCA(ctx, "id = ?", id)
}

// GetCAByName returns the CA named name.
func (r reader) GetCAByName(ctx context.Context, name string) (*store.CA, error) {
	return r.getCA(ctx, "name = ?", name)
}

// ListCAs pages CAs by int id, optionally by status.
func (r reader) ListCAs(ctx context.Context, q store.ListQuery) ([]store.CA, string, error) {
	after, err := decodeListCursor(q.Cursor)
	if err != nil {
		return nil, "", err
	}
	limit := pageLimit(q.Limit)
	query, args := `SELECT `+caColumns+` FROM cas WHERE int_id > ?`, []any{after}
	if q.Status != "" {
		query, args = query+` AND status = ?`, append(args, q.Status)
	}
	if q.OrgID != "" {
		query, args = query+` AND org_id = ?`, append(args, q.OrgID)
	}
	items, err := queryMany(ctx, r.q, scanCA, query+` ORDER BY int_id LIMIT ?`, append(args, limit+1)...)
	items, next, err := listPage(items, err, limit, func(c *store.CA) int64 { return c.IntID })
	return items, next, mapErr(err, "list CAs")
}

// InsertCA stores a new CA and sets its IntID.
func (t *txView) InsertCA(ctx context.Context, c *store.CA) error {
	now := t.now()
	stamp(&c.CreatedAt, now)
	stamp(&c.UpdatedAt, now)
	normTime(&c.NotBefore)
	normTime(&c.NotAfter)
	res, err := t.q.ExecContext(ctx, `INSERT INTO cas (int_id, id, name, kind, status, parent_id, cert_der, key_blob, subject,
		serial_hex, ski_hex, not_before, not_after, key_type, crl_url, ocsp_url, created_at, updated_at, org_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.keptID(c.IntID), c.ID, c.Name, c.Kind, c.Status, c.ParentID, blob(c.CertDER), blob(c.KeyBlob), c.Subject, c.SerialHex, c.SKIHex,
		toDB(c.NotBefore), toDB(c.NotAfter), c.KeyType, c.CRLURL, c.OCSPURL, toDB(c.CreatedAt), toDB(c.UpdatedAt), c.OrgID)
	if err != nil {
		return mapErr(err, "insert CA "+c.ID)
	}
	c.IntID, err = res.LastInsertId()
	return mapErr(err, "insert CA "+c.ID)
}

// UpdateCA rewrites every field of the CA but its ids and CreatedAt (a
// re-sealed key or a renewed CA certificate are updates too).
func (t *txView) UpdateCA(ctx context.Context, c *store.CA) error {
	stamp(&c.UpdatedAt, t.now())
	normTime(&c.NotBefore)
	normTime(&c.NotAfter)
	res, err := t.q.ExecContext(ctx, `UPDATE cas SET name = ?, kind = ?, status = ?, parent_id = ?, cert_der = ?, key_blob = ?,
		subject = ?, serial_hex = ?, ski_hex = ?, not_before = ?, not_after = ?, key_type = ?, crl_url = ?, ocsp_url = ?,
		updated_at = ? WHERE id = ?`,
		c.Name, c.Kind, c.Status, c.ParentID, blob(c.CertDER), blob(c.KeyBlob), c.Subject, c.SerialHex, c.SKIHex,
		toDB(c.NotBefore), toDB(c.NotAfter), c.KeyType, c.CRLURL, c.OCSPURL, toDB(c.UpdatedAt), c.ID)
	return affectedOne(res, err, store.ErrNotFound, "update CA "+c.ID)
}
