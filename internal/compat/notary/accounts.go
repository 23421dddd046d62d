package notary

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/certutil"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/revocation"
	"github.com/signet-pki/signet/internal/store"
)

// Notary's role ids, and the Signet roles they map to.
var (
	roleIDs   = []string{auth.RoleAdmin, auth.RoleManager, auth.RoleRequester, auth.RoleAuditor}
	roleNames = map[int]string{0: auth.RoleAdmin, 1: auth.RoleManager, 2: auth.RoleRequester, 3: auth.RoleAuditor}
)

// roleID is the Notary role closest to a principal's strongest Signet role.
func roleID(roles []string) int {
	for i, r := range roleIDs {
		for _, have := range roles {
			if have == r {
				return i
			}
		}
	}
	return 3
}

func (h *Handler) status(w http.ResponseWriter, _ *http.Request) error {
	// Seed-era clients build their status type from exactly these two
	// fields (the Notary charm's client does); current Notary adds oidc_enabled.
	writeEnvelope(w, http.StatusOK, map[string]any{"initialized": true, "version": h.d.Version},
		map[string]any{"initialized": true, "version": h.d.Version, "oidc_enabled": false})
	return nil
}

// login trades Notary's {"email", "password"} (or the older "username")
// for a Signet session token: set as current Notary's user_token cookie and
// returned in the body for the seed-era clients that send it as a bearer.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email    string `json:"email"`
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	name := strings.TrimSpace(in.Email)
	if name == "" {
		name = strings.TrimSpace(in.Username)
	}
	if name == "" {
		return problem.Invalid("email_required", "email is required")
	}
	if in.Password == "" {
		return problem.Invalid("password_required", "password is required")
	}
	sess, err := h.d.Directory.Login(r.Context(), h.d.Keys, name, in.Password, auth.SourceIP(r))
	if err != nil {
		if problem.KindOf(err) == problem.KindUnauthorized {
			writeError(w, http.StatusUnauthorized, "invalid credentials")
			return nil
		}
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: sess.Token, Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, Expires: sess.ExpiresAt})
	writeJSON(w, http.StatusOK, map[string]any{"token": sess.Token})
	return nil
}

// logout clears the cookie and, when the caller presents a login session
// (never a long-lived API key), revokes it so the token is dead at once.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) error {
	if p, err := h.authenticate(r); err == nil && p.Method == "session" {
		if _, err := h.d.Keys.Revoke(auth.WithPrincipal(r.Context(), p), p.APIKeyID); err != nil && problem.As(err) == nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", Expires: time.Unix(0, 0)})
	writeJSON(w, http.StatusOK, nil)
	return nil
}

type accountJSON struct {
	ID          int64    `json:"id"`
	Email       string   `json:"email"`
	RoleID      int      `json:"role_id"`
	HasPassword bool     `json:"has_password"`
	AuthMethods []string `json:"auth_methods"`
}

func (h *Handler) me(w http.ResponseWriter, r *http.Request) error {
	caller := auth.PrincipalFrom(r.Context())
	p, err := h.d.Directory.Principal(r.Context(), caller.ID)
	if err != nil {
		return err
	}
	email := p.Email
	if email == "" {
		email = p.Name
	}
	methods := []string{}
	if p.PasswordHash != "" {
		methods = append(methods, "local")
	}
	writeJSON(w, http.StatusOK, accountJSON{ID: p.IntID, Email: email, RoleID: roleID(caller.Roles),
		HasPassword: p.PasswordHash != "", AuthMethods: methods})
	return nil
}

