// Package auth knows who is calling and what they may do. Transports
// authenticate a request into a Principal and put it in the context; domain
// services call Require with the permission an operation needs, so every
// transport gets the same rules from this one place.
package auth

import (
	"context"
	"slices"
	"time"

	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// Roles.
const (
	RoleAdmin     = "admin"
	RoleManager   = "manager"
	RoleRequester = "requester"
	RoleAuditor   = "auditor"
)

// AllRoles lists the valid role names.
var AllRoles = []string{RoleAdmin, RoleManager, RoleRequester, RoleAuditor}

// Principal is an authenticated caller.
type Principal struct {
	ID       string // stable principal id (owner of keys, requester of requests)
	Name     string
	Kind     string // user | service_account | system
	OrgID    string // "" for global principals, who see every organization
	TeamIDs  []string
	Roles    []string
	APIKeyID string // the key used, if any
	Method   string // how it authenticated: api_key | session | client_certificate
	SourceIP string
}

// System is the principal for work the server does on its own behalf (bootstrap, jobs).
var system = &Principal{ID: "system", Name: "system", Kind: "system", Roles: []string{RoleAdmin}}

// Global reports whether p sees every organization.
func (p *Principal) Global() bool { return p != nil && p.OrgID == "" }

// InOrg reports whether p may see objects of organization orgID.
func (p *Principal) InOrg(orgID string) bool { return p != nil && (p.OrgID == "" || p.OrgID == orgID) }

// Event builds a successful audit event for an action p took on an object
// of organization orgID; every service records its changes through this.
func (p *Principal) Event(at time.Time, orgID, action, objType, objID string, details map[string]any) store.AuditEvent {
	return store.AuditEvent{Time: at, Principal: p.ID, Action: action, ObjectType: objType, ObjectID: objID,
		Outcome: "success", OrgID: orgID, SourceIP: p.SourceIP, Details: details}
}

// System returns the server's own principal.
func System() *Principal { return system }

// HasRole reports whether p holds role.
func (p *Principal) HasRole(role string) bool {
	return p != nil && slices.Contains(p.Roles, role)
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the caller carried by ctx, or nil.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// Permission names an operation class.
type Permission string

// Permissions. Read permissions are separate so auditors can read everything.
const (
	PermCARead        Permission = "ca:read"
	PermCAManage      Permission = "ca:manage"
	PermTemplateRead  Permission = "template:read"
	PermTemplateWrite Permission = "template:write"
	PermProfileRead   Permission = "profile:read"
	PermProfileWrite  Permission = "profile:write"
	PermRequestRead   Permission = "request:read"
	PermEnroll        Permission = "certificate:enroll"
	PermApprove       Permission = "request:approve"
	PermCertRead      Permission = "certificate:read"
	PermCertRevoke    Permission = "certificate:revoke"
	PermCertImport    Permission = "certificate:import"
	PermCertDelete    Permission = "certificate:delete" // only certificates Signet did not issue
	PermKeyRead       Permission = "apikey:read"
	PermKeyManage     Permission = "apikey:manage"
	PermOrgRead       Permission = "organization:read"
	PermOrgManage     Permission = "organization:manage" // global admins only, see RequireGlobal
	PermTeamManage    Permission = "team:manage"
	PermPrincipalRead Permission = "principal:read"
	PermPrincipalMgmt Permission = "principal:manage"
	PermFieldManage   Permission = "custom_field:manage"
	PermCertUpdate    Permission = "certificate:update" // owner, labels, custom fields
	PermAuditRead     Permission = "audit:read"
	PermMetricsRead   Permission = "metrics:read"
	PermDiscovery     Permission = "discovery:scan" // scan networks and record what is found
	PermNotifyManage  Permission = "notification:manage"
)

// rolePermissions is the permission matrix, the single source of truth.
var rolePermissions = map[string][]Permission{
	RoleManager: {
		PermCARead, PermCAManage, PermTemplateRead, PermTemplateWrite, PermProfileRead,
		PermProfileWrite, PermRequestRead, PermEnroll, PermApprove, PermCertRead,
		PermCertRevoke, PermCertImport, PermCertDelete, PermCertUpdate, PermKeyRead, PermOrgRead, PermTeamManage,
		PermPrincipalRead, PermFieldManage, PermDiscovery, PermNotifyManage,
	},
	RoleRequester: {
		PermCARead, PermTemplateRead, PermProfileRead, PermRequestRead, PermEnroll,
		PermCertRead, PermCertRevoke, PermCertImport, PermCertUpdate, PermOrgRead,
	},
	RoleAuditor: {
		PermCARead, PermTemplateRead, PermProfileRead, PermRequestRead, PermCertRead, PermKeyRead,
		PermOrgRead, PermPrincipalRead, PermAuditRead, PermMetricsRead,
	},
}

// Allows reports whether p may exercise perm. Admins may do everything.
func (p *Principal) Allows(perm Permission) bool {
	if p == nil {
		return false
	}
	for _, r := range p.Roles {
		if r == RoleAdmin || slices.Contains(rolePermissions[r], perm) {
			return true
		}
	}
	return false
}

// Require returns the caller if it holds perm, or an unauthorized/forbidden problem.
func Require(ctx context.Context, perm Permission) (*Principal, error) {
	p := PrincipalFrom(ctx)
	if p == nil {
		return nil, problem.Unauthorized("unauthenticated", "authentication required")
	}
	if !p.Allows(perm) {
		return nil, problem.Forbidden("forbidden", "principal %s may not %s", p.ID, perm)
	}
	return p, nil
}

// RequireIn is Require for an operation on an object of organization orgID:
// a caller of another organization is refused.
func RequireIn(ctx context.Context, perm Permission, orgID string) (*Principal, error) {
	p, err := Require(ctx, perm)
	if err != nil {
		return nil, err
	}
	if !p.InOrg(orgID) {
		return nil, problem.Forbidden("other_organization", "principal %s may not act on objects of organization %s", p.ID, orgID)
	}
	return p, nil
}

// RequireGlobal is Require for operations across organizations (creating
// or deleting organizations): only a global principal holding perm passes.
func RequireGlobal(ctx context.Context, perm Permission) (*Principal, error) {
	p, err := Require(ctx, perm)
	if err != nil {
		return nil, err
	}
	if !p.Global() {
		return nil, problem.Forbidden("global_admin_required", "only a global administrator may do this")
	}
	return p, nil
}

// Scope is the organization a listing by p covers: its own, or for a
// global principal the one it asks for ("" = all). Asking for another
// organization than one's own is refused.
func Scope(p *Principal, requested string) (string, error) {
	if p.Global() {
		return requested, nil
	}
	if requested != "" && requested != p.OrgID {
		return "", problem.Forbidden("other_organization", "principal %s may not list organization %s", p.ID, requested)
	}
	return p.OrgID, nil
}

// OwnsCertificate reports whether a requester-level caller may act on a
// certificate: it owns it, or one of its teams does. Managers and admins of
// the organization may act on every certificate in it.
func (p *Principal) OwnsCertificate(orgID, owner string) bool {
	if !p.InOrg(orgID) {
		return false
	}
	if p.HasRole(RoleAdmin) || p.HasRole(RoleManager) {
		return true
	}
	return owner != "" && (owner == p.ID || slices.Contains(p.TeamIDs, owner))
}

// RequireOwner is Require plus OwnsCertificate.
func RequireOwner(ctx context.Context, perm Permission, orgID, owner, serial string) (*Principal, error) {
	p, err := RequireIn(ctx, perm, orgID)
	if err != nil {
		return nil, err
	}
	if !p.OwnsCertificate(orgID, owner) {
		return nil, problem.Forbidden("not_owner", "certificate %s belongs to %s, not to %s or its teams", serial, owner, p.ID)
	}
	return p, nil
}

// RequireDownload lets auditors, managers and admins of the organization
// download any of its certificates, and requesters their own and their teams'.
func RequireDownload(ctx context.Context, orgID, owner, serial string) (*Principal, error) {
	p, err := RequireIn(ctx, PermCertRead, orgID)
	if err != nil {
		return nil, err
	}
	if p.HasRole(RoleAuditor) || p.OwnsCertificate(orgID, owner) {
		return p, nil
	}
	return nil, problem.Forbidden("not_owner", "certificate %s belongs to %s, not to %s or its teams", serial, owner, p.ID)
}

// NarrowRoles intersects a key's roles with its principal's current ones, so
// taking a role from a principal takes it from its keys too. Admin holds
// every permission, so an admin's key may carry any role.
func NarrowRoles(keyRoles, principalRoles []string) []string {
	var out []string
	for _, r := range keyRoles {
		if rolesWithin(principalRoles, []string{r}) {
			out = append(out, r)
		}
	}
	return out
}

// rolesWithin reports whether a holder of have may hand out want.
func rolesWithin(have, want []string) bool {
	if slices.Contains(have, RoleAdmin) {
		return true
	}
	return !slices.ContainsFunc(want, func(r string) bool { return !slices.Contains(have, r) })
}

// ValidRoles checks role names.
func ValidRoles(roles []string) error {
	if len(roles) == 0 {
		return problem.Invalid("roles_required", "at least one role is required")
	}
	for _, r := range roles {
		if !slices.Contains(AllRoles, r) {
			return problem.Invalid("role_unknown", "unknown role %q (want one of %v)", r, AllRoles)
		}
	}
	return nil
}
