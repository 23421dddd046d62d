package webui

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/audit"
	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/ca"
	"github.com/signet-pki/signet/internal/certutil"
	"github.com/signet-pki/signet/internal/policy"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/profile"
	"github.com/signet-pki/signet/internal/store"
	"github.com/signet-pki/signet/internal/upstream"
)

// formError is a refused admin form, shown above the form it belongs to.
type formError struct {
	Form     string
	Messages []string
}

func newFormError(form string, err error) (*formError, error) {
	pe := problem.As(err)
	if pe == nil || (pe.Kind != problem.KindInvalid && pe.Kind != problem.KindConflict && pe.Kind != problem.KindNotFound) {
		return nil, err
	}
	fe := &formError{Form: form}
	if len(pe.Violations) == 0 {
		fe.Messages = []string{pe.Message}
	}
	for _, v := range pe.Violations {
		msg := v.Message
		if v.Field != "" {
			msg = v.Field + ": " + msg
		}
		fe.Messages = append(fe.Messages, msg)
	}
	return fe, nil
}

// Errors returns the messages for one form of the page.
func (f *formError) Errors(form string) []string {
	if f == nil || f.Form != form {
		return nil
	}
	return f.Messages
}

type casView struct {
	CAs   []store.CA
	Names map[string]string
	Err   *formError
}

func (u *UI) cas(w http.ResponseWriter, r *http.Request) error {
	return u.showCAs(w, r, http.StatusOK, nil)
}

func (u *UI) showCAs(w http.ResponseWriter, r *http.Request, status int, fe *formError) error {
	list, _, err := u.d.CAs.List(r.Context(), store.ListQuery{Limit: 1000})
	if err != nil {
		return err
	}
	v := casView{CAs: list, Names: map[string]string{}, Err: fe}
	for _, c := range list {
		v.Names[c.ID] = c.Name
	}
	return u.render(w, r, status, "cas", "Certificate authorities", v)
}

func (u *UI) createCA(w http.ResponseWriter, r *http.Request) error {
	alg, bits := keygenChoice(r.PostFormValue("key"))
	days, _ := strconv.Atoi(r.PostFormValue("validity_days"))
	in := ca.CreateInput{Name: strings.TrimSpace(r.PostFormValue("name")), Kind: r.PostFormValue("kind"),
		Parent: r.PostFormValue("parent"), Key: ca.KeySpec{Algorithm: alg, Bits: bits},
		Subject: ca.Subject{CommonName: strings.TrimSpace(r.PostFormValue("common_name"))}, ValidityDays: days}
	if o := strings.TrimSpace(r.PostFormValue("organization")); o != "" {
		in.Subject.Organization = []string{o}
	}
	if in.Kind == store.CARoot {
		in.Parent = ""
	}
	rec, err := u.d.CAs.Create(r.Context(), in)
	if err != nil {
		fe, err := newFormError("create", err)
		if err != nil {
			return err
		}
		return u.showCAs(w, r, http.StatusBadRequest, fe)
	}
	return redirect(w, r, Prefix+"admin/cas/"+rec.ID, "CA created.")
}

func (u *UI) importCA(w http.ResponseWriter, r *http.Request) error {
	cert := strings.TrimSpace(r.PostFormValue("certificate"))
	if f, err := uploaded(r, "certificate_file"); err != nil {
		return err
	} else if f != "" {
		cert = f
	}
	rec, err := u.d.CAs.Import(r.Context(), ca.ImportInput{Name: strings.TrimSpace(r.PostFormValue("name")), CertificatePEM: cert,
		PrivateKeyPEM: r.PostFormValue("private_key")})
	if err != nil {
		fe, err := newFormError("import", err)
		if err != nil {
			return err
		}
		return u.showCAs(w, r, http.StatusBadRequest, fe)
	}
	return redirect(w, r, Prefix+"admin/cas/"+rec.ID, "CA imported.")
}

type caView struct {
	CA      *store.CA
	Chain   []chainEntry
	Decoded *decoded
	PEM     string
}

