// Package sectigo serves the Sectigo Certificate Manager REST API (SSL
// certificates, organizations, domains and domain control validation) as
// the vendor documents it, so that existing Sectigo clients work against
// Signet unchanged. It is a thin adapter: every action goes through the
// issuance, profile, directory and domain services, which check
// permissions and policy and write the audit log.
//
// Authentication is the vendor's: login / password / customerUri headers,
// where customerUri names the Signet organization, login a user or service
// account and password its password or one of its API keys; under
// /private/... the login is proven by a TLS client certificate instead.
package sectigo

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/signet-pki/signet/internal/audit"
	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/compat"
	"github.com/signet-pki/signet/internal/domain"
	"github.com/signet-pki/signet/internal/inventory"
	"github.com/signet-pki/signet/internal/issuance"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/profile"
	"github.com/signet-pki/signet/internal/store"
)

// Method is the enrollment method requests made through this API carry.
const Method = "sectigo"

// Store is the protocol-object table this API keeps its numeric-id records in.
type Store interface {
	GetProtocolObject(ctx context.Context, kind, id string) (*store.ProtocolObject, error)
	FindProtocolObject(ctx context.Context, kind, keyID string) (*store.ProtocolObject, error)
	Update(ctx context.Context, fn func(tx store.Tx) error) error
}

// Deps are the services the API adapts.
type Deps struct {
	Store       Store
	Issuance    *issuance.Service
	Profiles    *profile.Service
	Directory   *auth.Directory
	APIKeys     *auth.APIKeys
	ClientCerts *auth.ClientCerts
	Inventory   *inventory.Service
	Domains     *domain.Service
	Audit       *audit.Service // records refused requests; nil: not recorded
	Now         func() time.Time
	Logger      *slog.Logger
}

// Handler is the Sectigo API, serving the vendor's paths from the root.
type Handler struct {
	d   Deps
	log *slog.Logger
	mux *compat.Mux

	mu       sync.Mutex
	sessions map[[32]byte]session // password logins, see passwordPrincipal
}

type session struct {
	token   string
	expires time.Time
}

// New returns the API handler.
func New(d Deps) *Handler {
	if d.Now == nil {
		d.Now = func() time.Time { return time.Now().UTC() }
	}
	log := d.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{d: d, log: log, mux: &compat.Mux{}, sessions: map[[32]byte]session{}}
	h.routes()
	return h
}

// call is one authenticated request: the caller in ctx and the
// organization customerUri selected.
type call struct {
	ctx    context.Context
	p      *auth.Principal
	org    *store.Organization
	dates  dateFormat
	r      *http.Request
	prefix string // what precedes the vendor path in the client's URL (for Location headers)
}

type handlerFunc func(w http.ResponseWriter, c *call) error

// maxBody bounds every request body (CSRs, imports of up to 128 certificates).
const maxBody = 4 << 20

func (h *Handler) handle(pattern string, fn handlerFunc) {
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			// A bug must still answer in the document's format (-2), not the native one.
			if v := recover(); v != nil {
				h.log.Error("sectigo compatibility API panic", "panic", v, "path", r.URL.Path)
				writeError(w, h.log, fail(http.StatusInternalServerError, -2, "Internal error. Please contact Support for details."))
			}
		}()
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		c, err := h.authenticate(r)
		if err == nil {
			c.dates, err = parseDateFormat(r.URL.Query().Get("dateFormat"))
		}
		if err == nil {
			err = fn(w, c)
		}
		if err != nil {
			h.recordRefusal(r, c, err)
			writeError(w, h.log, err)
		}
	})
}

// recordRefusal audits a failed authentication or a denied permission, as
// the native API does; a refusal changes nothing, so it stands on its own.
func (h *Handler) recordRefusal(r *http.Request, c *call, err error) {
	if h.d.Audit == nil {
		return
	}
	ref := audit.Refusal{SourceIP: auth.SourceIP(r), Method: r.Method, Path: r.URL.Path}
	var ae *apiError
	switch {
	case errors.As(err, &ae) && ae.status == http.StatusUnauthorized:
		ref.Err = problem.Unauthorized("sectigo_login_failed", "%s", ae.Desc)
	case problem.KindOf(err) == problem.KindForbidden && c != nil:
		ref.Principal, ref.Err = c.p, problem.As(err)
	default:
		return
	}
	if aerr := h.d.Audit.RecordRefusal(r.Context(), ref); aerr != nil {
		h.log.Warn("audit a refused request", "err", aerr)
	}
}

// ServeHTTP serves the vendor paths; /private/... is the certificate-login variant.
// Patterns lists the API's routes (method and path), for tests that drive them all.
func (h *Handler) Patterns() []string { return h.mux.Patterns() }

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rest, ok := strings.CutPrefix(r.URL.Path, "/private/"); ok {
		r2 := r.Clone(context.WithValue(r.Context(), privateKey{}, true))
		r2.URL.Path = "/" + rest
		r2.URL.RawPath = ""
		r = r2
	}
	h.mux.ServeHTTP(w, r)
}

