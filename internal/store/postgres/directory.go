package postgres

import (
	"context"

	"github.com/signet-pki/signet/internal/store"
)

// The directory: organizations, teams, principals and the custom fields an
// organization defines for its certificates.

const orgColumns = `int_id, id, name, created_at, updated_at`

func scanOrg(s scanner) (store.Organization, error) {
	var o store.Organization
	err := s.Scan(&o.IntID, &o.ID, &o.Name, &o.CreatedAt, &o.UpdatedAt)
	return o, err
}

// GetOrganization returns the organization with public id id.
func (r reader) GetOrganization(ctx context.Context, id string) (*store.Organization, error) {
	return getOne(ctx, r, "organizations", orgColumns, "organization", scanOrg, "id = $1", id)
}

// GetOrganizationByName returns the organization named name.
func (r reader) GetOrganizationByName(ctx context.Context, name string) (*store.Organization, error) {
	return getOne(ctx, r, "organizations", orgColumns, "organization", scanOrg, "name = $1", name)
}

// ListOrganizations pages organizations by int id.
func (r reader) ListOrganizations(ctx context.Context, q store.ListQuery) ([]store.Organization, string, error) {
	return listByID(ctx, r, "organizations", orgColumns, listFilter{}, q, scanOrg,
		func(o *store.Organization) int64 { return o.IntID })
}

