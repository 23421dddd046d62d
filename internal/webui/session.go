package webui

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/problem"
)

// Cookie names. The session cookie holds a login session token (an API
// key named "session", decision 11), so signing out revokes it everywhere.
const (
	SessionCookie = "signet_session"
	loginCookie   = "signet_login"
	// maxForm bounds a parsed form held in memory (the API wrapper already
	// limits the body); CSR uploads are a few kilobytes.
	maxForm = 1 << 20
)

type session struct {
	principal *auth.Principal
	csrf      string
}

type sessionKey struct{}

func sessionFrom(ctx context.Context) *session {
	s, _ := ctx.Value(sessionKey{}).(*session)
	return s
}

// csrfToken derives the session's CSRF token from its secret: per session,
// the same on every node, and unknowable to a page that cannot read the
// HttpOnly cookie.
func csrfToken(sessionToken string) string {
	m := hmac.New(sha256.New, []byte(sessionToken))
	m.Write([]byte("signet web UI CSRF v1"))
	return hex.EncodeToString(m.Sum(nil))
}

func sameSecret(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// signedIn authenticates the session cookie, checks the CSRF token of
// every form post, and runs h with the principal in the context.
func (u *UI) signedIn(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := u.authenticate(r)
		if err != nil {
			if r.Method == http.MethodPost {
				// A stale form after the session ended: say so, change nothing.
				u.clearCookie(w, r, SessionCookie, "/")
			}
			u.fail(w, r, err)
			return
		}
		ctx := auth.WithPrincipal(context.WithValue(r.Context(), sessionKey{}, s), s.principal)
		r = r.WithContext(ctx)
		if r.Method == http.MethodPost {
			if err := parseForm(r); err != nil {
				u.fail(w, r, err)
				return
			}
			if !sameSecret(r.PostFormValue("csrf"), s.csrf) {
				u.fail(w, r, problem.Forbidden("csrf_invalid", "the form's CSRF token is missing or wrong; reload the page and try again"))
				return
			}
		}
		if err := h(w, r); err != nil {
			u.fail(w, r, err)
		}
	})
}

func (u *UI) authenticate(r *http.Request) (*session, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return nil, problem.Unauthorized("unauthenticated", "sign in first")
	}
	p, err := u.d.APIKeys.Authenticate(r.Context(), c.Value)
	if err != nil {
		return nil, err
	}
	if p.Method != "session" {
		return nil, problem.Unauthorized("not_a_session", "the cookie does not hold a login session")
	}
	p.SourceIP = auth.SourceIP(r)
	return &session{principal: p, csrf: csrfToken(c.Value)}, nil
}

// parseForm reads a urlencoded or multipart form (CSR uploads).
func parseForm(r *http.Request) error {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var err error
	if ct == "multipart/form-data" {
		err = r.ParseMultipartForm(maxForm)
	} else {
		err = r.ParseForm()
	}
	if err == nil {
		return nil
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	return problem.Invalid("form_invalid", "the form could not be read: %v", err)
}

type loginView struct {
	Username string
	Next     string
	Token    string
	Error    string
}

// loginForm shows the sign-in form with a login CSRF token (double submit:
// a cookie and a hidden field that must match), so another site cannot sign
// a browser in to an account of its choosing.
func (u *UI) loginForm(w http.ResponseWriter, r *http.Request) {
	if _, err := u.authenticate(r); err == nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	u.showLogin(w, r, http.StatusOK, loginView{Next: safeNext(r.URL.Query().Get("next"))})
}

func (u *UI) showLogin(w http.ResponseWriter, r *http.Request, status int, v loginView) {
	var b [24]byte
	_, _ = rand.Read(b[:])
	v.Token = hex.EncodeToString(b[:])
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: v.Token, Path: LoginPath, HttpOnly: true,
		Secure: u.secure(r), SameSite: http.SameSiteStrictMode, MaxAge: 3600})
	if err := u.render(w, r, status, "login", "Sign in", v); err != nil {
		u.fail(w, r, err)
	}
}

func (u *UI) login(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		u.fail(w, r, err)
		return
	}
	v := loginView{Username: r.PostFormValue("username"), Next: safeNext(r.PostFormValue("next"))}
	c, err := r.Cookie(loginCookie)
	if err != nil || !sameSecret(r.PostFormValue("csrf"), c.Value) {
		v.Error = "The sign-in form expired or was not sent from this site. Please try again."
		u.refused(r, problem.Forbidden("csrf_invalid", "login form without a valid CSRF token"))
		u.showLogin(w, r, http.StatusForbidden, v)
		return
	}
	s, err := u.d.Directory.Login(r.Context(), u.d.APIKeys, v.Username, r.PostFormValue("password"), auth.SourceIP(r))
	if err != nil {
		if problem.KindOf(err) != problem.KindUnauthorized {
			u.fail(w, r, err)
			return
		}
		v.Error = "The user name or password is wrong, or the account is locked or disabled."
		u.showLogin(w, r, http.StatusUnauthorized, v)
		return
	}
	u.clearCookie(w, r, loginCookie, LoginPath)
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: s.Token, Path: "/", HttpOnly: true,
		Secure: u.secure(r), SameSite: http.SameSiteLaxMode, Expires: s.ExpiresAt,
		MaxAge: int(s.ExpiresAt.Sub(u.d.Now()).Seconds())})
	http.Redirect(w, r, v.Next, http.StatusSeeOther)
}

// logout revokes the session's key (so a copied cookie dies too) and clears the cookie.
func (u *UI) logout(w http.ResponseWriter, r *http.Request) error {
	p := principal(r.Context())
	if _, err := u.d.APIKeys.Revoke(r.Context(), p.APIKeyID); err != nil && problem.KindOf(err) != problem.KindConflict {
		return err
	}
	u.clearCookie(w, r, SessionCookie, "/")
	http.Redirect(w, r, LoginPath+"?done="+url.QueryEscape("Signed out."), http.StatusSeeOther)
	return nil
}

// secure reports whether cookies get the Secure attribute: on HTTPS, and
// behind a TLS-terminating proxy (an https public URL) where the request
// itself arrives over plain HTTP.
func (u *UI) secure(r *http.Request) bool { return r.TLS != nil || u.d.SecureCookies }

func (u *UI) clearCookie(w http.ResponseWriter, r *http.Request, name, path string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: path, HttpOnly: true, Secure: u.secure(r),
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// safeNext keeps a post-login redirect on this site.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/"
	}
	return next
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
