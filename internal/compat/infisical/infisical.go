// Package infisical serves the part of Infisical's API that its PKI clients
// call (universal-auth login, status, and the certificate endpoints: sign a
// CSR, issue without one, renew, revoke, get), over Signet's services. An
// Infisical certificate template or certificate profile is a Signet profile,
// an Infisical CA is a Signet CA, and a machine identity's client id and
// secret are the two halves of a Signet API key. It adds no business logic:
// every certificate is issued, renewed or revoked by the issuance service,
// under the profile's template, approval rule, lint and audit.
package infisical

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/compat"
	"github.com/signet-pki/signet/internal/issuance"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// Method is the enrollment method requests through this API arrive by; a
// profile must list it.
const Method = "infisical"

// AccessTokenTTL is how long a universal-auth access token lives: a Signet
// session's lifetime.
const AccessTokenTTL = auth.SessionLifetime

// maxBody bounds every request body.
const maxBody = 256 << 10

// Issuance is the part of the issuance service this API drives.
type Issuance interface {
	Enroll(ctx context.Context, in issuance.EnrollInput) (*issuance.Issued, error)
	Renew(ctx context.Context, serial string, in issuance.RenewInput) (*issuance.Issued, error)
	Revoke(ctx context.Context, serial string, reason int, invalidity *time.Time) (*store.Certificate, error)
	Suspend(ctx context.Context, serial string) (*store.Certificate, error)
	GetCertificate(ctx context.Context, serial string) (*store.Certificate, error)
	GetRequest(ctx context.Context, id string) (*store.Request, error)
	Download(ctx context.Context, serial, format string) (*issuance.Download, error)
}

// Profiles resolves templates/profiles and finds a CA's profile.
type Profiles interface {
	GetProfile(ctx context.Context, ref string) (*store.Profile, error)
	ListProfiles(ctx context.Context, q store.ListQuery) ([]store.Profile, string, error)
}

// CAs resolves CA references and chains.
type CAs interface {
	Get(ctx context.Context, ref string) (*store.CA, error)
}

// Keys authenticates client credentials and access tokens, and mints tokens.
type Keys interface {
	Authenticate(ctx context.Context, token string) (*auth.Principal, error)
	Create(ctx context.Context, in auth.NewKey) (*store.APIKey, string, error)
}

// Deps are the services the API is built over.
type Deps struct {
	Audit    compat.Refusals // nil: refusals are not audited (tests of the handler alone)
	Issuance Issuance
	Profiles Profiles
	CAs      CAs
	Keys     Keys
	Now      func() time.Time
	Logger   *slog.Logger
}

// Handler is the Infisical API, served from the root ("/api/...").
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
	h := &Handler{d: d, mux: &compat.Mux{}}
	h.gate = compat.Gate{MaxBody: maxBody, Authenticate: h.authenticate, Fail: h.fail, Audit: d.Audit, Logger: d.Logger}
	public := func(pattern string, fn compat.HandlerFunc) { h.mux.HandleFunc(pattern, h.gate.Serve(fn, false)) }
	authed := func(pattern string, fn compat.HandlerFunc) { h.mux.HandleFunc(pattern, h.gate.Serve(fn, true)) }
	public("GET /api/status", h.status)
	public("POST /api/v1/auth/universal-auth/login", h.login)
	for _, v := range []string{"v1", "v2", "v3"} {
		authed("POST /api/"+v+"/pki/certificates/sign-certificate", h.sign)
		authed("POST /api/"+v+"/pki/certificates/issue-certificate", h.issue)
		authed("POST /api/"+v+"/pki/certificates/{id}/renew", h.renew)
	}
	for _, base := range []string{"/api/v1/pki/certificates", "/api/v1/cert-manager/certificates"} {
		authed("GET "+base+"/{serialNumber}", h.get)
		authed("GET "+base+"/{serialNumber}/certificate", h.body)
		authed("POST "+base+"/{serialNumber}/revoke", h.revoke)
	}
	// Current Infisical's profile-based issue and renew.
	authed("POST /api/v1/cert-manager/certificates", h.createCertificate)
	authed("POST /api/v1/cert-manager/certificates/{id}/renew", h.renewCurrent)
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("Route %s:%s not found", r.Method, r.URL.Path))
	})
	return h
}

// ServeHTTP implements http.Handler.
// Patterns lists the API's routes (method and path), for tests that drive them all.
func (h *Handler) Patterns() []string { return h.mux.Patterns() }

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// authenticate takes an access token (or any Signet API key) as a bearer.
func (h *Handler) authenticate(r *http.Request) (*auth.Principal, error) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return nil, problem.Unauthorized("token_missing", "Failed to authenticate: no access token")
	}
	p, err := h.d.Keys.Authenticate(r.Context(), strings.TrimSpace(token))
	if err != nil {
		return nil, err
	}
	p.SourceIP = auth.SourceIP(r)
	return p, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// errorNames are the "error" values Infisical's error handler sends.
var errorNames = map[int]string{
	http.StatusBadRequest:            "BadRequest",
	http.StatusUnauthorized:          "UnauthorizedError",
	http.StatusForbidden:             "PermissionDenied",
	http.StatusNotFound:              "NotFound",
	http.StatusRequestEntityTooLarge: "PayloadTooLarge",
	http.StatusServiceUnavailable:    "ServiceUnavailable",
	http.StatusInternalServerError:   "InternalServerError",
}

