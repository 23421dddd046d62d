package sectigo

import (
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/domain"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// isoDate is how the domain and DCV APIs render dates in the document.
const isoDate = "2006-01-02"

func dateOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format(isoDate)
}

var validationMethods = map[string]string{domain.MethodHTTP: "HTTP_CSR_HASH", domain.MethodHTTPS: "HTTPS_CSR_HASH",
	domain.MethodCNAME: "CNAME_CSR_HASH", domain.MethodTXT: "DNSTXT_RANDOM_VALUE", domain.MethodEmail: "EMAIL"}

func dcvStatus(d *domain.Domain, now time.Time) string {
	return strings.ToUpper(d.ValidationStatus(now))
}

func orderStatus(d *domain.Domain) string {
	if d.Order != nil && d.Order.Status == "submitted" {
		return "SUBMITTED"
	}
	return "NOT_INITIATED"
}

func orderMode(d *domain.Domain) any {
	if d.Order == nil {
		return nil
	}
	return strings.ToUpper(d.Order.Method)
}

type delegationOut struct {
	OrgID      int64    `json:"orgId"`
	CertTypes  []string `json:"certTypes"`
	Privileges []string `json:"domainCertificateRequestPrivileges"`
	Status     string   `json:"status"`
}

func (h *Handler) domainOut(c *call, d *domain.Domain) (map[string]any, error) {
	status := "ACTIVE"
	if d.Status == domain.StatusRequested {
		status = "REQUESTED"
	}
	dels := []delegationOut{{OrgID: c.org.IntID, CertTypes: []string{"SSL"}, Privileges: []string{"DOMAIN", "SUBDOMAIN"}, Status: status}}
	if len(d.Delegations) > 0 {
		teams, err := h.teams(c)
		if err != nil {
			return nil, err
		}
		for _, del := range d.Delegations {
			i := slices.IndexFunc(teams, func(t store.Team) bool { return t.ID == del.TeamID })
			if i < 0 {
				continue
			}
			out := delegationOut{OrgID: departmentOffset + teams[i].IntID, CertTypes: del.CertTypes, Privileges: del.Privileges, Status: strings.ToUpper(del.Status)}
			if out.CertTypes == nil {
				out.CertTypes = []string{"SSL"}
			}
			if out.Privileges == nil {
				out.Privileges = []string{"DOMAIN"}
			}
			dels = append(dels, out)
		}
	}
	return map[string]any{"id": numericID(d.ID), "name": d.Name, "description": d.Description, "delegationStatus": status,
		"state": strings.ToUpper(d.State), "validationStatus": dcvStatus(d, h.d.Now()),
		"validationMethod": validationMethods[d.Validation.Method], "dcvValidation": dateOrNil(d.Validation.ValidatedAt),
		"dcvExpiration": dateOrNil(d.Validation.ExpiresAt), "delegations": dels}, nil
}

func numericID(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }

// domainByID loads {domainId} of the customer's organization.
func (h *Handler) domainByID(c *call) (*domain.Domain, error) {
	raw := c.r.PathValue("domainId")
	d, err := h.d.Domains.Get(c.ctx, raw)
	if err != nil || d.OrgID != c.org.ID {
		if err == nil || problem.KindOf(err) == problem.KindNotFound {
			return nil, fail(http.StatusNotFound, -727, "The domain '%s' does not exist.", raw)
		}
		return nil, err
	}
	return d, nil
}

// domainByName loads the body's domain of the customer's organization.
func (h *Handler) domainByName(c *call, name string) (*domain.Domain, error) {
	if len(name) < 3 || len(name) > 255 {
		return nil, fail(http.StatusBadRequest, -732, "Invalid domain name.")
	}
	d, err := h.d.Domains.Find(c.ctx, c.org.ID, name)
	if err != nil {
		switch {
		case problem.Is(err, "domain_name_invalid"):
			return nil, fail(http.StatusBadRequest, -732, "Invalid domain name.")
		case problem.KindOf(err) == problem.KindNotFound:
			return nil, fail(http.StatusNotFound, -727, "The domain '%s' does not exist.", name)
		}
		return nil, err
	}
	return d, nil
}

type delegationIn struct {
	OrgID      *int64   `json:"orgId"`
	CertTypes  []string `json:"certTypes"`
	Privileges []string `json:"domainCertificateRequestPrivileges"`
	DomainIDs  []int64  `json:"domainIds"`
}

