package postgres

import (
	"context"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

// TLS endpoints discovery has scanned.

const endpointColumns = `int_id, id, org_id, host, port, server_name, cert_sha256, grade, rating, error, first_seen,
	last_seen, last_scan`

func scanEndpoint(s scanner) (store.Endpoint, error) {
	var e store.Endpoint
	var seen *time.Time
	err := s.Scan(&e.IntID, &e.ID, &e.OrgID, &e.Host, &e.Port, &e.ServerName, &e.CertSHA256, &e.Grade, &e.Rating, &e.Error,
		&e.FirstSeen, &seen, &e.LastScan)
	if seen != nil {
		e.LastSeen = *seen
	}
	return e, err
}

// GetEndpoint returns the endpoint with public id id.
func (r reader) GetEndpoint(ctx context.Context, id string) (*store.Endpoint, error) {
	return getOne(ctx, r, "endpoints", endpointColumns, "endpoint", scanEndpoint, "id = $1", id)
}

// ListEndpoints pages endpoints by int id, optionally of one organization,
// serving one certificate or with one grade.
func (r reader) ListEndpoints(ctx context.Context, q store.EndpointQuery) ([]store.Endpoint, string, error) {
	after, err := decodeListCursor(q.Cursor)
	if err != nil {
		return nil, "", err
	}
	limit := pageLimit(q.Limit)
	var w where
	w.add("int_id > ?", after)
	for _, f := range []struct{ cond, val string }{{"org_id = ?", q.OrgID}, {"cert_sha256 = ?", q.CertSHA256}, {"grade = ?", q.Grade}} {
		if f.val != "" {
			w.add(f.cond, f.val)
		}
	}
	lim := w.arg(limit + 1)
	cond, args := w.sql()
	items, err := queryMany(ctx, r.q, scanEndpoint, `SELECT `+endpointColumns+` FROM endpoints`+cond+
		` ORDER BY int_id LIMIT `+lim, args...)
	items, next, err := listPage(items, err, limit, func(e *store.Endpoint) int64 { return e.IntID })
	return items, next, mapErr(err, "list endpoints")
}

// UpsertEndpoint records a scan: a new endpoint is inserted as given; a
// known one (same organization, host, port and server name) keeps its id
// and FirstSeen, and when this scan failed its last sighting (these are set
// back into e) and the certificate it last served.
func (t *txView) UpsertEndpoint(ctx context.Context, e *store.Endpoint) error {
	normTime(&e.FirstSeen)
	normTime(&e.LastScan)
	var seen *time.Time
	if !e.LastSeen.IsZero() {
		normTime(&e.LastSeen)
		seen = &e.LastSeen
	}
	rating := e.Rating
	if rating == nil {
		rating = []byte("null") // as store/sqlite keeps it
	}
	var stored *time.Time
	_, err := t.b.writeRow(ctx, []any{&e.IntID, &e.ID, &e.FirstSeen, &stored}, `INSERT INTO endpoints (id, org_id, host,
		port, server_name, cert_sha256, grade, rating, error, first_seen, last_seen, last_scan)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		ON CONFLICT (org_id, host, port, server_name) DO UPDATE SET
			cert_sha256 = CASE excluded.cert_sha256 WHEN '' THEN endpoints.cert_sha256 ELSE excluded.cert_sha256 END,
			grade = excluded.grade, rating = excluded.rating, error = excluded.error,
			last_seen = coalesce(excluded.last_seen, endpoints.last_seen), last_scan = excluded.last_scan
		RETURNING int_id, id, first_seen, last_seen`,
		e.ID, e.OrgID, e.Host, e.Port, e.ServerName, e.CertSHA256, e.Grade, rating, e.Error, e.FirstSeen, seen, e.LastScan)
	if err != nil {
		return mapErr(err, "upsert endpoint")
	}
	if stored != nil {
		e.LastSeen = *stored
	}
	return nil
}
