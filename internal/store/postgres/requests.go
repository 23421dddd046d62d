package postgres

import (
	"context"

	"github.com/signet-pki/signet/internal/store"
)

const requestColumns = `int_id, id, profile_id, requester_id, status, kind, csr_pem, keygen, validity_days, renewal_of,
	owner, reason, decided_by, decided_at, cert_serial, created_at, updated_at, org_id, labels, custom_fields, method`

func scanRequest(s scanner) (store.Request, error) {
	var r store.Request
	err := s.Scan(&r.IntID, &r.ID, &r.ProfileID, &r.RequesterID, &r.Status, &r.Kind, &r.CSRPEM, &r.Keygen,
		&r.ValidityDays, &r.RenewalOf, &r.Owner, &r.Reason, &r.DecidedBy, &r.DecidedAt, &r.CertSerial, &r.CreatedAt,
		&r.UpdatedAt, &r.OrgID, &r.Labels, &r.CustomFields, &r.Method)
	r.Labels, r.CustomFields = emptyNil(r.Labels), emptyNil(r.CustomFields)
	return r, err
}

// GetRequest returns the request with public id id.
func (r reader) GetRequest(ctx context.Context, id string) (*store.Request, error) {
	return getOne(ctx, r, "requests", requestColumns, "request", scanRequest, "id = $1", id)
}

// ListRequests pages requests by int id, optionally by status, profile and
// organization.
func (r reader) ListRequests(ctx context.Context, q store.ListQuery) ([]store.Request, string, error) {
	return listByID(ctx, r, "requests", requestColumns, listFilter{org: q.OrgID, status: q.Status, profile: q.ProfileID},
		q, scanRequest, func(r *store.Request) int64 { return r.IntID })
}

// InsertRequest stores a new request and sets its IntID.
func (t *txView) InsertRequest(ctx context.Context, r *store.Request) error {
	now := t.now()
	stamp(&r.CreatedAt, now)
	stamp(&r.UpdatedAt, now)
	normTimePtr(r.DecidedAt)
	return t.insert(ctx, &r.IntID, "request "+r.ID, `INSERT INTO requests (id, profile_id, requester_id, status, kind,
		csr_pem, keygen, validity_days, renewal_of, owner, reason, decided_by, decided_at, cert_serial, created_at,
		updated_at, org_id, labels, custom_fields, method)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
		ON CONFLICT DO NOTHING RETURNING int_id`,
		r.ID, r.ProfileID, r.RequesterID, r.Status, r.Kind, r.CSRPEM, r.Keygen, r.ValidityDays, r.RenewalOf,
		r.Owner, r.Reason, r.DecidedBy, r.DecidedAt, r.CertSerial, r.CreatedAt, r.UpdatedAt,
		r.OrgID, jsonMap(r.Labels), jsonMap(r.CustomFields), r.Method)
}

// UpdateRequest rewrites the request (all but its ids, organization and
// CreatedAt) if its stored status is still fromStatus: ErrConflict if not,
// ErrNotFound if there is no such request.
func (t *txView) UpdateRequest(ctx context.Context, r *store.Request, fromStatus string) error {
	stamp(&r.UpdatedAt, t.now())
	normTimePtr(r.DecidedAt)
	what := "update request " + r.ID
	tag, err := t.q.Exec(ctx, `UPDATE requests SET profile_id = $1, requester_id = $2, status = $3, kind = $4,
		csr_pem = $5, keygen = $6, validity_days = $7, renewal_of = $8, owner = $9, reason = $10, decided_by = $11,
		decided_at = $12, cert_serial = $13, updated_at = $14, labels = $15, custom_fields = $16
		WHERE id = $17 AND status = $18`,
		r.ProfileID, r.RequesterID, r.Status, r.Kind, r.CSRPEM, r.Keygen, r.ValidityDays, r.RenewalOf, r.Owner,
		r.Reason, r.DecidedBy, r.DecidedAt, r.CertSerial, r.UpdatedAt, jsonMap(r.Labels),
		jsonMap(r.CustomFields), r.ID, fromStatus)
	if err != nil {
		return mapErr(err, what)
	}
	if tag.RowsAffected() == 0 {
		return t.conditional(ctx, "requests", "id", r.ID, what)
	}
	return nil
}