type privateKey struct{}

func (h *Handler) notFound(w http.ResponseWriter, _ *http.Request) {
	writeError(w, h.log, fail(http.StatusNotFound, -1, "Unknown error. No such resource."))
}

// authenticate checks the login, password and customerUri headers (or the
// client certificate under /private/) and returns the call.
func (h *Handler) authenticate(r *http.Request) (*call, error) {
	login, password, uri := r.Header.Get("login"), r.Header.Get("password"), r.Header.Get("customerUri")
	if uri == "" {
		return nil, errMissing("customerUri")
	}
	sys := auth.WithPrincipal(r.Context(), auth.System())
	org, err := h.d.Directory.Organization(sys, uri)
	if err != nil {
		if problem.KindOf(err) == problem.KindNotFound {
			return nil, errCustomer(uri)
		}
		return nil, err
	}
	if login == "" {
		return nil, errUnknownUser()
	}
	ip := auth.SourceIP(r)
	var p *auth.Principal
	if private, _ := r.Context().Value(privateKey{}).(bool); private {
		p, err = h.certPrincipal(r)
	} else {
		p, err = h.passwordPrincipal(r.Context(), login, password, ip)
	}
	if err != nil {
		return nil, err
	}
	if p.Name != login || !p.InOrg(org.ID) {
		return nil, errUnknownUser()
	}
	p.SourceIP = ip
	// Behind /compat/sectigo the client's URL has a prefix the handler
	// does not see; Location headers must carry it.
	reqPath, _, _ := strings.Cut(r.RequestURI, "?")
	prefix := strings.TrimSuffix(reqPath, r.URL.Path)
	return &call{ctx: auth.WithPrincipal(r.Context(), p), p: p, org: org, r: r, prefix: prefix}, nil
}

func (h *Handler) certPrincipal(r *http.Request) (*auth.Principal, error) {
	leaf := auth.ClientCertificate(r)
	if leaf == nil || h.d.ClientCerts == nil {
		return nil, errUnknownUser()
	}
	p, err := h.d.ClientCerts.Authenticate(r.Context(), leaf)
	if err != nil {
		if problem.KindOf(err) == problem.KindUnauthorized {
			return nil, errUnknownUser()
		}
		return nil, err
	}
	return p, nil
}

// sessionLifetime is how long a checked password is remembered: password
// hashing is deliberately slow, and scripts send the password every call.
const sessionLifetime = 10 * time.Minute

// passwordPrincipal accepts an API key of the login or its password. A
// password is checked by the directory's login (with its lockout and audit
// trail), which mints a session key; that key is remembered, under a hash
// of (login, password), so the next calls cost one key lookup.
func (h *Handler) passwordPrincipal(ctx context.Context, login, password, ip string) (*auth.Principal, error) {
	if password == "" {
		return nil, errUnknownUser()
	}
	if p, err := h.d.APIKeys.Authenticate(ctx, password); err == nil {
		return p, nil
	} else if problem.KindOf(err) != problem.KindUnauthorized {
		return nil, err
	}
	sum := sha256.Sum256([]byte(login + "\x00" + password))
	now := h.d.Now()
	h.mu.Lock()
	s, ok := h.sessions[sum]
	h.mu.Unlock()
	if ok && now.Before(s.expires) {
		if p, err := h.d.APIKeys.Authenticate(ctx, s.token); err == nil {
			return p, nil
		}
	}
	sess, err := h.d.Directory.Login(ctx, h.d.APIKeys, login, password, ip)
	if err != nil {
		if problem.KindOf(err) == problem.KindUnauthorized {
			return nil, errUnknownUser()
		}
		return nil, err
	}
	h.mu.Lock()
	if len(h.sessions) > 10000 {
		clear(h.sessions) // bounded: a flood of distinct logins only costs re-logins
	}
	h.sessions[sum] = session{token: sess.Token, expires: now.Add(sessionLifetime)}
	h.mu.Unlock()
	return h.d.APIKeys.Authenticate(ctx, sess.Token)
}

// decode reads a JSON body into v; an empty body leaves v as is.
func decode(r *http.Request, v any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fail(http.StatusRequestEntityTooLarge, -1, "Unknown error. The request body is too large.")
		}
		return fail(http.StatusBadRequest, -1, "Unknown error. The request body could not be read.")
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return errInvalidField(te.Field)
		}
		return errBadJSON()
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// created answers 201 with the new resource's URI in Location and no body.
func created(w http.ResponseWriter, c *call, path string) error {
	scheme := "http"
	if c.r.TLS != nil {
		scheme = "https"
	}
	w.Header().Set("Location", fmt.Sprintf("%s://%s%s%s", scheme, c.r.Host, c.prefix, path))
	w.WriteHeader(http.StatusCreated)
	return nil
}

func noContent(w http.ResponseWriter) error {
	w.WriteHeader(http.StatusNoContent)
	return nil
}
