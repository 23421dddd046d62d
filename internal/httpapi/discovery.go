package httpapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/signet-pki/signet/internal/discovery"
	"github.com/signet-pki/signet/internal/store"
)

func (a *API) discoveryRoutes() []route {
	if a.svc.Discovery == nil {
		return nil
	}
	return []route{
		{method: "POST", pattern: "/api/v1/discovery/scans", summary: "Scan hosts, addresses or CIDR ranges for TLS endpoints (runs in the background)", tag: "discovery", handler: a.startScan},
		{method: "GET", pattern: "/api/v1/discovery/scans/{id}", summary: "A scan's progress", tag: "discovery", handler: a.getScan},
		{method: "GET", pattern: "/api/v1/endpoints", summary: "Scanned TLS endpoints with their security grade (?grade=, ?sha256=)", tag: "discovery", handler: a.listEndpoints},
		{method: "GET", pattern: "/api/v1/endpoints/{id}", summary: "One endpoint with its full rating", tag: "discovery", handler: a.getEndpoint},
	}
}

func (a *API) startScan(w http.ResponseWriter, r *http.Request) error {
	var in discovery.ScanRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	job, err := a.svc.Discovery.StartScan(r.Context(), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/discovery/scans/"+job.ID)
	return writeJSON(w, http.StatusAccepted, job)
}

func (a *API) getScan(w http.ResponseWriter, r *http.Request) error {
	job, err := a.svc.Discovery.Job(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, job)
}

type endpointJSON struct {
	ID         string          `json:"id"`
	OrgID      string          `json:"org_id"`
	Host       string          `json:"host"`
	Port       int             `json:"port"`
	ServerName string          `json:"server_name,omitempty"`
	SHA256     string          `json:"certificate_sha256,omitempty"`
	Grade      string          `json:"grade"`
	Error      string          `json:"error,omitempty"`
	FirstSeen  time.Time       `json:"first_seen"`
	LastSeen   *time.Time      `json:"last_seen,omitempty"`
	LastScan   time.Time       `json:"last_scan"`
	Rating     json.RawMessage `json:"rating,omitempty"`
}

func endpointOut(e *store.Endpoint, withRating bool) endpointJSON {
	out := endpointJSON{ID: e.ID, OrgID: e.OrgID, Host: e.Host, Port: e.Port, ServerName: e.ServerName, SHA256: e.CertSHA256,
		Grade: e.Grade, Error: e.Error, FirstSeen: e.FirstSeen.UTC(), LastScan: e.LastScan.UTC()}
	if !e.LastSeen.IsZero() {
		out.LastSeen = utcPtr(&e.LastSeen)
	}
	if withRating && json.Valid(e.Rating) {
		out.Rating = e.Rating
	}
	return out
}

func (a *API) listEndpoints(w http.ResponseWriter, r *http.Request) error {
	q, err := listQuery(r)
	if err != nil {
		return err
	}
	v := r.URL.Query()
	items, next, err := a.svc.Discovery.Endpoints(r.Context(), store.EndpointQuery{OrgID: q.OrgID, Grade: v.Get("grade"),
		CertSHA256: v.Get("sha256"), Limit: q.Limit, Cursor: q.Cursor})
	if err != nil {
		return listErr(err)
	}
	return writeJSON(w, http.StatusOK, page[endpointJSON]{Items: mapItems(items, func(e *store.Endpoint) endpointJSON { return endpointOut(e, false) }),
		NextCursor: next})
}

func (a *API) getEndpoint(w http.ResponseWriter, r *http.Request) error {
	e, err := a.svc.Discovery.Endpoint(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, endpointOut(e, true))
}