// CountOrganizationObjects counts, table by table, whether anything still
// belongs to the organization; it stops at the first table that has a row.
func (r reader) CountOrganizationObjects(ctx context.Context, orgID string) (int64, error) {
	for _, table := range []string{"teams", "principals", "cas", "templates", "profiles", "requests", "certificates", "custom_fields"} {
		var n int64
		err := queryOne(ctx, r.q, func(s scanner) error { return s.Scan(&n) },
			`SELECT count(*) FROM (SELECT 1 FROM `+table+` WHERE org_id = $1 LIMIT 1) AS one`, orgID)
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
	return t.insert(ctx, &o.IntID, "organization "+o.ID, `INSERT INTO organizations (id, name, created_at, updated_at)
		VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING int_id`, o.ID, o.Name, o.CreatedAt, o.UpdatedAt)
}

// UpdateOrganization renames an organization.
func (t *txView) UpdateOrganization(ctx context.Context, o *store.Organization) error {
	stamp(&o.UpdatedAt, t.now())
	return t.guardedUpdate(ctx, "update organization "+o.ID,
		`UPDATE organizations SET name = $1, updated_at = $2 WHERE id = $3`, o.Name, o.UpdatedAt, o.ID)
}

// DeleteOrganization removes an organization; one that teams or custom
// fields still reference is ErrConflict.
func (t *txView) DeleteOrganization(ctx context.Context, id string) error {
	return t.guardedUpdate(ctx, "delete organization "+id, `DELETE FROM organizations WHERE id = $1`, id)
}

const teamColumns = `int_id, id, org_id, name, description, created_at, updated_at`

func scanTeam(s scanner) (store.Team, error) {
	var tm store.Team
	err := s.Scan(&tm.IntID, &tm.ID, &tm.OrgID, &tm.Name, &tm.Description, &tm.CreatedAt, &tm.UpdatedAt)
	return tm, err
}

// GetTeam returns the team with public id id.
func (r reader) GetTeam(ctx context.Context, id string) (*store.Team, error) {
	return getOne(ctx, r, "teams", teamColumns, "team", scanTeam, "id = $1", id)
}

// GetTeamByName returns the team of the organization named name.
func (r reader) GetTeamByName(ctx context.Context, orgID, name string) (*store.Team, error) {
	return getOne(ctx, r, "teams", teamColumns, "team", scanTeam, "org_id = $1 AND name = $2", orgID, name)
}

// ListTeams pages teams by int id.
func (r reader) ListTeams(ctx context.Context, q store.ListQuery) ([]store.Team, string, error) {
	return listByID(ctx, r, "teams", teamColumns, listFilter{org: q.OrgID}, q, scanTeam,
		func(t *store.Team) int64 { return t.IntID })
}

// InsertTeam stores a new team; its organization must exist (else ErrConflict).
func (t *txView) InsertTeam(ctx context.Context, tm *store.Team) error {
	now := t.now()
	stamp(&tm.CreatedAt, now)
	stamp(&tm.UpdatedAt, now)
	return t.guardedInsert(ctx, &tm.IntID, "team "+tm.ID, `INSERT INTO teams (id, org_id, name, description,
		created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING int_id`,
		tm.ID, tm.OrgID, tm.Name, tm.Description, tm.CreatedAt, tm.UpdatedAt)
}

// UpdateTeam renames or re-describes a team.
func (t *txView) UpdateTeam(ctx context.Context, tm *store.Team) error {
	stamp(&tm.UpdatedAt, t.now())
	return t.guardedUpdate(ctx, "update team "+tm.ID,
		`UPDATE teams SET name = $1, description = $2, updated_at = $3 WHERE id = $4`,
		tm.Name, tm.Description, tm.UpdatedAt, tm.ID)
}

// DeleteTeam removes a team.
func (t *txView) DeleteTeam(ctx context.Context, id string) error {
	return t.updateOne(ctx, "delete team "+id, `DELETE FROM teams WHERE id = $1`, id)
}

const principalColumns = `int_id, id, kind, org_id, name, display_name, email, roles, team_ids, password_hash,
	failed_logins, locked_until, disabled, created_at, updated_at`

func scanPrincipal(s scanner) (store.Principal, error) {
	var p store.Principal
	err := s.Scan(&p.IntID, &p.ID, &p.Kind, &p.OrgID, &p.Name, &p.DisplayName, &p.Email, &p.Roles, &p.TeamIDs,
		&p.PasswordHash, &p.FailedLogins, &p.LockedUntil, &p.Disabled, &p.CreatedAt, &p.UpdatedAt)
	return p, err
}

// GetPrincipal returns the principal with public id id.
func (r reader) GetPrincipal(ctx context.Context, id string) (*store.Principal, error) {
	return getOne(ctx, r, "principals", principalColumns, "principal", scanPrincipal, "id = $1", id)
}

// GetPrincipalByName returns the principal whose login name is name.
func (r reader) GetPrincipalByName(ctx context.Context, name string) (*store.Principal, error) {
	return getOne(ctx, r, "principals", principalColumns, "principal", scanPrincipal, "name = $1", name)
}

// ListPrincipals pages principals by int id, optionally of one
// organization and kind.
func (r reader) ListPrincipals(ctx context.Context, q store.ListQuery) ([]store.Principal, string, error) {
	return listByID(ctx, r, "principals", principalColumns, listFilter{org: q.OrgID, kind: q.Kind}, q, scanPrincipal,
		func(p *store.Principal) int64 { return p.IntID })
}

// InsertPrincipal stores a new principal; ErrDuplicate when the name is taken.
func (t *txView) InsertPrincipal(ctx context.Context, p *store.Principal) error {
	now := t.now()
	stamp(&p.CreatedAt, now)
	stamp(&p.UpdatedAt, now)
	normTimePtr(p.LockedUntil)
	return t.insert(ctx, &p.IntID, "principal "+p.ID, `INSERT INTO principals (id, kind, org_id, name, display_name,
		email, roles, team_ids, password_hash, failed_logins, locked_until, disabled, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT DO NOTHING RETURNING int_id`,
		p.ID, p.Kind, p.OrgID, p.Name, p.DisplayName, p.Email, list(p.Roles), list(p.TeamIDs), p.PasswordHash,
		p.FailedLogins, p.LockedUntil, p.Disabled, p.CreatedAt, p.UpdatedAt)
}

// UpdatePrincipal rewrites every field but the ids, kind, organization and CreatedAt.
func (t *txView) UpdatePrincipal(ctx context.Context, p *store.Principal) error {
	stamp(&p.UpdatedAt, t.now())
	normTimePtr(p.LockedUntil)
	return t.guardedUpdate(ctx, "update principal "+p.ID, `UPDATE principals SET name = $1, display_name = $2,
		email = $3, roles = $4, team_ids = $5, password_hash = $6, failed_logins = $7, locked_until = $8, disabled = $9,
		updated_at = $10 WHERE id = $11`,
		p.Name, p.DisplayName, p.Email, list(p.Roles), list(p.TeamIDs), p.PasswordHash, p.FailedLogins, p.LockedUntil,
		p.Disabled, p.UpdatedAt, p.ID)
}

// DeletePrincipal removes a principal.
func (t *txView) DeletePrincipal(ctx context.Context, id string) error {
	return t.updateOne(ctx, "delete principal "+id, `DELETE FROM principals WHERE id = $1`, id)
}

const customFieldColumns = `int_id, id, org_id, name, type, required, allowed_values, created_at, updated_at`

func scanCustomField(s scanner) (store.CustomField, error) {
	var f store.CustomField
	err := s.Scan(&f.IntID, &f.ID, &f.OrgID, &f.Name, &f.Type, &f.Required, &f.AllowedValues, &f.CreatedAt, &f.UpdatedAt)
	return f, err
}

// ListCustomFields returns every custom field of the organization by name.
func (r reader) ListCustomFields(ctx context.Context, orgID string) ([]store.CustomField, error) {
	fields, err := queryMany(ctx, r.q, scanCustomField,
		`SELECT `+customFieldColumns+` FROM custom_fields WHERE org_id = $1 ORDER BY name`, orgID)
	return fields, mapErr(err, "list custom fields")
}

// InsertCustomField stores a new custom field definition; its organization
// must exist (else ErrConflict).
func (t *txView) InsertCustomField(ctx context.Context, f *store.CustomField) error {
	now := t.now()
	stamp(&f.CreatedAt, now)
	stamp(&f.UpdatedAt, now)
	return t.guardedInsert(ctx, &f.IntID, "custom field "+f.ID, `INSERT INTO custom_fields (id, org_id, name, type,
		required, allowed_values, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING int_id`,
		f.ID, f.OrgID, f.Name, f.Type, f.Required, list(f.AllowedValues), f.CreatedAt, f.UpdatedAt)
}

// UpdateCustomField rewrites a definition's name, type, requirement and allowed values.
func (t *txView) UpdateCustomField(ctx context.Context, f *store.CustomField) error {
	stamp(&f.UpdatedAt, t.now())
	return t.guardedUpdate(ctx, "update custom field "+f.ID, `UPDATE custom_fields SET name = $1, type = $2,
		required = $3, allowed_values = $4, updated_at = $5 WHERE id = $6`,
		f.Name, f.Type, f.Required, list(f.AllowedValues), f.UpdatedAt, f.ID)
}

// DeleteCustomField removes a definition (values already on certificates stay).
func (t *txView) DeleteCustomField(ctx context.Context, id string) error {
	return t.updateOne(ctx, "delete custom field "+id, `DELETE FROM custom_fields WHERE id = $1`, id)
}
