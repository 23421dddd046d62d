package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// VerifyPassword checks a user's password like Login (same lockout, same
// single 401, failures audited) without minting a session: protocols that
// send HTTP Basic credentials on every request (EST) authenticate each
// request on its own.
func (d *Directory) VerifyPassword(ctx context.Context, username, password, sourceIP string) (*Principal, error) {
	bad := problem.Unauthorized("invalid_credentials", "the user name or password is wrong, or the user is locked or disabled")
	now := d.now()
	u, err := d.store.GetPrincipalByName(ctx, username)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("look up user: %w", err)
	}
	if u == nil || u.Kind != store.PrincipalUser || u.PasswordHash == "" || u.Disabled ||
		(u.LockedUntil != nil && now.Before(*u.LockedUntil)) {
		d.hasher.Verify(d.dummyHash, password)
		d.recordLogin(ctx, u, username, sourceIP, "failure", "unknown, disabled or locked user")
		return nil, bad
	}
	if !d.hasher.Verify(u.PasswordHash, password) {
		d.failLogin(ctx, u, sourceIP, now)
		return nil, bad
	}
	if u.FailedLogins > 0 {
		u.FailedLogins, u.LockedUntil = 0, nil
		if err := d.store.Update(ctx, func(tx store.Tx) error { return tx.UpdatePrincipal(ctx, u) }); err != nil {
			return nil, err
		}
	}
	return &Principal{ID: u.ID, Name: u.Name, Kind: u.Kind, OrgID: u.OrgID, TeamIDs: u.TeamIDs, Roles: u.Roles,
		SourceIP: sourceIP, Method: "password"}, nil
}
