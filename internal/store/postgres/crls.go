package postgres

import (
	"context"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

// revokedChunk is how many CRL entries one query reads. Entries are read in
// chunks by keyset rather than through one open result, so that fn may use
// the store (or, inside an update function, the same transaction) while
// the walk goes on, and memory stays flat however long the CRL.
const revokedChunk = 2000

// ForEachRevoked streams the revoked and held certificates of a CA in
// (not_after, serial) order from the partial index certificates_revoked
// alone (an index-only scan), all from one snapshot. As in store/sqlite,
// fn gets the same *Certificate each time, holding only what a CRL entry
// needs; it must copy what it keeps.
func (r reader) ForEachRevoked(ctx context.Context, q store.RevokedQuery, fn func(*store.Certificate) error) error {
	snap, done, err := r.snapshot(ctx, true)
	if err != nil {
		return mapErr(err, "list revoked certificates")
	}
	defer done()
	type entry struct {
		serial, status      string
		reason              int
		revoked, invalidity *time.Time
		notAfter            time.Time
	}
	c := store.Certificate{CAID: q.CAID}
	var last *entry
	for {
		var w where
		w.add("status IN ('revoked', 'on_hold') AND ca_id = ? AND not_after >= ?", q.CAID, q.NotAfterFrom)
		if q.ChangedSince != nil {
			w.add("revoked_at >= ?", *q.ChangedSince)
		}
		if last != nil {
			w.add("(not_after, serial) > (?, ?)", last.notAfter, last.serial)
		}
		lim := w.arg(revokedChunk)
		cond, args := w.sql()
		chunk, err := queryMany(ctx, snap, func(s scanner) (e entry, err error) {
			return e, s.Scan(&e.serial, &e.status, &e.reason, &e.revoked, &e.invalidity, &e.notAfter)
		}, `SELECT serial, status, CASE status WHEN 'on_hold' THEN 6 ELSE revocation_reason END, revoked_at,
			invalidity_date, not_after FROM certificates`+cond+` ORDER BY not_after, serial LIMIT `+lim, args...)
		if err != nil {
			return mapErr(err, "list revoked certificates")
		}
		for i := range chunk {
			e := &chunk[i]
			c.Serial, c.Status, c.RevocationReason, c.RevokedAt, c.InvalidityDate, c.NotAfter =
				e.serial, e.status, e.reason, e.revoked, e.invalidity, e.notAfter
			if err := fn(&c); err != nil {
				return err
			}
		}
		if len(chunk) < revokedChunk {
			return nil
		}
		last = &chunk[len(chunk)-1]
	}
}

const crlColumns = `ca_id, number, base_number, this_update, next_update, entries, der`

func scanCRL(s scanner) (store.CRL, error) {
	var c store.CRL
	err := s.Scan(&c.CAID, &c.Number, &c.BaseNumber, &c.ThisUpdate, &c.NextUpdate, &c.Entries, &c.DER)
	return c, err
}

// LatestCRL returns the CA's newest full or delta CRL.
func (r reader) LatestCRL(ctx context.Context, caID string, delta bool) (*store.CRL, error) {
	return getOne(ctx, r, "crls", crlColumns, "CRL", scanCRL,
		"ca_id = $1 AND (base_number <> 0) = $2 ORDER BY number DESC LIMIT 1", caID, delta)
}

// MaxCRLNumber is the highest number the CA's CRLs used.
func (r reader) MaxCRLNumber(ctx context.Context, caID string) (int64, error) {
	var n int64
	err := queryOne(ctx, r.q, func(s scanner) error { return s.Scan(&n) },
		`SELECT coalesce(max(number), 0) FROM crls WHERE ca_id = $1`, caID)
	return n, mapErr(err, "max CRL number")
}

// InsertCRL stores a CRL; a taken number is ErrDuplicate. Older CRLs of the
// CA beyond the last few are dropped: only the newest are ever served.
func (t *txView) InsertCRL(ctx context.Context, c *store.CRL) error {
	normTime(&c.ThisUpdate)
	normTime(&c.NextUpdate)
	var one int64
	if err := t.insert(ctx, &one, "CRL", `INSERT INTO crls (`+crlColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT DO NOTHING RETURNING 1`,
		c.CAID, c.Number, c.BaseNumber, c.ThisUpdate, c.NextUpdate, c.Entries, nonNil(c.DER)); err != nil {
		return err
	}
	_, err := t.q.Exec(ctx, `DELETE FROM crls WHERE ca_id = $1 AND number < $2`, c.CAID, c.Number-10)
	return mapErr(err, "prune CRLs")
}
