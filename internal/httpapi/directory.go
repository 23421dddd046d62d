package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/signet-pki/signet/internal/audit"
	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

func (a *API) directoryRoutes() []route {
	return []route{
		{method: "POST", pattern: "/api/v1/login", summary: "Log in with a user name and password; returns a session token", tag: "identity", public: true, handler: a.login},
		{method: "GET", pattern: "/api/v1/organizations", summary: "List organizations", tag: "identity", handler: a.listOrgs},
		{method: "POST", pattern: "/api/v1/organizations", summary: "Create an organization (global admins)", tag: "identity", handler: a.createOrg},
		{method: "GET", pattern: "/api/v1/organizations/{id}", summary: "Get an organization", tag: "identity", handler: a.getOrg},
		{method: "PATCH", pattern: "/api/v1/organizations/{id}", summary: "Rename an organization (global admins)", tag: "identity", handler: a.renameOrg},
		{method: "DELETE", pattern: "/api/v1/organizations/{id}", summary: "Delete an empty organization (global admins)", tag: "identity", handler: a.deleteOrg},
		{method: "GET", pattern: "/api/v1/teams", summary: "List teams", tag: "identity", handler: a.listTeams},
		{method: "POST", pattern: "/api/v1/teams", summary: "Create a team", tag: "identity", handler: a.createTeam},
		{method: "GET", pattern: "/api/v1/teams/{id}", summary: "Get a team", tag: "identity", handler: a.getTeam},
		{method: "PATCH", pattern: "/api/v1/teams/{id}", summary: "Rename or describe a team", tag: "identity", handler: a.updateTeam},
		{method: "DELETE", pattern: "/api/v1/teams/{id}", summary: "Delete a team that owns nothing", tag: "identity", handler: a.deleteTeam},
		{method: "GET", pattern: "/api/v1/users", summary: "List users", tag: "identity", handler: a.listPrincipals(store.PrincipalUser)},
		{method: "POST", pattern: "/api/v1/users", summary: "Create a user", tag: "identity", handler: a.createPrincipal(store.PrincipalUser)},
		{method: "GET", pattern: "/api/v1/users/{id}", summary: "Get a user", tag: "identity", handler: a.getPrincipal},
		{method: "PATCH", pattern: "/api/v1/users/{id}", summary: "Change a user (roles, teams, password, disabled, unlock)", tag: "identity", handler: a.updatePrincipal},
		{method: "DELETE", pattern: "/api/v1/users/{id}", summary: "Delete a user", tag: "identity", handler: a.deletePrincipal},
		{method: "GET", pattern: "/api/v1/service-accounts", summary: "List service accounts", tag: "identity", handler: a.listPrincipals(store.PrincipalService)},
		{method: "POST", pattern: "/api/v1/service-accounts", summary: "Create a service account", tag: "identity", handler: a.createPrincipal(store.PrincipalService)},
		{method: "GET", pattern: "/api/v1/service-accounts/{id}", summary: "Get a service account", tag: "identity", handler: a.getPrincipal},
		{method: "PATCH", pattern: "/api/v1/service-accounts/{id}", summary: "Change a service account", tag: "identity", handler: a.updatePrincipal},
		{method: "DELETE", pattern: "/api/v1/service-accounts/{id}", summary: "Delete a service account", tag: "identity", handler: a.deletePrincipal},
		{method: "GET", pattern: "/api/v1/custom-fields", summary: "List the organization's certificate custom fields", tag: "identity", handler: a.listFields},
		{method: "POST", pattern: "/api/v1/custom-fields", summary: "Define a certificate custom field", tag: "identity", handler: a.createField},
		{method: "DELETE", pattern: "/api/v1/custom-fields/{id}", summary: "Delete a custom field definition", tag: "identity", handler: a.deleteField},
		{method: "GET", pattern: "/api/v1/audit-events", summary: "Search the audit log", tag: "audit", handler: a.listAudit},
		{method: "GET", pattern: "/api/v1/audit-events/export", summary: "Export the audit log as JSON lines", tag: "audit", handler: a.exportAudit},
		{method: "GET", pattern: "/api/v1/audit-events/verify", summary: "Verify the audit hash chain (global auditors)", tag: "audit", handler: a.verifyAudit},
		{method: "GET", pattern: "/api/v1/audit-events/{seq}", summary: "Get an audit event", tag: "audit", handler: a.getAudit},
	}
}

type orgJSON struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

func orgOut(o *store.Organization) orgJSON {
	return orgJSON{ID: o.ID, Name: o.Name, CreatedAt: o.CreatedAt.UTC()}
}

