// Package webui is Signet's web console: server-rendered html/template
// pages with a little of our own JavaScript and CSS, all embedded. Pages call
// the same domain services as the REST API with the signed-in principal in
// the context, so permissions are decided in internal/auth exactly as for
// the API; the UI only hides links a role could not use anyway.
package webui

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/audit"
	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/ca"
	"github.com/signet-pki/signet/internal/inventory"
	"github.com/signet-pki/signet/internal/issuance"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/profile"
	"github.com/signet-pki/signet/internal/upstream"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Deps are the domain services the pages use.
type Deps struct {
	CAs       *ca.Service
	Profiles  *profile.Service
	Issuance  *issuance.Service
	Inventory *inventory.Service
	APIKeys   *auth.APIKeys
	Directory *auth.Directory
	Audit     *audit.Service
	// Upstream manages external CA connectors; nil hides the connector pages.
	Upstream *upstream.Service
	Now      func() time.Time
	Log      *slog.Logger
	// SecureCookies marks cookies Secure even on plain HTTP requests: set
	// when browsers reach Signet over HTTPS through a TLS-terminating proxy.
	SecureCookies bool
}

// UI serves the web console.
type UI struct {
	d          Deps
	pages      map[string]*template.Template
	mux        *http.ServeMux
	chartCache chartCache
}

// Paths the UI owns on the main listener; everything else stays the API's.
const (
	LoginPath  = "/login"
	LogoutPath = "/logout"
	Prefix     = "/ui/"
)

// New parses the templates and builds the UI's routes.
func New(d Deps) (*UI, error) {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	u := &UI{d: d, pages: map[string]*template.Template{}, mux: http.NewServeMux()}
	if err := u.parse(); err != nil {
		return nil, err
	}
	u.routes()
	return u, nil
}

func (u *UI) parse() error {
	layout, err := template.New("layout.html").Funcs(funcs(u.d.Now)).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return fmt.Errorf("parse web UI layout: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return fmt.Errorf("list web UI templates: %w", err)
	}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return fmt.Errorf("parse web UI page %s: %w", name, err)
		}
		u.pages[name] = t
	}
	return nil
}

// handler is a page: it renders or redirects, or returns an error that
// becomes an error page.
type handler func(w http.ResponseWriter, r *http.Request) error

func (u *UI) routes() {
	static, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix(Prefix+"static/", http.FileServerFS(static))
	u.mux.Handle("GET "+Prefix+"static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	}))
	u.mux.HandleFunc("GET "+LoginPath, u.loginForm)
	u.mux.HandleFunc("POST "+LoginPath, u.login)
	u.mux.Handle("POST "+LogoutPath, u.signedIn(u.logout))
	page := func(pattern string, h handler) { u.mux.Handle(pattern, u.signedIn(h)) }
	page("GET /{$}", u.dashboard)
	page("GET "+Prefix+"timeline.svg", u.timelineSVG)
	page("GET "+Prefix+"certificates", u.inventory)
	page("GET "+Prefix+"certificates.csv", u.inventoryCSV)
	page("GET "+Prefix+"certificates/{serial}", u.certificate)
	page("GET "+Prefix+"certificates/{serial}/download", u.download)
	page("POST "+Prefix+"certificates/{serial}/{action}", u.certificateAction)
	page("GET "+Prefix+"import", u.importForm)
	page("POST "+Prefix+"import", u.importCertificates)
	page("GET "+Prefix+"request", u.requestForm)
	page("POST "+Prefix+"request", u.submitRequest)
	page("GET "+Prefix+"requests", u.requests)
	page("GET "+Prefix+"requests/{id}", u.request)
	page("POST "+Prefix+"requests/{id}/{decision}", u.decide)
	page("GET "+Prefix+"approvals", u.approvals)
	page("GET "+Prefix+"audit", u.auditLog)
	page("GET "+Prefix+"admin/cas", u.cas)
	page("POST "+Prefix+"admin/cas", u.createCA)
	page("POST "+Prefix+"admin/cas/import", u.importCA)
	page("GET "+Prefix+"admin/cas/{id}", u.caPage)
	page("POST "+Prefix+"admin/cas/{id}/status", u.caStatus)
	page("GET "+Prefix+"admin/templates", u.templates)
	page("POST "+Prefix+"admin/templates", u.saveTemplate)
	page("GET "+Prefix+"admin/profiles", u.profiles)
	page("POST "+Prefix+"admin/profiles", u.saveProfile)
	page("GET "+Prefix+"admin/connectors", u.connectors)
	page("POST "+Prefix+"admin/connectors", u.createConnector)
	page("POST "+Prefix+"admin/connectors/{id}/{action}", u.connectorAction)
	page("GET "+Prefix+"admin/identity", u.identity)
	page("POST "+Prefix+"admin/identity/{what}", u.identityAction)
	u.mux.Handle(Prefix, u.signedIn(func(w http.ResponseWriter, r *http.Request) error {
		return problem.NotFound("page_not_found", "there is no page %s", r.URL.Path)
	}))
}

// ServeHTTP serves every UI path (see LoginPath, LogoutPath, Prefix and "/").
func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'")
	u.mux.ServeHTTP(w, r)
}

