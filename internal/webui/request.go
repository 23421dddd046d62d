package webui

import (
	"encoding/base64"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/ca"
	"github.com/signet-pki/signet/internal/issuance"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/profile"
	"github.com/signet-pki/signet/internal/store"
)

// maxCSR bounds an uploaded CSR file.
const maxCSR = 64 << 10

type requestView struct {
	Profiles []store.Profile
	Chosen   *store.Profile
	Rules    *profile.Template
	Form     requestForm
	Errors   map[string][]string // form field -> messages
	General  []string            // messages that belong to no field
	Keys     []option
}

type requestForm struct {
	Profile, Mode, CSR, CommonName, Organization, SANs, Key, ValidityDays, Owner string
}

var keyChoices = []option{{"ecdsa-256", "ECDSA P-256"}, {"ecdsa-384", "ECDSA P-384"}, {"rsa-2048", "RSA 2048"},
	{"rsa-3072", "RSA 3072"}, {"rsa-4096", "RSA 4096"}}

func keygenChoice(v string) (string, int) {
	alg, bits, _ := strings.Cut(v, "-")
	n, _ := strconv.Atoi(bits)
	if alg == "" {
		return "ecdsa", 256
	}
	return alg, n
}

func (u *UI) requestForm(w http.ResponseWriter, r *http.Request) error {
	// A role that cannot enroll gets the 403 page, not a form that fails.
	if _, err := auth.Require(r.Context(), auth.PermEnroll); err != nil {
		return err
	}
	v, err := u.requestPage(r, requestForm{Profile: r.URL.Query().Get("profile"), Mode: "csr", Key: "ecdsa-256"})
	if err != nil {
		return err
	}
	return u.render(w, r, http.StatusOK, "request", "Request a certificate", v)
}