// teamOf maps a delegation's orgId: "" for the organization itself.
func (h *Handler) teamOf(c *call, id *int64) (string, error) {
	if id == nil {
		return "", errMissing("orgId")
	}
	return h.orgOrDepartment(c, strconv.FormatInt(*id, 10), "orgId")
}

func (h *Handler) createDomain(w http.ResponseWriter, c *call) error {
	var b struct {
		Name        string         `json:"name"`
		Description string         `json:"description"`
		Active      *bool          `json:"active"`
		Delegations []delegationIn `json:"delegations"`
	}
	if err := decode(c.r, &b); err != nil {
		return err
	}
	if b.Name == "" {
		return errMissing("name")
	}
	if len(b.Delegations) == 0 {
		return fail(http.StatusBadRequest, -709, "Please delegate domain to at least one organization or department.")
	}
	in := domain.CreateInput{OrgID: c.org.ID, Name: b.Name, Description: b.Description, Suspended: b.Active != nil && !*b.Active}
	for _, del := range b.Delegations {
		team, err := h.teamOf(c, del.OrgID)
		if err != nil {
			return err
		}
		if team != "" {
			in.Delegations = append(in.Delegations, domain.Delegation{TeamID: team, CertTypes: del.CertTypes, Privileges: del.Privileges})
		}
	}
	d, err := h.d.Domains.Create(c.ctx, in)
	if err != nil {
		switch {
		case problem.Is(err, "domain_name_invalid"):
			return fail(http.StatusBadRequest, -732, "Invalid domain name.")
		case problem.Is(err, "domain_exists"):
			return fail(http.StatusBadRequest, -700, "Such domain already exists")
		}
		return err
	}
	return created(w, c, "/api/domain/v1/"+d.ID)
}

// filteredDomains applies the list filters: name, state, status, orgId.
func (h *Handler) filteredDomains(c *call) ([]domain.Domain, error) {
	all, err := h.d.Domains.List(c.ctx, c.org.ID)
	if err != nil {
		return nil, err
	}
	q := c.r.URL.Query()
	var team string
	if v := q.Get("orgId"); v != "" {
		if team, err = h.orgOrDepartment(c, v, "orgId"); err != nil {
			return nil, err
		}
	}
	out := all[:0]
	for _, d := range all {
		if n := q.Get("name"); n != "" && !strings.Contains(d.Name, strings.ToLower(n)) {
			continue
		}
		if s := q.Get("state"); s != "" && !strings.EqualFold(s, d.State) && !(strings.EqualFold(s, "inactive") && d.State == domain.StateSuspended) {
			continue
		}
		if s := q.Get("status"); s != "" && !strings.EqualFold(s, d.Status) {
			continue
		}
		if team != "" && !slices.ContainsFunc(d.Delegations, func(del domain.Delegation) bool { return del.TeamID == team }) {
			continue
		}
		out = append(out, d)
	}
	return out, nil
}

func (h *Handler) listDomains(w http.ResponseWriter, c *call) error {
	size, position, err := paging(c.r.URL.Query())
	if err != nil {
		return err
	}
	ds, err := h.filteredDomains(c)
	if err != nil {
		return err
	}
	out := []map[string]any{}
	for i := position; i < len(ds) && i < position+size; i++ {
		out = append(out, map[string]any{"id": numericID(ds[i].ID), "name": ds[i].Name})
	}
	w.Header().Set("X-Total-Count", strconv.Itoa(len(ds)))
	return writeJSON(w, http.StatusOK, out)
}

func (h *Handler) countDomains(w http.ResponseWriter, c *call) error {
	ds, err := h.filteredDomains(c)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]int{"count": len(ds)})
}

