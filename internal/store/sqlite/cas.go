package sqlite

import (
	"context"

	"github.com/signet-pki/signet/internal/store"
)

const caColumns = `int_id, id, name, kind, status, parent_id, cert_der, key_blob, subject, serial_hex, ski_hex,
	not_before, not_after, key_type, crl_url, ocsp_url, created_at, updated_at`

func scanCA(s scanner) (store.CA, int64, error) {
	var c store.CA
	var nb, na, ca, ua int64
	err := s.Scan(&c.IntID, &c.ID, &c.Name, &c.Kind, &c.Status, &c.ParentID, &c.CertDER, &c.KeyBlob, &c.Subject,
		&c.SerialHex, &c.SKIHex, &nb, &na, &c.KeyType, &c.CRLURL, &c.OCSPURL, &ca, &ua)
	c.NotBefore, c.NotAfter, c.CreatedAt, c.UpdatedAt = fromTS(nb), fromTS(na), fromTS(ca), fromTS(ua)
	return c, c.IntID, err
}

func (r reader) getCA(ctx context.Context, where string, arg any) (*store.CA, error) {
	c, _, err := scanCA(r.q.QueryRowContext(ctx, `SELECT `+caColumns+` FROM cas WHERE `+where, arg))
	if err != nil {
		return nil, mapErr(err, "get CA")
	}
	return &c, nil
}

func (r reader) GetCA(ctx context.Context, id string) (*store.CA, error) {
	return r.getCA(ctx, "id = ?", id)
}

func (r reader) GetCAByName(ctx context.Context, name string) (*store.CA, error) {
	return r.getCA(ctx, "name = ?", name)
}

func (r reader) ListCAs(ctx context.Context, q store.ListQuery) ([]store.CA, string, error) {
	after, err := parseListCursor(q.Cursor)
	if err != nil {
		return nil, "", err
	}
	limit := limitOf(q.Limit)
	rows, err := r.q.QueryContext(ctx, `SELECT `+caColumns+` FROM cas WHERE int_id > ? AND (? = '' OR status = ?) ORDER BY int_id LIMIT ?`,
		after, q.Status, q.Status, limit+1)
	return collect(rows, err, limit, scanCA)
}

func (t *txView) InsertCA(ctx context.Context, c *store.CA) error {
	res, err := t.q.ExecContext(ctx, `INSERT INTO cas (id, name, kind, status, parent_id, cert_der, key_blob, subject, serial_hex, ski_hex,
		not_before, not_after, key_type, crl_url, ocsp_url, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.Name, c.Kind, c.Status, c.ParentID, c.CertDER, nullBlob(c.KeyBlob), c.Subject, c.SerialHex, c.SKIHex,
		ts(c.NotBefore), ts(c.NotAfter), c.KeyType, c.CRLURL, c.OCSPURL, ts(c.CreatedAt), ts(c.UpdatedAt))
	if err != nil {
		return mapErr(err, "insert CA")
	}
	c.IntID, _ = res.LastInsertId()
	return nil
}

func (t *txView) UpdateCA(ctx context.Context, c *store.CA) error {
	res, err := t.q.ExecContext(ctx, `UPDATE cas SET name = ?, status = ?, parent_id = ?, crl_url = ?, ocsp_url = ?, updated_at = ? WHERE id = ?`,
		c.Name, c.Status, c.ParentID, c.CRLURL, c.OCSPURL, ts(c.UpdatedAt), c.ID)
	return affectedOne(res, err, store.ErrNotFound, "update CA")
}

func nullBlob(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}
