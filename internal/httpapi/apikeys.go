package httpapi

import (
	"net/http"
	"time"

	"github.com/signet-pki/signet/internal/auth"
)

func (a *API) apiKeyRoutes() []route {
	return []route{
		{method: "GET", pattern: "/api/v1/api-keys", summary: "List API keys (never their secrets)", tag: "api-keys", handler: a.listAPIKeys},
		{method: "POST", pattern: "/api/v1/api-keys", summary: "Create an API key; the key is returned only in this response", tag: "api-keys", handler: a.createAPIKey},
		{method: "GET", pattern: "/api/v1/api-keys/{id}", summary: "Get an API key", tag: "api-keys", handler: a.getAPIKey},
		{method: "POST", pattern: "/api/v1/api-keys/{id}/revoke", summary: "Revoke an API key at once", tag: "api-keys", handler: a.revokeAPIKey},
		{method: "DELETE", pattern: "/api/v1/api-keys/{id}", summary: "Revoke an API key at once (alias)", tag: "api-keys", handler: a.revokeAPIKey},
	}
}

func (a *API) listAPIKeys(w http.ResponseWriter, r *http.Request) error {
	q, err := listQuery(r)
	if err != nil {
		return err
	}
	ks, next, err := a.svc.APIKeys.List(r.Context(), q)
	if err != nil {
		return listErr(err)
	}
	return writeJSON(w, http.StatusOK, page[apiKeyJSON]{Items: mapItems(ks, apiKeyOut), NextCursor: next})
}

func (a *API) createAPIKey(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name        string     `json:"name"`
		PrincipalID string     `json:"principal_id"`
		Roles       []string   `json:"roles"`
		ExpiresAt   *time.Time `json:"expires_at"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	k, token, err := a.svc.APIKeys.Create(r.Context(), auth.NewKey{Name: in.Name, PrincipalID: in.PrincipalID, Roles: in.Roles, ExpiresAt: in.ExpiresAt})
	if err != nil {
		return err
	}
	out := apiKeyOut(k)
	out.Key = token
	return writeJSON(w, http.StatusCreated, out)
}

func (a *API) getAPIKey(w http.ResponseWriter, r *http.Request) error {
	k, err := a.svc.APIKeys.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, apiKeyOut(k))
}

func (a *API) revokeAPIKey(w http.ResponseWriter, r *http.Request) error {
	k, err := a.svc.APIKeys.Revoke(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, apiKeyOut(k))
}