func (h *Handler) getDomain(w http.ResponseWriter, c *call) error {
	d, err := h.domainByID(c)
	if err != nil {
		return err
	}
	out, err := h.domainOut(c, d)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (h *Handler) deleteDomain(w http.ResponseWriter, c *call) error {
	d, err := h.domainByID(c)
	if err != nil {
		return err
	}
	if err := h.d.Domains.Delete(c.ctx, d.ID); err != nil {
		return err
	}
	return noContent(w)
}

func (h *Handler) setDomainState(active bool) handlerFunc {
	return func(w http.ResponseWriter, c *call) error {
		d, err := h.domainByID(c)
		if err != nil {
			return err
		}
		if _, err := h.d.Domains.SetState(c.ctx, d.ID, active); err != nil {
			return err
		}
		w.WriteHeader(http.StatusOK)
		return nil
	}
}

// monitoring accepts the CT-log monitoring switch; Signet has no CT
// monitoring, so it answers as the document does and changes nothing.
func (h *Handler) monitoring(w http.ResponseWriter, c *call) error {
	var b map[string]any
	if err := decode(c.r, &b); err != nil {
		return err
	}
	if _, err := h.domainByID(c); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) delegate(w http.ResponseWriter, c *call) error {
	var b delegationIn
	if err := decode(c.r, &b); err != nil {
		return err
	}
	team, err := h.teamOf(c, b.OrgID)
	if err != nil {
		return err
	}
	ids := []string{c.r.PathValue("domainId")}
	if ids[0] == "" { // POST /api/domain/v1/delegation: many domains
		if len(b.DomainIDs) == 0 || len(b.DomainIDs) > 1000 {
			return errInvalidField("domainIds")
		}
		ids = ids[:0]
		for _, id := range b.DomainIDs {
			ids = append(ids, strconv.FormatInt(id, 10))
		}
	}
	for _, id := range ids {
		d, err := h.d.Domains.Get(c.ctx, id)
		if err != nil || d.OrgID != c.org.ID {
			return fail(http.StatusNotFound, -727, "The domain '%s' does not exist.", id)
		}
		if team == "" {
			continue // the organization holds every domain it registered
		}
		if _, err := h.d.Domains.Delegate(c.ctx, id, domain.Delegation{TeamID: team, CertTypes: b.CertTypes, Privileges: b.Privileges}); err != nil {
			return err
		}
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// delegationTarget reads a delegation body and resolves the path's domain
// and the department the body names ("" for the organization itself).
func (h *Handler) delegationTarget(c *call) (*domain.Domain, string, error) {
	var b delegationIn
	if err := decode(c.r, &b); err != nil {
		return nil, "", err
	}
	d, err := h.domainByID(c)
	if err != nil {
		return nil, "", err
	}
	team, err := h.teamOf(c, b.OrgID)
	if err != nil {
		return nil, "", err
	}
	return d, team, nil
}

func (h *Handler) undelegate(w http.ResponseWriter, c *call) error {
	d, team, err := h.delegationTarget(c)
	if err != nil {
		return err
	}
	if team == "" {
		return fail(http.StatusBadRequest, -709, "Please delegate domain to at least one organization or department.")
	}
	if _, err := h.d.Domains.RemoveDelegation(c.ctx, d.ID, team); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// decideDelegation approves or rejects: for the organization itself, its
// registration of the domain; for a department, that department's delegation.
func (h *Handler) decideDelegation(approve bool) handlerFunc {
	return func(w http.ResponseWriter, c *call) error {
		d, team, err := h.delegationTarget(c)
		if err != nil {
			return err
		}
		notRequested := fail(http.StatusBadRequest, -705, "This operation cannot be performed as the delegation status is other than 'Requested'.")
		switch {
		case team != "":
			_, err = h.d.Domains.DecideDelegation(c.ctx, d.ID, team, approve)
		case d.Status != domain.StatusRequested:
			return notRequested
		case approve:
			_, err = h.d.Domains.Approve(c.ctx, d.ID)
		default:
			err = h.d.Domains.Delete(c.ctx, d.ID)
		}
		if problem.Is(err, "delegation_not_requested") || problem.Is(err, "domain_not_requested") {
			return notRequested
		}
		if err != nil {
			return err
		}
		w.WriteHeader(http.StatusOK)
		return nil
	}
}

// DCV.

type dcvBody struct {
	Domain  string   `json:"domain"`
	Domains []string `json:"domains"`
	Email   string   `json:"email"`
}

func readDCV(c *call) (*dcvBody, error) {
	var b dcvBody
	if err := decode(c.r, &b); err != nil {
		return nil, err
	}
	if b.Domain == "" && len(b.Domains) == 0 {
		return nil, errMissing("domain")
	}
	return &b, nil
}

func (h *Handler) dcvList(w http.ResponseWriter, c *call) error {
	q := c.r.URL.Query()
	size, position, err := paging(q)
	if err != nil {
		return err
	}
	all, err := h.d.Domains.List(c.ctx, c.org.ID)
	if err != nil {
		return err
	}
	now := h.d.Now()
	var expiresIn int
	if v := q.Get("expiresIn"); v != "" {
		if expiresIn, err = strconv.Atoi(v); err != nil || expiresIn < 0 {
			return errInvalidField("expiresIn")
		}
	}
	var rows []map[string]any
	for i := range all {
		d := &all[i]
		if v := q.Get("domain"); v != "" && !strings.Contains(d.Name, strings.ToLower(v)) {
			continue
		}
		if v := q.Get("dcvStatus"); v != "" && !strings.EqualFold(v, dcvStatus(d, now)) {
			continue
		}
		if v := q.Get("orderStatus"); v != "" && !strings.EqualFold(v, orderStatus(d)) {
			continue
		}
		if expiresIn > 0 && (d.Validation.ExpiresAt == nil || d.Validation.ExpiresAt.After(now.AddDate(0, 0, expiresIn))) {
			continue
		}
		rows = append(rows, map[string]any{"domain": d.Name, "dcvStatus": dcvStatus(d, now),
			"dcvMethod": validationMethods[d.Validation.Method], "dcvOrderStatus": orderStatus(d),
			"dcvOrderMethod": orderMode(d), "expirationDate": dateOrNil(d.Validation.ExpiresAt)})
	}
	w.Header().Set("X-Total-Count", strconv.Itoa(len(rows)))
	out := []map[string]any{}
	for i := position; i < len(rows) && i < position+size; i++ {
		out = append(out, rows[i])
	}
	return writeJSON(w, http.StatusOK, out)
}

// refreshed re-checks a submitted validation before reporting it, so that
// status calls reflect the real record or file.
func (h *Handler) refreshed(c *call, name string) (*domain.Domain, error) {
	d, err := h.domainByName(c, name)
	if err != nil {
		return nil, err
	}
	if orderStatus(d) == "SUBMITTED" {
		return h.d.Domains.Check(c.ctx, d.ID)
	}
	return d, nil
}

func (h *Handler) dcvStatusV2(w http.ResponseWriter, c *call) error {
	b, err := readDCV(c)
	if err != nil {
		return err
	}
	d, err := h.refreshed(c, b.Domain)
	if err != nil {
		return err
	}
	out := map[string]any{"status": dcvStatus(d, h.d.Now()), "validationDate": dateOrNil(d.Validation.ValidatedAt),
		"expirationDate": dateOrNil(d.Validation.ExpiresAt), "orderStatus": orderStatus(d)}
	if o := d.Order; o != nil {
		out["orderMode"] = strings.ToUpper(o.Method)
		out["orderBackendId"] = d.ID
		out["orderExpiration"] = o.ExpiresAt.UTC().Format("2006-01-02T15:04:05.000Z")
		if o.SubmittedAt != nil {
			out["submittedDate"] = o.SubmittedAt.UTC().Format(isoDate)
		}
		if o.LastCheck != nil {
			out["lastCheck"] = o.LastCheck.UTC().Format("2006-01-02 15:04:05")
		}
		if o.LastError != "" {
			out["message"] = o.LastError
		}
		ch := domain.ChallengeOf(d)
		for k, v := range map[string]string{"url": ch.URL, "firstLine": ch.FirstLine, "secondLine": ch.SecondLine, "host": ch.Host,
			"point": ch.Point, "email": o.Email, "emailValidationReferenceNumber": o.Reference} {
			if v != "" {
				out[k] = v
			}
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

func (h *Handler) dcvStatusV1(w http.ResponseWriter, c *call) error {
	b, err := readDCV(c)
	if err != nil {
		return err
	}
	d, err := h.refreshed(c, b.Domain)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"status": dcvStatus(d, h.d.Now()), "validationDate": dateOrNil(d.Validation.ValidatedAt),
		"expirationDate": dateOrNil(d.Validation.ExpiresAt), "orderStatus": orderStatus(d)})
}

func (h *Handler) dcvSync(w http.ResponseWriter, c *call) error {
	b, err := readDCV(c)
	if err != nil {
		return err
	}
	d, err := h.refreshed(c, b.Domain)
	if err != nil {
		return err
	}
	out := map[string]any{"status": dcvStatus(d, h.d.Now()), "orderStatus": orderStatus(d), "orderMode": orderMode(d), "orderBackendId": d.ID}
	if d.Order != nil && d.Order.Reference != "" {
		out["emailValidationReferenceNumber"] = d.Order.Reference
	}
	return writeJSON(w, http.StatusOK, out)
}

func (h *Handler) dcvClear(w http.ResponseWriter, c *call) error {
	b, err := readDCV(c)
	if err != nil {
		return err
	}
	d, err := h.domainByName(c, b.Domain)
	if err != nil {
		return err
	}
	if d, err = h.d.Domains.Clear(c.ctx, d.ID); err != nil {
		return err
	}
	st := dcvStatus(d, h.d.Now())
	return writeJSON(w, http.StatusOK, map[string]any{"status": st, "orderStatus": "NOT_INITIATED",
		"message": "DCV status: " + st + "; DCV order status: NOT_INITIATED"})
}

func (h *Handler) dcvDelete(w http.ResponseWriter, c *call) error {
	b, err := readDCV(c)
	if err != nil {
		return err
	}
	d, err := h.domainByName(c, b.Domain)
	if err != nil {
		return err
	}
	if _, err := h.d.Domains.Invalidate(c.ctx, d.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func emailCandidates(name string) map[string]any {
	return map[string]any{"domainName": name, "whoisEmails": []string{}, "adminEmails": domain.EmailCandidates(name), "dnsTxtEmails": []string{}}
}

func (h *Handler) dcvStart(w http.ResponseWriter, c *call) error {
	method := c.r.PathValue("method")
	if method == domain.MethodTXT {
		return fail(http.StatusBadRequest, -39, "Start request is not supported by the API. Use submit directly.")
	}
	if !slices.Contains([]string{domain.MethodHTTP, domain.MethodHTTPS, domain.MethodCNAME, domain.MethodEmail}, method) {
		return h.notFoundErr()
	}
	b, err := readDCV(c)
	if err != nil {
		return err
	}
	names := b.Domains
	if b.Domain != "" {
		names = append([]string{b.Domain}, names...)
	}
	var dcvEmails []map[string]any
	var common []string
	for i, n := range names {
		d, err := h.domainByName(c, n)
		if err != nil {
			return err
		}
		d, ch, err := h.d.Domains.Start(c.ctx, d.ID, method)
		if err != nil {
			return err
		}
		switch method {
		case domain.MethodHTTP, domain.MethodHTTPS:
			return writeJSON(w, http.StatusOK, map[string]string{"url": ch.URL, "firstLine": ch.FirstLine, "secondLine": ch.SecondLine})
		case domain.MethodCNAME:
			return writeJSON(w, http.StatusOK, map[string]string{"host": ch.Host, "point": ch.Point})
		}
		dcvEmails = append(dcvEmails, emailCandidates(d.Name))
		locals := []string{}
		for _, e := range ch.Emails {
			local, _, _ := strings.Cut(e, "@")
			locals = append(locals, local)
		}
		if i == 0 {
			common = locals
		} else {
			common = slices.DeleteFunc(common, func(l string) bool { return !slices.Contains(locals, l) })
		}
	}
	emails := []string{}
	if len(names) == 1 {
		emails = domain.EmailCandidates(strings.ToLower(strings.TrimSuffix(names[0], ".")))
	} else {
		for _, l := range common {
			emails = append(emails, l+"@")
		}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"emails": emails, "dcvEmails": dcvEmails})
}

func (h *Handler) notFoundErr() error {
	return fail(http.StatusNotFound, -1, "Unknown error. No such resource.")
}

func (h *Handler) dcvSubmit(w http.ResponseWriter, c *call) error {
	method := c.r.PathValue("method")
	if !slices.Contains([]string{domain.MethodHTTP, domain.MethodHTTPS, domain.MethodCNAME, domain.MethodTXT, domain.MethodEmail}, method) {
		return h.notFoundErr()
	}
	b, err := readDCV(c)
	if err != nil {
		return err
	}
	if method == domain.MethodEmail && b.Email == "" {
		return errMissing("email")
	}
	d, err := h.domainByName(c, b.Domain)
	if err != nil {
		return err
	}
	d, err = h.submit(c, d, method, b.Email)
	if err != nil {
		return err
	}
	msg := "Submitted successfully"
	if d.Order != nil && d.Order.LastError != "" {
		msg = d.Order.LastError
	}
	out := map[string]any{"status": dcvStatus(d, h.d.Now()), "orderStatus": "SUBMITTED", "message": msg, "orderBackendId": d.ID}
	if ch := domain.ChallengeOf(d); ch != nil && method == domain.MethodTXT {
		out["host"], out["point"] = ch.Host, ch.Point
	}
	if d.Order != nil && d.Order.Reference != "" {
		out["emailValidationReferenceNumber"] = d.Order.Reference
	}
	return writeJSON(w, http.StatusOK, out)
}

// submit maps the domain service's refusals to the document's codes.
func (h *Handler) submit(c *call, d *domain.Domain, method, email string) (*domain.Domain, error) {
	name := d.Name
	d, err := h.d.Domains.Submit(c.ctx, d.ID, method, email)
	switch {
	case problem.Is(err, "dcv_not_started"):
		return nil, fail(http.StatusBadRequest, -724, "The request for '%s' cannot be processed since it's domain validation status is %s.", name, "NOT_INITIATED")
	case problem.Is(err, "dcv_email_invalid"):
		return nil, fail(http.StatusBadRequest, -518, "Unknown email address")
	}
	return d, err
}

func (h *Handler) dcvSubmitBulkEmail(w http.ResponseWriter, c *call) error {
	b, err := readDCV(c)
	if err != nil {
		return err
	}
	if b.Email == "" {
		return errMissing("email")
	}
	local, _, _ := strings.Cut(b.Email, "@")
	var last *domain.Domain
	for _, n := range b.Domains {
		d, err := h.domainByName(c, n)
		if err != nil {
			return err
		}
		if last, err = h.submit(c, d, domain.MethodEmail, local+"@"+d.Name); err != nil {
			return err
		}
	}
	out := map[string]any{"orderStatus": "SUBMITTED", "message": "Submitted successfully"}
	if last != nil {
		out["orderBackendId"] = last.ID
	}
	return writeJSON(w, http.StatusOK, out)
}

// certNames are the DNS names a record's certificate (or request) covers.
func certNames(v *view) []string {
	if v.cert != nil {
		var out []string
		for _, s := range v.cert.SANs {
			if !strings.ContainsAny(s, "@:/") && strings.Contains(s, ".") && strings.Trim(s, "0123456789.") != "" {
				out = append(out, s)
			}
		}
		return out
	}
	if v.req != nil {
		if blk, _ := pem.Decode([]byte(v.req.CSRPEM)); blk != nil {
			if csr, err := x509.ParseCertificateRequest(blk.Bytes); err == nil {
				if len(csr.DNSNames) > 0 {
					return csr.DNSNames
				}
				return []string{csr.Subject.CommonName}
			}
		}
	}
	return nil
}

// coveringDomain finds the registered domain a DNS name falls under.
func (h *Handler) coveringDomain(c *call, name string) *domain.Domain {
	n := strings.TrimPrefix(strings.ToLower(name), "*.")
	for n != "" {
		if d, err := h.d.Domains.Find(c.ctx, c.org.ID, n); err == nil {
			return d
		}
		_, rest, ok := strings.Cut(n, ".")
		if !ok {
			break
		}
		n = rest
	}
	return nil
}

func (h *Handler) certDCV(w http.ResponseWriter, c *call) error {
	v, err := h.load(c, c.r.PathValue("sslId"))
	if err != nil {
		return err
	}
	now := h.d.Now()
	logs := []map[string]any{}
	instructions := []map[string]any{}
	for _, n := range certNames(v) {
		d := h.coveringDomain(c, n)
		entry := map[string]any{"domainName": n, "dcvStatus": "Not validated", "dcvMethod": nil}
		if d != nil {
			entry["dcvStatus"] = map[string]string{domain.Validated: "Validated", domain.Expired: "Expired"}[d.ValidationStatus(now)]
			if entry["dcvStatus"] == "" {
				entry["dcvStatus"] = "Awaiting Validation"
			}
			entry["dcvMethod"] = validationMethods[d.Validation.Method]
			if d.Order != nil {
				if d.Order.LastCheck != nil {
					entry["lastCheck"] = d.Order.LastCheck.UTC().Format("2006-01-02 15:04:05")
				}
				ch := domain.ChallengeOf(d)
				ins := map[string]any{"domainName": d.Name, "dcvMode": strings.ToUpper(ch.Method)}
				for k, val := range map[string]string{"host": ch.Host, "point": ch.Point, "url": ch.URL, "firstLine": ch.FirstLine, "secondLine": ch.SecondLine} {
					if val != "" {
						ins[k] = val
					}
				}
				instructions = append(instructions, ins)
			}
		}
		logs = append(logs, entry)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"dcvLog": map[string]any{"error": map[string]any{"code": 0, "description": nil}, "log": logs},
		"instructions": instructions})
}

func (h *Handler) certDCVRecheck(w http.ResponseWriter, c *call) error {
	v, err := h.load(c, c.r.PathValue("sslId"))
	if err != nil {
		return err
	}
	for _, n := range certNames(v) {
		if d := h.coveringDomain(c, n); d != nil && orderStatus(d) == "SUBMITTED" {
			if _, err := h.d.Domains.Check(c.ctx, d.ID); err != nil {
				return err
			}
		}
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
