package httpapi

import (
	"net/http"

	"github.com/signet-pki/signet/internal/enrollsecret"
)

// enrollSecretRoutes manage the one-time enrollment secrets devices enroll
// with over EST, SCEP and CMP, and profiles' static challenges (managers
// and admins of the profile's organization).
func (a *API) enrollSecretRoutes() []route {
	if a.svc.EnrollSecrets == nil {
		return nil
	}
	return []route{
		{method: "POST", pattern: "/api/v1/enrollment-secrets", summary: "Create a one-time enrollment secret (shown once)", tag: "enrollment-secrets", handler: a.createEnrollSecret},
		{method: "GET", pattern: "/api/v1/enrollment-secrets", summary: "List enrollment secrets (?org=)", tag: "enrollment-secrets", handler: a.listEnrollSecrets},
		{method: "GET", pattern: "/api/v1/enrollment-secrets/{id}", summary: "Get an enrollment secret (without its value)", tag: "enrollment-secrets", handler: a.getEnrollSecret},
		{method: "DELETE", pattern: "/api/v1/enrollment-secrets/{id}", summary: "Delete an enrollment secret", tag: "enrollment-secrets", handler: a.deleteEnrollSecret},
		{method: "PUT", pattern: "/api/v1/profiles/{id}/static-challenge/{protocol}", summary: "Set (or generate) a profile's static SCEP challenge (shown once)", tag: "enrollment-secrets", handler: a.setStaticChallenge},
		{method: "DELETE", pattern: "/api/v1/profiles/{id}/static-challenge/{protocol}", summary: "Remove a profile's static challenge", tag: "enrollment-secrets", handler: a.deleteStaticChallenge},
	}
}

func (a *API) createEnrollSecret(w http.ResponseWriter, r *http.Request) error {
	var in enrollsecret.Input
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	sec, err := a.svc.EnrollSecrets.Create(r.Context(), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, sec)
}

func (a *API) listEnrollSecrets(w http.ResponseWriter, r *http.Request) error {
	q, err := listQuery(r)
	if err != nil {
		return err
	}
	items, next, err := a.svc.EnrollSecrets.List(r.Context(), q.OrgID, q.Limit, q.Cursor)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page[enrollsecret.Secret]{Items: items, NextCursor: next})
}

func (a *API) getEnrollSecret(w http.ResponseWriter, r *http.Request) error {
	sec, err := a.svc.EnrollSecrets.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, sec)
}

func (a *API) deleteEnrollSecret(w http.ResponseWriter, r *http.Request) error {
	if err := a.svc.EnrollSecrets.Delete(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) setStaticChallenge(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Challenge string `json:"challenge"`
	}
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &in); err != nil {
			return err
		}
	}
	st, err := a.svc.EnrollSecrets.SetStatic(r.Context(), r.PathValue("id"), r.PathValue("protocol"), in.Challenge)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, st)
}

func (a *API) deleteStaticChallenge(w http.ResponseWriter, r *http.Request) error {
	if err := a.svc.EnrollSecrets.DeleteStatic(r.Context(), r.PathValue("id"), r.PathValue("protocol")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
