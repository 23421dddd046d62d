// Package scep is Signet's SCEP server (RFC 8894) at /scep/{profile} for
// every profile that allows the "scep" enrollment method: GetCACaps,
// GetCACert (an RA certificate plus the CA chain), and PKIOperation with
// PKCSReq, RenewalReq, GetCertInitial (CertPoll), GetCert and GetCRL.
//
// It is a transport over the issuance service: PKCSReq ends in
// issuance.Enroll, RenewalReq in issuance.Renew, so SCEP certificates follow
// the profile's template, CA, validity and approval rule. A PKCSReq is
// authorized by its challengePassword: a one-time enrollment secret (the
// dynamic challenge MDMs fetch from the API), which then owns the
// certificate, or the profile's static challenge. A RenewalReq is
// authorized by the certificate it is signed with. Manual-approval profiles
// answer PENDING; GetCertInitial (or the same PKCSReq again) returns the
// certificate once a manager approved.
//
// The PKCS#7 envelopes are handled with github.com/smallstep/pkcs7 (parse,
// verify, decrypt, sign); replies are encrypted with AES-256-CBC here. Every
// SCEP-level failure is a signed CertRep with a failInfo, never a 500.
package scep

import (
	"context"
	"crypto"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/signet-pki/signet/internal/audit"
	"github.com/signet-pki/signet/internal/ca"
	"github.com/signet-pki/signet/internal/certutil"
	"github.com/signet-pki/signet/internal/enrollsecret"
	"github.com/signet-pki/signet/internal/issuance"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/profile"
	"github.com/signet-pki/signet/internal/store"
)

// Store is the persistence SCEP needs: its own objects (RA, pending
// transactions) and read access to the inventory by serial and thumbprint.
type Store interface {
	GetProtocolObject(ctx context.Context, kind, id string) (*store.ProtocolObject, error)
	GetCertificate(ctx context.Context, serial string) (*store.Certificate, error)
	GetCertificateBySHA256(ctx context.Context, sha256 string) (*store.Certificate, error)
	Update(ctx context.Context, fn func(tx store.Tx) error) error
}

// Issuance is the part of the issuance service SCEP uses.
type Issuance interface {
	Enroll(ctx context.Context, in issuance.EnrollInput) (*issuance.Issued, error)
	Renew(ctx context.Context, serial string, in issuance.RenewInput) (*issuance.Issued, error)
	GetRequest(ctx context.Context, id string) (*store.Request, error)
	GetCertificate(ctx context.Context, serial string) (*store.Certificate, error)
}

// Profiles resolves the profile a SCEP URL names.
type Profiles interface {
	Resolve(ctx context.Context, ref string) (*profile.Resolved, error)
}

// CAs gives a profile's CA, whose key certifies the RA.
type CAs interface {
	Issuer(ctx context.Context, id string) (*ca.Issuer, error)
}

// Secrets checks challenge passwords (enrollsecret.Service).
type Secrets interface {
	Consume(ctx context.Context, token string, use enrollsecret.Use) (*enrollsecret.Used, error)
	Release(ctx context.Context, id, usedFor string) error
	CheckStatic(ctx context.Context, profileID, protocol, value string) (bool, error)
}

// Sealer encrypts the RA key at rest like CA keys (keystore.Sealer).
type Sealer interface {
	Seal(key crypto.Signer, keyID string) ([]byte, error)
	Open(blob []byte, keyID string) (crypto.Signer, error)
}

// Recorder puts the RA certificate into the inventory (issuance.Service).
type Recorder interface {
	RecordServerCertificate(ctx context.Context, caID, purpose string, der []byte) error
}

// CRLs serves a CA's newest CRL (revocation.Service).
type CRLs interface {
	CRL(ctx context.Context, caRef string, delta bool) (*store.CRL, error)
}

// Auditor records refused requests (audit.Service).
type Auditor interface {
	RecordRefusal(ctx context.Context, r audit.Refusal) error
}

// Deps are the service's collaborators.
type Deps struct {
	Store    Store
	Issuance Issuance
	Profiles Profiles
	CAs      CAs
	Secrets  Secrets
	Sealer   Sealer
	Recorder Recorder
	CRLs     CRLs
	Audit    Auditor // nil: refusals are only logged
}

// Config tunes the server.
type Config struct {
	Now    func() time.Time
	Logger *slog.Logger
}

// Service is the SCEP server, an http.Handler for /scep/.
type Service struct {
	d   Deps
	cfg Config
	log *slog.Logger

	mu   sync.Mutex
	raMu sync.Mutex         // serialises RA creation on this node
	ras  map[string]*raPair // by CA id
}

// New returns the SCEP service.
func New(d Deps, cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return time.Now().UTC() }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{d: d, cfg: cfg, log: cfg.Logger, ras: map[string]*raPair{}}
}

// PathPrefix is where SCEP lives.
const PathPrefix = "/scep/"

// Method is the enrollment method SCEP requests carry.
const Method = "scep"

// capabilities are GetCACaps' answer (RFC 8894 section 3.5.2).
const capabilities = "POSTPKIOperation\nRenewal\nSHA-256\nSHA-512\nAES\nSCEPStandard\n"

