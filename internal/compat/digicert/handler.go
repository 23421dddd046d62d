// Package digicert serves the DigiCert ONE Enterprise PKI Manager (mPKI) /
// Trust Lifecycle Manager REST API (/mpki/api/v1/...) over Signet's own
// services, so that scripts and clients written for that API work against
// Signet with only the base URL and the credential changed.
//
// It is a thin adapter: profiles are Signet profiles, certificates are
// issued, renewed, revoked and resumed by the issuance service (policy,
// audit, inventory, CRL and OCSP included), and the audit log is Signet's.
// The only state of its own is what the vendor's model has and Signet's
// does not: seats (the owner identities certificates are issued to) and
// enrollment codes, kept as protocol objects of kinds "digicert.*".
package digicert

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/audit"
	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/ca"
	"github.com/signet-pki/signet/internal/compat"
	"github.com/signet-pki/signet/internal/inventory"
	"github.com/signet-pki/signet/internal/issuance"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/profile"
	"github.com/signet-pki/signet/internal/store"
)

// KeyAuthenticator turns an API key (the x-api-key header) into a principal.
type KeyAuthenticator interface {
	Authenticate(ctx context.Context, token string) (*auth.Principal, error)
}

// CertAuthenticator turns a verified TLS client certificate into a principal.
type CertAuthenticator interface {
	Authenticate(ctx context.Context, leaf *x509.Certificate) (*auth.Principal, error)
}

// Objects is the protocol-object storage this API keeps seats and
// enrollments in.
type Objects interface {
	GetProtocolObject(ctx context.Context, kind, id string) (*store.ProtocolObject, error)
	FindProtocolObject(ctx context.Context, kind, keyID string) (*store.ProtocolObject, error)
	ListProtocolObjects(ctx context.Context, kind, accountID string, limit int, cursor string) ([]store.ProtocolObject, string, error)
	Update(ctx context.Context, fn func(tx store.Tx) error) error
}

// Deps are the services the API adapts.
type Deps struct {
	Issuance    *issuance.Service
	Profiles    *profile.Service
	CAs         *ca.Service
	Inventory   *inventory.Service
	Audit       *audit.Service
	Directory   *auth.Directory
	Keys        KeyAuthenticator
	ClientCerts CertAuthenticator // nil: no client-certificate authentication
	Objects     Objects
	// Ready reports the node's health for /health/extensive (nil: always up).
	Ready  func(ctx context.Context) error
	Now    func() time.Time
	Logger *slog.Logger
}

// Handler serves the mPKI API from the root ("/mpki/api/v1/...").
type Handler struct {
	d     Deps
	mux   *compat.Mux
	tries *attempts // wrong enrollment codes per principal
}

// maxBody bounds every request body (the server applies the same bound
// before this handler; this one holds when the handler is used alone).
const maxBody = 1 << 20

// New builds the handler.
func New(d Deps) *Handler {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = func() time.Time { return time.Now().UTC() }
	}
	h := &Handler{d: d, mux: &compat.Mux{}, tries: newAttempts()}
	h.routes()
	return h
}

