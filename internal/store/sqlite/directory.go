package sqlite

import (
	"context"
	"database/sql"

	"github.com/signet-pki/signet/internal/store"
)

// The directory: organizations, teams, principals and the custom fields an
// organization defines for its certificates.

// listByID pages a directory table by int id, optionally within an
// organization and of a kind.
func listByID[T any](ctx context.Context, r reader, table, columns string, q store.ListQuery,
	scan func(scanner) (T, error), id func(*T) int64) ([]T, string, error) {
	after, err := decodeListCursor(q.Cursor)
	if err != nil {
		return nil, "", err
	}
	limit := pageLimit(q.Limit)
	query, args := `SELECT `+columns+` FROM `+table+` WHERE int_id > ?`, []any{after}
	if q.OrgID != "" {
		query, args = query+` AND org_id = ?`, append(args, q.OrgID)
	}
	if q.Kind != "" {
		query, args = query+` AND kind = ?`, append(args, q.Kind)
	}
	items, err := queryMany(ctx, r.q, scan, query+` ORDER BY int_id LIMIT ?`, append(args, limit+1)...)
	items, next, err := listPage(items, err, limit, id)
	return items, next, mapErr(err, "list "+table)
}

func getOne[T any](ctx context.Context, r reader, table, columns, what string, scan func(scanner) (T, error),
	where string, args ...any) (*T, error) {
	var v T
	err := queryOne(ctx, r.q, func(s scanner) (err error) { v, err = scan(s); return err },
		`SELECT `+columns+` FROM `+table+` WHERE `+where, args...)
	if err != nil {
		return nil, mapErr(err, "get "+what)
	}
	return &v, nil
}

func (t *txView) insertRow(ctx context.Context, intID *int64, what, query string, args ...any) error {
	res, err := t.q.ExecContext(ctx, query, args...)
	if err != nil {
		return mapErr(err, "insert "+what)
	}
	*intID, err = res.LastInsertId()
	return mapErr(err, "insert "+what)
}

func (t *txView) deleteRow(ctx context.Context, table, id string) error {
	res, err := t.q.ExecContext(ctx, `DELETE FROM `+table+` WHERE id = ?`, id)
	return affectedOne(res, err, store.ErrNotFound, "delete from "+table+" "+id)
}

const orgColumns = `int_id, id, name, created_at, updated_at`

func scanOrg(s scanner) (store.Organization, error) {
	var o store.Organization
	var ca, ua int64
	err := s.Scan(&o.IntID, &o.ID, &o.Name, &ca, &ua)
	o.CreatedAt, o.UpdatedAt = fromDB(ca), fromDB(ua)
	return o, err
}

// GetOrganization returns the organization with public id id.
func (r reader) GetOrganization(ctx context.Context, id string) (*store.Organization, error) {
	return getOne(ctx, r, "organizations", orgColumns, "organization", scanOrg, "id = ?", id)
}

// GetOrganizationByName returns the organization named name.
func (r reader) GetOrganizationByName(ctx context.Context, name string) (*store.Organization, error) {
	return getOne(ctx, r, "organizations", orgColumns, "organization", scanOrg, "name = ?", name)
}

// ListOrganizations pages organizations by int id.
func (r reader) ListOrganizations(ctx context.Context, q store.ListQuery) ([]store.Organization, string, error) {
	q.OrgID, q.Kind = "", ""
	return listByID(ctx, r, "organizations", orgColumns, q, scanOrg, func(o *store.Organization) int64 { return o.IntID })
}

// CountOrganizationObjects counts, table by table, whether anything still
// belongs to the organization; it stops at the first table that has a row.
func (r reader) CountOrganizationObjects(ctx context.Context, orgID string) (int64, error) {
	for _, table := range []string{"teams", "principals", "cas", "templates", "profiles", "requests", "certificates", "custom_fields"} {
		var n int64
		err := queryOne(ctx, r.q, func(s scanner) error { return s.Scan(&n) },
			`SELECT count(*) FROM (SELECT 1 FROM `+table+` WHERE org_id = ? LIMIT 1)`, orgID)
		if err != nil {
			return 0, mapErr(err, "count objects of organization "+orgID)
		}
		if n > 0 {
			return n, nil
		}
	}
	return 0, nil
}

