package httpapi

import (
	"net/http"

	"github.com/signet-pki/signet/internal/cmp"
)

// cmpRoutes publish the CMP endpoints (public: CMP authenticates with its
// own message protection) and the administration of their shared secrets.
func (a *API) cmpRoutes() []route {
	if a.svc.CMP == nil {
		return nil
	}
	serve := func(w http.ResponseWriter, r *http.Request) error { a.svc.CMP.ServeHTTP(w, r); return nil }
	return []route{
		{method: "POST", pattern: "/cmp/{profile}", summary: "CMP (RFC 4210/9480, lightweight profile RFC 9483): ir, cr, kur, p10cr, certConf, pollReq, rr, genm", tag: "cmp", public: true, handler: serve},
		// RFC 9483 section 6.1's well-known paths: no label is the default
		// profile; an operation segment (initialization, keyupdate, ...) may follow.
		{method: "POST", pattern: "/.well-known/cmp", summary: "CMP for the default profile (RFC 9483 section 6.1)", tag: "cmp", public: true, handler: serve},
		{method: "POST", pattern: "/.well-known/cmp/{path...}", summary: "CMP at [p/{profile}/][{operation}] (RFC 9483 section 6.1)", tag: "cmp", public: true, handler: serve},
		{method: "POST", pattern: "/api/v1/cmp/secrets", summary: "Create a one-time CMP shared secret for a profile (secret shown once)", tag: "cmp", handler: a.createCMPSecret},
		{method: "GET", pattern: "/api/v1/cmp/secrets", summary: "List CMP shared secrets (?org=)", tag: "cmp", handler: a.listCMPSecrets},
		{method: "GET", pattern: "/api/v1/cmp/secrets/{reference}", summary: "Get a CMP shared secret (never its value)", tag: "cmp", handler: a.getCMPSecret},
		{method: "DELETE", pattern: "/api/v1/cmp/secrets/{reference}", summary: "Delete a CMP shared secret", tag: "cmp", handler: a.deleteCMPSecret},
	}
}

func (a *API) createCMPSecret(w http.ResponseWriter, r *http.Request) error {
	var in cmp.SecretInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	k, err := a.svc.CMP.CreateSecret(r.Context(), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, k)
}

func (a *API) listCMPSecrets(w http.ResponseWriter, r *http.Request) error {
	q, err := listQuery(r)
	if err != nil {
		return err
	}
	items, next, err := a.svc.CMP.ListSecrets(r.Context(), q.OrgID, q.Limit, q.Cursor)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page[cmp.Secret]{Items: items, NextCursor: next})
}

func (a *API) getCMPSecret(w http.ResponseWriter, r *http.Request) error {
	k, err := a.svc.CMP.GetSecret(r.Context(), r.PathValue("reference"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, k)
}

func (a *API) deleteCMPSecret(w http.ResponseWriter, r *http.Request) error {
	if err := a.svc.CMP.DeleteSecret(r.Context(), r.PathValue("reference")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
