// Package auth knows who is calling and what they may do. Transports
// authenticate a request into a Principal and put it in the context; domain
// services call Require with the permission an operation needs, so every
// transport gets the same rules from this one place.
package auth

import (
	"context"
	"slices"

	"github.com/signet-pki/signet/internal/problem"
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
	Roles    []string
	APIKeyID string // the key used, if any
	SourceIP string
}

// System is the principal for work the server does on its own behalf (bootstrap, jobs).
var system = &Principal{ID: "system", Name: "system", Roles: []string{RoleAdmin}}

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
	PermKeyRead       Permission = "apikey:read"
	PermKeyManage     Permission = "apikey:manage"
)

// rolePermissions is the permission matrix, the single source of truth.
var rolePermissions = map[string][]Permission{
	RoleManager: {
		PermCARead, PermCAManage, PermTemplateRead, PermTemplateWrite, PermProfileRead,
		PermProfileWrite, PermRequestRead, PermEnroll, PermApprove, PermCertRead,
		PermCertRevoke, PermCertImport, PermKeyRead,
	},
	RoleRequester: {
		PermCARead, PermTemplateRead, PermProfileRead, PermRequestRead, PermEnroll,
		PermCertRead, PermCertRevoke, PermCertImport,
	},
	RoleAuditor: {
		PermCARead, PermTemplateRead, PermProfileRead, PermRequestRead, PermCertRead, PermKeyRead,
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
