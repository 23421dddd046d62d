package sqlite

import (
	"context"
	"database/sql"

	"github.com/signet-pki/signet/internal/store"
)

// Templates and profiles: the small catalog clients choose from.

const templateColumns = `int_id, id, name, description, spec, created_at, updated_at, org_id`

func scanTemplate(s scanner) (store.Template, error) {
	var t store.Template
	var ca, ua int64
	err := s.Scan(&t.IntID, &t.ID, &t.Name, &t.Description, &t.Spec, &ca, &ua, &t.OrgID)
	t.CreatedAt, t.UpdatedAt = fromDB(ca), fromDB(ua)
	return t, err
}

func (r reader) getTemplate(ctx context.Context, where string, arg any) (*store.Template, error) {
	var t store.Template
	err := queryOne(ctx, r.q, func(s scanner) (err error) { t, err = scanTemplate(s); return err },
		`SELECT `+templateColumns+` FROM templates WHERE `+where, arg)
	if err != nil {
		return nil, mapErr(err, "get template")
	}
	return &t, nil
}

// GetTemplate returns the template with public id id.
func (r reader) GetTemplate(ctx context.Context, id string) (*store.Template, error) {
	return r.getTemplate(ctx, "id = ?", id)
}

// GetTemplateByName returns the template named name.
func (r reader) GetTemplateByName(ctx context.Context, name string) (*store.Template, error) {
	return r.getTemplate(ctx, "name = ?", name)
}

// ListTemplates pages templates by int id (templates have no status).
func (r reader) ListTemplates(ctx context.Context, q store.ListQuery) ([]store.Template, string, error) {
	after, err := decodeListCursor(q.Cursor)
	if err != nil {
		return nil, "", err
	}
	limit := pageLimit(q.Limit)
	query, args := `SELECT `+templateColumns+` FROM templates WHERE int_id > ?`, []any{after}
	if q.OrgID != "" {
		query, args = query+` AND org_id = ?`, append(args, q.OrgID)
	}
	items, err := queryMany(ctx, r.q, scanTemplate, query+` ORDER BY int_id LIMIT ?`, append(args, limit+1)...)
	items, next, err := listPage(items, err, limit, func(t *store.Template) int64 { return t.IntID })
	return items, next, mapErr(err, "list templates")
}

