package auth

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// DirectoryStore is the persistence the directory needs.
type DirectoryStore interface {
	GetOrganization(ctx context.Context, id string) (*store.Organization, error)
	GetOrganizationByName(ctx context.Context, name string) (*store.Organization, error)
	ListOrganizations(ctx context.Context, q store.ListQuery) ([]store.Organization, string, error)
	GetTeam(ctx context.Context, id string) (*store.Team, error)
	GetTeamByName(ctx context.Context, orgID, name string) (*store.Team, error)
	ListTeams(ctx context.Context, q store.ListQuery) ([]store.Team, string, error)
	GetPrincipal(ctx context.Context, id string) (*store.Principal, error)
	GetPrincipalByName(ctx context.Context, name string) (*store.Principal, error)
	ListPrincipals(ctx context.Context, q store.ListQuery) ([]store.Principal, string, error)
	ListCustomFields(ctx context.Context, orgID string) ([]store.CustomField, error)
	SearchCertificates(ctx context.Context, q store.CertificateQuery) (*store.CertificatePage, error)
	Update(ctx context.Context, fn func(tx store.Tx) error) error
}

// Directory manages organizations, teams, principals and custom fields.
type Directory struct {
	store DirectoryStore
	now   func() time.Time
	// changed is called after a principal changes, so cached credentials
	// pick up new roles or a disabled flag at once (APIKeys.Forget).
	changed func()
	hasher  PasswordHasher
	// dummyHash is verified against when a login names no usable user, so
	// a wrong user name costs as much time as a wrong password.
	dummyHash string
	// fields caches organizations' custom-field definitions, read on every
	// enrollment.
	fields fieldCache
}

// PasswordHasher hashes and checks passwords (argon2id in production).
type PasswordHasher interface {
	Hash(password string) (string, error)
	Verify(hash, password string) bool
}