// writeError renders Infisical's error body: reqId, statusCode, message, error.
func writeError(w http.ResponseWriter, status int, msg string) {
	var b [8]byte
	_, _ = rand.Read(b[:])
	writeJSON(w, status, map[string]any{"reqId": "req-" + hex.EncodeToString(b[:]), "statusCode": status,
		"message": msg, "error": errorNames[status]})
}

// fail renders an error in Infisical's format; internal failures are
// logged and answered without detail.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, pe := compat.Classify(err)
	var msg string
	switch {
	case status == http.StatusInternalServerError:
		h.d.Logger.ErrorContext(r.Context(), "infisical API failure", "err", err, "method", r.Method, "path", r.URL.Path)
		msg = "Something went wrong"
	case pe != nil:
		msg = pe.Message + compat.Violations(pe)
	case status == http.StatusRequestEntityTooLarge:
		msg = "Request body is too large"
	default:
		msg = "Service unavailable"
	}
	writeError(w, status, msg)
}

// decode reads a JSON body, or a form body when the client sends one
// (universal-auth login accepts both). Form values land in string fields.
func decode(r *http.Request, v any) error {
	return decodeBody(r, v, false)
}

// decodeOptional is decode for bodies a client may leave out (renew, revoke).
func decodeOptional(r *http.Request, v any) error {
	return decodeBody(r, v, true)
}

func decodeBody(r *http.Request, v any, optional bool) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	if optional && len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/x-www-form-urlencoded" {
		form, err := url.ParseQuery(string(b))
		if err != nil {
			return problem.Invalid("body_invalid", "The request body is not a valid form")
		}
		m := map[string]string{}
		for k := range form {
			m[k] = form.Get(k)
		}
		if b, err = json.Marshal(m); err != nil {
			return fmt.Errorf("re-encode form: %w", err)
		}
	}
	if err := json.Unmarshal(b, v); err != nil {
		return problem.Invalid("body_invalid", "The request body is not valid JSON: %v", err)
	}
	return nil
}

func (h *Handler) status(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]any{"date": h.d.Now().UTC().Format(time.RFC3339Nano), "message": "Ok",
		"emailConfigured": false, "inviteOnlySignup": false, "redisConfigured": false, "secretScanningConfigured": false})
	return nil
}

// login is universal auth. A Signet API key "sgt_<id>.<secret>" is the
// client id "sgt_<id>" and the client secret "<secret>"; a whole key as the
// secret works too (operator-chosen keys have no id part). The access token
// is a fresh session key of the same principal, with the same roles.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		ClientID     string `json:"clientId"`
		ClientSecret string `json:"clientSecret"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.ClientID == "" || in.ClientSecret == "" {
		return problem.Invalid("credentials_required", "clientId and clientSecret are required")
	}
	ctx := r.Context()
	id := in.ClientID
	if rest, ok := strings.CutPrefix(id, "key_"); ok {
		id = "sgt_" + rest
	}
	p, err := h.d.Keys.Authenticate(ctx, id+"."+in.ClientSecret)
	if problem.KindOf(err) == problem.KindUnauthorized {
		p, err = h.d.Keys.Authenticate(ctx, in.ClientSecret)
	}
	if problem.KindOf(err) == problem.KindUnauthorized {
		bad := problem.Unauthorized("invalid_credentials", "Invalid credentials")
		h.gate.Refused(r, nil, bad)
		return bad
	}
	if err != nil {
		return err
	}
	p.SourceIP = auth.SourceIP(r)
	exp := h.d.Now().Add(AccessTokenTTL)
	_, token, err := h.d.Keys.Create(auth.WithPrincipal(ctx, p), auth.NewKey{Name: "session", Roles: p.Roles, ExpiresAt: &exp})
	if err != nil {
		return err
	}
	secs := int64(AccessTokenTTL / time.Second)
	writeJSON(w, http.StatusOK, map[string]any{"accessToken": token, "expiresIn": secs, "accessTokenMaxTTL": secs, "tokenType": "Bearer"})
	return nil
}

// profileFor resolves what a request names: a template or profile id (a
// Signet profile), or a CA, whose first active profile (by name) allowing
// this API is used.
func (h *Handler) profileFor(ctx context.Context, profileRef, caRef string) (*store.Profile, error) {
	if profileRef != "" {
		p, err := h.d.Profiles.GetProfile(ctx, profileRef)
		if err != nil {
			return nil, err
		}
		return p, nil
	}
	if caRef == "" {
		return nil, problem.Invalid("issuer_required", "Please provide either a caId, a certificateTemplateId or a profileId")
	}
	ca, err := h.d.CAs.Get(ctx, caRef)
	if err != nil {
		return nil, err
	}
	best, err := compat.ProfileOfCA(ctx, h.d.Profiles, ca.ID, Method)
	if err != nil {
		return nil, err
	}
	if best == nil {
		return nil, problem.Invalid("no_infisical_profile", "No active profile of CA %s allows enrollment over %q", ca.Name, Method)
	}
	return best, nil
}
