// Package acme is Signet's ACME server (RFC 8555, with RFC 8737 tls-alpn-01,
// RFC 8738 IP identifiers and RFC 9773 renewal information): one directory
// per profile that allows the "acme" enrollment method, at
// /acme/{profile}/directory. It is a transport over the issuance service:
// orders end in issuance.Enroll, revocations in issuance.Revoke, so ACME
// certificates follow the profile's template, CA, validity and approval rule
// and land in the inventory, the audit log and CRL/OCSP like any other.
//
// An ACME account is not a Signet user. Each operation runs with a principal
// built from the account (kind "acme_account", role requester, the profile's
// organization, the team of its external account binding), so the issuance
// service applies its ordinary rules. Protocol state (accounts, orders,
// authorizations, nonces, EAB keys) is kept as store.ProtocolObject JSON owned by
// this package.
package acme

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/ca"
	"github.com/signet-pki/signet/internal/issuance"
	"github.com/signet-pki/signet/internal/profile"
	"github.com/signet-pki/signet/internal/store"
)

// Store is the persistence the ACME server needs: its own objects, and
// teams for EAB keys. Every write goes through Update.
type Store interface {
	GetProtocolObject(ctx context.Context, kind, id string) (*store.ProtocolObject, error)
	FindProtocolObject(ctx context.Context, kind, keyID string) (*store.ProtocolObject, error)
	ListProtocolObjects(ctx context.Context, kind, accountID string, limit int, cursor string) ([]store.ProtocolObject, string, error)
	Update(ctx context.Context, fn func(tx store.Tx) error) error
}

// Issuance is the part of the issuance service orders and revocations use.
type Issuance interface {
	Enroll(ctx context.Context, in issuance.EnrollInput) (*issuance.Issued, error)
	GetRequest(ctx context.Context, id string) (*store.Request, error)
	GetCertificate(ctx context.Context, serial string) (*store.Certificate, error)
	Download(ctx context.Context, serial, format string) (*issuance.Download, error)
	Revoke(ctx context.Context, serial string, reason int, invalidity *time.Time) (*store.Certificate, error)
}

// Profiles resolves the profile a directory URL names.
type Profiles interface {
	Resolve(ctx context.Context, ref string) (*profile.Resolved, error)
}

// CAs lists the CAs this node knows, for alternate chains.
type CAs interface {
	All() []*ca.Issuer
}

// Teams checks the organization and team an EAB key is bound to, with the
// caller's permissions (auth.Directory).
type Teams interface {
	Team(ctx context.Context, ref string) (*store.Team, error)
	TargetOrg(ctx context.Context, p *auth.Principal, requested string) (string, error)
}

// Config tunes validation and lifetimes. Zero values take the defaults.
type Config struct {
	// PublicURL is how clients reach Signet (scheme://host[:port]); empty:
	// derived from each request's Host header and TLS state.
	PublicURL string
	// HTTP01Port and TLSALPN01Port are the ports challenges are validated
	// on (80 and 443 by default; tests and private networks change them).
	HTTP01Port    int
	TLSALPN01Port int
	// DNSResolver (host:port) answers dns-01 TXT queries and the address
	// lookups of the other challenges; empty: the system resolver.
	DNSResolver string
	// Resolve pins names to addresses for http-01 and tls-alpn-01, as
	// "pattern=address" ("*.test=127.0.0.1"; "*" matches every name).
	Resolve []string
	// ValidationTimeout bounds one challenge validation (default 10 s).
	ValidationTimeout time.Duration
	// OrderLifetime bounds how long a pending order and its authorizations
	// may wait for challenges and finalization (default 24 h).
	OrderLifetime time.Duration
	// NonceLifetime bounds how long a nonce is accepted (default 15 min).
	NonceLifetime time.Duration
	// RetryAfter is what clients are told to wait before polling an order
	// that is processing (default 3 s).
	RetryAfter time.Duration
	Now        func() time.Time
	Logger     *slog.Logger
}

// Deps are the service's collaborators.
type Deps struct {
	Store    Store
	Issuance Issuance
	Profiles Profiles
	CAs      CAs
	Teams    Teams
	// Secrets seals EAB keys at rest (the CA key sealer).
	Secrets Secrets
}

// Secrets seals and opens secrets Signet must read back, bound to an id.
type Secrets interface {
	SealSecret(secret []byte, id string) ([]byte, error)
	OpenSecret(sealed []byte, id string) ([]byte, error)
}

// Service is the ACME server: an http.Handler for /acme/, and the EAB key
// administration the REST API exposes.
type Service struct {
	store     Store
	issuance  Issuance
	profiles  Profiles
	cas       CAs
	teams     Teams
	secrets   Secrets
	cfg       Config
	log       *slog.Logger
	now       func() time.Time
	nonces    *nonces
	validator *validator
	mux       *http.ServeMux
}

// New returns the ACME service; the configuration is checked here.
func New(d Deps, cfg Config) (*Service, error) {
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return time.Now().UTC() }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.HTTP01Port = orDefault(cfg.HTTP01Port, 80)
	cfg.TLSALPN01Port = orDefault(cfg.TLSALPN01Port, 443)
	cfg.ValidationTimeout = orDefault(cfg.ValidationTimeout, 10*time.Second)
	cfg.OrderLifetime = orDefault(cfg.OrderLifetime, 24*time.Hour)
	cfg.NonceLifetime = orDefault(cfg.NonceLifetime, 15*time.Minute)
	cfg.RetryAfter = orDefault(cfg.RetryAfter, 3*time.Second)
	v, err := newValidator(cfg)
	if err != nil {
		return nil, err
	}
	s := &Service{store: d.Store, issuance: d.Issuance, profiles: d.Profiles, cas: d.CAs, teams: d.Teams,
		secrets: d.Secrets, cfg: cfg, log: cfg.Logger, now: cfg.Now, validator: v,
		nonces: newNonces(d.Store, cfg.Now, cfg.NonceLifetime)}
	s.nonces.sweep = sweepExpired
	s.mux = s.routes()
	return s, nil
}

// retention is how long orders and authorizations are kept after they
// expire: long enough for a client to read an order it finalized, and for
// a manual approval to be decided, without keeping protocol state forever
// (certificates stay in the inventory regardless).
const retention = 90 * 24 * time.Hour

// sweepExpired removes used nonces once they expire, replacement records
// once the replaced certificate expires, and orders and authorizations
// after retention.
func sweepExpired(ctx context.Context, tx store.Tx, now time.Time) error {
	for _, k := range []struct {
		kind   string
		before time.Time
	}{{kindNonce, now}, {kindReplacement, now}, {kindOrder, now.Add(-retention)}, {kindAuthz, now.Add(-retention)}} {
		if _, err := tx.DeleteExpiredProtocolObjects(ctx, k.kind, k.before); err != nil {
			return fmt.Errorf("delete expired ACME %s: %w", k.kind, err)
		}
	}
	return nil
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
