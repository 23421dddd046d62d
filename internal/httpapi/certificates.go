package httpapi

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/ca"
	"github.com/signet-pki/signet/internal/issuance"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

func (a *API) certificateRoutes() []route {
	return []route{
		{method: "POST", pattern: "/api/v1/certificates", summary: "Enroll: issue from a CSR or a server-generated key (Idempotency-Key supported)", tag: "certificates", handler: a.enroll},
		{method: "GET", pattern: "/api/v1/certificates", summary: "Search the inventory", tag: "certificates", handler: a.searchCertificates},
		{method: "GET", pattern: "/api/v1/certificates/summary", summary: "Counts by status, expiry window and CA", tag: "certificates", handler: a.summary},
		{method: "POST", pattern: "/api/v1/certificates/import", summary: "Import certificates from any issuer: PEM (CERTIFICATE or PKCS7 blocks)", tag: "certificates", handler: a.importCertificates},
		{method: "GET", pattern: "/api/v1/certificates/{serial}", summary: "Get a certificate by serial", tag: "certificates", handler: a.getCertificate},
		{method: "PATCH", pattern: "/api/v1/certificates/{serial}", summary: "Change a certificate's owner, labels or custom fields", tag: "certificates", handler: a.updateCertificate},
		{method: "DELETE", pattern: "/api/v1/certificates/{serial}", summary: "Delete an imported or discovered certificate (204; 409 for one Signet issued)", tag: "certificates", handler: a.deleteCertificate},
		{method: "GET", pattern: "/api/v1/certificates/{serial}/download", summary: "Download as pem, der, chain or pkcs7 (?format=)", tag: "certificates", handler: a.download},
		{method: "POST", pattern: "/api/v1/certificates/{serial}/renew", summary: "Renew with a new CSR or a server-generated key", tag: "certificates", handler: a.renew},
		{method: "POST", pattern: "/api/v1/certificates/{serial}/revoke", summary: "Revoke with an RFC 5280 reason", tag: "certificates", handler: a.revoke},
		{method: "POST", pattern: "/api/v1/certificates/{serial}/suspend", summary: "Suspend (certificateHold)", tag: "certificates", handler: a.suspend},
		{method: "POST", pattern: "/api/v1/certificates/{serial}/resume", summary: "Resume a suspended certificate", tag: "certificates", handler: a.resume},
	}
}

type enrollBody struct {
	Profile        string            `json:"profile"`
	CSR            string            `json:"csr"`
	Keygen         *issuance.Keygen  `json:"keygen"`
	Subject        ca.Subject        `json:"subject"`
	SANs           []string          `json:"sans"`
	ValidityDays   int               `json:"validity_days"`
	Owner          string            `json:"owner"`
	Labels         map[string]string `json:"labels"`
	CustomFields   map[string]string `json:"custom_fields"`
	PKCS12Password string            `json:"pkcs12_password"`
}

func (a *API) enroll(w http.ResponseWriter, r *http.Request) error {
	var in enrollBody
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.Profile == "" {
		return problem.Violations("profile_required", "a profile is required",
			[]problem.Violation{{Field: "profile", Code: "required", Message: "name the profile to enroll under"}})
	}
	key := r.Header.Get("Idempotency-Key")
	if len(key) > 255 {
		return problem.Invalid("idempotency_key_invalid", "Idempotency-Key is longer than 255 characters")
	}
	res, err := a.svc.Issuance.Enroll(r.Context(), issuance.EnrollInput{Profile: in.Profile, CSR: in.CSR, Keygen: in.Keygen,
		Subject: in.Subject, SANs: in.SANs, ValidityDays: in.ValidityDays, Owner: in.Owner, PKCS12Password: in.PKCS12Password,
		Labels: in.Labels, CustomFields: in.CustomFields, IdempotencyKey: key, Method: "api"})
	if err != nil {
		return err
	}
	return writeJSON(w, enrollStatus(res), enrollOut(res, a.now()))
}