func (u *UI) caPage(w http.ResponseWriter, r *http.Request) error {
	rec, err := u.d.CAs.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	v := caView{CA: rec, PEM: string(certutil.EncodeCertsPEM(rec.CertDER))}
	if v.Decoded, err = decode(rec.CertDER); err != nil {
		return err
	}
	if chain, err := u.d.CAs.Chain(r.Context(), rec.ID); err == nil {
		for _, cc := range chain {
			d, _ := decode(cc.Raw)
			v.Chain = append(v.Chain, chainEntry{Subject: cc.Subject.String(), Issuer: cc.Issuer.String(),
				NotAfter: cc.NotAfter.UTC().Format("2006-01-02"), SHA256: d.SHA256})
		}
	}
	return u.render(w, r, http.StatusOK, "ca", "CA "+rec.Name, v)
}

func (u *UI) caStatus(w http.ResponseWriter, r *http.Request) error {
	status := r.PostFormValue("status")
	rec, err := u.d.CAs.SetStatus(r.Context(), r.PathValue("id"), status)
	if err != nil {
		return err
	}
	return redirect(w, r, Prefix+"admin/cas/"+rec.ID, "CA is now "+rec.Status+".")
}

type templatesView struct {
	Items   []profile.Template
	Edit    string // name of the template in the editor
	Spec    string // the editor's JSON
	Desc    string
	Err     *formError
	Example string
}

func (u *UI) templates(w http.ResponseWriter, r *http.Request) error {
	v := templatesView{Edit: r.URL.Query().Get("edit")}
	if v.Edit != "" {
		t, err := u.d.Profiles.GetTemplate(r.Context(), v.Edit)
		if err != nil {
			return err
		}
		b, _ := json.MarshalIndent(t.Parsed, "", "  ")
		v.Spec, v.Desc, v.Edit = string(b), t.Description, t.Name
	}
	return u.showTemplates(w, r, http.StatusOK, v)
}

func (u *UI) showTemplates(w http.ResponseWriter, r *http.Request, status int, v templatesView) error {
	items, _, err := u.d.Profiles.ListTemplates(r.Context(), store.ListQuery{Limit: 1000})
	if err != nil {
		return err
	}
	v.Items = items
	b, _ := json.MarshalIndent(policy.DefaultTLSServer(), "", "  ")
	v.Example = string(b)
	if v.Spec == "" {
		v.Spec = v.Example
	}
	return u.render(w, r, status, "templates", "Templates", v)
}

// saveTemplate creates or replaces a template from the editor's JSON; the
// profile service validates it and every violation is shown.
func (u *UI) saveTemplate(w http.ResponseWriter, r *http.Request) error {
	name := strings.TrimSpace(r.PostFormValue("name"))
	v := templatesView{Edit: name, Spec: r.PostFormValue("spec"), Desc: r.PostFormValue("description")}
	in := profile.TemplateInput{Name: name, Description: v.Desc}
	dec := json.NewDecoder(strings.NewReader(v.Spec))
	dec.DisallowUnknownFields()
	err := dec.Decode(&in.Spec)
	if err != nil {
		err = problem.Invalid("spec_invalid", "the rules are not valid template JSON: %v", err)
	} else if r.PostFormValue("update") == "1" {
		_, err = u.d.Profiles.UpdateTemplate(r.Context(), name, in)
	} else {
		_, err = u.d.Profiles.CreateTemplate(r.Context(), in)
	}
	if err != nil {
		fe, err := newFormError("template", err)
		if err != nil {
			return err
		}
		v.Err = fe
		return u.showTemplates(w, r, http.StatusBadRequest, v)
	}
	return redirect(w, r, Prefix+"admin/templates", "Template "+name+" saved.")
}

type profilesView struct {
	Items     []store.Profile
	Templates []profile.Template
	CAs       []store.CA
	TplNames  map[string]string
	CANames   map[string]string
	Form      profile.ProfileInput
	Update    bool
	Err       *fieldErrors
	Methods   []string
	Formats   []string
	// Connectors are the external CAs an external profile can use.
	Connectors  []upstream.Connector
	ConnNames   map[string]string
	IssuerTypes []string
}

