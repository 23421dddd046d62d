package acme

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// EABKeyInput creates an external account binding key. Org, Team and
// Profile take ids or names.
type EABKeyInput struct {
	Org      string `json:"org,omitempty"`     // default: the caller's organization
	Team     string `json:"team,omitempty"`    // owner of the accounts' certificates; "" = each account
	Profile  string `json:"profile,omitempty"` // "" = every ACME profile of the organization
	Name     string `json:"name,omitempty"`
	Reusable bool   `json:"reusable,omitempty"` // bind any number of accounts instead of one
}

// EABKey is an external account binding key as the API shows it. HMACKey
// (base64url) is only set in the answer to its creation.
type EABKey struct {
	ID        string     `json:"id"` // the kid clients send
	HMACKey   string     `json:"hmac_key,omitempty"`
	OrgID     string     `json:"org_id"`
	TeamID    string     `json:"team_id,omitempty"`
	ProfileID string     `json:"profile_id,omitempty"`
	Name      string     `json:"name,omitempty"`
	Reusable  bool       `json:"reusable"`
	Status    string     `json:"status"` // active | used
	Accounts  []string   `json:"accounts"`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	LastUsed  *time.Time `json:"last_used,omitempty"`
}

func eabView(k *eabKey) EABKey {
	v := EABKey{ID: k.obj.ID, OrgID: k.OrgID, TeamID: k.TeamID, ProfileID: k.ProfileID, Name: k.Name, Reusable: k.Reusable,
		Status: k.obj.Status, Accounts: k.Accounts, CreatedBy: k.CreatedBy, CreatedAt: k.obj.CreatedAt}
	if v.Accounts == nil {
		v.Accounts = []string{}
	}
	if !k.LastUsed.IsZero() {
		t := k.LastUsed
		v.LastUsed = &t
	}
	return v
}

// CreateEABKey makes a key for external account binding, bound to an
// organization and optionally a team and a profile. Managers and admins of
// the organization may; the HMAC key is returned this once.
func (s *Service) CreateEABKey(ctx context.Context, in EABKeyInput) (*EABKey, error) {
	caller, err := auth.Require(ctx, auth.PermProfileWrite)
	if err != nil {
		return nil, err
	}
	orgID, err := s.teams.TargetOrg(ctx, caller, in.Org)
	if err != nil {
		return nil, err
	}
	if caller, err = auth.RequireIn(ctx, auth.PermProfileWrite, orgID); err != nil {
		return nil, err
	}
	if in.Name = strings.TrimSpace(in.Name); len(in.Name) > 100 {
		return nil, problem.Invalid("name_invalid", "name is at most 100 characters")
	}
	k := &eabKey{OrgID: orgID, Name: in.Name, Reusable: in.Reusable, CreatedBy: caller.ID}
	if in.Team != "" {
		tm, err := s.teams.Team(ctx, in.Team)
		if err != nil {
			return nil, err
		}
		if tm.OrgID != orgID {
			return nil, problem.Invalid("team_other_organization", "team %s belongs to another organization", tm.Name)
		}
		k.TeamID = tm.ID
	}
	if in.Profile != "" {
		prof, err := s.profiles.Resolve(ctx, in.Profile)
		if err != nil {
			return nil, err
		}
		if prof.Profile.OrgID != orgID {
			return nil, problem.Invalid("profile_other_organization", "profile %s belongs to another organization", prof.Profile.Name)
		}
		if !profileAllowsACME(prof.Profile.EnrollmentMethods) {
			return nil, problem.Invalid("profile_without_acme", "profile %s does not allow the acme enrollment method", prof.Profile.Name)
		}
		k.ProfileID = prof.Profile.ID
	}
	now := s.now()
	k.obj = store.ProtocolObject{Kind: kindEAB, ID: store.NewID("eab"), AccountID: orgID, Status: eabActive, CreatedAt: now, UpdatedAt: now}
	secret := newHMACKey()
	if err := s.sealEAB(k, secret); err != nil {
		return nil, err
	}
	err = s.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.InsertProtocolObject(ctx, encode(&k.obj, k)); err != nil {
			return fmt.Errorf("insert EAB key: %w", err)
		}
		tx.AppendAudit(caller.Event(now, orgID, "acme.eab_key.create", "acme_eab_key", k.obj.ID,
			map[string]any{"team": k.TeamID, "profile": k.ProfileID, "name": k.Name, "reusable": k.Reusable}))
		return nil
	})
	if err != nil {
		return nil, err
	}
	v := eabView(k)
	v.HMACKey = b64.EncodeToString(secret)
	return &v, nil
}

