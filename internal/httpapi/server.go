// Package httpapi is Signet's native REST API v1: routing, authentication
// middleware, JSON and problem documents, and the OpenAPI description. It
// translates HTTP to calls on the domain services and nothing more.
package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/acme"
	"github.com/signet-pki/signet/internal/agent"
	"github.com/signet-pki/signet/internal/audit"
	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/ca"
	"github.com/signet-pki/signet/internal/cmp"
	"github.com/signet-pki/signet/internal/discovery"
	"github.com/signet-pki/signet/internal/domain"
	"github.com/signet-pki/signet/internal/enrollsecret"
	"github.com/signet-pki/signet/internal/est"
	"github.com/signet-pki/signet/internal/inventory"
	"github.com/signet-pki/signet/internal/issuance"
	"github.com/signet-pki/signet/internal/notify"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/profile"
	"github.com/signet-pki/signet/internal/revocation"
	"github.com/signet-pki/signet/internal/upstream"
)

// Authenticator turns a bearer token into a principal.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (*auth.Principal, error)
}

// CertAuthenticator turns a verified TLS client certificate into a principal.
type CertAuthenticator interface {
	Authenticate(ctx context.Context, leaf *x509.Certificate) (*auth.Principal, error)
}

// Services are the domain services the API exposes.
type Services struct {
	CAs        *ca.Service
	Profiles   *profile.Service
	Issuance   *issuance.Service
	Inventory  *inventory.Service
	APIKeys    *auth.APIKeys
	Directory  *auth.Directory
	Audit      *audit.Service
	Revocation *revocation.Service
	Discovery  *discovery.Service
	Notify     *notify.Service
	Agents     *agent.Registry
	ACME       *acme.Service // nil: no ACME directories
	// EST, SCEP (*scep.Service) and the enrollment secrets they accept;
	// nil: not served.
	EST           *est.Service
	SCEP          http.Handler
	EnrollSecrets *enrollsecret.Service
	CMP           *cmp.Service      // nil: no CMP endpoints
	Domains       *domain.Service   // registered domains and their validation; nil: not served
	Upstream      *upstream.Service // external CA connectors; nil: not served
	// Compat are the vendor-compatible APIs by name ("notary", "digicert",
	// ...), each serving the vendor's paths from its root; they are mounted
	// under /compat/{name}/ and do their own authentication.
	Compat      map[string]http.Handler
	Auth        Authenticator
	ClientCerts CertAuthenticator
	WebUI       http.Handler // the web console (/, /login, /logout, /ui/...); nil: none
	// Ready reports whether the server can take traffic: database
	// reachable, migrations current, CA keys loaded.
	Ready func(ctx context.Context) error
	// Observe records each API request's route, status and duration (metrics).
	Observe func(route string, status int, d time.Duration)
	// Metrics serves the Prometheus registry at /metrics (global admins and auditors).
	Metrics http.Handler
	// Now is the clock used to derive the "expired" status in responses.
	Now func() time.Time
}

// API is the HTTP handler of the native API.
type API struct {
	svc    Services
	log    *slog.Logger
	mux    *http.ServeMux
	routes []route
}

// route is one operation; the table drives both the mux and the OpenAPI document.
type route struct {
	method, pattern, summary, tag string
	public                        bool
	handler                       func(w http.ResponseWriter, r *http.Request) error
}

// maxBody limits every request body; import bundles get more.
const (
	maxBody       = 1 << 20
	maxImportBody = 8 << 20
)

// New builds the API handler.
func New(svc Services, log *slog.Logger) *API {
	a := &API{svc: svc, log: log, mux: http.NewServeMux()}
	a.routes = a.table()
	for _, rt := range a.routes {
		a.mux.Handle(rt.method+" "+rt.pattern, a.wrap(rt))
	}
	a.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, a.log, problem.NotFound("route_not_found", "no route %s %s", r.Method, r.URL.Path))
	})
	return a
}

func (a *API) now() time.Time { return a.svc.Now() }

func (a *API) table() []route {
	var rs []route
	rs = append(rs, a.systemRoutes()...)
	rs = append(rs, a.caRoutes()...)
	rs = append(rs, a.templateRoutes()...)
	rs = append(rs, a.profileRoutes()...)
	rs = append(rs, a.requestRoutes()...)
	rs = append(rs, a.certificateRoutes()...)
	rs = append(rs, a.apiKeyRoutes()...)
	rs = append(rs, a.directoryRoutes()...)
	rs = append(rs, a.revocationRoutes()...)
	rs = append(rs, a.discoveryRoutes()...)
	rs = append(rs, a.reportRoutes()...)
	rs = append(rs, a.notifyRoutes()...)
	rs = append(rs, a.agentRoutes()...)
	rs = append(rs, a.acmeRoutes()...)
	rs = append(rs, a.estRoutes()...)
	rs = append(rs, a.scepRoutes()...)
	rs = append(rs, a.enrollSecretRoutes()...)
	rs = append(rs, a.cmpRoutes()...)
	rs = append(rs, a.domainRoutes()...)
	rs = append(rs, a.connectorRoutes()...)
	rs = append(rs, a.compatRoutes()...)
	rs = append(rs, a.webUIRoutes()...)
	return rs
}

// ServeHTTP adds a request id, access log and panic recovery around the mux.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.serve(w, r, a.mux)
}

