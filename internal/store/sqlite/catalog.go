package sqlite

import (
	"context"

	"github.com/signet-pki/signet/internal/store"
)

const templateColumns = `int_id, id, name, description, spec, created_at, updated_at`

func scanTemplate(s scanner) (store.Template, int64, error) {
	var t store.Template
	var spec string
	var ca, ua int64
	err := s.Scan(&t.IntID, &t.ID, &t.Name, &t.Description, &spec, &ca, &ua)
	t.Spec, t.CreatedAt, t.UpdatedAt = []byte(spec), fromTS(ca), fromTS(ua)
	return t, t.IntID, err
}

func (r reader) getTemplate(ctx context.Context, where string, arg any) (*store.Template, error) {
	t, _, err := scanTemplate(r.q.QueryRowContext(ctx, `SELECT `+templateColumns+` FROM templates WHERE `+where, arg))
	if err != nil {
		return nil, mapErr(err, "get template")
	}
	return &t, nil
}

func (r reader) GetTemplate(ctx context.Context, id string) (*store.Template, error) {
	return r.getTemplate(ctx, "id = ?", id)
}

func (r reader) GetTemplateByName(ctx context.Context, name string) (*store.Template, error) {
	return r.getTemplate(ctx, "name = ?", name)
}

func (r reader) ListTemplates(ctx context.Context, q store.ListQuery) ([]store.Template, string, error) {
	after, err := parseListCursor(q.Cursor)
	if err != nil {
		return nil, "", err
	}
	limit := limitOf(q.Limit)
	rows, err := r.q.QueryContext(ctx, `SELECT `+templateColumns+` FROM templates WHERE int_id > ? ORDER BY int_id LIMIT ?`, after, limit+1)
	return collect(rows, err, limit, scanTemplate)
}

func (t *txView) InsertTemplate(ctx context.Context, tp *store.Template) error {
	res, err := t.q.ExecContext(ctx, `INSERT INTO templates (id, name, description, spec, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
		tp.ID, tp.Name, tp.Description, string(tp.Spec), ts(tp.CreatedAt), ts(tp.UpdatedAt))
	if err != nil {
		return mapErr(err, "insert template")
	}
	tp.IntID, _ = res.LastInsertId()
	return nil
}

func (t *txView) UpdateTemplate(ctx context.Context, tp *store.Template) error {
	res, err := t.q.ExecContext(ctx, `UPDATE templates SET name = ?, description = ?, spec = ?, updated_at = ? WHERE id = ?`,
		tp.Name, tp.Description, string(tp.Spec), ts(tp.UpdatedAt), tp.ID)
	return affectedOne(res, err, store.ErrNotFound, "update template")
}

func (t *txView) DeleteTemplate(ctx context.Context, id string) error {
	res, err := t.q.ExecContext(ctx, `DELETE FROM templates WHERE id = ?`, id)
	return affectedOne(res, err, store.ErrNotFound, "delete template")
}

const profileColumns = `int_id, id, name, description, template_id, ca_id, approval, default_validity_days, enrollment_methods,
	delivery_format, status, created_at, updated_at`

func scanProfile(s scanner) (store.Profile, int64, error) {
	var p store.Profile
	var methods string
	var ca, ua int64
	err := s.Scan(&p.IntID, &p.ID, &p.Name, &p.Description, &p.TemplateID, &p.CAID, &p.Approval, &p.DefaultValidityDays,
		&methods, &p.DeliveryFormat, &p.Status, &ca, &ua)
	p.EnrollmentMethods, p.CreatedAt, p.UpdatedAt = fromJSON[[]string](methods), fromTS(ca), fromTS(ua)
	return p, p.IntID, err
}

func (r reader) getProfile(ctx context.Context, where string, arg any) (*store.Profile, error) {
	p, _, err := scanProfile(r.q.QueryRowContext(ctx, `SELECT `+profileColumns+` FROM profiles WHERE `+where, arg))
	if err != nil {
		return nil, mapErr(err, "get profile")
	}
	return &p, nil
}

func (r reader) GetProfile(ctx context.Context, id string) (*store.Profile, error) {
	return r.getProfile(ctx, "id = ?", id)
}

func (r reader) GetProfileByName(ctx context.Context, name string) (*store.Profile, error) {
	return r.getProfile(ctx, "name = ?", name)
}

func (r reader) ListProfiles(ctx context.Context, q store.ListQuery) ([]store.Profile, string, error) {
	after, err := parseListCursor(q.Cursor)
	if err != nil {
		return nil, "", err
	}
	limit := limitOf(q.Limit)
	rows, err := r.q.QueryContext(ctx, `SELECT `+profileColumns+` FROM profiles WHERE int_id > ? AND (? = '' OR status = ?) ORDER BY int_id LIMIT ?`,
		after, q.Status, q.Status, limit+1)
	return collect(rows, err, limit, scanProfile)
}

func (r reader) CountProfilesUsing(ctx context.Context, templateID, caID string) (int64, error) {
	var n int64
	err := r.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM profiles WHERE (? <> '' AND template_id = ?) OR (? <> '' AND ca_id = ?)`,
		templateID, templateID, caID, caID).Scan(&n)
	return n, mapErr(err, "count profiles")
}

func (t *txView) InsertProfile(ctx context.Context, p *store.Profile) error {
	res, err := t.q.ExecContext(ctx, `INSERT INTO profiles (id, name, description, template_id, ca_id, approval, default_validity_days,
		enrollment_methods, delivery_format, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.Name, p.Description, p.TemplateID, p.CAID, p.Approval, p.DefaultValidityDays, jsonText(p.EnrollmentMethods),
		p.DeliveryFormat, p.Status, ts(p.CreatedAt), ts(p.UpdatedAt))
	if err != nil {
		return mapErr(err, "insert profile")
	}
	p.IntID, _ = res.LastInsertId()
	return nil
}

func (t *txView) UpdateProfile(ctx context.Context, p *store.Profile) error {
	res, err := t.q.ExecContext(ctx, `UPDATE profiles SET name = ?, description = ?, template_id = ?, ca_id = ?, approval = ?,
		default_validity_days = ?, enrollment_methods = ?, delivery_format = ?, status = ?, updated_at = ? WHERE id = ?`,
		p.Name, p.Description, p.TemplateID, p.CAID, p.Approval, p.DefaultValidityDays, jsonText(p.EnrollmentMethods),
		p.DeliveryFormat, p.Status, ts(p.UpdatedAt), p.ID)
	return affectedOne(res, err, store.ErrNotFound, "update profile")
}

func (t *txView) DeleteProfile(ctx context.Context, id string) error {
	res, err := t.q.ExecContext(ctx, `DELETE FROM profiles WHERE id = ?`, id)
	return affectedOne(res, err, store.ErrNotFound, "delete profile")
}
