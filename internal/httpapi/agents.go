package httpapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/signet-pki/signet/internal/agent"
	"github.com/signet-pki/signet/internal/store"
)

func (a *API) agentRoutes() []route {
	if a.svc.Agents == nil {
		return nil
	}
	return []route{
		{method: "POST", pattern: "/api/v1/agents/check-in", summary: "A renewal agent reports the certificates it manages", tag: "agents", handler: a.agentCheckIn},
		{method: "GET", pattern: "/api/v1/agents", summary: "Renewal agents with their last check-in and certificates", tag: "agents", handler: a.listAgents},
		{method: "POST", pattern: "/api/v1/agents/enroll", summary: "Trade a one-time enrollment key (an API key named enroll:...) for the agent's own key", tag: "agents", handler: a.agentEnroll},
	}
}

type agentJSON struct {
	ID          string          `json:"id"`
	OrgID       string          `json:"org_id"`
	PrincipalID string          `json:"principal_id"`
	Hostname    string          `json:"hostname"`
	Version     string          `json:"version"`
	FirstSeen   time.Time       `json:"first_seen"`
	LastCheckIn time.Time       `json:"last_check_in"`
	Report      json.RawMessage `json:"report"`
}

func agentOut(ag *store.Agent) agentJSON {
	return agentJSON{ID: ag.ID, OrgID: ag.OrgID, PrincipalID: ag.PrincipalID, Hostname: ag.Hostname, Version: ag.Version,
		FirstSeen: ag.FirstSeen.UTC(), LastCheckIn: ag.LastCheckIn.UTC(), Report: ag.Report}
}

func (a *API) agentCheckIn(w http.ResponseWriter, r *http.Request) error {
	var rep agent.Report
	if err := decodeJSON(r, &rep); err != nil {
		return err
	}
	ag, err := a.svc.Agents.CheckIn(r.Context(), rep)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, agentOut(ag))
}

func (a *API) listAgents(w http.ResponseWriter, r *http.Request) error {
	q, err := listQuery(r)
	if err != nil {
		return err
	}
	ags, next, err := a.svc.Agents.List(r.Context(), q)
	if err != nil {
		return listErr(err)
	}
	return writeJSON(w, http.StatusOK, page[agentJSON]{Items: mapItems(ags, agentOut), NextCursor: next})
}

func (a *API) agentEnroll(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := decodeOptionalJSON(r, &in); err != nil {
		return err
	}
	k, token, err := a.svc.APIKeys.ExchangeEnrollment(r.Context(), in.Name)
	if err != nil {
		return err
	}
	out := apiKeyOut(k)
	out.Key = token
	return writeJSON(w, http.StatusCreated, out)
}