type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (h *Handler) routes() {
	const v1 = "/mpki/api/v1"
	pub := func(pattern string, fn handlerFunc) { h.mux.Handle(pattern, h.handle(fn, false)) }
	authd := func(pattern string, fn handlerFunc) { h.mux.Handle(pattern, h.handle(fn, true)) }

	pub("GET "+v1+"/hello", h.hello)
	authd("GET "+v1+"/health/extensive", h.health)

	authd("GET "+v1+"/profile", h.listProfiles)
	authd("GET /mpki/api/v2/profile", h.listProfiles)
	authd("GET "+v1+"/profile/{profile_id}", h.getProfile)

	authd("POST "+v1+"/certificate", h.issue)
	authd("GET "+v1+"/certificate-pickup/{request_id}", h.pickup)
	authd("POST "+v1+"/certificate-pickup/{request_id}", h.pickup)
	authd("GET "+v1+"/certificate/{serial_number}", h.getCertificate)
	authd("GET "+v1+"/certificate/{serial_number}/additional-formats", h.additionalFormats)
	authd("POST "+v1+"/certificate/{serial_number}/renew", h.renew)
	authd("PUT "+v1+"/certificate/{serial_number}/revoke", h.revoke)
	authd("DELETE "+v1+"/certificate/{serial_number}/revoke", h.resume)
	authd("GET "+v1+"/certificate-search", h.search)
	authd("POST "+v1+"/certificate-import", h.importCertificates)

	authd("POST "+v1+"/seat", h.createSeat)
	authd("GET "+v1+"/seat/{seat_id}", h.getSeat)
	authd("PUT "+v1+"/seat/{seat_id}", h.updateSeat)
	authd("DELETE "+v1+"/seat/{seat_id}", h.deleteSeat)
	authd("GET "+v1+"/seat-types", h.seatTypes)

	authd("POST "+v1+"/enrollment", h.createEnrollment)
	authd("POST "+v1+"/enrollment/redeem", h.redeemEnrollment)
	authd("GET "+v1+"/enrollment/{enrollmentCode}", h.getEnrollmentByCode)
	authd("GET "+v1+"/enrollment-details/{$}", h.listEnrollments)
	authd("GET "+v1+"/enrollment-details", h.listEnrollments)
	authd("GET "+v1+"/enrollment-details/{identifier}", h.getEnrollment)
	authd("GET "+v1+"/report/enrollment-code", h.enrollmentReport)

	authd("GET "+v1+"/audit-log", h.listAudit)
	authd("GET "+v1+"/audit-log/{id}", h.getAudit)

	h.mux.HandleFunc("/", h.notFound)
}

// notFound answers paths the API does not have, and known paths asked
// with another method (405 with Allow), in the vendor's error format: the
// catch-all pattern keeps the mux from answering plain text.
func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := h.mux.Handler(probe); pattern != "/" && pattern != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		h.writeError(w, r, apiErr(http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed on "+r.URL.Path))
		return
	}
	h.writeError(w, r, apiErr(http.StatusNotFound, "not_found", "no such endpoint: "+r.Method+" "+r.URL.Path))
}

// ServeHTTP serves the vendor paths.
// Patterns lists the API's routes (method and path), for tests that drive them all.
func (h *Handler) Patterns() []string { return h.mux.Patterns() }

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mux.ServeHTTP(w, r)
}

// handle authenticates (x-api-key or client certificate), checks the
// content negotiation the API documents (JSON only), limits the body and
// renders every error in the vendor's format.
func (h *Handler) handle(fn handlerFunc, authenticate bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if !acceptsJSON(r.Header.Get("Accept")) && !strings.HasSuffix(r.URL.Path, "/hello") && !strings.HasSuffix(r.URL.Path, "/health/extensive") {
			h.writeError(w, r, apiErr(http.StatusNotAcceptable, "not_acceptable", "this API answers application/json only"))
			return
		}
		if authenticate {
			p, err := h.authenticate(r)
			if err != nil {
				h.refused(r, nil, err)
				h.writeError(w, r, err)
				return
			}
			r = r.WithContext(auth.WithPrincipal(r.Context(), p))
		}
		if err := fn(w, r); err != nil {
			if authenticate {
				h.refused(r, auth.PrincipalFrom(r.Context()), err)
			}
			h.writeError(w, r, err)
		}
	})
}

