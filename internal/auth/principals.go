package auth

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// NewPrincipal is what a caller asks for when creating a user or service account.
type NewPrincipal struct {
	Kind        string // user | service_account
	Org         string // id or name; "" = the caller's (global callers: global principal if GlobalOK)
	Global      bool   // a global principal (no organization); global admins only
	Name        string
	DisplayName string
	Email       string
	Roles       []string
	TeamIDs     []string
	Password    string // users only
}

// MinPasswordLength is the shortest password Signet accepts.
const MinPasswordLength = 12

func checkPassword(pw string) error {
	if len([]rune(pw)) < MinPasswordLength {
		return problem.Invalid("password_too_short", "a password needs at least %d characters", MinPasswordLength)
	}
	if len(pw) > 1024 {
		return problem.Invalid("password_too_long", "a password is at most 1024 bytes")
	}
	return nil
}

// CreatePrincipal adds a user or a service account. Only admins manage
// principals, each within their own organization.
func (d *Directory) CreatePrincipal(ctx context.Context, in NewPrincipal) (*store.Principal, error) {
	caller, err := Require(ctx, PermPrincipalMgmt)
	if err != nil {
		return nil, err
	}
	if in.Kind != store.PrincipalUser && in.Kind != store.PrincipalService {
		return nil, problem.Invalid("principal_kind_invalid", "kind must be user or service_account")
	}
	if err := checkName("principal", in.Name); err != nil {
		return nil, err
	}
	if err := ValidRoles(in.Roles); err != nil {
		return nil, err
	}
	orgID := ""
	if in.Global {
		if !caller.Global() {
			return nil, problem.Forbidden("global_admin_required", "only a global administrator may create global principals")
		}
	} else if orgID, err = d.TargetOrg(ctx, caller, in.Org); err != nil {
		return nil, err
	}
	teams, err := d.teamsOf(ctx, orgID, in.TeamIDs)
	if err != nil {
		return nil, err
	}
	p := &store.Principal{Kind: in.Kind, OrgID: orgID, Name: in.Name, DisplayName: in.DisplayName, Email: in.Email,
		Roles: in.Roles, TeamIDs: teams, CreatedAt: d.now(), UpdatedAt: d.now()}
	if in.Kind == store.PrincipalUser {
		p.ID = store.NewID("usr")
		if in.Password != "" {
			if err := checkPassword(in.Password); err != nil {
				return nil, err
			}
			if p.PasswordHash, err = d.hasher.Hash(in.Password); err != nil {
				return nil, err
			}
		}
	} else {
		p.ID = store.NewID("svc")
		if in.Password != "" {
			return nil, problem.Invalid("service_account_password", "service accounts authenticate with API keys, not passwords")
		}
	}
	err = d.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.InsertPrincipal(ctx, p); err != nil {
			return duplicate(err, "principal_exists", "a principal named %q exists", in.Name)
		}
		tx.AppendAudit(caller.Event(p.CreatedAt, orgID, "principal.create", in.Kind, p.ID,
			map[string]any{"name": p.Name, "roles": p.Roles, "teams": p.TeamIDs}))
		return nil
	})
	return p, err
}

// Principal returns a principal the caller may see (itself always).
func (d *Directory) Principal(ctx context.Context, ref string) (*store.Principal, error) {
	caller := PrincipalFrom(ctx)
	if caller == nil {
		return nil, problem.Unauthorized("unauthenticated", "authentication required")
	}
	p, err := store.ByRef(ctx, ref, idPrefixOf(ref), d.store.GetPrincipal, d.store.GetPrincipalByName)
	if err != nil {
		return nil, notFound(err, "principal_not_found", "no principal %q", ref)
	}
	if p.ID != caller.ID {
		if _, err := RequireIn(ctx, PermPrincipalRead, p.OrgID); err != nil {
			return nil, err
		}
		if p.OrgID == "" && !caller.Global() {
			return nil, problem.Forbidden("other_organization", "principal %s may not see global principals", caller.ID)
		}
	}
	return p, nil
}

func idPrefixOf(ref string) string {
	if strings.HasPrefix(ref, "svc_") {
		return "svc"
	}
	return "usr"
}

// ListPrincipals lists principals of the caller's organization (global: any or all).
func (d *Directory) ListPrincipals(ctx context.Context, q store.ListQuery) ([]store.Principal, string, error) {
	p, err := Require(ctx, PermPrincipalRead)
	if err != nil {
		return nil, "", err
	}
	if q.OrgID, err = ScopeOrg(ctx, d.store, p, q.OrgID); err != nil {
		return nil, "", err
	}
	return d.store.ListPrincipals(ctx, q)
}

// PrincipalChange is a partial update; nil fields stay as they are.
type PrincipalChange struct {
	DisplayName *string
	Email       *string
	Roles       []string // nil = unchanged
	TeamIDs     []string // nil = unchanged
	Disabled    *bool
	Password    *string // users only; resets the lockout
	Unlock      bool
}