func enrollStatus(res *issuance.Issued) int {
	switch {
	case res.Replayed:
		return http.StatusOK
	case res.Certificate == nil:
		return http.StatusAccepted
	default:
		return http.StatusCreated
	}
}

func (a *API) searchCertificates(w http.ResponseWriter, r *http.Request) error {
	q, err := a.certificateQuery(r)
	if err != nil {
		return err
	}
	res, err := a.svc.Inventory.Search(r.Context(), q)
	if err != nil {
		return err
	}
	now := a.now()
	out := page[certificateJSON]{Items: make([]certificateJSON, len(res.Items)), NextCursor: res.NextCursor}
	for i := range res.Items {
		out.Items[i] = certificateOut(&res.Items[i], now)
	}
	if q.WithTotal {
		out.Total = &res.Total
	}
	return writeJSON(w, http.StatusOK, out)
}

// certificateQuery parses the inventory's query parameters, reporting every bad one.
func (a *API) certificateQuery(r *http.Request) (store.CertificateQuery, error) {
	v := r.URL.Query()
	q := store.CertificateQuery{OrgID: v.Get("org"), CAID: v.Get("ca"), ProfileID: v.Get("profile"), Owner: v.Get("owner"),
		Contains: v.Get("q"), Name: v.Get("name"), Serial: v.Get("serial"), SHA256: v.Get("sha256"),
		Source: v.Get("source"), Sort: v.Get("sort"), Cursor: v.Get("cursor"), WithTotal: v.Get("total") == "true"}
	var vs []problem.Violation
	bad := func(field, msg string) {
		vs = append(vs, problem.Violation{Field: field, Code: "invalid", Message: msg})
	}
	for key, vals := range v {
		if k, ok := strings.CutPrefix(key, "label."); ok {
			q.Labels = setAttr(q.Labels, k, vals[0])
		} else if k, ok := strings.CutPrefix(key, "field."); ok {
			q.CustomFields = setAttr(q.CustomFields, k, vals[0])
		}
	}
	for _, s := range v["status"] {
		q.Statuses = append(q.Statuses, strings.Split(s, ",")...)
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			n = -1 // reported with the other query problems by the inventory
		}
		q.Limit = n
	}
	for _, p := range []struct {
		name string
		dst  **time.Time
	}{{"expires_before", &q.ExpiresBefore}, {"expires_after", &q.ExpiresAfter}} {
		if s := v.Get(p.name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				bad(p.name, p.name+" must be an RFC 3339 time such as 2026-12-31T00:00:00Z")
				continue
			}
			*p.dst = &t
		}
	}
	if s := v.Get("expiring_within"); s != "" {
		days, err := parseDays(s)
		if err != nil {
			bad("expiring_within", "expiring_within must be a number of days such as 30 or 30d")
		} else {
			before, after := a.now().AddDate(0, 0, days), a.now()
			q.ExpiresBefore, q.ExpiresAfter = &before, &after
		}
	}
	if q.CAID != "" && !strings.HasPrefix(q.CAID, "ca_") {
		if rec, err := a.svc.CAs.Resolve(r.Context(), q.CAID); err == nil {
			q.CAID = rec.ID
		}
	}
	if q.ProfileID != "" && !strings.HasPrefix(q.ProfileID, "prof_") {
		if p, err := a.svc.Profiles.GetProfile(r.Context(), q.ProfileID); err == nil {
			q.ProfileID = p.ID
		}
	}
	if len(vs) > 0 {
		return q, problem.Violations("query_invalid", "the query is invalid", vs)
	}
	return q, nil
}

func parseDays(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSuffix(s, "d"))
	if err != nil || n < 0 || n > 36500 {
		return 0, fmt.Errorf("bad day count %q", s)
	}
	return n, nil
}

func (a *API) summary(w http.ResponseWriter, r *http.Request) error {
	s, err := a.svc.Inventory.Summary(r.Context(), r.URL.Query().Get("org"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"total": s.Total, "by_status": s.ByStatus,
		"expiring": map[string]int64{"7d": s.Expiring7, "30d": s.Expiring30, "90d": s.Expiring90}, "by_ca": s.ByCA})
}

