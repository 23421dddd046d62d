// Package notary serves the Canonical Notary API (certificate requests,
// certificate authorities, login and accounts) over Signet's services, so
// that Notary's clients of both generations work against Signet: the seed's
// {"result": ...} envelope and current Notary's {"data": ..., "message": ...}
// are written together. It adds no business logic: every certificate is
// made, imported or revoked by the issuance service, with its policy and
// audit; only the Notary CSR records (which exist before any CA is chosen)
// are this package's own state, kept in the store's protocol objects.
package notary

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/compat"
	"github.com/signet-pki/signet/internal/issuance"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// Method is the enrollment method Notary signings arrive by; a profile must
// list it to sign through this API.
const Method = "notary"

// CookieName is where current Notary keeps the session token.
const CookieName = "user_token"

// maxBody bounds every request body (a CSR or a certificate chain).
const maxBody = 256 << 10

// Issuance is the part of the issuance service this API drives.
type Issuance interface {
	Enroll(ctx context.Context, in issuance.EnrollInput) (*issuance.Issued, error)
	GetCertificate(ctx context.Context, serial string) (*store.Certificate, error)
	GetRequest(ctx context.Context, id string) (*store.Request, error)
	Download(ctx context.Context, serial, format string) (*issuance.Download, error)
	Import(ctx context.Context, in issuance.ImportInput) (*issuance.ImportResult, error)
	Revoke(ctx context.Context, serial string, reason int, invalidity *time.Time) (*store.Certificate, error)
}

// CAs lists certificate authorities and their chains.
type CAs interface {
	List(ctx context.Context, q store.ListQuery) ([]store.CA, string, error)
	Chain(ctx context.Context, ref string) ([]*x509.Certificate, error)
}

// Profiles finds the profile a CA signs Notary requests under.
type Profiles interface {
	ListProfiles(ctx context.Context, q store.ListQuery) ([]store.Profile, string, error)
}

// CRLs returns a CA's published CRL.
type CRLs interface {
	CRL(ctx context.Context, caRef string, delta bool) (*store.CRL, error)
}

// Directory logs users in and manages accounts.
type Directory interface {
	Login(ctx context.Context, keys *auth.APIKeys, username, password, sourceIP string) (*auth.Session, error)
	Principal(ctx context.Context, ref string) (*store.Principal, error)
	CreatePrincipal(ctx context.Context, in auth.NewPrincipal) (*store.Principal, error)
	ListOrganizations(ctx context.Context, q store.ListQuery) ([]store.Organization, string, error)
}

// Objects is the protocol-object part of the store, where Notary's CSR
// records live.
type Objects interface {
	GetProtocolObject(ctx context.Context, kind, id string) (*store.ProtocolObject, error)
	ListProtocolObjects(ctx context.Context, kind, accountID string, limit int, cursor string) ([]store.ProtocolObject, string, error)
	Update(ctx context.Context, fn func(tx store.Tx) error) error
}

// Deps are the services the API is built over.
type Deps struct {
	Audit     compat.Refusals // nil: refusals are not audited (tests of the handler alone)
	Store     Objects
	Issuance  Issuance
	CAs       CAs
	Profiles  Profiles
	CRLs      CRLs
	Directory Directory
	Keys      *auth.APIKeys
	Now       func() time.Time
	Logger    *slog.Logger
	Version   string // reported by GET /status
}

// Handler is the Notary API, served from the root ("/api/v1/...", "/login").
type Handler struct {
	d    Deps
	mux  *compat.Mux
	gate compat.Gate
}

// New builds the handler.
func New(d Deps) *Handler {
	if d.Now == nil {
		d.Now = func() time.Time { return time.Now().UTC() }
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Version == "" {
		d.Version = "signet"
	}
	h := &Handler{d: d, mux: &compat.Mux{}}
	h.gate = compat.Gate{MaxBody: maxBody, Authenticate: h.authenticate, Fail: h.fail, Audit: d.Audit, Logger: d.Logger}
	h.routes()
	return h
}

func (h *Handler) routes() {
	public := func(pattern string, fn compat.HandlerFunc) { h.mux.HandleFunc(pattern, h.gate.Serve(fn, false)) }
	authed := func(pattern string, fn compat.HandlerFunc) { h.mux.HandleFunc(pattern, h.gate.Serve(fn, true)) }
	public("GET /status", h.status)
	public("POST /login", h.login)
	public("POST /logout", h.logout)
	authed("GET /api/v1/accounts/me", h.me)
	authed("POST /api/v1/accounts", h.createAccount)
	authed("GET /api/v1/certificate_authorities", h.listCAs)
	authed("GET /api/v1/certificate_authorities/{id}", h.getCA)
	public("GET /api/v1/certificate_authorities/{id}/crl", h.getCRL)
	authed("GET /api/v1/certificate_requests", h.listRequests)
	authed("POST /api/v1/certificate_requests", h.createRequest)
	authed("GET /api/v1/certificate_requests/{id}", h.getRequest)
	authed("DELETE /api/v1/certificate_requests/{id}", h.deleteRequest)
	authed("POST /api/v1/certificate_requests/{id}/certificate", h.uploadCertificate)
	authed("DELETE /api/v1/certificate_requests/{id}/certificate", h.deleteCertificate)
	authed("POST /api/v1/certificate_requests/{id}/reject", h.reject)
	authed("POST /api/v1/certificate_requests/{id}/sign", h.sign)
	authed("POST /api/v1/certificate_requests/{id}/certificate/revoke", h.revoke)
	// Unknown paths and methods get Notary's JSON error, not ServeMux's text.
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if h.otherMethod(r) {
			writeError(w, http.StatusMethodNotAllowed, "method not allowed")
			return
		}
		writeError(w, http.StatusNotFound, "not found")
	})
}