// profileField maps a profile violation's field to its control.
func profileField(field string) string {
	switch field {
	case "name", "description", "template", "ca", "issuer_type", "connector", "approval", "default_validity_days",
		"enrollment_methods", "delivery_format", "status":
		return field
	}
	return ""
}

func (u *UI) profiles(w http.ResponseWriter, r *http.Request) error {
	v := profilesView{Form: profile.ProfileInput{Approval: profile.ApprovalAuto, EnrollmentMethods: []string{"api"},
		DeliveryFormat: "pem", Status: "active"}}
	if name := r.URL.Query().Get("edit"); name != "" {
		p, err := u.d.Profiles.GetProfile(r.Context(), name)
		if err != nil {
			return err
		}
		v.Update = true
		v.Form = profile.ProfileInput{Name: p.Name, Description: p.Description, Template: p.TemplateID, CA: p.CAID,
			IssuerType: p.IssuerType, Connector: p.ConnectorID,
			Approval: p.Approval, DefaultValidityDays: p.DefaultValidityDays, EnrollmentMethods: p.EnrollmentMethods,
			DeliveryFormat: p.DeliveryFormat, Status: p.Status}
	}
	return u.showProfiles(w, r, http.StatusOK, v)
}

func (u *UI) showProfiles(w http.ResponseWriter, r *http.Request, status int, v profilesView) error {
	ctx := r.Context()
	var err error
	if v.Items, _, err = u.d.Profiles.ListProfiles(ctx, store.ListQuery{Limit: 1000}); err != nil {
		return err
	}
	if v.Templates, _, err = u.d.Profiles.ListTemplates(ctx, store.ListQuery{Limit: 1000}); err != nil {
		return err
	}
	if v.CAs, _, err = u.d.CAs.List(ctx, store.ListQuery{Limit: 1000}); err != nil {
		return err
	}
	v.TplNames, v.CANames = map[string]string{}, map[string]string{}
	for _, t := range v.Templates {
		v.TplNames[t.ID] = t.Name
	}
	for _, c := range v.CAs {
		v.CANames[c.ID] = c.Name
	}
	v.ConnNames = map[string]string{}
	if u.d.Upstream != nil {
		// Those who may read profiles but not connectors see connector ids.
		if v.Connectors, _, err = u.d.Upstream.List(ctx, "", 200, ""); problem.KindOf(err) == problem.KindForbidden {
			err = nil
		}
		if err != nil {
			return err
		}
	}
	for _, c := range v.Connectors {
		v.ConnNames[c.ID] = c.Name
	}
	v.Methods, v.Formats = profile.EnrollmentMethods, profile.DeliveryFormats
	v.IssuerTypes = []string{store.IssuerInternal, store.IssuerExternal, store.IssuerSelfSigned}
	return u.render(w, r, status, "profiles", "Profiles", v)
}

func (u *UI) saveProfile(w http.ResponseWriter, r *http.Request) error {
	days, _ := strconv.Atoi(r.PostFormValue("default_validity_days"))
	in := profile.ProfileInput{Name: strings.TrimSpace(r.PostFormValue("name")), Description: r.PostFormValue("description"),
		Template: r.PostFormValue("template"), IssuerType: r.PostFormValue("issuer_type"), Approval: r.PostFormValue("approval"),
		DefaultValidityDays: days, EnrollmentMethods: r.PostForm["methods"], DeliveryFormat: r.PostFormValue("delivery_format"),
		Status: r.PostFormValue("status")}
	// The form shows both the CA and the connector choice; only the one the
	// issuer type uses is sent, as an API client would.
	switch in.IssuerType {
	case store.IssuerInternal, "":
		in.CA = r.PostFormValue("ca")
	case store.IssuerExternal:
		in.Connector = r.PostFormValue("connector")
	}
	update := r.PostFormValue("update") == "1"
	var err error
	if update {
		_, err = u.d.Profiles.UpdateProfile(r.Context(), in.Name, in)
	} else {
		_, err = u.d.Profiles.CreateProfile(r.Context(), in)
	}
	if err != nil {
		fe, err := placeErrors("profile", err, profileField)
		if err != nil {
			return err
		}
		return u.showProfiles(w, r, http.StatusBadRequest, profilesView{Form: in, Update: update, Err: fe})
	}
	return redirect(w, r, Prefix+"admin/profiles", "Profile "+in.Name+" saved.")
}

