package acme

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/profile"
)

// directory is the profile a request's URL names, with the absolute base
// URL of its resources.
type directory struct {
	prof *profile.Resolved
	base string // scheme://host/acme/{profile}
}

// url is the absolute URL of a resource below the directory.
func (d *directory) url(parts ...string) string {
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return d.base + "/" + strings.Join(parts, "/")
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, d *directory) error

// routes maps the directory's resources. Every resource but the directory,
// new-nonce and renewal information is POST (RFC 8555 POST-as-GET).
func (s *Service) routes() *http.ServeMux {
	m := http.NewServeMux()
	m.Handle("GET /acme/{profile}/directory", s.handle(s.getDirectory))
	m.Handle("GET /acme/{profile}/new-nonce", s.handle(s.newNonce))
	m.Handle("POST /acme/{profile}/new-account", s.handle(s.newAccount))
	m.Handle("POST /acme/{profile}/account/{id}", s.handle(s.updateAccount))
	m.Handle("POST /acme/{profile}/account/{id}/orders", s.handle(s.listOrders))
	m.Handle("POST /acme/{profile}/key-change", s.handle(s.keyChange))
	m.Handle("POST /acme/{profile}/new-order", s.handle(s.newOrder))
	m.Handle("POST /acme/{profile}/order/{id}", s.handle(s.getOrder))
	m.Handle("POST /acme/{profile}/order/{id}/finalize", s.handle(s.finalize))
	m.Handle("POST /acme/{profile}/authz/{id}", s.handle(s.postAuthz))
	m.Handle("POST /acme/{profile}/chall/{id}/{type}", s.handle(s.postChallenge))
	m.Handle("POST /acme/{profile}/cert/{serial}", s.handle(s.getCertificate))
	m.Handle("POST /acme/{profile}/cert/{serial}/{alt}", s.handle(s.getCertificate))
	m.Handle("POST /acme/{profile}/revoke-cert", s.handle(s.revokeCert))
	m.Handle("GET /acme/{profile}/renewal-info/{certid}", s.handle(s.renewalInfo))
	m.HandleFunc("/acme/", func(w http.ResponseWriter, r *http.Request) {
		e := newError(errMalformed, http.StatusNotFound, "no ACME resource %s %s", r.Method, r.URL.Path)
		// A GET of a resource (/acme/{profile}/{resource}/...) that exists
		// only for POST-as-GET is told so.
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && strings.Count(strings.Trim(r.URL.Path, "/"), "/") >= 2 {
			e = newError(errMalformed, http.StatusMethodNotAllowed, "use POST-as-GET for %s", r.URL.Path)
			w.Header().Set("Allow", "POST")
		}
		s.writeProblem(w, r, e)
	})
	return m
}

// ServeHTTP serves everything under /acme/.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// handle resolves the directory, adds the headers every ACME response
// carries (a fresh nonce, the index link) and renders errors as ACME problems.
func (s *Service) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if nonce, err := s.nonces.issue(r.Context()); err == nil {
			w.Header().Set("Replay-Nonce", nonce)
		} else {
			s.log.WarnContext(r.Context(), "cannot issue an ACME nonce", "err", err)
		}
		d, err := s.directory(r.Context(), r)
		if err == nil {
			w.Header().Add("Link", link(d.url("directory"), "index"))
			err = h(w, r, d)
		}
		if err != nil {
			s.writeProblem(w, r, toACME(err, errMalformed))
		}
	})
}

// directory resolves the profile a URL names; only active profiles that
// allow ACME have a directory.
func (s *Service) directory(ctx context.Context, r *http.Request) (*directory, error) {
	name := r.PathValue("profile")
	prof, err := profile.ResolveOffered(ctx, s.profiles, name, "acme")
	if err != nil {
		// RFC 8555 has no problem type for an unknown directory; say which
		// of the two it is, as an ACME problem document.
		if pe := problem.As(err); pe != nil && pe.Code == profile.CodeNotOffered {
			return nil, newError(errMalformed, http.StatusNotFound, "profile %q does not offer ACME", name)
		}
		if problem.KindOf(err) == problem.KindNotFound {
			return nil, newError(errMalformed, http.StatusNotFound, "no ACME directory for profile %q", name)
		}
		return nil, err
	}
	return &directory{prof: prof, base: s.origin(r) + "/acme/" + url.PathEscape(name)}, nil
}

// origin is the scheme and authority clients use: the configured public
// URL, else what this request came to.
func (s *Service) origin(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimSuffix(s.cfg.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func link(u, rel string) string { return "<" + u + ">;rel=\"" + rel + "\"" }

// principal is who an account acts as towards the issuance service.
func (s *Service) principal(a *account, r *http.Request) *auth.Principal {
	p := &auth.Principal{ID: principalPrefix + a.ID(), Name: "ACME account " + a.ID(), Kind: "acme_account",
		OrgID: a.OrgID, Roles: []string{auth.RoleRequester}, Method: "acme", SourceIP: auth.SourceIP(r)}
	if a.TeamID != "" {
		p.TeamIDs = []string{a.TeamID}
	}
	return p
}

const principalPrefix = "acme_"

// owner is who owns the account's certificates: its EAB team, else the account.
func (a *account) owner() string {
	if a.TeamID != "" {
		return a.TeamID
	}
	return principalPrefix + a.ID()
}

// as returns ctx acting as account a.
func (s *Service) as(ctx context.Context, a *account, r *http.Request) context.Context {
	return auth.WithPrincipal(ctx, s.principal(a, r))
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

func setRetryAfter(w http.ResponseWriter, d time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(d.Round(time.Second).Seconds()))))
}

type directoryJSON struct {
	NewNonce    string        `json:"newNonce"`
	NewAccount  string        `json:"newAccount"`
	NewOrder    string        `json:"newOrder"`
	RevokeCert  string        `json:"revokeCert"`
	KeyChange   string        `json:"keyChange"`
	RenewalInfo string        `json:"renewalInfo"`
	Meta        directoryMeta `json:"meta"`
}

type directoryMeta struct {
	ExternalAccountRequired bool   `json:"externalAccountRequired"`
	Website                 string `json:"website,omitempty"`
}

func (s *Service) getDirectory(w http.ResponseWriter, r *http.Request, d *directory) error {
	st, err := s.loadSettings(r.Context(), d.prof.Profile.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, directoryJSON{NewNonce: d.url("new-nonce"), NewAccount: d.url("new-account"),
		NewOrder: d.url("new-order"), RevokeCert: d.url("revoke-cert"), KeyChange: d.url("key-change"),
		RenewalInfo: d.url("renewal-info"), Meta: directoryMeta{ExternalAccountRequired: st.EABRequired}})
}

// newNonce answers HEAD with 200 and GET with 204 (RFC 8555 section 7.2);
// the nonce itself is in the Replay-Nonce header handle sets.
func (s *Service) newNonce(w http.ResponseWriter, r *http.Request, d *directory) error {
	if w.Header().Get("Replay-Nonce") == "" {
		return internal(errors.New("no nonce could be issued"), "issuing a nonce")
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return nil
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