// InsertOrganization stores a new organization.
func (t *txView) InsertOrganization(ctx context.Context, o *store.Organization) error {
	now := t.now()
	stamp(&o.CreatedAt, now)
	stamp(&o.UpdatedAt, now)
	return t.insertRow(ctx, &o.IntID, "organization "+o.ID,
		`INSERT INTO organizations (int_id, id, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
		t.keptID(o.IntID), o.ID, o.Name, toDB(o.CreatedAt), toDB(o.UpdatedAt))
}

// UpdateOrganization renames an organization.
func (t *txView) UpdateOrganization(ctx context.Context, o *store.Organization) error {
	stamp(&o.UpdatedAt, t.now())
	res, err := t.q.ExecContext(ctx, `UPDATE organizations SET name = ?, updated_at = ? WHERE id = ?`,
		o.Name, toDB(o.UpdatedAt), o.ID)
	return affectedOne(res, err, store.ErrNotFound, "update organization "+o.ID)
}

// DeleteOrganization removes an organization; one that teams or custom
// fields still reference is ErrConflict.
func (t *txView) DeleteOrganization(ctx context.Context, id string) error {
	return t.deleteRow(ctx, "organizations", id)
}

const teamColumns = `int_id, id, org_id, name, description, created_at, updated_at`

func scanTeam(s scanner) (store.Team, error) {
	var tm store.Team
	var ca, ua int64
	err := s.Scan(&tm.IntID, &tm.ID, &tm.OrgID, &tm.Name, &tm.Description, &ca, &ua)
	tm.CreatedAt, tm.UpdatedAt = fromDB(ca), fromDB(ua)
	return tm, err
}

// GetTeam returns the team with public id id.
func (r reader) GetTeam(ctx context.Context, id string) (*store.Team, error) {
	return getOne(ctx, r, "teams", teamColumns, "team", scanTeam, "id = ?", id)
}

// GetTeamByName returns the team of the organization named name.
func (r reader) GetTeamByName(ctx context.Context, orgID, name string) (*store.Team, error) {
	return getOne(ctx, r, "teams", teamColumns, "team", scanTeam, "org_id = ? AND name = ?", orgID, name)
}

// ListTeams pages teams by int id.
func (r reader) ListTeams(ctx context.Context, q store.ListQuery) ([]store.Team, string, error) {
	q.Kind = ""
	return listByID(ctx, r, "teams", teamColumns, q, scanTeam, func(t *store.Team) int64 { return t.IntID })
}

// InsertTeam stores a new team; its organization must exist (else ErrConflict).
func (t *txView) InsertTeam(ctx context.Context, tm *store.Team) error {
	now := t.now()
	stamp(&tm.CreatedAt, now)
	stamp(&tm.UpdatedAt, now)
	return t.insertRow(ctx, &tm.IntID, "team "+tm.ID,
		`INSERT INTO teams (int_id, id, org_id, name, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		t.keptID(tm.IntID), tm.ID, tm.OrgID, tm.Name, tm.Description, toDB(tm.CreatedAt), toDB(tm.UpdatedAt))
}

// UpdateTeam renames or re-describes a team.
func (t *txView) UpdateTeam(ctx context.Context, tm *store.Team) error {
	stamp(&tm.UpdatedAt, t.now())
	res, err := t.q.ExecContext(ctx, `UPDATE teams SET name = ?, description = ?, updated_at = ? WHERE id = ?`,
		tm.Name, tm.Description, toDB(tm.UpdatedAt), tm.ID)
	return affectedOne(res, err, store.ErrNotFound, "update team "+tm.ID)
}

// DeleteTeam removes a team.
func (t *txView) DeleteTeam(ctx context.Context, id string) error {
	return t.deleteRow(ctx, "teams", id)
}

const principalColumns = `int_id, id, kind, org_id, name, display_name, email, roles, team_ids, password_hash,
	failed_logins, locked_until, disabled, created_at, updated_at`

func scanPrincipal(s scanner) (store.Principal, error) {
	var p store.Principal
	var roles, teams string
	var locked sql.NullInt64
	var ca, ua int64
	err := s.Scan(&p.IntID, &p.ID, &p.Kind, &p.OrgID, &p.Name, &p.DisplayName, &p.Email, &roles, &teams,
		&p.PasswordHash, &p.FailedLogins, &locked, &p.Disabled, &ca, &ua)
	if err != nil {
		return p, err
	}
	p.LockedUntil, p.CreatedAt, p.UpdatedAt = fromDBPtr(locked), fromDB(ca), fromDB(ua)
	if p.Roles, err = fromJSONText(roles); err != nil {
		return p, err
	}
	p.TeamIDs, err = fromJSONText(teams)
	return p, err
}

// GetPrincipal returns the principal with public id id.
func (r reader) GetPrincipal(ctx context.Context, id string) (*store.Principal, error) {
	return getOne(ctx, r, "principals", principalColumns, "principal", scanPrincipal, "id = ?", id)
}

// GetPrincipalByName returns the principal whose login name is name.
func (r reader) GetPrincipalByName(ctx context.Context, name string) (*store.Principal, error) {
	return getOne(ctx, r, "principals", principalColumns, "principal", scanPrincipal, "name = ?", name)
}

// ListPrincipals pages principals by int id.
func (r reader) ListPrincipals(ctx context.Context, q store.ListQuery) ([]store.Principal, string, error) {
	return listByID(ctx, r, "principals", principalColumns, q, scanPrincipal, func(p *store.Principal) int64 { return p.IntID })
}

func principalLists(p *store.Principal) (roles, teams string, err error) {
	if roles, err = jsonText(p.Roles); err != nil {
		return "", "", err
	}
	if p.TeamIDs == nil {
		return roles, "[]", nil
	}
	teams, err = jsonText(p.TeamIDs)
	return roles, teams, err
}

// InsertPrincipal stores a new principal; ErrDuplicate when the name is taken.
func (t *txView) InsertPrincipal(ctx context.Context, p *store.Principal) error {
	now := t.now()
	stamp(&p.CreatedAt, now)
	stamp(&p.UpdatedAt, now)
	normTimePtr(p.LockedUntil)
	roles, teams, err := principalLists(p)
	if err != nil {
		return mapErr(err, "insert principal "+p.ID)
	}
	return t.insertRow(ctx, &p.IntID, "principal "+p.ID, `INSERT INTO principals (int_id, id, kind, org_id, name, display_name,
		email, roles, team_ids, password_hash, failed_logins, locked_until, disabled, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.keptID(p.IntID), p.ID, p.Kind, p.OrgID, p.Name, p.DisplayName, p.Email, roles, teams, p.PasswordHash, p.FailedLogins,
		toDBPtr(p.LockedUntil), p.Disabled, toDB(p.CreatedAt), toDB(p.UpdatedAt))
}

// UpdatePrincipal rewrites every field but the ids, kind, organization and CreatedAt.
func (t *txView) UpdatePrincipal(ctx context.Context, p *store.Principal) error {
	stamp(&p.UpdatedAt, t.now())
	normTimePtr(p.LockedUntil)
	roles, teams, err := principalLists(p)
	if err != nil {
		return mapErr(err, "update principal "+p.ID)
	}
	res, err := t.q.ExecContext(ctx, `UPDATE principals SET name = ?, display_name = ?, email = ?, roles = ?,
		team_ids = ?, password_hash = ?, failed_logins = ?, locked_until = ?, disabled = ?, updated_at = ? WHERE id = ?`,
		p.Name, p.DisplayName, p.Email, roles, teams, p.PasswordHash, p.FailedLogins, toDBPtr(p.LockedUntil),
		p.Disabled, toDB(p.UpdatedAt), p.ID)
	return affectedOne(res, err, store.ErrNotFound, "update principal "+p.ID)
}

// DeletePrincipal removes a principal.
func (t *txView) DeletePrincipal(ctx context.Context, id string) error {
	return t.deleteRow(ctx, "principals", id)
}

const customFieldColumns = `int_id, id, org_id, name, type, required, allowed_values, created_at, updated_at`

func scanCustomField(s scanner) (store.CustomField, error) {
	var f store.CustomField
	var allowed string
	var ca, ua int64
	err := s.Scan(&f.IntID, &f.ID, &f.OrgID, &f.Name, &f.Type, &f.Required, &allowed, &ca, &ua)
	if err != nil {
		return f, err
	}
	f.CreatedAt, f.UpdatedAt = fromDB(ca), fromDB(ua)
	f.AllowedValues, err = fromJSONText(allowed)
	return f, err
}

// ListCustomFields returns every custom field of the organization by name.
func (r reader) ListCustomFields(ctx context.Context, orgID string) ([]store.CustomField, error) {
	fields, err := queryMany(ctx, r.q, scanCustomField,
		`SELECT `+customFieldColumns+` FROM custom_fields WHERE org_id = ? ORDER BY name`, orgID)
	return fields, mapErr(err, "list custom fields")
}

func allowedText(f *store.CustomField) (string, error) {
	if f.AllowedValues == nil {
		return "[]", nil
	}
	return jsonText(f.AllowedValues)
}

// InsertCustomField stores a new custom field definition.
func (t *txView) InsertCustomField(ctx context.Context, f *store.CustomField) error {
	now := t.now()
	stamp(&f.CreatedAt, now)
	stamp(&f.UpdatedAt, now)
	allowed, err := allowedText(f)
	if err != nil {
		return mapErr(err, "insert custom field "+f.ID)
	}
	return t.insertRow(ctx, &f.IntID, "custom field "+f.ID, `INSERT INTO custom_fields (int_id, id, org_id, name, type, required,
		allowed_values, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.keptID(f.IntID), f.ID, f.OrgID, f.Name, f.Type, f.Required, allowed, toDB(f.CreatedAt), toDB(f.UpdatedAt))
}

// UpdateCustomField rewrites a definition's type, requirement and allowed values.
func (t *txView) UpdateCustomField(ctx context.Context, f *store.CustomField) error {
	stamp(&f.UpdatedAt, t.now())
	allowed, err := allowedText(f)
	if err != nil {
		return mapErr(err, "update custom field "+f.ID)
	}
	res, err := t.q.ExecContext(ctx, `UPDATE custom_fields SET name = ?, type = ?, required = ?, allowed_values = ?,
		updated_at = ? WHERE id = ?`, f.Name, f.Type, f.Required, allowed, toDB(f.UpdatedAt), f.ID)
	return affectedOne(res, err, store.ErrNotFound, "update custom field "+f.ID)
}

// DeleteCustomField removes a definition (values already on certificates stay).
func (t *txView) DeleteCustomField(ctx context.Context, id string) error {
	return t.deleteRow(ctx, "custom_fields", id)
}
