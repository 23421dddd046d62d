package sqlite

import (
	"context"
	"database/sql"

	"github.com/signet-pki/signet/internal/store"
)

const requestColumns = `int_id, id, profile_id, requester_id, status, kind, csr_pem, keygen, validity_days, renewal_of, owner,
	reason, decided_by, decided_at, cert_serial, created_at, updated_at`

func scanRequest(s scanner) (store.Request, int64, error) {
	var r store.Request
	var keygen string
	var decided sql.NullInt64
	var ca, ua int64
	err := s.Scan(&r.IntID, &r.ID, &r.ProfileID, &r.RequesterID, &r.Status, &r.Kind, &r.CSRPEM, &keygen, &r.ValidityDays,
		&r.RenewalOf, &r.Owner, &r.Reason, &r.DecidedBy, &decided, &r.CertSerial, &ca, &ua)
	if keygen != "" {
		r.Keygen = []byte(keygen)
	}
	r.DecidedAt, r.CreatedAt, r.UpdatedAt = fromTSPtr(decided), fromTS(ca), fromTS(ua)
	return r, r.IntID, err
}

func (r reader) GetRequest(ctx context.Context, id string) (*store.Request, error) {
	req, _, err := scanRequest(r.q.QueryRowContext(ctx, `SELECT `+requestColumns+` FROM requests WHERE id = ?`, id))
	if err != nil {
		return nil, mapErr(err, "get request")
	}
	return &req, nil
}

func (r reader) ListRequests(ctx context.Context, q store.ListQuery) ([]store.Request, string, error) {
	after, err := parseListCursor(q.Cursor)
	if err != nil {
		return nil, "", err
	}
	limit := limitOf(q.Limit)
	rows, err := r.q.QueryContext(ctx, `SELECT `+requestColumns+` FROM requests
		WHERE int_id > ? AND (? = '' OR status = ?) AND (? = '' OR profile_id = ?) ORDER BY int_id LIMIT ?`,
		after, q.Status, q.Status, q.ProfileID, q.ProfileID, limit+1)
	return collect(rows, err, limit, scanRequest)
}

func (t *txView) InsertRequest(ctx context.Context, r *store.Request) error {
	res, err := t.q.ExecContext(ctx, `INSERT INTO requests (id, profile_id, requester_id, status, kind, csr_pem, keygen, validity_days,
		renewal_of, owner, reason, decided_by, decided_at, cert_serial, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.ProfileID, r.RequesterID, r.Status, r.Kind, r.CSRPEM, string(r.Keygen), r.ValidityDays, r.RenewalOf, r.Owner,
		r.Reason, r.DecidedBy, tsPtr(r.DecidedAt), r.CertSerial, ts(r.CreatedAt), ts(r.UpdatedAt))
	if err != nil {
		return mapErr(err, "insert request")
	}
	r.IntID, _ = res.LastInsertId()
	return nil
}

func (t *txView) UpdateRequest(ctx context.Context, r *store.Request, fromStatus string) error {
	res, err := t.q.ExecContext(ctx, `UPDATE requests SET status = ?, reason = ?, decided_by = ?, decided_at = ?, cert_serial = ?,
		updated_at = ? WHERE id = ? AND status = ?`,
		r.Status, r.Reason, r.DecidedBy, tsPtr(r.DecidedAt), r.CertSerial, ts(r.UpdatedAt), r.ID, fromStatus)
	return affectedOne(res, err, store.ErrConflict, "update request")
}
