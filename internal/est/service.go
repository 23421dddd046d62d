// Package est is Signet's EST server (RFC 7030, with the RFC 8951
// clarifications): /.well-known/est/{profile}/cacerts, simpleenroll,
// simplereenroll, serverkeygen and csrattrs for every profile that allows
// the "est" enrollment method (/.well-known/est/ without a label serves the
// default profile). It is a transport over the issuance service: enrollments
// end in issuance.Enroll, re-enrollments in issuance.Renew, so EST
// certificates follow the profile's template, CA, validity and approval rule
// and are in the inventory, the audit log and CRL/OCSP like any other.
//
// Clients authenticate with a TLS client certificate Signet issued (its
// owner enrolls), HTTP Basic credentials of a Signet principal (a user's
// password, or any principal's API key with its name as the user name), or
// a one-time enrollment secret (as the Basic password or the CSR's
// challengePassword), which then owns the certificate. simplereenroll is
// authenticated by the certificate being renewed. A manual-approval profile
// answers 202 with Retry-After; the client's repeated request (same
// credentials, same CSR) gets the certificate once a manager approved.
package est

import (
	"context"
	"crypto/x509"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/audit"
	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/ca"
	"github.com/signet-pki/signet/internal/certutil"
	"github.com/signet-pki/signet/internal/enrollsecret"
	"github.com/signet-pki/signet/internal/issuance"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/profile"
	"github.com/signet-pki/signet/internal/store"
)

// Store is the persistence EST needs: its pending-enrollment records, and
// the inventory lookup of a client certificate being renewed.
type Store interface {
	GetProtocolObject(ctx context.Context, kind, id string) (*store.ProtocolObject, error)
	FindProtocolObject(ctx context.Context, kind, keyID string) (*store.ProtocolObject, error)
	GetCertificateBySHA256(ctx context.Context, sha256 string) (*store.Certificate, error)
	Update(ctx context.Context, fn func(tx store.Tx) error) error
}

// Issuance is the part of the issuance service EST uses.
type Issuance interface {
	Enroll(ctx context.Context, in issuance.EnrollInput) (*issuance.Issued, error)
	Renew(ctx context.Context, serial string, in issuance.RenewInput) (*issuance.Issued, error)
	GetRequest(ctx context.Context, id string) (*store.Request, error)
	GetCertificate(ctx context.Context, serial string) (*store.Certificate, error)
}

// Profiles resolves the profile an EST label names.
type Profiles interface {
	Resolve(ctx context.Context, ref string) (*profile.Resolved, error)
}

// CAs gives a profile's CA chain.
type CAs interface {
	Issuer(ctx context.Context, id string) (*ca.Issuer, error)
}

// Keys authenticates API keys (auth.APIKeys).
type Keys interface {
	Authenticate(ctx context.Context, token string) (*auth.Principal, error)
}

// Passwords checks user passwords (auth.Directory).
type Passwords interface {
	VerifyPassword(ctx context.Context, username, password, sourceIP string) (*auth.Principal, error)
}

// ClientCerts maps a verified TLS client certificate to its owner (auth.ClientCerts).
type ClientCerts interface {
	Authenticate(ctx context.Context, leaf *x509.Certificate) (*auth.Principal, error)
}

// Secrets checks one-time enrollment secrets (enrollsecret.Service).
type Secrets interface {
	Consume(ctx context.Context, token string, use enrollsecret.Use) (*enrollsecret.Used, error)
	Verify(ctx context.Context, token string, use enrollsecret.Use) (*enrollsecret.Used, error)
	Release(ctx context.Context, id, usedFor string) error
}

// Auditor records refused requests (audit.Service): every failed
// authentication or authorization is an audit event.
type Auditor interface {
	RecordRefusal(ctx context.Context, r audit.Refusal) error
}

// Deps are the service's collaborators.
type Deps struct {
	Store       Store
	Issuance    Issuance
	Profiles    Profiles
	CAs         CAs
	Keys        Keys
	Passwords   Passwords
	ClientCerts ClientCerts
	Secrets     Secrets
	Audit       Auditor // nil: refusals are only logged
}