// createAccount makes a Signet user whose login name is the email, in the
// caller's organization (admins only, as in Signet).
func (h *Handler) createAccount(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email    string `json:"email"`
		Username string `json:"username"`
		Password string `json:"password"`
		RoleID   *int   `json:"role_id"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	email := strings.TrimSpace(in.Email)
	if email == "" {
		email = strings.TrimSpace(in.Username)
	}
	if email == "" {
		return problem.Invalid("email_required", "email is required")
	}
	if in.Password == "" {
		return problem.Invalid("password_required", "password is required")
	}
	role := auth.RoleRequester
	if in.RoleID != nil {
		var ok bool
		if role, ok = roleNames[*in.RoleID]; !ok {
			return problem.Invalid("invalid_role", "invalid role ID")
		}
	}
	np := auth.NewPrincipal{Kind: store.PrincipalUser, Name: email, DisplayName: email, Roles: []string{role}, Password: in.Password}
	if strings.Contains(email, "@") {
		np.Email = email
	}
	p, err := h.d.Directory.CreatePrincipal(r.Context(), np)
	if err != nil {
		if problem.KindOf(err) == problem.KindConflict {
			return problem.Invalid("account_exists", "account with given email already exists")
		}
		return err
	}
	id := p.IntID
	created(w, id)
	return nil
}

// caJSON is Notary's certificate authority document.
type caJSON struct {
	ID             int64  `json:"id"`
	Enabled        bool   `json:"enabled"`
	CertificatePEM string `json:"certificate"`
	CSRPEM         string `json:"csr"`
	CRL            string `json:"crl"`
	Name           string `json:"name"`
}

// allCAs lists every CA the caller may see.
func (h *Handler) allCAs(ctx context.Context) ([]store.CA, error) {
	var out []store.CA
	cursor := ""
	for {
		cas, next, err := h.d.CAs.List(ctx, store.ListQuery{Limit: 200, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		out = append(out, cas...)
		if next == "" {
			return out, nil
		}
		cursor = next
	}
}

// caByIntID finds a CA by the number Notary clients know it by.
func (h *Handler) caByIntID(ctx context.Context, id int64) (*store.CA, error) {
	cas, err := h.allCAs(ctx)
	if err != nil {
		return nil, err
	}
	for i := range cas {
		if cas[i].IntID == id {
			return &cas[i], nil
		}
	}
	return nil, problem.NotFound("ca_not_found", "no certificate authority %d", id)
}

func (h *Handler) renderCA(ctx context.Context, c *store.CA) caJSON {
	out := caJSON{ID: c.IntID, Enabled: c.Status == store.CAActive, Name: c.Name}
	ders := [][]byte{c.CertDER}
	if chain, err := h.d.CAs.Chain(ctx, c.ID); err == nil && len(chain) > 0 {
		ders = ders[:0]
		for _, cert := range chain {
			ders = append(ders, cert.Raw)
		}
	}
	out.CertificatePEM = strings.TrimSpace(string(certutil.EncodeCertsPEM(ders...)))
	if crl, err := h.d.CRLs.CRL(ctx, c.ID, false); err == nil {
		out.CRL = strings.TrimSpace(string(revocation.EncodeCRLPEM(crl.DER)))
	}
	return out
}

func (h *Handler) listCAs(w http.ResponseWriter, r *http.Request) error {
	cas, err := h.allCAs(r.Context())
	if err != nil {
		return err
	}
	out := make([]caJSON, 0, len(cas))
	for i := range cas {
		out = append(out, h.renderCA(r.Context(), &cas[i]))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) getCA(w http.ResponseWriter, r *http.Request) error {
	id, err := parseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	c, err := h.caByIntID(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h.renderCA(r.Context(), c))
	return nil
}

// getCRL is public, as in Notary and as Signet's own /crl/ endpoints: the
// CA is looked up as the server itself, since a CRL is published data.
func (h *Handler) getCRL(w http.ResponseWriter, r *http.Request) error {
	id, err := parseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	ctx := auth.WithPrincipal(r.Context(), auth.System())
	c, err := h.caByIntID(ctx, id)
	if err != nil {
		return err
	}
	crl, err := h.d.CRLs.CRL(ctx, c.ID, false)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"crl": strings.TrimSpace(string(revocation.EncodeCRLPEM(crl.DER)))})
	return nil
}