type teamJSON struct {
	ID          string    `json:"id"`
	OrgID       string    `json:"org_id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
}

func teamOut(t *store.Team) teamJSON {
	return teamJSON{ID: t.ID, OrgID: t.OrgID, Name: t.Name, Description: t.Description, CreatedAt: t.CreatedAt.UTC()}
}

type principalJSON struct {
	ID          string     `json:"id"`
	Kind        string     `json:"kind"`
	OrgID       string     `json:"org_id"`
	Name        string     `json:"name"`
	DisplayName string     `json:"display_name,omitempty"`
	Email       string     `json:"email,omitempty"`
	Roles       []string   `json:"roles"`
	TeamIDs     []string   `json:"team_ids"`
	HasPassword bool       `json:"has_password"`
	LockedUntil *time.Time `json:"locked_until,omitempty"`
	Disabled    bool       `json:"disabled"`
	CreatedAt   time.Time  `json:"created_at"`
}

func principalOut(p *store.Principal) principalJSON {
	teams := p.TeamIDs
	if teams == nil {
		teams = []string{}
	}
	return principalJSON{ID: p.ID, Kind: p.Kind, OrgID: p.OrgID, Name: p.Name, DisplayName: p.DisplayName, Email: p.Email,
		Roles: p.Roles, TeamIDs: teams, HasPassword: p.PasswordHash != "", LockedUntil: utcPtr(p.LockedUntil),
		Disabled: p.Disabled, CreatedAt: p.CreatedAt.UTC()}
}

func (a *API) login(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	s, err := a.svc.Directory.Login(r.Context(), a.svc.APIKeys, in.Username, in.Password, auth.SourceIP(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"token": s.Token, "expires_at": s.ExpiresAt.UTC(),
		"principal": principalOut(s.Principal)})
}

func (a *API) listOrgs(w http.ResponseWriter, r *http.Request) error {
	q, err := listQuery(r)
	if err != nil {
		return err
	}
	os, next, err := a.svc.Directory.ListOrganizations(r.Context(), q)
	if err != nil {
		return listErr(err)
	}
	return writeJSON(w, http.StatusOK, page[orgJSON]{Items: mapItems(os, orgOut), NextCursor: next})
}

func (a *API) createOrg(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	o, err := a.svc.Directory.CreateOrganization(r.Context(), in.Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, orgOut(o))
}

func (a *API) getOrg(w http.ResponseWriter, r *http.Request) error {
	o, err := a.svc.Directory.Organization(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, orgOut(o))
}

func (a *API) renameOrg(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	o, err := a.svc.Directory.RenameOrganization(r.Context(), r.PathValue("id"), in.Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, orgOut(o))
}

func (a *API) deleteOrg(w http.ResponseWriter, r *http.Request) error {
	if err := a.svc.Directory.DeleteOrganization(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listTeams(w http.ResponseWriter, r *http.Request) error {
	q, err := listQuery(r)
	if err != nil {
		return err
	}
	ts, next, err := a.svc.Directory.ListTeams(r.Context(), q)
	if err != nil {
		return listErr(err)
	}
	return writeJSON(w, http.StatusOK, page[teamJSON]{Items: mapItems(ts, teamOut), NextCursor: next})
}

func (a *API) createTeam(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Org         string `json:"org"`
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	t, err := a.svc.Directory.CreateTeam(r.Context(), in.Org, in.Name, in.Description)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, teamOut(t))
}

func (a *API) getTeam(w http.ResponseWriter, r *http.Request) error {
	t, err := a.svc.Directory.Team(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, teamOut(t))
}

func (a *API) updateTeam(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name        *string `json:"name"`
		Description *string `json:"description"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	t, err := a.svc.Directory.UpdateTeam(r.Context(), r.PathValue("id"), in.Name, in.Description)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, teamOut(t))
}

func (a *API) deleteTeam(w http.ResponseWriter, r *http.Request) error {
	if err := a.svc.Directory.DeleteTeam(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listPrincipals(kind string) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		q, err := listQuery(r)
		if err != nil {
			return err
		}
		q.Kind = kind
		ps, next, err := a.svc.Directory.ListPrincipals(r.Context(), q)
		if err != nil {
			return listErr(err)
		}
		return writeJSON(w, http.StatusOK, page[principalJSON]{Items: mapItems(ps, principalOut), NextCursor: next})
	}
}

func (a *API) createPrincipal(kind string) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		var in struct {
			Org         string   `json:"org"`
			Global      bool     `json:"global"`
			Name        string   `json:"name"`
			DisplayName string   `json:"display_name"`
			Email       string   `json:"email"`
			Roles       []string `json:"roles"`
			TeamIDs     []string `json:"team_ids"`
			Password    string   `json:"password"`
		}
		if err := decodeJSON(r, &in); err != nil {
			return err
		}
		p, err := a.svc.Directory.CreatePrincipal(r.Context(), auth.NewPrincipal{Kind: kind, Org: in.Org, Global: in.Global,
			Name: in.Name, DisplayName: in.DisplayName, Email: in.Email, Roles: in.Roles, TeamIDs: in.TeamIDs, Password: in.Password})
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusCreated, principalOut(p))
	}
}

func (a *API) getPrincipal(w http.ResponseWriter, r *http.Request) error {
	p, err := a.svc.Directory.Principal(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, principalOut(p))
}