// Config tunes the server. Zero values take the defaults.
type Config struct {
	// DefaultProfile is served at /.well-known/est/ without a label.
	DefaultProfile string
	// RetryAfter is what a client with a pending enrollment is told to wait (default 60 s).
	RetryAfter time.Duration
	Now        func() time.Time
	Logger     *slog.Logger
}

// Service is the EST server, an http.Handler for /.well-known/est/.
type Service struct {
	d   Deps
	cfg Config
	log *slog.Logger
}

// New returns the EST service.
func New(d Deps, cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return time.Now().UTC() }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = 60 * time.Second
	}
	return &Service{d: d, cfg: cfg, log: cfg.Logger}
}

// PathPrefix is where EST lives (RFC 7030 section 3.2.2).
const PathPrefix = "/.well-known/est/"

// Method is the enrollment method EST requests carry.
const Method = "est"

var operations = []string{"cacerts", "simpleenroll", "simplereenroll", "serverkeygen", "csrattrs"}

// ServeHTTP dispatches /.well-known/est/[{label}/]{operation}.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, PathPrefix)
	if !ok {
		s.fail(w, r, &estError{status: http.StatusNotFound, msg: "not an EST path"})
		return
	}
	label, op := s.cfg.DefaultProfile, rest
	if l, o, found := strings.Cut(rest, "/"); found {
		label, op = l, o
	}
	if !slices.Contains(operations, op) || label == "" {
		s.fail(w, r, &estError{status: http.StatusNotFound, msg: "unknown EST operation"})
		return
	}
	wantMethod := http.MethodPost
	if op == "cacerts" || op == "csrattrs" {
		wantMethod = http.MethodGet
	}
	if r.Method != wantMethod {
		w.Header().Set("Allow", wantMethod)
		s.fail(w, r, &estError{status: http.StatusMethodNotAllowed, msg: op + " takes " + wantMethod})
		return
	}
	prof, err := s.profile(r.Context(), label)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	switch op {
	case "cacerts":
		err = s.caCerts(w, r, prof)
	case "csrattrs":
		err = s.csrAttrs(w, prof)
	case "simpleenroll":
		err = s.simpleEnroll(w, r, prof, false)
	case "serverkeygen":
		err = s.simpleEnroll(w, r, prof, true)
	case "simplereenroll":
		err = s.simpleReenroll(w, r, prof)
	}
	if err != nil {
		s.fail(w, r, err)
	}
}

// profile resolves a label to an active profile that allows EST; any
// other profile is as absent as an unknown one.
func (s *Service) profile(ctx context.Context, label string) (*profile.Resolved, error) {
	prof, err := profile.ResolveOffered(ctx, s.d.Profiles, label, Method)
	if problem.KindOf(err) == problem.KindNotFound {
		return nil, &estError{status: http.StatusNotFound, msg: "no EST service for this label"}
	}
	return prof, err
}

// caCerts answers the profile's CA chain (the issuing CA up to its root)
// as a certs-only PKCS#7 (RFC 7030 section 4.1.3).
func (s *Service) caCerts(w http.ResponseWriter, r *http.Request, prof *profile.Resolved) error {
	iss, err := s.d.CAs.Issuer(r.Context(), prof.Profile.CAID)
	if err != nil {
		return err
	}
	ders := make([][]byte, 0, len(iss.Chain))
	for _, c := range iss.Chain {
		ders = append(ders, c.Raw)
	}
	p7, err := certutil.EncodePKCS7(ders...)
	if err != nil {
		return err
	}
	// RFC 7030 section 4.1.3 names the bare type for cacerts (enrollment
	// answers add smime-type=certs-only, section 4.2.3).
	writeBase64(w, http.StatusOK, "application/pkcs7-mime", p7)
	return nil
}

// csrAttrs answers what a CSR for this profile should contain, derived
// from its template (RFC 7030 section 4.5).
func (s *Service) csrAttrs(w http.ResponseWriter, prof *profile.Resolved) error {
	der, err := csrAttributes(&prof.Template.Parsed)
	if err != nil {
		return err
	}
	writeBase64(w, http.StatusOK, "application/csrattrs", der)
	return nil
}