func (a *API) serve(w http.ResponseWriter, r *http.Request, h http.Handler) {
	start := time.Now()
	id := r.Header.Get("X-Request-Id")
	if id == "" || len(id) > 64 {
		var b [8]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	ctx := context.WithValue(r.Context(), requestIDKey{}, id)
	r = r.WithContext(ctx)
	w.Header().Set("X-Request-Id", id)
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		if v := recover(); v != nil {
			a.log.ErrorContext(ctx, "panic", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if sw.status == 0 {
				writeError(sw, r, a.log, problem.New(problem.KindInternal, "internal_error", "an internal error occurred; it has been logged"))
			}
		}
		a.log.DebugContext(ctx, "request", "request_id", id, "method", r.Method, "path", r.URL.Path,
			"status", sw.status, "duration", time.Since(start))
	}()
	h.ServeHTTP(sw, r)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

type requestIDKey struct{}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// wrap authenticates (unless the route is public), limits the body and renders errors.
func (a *API) wrap(rt route) http.Handler {
	name := rt.method + " " + rt.pattern
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.svc.Observe != nil {
			start := time.Now()
			defer func() {
				status := http.StatusOK
				if sw, ok := w.(*statusWriter); ok && sw.status != 0 {
					status = sw.status
				}
				a.svc.Observe(name, status, time.Since(start))
			}()
		}
		limit := int64(maxBody)
		if strings.HasSuffix(rt.pattern, "/import") {
			limit = maxImportBody
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		if !rt.public {
			p, err := a.authenticate(r)
			if err != nil {
				a.refused(r, nil, err)
				writeError(w, r, a.log, err)
				return
			}
			r = r.WithContext(auth.WithPrincipal(r.Context(), p))
		}
		if err := rt.handler(w, r); err != nil {
			if !rt.public { // public routes (login) audit their own failures
				a.refused(r, auth.PrincipalFrom(r.Context()), err)
			}
			writeError(w, r, a.log, err)
		}
	})
}

// refused audits a request refused for want of authentication or
// permission (every failed authorization is an audit event).
func (a *API) refused(r *http.Request, p *auth.Principal, err error) {
	pe := problem.As(err)
	if pe == nil || (pe.Kind != problem.KindUnauthorized && pe.Kind != problem.KindForbidden) || a.svc.Audit == nil {
		return
	}
	if err := a.svc.Audit.RecordRefusal(r.Context(), audit.Refusal{Principal: p, SourceIP: auth.SourceIP(r), Method: r.Method,
		Path: r.URL.Path, Err: pe}); err != nil {
		a.log.WarnContext(r.Context(), "could not audit a refused request", "err", err)
	}
}

func (a *API) authenticate(r *http.Request) (*auth.Principal, error) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if leaf := auth.ClientCertificate(r); h == "" && leaf != nil && a.svc.ClientCerts != nil {
		p, err := a.svc.ClientCerts.Authenticate(r.Context(), leaf)
		if err != nil {
			return nil, err
		}
		p.SourceIP = auth.SourceIP(r)
		return p, nil
	}
	if h == "" {
		return nil, problem.Unauthorized("unauthenticated", "an API key is required: send Authorization: Bearer <key>")
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return nil, problem.Unauthorized("invalid_authorization", "the Authorization header must be \"Bearer <key>\"")
	}
	p, err := a.svc.Auth.Authenticate(r.Context(), strings.TrimSpace(token))
	if err != nil {
		return nil, err
	}
	p.SourceIP = auth.SourceIP(r)
	return p, nil
}

func (a *API) systemRoutes() []route {
	return []route{
		{method: "GET", pattern: "/healthz", summary: "Liveness", tag: "system", public: true, handler: a.healthz},
		{method: "GET", pattern: "/readyz", summary: "Readiness (store reachable)", tag: "system", public: true, handler: a.readyz},
		{method: "GET", pattern: "/api/v1/openapi.json", summary: "This OpenAPI document", tag: "system", public: true, handler: a.openAPI},
		{method: "GET", pattern: "/api/v1/me", summary: "The caller's identity and roles", tag: "system", handler: a.me},
		{method: "GET", pattern: "/metrics", summary: "Prometheus metrics (global admins and auditors)", tag: "system", handler: a.metrics},
	}
}

func (a *API) healthz(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (a *API) readyz(w http.ResponseWriter, r *http.Request) error {
	if a.svc.Ready != nil {
		if err := a.svc.Ready(r.Context()); err != nil {
			a.log.WarnContext(r.Context(), "not ready", "err", err)
			return problem.New(problem.KindUnavailable, "not_ready", "not ready: %v", err)
		}
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (a *API) metrics(w http.ResponseWriter, r *http.Request) error {
	if _, err := auth.RequireGlobal(r.Context(), auth.PermMetricsRead); err != nil {
		return err
	}
	if a.svc.Metrics == nil {
		return problem.NotFound("metrics_disabled", "metrics are not enabled on this node")
	}
	a.svc.Metrics.ServeHTTP(w, r)
	return nil
}

func (a *API) me(w http.ResponseWriter, r *http.Request) error {
	p := auth.PrincipalFrom(r.Context())
	teams := p.TeamIDs
	if teams == nil {
		teams = []string{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"id": p.ID, "name": p.Name, "kind": p.Kind, "org_id": p.OrgID,
		"global": p.Global(), "team_ids": teams, "roles": p.Roles, "api_key_id": p.APIKeyID,
		"authenticated_by": p.Method})
}
