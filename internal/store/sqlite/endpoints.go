package sqlite

import (
	"context"
	"database/sql"

	"github.com/signet-pki/signet/internal/store"
)

const endpointColumns = `int_id, id, org_id, host, port, server_name, cert_sha256, grade, rating, error, first_seen, last_seen, last_scan`

func scanEndpoint(s scanner) (store.Endpoint, error) {
	var e store.Endpoint
	var fs, ls int64
	var seen sql.NullInt64
	err := s.Scan(&e.IntID, &e.ID, &e.OrgID, &e.Host, &e.Port, &e.ServerName, &e.CertSHA256, &e.Grade, &e.Rating, &e.Error,
		&fs, &seen, &ls)
	e.FirstSeen, e.LastScan = fromDB(fs), fromDB(ls)
	if seen.Valid {
		e.LastSeen = fromDB(seen.Int64)
	}
	return e, err
}

// GetEndpoint returns the endpoint with public id id.
func (r reader) GetEndpoint(ctx context.Context, id string) (*store.Endpoint, error) {
	return getOne(ctx, r, "endpoints", endpointColumns, "endpoint", scanEndpoint, "id = ?", id)
}

// ListEndpoints pages endpoints by int id.
func (r reader) ListEndpoints(ctx context.Context, q store.EndpointQuery) ([]store.Endpoint, string, error) {
	after, err := decodeListCursor(q.Cursor)
	if err != nil {
		return nil, "", err
	}
	limit := pageLimit(q.Limit)
	query, args := `SELECT `+endpointColumns+` FROM endpoints WHERE int_id > ?`, []any{after}
	for _, f := range []struct{ cond, val string }{{"org_id = ?", q.OrgID}, {"cert_sha256 = ?", q.CertSHA256}, {"grade = ?", q.Grade}} {
		if f.val != "" {
			query, args = query+" AND "+f.cond, append(args, f.val)
		}
	}
	items, err := queryMany(ctx, r.q, scanEndpoint, query+` ORDER BY int_id LIMIT ?`, append(args, limit+1)...)
	items, next, err := listPage(items, err, limit, func(e *store.Endpoint) int64 { return e.IntID })
	return items, next, mapErr(err, "list endpoints")
}

// UpsertEndpoint inserts or updates the endpoint's last scan. A failed scan
// keeps the certificate last seen there.
func (t *txView) UpsertEndpoint(ctx context.Context, e *store.Endpoint) error {
	normTime(&e.FirstSeen)
	normTime(&e.LastScan)
	var seen any
	if !e.LastSeen.IsZero() {
		normTime(&e.LastSeen)
		seen = toDB(e.LastSeen)
	}
	rating := e.Rating
	if rating == nil {
		rating = []byte("null")
	}
	err := queryOne(ctx, t.q, func(s scanner) error {
		var fs int64
		if err := s.Scan(&e.IntID, &e.ID, &fs); err != nil {
			return err
		}
		e.FirstSeen = fromDB(fs)
		return nil
	}, `INSERT INTO endpoints (id, org_id, host, port, server_name, cert_sha256, grade, rating, error, first_seen, last_seen, last_scan)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (org_id, host, port, server_name) DO UPDATE SET
			cert_sha256 = CASE excluded.cert_sha256 WHEN '' THEN endpoints.cert_sha256 ELSE excluded.cert_sha256 END,
			grade = excluded.grade, rating = excluded.rating, error = excluded.error,
			last_seen = coalesce(excluded.last_seen, endpoints.last_seen), last_scan = excluded.last_scan
		RETURNING int_id, id, first_seen`,
		e.ID, e.OrgID, e.Host, e.Port, e.ServerName, e.CertSHA256, e.Grade, rating, e.Error, toDB(e.FirstSeen), seen, toDB(e.LastScan))
	if err != nil {
		return mapErr(err, "upsert endpoint")
	}
	if seen == nil {
		// The row may carry an earlier sighting; read it back.
		var ls sql.NullInt64
		if err := queryOne(ctx, t.q, func(s scanner) error { return s.Scan(&ls) },
			`SELECT last_seen FROM endpoints WHERE int_id = ?`, e.IntID); err == nil && ls.Valid {
			e.LastSeen = fromDB(ls.Int64)
		}
	}
	return nil
}