// UpdatePrincipal changes a principal. Admins change anyone in their
// organization; a user may change its own password, display name and email.
func (d *Directory) UpdatePrincipal(ctx context.Context, ref string, ch PrincipalChange) (*store.Principal, error) {
	p, err := d.Principal(ctx, ref)
	if err != nil {
		return nil, err
	}
	caller := PrincipalFrom(ctx)
	self := p.ID == caller.ID
	privileged := ch.Roles != nil || ch.TeamIDs != nil || ch.Disabled != nil || ch.Unlock
	if !self || privileged {
		if caller, err = RequireIn(ctx, PermPrincipalMgmt, p.OrgID); err != nil {
			return nil, err
		}
	}
	details := map[string]any{}
	if ch.DisplayName != nil {
		p.DisplayName, details["display_name"] = *ch.DisplayName, *ch.DisplayName
	}
	if ch.Email != nil {
		p.Email, details["email"] = *ch.Email, *ch.Email
	}
	if ch.Roles != nil {
		if err := ValidRoles(ch.Roles); err != nil {
			return nil, err
		}
		p.Roles, details["roles"] = ch.Roles, ch.Roles
	}
	if ch.TeamIDs != nil {
		if p.TeamIDs, err = d.teamsOf(ctx, p.OrgID, ch.TeamIDs); err != nil {
			return nil, err
		}
		details["teams"] = p.TeamIDs
	}
	if ch.Disabled != nil {
		p.Disabled, details["disabled"] = *ch.Disabled, *ch.Disabled
	}
	if ch.Password != nil {
		if p.Kind != store.PrincipalUser {
			return nil, problem.Invalid("service_account_password", "service accounts authenticate with API keys, not passwords")
		}
		if err := checkPassword(*ch.Password); err != nil {
			return nil, err
		}
		if p.PasswordHash, err = d.hasher.Hash(*ch.Password); err != nil {
			return nil, err
		}
		details["password"] = "changed" // never the password itself
		ch.Unlock = true
	}
	if ch.Unlock {
		p.FailedLogins, p.LockedUntil, details["unlocked"] = 0, nil, true
	}
	err = d.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.UpdatePrincipal(ctx, p); err != nil {
			return notFound(err, "principal_not_found", "no principal %q", ref)
		}
		if ch.Disabled != nil && *ch.Disabled {
			n, err := endSessions(ctx, tx, p, d.now())
			if err != nil {
				return err
			}
			details["sessions_ended"] = n
		}
		tx.AppendAudit(caller.Event(d.now(), p.OrgID, "principal.update", p.Kind, p.ID, details))
		return nil
	})
	d.changed()
	return p, err
}

// endSessions revokes p's unexpired login sessions: disabling a user ends
// them, so that enabling it again does not bring back whoever was logged
// in. API keys are kept: a service account re-enabled resumes with its keys.
func endSessions(ctx context.Context, tx store.Tx, p *store.Principal, now time.Time) (int, error) {
	var n int
	q := store.ListQuery{OrgID: p.OrgID, Limit: 500}
	for {
		keys, next, err := tx.ListAPIKeys(ctx, q)
		if err != nil {
			return n, fmt.Errorf("list sessions of %s: %w", p.ID, err)
		}
		for i := range keys {
			k := &keys[i]
			if k.PrincipalID != p.ID || k.Name != sessionKeyName || k.RevokedAt != nil ||
				(k.ExpiresAt != nil && !now.Before(*k.ExpiresAt)) {
				continue
			}
			k.RevokedAt = &now
			if err := tx.UpdateAPIKey(ctx, k); err != nil {
				return n, fmt.Errorf("end session %s: %w", k.ID, err)
			}
			n++
		}
		if next == "" {
			return n, nil
		}
		q.Cursor = next
	}
}

// DeletePrincipal removes a principal; its keys stop working at once
// because authentication finds no principal behind them.
func (d *Directory) DeletePrincipal(ctx context.Context, ref string) error {
	p, err := d.Principal(ctx, ref)
	if err != nil {
		return err
	}
	caller, err := RequireIn(ctx, PermPrincipalMgmt, p.OrgID)
	if err != nil {
		return err
	}
	if p.ID == caller.ID {
		return problem.Conflict("principal_self_delete", "a principal cannot delete itself")
	}
	err = d.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.DeletePrincipal(ctx, p.ID); err != nil {
			return notFound(err, "principal_not_found", "no principal %q", ref)
		}
		tx.AppendAudit(caller.Event(d.now(), p.OrgID, "principal.delete", p.Kind, p.ID, map[string]any{"name": p.Name}))
		return nil
	})
	d.changed()
	return err
}

// EnsurePrincipal creates a global principal at bootstrap if it does not
// exist yet (system context only).
func (d *Directory) EnsurePrincipal(ctx context.Context, in NewPrincipal) (*store.Principal, error) {
	if p, err := d.store.GetPrincipalByName(ctx, in.Name); err == nil {
		return p, nil
	}
	return d.CreatePrincipal(ctx, in)
}
