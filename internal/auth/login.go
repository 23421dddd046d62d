package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// Argon2id hashes passwords in PHC string form. The parameters are OWASP's
// minimum recommendation (19 MiB, 2 passes): a login costs ~20 ms here.
type Argon2id struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// DefaultArgon2id is what servers use.
var DefaultArgon2id = Argon2id{Memory: 19 * 1024, Time: 2, Threads: 1}

// Hash returns "$argon2id$v=19$m=...,t=...,p=...$salt$hash".
func (a Argon2id) Hash(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	sum := argon2.IDKey([]byte(password), salt, a.Time, a.Memory, a.Threads, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, a.Memory, a.Time, a.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(sum)), nil
}

// Verify checks password against a hash made by Hash, in constant time.
func (a Argon2id) Verify(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m > 1<<21 || t > 16 || p == 0 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// Lockout policy.
const (
	MaxFailedLogins = 5
	LockoutPeriod   = 15 * time.Minute
	SessionLifetime = 12 * time.Hour
	sessionKeyName  = "session"
)

// Session is what a successful login returns.
type Session struct {
	Token     string
	ExpiresAt time.Time
	Principal *store.Principal
}

// Login checks a user's password and mints a session token (an API key
// named "session" that expires). Every failure is the same 401 and an
// audit event; the fifth failure in a row locks the user for LockoutPeriod.
func (d *Directory) Login(ctx context.Context, keys *APIKeys, username, password, sourceIP string) (*Session, error) {
	bad := problem.Unauthorized("invalid_credentials", "the user name or password is wrong, or the user is locked or disabled")
	now := d.now()
	u, err := d.store.GetPrincipalByName(ctx, username)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("look up user: %w", err)
	}
	if u == nil || u.Kind != store.PrincipalUser || u.PasswordHash == "" {
		d.hasher.Verify(d.dummyHash, password)
		d.recordLogin(ctx, nil, username, sourceIP, "failure", "unknown user")
		return nil, bad
	}
	if u.Disabled {
		d.hasher.Verify(d.dummyHash, password)
		d.recordLogin(ctx, u, username, sourceIP, "failure", "disabled")
		return nil, bad
	}
	if u.LockedUntil != nil && now.Before(*u.LockedUntil) {
		d.hasher.Verify(d.dummyHash, password)
		d.recordLogin(ctx, u, username, sourceIP, "failure", "locked")
		return nil, bad
	}
	if !d.hasher.Verify(u.PasswordHash, password) {
		d.failLogin(ctx, u, sourceIP, now)
		return nil, bad
	}
	if u.FailedLogins > 0 || u.LockedUntil != nil {
		u.FailedLogins, u.LockedUntil = 0, nil
		if err := d.store.Update(ctx, func(tx store.Tx) error { return tx.UpdatePrincipal(ctx, u) }); err != nil {
			return nil, err
		}
	}
	self := &Principal{ID: u.ID, Name: u.Name, Kind: u.Kind, OrgID: u.OrgID, TeamIDs: u.TeamIDs, Roles: u.Roles,
		SourceIP: sourceIP, Method: "password"}
	exp := now.Add(SessionLifetime)
	_, token, err := keys.Create(WithPrincipal(ctx, self), NewKey{Name: sessionKeyName, Roles: u.Roles, ExpiresAt: &exp})
	if err != nil {
		return nil, err
	}
	return &Session{Token: token, ExpiresAt: exp, Principal: u}, nil
}

// failLogin counts a wrong password and locks the user at the limit, in
// the same transaction as the audit event that records it.
func (d *Directory) failLogin(ctx context.Context, u *store.Principal, sourceIP string, now time.Time) {
	_ = d.store.Update(ctx, func(tx store.Tx) error {
		cur, err := tx.GetPrincipal(ctx, u.ID)
		if err != nil {
			return err
		}
		cur.FailedLogins++
		reason := "wrong password"
		if cur.FailedLogins >= MaxFailedLogins {
			until := now.Add(LockoutPeriod)
			cur.LockedUntil, cur.FailedLogins, reason = &until, 0, "wrong password; user locked"
		}
		if err := tx.UpdatePrincipal(ctx, cur); err != nil {
			return err
		}
		tx.AppendAudit(loginEvent(cur, cur.Name, sourceIP, "failure", reason, now))
		return nil
	})
}

func (d *Directory) recordLogin(ctx context.Context, u *store.Principal, username, sourceIP, outcome, reason string) {
	_ = d.store.Update(ctx, func(tx store.Tx) error {
		tx.AppendAudit(loginEvent(u, username, sourceIP, outcome, reason, d.now()))
		return nil
	})
}

func loginEvent(u *store.Principal, username, sourceIP, outcome, reason string, at time.Time) store.AuditEvent {
	ev := store.AuditEvent{Time: at, Principal: "anonymous", Action: "auth.login", ObjectType: "user", Outcome: outcome,
		SourceIP: sourceIP, Details: map[string]any{"username": truncate(username, 100), "reason": reason}}
	if u != nil {
		ev.Principal, ev.ObjectID, ev.OrgID = u.ID, u.ID, u.OrgID
	}
	return ev
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