type identityView struct {
	Orgs     []store.Organization
	Teams    []store.Team
	Users    []store.Principal
	Services []store.Principal
	Keys     []store.APIKey
	Roles    []string
	Err      *formError
	// NewSecret is an API key created by this very request: shown once.
	NewSecret string
	CanGlobal bool
	// What the caller may change (the directory decides; these only hide
	// forms a role could not use).
	CanPrincipals, CanTeams, CanKeys bool
	Self                             string
}

// identity shows organizations, teams, users, service accounts and API
// keys. Reading principals needs principal:read, so a requester gets the
// 403 page from the directory itself.
func (u *UI) identity(w http.ResponseWriter, r *http.Request) error {
	return u.showIdentity(w, r, http.StatusOK, identityView{})
}

func (u *UI) showIdentity(w http.ResponseWriter, r *http.Request, status int, v identityView) error {
	ctx := r.Context()
	var err error
	if v.Users, _, err = u.d.Directory.ListPrincipals(ctx, store.ListQuery{Kind: store.PrincipalUser, Limit: 1000}); err != nil {
		return err
	}
	if v.Services, _, err = u.d.Directory.ListPrincipals(ctx, store.ListQuery{Kind: store.PrincipalService, Limit: 1000}); err != nil {
		return err
	}
	if v.Orgs, _, err = u.d.Directory.ListOrganizations(ctx, store.ListQuery{Limit: 1000}); err != nil {
		return err
	}
	if v.Teams, _, err = u.d.Directory.ListTeams(ctx, store.ListQuery{Limit: 1000}); err != nil {
		return err
	}
	if v.Keys, _, err = u.d.APIKeys.List(ctx, store.ListQuery{Limit: 1000}); err != nil {
		return err
	}
	p := principal(ctx)
	v.Roles = auth.AllRoles
	v.CanGlobal = p.Global() && p.HasRole(auth.RoleAdmin)
	v.CanPrincipals, v.CanTeams, v.CanKeys = p.Allows(auth.PermPrincipalMgmt), p.Allows(auth.PermTeamManage), p.Allows(auth.PermKeyManage)
	v.Self = p.ID
	return u.render(w, r, status, "identity", "Organizations, teams, users and keys", v)
}

// identityAction creates an organization, team, user or service account,
// or creates or revokes an API key (whose secret is shown once, here).
func (u *UI) identityAction(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	what := r.PathValue("what")
	f := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	var err error
	var secret, note string
	switch what {
	case "org":
		_, err = u.d.Directory.CreateOrganization(ctx, f("name"))
		note = "Organization created."
	case "team":
		_, err = u.d.Directory.CreateTeam(ctx, f("org"), f("name"), f("description"))
		note = "Team created."
	case "user", "service":
		kind := store.PrincipalUser
		if what == "service" {
			kind = store.PrincipalService
		}
		_, err = u.d.Directory.CreatePrincipal(ctx, auth.NewPrincipal{Kind: kind, Org: f("org"), Name: f("name"),
			DisplayName: f("display_name"), Email: f("email"), Roles: r.PostForm["roles"], TeamIDs: splitList(f("teams")),
			Password: r.PostFormValue("password")})
		note = "Principal created."
	case "key":
		var exp *time.Time
		if d, convErr := strconv.Atoi(f("expires_days")); convErr == nil && d > 0 {
			t := u.d.Now().AddDate(0, 0, d)
			exp = &t
		}
		_, secret, err = u.d.APIKeys.Create(ctx, auth.NewKey{Name: f("name"), PrincipalID: f("principal"), Roles: r.PostForm["roles"], ExpiresAt: exp})
	case "revoke-key":
		_, err = u.d.APIKeys.Revoke(ctx, f("id"))
		note = "API key revoked."
	case "disable", "enable":
		note, err = u.setDisabled(r, f("id"), what == "disable")
	default:
		return problem.NotFound("action_unknown", "no identity action %q", what)
	}
	if err != nil {
		fe, err := newFormError(what, err)
		if err != nil {
			return err
		}
		return u.showIdentity(w, r, http.StatusBadRequest, identityView{Err: fe})
	}
	if secret != "" {
		// The secret exists only in this response: render, don't redirect.
		return u.showIdentity(w, r, http.StatusCreated, identityView{NewSecret: secret})
	}
	return redirect(w, r, Prefix+"admin/identity", note)
}