// authenticate maps x-api-key to a Signet API key, or (with no key) a
// verified client certificate to its owner, as DigiCert's clientauth host does.
func (h *Handler) authenticate(r *http.Request) (*auth.Principal, error) {
	key := strings.TrimSpace(r.Header.Get("x-api-key"))
	leaf := auth.ClientCertificate(r)
	var (
		p   *auth.Principal
		err error
	)
	switch {
	case key != "":
		p, err = h.d.Keys.Authenticate(r.Context(), key)
	case leaf != nil && h.d.ClientCerts != nil:
		p, err = h.d.ClientCerts.Authenticate(r.Context(), leaf)
	default:
		return nil, apiErr(http.StatusUnauthorized, "unauthorized", "an API key is required: send it in the x-api-key header")
	}
	if err != nil {
		if problem.KindOf(err) == problem.KindUnauthorized {
			return nil, apiErr(http.StatusUnauthorized, "unauthorized", "the API key or client certificate is invalid, expired or revoked")
		}
		return nil, err
	}
	p.SourceIP = auth.SourceIP(r)
	return p, nil
}

// refused audits requests refused for want of authentication or
// permission, as the native API does: every failed authorization is an event.
// A principal locked out of enrollment codes (429) is one too.
func (h *Handler) refused(r *http.Request, p *auth.Principal, err error) {
	if h.d.Audit == nil {
		return
	}
	pe := problem.As(err)
	if pe == nil {
		var ae *apiError
		if !errors.As(err, &ae) || (ae.status != http.StatusUnauthorized && ae.status != http.StatusForbidden &&
			ae.status != http.StatusTooManyRequests) {
			return
		}
		kind := problem.KindUnauthorized
		if ae.status != http.StatusUnauthorized {
			kind = problem.KindForbidden
		}
		pe = problem.New(kind, ae.Code, "%s", ae.Message)
	}
	if pe.Kind != problem.KindUnauthorized && pe.Kind != problem.KindForbidden {
		return
	}
	if err := h.d.Audit.RecordRefusal(r.Context(), audit.Refusal{Principal: p, SourceIP: auth.SourceIP(r), Method: r.Method,
		Path: r.URL.Path, Err: pe}); err != nil {
		h.d.Logger.WarnContext(r.Context(), "could not audit a refused request", "err", err)
	}
}

// acceptsJSON reports whether an Accept header admits application/json.
func acceptsJSON(accept string) bool {
	if strings.TrimSpace(accept) == "" {
		return true
	}
	for _, part := range strings.Split(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		if mt == "*/*" || mt == "application/*" || mt == "application/json" {
			return true
		}
	}
	return false
}

// decode reads a JSON body into v. Unknown fields are accepted: clients send
// options Signet has no use for (include_ca_chain, custom_attributes, ...).
func decode(r *http.Request, v any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return apiErr(http.StatusRequestEntityTooLarge, "request_too_large", "the request body is too large")
		}
		return apiErr(http.StatusBadRequest, "invalid_input", "could not read the request body")
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return apiErr(http.StatusBadRequest, "invalid_input", "a JSON request body is required")
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return fieldErr(te.Field, "invalid_input", "%s must be a JSON %s", te.Field, jsonKind(te.Type.Kind().String()))
		}
		return apiErr(http.StatusBadRequest, "invalid_input", "the request body is not valid JSON")
	}
	return nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	case "struct", "map":
		return "object"
	default:
		return "number"
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	// The status is sent: a failed write means the client went away, and
	// there is nothing left to tell it.
	_ = json.NewEncoder(w).Encode(v)
	return nil
}

// hello is the unauthenticated liveness probe; it answers the fixed text
// DigiCert's OpenAPI document gives.
func (h *Handler) hello(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/plain;charset=utf-8")
	_, err := io.WriteString(w, "Hello from DigiCert ONE - Enterprise PKI Manager REST API!")
	return err
}

// health answers UP, or DOWN with 500 when the store or CA keys are not ready.
func (h *Handler) health(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/plain;charset=utf-8")
	if h.d.Ready != nil {
		if err := h.d.Ready(r.Context()); err != nil {
			h.d.Logger.WarnContext(r.Context(), "health/extensive: not ready", "err", err)
			w.WriteHeader(http.StatusInternalServerError)
			_, err := io.WriteString(w, "DOWN")
			return err
		}
	}
	_, err := io.WriteString(w, "UP")
	return err
}