// maxMessage bounds a pkiMessage: a CSR in two PKCS#7 layers.
const maxMessage = 256 << 10

// ServeHTTP dispatches /scep/{profile}?operation=...
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, _ := strings.CutPrefix(r.URL.Path, PathPrefix)
	label, _, _ := strings.Cut(rest, "/")
	prof, err := s.profile(r.Context(), label)
	if err != nil {
		s.httpError(w, r, err)
		return
	}
	op := r.URL.Query().Get("operation")
	switch {
	case op == "GetCACaps" && r.Method == http.MethodGet:
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, capabilities)
	case op == "GetCACert" && r.Method == http.MethodGet:
		err = s.caCert(w, r, prof)
	case op == "PKIOperation":
		err = s.pkiOperation(w, r, prof)
	default:
		err = httpErr(http.StatusBadRequest, "unknown operation (GetCACaps, GetCACert, PKIOperation)")
	}
	if err != nil {
		s.httpError(w, r, err)
	}
}

// httpError is an HTTP-level refusal: what cannot be a CertRep (an unknown
// profile or operation, a message too broken to answer).
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func httpErr(status int, msg string) error { return &httpError{status: status, msg: msg} }

func (s *Service) httpError(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusInternalServerError, "internal error"
	var he *httpError
	var me *malformedError
	switch {
	case errors.As(err, &he):
		status, msg = he.status, he.msg
	case errors.As(err, &me):
		status, msg = http.StatusBadRequest, me.msg
	case problem.KindOf(err) == problem.KindNotFound:
		status, msg = http.StatusNotFound, problem.As(err).Message
	}
	if status >= 500 {
		s.log.ErrorContext(r.Context(), "SCEP request failed", "path", r.URL.Path, "err", err)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg+"\n")
}

// profile resolves a label to an active profile that allows SCEP.
func (s *Service) profile(ctx context.Context, label string) (*profile.Resolved, error) {
	if label == "" {
		return nil, httpErr(http.StatusNotFound, "name a profile: /scep/{profile}")
	}
	prof, err := profile.ResolveOffered(ctx, s.d.Profiles, label, Method)
	if problem.KindOf(err) == problem.KindNotFound {
		return nil, httpErr(http.StatusNotFound, "no SCEP service for this profile")
	}
	return prof, err
}

// caCert answers the RA certificate and the CA chain as a degenerate
// PKCS#7 (RFC 8894 section 4.2.1.2), RA first: clients encrypt to the
// certificate with keyEncipherment, the RA's.
func (s *Service) caCert(w http.ResponseWriter, r *http.Request, prof *profile.Resolved) error {
	iss, err := s.d.CAs.Issuer(r.Context(), prof.Profile.CAID)
	if err != nil {
		return err
	}
	ra, err := s.ra(r.Context(), iss)
	if err != nil {
		return err
	}
	ders := [][]byte{ra.cert.Raw}
	for _, c := range iss.Chain {
		ders = append(ders, c.Raw)
	}
	p7, err := certutil.EncodePKCS7(ders...)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-x509-ca-ra-cert")
	_, _ = w.Write(p7)
	return nil
}

// readMessage takes the pkiMessage from a POST body or a GET's base64
// "message" parameter.
func readMessage(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	switch r.Method {
	case http.MethodPost:
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxMessage))
		if err != nil {
			return nil, httpErr(http.StatusRequestEntityTooLarge, "the pkiMessage is too large or unreadable")
		}
		return b, nil
	case http.MethodGet:
		m := r.URL.Query().Get("message")
		if len(m) > maxMessage*4/3+4 {
			return nil, httpErr(http.StatusRequestEntityTooLarge, "the pkiMessage is too large")
		}
		// A client that did not escape '+' sends it as a space.
		m = strings.ReplaceAll(m, " ", "+")
		b, err := base64.StdEncoding.DecodeString(m)
		if err != nil {
			return nil, httpErr(http.StatusBadRequest, "the message parameter is not base64")
		}
		return b, nil
	default:
		return nil, httpErr(http.StatusMethodNotAllowed, "PKIOperation takes GET or POST")
	}
}

// pkiOperation answers a pkiMessage with a signed CertRep.
func (s *Service) pkiOperation(w http.ResponseWriter, r *http.Request, prof *profile.Resolved) error {
	body, err := readMessage(w, r)
	if err != nil {
		return err
	}
	iss, err := s.d.CAs.Issuer(r.Context(), prof.Profile.CAID)
	if err != nil {
		return err
	}
	ra, err := s.ra(r.Context(), iss)
	if err != nil {
		return err
	}
	req, err := parseRequest(body)
	if err != nil {
		return err
	}
	rep, err := s.handle(r, prof, iss, ra, req)
	if err != nil {
		return err
	}
	out, err := rep.sign(req, ra)
	if err != nil && rep.status == statusSuccess {
		// The requester's certificate cannot receive an envelope (not RSA).
		s.log.InfoContext(r.Context(), "SCEP reply cannot be encrypted to the requester", "err", err)
		rep = fail(failBadAlg)
		out, err = rep.sign(req, ra)
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-pki-message")
	_, _ = w.Write(out)
	return nil
}

func fail(info string) *certRep { return &certRep{status: statusFailure, failInfo: info} }