// requestPage lists the profiles the UI can enroll with and, once one is
// chosen, its template's rules.
func (u *UI) requestPage(r *http.Request, f requestForm) (*requestView, error) {
	ctx := r.Context()
	ps, _, err := u.d.Profiles.ListProfiles(ctx, store.ListQuery{Limit: 1000})
	if err != nil {
		return nil, err
	}
	v := &requestView{Form: f, Errors: map[string][]string{}, Keys: keyChoices}
	for i := range ps {
		if ps[i].Status == "active" && slices.Contains(ps[i].EnrollmentMethods, methodAPI) {
			v.Profiles = append(v.Profiles, ps[i])
		}
	}
	if f.Profile == "" && len(v.Profiles) == 1 {
		f.Profile, v.Form.Profile = v.Profiles[0].Name, v.Profiles[0].Name
	}
	for i := range v.Profiles {
		if v.Profiles[i].Name == f.Profile || v.Profiles[i].ID == f.Profile {
			v.Chosen = &v.Profiles[i]
			v.Form.Profile = v.Profiles[i].Name
		}
	}
	if v.Chosen != nil {
		if v.Rules, err = u.d.Profiles.GetTemplate(ctx, v.Chosen.TemplateID); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// uploaded returns a small uploaded file's text ("" when none was sent).
func uploaded(r *http.Request, field string) (string, error) {
	b, err := uploadedBytes(r, field, "a CSR file", maxCSR)
	return strings.TrimSpace(string(b)), err
}

func (u *UI) submitRequest(w http.ResponseWriter, r *http.Request) error {
	f := requestForm{Profile: r.PostFormValue("profile"), Mode: r.PostFormValue("mode"), CSR: strings.TrimSpace(r.PostFormValue("csr")),
		CommonName: strings.TrimSpace(r.PostFormValue("common_name")), Organization: strings.TrimSpace(r.PostFormValue("organization")),
		SANs: r.PostFormValue("sans"), Key: r.PostFormValue("key"), ValidityDays: strings.TrimSpace(r.PostFormValue("validity_days")),
		Owner: strings.TrimSpace(r.PostFormValue("owner"))}
	in := issuance.EnrollInput{Profile: f.Profile, Owner: f.Owner, Method: methodAPI}
	var formErr []problem.Violation
	if f.ValidityDays != "" {
		n, err := strconv.Atoi(f.ValidityDays)
		if err != nil {
			formErr = append(formErr, problem.Violation{Field: "validity_days", Message: "validity is a whole number of days"})
		}
		in.ValidityDays = n
	}
	if f.Mode == "keygen" {
		alg, bits := keygenChoice(f.Key)
		in.Keygen = &issuance.Keygen{Algorithm: alg, Bits: bits}
		in.Subject = ca.Subject{CommonName: f.CommonName}
		if f.Organization != "" {
			in.Subject.Organization = []string{f.Organization}
		}
		in.SANs = splitList(f.SANs)
		in.PKCS12Password = r.PostFormValue("pkcs12_password")
		if in.PKCS12Password == "" {
			formErr = append(formErr, problem.Violation{Field: "pkcs12_password", Message: "choose a pass phrase to protect the PKCS#12 file"})
		}
	} else {
		f.Mode = "csr"
		file, err := uploaded(r, "csr_file")
		if err != nil {
			return err
		}
		if file != "" {
			f.CSR = file
		}
		if f.CSR == "" {
			formErr = append(formErr, problem.Violation{Field: "csr", Message: "paste a CSR or choose a CSR file"})
		}
		in.CSR = f.CSR
	}
	var res *issuance.Issued
	var err error = problem.Violations("form_invalid", "the form is incomplete", formErr)
	if len(formErr) == 0 {
		res, err = u.d.Issuance.Enroll(r.Context(), in)
	}
	if err != nil {
		pe := problem.As(err)
		if pe == nil || (pe.Kind != problem.KindInvalid && pe.Kind != problem.KindNotFound && pe.Kind != problem.KindConflict) {
			return err
		}
		v, verr := u.requestPage(r, f)
		if verr != nil {
			return verr
		}
		v.place(pe, f.Mode)
		return u.render(w, r, http.StatusBadRequest, "request", "Request a certificate", v)
	}
	if res.Certificate == nil {
		if res.Request.Status == store.RequestPendingUpstream {
			if len(res.PrivateKeyPEM) > 0 {
				return u.showPendingKey(w, r, res)
			}
			return redirect(w, r, Prefix+"requests/"+res.Request.ID,
				"Request sent to the external CA; the certificate appears here once it is issued.")
		}
		return redirect(w, r, Prefix+"requests/"+res.Request.ID, "Request submitted; it waits for a manager's approval.")
	}
	return u.showIssued(w, r, res, "Issued")
}

// place puts each violation next to the form field it concerns.
func (v *requestView) place(pe *problem.Error, mode string) {
	if len(pe.Violations) == 0 {
		// A CSR that cannot be read at all is the CSR field's problem.
		if strings.HasPrefix(pe.Code, "csr") {
			v.Errors["csr"] = append(v.Errors["csr"], pe.Message)
		} else {
			v.General = append(v.General, pe.Message)
		}
		return
	}
	for _, vi := range pe.Violations {
		field := formField(vi.Field, mode)
		if field == "" {
			v.General = append(v.General, vi.Message)
			continue
		}
		v.Errors[field] = append(v.Errors[field], vi.Message)
	}
}

// formField maps a service's violation field to the form control it
// concerns: with a CSR every name and key problem is the CSR's.
func formField(field, mode string) string {
	switch {
	case field == "validity_days", field == "owner", field == "profile", field == "pkcs12_password":
		return field
	case field == "csr" || strings.HasPrefix(field, "csr"):
		return "csr"
	case mode == "csr" && (field == "key" || strings.HasPrefix(field, "subject") || strings.HasPrefix(field, "sans")):
		return "csr"
	case field == "key" || field == "keygen":
		return "key"
	case field == "subject.common_name":
		return "common_name"
	case field == "subject.organization":
		return "organization"
	case strings.HasPrefix(field, "subject"):
		return "common_name"
	case strings.HasPrefix(field, "sans"):
		return "sans"
	}
	return ""
}

// splitList splits SANs or team ids typed one per line or comma separated.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' || r == ' ' || r == '\t' })
}

type issuedView struct {
	Verb        string
	C           *store.Certificate
	PKCS12      template.URL // data: URL; only in this response, never stored
	KeyPEM      template.URL // data: URL
	HasKey      bool
	Pending     *store.Request // a request the external CA has not answered yet (no certificate)
	PKCS12Name  string
	PEMDownload string
}

// showIssued is the one page that holds a server-generated key: links with
// the key material inline, never stored, not cacheable.
func (u *UI) showIssued(w http.ResponseWriter, r *http.Request, res *issuance.Issued, verb string) error {
	v := issuedView{Verb: verb, C: res.Certificate, HasKey: len(res.PrivateKeyPEM) > 0,
		PKCS12Name: res.Certificate.Serial + ".p12"}
	if len(res.PKCS12) > 0 {
		// template.URL: a data: URL of base64 we made, which html/template
		// would otherwise replace as unsafe.
		v.PKCS12 = template.URL("data:application/x-pkcs12;base64," + base64.StdEncoding.EncodeToString(res.PKCS12))
	}
	if len(res.PrivateKeyPEM) > 0 && len(res.PKCS12) == 0 {
		v.KeyPEM = template.URL("data:application/x-pem-file;base64," + base64.StdEncoding.EncodeToString(res.PrivateKeyPEM))
	}
	return u.render(w, r, http.StatusCreated, "issued", verb+" "+res.Certificate.CommonName, v)
}

// showPendingKey delivers a server-generated key whose certificate the
// external CA has not issued yet: the key is never stored, so this page is
// its only chance, as the API's 202 answer is.
func (u *UI) showPendingKey(w http.ResponseWriter, r *http.Request, res *issuance.Issued) error {
	v := issuedView{Verb: "Waiting for the external CA", HasKey: true, Pending: res.Request,
		KeyPEM: template.URL("data:application/x-pem-file;base64," + base64.StdEncoding.EncodeToString(res.PrivateKeyPEM))}
	return u.render(w, r, http.StatusAccepted, "issued", "Request "+res.Request.ID, v)
}

type oneRequestView struct {
	R         *store.Request
	Profile   string
	Connector string // the external CA's connector, for requests of external profiles
	CanDecide bool
	Names     map[string]string // requester, owner and decider ids -> names
}

func (u *UI) request(w http.ResponseWriter, r *http.Request) error {
	req, err := u.d.Issuance.GetRequest(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	p := principal(r.Context())
	v := oneRequestView{R: req, CanDecide: req.Status == store.RequestPending && p.Allows(auth.PermApprove) && req.RequesterID != p.ID,
		Names: u.names(r.Context(), req.RequesterID, req.Owner, req.DecidedBy)}
	if prof, err := u.d.Profiles.GetProfile(r.Context(), req.ProfileID); err == nil {
		v.Profile = prof.Name
		if prof.ConnectorID != "" && u.d.Upstream != nil {
			v.Connector = prof.ConnectorID
			if c, err := u.d.Upstream.Get(r.Context(), prof.ConnectorID); err == nil {
				v.Connector = c.Name
			}
		}
	}
	return u.render(w, r, http.StatusOK, "request_detail", "Request "+req.ID, v)
}

type approvalsView struct {
	Items    []store.Request
	Profiles map[string]string
	Names    map[string]string // requester ids -> names
	Self     string
}

// approvals is the managers' queue of pending requests.
func (u *UI) approvals(w http.ResponseWriter, r *http.Request) error {
	if _, err := auth.Require(r.Context(), auth.PermApprove); err != nil {
		return err
	}
	items, _, err := u.d.Issuance.ListRequests(r.Context(), store.ListQuery{Status: store.RequestPending, Limit: 500})
	if err != nil {
		return err
	}
	v := approvalsView{Items: items, Self: principal(r.Context()).ID}
	requesters := make([]string, 0, len(items))
	for _, it := range items {
		requesters = append(requesters, it.RequesterID)
	}
	v.Names = u.names(r.Context(), requesters...)
	if v.Profiles, _, err = u.profileNames(r); err != nil {
		return err
	}
	return u.render(w, r, http.StatusOK, "approvals", "Approvals", v)
}

// decide approves or rejects (with a reason) a pending request.
func (u *UI) decide(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	switch r.PathValue("decision") {
	case "approve":
		res, err := u.d.Issuance.Approve(r.Context(), id)
		if err != nil {
			return err
		}
		note := "Approved."
		if res.Certificate != nil {
			note = "Approved: certificate " + res.Certificate.Serial + " issued."
		}
		return redirect(w, r, Prefix+"approvals", note)
	case "reject":
		reason := strings.TrimSpace(r.PostFormValue("reason"))
		if reason == "" {
			return problem.Violations("reason_required", "a rejection needs a reason the requester will see",
				[]problem.Violation{{Field: "reason", Code: "required", Message: "give a reason"}})
		}
		if _, err := u.d.Issuance.Reject(r.Context(), id, reason); err != nil {
			return err
		}
		return redirect(w, r, Prefix+"approvals", "Rejected.")
	}
	return problem.NotFound("decision_unknown", "no decision %q", r.PathValue("decision"))
}
