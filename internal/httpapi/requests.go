package httpapi

import (
	"net/http"
)

func (a *API) requestRoutes() []route {
	return []route{
		{method: "GET", pattern: "/api/v1/requests", summary: "List requests (?status=pending&profile=)", tag: "requests", handler: a.listRequests},
		{method: "GET", pattern: "/api/v1/requests/{id}", summary: "Get a request", tag: "requests", handler: a.getRequest},
		{method: "POST", pattern: "/api/v1/requests/{id}/approve", summary: "Approve a pending request and issue its certificate", tag: "requests", handler: a.approve},
		{method: "POST", pattern: "/api/v1/requests/{id}/reject", summary: "Reject a pending request with a reason", tag: "requests", handler: a.reject},
	}
}

func (a *API) listRequests(w http.ResponseWriter, r *http.Request) error {
	q, err := listQuery(r)
	if err != nil {
		return err
	}
	if q.ProfileID != "" {
		if p, err := a.svc.Profiles.GetProfile(r.Context(), q.ProfileID); err == nil {
			q.ProfileID = p.ID
		}
	}
	rs, next, err := a.svc.Issuance.ListRequests(r.Context(), q)
	if err != nil {
		return listErr(err)
	}
	return writeJSON(w, http.StatusOK, page[requestJSON]{Items: mapItems(rs, requestOut), NextCursor: next})
}

func (a *API) getRequest(w http.ResponseWriter, r *http.Request) error {
	req, err := a.svc.Issuance.GetRequest(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, requestOut(req))
}

func (a *API) approve(w http.ResponseWriter, r *http.Request) error {
	res, err := a.svc.Issuance.Approve(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, enrollOut(res, a.now()))
}

func (a *API) reject(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Reason string `json:"reason"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	req, err := a.svc.Issuance.Reject(r.Context(), r.PathValue("id"), in.Reason)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, requestOut(req))
}
