package httpapi

import (
	"net/http"

	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/upstream"
)

// connectorRoutes serve the upstream CA connectors (issue 13). Secrets are
// accepted on create and update, and never returned.
func (a *API) connectorRoutes() []route {
	if a.svc.Upstream == nil {
		return nil
	}
	return []route{
		{method: "GET", pattern: "/api/v1/connectors", summary: "List upstream CA connectors", tag: "connectors", handler: a.listConnectors},
		{method: "POST", pattern: "/api/v1/connectors", summary: "Create an upstream CA connector", tag: "connectors", handler: a.createConnector},
		{method: "GET", pattern: "/api/v1/connectors/{id}", summary: "Get a connector with its health and usage", tag: "connectors", handler: a.getConnector},
		{method: "PATCH", pattern: "/api/v1/connectors/{id}", summary: "Change a connector (name, status, config, secrets)", tag: "connectors", handler: a.updateConnector},
		{method: "DELETE", pattern: "/api/v1/connectors/{id}", summary: "Delete a connector no profile uses", tag: "connectors", handler: a.deleteConnector},
		{method: "GET", pattern: "/.well-known/acme-challenge/{token}", summary: "http-01 answers of ACME connectors without http01_listen (RFC 8555 section 8.3)",
			tag: "connectors", public: true, handler: a.acmeHTTP01},
	}
}

// acmeHTTP01 answers an ACME CA validating a connector's order by http-01.
func (a *API) acmeHTTP01(w http.ResponseWriter, r *http.Request) error {
	keyAuth, err := a.svc.Upstream.HTTP01Answer(r.Context(), r.PathValue("token"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain")
	_, err = w.Write([]byte(keyAuth))
	return err
}

func (a *API) listConnectors(w http.ResponseWriter, r *http.Request) error {
	q, err := listQuery(r)
	if err != nil {
		return err
	}
	cs, next, err := a.svc.Upstream.List(r.Context(), q.OrgID, q.Limit, q.Cursor)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page[upstream.Connector]{Items: cs, NextCursor: next})
}

func (a *API) createConnector(w http.ResponseWriter, r *http.Request) error {
	var in upstream.Input
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	c, err := a.svc.Upstream.Create(r.Context(), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, c)
}

func (a *API) getConnector(w http.ResponseWriter, r *http.Request) error {
	c, err := a.svc.Upstream.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, c)
}

func (a *API) updateConnector(w http.ResponseWriter, r *http.Request) error {
	var in upstream.Input
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.Org != "" {
		return problem.Invalid("connector_org_fixed", "a connector cannot move to another organization")
	}
	c, err := a.svc.Upstream.Update(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, c)
}

func (a *API) deleteConnector(w http.ResponseWriter, r *http.Request) error {
	if err := a.svc.Upstream.Delete(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
