// Package issuance is the one place certificates are made: enrollment with a
// CSR or a server-generated key, the approval workflow, renewal, revocation,
// suspension, resumption and import. Transports (REST, ACME, EST, ...) are
// thin adapters over this service.
package issuance

import (
	"context"
	"crypto/x509"
	"errors"
	"time"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/ca"
	"github.com/signet-pki/signet/internal/certutil"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/profile"
	"github.com/signet-pki/signet/internal/store"
)

// Store is the persistence issuance needs.
type Store interface {
	GetRequest(ctx context.Context, id string) (*store.Request, error)
	ListRequests(ctx context.Context, q store.ListQuery) ([]store.Request, string, error)
	GetCertificate(ctx context.Context, serial string) (*store.Certificate, error)
	GetCertificateBySHA256(ctx context.Context, sha256 string) (*store.Certificate, error)
	SearchCertificates(ctx context.Context, q store.CertificateQuery) (*store.CertificatePage, error)
	GetIdempotency(ctx context.Context, principalID, key string) (*store.Idempotency, error)
	GetProtocolObject(ctx context.Context, kind, id string) (*store.ProtocolObject, error)
	ListProtocolObjects(ctx context.Context, kind, accountID string, limit int, cursor string) ([]store.ProtocolObject, string, error)
	auth.OrgLookup
	Update(ctx context.Context, fn func(tx store.Tx) error) error
	Insert(ctx context.Context, fn func(tx store.Tx) error) error
}

// CAs gives access to issuing CAs.
type CAs interface {
	Issuer(ctx context.Context, id string) (*ca.Issuer, error)
	FindIssuer(ctx context.Context, cert *x509.Certificate) (*ca.Issuer, bool)
}

// Profiles resolves profile names to profile + template.
type Profiles interface {
	Resolve(ctx context.Context, ref string) (*profile.Resolved, error)
}

// CertLinter checks an issued certificate before it is returned.
type CertLinter interface {
	Check(der []byte) error
}

// Attributes checks what an organization allows on its certificates:
// owners, labels and custom field values (auth.Directory).
type Attributes interface {
	CheckAttributes(ctx context.Context, orgID string, labels, values map[string]string, complete bool) error
	CheckOwner(ctx context.Context, orgID, owner string) error
}

// Endpoints gives the URLs issued certificates point relying parties to:
// the CA's CRL distribution point, its OCSP responder and its certificate
// (AIA caIssuers). Empty strings leave the extension out.
type Endpoints interface {
	For(caID string) (crl, ocsp, caIssuers string)
}

// StatusListener hears of every committed status change (revoke, suspend,
// resume), so that OCSP and CRLs reflect it at once.
type StatusListener interface {
	StatusChanged(ctx context.Context, c *store.Certificate)
}

// Deps are the issuance service's collaborators.
type Deps struct {
	Store      Store
	CAs        CAs
	Profiles   Profiles
	Linter     CertLinter
	Attributes Attributes
	Endpoints  Endpoints      // nil: no CDP/AIA unless the CA record names them
	Listener   StatusListener // nil: nobody to tell
	Domains    DomainChecker  // nil: templates requiring validated domains refuse every DNS name
	Upstream   Upstream       // nil: external profiles cannot issue
	Now        func() time.Time
}

// Service issues and manages certificates.
type Service struct {
	store     Store
	cas       CAs
	profiles  Profiles
	linter    CertLinter
	attrs     Attributes
	endpoints Endpoints
	listener  StatusListener
	domains   DomainChecker
	upstream  Upstream
	now       func() time.Time
}

// New returns the issuance service.
func New(d Deps) *Service {
	return &Service{store: d.Store, cas: d.CAs, profiles: d.Profiles, linter: d.Linter, attrs: d.Attributes,
		endpoints: d.Endpoints, listener: d.Listener, domains: d.Domains, upstream: d.Upstream, now: d.Now}
}

// Issued is the outcome of an enrollment, approval or renewal.
type Issued struct {
	Request     *store.Request
	Certificate *store.Certificate // nil while the request is pending
	Chain       [][]byte           // issuing CA chain (DER), leaf excluded
	// PrivateKeyPEM and PKCS12 are set only when the server generated the key,
	// and only in this response: the key is never stored.
	PrivateKeyPEM []byte
	PKCS12        []byte
	Replayed      bool // an Idempotency-Key retry: the original result, without any key material
}

func (s *Service) getCertificate(ctx context.Context, serial string) (*store.Certificate, error) {
	canon, err := certutil.NormalizeSerial(serial)
	if err != nil {
		return nil, err
	}
	c, err := s.store.GetCertificate(ctx, canon)
	if errors.Is(err, store.ErrNotFound) {
		return nil, problem.NotFound("certificate_not_found", "no certificate with serial %s", canon)
	}
	return c, err
}

// GetCertificate returns an inventory entry by serial (any accepted serial form).
func (s *Service) GetCertificate(ctx context.Context, serial string) (*store.Certificate, error) {
	p, err := auth.Require(ctx, auth.PermCertRead)
	if err != nil {
		return nil, err
	}
	c, err := s.getCertificate(ctx, serial)
	if err != nil {
		return nil, err
	}
	if !p.InOrg(c.OrgID) {
		return nil, problem.Forbidden("other_organization", "certificate %s belongs to another organization", c.Serial)
	}
	return c, nil
}

// GetRequest returns a request by id.
func (s *Service) GetRequest(ctx context.Context, id string) (*store.Request, error) {
	p, err := auth.Require(ctx, auth.PermRequestRead)
	if err != nil {
		return nil, err
	}
	r, err := s.store.GetRequest(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, problem.NotFound("request_not_found", "no request %q", id)
	}
	if err == nil && !p.InOrg(r.OrgID) {
		return nil, problem.Forbidden("other_organization", "request %s belongs to another organization", id)
	}
	return r, err
}

// ListRequests pages through requests, optionally by status and profile.
func (s *Service) ListRequests(ctx context.Context, q store.ListQuery) ([]store.Request, string, error) {
	p, err := auth.Require(ctx, auth.PermRequestRead)
	if err != nil {
		return nil, "", err
	}
	if q.OrgID, err = auth.ScopeOrg(ctx, s.store, p, q.OrgID); err != nil {
		return nil, "", err
	}
	return s.store.ListRequests(ctx, q)
}

// checkOwner validates who a new certificate will belong to: requesters
// may name themselves or one of their teams; managers and admins any
// principal or team of the organization.
func (s *Service) checkOwner(ctx context.Context, caller *auth.Principal, orgID, owner string) error {
	if owner == caller.ID {
		return nil
	}
	if !caller.OwnsCertificate(orgID, owner) {
		return problem.Forbidden("owner_not_allowed", "%s may only request certificates owned by itself or its teams", caller.ID)
	}
	return s.attrs.CheckOwner(ctx, orgID, owner)
}
