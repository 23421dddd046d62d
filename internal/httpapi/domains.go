package httpapi

import (
	"net/http"
	"time"

	"github.com/signet-pki/signet/internal/domain"
)

// domainRoutes manage an organization's registered domains, their
// delegation to teams, the approval step and domain control validation.
func (a *API) domainRoutes() []route {
	if a.svc.Domains == nil {
		return nil
	}
	return []route{
		{method: "GET", pattern: "/api/v1/domains", summary: "List registered domains (?org=)", tag: "domains", handler: a.listDomains},
		{method: "POST", pattern: "/api/v1/domains", summary: "Register a domain (a requester's registration awaits approval)", tag: "domains", handler: a.createDomain},
		{method: "GET", pattern: "/api/v1/domains/{id}", summary: "A domain, its delegations and validation", tag: "domains", handler: a.getDomain},
		{method: "DELETE", pattern: "/api/v1/domains/{id}", summary: "Unregister a domain", tag: "domains", handler: a.deleteDomain},
		{method: "POST", pattern: "/api/v1/domains/{id}/approve", summary: "Approve a requested domain", tag: "domains", handler: a.domainAction("approve")},
		{method: "POST", pattern: "/api/v1/domains/{id}/suspend", summary: "Suspend a domain (it certifies nothing)", tag: "domains", handler: a.domainAction("suspend")},
		{method: "POST", pattern: "/api/v1/domains/{id}/activate", summary: "Activate a suspended domain", tag: "domains", handler: a.domainAction("activate")},
		{method: "POST", pattern: "/api/v1/domains/{id}/delegations", summary: "Delegate the domain to a team", tag: "domains", handler: a.delegateDomain},
		{method: "POST", pattern: "/api/v1/domains/{id}/delegations/{team}/approve", summary: "Approve a requested delegation", tag: "domains", handler: a.decideDelegation(true)},
		{method: "POST", pattern: "/api/v1/domains/{id}/delegations/{team}/reject", summary: "Reject a requested delegation", tag: "domains", handler: a.decideDelegation(false)},
		{method: "DELETE", pattern: "/api/v1/domains/{id}/delegations/{team}", summary: "Withdraw a team's delegation", tag: "domains", handler: a.undelegateDomain},
		{method: "POST", pattern: "/api/v1/domains/{id}/validation", summary: "Start domain control validation (method: http, https, cname, txt, email)", tag: "domains", handler: a.startValidation},
		{method: "POST", pattern: "/api/v1/domains/{id}/validation/submit", summary: "Submit the validation: checked at once (email: the code is mailed)", tag: "domains", handler: a.submitValidation},
		{method: "POST", pattern: "/api/v1/domains/{id}/validation/check", summary: "Check a submitted validation again", tag: "domains", handler: a.domainAction("check")},
		{method: "DELETE", pattern: "/api/v1/domains/{id}/validation", summary: "Forget the domain's validation", tag: "domains", handler: a.domainAction("invalidate")},
		{method: "POST", pattern: "/api/v1/domain-validations/email", summary: "Confirm an email validation with the mailed code (the code is the credential)", tag: "domains", public: true, handler: a.confirmEmailValidation},
	}
}

type domainDTO struct {
	*domain.Domain
	ValidationStatus string            `json:"validation_status"`
	Challenge        *domain.Challenge `json:"challenge,omitempty"`
}

func (a *API) domainOut(d *domain.Domain) domainDTO {
	now := time.Now().UTC()
	if a.svc.Now != nil {
		now = a.svc.Now()
	}
	out := domainDTO{Domain: d, ValidationStatus: d.ValidationStatus(now), Challenge: domain.ChallengeOf(d)}
	if d.Order != nil {
		o := *d.Order
		o.CodeHash = "" // never shown: it would let anyone test guesses offline
		cp := *d
		cp.Order = &o
		out.Domain = &cp
	}
	return out
}

func (a *API) listDomains(w http.ResponseWriter, r *http.Request) error {
	ds, err := a.svc.Domains.List(r.Context(), r.URL.Query().Get("org"))
	if err != nil {
		return err
	}
	items := make([]domainDTO, 0, len(ds))
	for i := range ds {
		items = append(items, a.domainOut(&ds[i]))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

func (a *API) createDomain(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Org         string `json:"org"`
		Name        string `json:"name"`
		Description string `json:"description"`
		Suspended   bool   `json:"suspended"`
		Delegations []struct {
			Team       string   `json:"team"`
			CertTypes  []string `json:"cert_types"`
			Privileges []string `json:"privileges"`
		} `json:"delegations"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	ci := domain.CreateInput{OrgID: in.Org, Name: in.Name, Description: in.Description, Suspended: in.Suspended}
	if in.Org != "" {
		o, err := a.svc.Directory.Organization(r.Context(), in.Org)
		if err != nil {
			return err
		}
		ci.OrgID = o.ID
	}
	for _, d := range in.Delegations {
		ci.Delegations = append(ci.Delegations, domain.Delegation{TeamID: d.Team, CertTypes: d.CertTypes, Privileges: d.Privileges})
	}
	d, err := a.svc.Domains.Create(r.Context(), ci)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, a.domainOut(d))
}

func (a *API) getDomain(w http.ResponseWriter, r *http.Request) error {
	d, err := a.svc.Domains.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a.domainOut(d))
}

func (a *API) deleteDomain(w http.ResponseWriter, r *http.Request) error {
	if err := a.svc.Domains.Delete(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// domainAction runs one body-less change and answers the domain.
func (a *API) domainAction(action string) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		ctx, id, s := r.Context(), r.PathValue("id"), a.svc.Domains
		var d *domain.Domain
		var err error
		switch action {
		case "approve":
			d, err = s.Approve(ctx, id)
		case "suspend", "activate":
			d, err = s.SetState(ctx, id, action == "activate")
		case "check":
			d, err = s.Check(ctx, id)
		case "invalidate":
			d, err = s.Invalidate(ctx, id)
		}
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, a.domainOut(d))
	}
}

func (a *API) delegateDomain(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Team       string   `json:"team"`
		CertTypes  []string `json:"cert_types"`
		Privileges []string `json:"privileges"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	d, err := a.svc.Domains.Delegate(r.Context(), r.PathValue("id"), domain.Delegation{TeamID: in.Team, CertTypes: in.CertTypes, Privileges: in.Privileges})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a.domainOut(d))
}

func (a *API) decideDelegation(approve bool) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		d, err := a.svc.Domains.DecideDelegation(r.Context(), r.PathValue("id"), r.PathValue("team"), approve)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, a.domainOut(d))
	}
}

func (a *API) undelegateDomain(w http.ResponseWriter, r *http.Request) error {
	d, err := a.svc.Domains.RemoveDelegation(r.Context(), r.PathValue("id"), r.PathValue("team"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a.domainOut(d))
}

func (a *API) startValidation(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Method string `json:"method"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	d, _, err := a.svc.Domains.Start(r.Context(), r.PathValue("id"), in.Method)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a.domainOut(d))
}

func (a *API) submitValidation(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Method string `json:"method"`
		Email  string `json:"email"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	d, err := a.svc.Domains.Submit(r.Context(), r.PathValue("id"), in.Method, in.Email)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a.domainOut(d))
}

func (a *API) confirmEmailValidation(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Code string `json:"code"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	d, err := a.svc.Domains.ConfirmEmail(r.Context(), in.Code)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]string{"domain": d.Name, "validation_status": d.ValidationStatus(time.Now().UTC())})
}
