package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

// ForEachRevoked streams the revoked and held certificates of a CA from the
// partial index certificates_revoked alone (no table reads), inside one
// read transaction.
func (r reader) ForEachRevoked(ctx context.Context, q store.RevokedQuery, fn func(*store.Certificate) error) error {
	snap, done, err := r.snapshot(ctx, true)
	if err != nil {
		return mapErr(err, "list revoked certificates")
	}
	defer done()
	// Few columns: each one read costs about as much as a row's visit.
	query := `SELECT serial, CASE status WHEN 'on_hold' THEN 6 ELSE revocation_reason END, revoked_at, invalidity_date
		FROM certificates INDEXED BY certificates_revoked
		WHERE status IN ('revoked', 'on_hold') AND ca_id = ? AND not_after >= ?`
	args := []any{q.CAID, toDB(q.NotAfterFrom)}
	if q.ChangedSince != nil {
		query, args = query+` AND revoked_at >= ?`, append(args, toDB(*q.ChangedSince))
	}
	rows, err := snap.QueryContext(ctx, query+` ORDER BY ca_id, not_after, serial`, args...)
	if err != nil {
		return mapErr(err, "list revoked certificates")
	}
	defer rows.Close()
	c := store.Certificate{CAID: q.CAID, Status: store.CertRevoked}
	var revoked, invalid sql.NullInt64
	var at, inv time.Time
	for rows.Next() {
		if err := rows.Scan(&c.Serial, &c.RevocationReason, &revoked, &invalid); err != nil {
			return mapErr(err, "read revoked certificate")
		}
		c.Status, c.RevokedAt = store.CertRevoked, nil
		if c.RevocationReason == 6 {
			c.Status = store.CertOnHold
		}
		if revoked.Valid {
			at = fromDB(revoked.Int64)
			c.RevokedAt = &at
		}
		c.InvalidityDate = nil
		if invalid.Valid {
			inv = fromDB(invalid.Int64)
			c.InvalidityDate = &inv
		}
		if err := fn(&c); err != nil {
			return err
		}
	}
	return mapErr(rows.Err(), "list revoked certificates")
}

const crlColumns = `ca_id, number, base_number, this_update, next_update, entries, der`

func scanCRL(s scanner) (store.CRL, error) {
	var c store.CRL
	var tu, nu int64
	err := s.Scan(&c.CAID, &c.Number, &c.BaseNumber, &tu, &nu, &c.Entries, &c.DER)
	c.ThisUpdate, c.NextUpdate = fromDB(tu), fromDB(nu)
	return c, err
}

// LatestCRL returns the CA's newest full or delta CRL.
func (r reader) LatestCRL(ctx context.Context, caID string, delta bool) (*store.CRL, error) {
	cond := "base_number = 0"
	if delta {
		cond = "base_number <> 0"
	}
	return getOne(ctx, r, "crls", crlColumns, "CRL", scanCRL, "ca_id = ? AND "+cond+" ORDER BY number DESC LIMIT 1", caID)
}

// MaxCRLNumber is the highest number the CA's CRLs used.
func (r reader) MaxCRLNumber(ctx context.Context, caID string) (int64, error) {
	var n int64
	err := queryOne(ctx, r.q, func(s scanner) error { return s.Scan(&n) },
		`SELECT coalesce(max(number), 0) FROM crls WHERE ca_id = ?`, caID)
	return n, mapErr(err, "max CRL number")
}

// InsertCRL stores a CRL; a taken number is ErrDuplicate. Older CRLs of the
// CA beyond the last few are dropped: only the newest are ever served.
func (t *txView) InsertCRL(ctx context.Context, c *store.CRL) error {
	normTime(&c.ThisUpdate)
	normTime(&c.NextUpdate)
	if _, err := t.q.ExecContext(ctx, `INSERT INTO crls (`+crlColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		c.CAID, c.Number, c.BaseNumber, toDB(c.ThisUpdate), toDB(c.NextUpdate), c.Entries, c.DER); err != nil {
		return mapErr(err, "insert CRL")
	}
	_, err := t.q.ExecContext(ctx, `DELETE FROM crls WHERE ca_id = ? AND number < ?`, c.CAID, c.Number-10)
	return mapErr(err, "prune CRLs")
}
