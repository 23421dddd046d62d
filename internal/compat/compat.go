// Package compat holds what Signet's vendor-compatible APIs (Notary,
// Infisical, ...) share below their wire formats: the request gate
// (body limit, authentication, audit of refusals, error rendering), the
// mapping of domain errors to the statuses vendor APIs use, and finding
// the profile a CA signs a vendor's requests under. Each adapter keeps its
// own routes, bodies and error messages.
package compat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/signet-pki/signet/internal/audit"
	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/profile"
	"github.com/signet-pki/signet/internal/store"
)

// Refusals audits refused requests (audit.Service): the transport records
// them, since only it knows the route (decision 10).
type Refusals interface {
	RecordRefusal(ctx context.Context, r audit.Refusal) error
}

// HandlerFunc is an adapter's endpoint: an error is rendered by the gate.
type HandlerFunc func(http.ResponseWriter, *http.Request) error

// Gate is what every request of an adapter passes through.
type Gate struct {
	MaxBody int64 // bound of every request body
	// Authenticate finds the caller of an authenticated endpoint.
	Authenticate func(*http.Request) (*auth.Principal, error)
	// Fail renders an error in the vendor's format.
	Fail   func(http.ResponseWriter, *http.Request, error)
	Audit  Refusals // nil: refusals are not audited (tests of a handler alone)
	Logger *slog.Logger
}

// Serve bounds the body, authenticates (when asked) and renders fn's error;
// a 401 or 403 is audited with the vendor path.
func (g *Gate) Serve(fn HandlerFunc, authenticate bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, g.MaxBody)
		if authenticate {
			p, err := g.Authenticate(r)
			if err != nil {
				g.Refused(r, nil, err)
				g.Fail(w, r, err)
				return
			}
			r = r.WithContext(auth.WithPrincipal(r.Context(), p))
		}
		if err := fn(w, r); err != nil {
			if authenticate {
				g.Refused(r, auth.PrincipalFrom(r.Context()), err)
			}
			g.Fail(w, r, err)
		}
	}
}

// Refused records a 401 or 403 in the audit log, with the vendor path;
// other errors are no refusal.
func (g *Gate) Refused(r *http.Request, p *auth.Principal, err error) {
	pe := problem.As(err)
	if g.Audit == nil || pe == nil || (pe.Kind != problem.KindUnauthorized && pe.Kind != problem.KindForbidden) {
		return
	}
	if err := g.Audit.RecordRefusal(r.Context(), audit.Refusal{Principal: p, SourceIP: auth.SourceIP(r), Method: r.Method,
		Path: r.URL.Path, Err: pe}); err != nil {
		g.Logger.WarnContext(r.Context(), "could not audit a refused request", "err", err)
	}
}

// Classify maps an error to the status vendor APIs answer with, and the
// domain problem it carries (nil when it carries none: an over-long body,
// 413; an unreachable store, 503; anything else, 500). A conflict is a
// 400: the vendors' APIs have no 409. Adapters word the message.
func Classify(err error) (int, *problem.Error) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge, nil
	}
	pe := problem.As(err)
	if pe == nil {
		if errors.Is(err, store.ErrUnavailable) {
			return http.StatusServiceUnavailable, nil
		}
		return http.StatusInternalServerError, nil
	}
	switch pe.Kind {
	case problem.KindInvalid, problem.KindConflict:
		return http.StatusBadRequest, pe
	case problem.KindNotFound:
		return http.StatusNotFound, pe
	case problem.KindUnauthorized:
		return http.StatusUnauthorized, pe
	case problem.KindForbidden:
		return http.StatusForbidden, pe
	case problem.KindTooLarge:
		return http.StatusRequestEntityTooLarge, pe
	case problem.KindUnavailable:
		return http.StatusServiceUnavailable, pe
	default:
		return http.StatusInternalServerError, pe
	}
}

// Violations renders a problem's violations as a message suffix,
// " (field: message; ...)", or "" when it has none: vendor error bodies
// have one message field.
func Violations(pe *problem.Error) string {
	if pe == nil || len(pe.Violations) == 0 {
		return ""
	}
	parts := make([]string, 0, len(pe.Violations))
	for _, v := range pe.Violations {
		parts = append(parts, fmt.Sprintf("%s: %s", v.Field, v.Message))
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

// ProfileLister pages through the profiles the caller may see (profile.Service).
type ProfileLister interface {
	ListProfiles(ctx context.Context, q store.ListQuery) ([]store.Profile, string, error)
}

// ProfileOfCA picks the profile a CA signs a vendor API's requests under:
// the first (by name) profile of that CA that offers the method, or nil
// when there is none.
func ProfileOfCA(ctx context.Context, profiles ProfileLister, caID, method string) (*store.Profile, error) {
	var best *store.Profile
	cursor := ""
	for {
		ps, next, err := profiles.ListProfiles(ctx, store.ListQuery{Limit: 200, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		for i := range ps {
			if ps[i].CAID == caID && profile.Offers(&ps[i], method) && (best == nil || ps[i].Name < best.Name) {
				best = &ps[i]
			}
		}
		if next == "" {
			return best, nil
		}
		cursor = next
	}
}

// Mux is an http.ServeMux that remembers the patterns registered on it: a
// compatibility API lists its routes with it (Patterns), so that tests can
// drive every one of them.
type Mux struct {
	http.ServeMux
	patterns []string
}

// Handle registers h for pattern.
func (m *Mux) Handle(pattern string, h http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.Handle(pattern, h)
}

// HandleFunc registers fn for pattern.
func (m *Mux) HandleFunc(pattern string, fn func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(fn))
}

// Patterns are the method-qualified patterns registered, in order; the
// catch-all "/" (the API's own not-found answer) is left out.
func (m *Mux) Patterns() []string {
	out := make([]string, 0, len(m.patterns))
	for _, p := range m.patterns {
		if strings.Contains(p, " ") {
			out = append(out, p)
		}
	}
	return out
}