// otherMethod reports whether the path is served for another method.
func (h *Handler) otherMethod(r *http.Request) bool {
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := h.mux.Handler(probe); pattern != "/" {
			return true
		}
	}
	return false
}

// ServeHTTP implements http.Handler.
// Patterns lists the API's routes (method and path), for tests that drive them all.
func (h *Handler) Patterns() []string { return h.mux.Patterns() }

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// authenticate accepts the session token (or a Signet API key) from the
// user_token cookie or an Authorization: Bearer header.
func (h *Handler) authenticate(r *http.Request) (*auth.Principal, error) {
	token := ""
	if v := r.Header.Get("Authorization"); v != "" {
		scheme, rest, ok := strings.Cut(v, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return nil, problem.Unauthorized("unauthorized", "unauthorized")
		}
		token = strings.TrimSpace(rest)
	} else if c, err := r.Cookie(CookieName); err == nil {
		token = c.Value
	}
	if token == "" {
		return nil, problem.Unauthorized("unauthorized", "unauthorized")
	}
	p, err := h.d.Keys.Authenticate(r.Context(), token)
	if err != nil {
		return nil, err
	}
	p.SourceIP = auth.SourceIP(r)
	return p, nil
}

// envelope carries a payload under both generations' keys: the seed's
// "result" and current Notary's "data".
type envelope struct {
	Result  any    `json:"result"`
	Data    any    `json:"data"`
	Message string `json:"message,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, payload any) {
	writeEnvelope(w, status, payload, payload)
}

// writeEnvelope answers where the generations' payloads differ: the seed's
// result and current Notary's data.
func writeEnvelope(w http.ResponseWriter, status int, result, data any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(envelope{Result: result, Data: data})
}

// created answers a creation: the seed's {"message": "success", "id": N}
// in result, current Notary's {"id": N} in data.
func created(w http.ResponseWriter, id int64) {
	writeEnvelope(w, http.StatusCreated, success(&id), map[string]int64{"id": id})
}

// success is the seed's write answer: {"message": "success"} plus the id when one was made.
func success(id *int64) map[string]any {
	m := map[string]any{"message": "success"}
	if id != nil {
		m["id"] = *id
	}
	return m
}

// writeError renders Notary's error body: the seed's {"error": ...} and
// current Notary's {"message": ...}, with the status code.
func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg, "message": msg})
}

// fail maps a domain error to Notary's status and message. Internal
// failures are logged and answered without detail.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, pe := compat.Classify(err)
	var msg string
	switch {
	case status == http.StatusInternalServerError:
		h.d.Logger.ErrorContext(r.Context(), "notary API failure", "err", err, "method", r.Method, "path", r.URL.Path)
		msg = "internal server error"
	case pe == nil && status == http.StatusRequestEntityTooLarge:
		msg = "request body too large"
	case pe == nil:
		msg = "service unavailable"
	case pe.Kind == problem.KindInvalid:
		msg = "invalid request: " + pe.Message
	case pe.Kind == problem.KindNotFound:
		msg = "not found"
	case pe.Kind == problem.KindUnauthorized:
		msg = "unauthorized"
	case pe.Kind == problem.KindForbidden:
		msg = "forbidden: " + pe.Message
	default:
		msg = pe.Message
	}
	writeError(w, status, msg+compat.Violations(pe))
}

// decode reads a JSON body into v; a body that is not JSON is Notary's
// "invalid JSON format".
func decode(r *http.Request, v any) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return problem.Invalid("invalid_json", "invalid JSON format")
	}
	return nil
}

// profileFor picks the profile a CA signs Notary requests under: the
// first (by name) active profile of that CA listing the notary method.
func (h *Handler) profileFor(ctx context.Context, caID string) (*store.Profile, error) {
	best, err := compat.ProfileOfCA(ctx, h.d.Profiles, caID, Method)
	if err != nil {
		return nil, err
	}
	if best == nil {
		return nil, problem.Invalid("no_notary_profile", "no active profile of this certificate authority allows enrollment over %q", Method)
	}
	return best, nil
}