type auditView struct {
	Events     []audit.EventView
	F          map[string]string
	Next       string
	Verify     *audit.Result
	Verified   bool
	VerifyNote string
}

// auditLog browses the audit log with filters; ?verify=1 also walks the
// whole hash chain and shows whether it verifies.
func (u *UI) auditLog(w http.ResponseWriter, r *http.Request) error {
	qv := r.URL.Query()
	f := map[string]string{}
	for _, k := range []string{"principal", "action", "object_type", "object_id", "outcome", "from", "to", "after"} {
		f[k] = strings.TrimSpace(qv.Get(k))
	}
	q := store.AuditQuery{Principal: f["principal"], Action: f["action"], ObjectType: f["object_type"], ObjectID: f["object_id"],
		Outcome: f["outcome"], Limit: 100}
	var vs []problem.Violation
	for _, d := range []struct {
		k   string
		dst **time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		if f[d.k] == "" {
			continue
		}
		t, err := time.Parse("2006-01-02", f[d.k])
		if err != nil {
			vs = append(vs, problem.Violation{Field: d.k, Code: "invalid", Message: "dates are YYYY-MM-DD"})
			continue
		}
		*d.dst = &t
	}
	if f["after"] != "" {
		n, err := strconv.ParseInt(f["after"], 10, 64)
		if err != nil || n < 0 {
			vs = append(vs, problem.Violation{Field: "after", Code: "invalid", Message: "after is a sequence number"})
		}
		q.AfterSeq = n
	}
	if len(vs) > 0 {
		return problem.Violations("query_invalid", "the filters are invalid", vs)
	}
	filtered := false
	for _, v := range f {
		filtered = filtered || v != ""
	}
	if !filtered {
		// Unfiltered, the log opens at its latest page rather than its first event.
		head, err := u.auditHead(r.Context())
		if err != nil {
			return err
		}
		q.AfterSeq = max(0, head-int64(q.Limit))
	}
	evs, err := u.d.Audit.List(r.Context(), q)
	if err != nil {
		return err
	}
	v := auditView{F: f}
	for i := range evs {
		v.Events = append(v.Events, audit.View(&evs[i]))
	}
	if len(evs) == q.Limit {
		vals := r.URL.Query()
		vals.Set("after", strconv.FormatInt(evs[len(evs)-1].Seq, 10))
		vals.Del("verify")
		v.Next = withQuery(Prefix+"audit", vals)
	}
	if qv.Get("verify") == "1" {
		v.Verify, err = u.d.Audit.Verify(r.Context())
		if pe := problem.As(err); pe != nil && pe.Kind == problem.KindForbidden {
			v.VerifyNote, err = pe.Message, nil // the listing stays readable
		}
		if err != nil {
			return err
		}
		v.Verified = v.Verify != nil
	}
	return u.render(w, r, http.StatusOK, "audit", "Audit log", v)
}

// setDisabled disables a user or service account (its sessions and API
// keys stop working at once) or enables it again. Nobody disables
// themselves from here: that would end the session that could undo it.
func (u *UI) setDisabled(r *http.Request, id string, disabled bool) (string, error) {
	if id == principal(r.Context()).ID {
		return "", problem.Conflict("principal_self_disable", "you cannot disable your own account")
	}
	p, err := u.d.Directory.UpdatePrincipal(r.Context(), id, auth.PrincipalChange{Disabled: &disabled})
	if err != nil {
		return "", err
	}
	if disabled {
		return p.Name + " is disabled: its sessions and API keys no longer work.", nil
	}
	return p.Name + " is enabled again.", nil
}