func (a *API) updatePrincipal(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		DisplayName *string  `json:"display_name"`
		Email       *string  `json:"email"`
		Roles       []string `json:"roles"`
		TeamIDs     []string `json:"team_ids"`
		Disabled    *bool    `json:"disabled"`
		Password    *string  `json:"password"`
		Unlock      bool     `json:"unlock"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	p, err := a.svc.Directory.UpdatePrincipal(r.Context(), r.PathValue("id"), auth.PrincipalChange{
		DisplayName: in.DisplayName, Email: in.Email, Roles: in.Roles, TeamIDs: in.TeamIDs, Disabled: in.Disabled,
		Password: in.Password, Unlock: in.Unlock})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, principalOut(p))
}

func (a *API) deletePrincipal(w http.ResponseWriter, r *http.Request) error {
	if err := a.svc.Directory.DeletePrincipal(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listFields(w http.ResponseWriter, r *http.Request) error {
	fs, err := a.svc.Directory.ListCustomFields(r.Context(), r.URL.Query().Get("org"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page[store.CustomField]{Items: fs})
}

func (a *API) createField(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Org           string   `json:"org"`
		Name          string   `json:"name"`
		Type          string   `json:"type"`
		Required      bool     `json:"required"`
		AllowedValues []string `json:"allowed_values"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	f, err := a.svc.Directory.CreateCustomField(r.Context(), auth.NewCustomField{Org: in.Org, Name: in.Name, Type: in.Type,
		Required: in.Required, AllowedValues: in.AllowedValues})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, f)
}

func (a *API) deleteField(w http.ResponseWriter, r *http.Request) error {
	if err := a.svc.Directory.DeleteCustomField(r.Context(), r.URL.Query().Get("org"), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// auditQuery parses the audit log's filters; the cursor is the last seq seen.
func auditQuery(r *http.Request) (store.AuditQuery, error) {
	v := r.URL.Query()
	q := store.AuditQuery{OrgID: v.Get("org"), Principal: v.Get("principal"), Action: v.Get("action"),
		ObjectType: v.Get("object_type"), ObjectID: v.Get("object_id"), Outcome: v.Get("outcome")}
	var vs []problem.Violation
	for _, p := range []struct {
		name string
		dst  **time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		if s := v.Get(p.name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				vs = append(vs, problem.Violation{Field: p.name, Code: "invalid", Message: p.name + " must be an RFC 3339 time"})
				continue
			}
			*p.dst = &t
		}
	}
	if c := v.Get("cursor"); c != "" {
		n, err := strconv.ParseInt(c, 10, 64)
		if err != nil || n < 0 {
			vs = append(vs, problem.Violation{Field: "cursor", Code: "invalid", Message: "the cursor is malformed"})
		}
		q.AfterSeq = n
	}
	limit, err := intParam(r, "limit", 100)
	if err != nil || limit < 1 || limit > 1000 {
		vs = append(vs, problem.Violation{Field: "limit", Code: "invalid", Message: "limit must be between 1 and 1000"})
	}
	q.Limit = limit
	if len(vs) > 0 {
		return q, problem.Violations("query_invalid", "the query is invalid", vs)
	}
	return q, nil
}

func (a *API) listAudit(w http.ResponseWriter, r *http.Request) error {
	q, err := auditQuery(r)
	if err != nil {
		return err
	}
	evs, err := a.svc.Audit.List(r.Context(), q)
	if err != nil {
		return err
	}
	out := page[audit.EventView]{Items: make([]audit.EventView, len(evs))}
	for i := range evs {
		out.Items[i] = audit.View(&evs[i])
	}
	if len(evs) == q.Limit {
		out.NextCursor = strconv.FormatInt(evs[len(evs)-1].Seq, 10)
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) exportAudit(w http.ResponseWriter, r *http.Request) error {
	q, err := auditQuery(r)
	if err != nil {
		return err
	}
	// Check permission before the first byte, so a refusal is a problem document.
	if _, err := a.svc.Audit.List(r.Context(), store.AuditQuery{OrgID: q.OrgID, Limit: 1}); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Content-Disposition", `attachment; filename="signet-audit.jsonl"`)
	if err := a.svc.Audit.Export(r.Context(), q, w); err != nil {
		a.log.ErrorContext(r.Context(), "audit export failed mid-stream", "err", err)
	}
	return nil
}

func (a *API) verifyAudit(w http.ResponseWriter, r *http.Request) error {
	res, err := a.svc.Audit.Verify(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

func (a *API) getAudit(w http.ResponseWriter, r *http.Request) error {
	seq, err := strconv.ParseInt(r.PathValue("seq"), 10, 64)
	if err != nil {
		return problem.NotFound("audit_event_not_found", "no audit event %q", r.PathValue("seq"))
	}
	ev, err := a.svc.Audit.Get(r.Context(), seq)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, audit.View(ev))
}
