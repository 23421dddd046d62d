package httpapi

import (
	"net/http"

	"github.com/signet-pki/signet/internal/profile"
)

func (a *API) templateRoutes() []route {
	return []route{
		{method: "GET", pattern: "/api/v1/templates", summary: "List templates", tag: "templates", handler: a.listTemplates},
		{method: "POST", pattern: "/api/v1/templates", summary: "Create a template", tag: "templates", handler: a.createTemplate},
		{method: "GET", pattern: "/api/v1/templates/{id}", summary: "Get a template by id or name", tag: "templates", handler: a.getTemplate},
		{method: "PUT", pattern: "/api/v1/templates/{id}", summary: "Replace a template", tag: "templates", handler: a.updateTemplate},
		{method: "DELETE", pattern: "/api/v1/templates/{id}", summary: "Delete a template no profile uses", tag: "templates", handler: a.deleteTemplate},
	}
}

func (a *API) profileRoutes() []route {
	return []route{
		{method: "GET", pattern: "/api/v1/profiles", summary: "List profiles", tag: "profiles", handler: a.listProfiles},
		{method: "POST", pattern: "/api/v1/profiles", summary: "Create a profile", tag: "profiles", handler: a.createProfile},
		{method: "GET", pattern: "/api/v1/profiles/{id}", summary: "Get a profile by id or name", tag: "profiles", handler: a.getProfile},
		{method: "PUT", pattern: "/api/v1/profiles/{id}", summary: "Replace a profile", tag: "profiles", handler: a.updateProfile},
		{method: "DELETE", pattern: "/api/v1/profiles/{id}", summary: "Delete a profile", tag: "profiles", handler: a.deleteProfile},
	}
}

func (a *API) listTemplates(w http.ResponseWriter, r *http.Request) error {
	q, err := listQuery(r)
	if err != nil {
		return err
	}
	ts, next, err := a.svc.Profiles.ListTemplates(r.Context(), q)
	if err != nil {
		return listErr(err)
	}
	return writeJSON(w, http.StatusOK, page[templateJSON]{Items: mapItems(ts, templateOut), NextCursor: next})
}

func (a *API) createTemplate(w http.ResponseWriter, r *http.Request) error {
	var in profile.TemplateInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	t, err := a.svc.Profiles.CreateTemplate(r.Context(), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, templateOut(t))
}

func (a *API) getTemplate(w http.ResponseWriter, r *http.Request) error {
	t, err := a.svc.Profiles.GetTemplate(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, templateOut(t))
}

func (a *API) updateTemplate(w http.ResponseWriter, r *http.Request) error {
	var in profile.TemplateInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	t, err := a.svc.Profiles.UpdateTemplate(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, templateOut(t))
}

func (a *API) deleteTemplate(w http.ResponseWriter, r *http.Request) error {
	if err := a.svc.Profiles.DeleteTemplate(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listProfiles(w http.ResponseWriter, r *http.Request) error {
	q, err := listQuery(r)
	if err != nil {
		return err
	}
	ps, next, err := a.svc.Profiles.ListProfiles(r.Context(), q)
	if err != nil {
		return listErr(err)
	}
	return writeJSON(w, http.StatusOK, page[profileJSON]{Items: mapItems(ps, profileOut), NextCursor: next})
}

func (a *API) createProfile(w http.ResponseWriter, r *http.Request) error {
	var in profile.ProfileInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	p, err := a.svc.Profiles.CreateProfile(r.Context(), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, profileOut(p))
}

func (a *API) getProfile(w http.ResponseWriter, r *http.Request) error {
	p, err := a.svc.Profiles.GetProfile(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, profileOut(p))
}

func (a *API) updateProfile(w http.ResponseWriter, r *http.Request) error {
	var in profile.ProfileInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	p, err := a.svc.Profiles.UpdateProfile(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, profileOut(p))
}

func (a *API) deleteProfile(w http.ResponseWriter, r *http.Request) error {
	if err := a.svc.Profiles.DeleteProfile(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