// NewDirectory returns the directory service.
func NewDirectory(s DirectoryStore, hasher PasswordHasher, now func() time.Time, changed func()) *Directory {
	if changed == nil {
		changed = func() {}
	}
	dummy, _ := hasher.Hash("signet-no-such-user")
	return &Directory{store: s, hasher: hasher, now: now, changed: changed, dummyHash: dummy}
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@ -]{0,99}$`)

func checkName(what, name string) error {
	if !namePattern.MatchString(name) {
		return problem.Invalid(what+"_name_invalid",
			"%s name %q must be 1-100 letters, digits, spaces or . _ @ - and start with a letter or digit", what, name)
	}
	return nil
}

func notFound(err error, code, format string, args ...any) error {
	if errors.Is(err, store.ErrNotFound) {
		return problem.NotFound(code, format, args...)
	}
	return err
}

func duplicate(err error, code, format string, args ...any) error {
	if errors.Is(err, store.ErrDuplicate) {
		return problem.Conflict(code, format, args...)
	}
	return err
}

// Organizations.

// CreateOrganization makes a new organization (global admins only).
func (d *Directory) CreateOrganization(ctx context.Context, name string) (*store.Organization, error) {
	caller, err := RequireGlobal(ctx, PermOrgManage)
	if err != nil {
		return nil, err
	}
	if err := checkName("organization", name); err != nil {
		return nil, err
	}
	o := &store.Organization{ID: store.NewID("org"), Name: name, CreatedAt: d.now(), UpdatedAt: d.now()}
	err = d.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.InsertOrganization(ctx, o); err != nil {
			return duplicate(err, "organization_exists", "an organization named %q exists", name)
		}
		tx.AppendAudit(caller.Event(o.CreatedAt, o.ID, "organization.create", "organization", o.ID, map[string]any{"name": name}))
		return nil
	})
	return o, err
}

// Organization resolves an organization by id or name, if the caller may see it.
func (d *Directory) Organization(ctx context.Context, ref string) (*store.Organization, error) {
	p, err := Require(ctx, PermOrgRead)
	if err != nil {
		return nil, err
	}
	o, err := store.ByRef(ctx, ref, "org", d.store.GetOrganization, d.store.GetOrganizationByName)
	if err != nil {
		return nil, notFound(err, "organization_not_found", "no organization %q", ref)
	}
	if !p.InOrg(o.ID) {
		return nil, problem.Forbidden("other_organization", "principal %s may not see organization %s", p.ID, o.ID)
	}
	return o, nil
}

// ListOrganizations lists every organization for global principals, and
// one's own for everyone else.
func (d *Directory) ListOrganizations(ctx context.Context, q store.ListQuery) ([]store.Organization, string, error) {
	p, err := Require(ctx, PermOrgRead)
	if err != nil {
		return nil, "", err
	}
	if !p.Global() {
		o, err := d.store.GetOrganization(ctx, p.OrgID)
		if err != nil {
			return nil, "", notFound(err, "organization_not_found", "no organization %q", p.OrgID)
		}
		return []store.Organization{*o}, "", nil
	}
	return d.store.ListOrganizations(ctx, q)
}

// RenameOrganization renames an organization (global admins only).
func (d *Directory) RenameOrganization(ctx context.Context, ref, name string) (*store.Organization, error) {
	caller, err := RequireGlobal(ctx, PermOrgManage)
	if err != nil {
		return nil, err
	}
	if err := checkName("organization", name); err != nil {
		return nil, err
	}
	o, err := d.Organization(ctx, ref)
	if err != nil {
		return nil, err
	}
	old := o.Name
	o.Name = name
	err = d.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.UpdateOrganization(ctx, o); err != nil {
			return duplicate(err, "organization_exists", "an organization named %q exists", name)
		}
		tx.AppendAudit(caller.Event(d.now(), o.ID, "organization.rename", "organization", o.ID, map[string]any{"from": old, "to": name}))
		return nil
	})
	return o, err
}

// DeleteOrganization removes an organization that owns nothing any more.
func (d *Directory) DeleteOrganization(ctx context.Context, ref string) error {
	caller, err := RequireGlobal(ctx, PermOrgManage)
	if err != nil {
		return err
	}
	o, err := d.Organization(ctx, ref)
	if err != nil {
		return err
	}
	if o.ID == store.DefaultOrgID {
		return problem.Conflict("organization_default", "the default organization cannot be deleted")
	}
	return d.store.Update(ctx, func(tx store.Tx) error {
		n, err := tx.CountOrganizationObjects(ctx, o.ID)
		if err != nil {
			return err
		}
		if n > 0 {
			return problem.Conflict("organization_not_empty",
				"organization %s still owns teams, principals, CAs, templates, profiles, requests or certificates", o.Name)
		}
		if err := tx.DeleteOrganization(ctx, o.ID); err != nil {
			return fmt.Errorf("delete organization: %w", err)
		}
		tx.AppendAudit(caller.Event(d.now(), o.ID, "organization.delete", "organization", o.ID, map[string]any{"name": o.Name}))
		return nil
	})
}

// OrgLookup finds organizations; every service's store has these methods.
type OrgLookup interface {
	GetOrganization(ctx context.Context, id string) (*store.Organization, error)
	GetOrganizationByName(ctx context.Context, name string) (*store.Organization, error)
}

// TargetOrg is the organization a new object goes to: the caller's own,
// or for global principals the one they name (by id or name), defaulting to
// the default organization. Every service creating org-owned objects uses it.
func TargetOrg(ctx context.Context, orgs OrgLookup, p *Principal, requested string) (string, error) {
	if requested == "" {
		if p.Global() {
			return store.DefaultOrgID, nil
		}
		return p.OrgID, nil
	}
	o, err := store.ByRef(ctx, requested, "org", orgs.GetOrganization, orgs.GetOrganizationByName)
	if err != nil {
		return "", notFound(err, "organization_not_found", "no organization %q", requested)
	}
	if !p.InOrg(o.ID) {
		return "", problem.Forbidden("other_organization", "principal %s may not create objects in organization %s", p.ID, o.ID)
	}
	return o.ID, nil
}

// ScopeOrg is Scope for an organization a caller names by id or name (a
// list's ?org=): an unknown name is 404 organization_not_found, since a
// filter that silently matches nothing hides a typo. An unknown id stays a
// filter for a global caller: records of a deleted organization (its audit
// events) remain. A principal of one organization may name its own, by id
// or name; any other gets the 403 Scope gives, whether or not it exists, so
// names do not leak.
func ScopeOrg(ctx context.Context, orgs OrgLookup, p *Principal, requested string) (string, error) {
	if requested == "" || (!p.Global() && requested == p.OrgID) {
		return Scope(p, requested)
	}
	o, err := store.ByRef(ctx, requested, "org", orgs.GetOrganization, orgs.GetOrganizationByName)
	switch {
	case err == nil:
		return Scope(p, o.ID)
	case !errors.Is(err, store.ErrNotFound):
		return "", fmt.Errorf("look up organization %q: %w", requested, err)
	case !p.Global() || strings.HasPrefix(requested, "org_"):
		return Scope(p, requested)
	}
	return "", problem.NotFound("organization_not_found", "no organization %q", requested)
}

// TargetOrg is the package function over the directory's store.
func (d *Directory) TargetOrg(ctx context.Context, p *Principal, requested string) (string, error) {
	return TargetOrg(ctx, d.store, p, requested)
}

// Teams.

// CreateTeam adds a team to an organization.
func (d *Directory) CreateTeam(ctx context.Context, orgRef, name, description string) (*store.Team, error) {
	caller, err := Require(ctx, PermTeamManage)
	if err != nil {
		return nil, err
	}
	orgID, err := d.TargetOrg(ctx, caller, orgRef)
	if err != nil {
		return nil, err
	}
	if err := checkName("team", name); err != nil {
		return nil, err
	}
	if len(description) > 1000 {
		return nil, problem.Invalid("description_too_long", "description is at most 1000 characters")
	}
	tm := &store.Team{ID: store.NewID("team"), OrgID: orgID, Name: name, Description: description, CreatedAt: d.now(), UpdatedAt: d.now()}
	err = d.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.InsertTeam(ctx, tm); err != nil {
			return duplicate(err, "team_exists", "organization %s already has a team named %q", orgID, name)
		}
		tx.AppendAudit(caller.Event(tm.CreatedAt, orgID, "team.create", "team", tm.ID, map[string]any{"name": name}))
		return nil
	})
	return tm, err
}

// Team returns a team the caller may see.
func (d *Directory) Team(ctx context.Context, id string) (*store.Team, error) {
	p, err := Require(ctx, PermOrgRead)
	if err != nil {
		return nil, err
	}
	// A name is looked up in the caller's organization (the default one for global callers).
	home := p.OrgID
	if home == "" {
		home = store.DefaultOrgID
	}
	tm, err := store.ByRef(ctx, id, "team", d.store.GetTeam,
		func(ctx context.Context, name string) (*store.Team, error) {
			return d.store.GetTeamByName(ctx, home, name)
		})
	if err != nil {
		return nil, notFound(err, "team_not_found", "no team %q", id)
	}
	if !p.InOrg(tm.OrgID) {
		return nil, problem.Forbidden("other_organization", "principal %s may not see team %s", p.ID, id)
	}
	return tm, nil
}

// ListTeams lists the teams of the caller's organization (global: any or all).
func (d *Directory) ListTeams(ctx context.Context, q store.ListQuery) ([]store.Team, string, error) {
	p, err := Require(ctx, PermOrgRead)
	if err != nil {
		return nil, "", err
	}
	if q.OrgID, err = ScopeOrg(ctx, d.store, p, q.OrgID); err != nil {
		return nil, "", err
	}
	return d.store.ListTeams(ctx, q)
}

// UpdateTeam renames or re-describes a team.
func (d *Directory) UpdateTeam(ctx context.Context, id string, name, description *string) (*store.Team, error) {
	tm, err := d.Team(ctx, id)
	if err != nil {
		return nil, err
	}
	caller, err := RequireIn(ctx, PermTeamManage, tm.OrgID)
	if err != nil {
		return nil, err
	}
	if name != nil {
		if err := checkName("team", *name); err != nil {
			return nil, err
		}
		tm.Name = *name
	}
	if description != nil {
		tm.Description = *description
	}
	err = d.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.UpdateTeam(ctx, tm); err != nil {
			return duplicate(err, "team_exists", "a team named %q exists", tm.Name)
		}
		tx.AppendAudit(caller.Event(d.now(), tm.OrgID, "team.update", "team", tm.ID, map[string]any{"name": tm.Name}))
		return nil
	})
	return tm, err
}

// DeleteTeam removes a team that owns no certificates and has no members.
func (d *Directory) DeleteTeam(ctx context.Context, id string) error {
	tm, err := d.Team(ctx, id)
	if err != nil {
		return err
	}
	caller, err := RequireIn(ctx, PermTeamManage, tm.OrgID)
	if err != nil {
		return err
	}
	owned, err := d.store.SearchCertificates(ctx, store.CertificateQuery{OrgID: tm.OrgID, Owner: tm.ID, Limit: 1, Now: d.now()})
	if err != nil {
		return err
	}
	if len(owned.Items) > 0 {
		return problem.Conflict("team_not_empty", "team %s still owns certificates; give them another owner first", tm.Name)
	}
	members, _, err := d.store.ListPrincipals(ctx, store.ListQuery{OrgID: tm.OrgID, Limit: 1000})
	if err != nil {
		return err
	}
	for _, m := range members {
		if slices.Contains(m.TeamIDs, tm.ID) {
			return problem.Conflict("team_not_empty", "team %s still has members (%s)", tm.Name, m.Name)
		}
	}
	return d.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.DeleteTeam(ctx, tm.ID); err != nil {
			return notFound(err, "team_not_found", "no team %q", id)
		}
		tx.AppendAudit(caller.Event(d.now(), tm.OrgID, "team.delete", "team", tm.ID, map[string]any{"name": tm.Name}))
		return nil
	})
}

// teamsOf checks that every team id belongs to orgID.
func (d *Directory) teamsOf(ctx context.Context, orgID string, ids []string) ([]string, error) {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		ref := strings.TrimSpace(id)
		tm, err := store.ByRef(ctx, ref, "team", d.store.GetTeam,
			func(ctx context.Context, name string) (*store.Team, error) {
				return d.store.GetTeamByName(ctx, orgID, name)
			})
		if err == nil && tm.OrgID != orgID {
			err = store.ErrNotFound
		}
		if err != nil {
			return nil, notFound(err, "team_not_found", "no team %q in organization %s", ref, orgID)
		}
		if !slices.Contains(out, tm.ID) {
			out = append(out, tm.ID)
		}
	}
	return out, nil
}
