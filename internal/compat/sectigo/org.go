package sectigo

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/signet-pki/signet/internal/store"
)

// departmentOffset numbers departments apart from organizations: Sectigo
// gives both one id space, Signet's teams and organizations have their own
// sequences. A department's id is departmentOffset + the team's IntID.
const departmentOffset = 1_000_000

type department struct {
	ID         int64  `json:"id"`
	ParentName string `json:"parentName"`
	Name       string `json:"name"`
}

func (h *Handler) departments(c *call) ([]department, error) {
	ts, err := h.teams(c)
	if err != nil {
		return nil, err
	}
	out := make([]department, 0, len(ts))
	for _, t := range ts {
		out = append(out, department{ID: departmentOffset + t.IntID, ParentName: c.org.Name, Name: t.Name})
	}
	return out, nil
}

// organizations is GET /api/organization/v1: the customer's organization
// (customerUri selects exactly one Signet organization) with its departments.
func (h *Handler) organizations(w http.ResponseWriter, c *call) error {
	deps, err := h.departments(c)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, []map[string]any{{"id": c.org.IntID, "name": c.org.Name, "departments": deps}})
}

// orgsFlat is managedBy/{role} and report-type/{certType}: the organization and its departments.
func (h *Handler) orgsFlat(w http.ResponseWriter, c *call) error {
	deps, err := h.departments(c)
	if err != nil {
		return err
	}
	out := []map[string]any{{"id": c.org.IntID, "name": c.org.Name}}
	for _, d := range deps {
		out = append(out, map[string]any{"id": d.ID, "name": d.Name, "parentName": d.ParentName})
	}
	return writeJSON(w, http.StatusOK, out)
}

func orgDetails(id int64, name string, deps []department) map[string]any {
	if deps == nil {
		deps = []department{}
	}
	return map[string]any{"id": id, "name": name, "certTypes": []string{"SSL"}, "departments": deps,
		"contactEmails": "", "address1": "", "address2": "", "address3": "", "city": "", "stateOrProvince": "",
		"postalCode": "", "country": "", "sslCertsApiEnabled": true, "clientCertsApiEnabled": false,
		"clientCertificate": map[string]bool{"allowKeyRecoveryByMasterAdmins": false, "allowKeyRecoveryByOrgAdmins": false,
			"allowKeyRecoveryByDepartmentAdmins": false}}
}

// orgTarget resolves {orgId}: the organization (team nil) or a department.
func (h *Handler) orgTarget(c *call) (*store.Team, error) {
	raw := c.r.PathValue("orgId")
	owner, err := h.orgOrDepartment(c, raw, "orgId")
	if err != nil {
		return nil, fail(http.StatusNotFound, -639, "Supplied orgid invalid..")
	}
	if owner == "" {
		return nil, nil
	}
	return h.d.Directory.Team(c.ctx, owner)
}

func (h *Handler) organization(w http.ResponseWriter, c *call) error {
	team, err := h.orgTarget(c)
	if err != nil {
		return err
	}
	if team != nil {
		return writeJSON(w, http.StatusOK, orgDetails(departmentOffset+team.IntID, team.Name, nil))
	}
	deps, err := h.departments(c)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, orgDetails(c.org.IntID, c.org.Name, deps))
}

type orgBody struct {
	Name          string `json:"name"`
	ParentOrgName string `json:"parentOrgName"`
}

// createOrganization creates a department (parentOrgName set: a team of
// the customer's organization) or an organization (a new Signet
// organization, which is then its own customerUri; global admins only).
func (h *Handler) createOrganization(w http.ResponseWriter, c *call) error {
	var b orgBody
	if err := decode(c.r, &b); err != nil {
		return err
	}
	if b.Name == "" {
		return errMissing("name")
	}
	if len(b.Name) > 128 {
		return errInvalidField("name")
	}
	if b.ParentOrgName != "" {
		if b.ParentOrgName != c.org.Name {
			return fail(http.StatusBadRequest, -639, "Supplied orgid invalid..")
		}
		t, err := h.d.Directory.CreateTeam(c.ctx, c.org.ID, b.Name, "")
		if err != nil {
			return err
		}
		return created(w, c, fmt.Sprintf("/api/organization/v1/%d", departmentOffset+t.IntID))
	}
	o, err := h.d.Directory.CreateOrganization(c.ctx, b.Name)
	if err != nil {
		return err
	}
	return created(w, c, "/api/organization/v1/"+strconv.FormatInt(o.IntID, 10))
}

