// Package ca manages Signet's CA hierarchy: roots and intermediates it creates
// (keys sealed by the keystore), external CAs it imports, their chains, and
// the in-memory signers the issuance service uses.
package ca

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// Store is the persistence the CA service needs.
type Store interface {
	GetCA(ctx context.Context, id string) (*store.CA, error)
	GetCAByName(ctx context.Context, name string) (*store.CA, error)
	ListCAs(ctx context.Context, q store.ListQuery) ([]store.CA, string, error)
	auth.OrgLookup
	Update(ctx context.Context, fn func(tx store.Tx) error) error
}

// Sealer encrypts and decrypts CA private keys (keystore.Sealer).
type Sealer interface {
	Seal(key crypto.Signer, keyID string) ([]byte, error)
	Open(blob []byte, keyID string) (crypto.Signer, error)
}

// Issuer is a CA ready to sign: its record, parsed certificate, key and chain.
type Issuer struct {
	CA     store.CA
	Cert   *x509.Certificate
	Signer crypto.Signer       // nil for imported CAs without a key
	Chain  []*x509.Certificate // the CA certificate first, up to its root (as far as Signet knows)
}

// Service is the CA hierarchy.
type Service struct {
	store  Store
	sealer Sealer
	now    func() time.Time

	mu      sync.RWMutex
	issuers map[string]*Issuer // by CA id; loaded at start, kept current by this service's writes
	pool    *x509.CertPool     // every CA certificate, rebuilt lazily after issuers changes (nil)
	loaded  bool               // LoadKeys has unsealed every CA key
}

// Ready reports whether every CA key has been unsealed.
func (s *Service) Ready() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.loaded {
		return errors.New("CA keys are not loaded")
	}
	return nil
}

// New returns the CA service. Call LoadKeys before serving.
func New(s Store, sealer Sealer, now func() time.Time) *Service {
	return &Service{store: s, sealer: sealer, now: now, issuers: map[string]*Issuer{}}
}

// LoadKeys decrypts every CA key once, so a wrong passphrase fails at start
// with a clear error rather than at the first issuance.
func (s *Service) LoadKeys(ctx context.Context) error {
	cursor := ""
	for {
		cas, next, err := s.store.ListCAs(ctx, store.ListQuery{Limit: 500, Cursor: cursor})
		if err != nil {
			return fmt.Errorf("list CAs: %w", err)
		}
		for i := range cas {
			if _, err := s.load(ctx, &cas[i]); err != nil {
				return err
			}
		}
		if next == "" {
			s.mu.Lock()
			s.loaded = true
			s.mu.Unlock()
			return nil
		}
		cursor = next
	}
}

// load parses and unseals one CA and caches it with its chain.
func (s *Service) load(ctx context.Context, rec *store.CA) (*Issuer, error) {
	cert, err := x509.ParseCertificate(rec.CertDER)
	if err != nil {
		return nil, fmt.Errorf("parse certificate of CA %s: %w", rec.ID, err)
	}
	iss := &Issuer{CA: *rec, Cert: cert}
	if len(rec.KeyBlob) > 0 {
		iss.Signer, err = s.sealer.Open(rec.KeyBlob, rec.ID)
		if err != nil {
			return nil, fmt.Errorf("CA %s (%s): %w", rec.Name, rec.ID, err)
		}
	}
	iss.Chain = []*x509.Certificate{cert}
	if rec.ParentID != "" && rec.ParentID != rec.ID {
		parent, err := s.issuer(ctx, rec.ParentID)
		if err != nil {
			return nil, fmt.Errorf("parent of CA %s: %w", rec.ID, err)
		}
		iss.Chain = append(iss.Chain, parent.Chain...)
	}
	s.mu.Lock()
	s.issuers[rec.ID] = iss
	s.pool = nil
	s.mu.Unlock()
	return iss, nil
}

// All returns every CA this node has loaded, with signers where Signet holds the key.
func (s *Service) All() []*Issuer {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*Issuer, 0, len(s.issuers))
	for _, iss := range s.issuers {
		out = append(out, iss)
	}
	return out
}