// view is what every page template receives.
type view struct {
	Title     string
	Nav       string
	Principal *auth.Principal
	CSRF      string
	Flash     string
	Data      any
}

// Can reports whether the signed-in principal holds a permission (for
// showing links; the services decide).
func (v *view) Can(perm string) bool { return v.Principal.Allows(auth.Permission(perm)) }

// render executes a page into a buffer first, so a template error never
// sends half a page.
func (u *UI) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) error {
	t, ok := u.pages[name]
	if !ok {
		return fmt.Errorf("no web UI page %q", name)
	}
	v := &view{Title: title, Nav: name, Data: data}
	if s := sessionFrom(r.Context()); s != nil {
		v.Principal, v.CSRF = s.principal, s.csrf
	}
	if f := r.URL.Query().Get("done"); f != "" && len(f) < 200 {
		v.Flash = f
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// errorView is the error page's data.
type errorView struct {
	Status     int
	Code       string
	Message    string
	Violations []problem.Violation
}

// fail renders err as an error page in the status its kind maps to. A
// refusal is audited like the API's (decision 10); internal errors are
// logged and not shown.
func (u *UI) fail(w http.ResponseWriter, r *http.Request, err error) {
	pe := problem.As(err)
	if pe == nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			pe = problem.New(problem.KindTooLarge, "body_too_large", "the form is larger than %d bytes", mbe.Limit)
		} else {
			u.d.Log.ErrorContext(r.Context(), "web UI page failed", "path", r.URL.Path, "err", err)
			pe = problem.New(problem.KindInternal, "internal_error", "an internal error occurred; it has been logged")
		}
	}
	if pe.Kind == problem.KindUnauthorized && r.Method == http.MethodGet {
		http.Redirect(w, r, LoginPath+"?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	if pe.Kind == problem.KindUnauthorized || pe.Kind == problem.KindForbidden {
		u.refused(r, pe)
	}
	status := problem.HTTPStatus(pe.Kind)
	title := map[int]string{400: "Invalid request", 401: "Sign in required", 403: "Forbidden", 404: "Not found",
		409: "Conflict", 413: "Too large", 503: "Unavailable"}[status]
	if title == "" {
		title = "Error"
	}
	if rerr := u.render(w, r, status, "error", title, errorView{Status: status, Code: pe.Code, Message: pe.Message,
		Violations: pe.Violations}); rerr != nil {
		u.d.Log.ErrorContext(r.Context(), "render error page", "err", rerr)
		http.Error(w, title, status)
	}
}

func (u *UI) refused(r *http.Request, pe *problem.Error) {
	if u.d.Audit == nil {
		return
	}
	var p *auth.Principal
	if s := sessionFrom(r.Context()); s != nil {
		p = s.principal
	}
	if err := u.d.Audit.RecordRefusal(r.Context(), audit.Refusal{Principal: p, SourceIP: auth.SourceIP(r), Method: r.Method,
		Path: r.URL.Path, Err: pe}); err != nil {
		u.d.Log.WarnContext(r.Context(), "could not audit a refused web UI request", "err", err)
	}
}

// redirect answers a successful form post (post/redirect/get), with a
// short note for the next page.
func redirect(w http.ResponseWriter, r *http.Request, path, note string) error {
	if note != "" {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		path += sep + "done=" + urlQueryEscape(note)
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
	return nil
}

// principal is the signed-in caller (set by signedIn).
func principal(ctx context.Context) *auth.Principal { return auth.PrincipalFrom(ctx) }