// ListEABKeys pages the EAB keys of an organization (the caller's; global
// principals name one, the default organization otherwise), without secrets.
func (s *Service) ListEABKeys(ctx context.Context, org string, limit int, cursor string) ([]EABKey, string, error) {
	caller, err := auth.Require(ctx, auth.PermKeyRead)
	if err != nil {
		return nil, "", err
	}
	orgID, err := s.teams.TargetOrg(ctx, caller, org)
	if err != nil {
		return nil, "", err
	}
	objs, next, err := s.store.ListProtocolObjects(ctx, kindEAB, orgID, limit, cursor)
	if errors.Is(err, store.ErrBadCursor) {
		return nil, "", problem.Invalid("cursor_invalid", "the cursor is malformed")
	}
	if err != nil {
		return nil, "", err
	}
	out := make([]EABKey, 0, len(objs))
	for i := range objs {
		k := &eabKey{obj: objs[i]}
		if err := decode(&objs[i], k); err != nil {
			return nil, "", err
		}
		out = append(out, eabView(k))
	}
	return out, next, nil
}

// DeleteEABKey removes a key: no new account can bind with it. Accounts
// already bound keep working (deactivate them over ACME to stop them).
func (s *Service) DeleteEABKey(ctx context.Context, id string) error {
	if _, err := auth.Require(ctx, auth.PermProfileWrite); err != nil {
		return err
	}
	o, err := s.store.GetProtocolObject(ctx, kindEAB, id)
	if errors.Is(err, store.ErrNotFound) {
		return problem.NotFound("eab_key_not_found", "no EAB key %q", id)
	}
	if err != nil {
		return err
	}
	caller, err := auth.RequireIn(ctx, auth.PermProfileWrite, o.AccountID)
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.DeleteProtocolObject(ctx, kindEAB, id); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return problem.NotFound("eab_key_not_found", "no EAB key %q", id)
			}
			return fmt.Errorf("delete EAB key: %w", err)
		}
		tx.AppendAudit(caller.Event(s.now(), o.AccountID, "acme.eab_key.delete", "acme_eab_key", id, nil))
		return nil
	})
}

// ProfileSettings are a profile's ACME options as the API shows them.
type ProfileSettings struct {
	ProfileID   string `json:"profile_id"`
	Profile     string `json:"profile"`
	Directory   string `json:"directory"` // path of the directory, below the server's URL
	EABRequired bool   `json:"eab_required"`
}

// ProfileSettings returns a profile's ACME options.
func (s *Service) ProfileSettings(ctx context.Context, ref string) (*ProfileSettings, error) {
	caller, err := auth.Require(ctx, auth.PermProfileRead)
	if err != nil {
		return nil, err
	}
	prof, err := s.profiles.Resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	if !caller.InOrg(prof.Profile.OrgID) {
		return nil, problem.Forbidden("other_organization", "profile %s belongs to another organization", ref)
	}
	st, err := s.loadSettings(ctx, prof.Profile.ID)
	if err != nil {
		return nil, err
	}
	return &ProfileSettings{ProfileID: prof.Profile.ID, Profile: prof.Profile.Name, Directory: "/acme/" + url.PathEscape(prof.Profile.Name) + "/directory",
		EABRequired: st.EABRequired}, nil
}

// SetProfileSettings changes a profile's ACME options (managers and admins
// of its organization).
func (s *Service) SetProfileSettings(ctx context.Context, ref string, eabRequired bool) (*ProfileSettings, error) {
	if _, err := auth.Require(ctx, auth.PermProfileWrite); err != nil {
		return nil, err
	}
	prof, err := s.profiles.Resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	caller, err := auth.RequireIn(ctx, auth.PermProfileWrite, prof.Profile.OrgID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	o := encode(&store.ProtocolObject{Kind: kindSettings, ID: prof.Profile.ID, Status: eabActive, CreatedAt: now, UpdatedAt: now},
		settings{EABRequired: eabRequired})
	err = s.store.Update(ctx, func(tx store.Tx) error {
		err := tx.UpdateProtocolObject(ctx, o, eabActive)
		if errors.Is(err, store.ErrNotFound) {
			err = tx.InsertProtocolObject(ctx, o)
		}
		if err != nil {
			return fmt.Errorf("save ACME settings: %w", err)
		}
		tx.AppendAudit(caller.Event(now, prof.Profile.OrgID, "acme.profile.update", "profile", prof.Profile.ID,
			map[string]any{"eab_required": eabRequired}))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.ProfileSettings(ctx, prof.Profile.ID)
}
