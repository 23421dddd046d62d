// Package cmp is Signet's CMP server (RFC 4210 with RFC 9480's updates, in
// the lightweight profile of RFC 9483): one endpoint per profile that allows
// the "cmp" enrollment method, POST /cmp/{profile} with
// application/pkixcmp bodies. It is a transport over the issuance service:
// ir, cr, p10cr end in issuance.Enroll, kur in issuance.Renew, rr in
// issuance.Revoke, so CMP certificates follow the profile's template, CA,
// validity and approval rule and land in the inventory, the audit log and
// CRL/OCSP like any other.
//
// A request is protected either by a password-based MAC (PasswordBasedMac
// or PBMAC1) under a one-time shared secret a manager created for the
// profile, or by a signature of a certificate a Signet CA issued (the
// certificate being updated, for kur and rr). A secret enrolls as a
// requester-level principal whose id is the secret's reference, so it owns
// and is audited for what it obtains; a certificate acts as its owner.
// Responses to MAC requests carry a MAC under the same secret; every other
// response is signed by the issuing CA (decision 28). Protocol state
// (shared secrets, transactions) is kept as store.ProtocolObject JSON.
package cmp

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/signet-pki/signet/internal/audit"
	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/ca"
	"github.com/signet-pki/signet/internal/issuance"
	"github.com/signet-pki/signet/internal/profile"
	"github.com/signet-pki/signet/internal/store"
)

// method is the enrollment method profiles list to offer CMP.
const method = "cmp"

// Kinds of store.ProtocolObject this package keeps.
const (
	kindSecret      = "cmp.secret"      // ID: the reference; AccountID: organization; Status: active | used
	kindTransaction = "cmp.transaction" // ID: profile id + ":" + hex transactionID; Status: see txn*
)

// Store is the persistence the CMP server needs: its own objects.
type Store interface {
	GetProtocolObject(ctx context.Context, kind, id string) (*store.ProtocolObject, error)
	ListProtocolObjects(ctx context.Context, kind, accountID string, limit int, cursor string) ([]store.ProtocolObject, string, error)
	Update(ctx context.Context, fn func(tx store.Tx) error) error
}

// Issuance is the part of the issuance service CMP uses.
type Issuance interface {
	Enroll(ctx context.Context, in issuance.EnrollInput) (*issuance.Issued, error)
	Renew(ctx context.Context, serial string, in issuance.RenewInput) (*issuance.Issued, error)
	Revoke(ctx context.Context, serial string, reason int, invalidity *time.Time) (*store.Certificate, error)
	GetRequest(ctx context.Context, id string) (*store.Request, error)
	GetCertificate(ctx context.Context, serial string) (*store.Certificate, error)
}

// Profiles resolves the profile an endpoint names.
type Profiles interface {
	Resolve(ctx context.Context, ref string) (*profile.Resolved, error)
}

// CAs gives the issuing CA's certificate chain and key, and every CA for
// checking protection certificates.
type CAs interface {
	Issuer(ctx context.Context, id string) (*ca.Issuer, error)
	CertPool() *x509.CertPool
	All() []*ca.Issuer // for link certificates between roots (genm rootCaCert)
}

// CRLs serves a CA's newest CRL (revocation.Service), for genm crlStatusList.
type CRLs interface {
	CRL(ctx context.Context, caRef string, delta bool) (*store.CRL, error)
}

// Orgs picks the organization an administrative call acts in (auth.Directory).
type Orgs interface {
	TargetOrg(ctx context.Context, p *auth.Principal, requested string) (string, error)
}

// Sealer encrypts shared secrets at rest (keystore.Sealer).
type Sealer interface {
	Seal(key crypto.Signer, keyID string) ([]byte, error)
	Open(sealed []byte, keyID string) (crypto.Signer, error)
}

// Auditor records refused requests (audit.Service): a failed
// authentication or authorization is an audit event (decision 10).
type Auditor interface {
	RecordRefusal(ctx context.Context, r audit.Refusal) error
}

// Deps are the service's collaborators.
type Deps struct {
	Store    Store
	Issuance Issuance
	Profiles Profiles
	CAs      CAs
	Orgs     Orgs
	Sealer   Sealer
	Audit    Auditor // nil: refusals are only logged
	CRLs     CRLs    // nil: genm crlStatusList is answered systemUnavail
}

// Config tunes the server. Zero values take the defaults.
type Config struct {
	// CheckAfter is what a client waiting for a manual approval is told to
	// wait before polling again (default 3 s).
	CheckAfter time.Duration
	// TransactionLifetime bounds how long a transaction's state is kept for
	// its certConf and pollReq messages (default 7 days: a manual approval
	// may take that long).
	TransactionLifetime time.Duration
	// DefaultProfile answers /.well-known/cmp without a profile label.
	DefaultProfile string
	Now            func() time.Time
	Logger         *slog.Logger
}

// Service is the CMP server: an http.Handler for /cmp/, and the shared
// secret administration the REST API exposes.
type Service struct {
	store    Store
	issuance Issuance
	profiles Profiles
	cas      CAs
	orgs     Orgs
	sealer   Sealer
	auditor  Auditor
	crls     CRLs
	cfg      Config
	log      *slog.Logger
	now      func() time.Time

	sweepMu   sync.Mutex
	lastSweep time.Time
}

// sweepInterval spaces the removal of expired state: it rides along with a
// new transaction's write at most this often.
const sweepInterval = time.Minute

// sweepDue reports whether this write should also sweep.
func (s *Service) sweepDue(now time.Time) bool {
	s.sweepMu.Lock()
	defer s.sweepMu.Unlock()
	if now.Sub(s.lastSweep) < sweepInterval {
		return false
	}
	s.lastSweep = now
	return true
}

// New returns the CMP service.
func New(d Deps, cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return time.Now().UTC() }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.CheckAfter <= 0 {
		cfg.CheckAfter = 3 * time.Second
	}
	if cfg.TransactionLifetime <= 0 {
		cfg.TransactionLifetime = 7 * 24 * time.Hour
	}
	return &Service{store: d.Store, issuance: d.Issuance, profiles: d.Profiles, cas: d.CAs, orgs: d.Orgs,
		sealer: d.Sealer, auditor: d.Audit, crls: d.CRLs, cfg: cfg, log: cfg.Logger, now: cfg.Now}
}

func decode(o *store.ProtocolObject, v any) error {
	if err := json.Unmarshal(o.Data, v); err != nil {
		return fmt.Errorf("CMP %s %s is corrupt: %w", o.Kind, o.ID, err)
	}
	return nil
}

// encode stores v's JSON in o.
func encode(o *store.ProtocolObject, v any) *store.ProtocolObject {
	o.Data, _ = json.Marshal(v) // records hold only marshalable fields
	return o
}

// sweepExpired removes transactions and shared secrets past their expiry.
func sweepExpired(ctx context.Context, tx store.Tx, now time.Time) error {
	for _, kind := range []string{kindTransaction, kindSecret} {
		if _, err := tx.DeleteExpiredProtocolObjects(ctx, kind, now); err != nil {
			return fmt.Errorf("delete expired %s: %w", kind, err)
		}
	}
	return nil
}

// Sweep deletes expired CMP state; the application calls it periodically.
func (s *Service) Sweep(ctx context.Context) error {
	return s.store.Update(ctx, func(tx store.Tx) error { return sweepExpired(ctx, tx, s.now()) })
}

var _ http.Handler = (*Service)(nil)