func (a *API) importCertificates(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		PEM          string            `json:"pem"`
		Org          string            `json:"org"`
		Owner        string            `json:"owner"`
		Labels       map[string]string `json:"labels"`
		CustomFields map[string]string `json:"custom_fields"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	res, err := a.svc.Issuance.Import(r.Context(), issuance.ImportInput{PEM: in.PEM, Org: in.Org, Owner: in.Owner,
		Labels: in.Labels, CustomFields: in.CustomFields})
	if err != nil {
		return err
	}
	now := a.now()
	imported := make([]certificateJSON, len(res.Imported))
	for i := range res.Imported {
		imported[i] = certificateOut(&res.Imported[i], now)
	}
	skipped := res.Skipped
	if skipped == nil {
		skipped = []issuance.Skipped{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"imported": imported, "skipped": skipped})
}

func (a *API) getCertificate(w http.ResponseWriter, r *http.Request) error {
	c, err := a.svc.Issuance.GetCertificate(r.Context(), r.PathValue("serial"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, certificateOut(c, a.now()))
}

func (a *API) deleteCertificate(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.svc.Issuance.DeleteCertificate(r.Context(), r.PathValue("serial")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) download(w http.ResponseWriter, r *http.Request) error {
	d, err := a.svc.Issuance.Download(r.Context(), r.PathValue("serial"), r.URL.Query().Get("format"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.%s"`, r.PathValue("serial"), d.Extension))
	return writeBytes(w, d.ContentType, d.Body)
}

func (a *API) renew(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		CSR            string           `json:"csr"`
		Keygen         *issuance.Keygen `json:"keygen"`
		ValidityDays   int              `json:"validity_days"`
		Profile        string           `json:"profile"`
		PKCS12Password string           `json:"pkcs12_password"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	res, err := a.svc.Issuance.Renew(r.Context(), r.PathValue("serial"), issuance.RenewInput{CSR: in.CSR, Keygen: in.Keygen,
		ValidityDays: in.ValidityDays, Profile: in.Profile, PKCS12Password: in.PKCS12Password})
	if err != nil {
		return err
	}
	// 202 while the renewal waits (approval, an external CA), as for enrollment.
	return writeJSON(w, enrollStatus(res), enrollOut(res, a.now()))
}

func (a *API) revoke(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Reason         string     `json:"reason"`
		InvalidityDate *time.Time `json:"invalidity_date"`
	}
	if err := decodeOptionalJSON(r, &in); err != nil {
		return err
	}
	reason, err := issuance.ParseReason(in.Reason)
	if err != nil {
		return err
	}
	c, err := a.svc.Issuance.Revoke(r.Context(), r.PathValue("serial"), reason, in.InvalidityDate)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, certificateOut(c, a.now()))
}

func (a *API) suspend(w http.ResponseWriter, r *http.Request) error {
	c, err := a.svc.Issuance.Suspend(r.Context(), r.PathValue("serial"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, certificateOut(c, a.now()))
}

func (a *API) resume(w http.ResponseWriter, r *http.Request) error {
	c, err := a.svc.Issuance.Resume(r.Context(), r.PathValue("serial"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, certificateOut(c, a.now()))
}

// decodeOptionalJSON accepts an empty body as "no fields".
func decodeOptionalJSON(r *http.Request, v any) error {
	if r.ContentLength == 0 {
		return nil
	}
	return decodeJSON(r, v)
}

func setAttr(m map[string]string, k, v string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	m[k] = v
	return m
}

func (a *API) updateCertificate(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Owner        *string           `json:"owner"`
		Labels       map[string]string `json:"labels"`
		CustomFields map[string]string `json:"custom_fields"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	c, err := a.svc.Issuance.UpdateCertificate(r.Context(), r.PathValue("serial"), issuance.CertificateChange{
		Owner: in.Owner, Labels: in.Labels, CustomFields: in.CustomFields})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, certificateOut(c, a.now()))
}