// CertPool holds every CA this node knows (for verifying TLS client
// certificates); CAs created or imported since start are in it at once.
func (s *Service) CertPool() *x509.CertPool {
	s.mu.RLock()
	pool := s.pool
	s.mu.RUnlock()
	if pool != nil {
		return pool
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pool == nil {
		s.pool = x509.NewCertPool()
		for _, iss := range s.issuers {
			s.pool.AddCert(iss.Cert)
		}
	}
	return s.pool
}

// issuer returns the cached issuer, loading it from the store if another node made it.
func (s *Service) issuer(ctx context.Context, id string) (*Issuer, error) {
	s.mu.RLock()
	iss := s.issuers[id]
	s.mu.RUnlock()
	if iss != nil {
		return iss, nil
	}
	rec, err := s.store.GetCA(ctx, id)
	if err != nil {
		return nil, notFound(err, id)
	}
	return s.load(ctx, rec)
}

// Issuer returns the signing view of CA id for the issuance service. It does
// not check permissions: callers are domain services that already did.
func (s *Service) Issuer(ctx context.Context, id string) (*Issuer, error) {
	return s.issuer(ctx, id)
}

func notFound(err error, ref string) error {
	if errors.Is(err, store.ErrNotFound) {
		return problem.NotFound("ca_not_found", "no CA %q", ref)
	}
	return err
}

// resolve finds a CA by id or by name.
func (s *Service) resolve(ctx context.Context, ref string) (*store.CA, error) {
	rec, err := store.ByRef(ctx, ref, "ca", s.store.GetCA, s.store.GetCAByName)
	if err != nil {
		return nil, notFound(err, ref)
	}
	return rec, nil
}

// Get returns a CA by id or name.
func (s *Service) Get(ctx context.Context, ref string) (*store.CA, error) {
	p, err := auth.Require(ctx, auth.PermCARead)
	if err != nil {
		return nil, err
	}
	rec, err := s.resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	if !p.InOrg(rec.OrgID) {
		return nil, problem.Forbidden("other_organization", "CA %s belongs to another organization", ref)
	}
	return rec, nil
}

// Resolve returns a CA id for an id or name without a permission check (for other services).
func (s *Service) Resolve(ctx context.Context, ref string) (*store.CA, error) {
	return s.resolve(ctx, ref)
}

// List pages through CAs.
func (s *Service) List(ctx context.Context, q store.ListQuery) ([]store.CA, string, error) {
	p, err := auth.Require(ctx, auth.PermCARead)
	if err != nil {
		return nil, "", err
	}
	if q.OrgID, err = auth.ScopeOrg(ctx, s.store, p, q.OrgID); err != nil {
		return nil, "", err
	}
	return s.store.ListCAs(ctx, q)
}

// Chain returns CA ref's certificate followed by its issuers up to the root.
// It is public information, so no permission is required.
func (s *Service) Chain(ctx context.Context, ref string) ([]*x509.Certificate, error) {
	rec, err := s.resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	iss, err := s.issuer(ctx, rec.ID)
	if err != nil {
		return nil, err
	}
	return iss.Chain, nil
}

// SetStatus enables or disables a CA. A disabled CA issues nothing.
func (s *Service) SetStatus(ctx context.Context, ref, status string) (*store.CA, error) {
	caller, err := auth.Require(ctx, auth.PermCAManage)
	if err != nil {
		return nil, err
	}
	if status != store.CAActive && status != store.CADisabled {
		return nil, problem.Invalid("status_invalid", "status must be active or disabled")
	}
	var out *store.CA
	err = s.store.Update(ctx, func(tx store.Tx) error {
		rec, err := store.ByRef(ctx, ref, "ca", tx.GetCA, tx.GetCAByName)
		if err != nil {
			return notFound(err, ref)
		}
		if _, err := auth.RequireIn(ctx, auth.PermCAManage, rec.OrgID); err != nil {
			return err
		}
		if rec.Status == status {
			return problem.Conflict("ca_status_unchanged", "CA %s is already %s", rec.Name, status)
		}
		rec.Status = status
		rec.UpdatedAt = s.now()
		if err := tx.UpdateCA(ctx, rec); err != nil {
			return fmt.Errorf("update CA: %w", err)
		}
		tx.AppendAudit(caller.Event(rec.UpdatedAt, rec.OrgID, "ca."+status, "ca", rec.ID, nil))
		out = rec
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if iss := s.issuers[out.ID]; iss != nil {
		updated := *iss
		updated.CA = *out
		s.issuers[out.ID] = &updated
	}
	s.mu.Unlock()
	return out, nil
}

// insert stores a new CA record with its audit event and caches it.
func (s *Service) insert(ctx context.Context, caller *auth.Principal, rec *store.CA, action string) (*store.CA, error) {
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.InsertCA(ctx, rec); err != nil {
			if errors.Is(err, store.ErrDuplicate) {
				return problem.Conflict("ca_exists", "a CA named %q already exists", rec.Name)
			}
			return fmt.Errorf("insert CA: %w", err)
		}
		tx.AppendAudit(caller.Event(rec.CreatedAt, rec.OrgID, action, "ca", rec.ID,
			map[string]any{"name": rec.Name, "kind": rec.Kind, "subject": rec.Subject, "parent": rec.ParentID}))
		return nil
	})
	if err != nil {
		return nil, err
	}
	if _, err := s.load(ctx, rec); err != nil {
		return nil, err
	}
	return rec, nil
}
