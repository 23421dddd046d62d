package httpapi

import (
	"net/http"

	"github.com/signet-pki/signet/internal/acme"
)

// acmeRoutes publish the ACME directories (public: ACME authenticates
// with its own signed requests) and the administration of external
// account binding keys and ACME profile settings.
func (a *API) acmeRoutes() []route {
	if a.svc.ACME == nil {
		return nil
	}
	serve := func(w http.ResponseWriter, r *http.Request) error { a.svc.ACME.ServeHTTP(w, r); return nil }
	return []route{
		{method: "GET", pattern: "/acme/{path...}", summary: "ACME (RFC 8555): /acme/{profile}/directory, new-nonce, renewal-info", tag: "acme", public: true, handler: serve},
		{method: "HEAD", pattern: "/acme/{path...}", summary: "ACME new-nonce", tag: "acme", public: true, handler: serve},
		{method: "POST", pattern: "/acme/{path...}", summary: "ACME requests (JWS-signed): accounts, orders, challenges, finalize, certificates, revocation", tag: "acme", public: true, handler: serve},
		{method: "POST", pattern: "/api/v1/acme/eab-keys", summary: "Create an external account binding key (HMAC key shown once)", tag: "acme", handler: a.createEABKey},
		{method: "GET", pattern: "/api/v1/acme/eab-keys", summary: "List external account binding keys (?org=)", tag: "acme", handler: a.listEABKeys},
		{method: "DELETE", pattern: "/api/v1/acme/eab-keys/{id}", summary: "Delete an external account binding key", tag: "acme", handler: a.deleteEABKey},
		{method: "GET", pattern: "/api/v1/acme/profiles/{profile}", summary: "A profile's ACME settings", tag: "acme", handler: a.getACMEProfile},
		{method: "PUT", pattern: "/api/v1/acme/profiles/{profile}", summary: "Change a profile's ACME settings (eab_required)", tag: "acme", handler: a.putACMEProfile},
	}
}

func (a *API) createEABKey(w http.ResponseWriter, r *http.Request) error {
	var in acme.EABKeyInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	k, err := a.svc.ACME.CreateEABKey(r.Context(), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, k)
}

func (a *API) listEABKeys(w http.ResponseWriter, r *http.Request) error {
	q, err := listQuery(r)
	if err != nil {
		return err
	}
	items, next, err := a.svc.ACME.ListEABKeys(r.Context(), q.OrgID, q.Limit, q.Cursor)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page[acme.EABKey]{Items: items, NextCursor: next})
}

func (a *API) deleteEABKey(w http.ResponseWriter, r *http.Request) error {
	if err := a.svc.ACME.DeleteEABKey(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) getACMEProfile(w http.ResponseWriter, r *http.Request) error {
	st, err := a.svc.ACME.ProfileSettings(r.Context(), r.PathValue("profile"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, st)
}

func (a *API) putACMEProfile(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		EABRequired bool `json:"eab_required"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	st, err := a.svc.ACME.SetProfileSettings(r.Context(), r.PathValue("profile"), in.EABRequired)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, st)
}