func (h *Handler) updateOrganization(w http.ResponseWriter, c *call) error {
	var b orgBody
	if err := decode(c.r, &b); err != nil {
		return err
	}
	team, err := h.orgTarget(c)
	if err != nil {
		return err
	}
	if team != nil {
		if b.Name != "" {
			if team, err = h.d.Directory.UpdateTeam(c.ctx, team.ID, &b.Name, nil); err != nil {
				return err
			}
		}
		return writeJSON(w, http.StatusOK, orgDetails(departmentOffset+team.IntID, team.Name, nil))
	}
	org := c.org
	if b.Name != "" && b.Name != org.Name {
		if org, err = h.d.Directory.RenameOrganization(c.ctx, org.ID, b.Name); err != nil {
			return err
		}
	}
	deps, err := h.departments(c)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, orgDetails(org.IntID, org.Name, deps))
}

func (h *Handler) deleteOrganization(w http.ResponseWriter, c *call) error {
	team, err := h.orgTarget(c)
	if err != nil {
		return err
	}
	if team != nil {
		err = h.d.Directory.DeleteTeam(c.ctx, team.ID)
	} else {
		err = h.d.Directory.DeleteOrganization(c.ctx, c.org.ID)
	}
	if err != nil {
		return err
	}
	return noContent(w)
}

// Locations: where a certificate is installed, kept in its record.

type locationBody struct {
	Details map[string]string `json:"details"`
}

func (h *Handler) locations(w http.ResponseWriter, c *call) error {
	v, err := h.load(c, c.r.PathValue("sslId"))
	if err != nil {
		return err
	}
	out := v.rec.Locations
	if out == nil {
		out = []location{}
	}
	return writeJSON(w, http.StatusOK, out)
}

func (h *Handler) createLocation(w http.ResponseWriter, c *call) error {
	var b locationBody
	if err := decode(c.r, &b); err != nil {
		return err
	}
	if len(b.Details) == 0 {
		return errMissing("details")
	}
	if len(b.Details) > 50 {
		return errInvalidField("details")
	}
	v, err := h.load(c, c.r.PathValue("sslId"))
	if err != nil {
		return err
	}
	v.rec.NextLocation++
	loc := location{ID: v.rec.NextLocation, Type: "CUSTOM", Details: b.Details}
	v.rec.Locations = append(v.rec.Locations, loc)
	if err := h.saveRecord(c.ctx, v); err != nil {
		return err
	}
	return created(w, c, fmt.Sprintf("/api/ssl/v1/%d/location/%d", v.id, loc.ID))
}

// locationIndex finds {locationId} in the record.
func locationIndex(c *call, v *view) (int, error) {
	id, err := strconv.ParseInt(c.r.PathValue("locationId"), 10, 64)
	for i, l := range v.rec.Locations {
		if err == nil && l.ID == id {
			return i, nil
		}
	}
	return 0, fail(http.StatusNotFound, -5101, "Certificate not found. No location %s.", c.r.PathValue("locationId"))
}

func (h *Handler) location(w http.ResponseWriter, c *call) error {
	v, err := h.load(c, c.r.PathValue("sslId"))
	if err != nil {
		return err
	}
	i, err := locationIndex(c, v)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v.rec.Locations[i])
}

func (h *Handler) updateLocation(w http.ResponseWriter, c *call) error {
	var b locationBody
	if err := decode(c.r, &b); err != nil {
		return err
	}
	v, err := h.load(c, c.r.PathValue("sslId"))
	if err != nil {
		return err
	}
	i, err := locationIndex(c, v)
	if err != nil {
		return err
	}
	if len(b.Details) > 50 {
		return errInvalidField("details")
	}
	v.rec.Locations[i].Details = b.Details
	if err := h.saveRecord(c.ctx, v); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) deleteLocation(w http.ResponseWriter, c *call) error {
	v, err := h.load(c, c.r.PathValue("sslId"))
	if err != nil {
		return err
	}
	i, err := locationIndex(c, v)
	if err != nil {
		return err
	}
	v.rec.Locations = append(v.rec.Locations[:i], v.rec.Locations[i+1:]...)
	if err := h.saveRecord(c.ctx, v); err != nil {
		return err
	}
	return noContent(w)
}