// InsertTemplate stores a new template and sets its IntID.
func (t *txView) InsertTemplate(ctx context.Context, tp *store.Template) error {
	now := t.now()
	stamp(&tp.CreatedAt, now)
	stamp(&tp.UpdatedAt, now)
	res, err := t.q.ExecContext(ctx, `INSERT INTO templates (int_id, id, name, description, spec, created_at, updated_at, org_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, t.keptID(tp.IntID), tp.ID, tp.Name, tp.Description, blob(tp.Spec), toDB(tp.CreatedAt), toDB(tp.UpdatedAt),
		tp.OrgID)
	if err != nil {
		return mapErr(err, "insert template "+tp.ID)
	}
	tp.IntID, err = res.LastInsertId()
	return mapErr(err, "insert template "+tp.ID)
}

// UpdateTemplate rewrites a template's name, description and spec.
func (t *txView) UpdateTemplate(ctx context.Context, tp *store.Template) error {
	stamp(&tp.UpdatedAt, t.now())
	res, err := t.q.ExecContext(ctx, `UPDATE templates SET name = ?, description = ?, spec = ?, updated_at = ? WHERE id = ?`,
		tp.Name, tp.Description, blob(tp.Spec), toDB(tp.UpdatedAt), tp.ID)
	return affectedOne(res, err, store.ErrNotFound, "update template "+tp.ID)
}

// DeleteTemplate removes a template; one still used by a profile is ErrConflict.
func (t *txView) DeleteTemplate(ctx context.Context, id string) error {
	res, err := t.q.ExecContext(ctx, `DELETE FROM templates WHERE id = ?`, id)
	return affectedOne(res, err, store.ErrNotFound, "delete template "+id)
}

const profileColumns = `int_id, id, name, description, template_id, ca_id, approval, default_validity_days,
	enrollment_methods, delivery_format, status, created_at, updated_at, org_id, issuer_type, connector_id`

func scanProfile(s scanner) (store.Profile, error) {
	var p store.Profile
	var methods string
	var caID sql.NullString
	var ca, ua int64
	err := s.Scan(&p.IntID, &p.ID, &p.Name, &p.Description, &p.TemplateID, &caID, &p.Approval, &p.DefaultValidityDays,
		&methods, &p.DeliveryFormat, &p.Status, &ca, &ua, &p.OrgID, &p.IssuerType, &p.ConnectorID)
	if err != nil {
		return p, err
	}
	p.CAID = caID.String
	p.CreatedAt, p.UpdatedAt = fromDB(ca), fromDB(ua)
	p.EnrollmentMethods, err = fromJSONText(methods)
	return p, err
}

func (r reader) getProfile(ctx context.Context, where string, arg any) (*store.Profile, error) {
	var p store.Profile
	err := queryOne(ctx, r.q, func(s scanner) (err error) { p, err = scanProfile(s); return err },
		`SELECT `+profileColumns+` FROM profiles WHERE `+where, arg)
	if err != nil {
		return nil, mapErr(err, "get profile")
	}
	return &p, nil
}

// GetProfile returns the profile with public id id.
func (r reader) GetProfile(ctx context.Context, id string) (*store.Profile, error) {
	return r.getProfile(ctx, "id = ?", id)
}

// GetProfileByName returns the profile named name.
func (r reader) GetProfileByName(ctx context.Context, name string) (*store.Profile, error) {
	return r.getProfile(ctx, "name = ?", name)
}

// ListProfiles pages profiles by int id, optionally by status.
func (r reader) ListProfiles(ctx context.Context, q store.ListQuery) ([]store.Profile, string, error) {
	after, err := decodeListCursor(q.Cursor)
	if err != nil {
		return nil, "", err
	}
	limit := pageLimit(q.Limit)
	query, args := `SELECT `+profileColumns+` FROM profiles WHERE int_id > ?`, []any{after}
	if q.Status != "" {
		query, args = query+` AND status = ?`, append(args, q.Status)
	}
	if q.OrgID != "" {
		query, args = query+` AND org_id = ?`, append(args, q.OrgID)
	}
	items, err := queryMany(ctx, r.q, scanProfile, query+` ORDER BY int_id LIMIT ?`, append(args, limit+1)...)
	items, next, err := listPage(items, err, limit, func(p *store.Profile) int64 { return p.IntID })
	return items, next, mapErr(err, "list profiles")
}

// CountProfilesUsing counts profiles using the template or the CA (either
// may be empty, and then does not match).
func (r reader) CountProfilesUsing(ctx context.Context, templateID, caID string) (int64, error) {
	var n int64
	err := queryOne(ctx, r.q, func(s scanner) error { return s.Scan(&n) },
		`SELECT count(*) FROM profiles WHERE template_id = ? OR ca_id = ?`, nonEmpty(templateID), nonEmpty(caID))
	return n, mapErr(err, "count profiles")
}

// nonEmpty makes "" match nothing (NULL equals nothing in SQL).
func nonEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// InsertProfile stores a new profile and sets its IntID. Its template and CA
// must exist (else ErrConflict).
func (t *txView) InsertProfile(ctx context.Context, p *store.Profile) error {
	now := t.now()
	stamp(&p.CreatedAt, now)
	stamp(&p.UpdatedAt, now)
	methods, err := jsonText(p.EnrollmentMethods)
	if err != nil {
		return mapErr(err, "insert profile "+p.ID)
	}
	res, err := t.q.ExecContext(ctx, `INSERT INTO profiles (int_id, id, name, description, template_id, ca_id, approval,
		default_validity_days, enrollment_methods, delivery_format, status, created_at, updated_at, org_id,
		issuer_type, connector_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.keptID(p.IntID), p.ID, p.Name, p.Description, p.TemplateID, nonEmpty(p.CAID), p.Approval, p.DefaultValidityDays, methods,
		p.DeliveryFormat, p.Status, toDB(p.CreatedAt), toDB(p.UpdatedAt), p.OrgID, issuerType(p.IssuerType), p.ConnectorID)
	if err != nil {
		return mapErr(err, "insert profile "+p.ID)
	}
	p.IntID, err = res.LastInsertId()
	return mapErr(err, "insert profile "+p.ID)
}

// UpdateProfile rewrites every field of the profile but its ids and CreatedAt.
func (t *txView) UpdateProfile(ctx context.Context, p *store.Profile) error {
	stamp(&p.UpdatedAt, t.now())
	methods, err := jsonText(p.EnrollmentMethods)
	if err != nil {
		return mapErr(err, "update profile "+p.ID)
	}
	res, err := t.q.ExecContext(ctx, `UPDATE profiles SET name = ?, description = ?, template_id = ?, ca_id = ?, approval = ?,
		default_validity_days = ?, enrollment_methods = ?, delivery_format = ?, status = ?, updated_at = ?,
		issuer_type = ?, connector_id = ? WHERE id = ?`,
		p.Name, p.Description, p.TemplateID, nonEmpty(p.CAID), p.Approval, p.DefaultValidityDays, methods,
		p.DeliveryFormat, p.Status, toDB(p.UpdatedAt), issuerType(p.IssuerType), p.ConnectorID, p.ID)
	return affectedOne(res, err, store.ErrNotFound, "update profile "+p.ID)
}

// issuerType stores the default for profiles written by code that predates issuer types.
func issuerType(s string) string {
	if s == "" {
		return store.IssuerInternal
	}
	return s
}

// DeleteProfile removes a profile.
func (t *txView) DeleteProfile(ctx context.Context, id string) error {
	res, err := t.q.ExecContext(ctx, `DELETE FROM profiles WHERE id = ?`, id)
	return affectedOne(res, err, store.ErrNotFound, "delete profile "+id)
}
