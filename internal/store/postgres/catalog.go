package postgres

import (
	"context"

	"github.com/signet-pki/signet/internal/store"
)

// Templates and profiles: the small catalog clients choose from.

const templateColumns = `int_id, id, name, description, spec, created_at, updated_at, org_id`

func scanTemplate(s scanner) (store.Template, error) {
	var t store.Template
	err := s.Scan(&t.IntID, &t.ID, &t.Name, &t.Description, &t.Spec, &t.CreatedAt, &t.UpdatedAt, &t.OrgID)
	return t, err
}

// GetTemplate returns the template with public id id.
func (r reader) GetTemplate(ctx context.Context, id string) (*store.Template, error) {
	return getOne(ctx, r, "templates", templateColumns, "template", scanTemplate, "id = $1", id)
}

// GetTemplateByName returns the template named name.
func (r reader) GetTemplateByName(ctx context.Context, name string) (*store.Template, error) {
	return getOne(ctx, r, "templates", templateColumns, "template", scanTemplate, "name = $1", name)
}

// ListTemplates pages templates by int id (templates have no status).
func (r reader) ListTemplates(ctx context.Context, q store.ListQuery) ([]store.Template, string, error) {
	return listByID(ctx, r, "templates", templateColumns, listFilter{org: q.OrgID}, q, scanTemplate,
		func(t *store.Template) int64 { return t.IntID })
}

// InsertTemplate stores a new template and sets its IntID.
func (t *txView) InsertTemplate(ctx context.Context, tp *store.Template) error {
	now := t.now()
	stamp(&tp.CreatedAt, now)
	stamp(&tp.UpdatedAt, now)
	return t.insert(ctx, &tp.IntID, "template "+tp.ID, `INSERT INTO templates (id, name, description, spec, created_at,
		updated_at, org_id) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING int_id`,
		tp.ID, tp.Name, tp.Description, tp.Spec, tp.CreatedAt, tp.UpdatedAt, tp.OrgID)
}

// UpdateTemplate rewrites a template's name, description and spec.
func (t *txView) UpdateTemplate(ctx context.Context, tp *store.Template) error {
	stamp(&tp.UpdatedAt, t.now())
	return t.guardedUpdate(ctx, "update template "+tp.ID,
		`UPDATE templates SET name = $1, description = $2, spec = $3, updated_at = $4 WHERE id = $5`,
		tp.Name, tp.Description, tp.Spec, tp.UpdatedAt, tp.ID)
}

// DeleteTemplate removes a template; one still used by a profile is ErrConflict.
func (t *txView) DeleteTemplate(ctx context.Context, id string) error {
	return t.guardedUpdate(ctx, "delete template "+id, `DELETE FROM templates WHERE id = $1`, id)
}

const profileColumns = `int_id, id, name, description, template_id, ca_id, approval, default_validity_days,
	enrollment_methods, delivery_format, status, created_at, updated_at, org_id, issuer_type, connector_id`

func scanProfile(s scanner) (store.Profile, error) {
	var p store.Profile
	var caID *string // NULL for profiles without a Signet CA
	err := s.Scan(&p.IntID, &p.ID, &p.Name, &p.Description, &p.TemplateID, &caID, &p.Approval, &p.DefaultValidityDays,
		&p.EnrollmentMethods, &p.DeliveryFormat, &p.Status, &p.CreatedAt, &p.UpdatedAt, &p.OrgID, &p.IssuerType, &p.ConnectorID)
	if caID != nil {
		p.CAID = *caID
	}
	return p, err
}

// nullable stores "" as NULL, for optional references.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// issuerType stores the default for profiles written by code that predates issuer types.
func issuerType(s string) string {
	if s == "" {
		return store.IssuerInternal
	}
	return s
}

// GetProfile returns the profile with public id id.
func (r reader) GetProfile(ctx context.Context, id string) (*store.Profile, error) {
	return getOne(ctx, r, "profiles", profileColumns, "profile", scanProfile, "id = $1", id)
}

// GetProfileByName returns the profile named name.
func (r reader) GetProfileByName(ctx context.Context, name string) (*store.Profile, error) {
	return getOne(ctx, r, "profiles", profileColumns, "profile", scanProfile, "name = $1", name)
}

// ListProfiles pages profiles by int id, optionally by status and organization.
func (r reader) ListProfiles(ctx context.Context, q store.ListQuery) ([]store.Profile, string, error) {
	return listByID(ctx, r, "profiles", profileColumns, listFilter{org: q.OrgID, status: q.Status}, q, scanProfile,
		func(p *store.Profile) int64 { return p.IntID })
}

// CountProfilesUsing counts profiles using the template or the CA (either
// may be empty, and then does not match).
func (r reader) CountProfilesUsing(ctx context.Context, templateID, caID string) (int64, error) {
	var n int64
	err := queryOne(ctx, r.q, func(s scanner) error { return s.Scan(&n) },
		`SELECT count(*) FROM profiles WHERE ($1 <> '' AND template_id = $1) OR ($2 <> '' AND ca_id = $2)`,
		templateID, caID)
	return n, mapErr(err, "count profiles")
}

// InsertProfile stores a new profile and sets its IntID. Its template and CA
// must exist (else ErrConflict).
func (t *txView) InsertProfile(ctx context.Context, p *store.Profile) error {
	now := t.now()
	stamp(&p.CreatedAt, now)
	stamp(&p.UpdatedAt, now)
	return t.guardedInsert(ctx, &p.IntID, "profile "+p.ID, `INSERT INTO profiles (id, name, description, template_id,
		ca_id, approval, default_validity_days, enrollment_methods, delivery_format, status, created_at, updated_at, org_id,
		issuer_type, connector_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING int_id`,
		p.ID, p.Name, p.Description, p.TemplateID, nullable(p.CAID), p.Approval, p.DefaultValidityDays, list(p.EnrollmentMethods),
		p.DeliveryFormat, p.Status, p.CreatedAt, p.UpdatedAt, p.OrgID, issuerType(p.IssuerType), p.ConnectorID)
}

// UpdateProfile rewrites every field of the profile but its ids and CreatedAt.
func (t *txView) UpdateProfile(ctx context.Context, p *store.Profile) error {
	stamp(&p.UpdatedAt, t.now())
	return t.guardedUpdate(ctx, "update profile "+p.ID, `UPDATE profiles SET name = $1, description = $2,
		template_id = $3, ca_id = $4, approval = $5, default_validity_days = $6, enrollment_methods = $7,
		delivery_format = $8, status = $9, updated_at = $10, issuer_type = $11, connector_id = $12 WHERE id = $13`,
		p.Name, p.Description, p.TemplateID, nullable(p.CAID), p.Approval, p.DefaultValidityDays, list(p.EnrollmentMethods),
		p.DeliveryFormat, p.Status, p.UpdatedAt, issuerType(p.IssuerType), p.ConnectorID, p.ID)
}

// DeleteProfile removes a profile.
func (t *txView) DeleteProfile(ctx context.Context, id string) error {
	return t.updateOne(ctx, "delete profile "+id, `DELETE FROM profiles WHERE id = $1`, id)
}
