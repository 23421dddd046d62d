package digicert

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"net/http"
	"slices"
	"strconv"

	"github.com/signet-pki/signet/internal/certutil"
	"github.com/signet-pki/signet/internal/issuance"
	"github.com/signet-pki/signet/internal/policy"
	"github.com/signet-pki/signet/internal/profile"
	"github.com/signet-pki/signet/internal/store"
)

// Profile ids: a DigiCert profile id is an opaque string (a UUID there);
// Signet answers with the profile's public id ("prof_...") everywhere and
// accepts the id or the profile's name wherever a profile is named.

type idName struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

type idOnly struct {
	ID string `json:"id"`
}

type fieldSource struct {
	Mandatory bool   `json:"mandatory"`
	Source    string `json:"source"`
	Value     string `json:"value,omitempty"`
}

type profileAttribute struct {
	Type      string        `json:"type"`
	Mandatory bool          `json:"mandatory"`
	Multiple  bool          `json:"multiple"`
	Sources   []fieldSource `json:"sources"`
}

type caDoc struct {
	SerialNumber string  `json:"serial_number"`
	SubjectDN    string  `json:"subject_dn"`
	Certificate  string  `json:"certificate"`
	Root         bool    `json:"root"`
	Chain        []caDoc `json:"chain,omitempty"`
}

type validityDoc struct {
	Unit     string `json:"unit"`
	Duration int    `json:"duration"`
}

type profileDoc struct {
	ID                         string         `json:"id"`
	Name                       string         `json:"name"`
	Status                     string         `json:"status"`
	SignatureAlgorithm         string         `json:"signature_algorithm"`
	PublishToPublicDirectory   bool           `json:"publish_to_public_directory"`
	RenewalPeriodDays          int            `json:"renewal_period_days"`
	DuplicateCertPolicy        bool           `json:"duplicate_cert_policy"`
	OverrideCertValidityViaAPI bool           `json:"override_cert_validity_via_api"`
	CertificateDeliveryFormat  string         `json:"certificate_delivery_format"`
	AccountID                  string         `json:"account_id"`
	BusinessUnitID             string         `json:"business_unit_id"`
	EnrollmentMethod           string         `json:"enrollment_method"`
	AuthenticationMethod       string         `json:"authentication_method"`
	DaysTillEnrollmentExpires  int            `json:"days_till_enrollment_expires"`
	AutomatedRenewal           bool           `json:"automated_renewal"`
	RenewalWindowDays          int            `json:"renewal_window_days"`
	CustomExtendedKeyUsages    []string       `json:"custom_extended_key_usages"`
	PrivateKeyAttributes       map[string]any `json:"private_key_attributes"`
	KeyEscrowPolicy            map[string]any `json:"key_escrow_policy"`
	APITokenBindingEnabled     bool           `json:"api_token_binding_enabled"`
	APITokenIDs                []string       `json:"api_token_ids"`
	EnableDualAdminApproval    bool           `json:"enable_dual_admin_approval"`
	Certificate                profileCert    `json:"certificate"`
	EnableLDAPSearch           bool           `json:"enable_ldap_search"`
	UseCustomContact           bool           `json:"useCustomContact"`
	CertDeliveryFormat         string         `json:"cert_delivery_format"`
	Template                   map[string]any `json:"template"`
	ConnectorID                string         `json:"connector_id"`
	Fields                     map[string]any `json:"fields"`
	BusinessUnit               idName         `json:"business_unit"`
	Account                    idOnly         `json:"account"`
}

type profileCert struct {
	Subject struct {
		Attributes []profileAttribute `json:"attributes"`
	} `json:"subject"`
	Validity   validityDoc `json:"validity"`
	Extensions struct {
		SAN struct {
			Critical   bool               `json:"critical"`
			Attributes []profileAttribute `json:"attributes"`
		} `json:"san"`
	} `json:"extensions"`
	Issuer *caDoc `json:"issuer"`
}

// Signet's enrollment methods as the vendor names them.
var enrollmentMethodNames = map[string]string{"api": "rest_api", "est": "est", "scep": "scep", "acme": "acme", "cmp": "cmp"}

// Subject fields of a template, as the vendor's attribute types.
var subjectTypes = map[string]string{
	"common_name": "common_name", "organization": "organization_name", "organizational_unit": "organization_unit",
	"country": "country", "province": "state", "locality": "locality", "street_address": "street_address",
	"postal_code": "postal_code", "serial_number": "serial_number",
}

func (h *Handler) listProfiles(w http.ResponseWriter, r *http.Request) error {
	limit, offset, err := paging(r, 20, 1000)
	if err != nil {
		return err
	}
	var all []store.Profile
	cursor := ""
	for {
		page, next, err := h.d.Profiles.ListProfiles(r.Context(), store.ListQuery{Limit: 1000, Cursor: cursor})
		if err != nil {
			return err
		}
		all = append(all, page...)
		if next == "" || len(all) >= offset+limit {
			break
		}
		cursor = next
	}
	out := []profileDoc{}
	for i := offset; i < len(all) && len(out) < limit; i++ {
		doc, err := h.profileDoc(r.Context(), &all[i])
		if err != nil {
			return err
		}
		out = append(out, *doc)
	}
	return writeJSON(w, http.StatusOK, out)
}

func (h *Handler) getProfile(w http.ResponseWriter, r *http.Request) error {
	p, err := h.d.Profiles.GetProfile(r.Context(), r.PathValue("profile_id"))
	if err != nil {
		return err
	}
	doc, err := h.profileDoc(r.Context(), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, doc)
}

// profileDoc renders a profile with the fields of the vendor's
// PublicProfileResponse; settings Signet does not have get the value that
// describes Signet's behaviour (no key escrow, no API-token binding, ...).
func (h *Handler) profileDoc(ctx context.Context, p *store.Profile) (*profileDoc, error) {
	res, err := h.d.Profiles.Resolve(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	tpl := res.Template.Parsed
	doc := &profileDoc{ID: p.ID, Name: p.Name, Status: "Active", RenewalPeriodDays: 30, DuplicateCertPolicy: true,
		OverrideCertValidityViaAPI: true, CertificateDeliveryFormat: deliveryFormat(p.DeliveryFormat),
		AccountID: p.OrgID, BusinessUnitID: p.OrgID, EnrollmentMethod: enrollmentMethod(p.EnrollmentMethods),
		AuthenticationMethod: "third_party_app", DaysTillEnrollmentExpires: defaultEnrollmentDays, RenewalWindowDays: 30,
		CustomExtendedKeyUsages: []string{}, PrivateKeyAttributes: map[string]any{"key_size": keySize(tpl)},
		KeyEscrowPolicy:    map[string]any{"key_escrow_enabled": false, "key_escrow_deployment_mode": "", "dual_admin_recovery": false},
		APITokenIDs:        []string{},
		CertDeliveryFormat: "x509", ConnectorID: "",
		Template: map[string]any{"id": p.TemplateID, "name": res.Template.Name, "trust_type": "private"},
		Fields: map[string]any{"optional": !requiredField(tpl, "common_name"), "multiple": false, "key": "subject_common_name",
			"type": "string", "input": "text", "sources": map[string]any{"source": "entered_by_user_during_enrollment",
				"optional": !requiredField(tpl, "common_name"), "multi_value": false, "labels": []string{}},
			"labels": []string{}, "max": 64, "default_value": nil},
		BusinessUnit: idName{ID: p.OrgID, Name: h.orgName(ctx, p.OrgID)}, Account: idOnly{ID: p.OrgID}}
	if p.Status != "active" {
		doc.Status = "Disabled"
	}
	if p.Approval == profile.ApprovalManual {
		doc.AuthenticationMethod = "manual_approval"
	}
	doc.Certificate.Subject.Attributes = subjectAttributes(tpl)
	doc.Certificate.Validity = validityDoc{Unit: "days", Duration: profileValidity(res)}
	doc.Certificate.Extensions.SAN.Attributes = sanAttributes(tpl)
	if chain, err := h.d.CAs.Chain(ctx, p.CAID); err == nil && len(chain) > 0 {
		doc.SignatureAlgorithm = signatureAlgorithm(chain[0])
		iss := caDocOf(chain[0])
		for _, c := range chain[1:] {
			iss.Chain = append(iss.Chain, caDocOf(c))
		}
		doc.Certificate.Issuer = &iss
	} else if err != nil {
		h.d.Logger.WarnContext(ctx, "digicert API: profile CA chain unavailable", "profile", p.ID, "err", err)
	}
	return doc, nil
}

// defaultEnrollmentDays is how long an enrollment code stays valid when its
// creator gives no expiry: the vendor's documented default.
const defaultEnrollmentDays = 10

func (h *Handler) orgName(ctx context.Context, orgID string) string {
	if o, err := h.d.Directory.Organization(ctx, orgID); err == nil {
		return o.Name
	}
	return orgID
}

func profileValidity(res *profile.Resolved) int {
	if res.Profile.DefaultValidityDays > 0 {
		return res.Profile.DefaultValidityDays
	}
	return res.Template.Parsed.MaxValidityDays
}

func deliveryFormat(f string) string {
	if f == issuance.FormatPKCS7 {
		return "pkcs7"
	}
	return "x509"
}

// enrollmentMethod is "rest_api" whenever the profile allows the API (the
// method this API enrolls by); otherwise the first method it does allow.
func enrollmentMethod(methods []string) string {
	if slices.Contains(methods, issuance.MethodAPI) {
		return "rest_api"
	}
	if len(methods) == 0 {
		return "csr"
	}
	if n, ok := enrollmentMethodNames[methods[0]]; ok {
		return n
	}
	return methods[0]
}

func requiredField(t policy.Template, field string) bool {
	for _, r := range t.Subject {
		if r.Field == field {
			return r.Required
		}
	}
	return false
}

// keySize is the smallest RSA key the template accepts, as the vendor's
// string; templates that allow no RSA name their first rule's minimum.
func keySize(t policy.Template) string {
	for _, k := range t.KeyTypes {
		if k.Algorithm == "rsa" {
			return strconv.Itoa(max(k.MinBits, 2048))
		}
	}
	if len(t.KeyTypes) > 0 && t.KeyTypes[0].MinBits > 0 {
		return strconv.Itoa(t.KeyTypes[0].MinBits)
	}
	return "2048"
}

func subjectAttributes(t policy.Template) []profileAttribute {
	out := []profileAttribute{}
	for _, r := range t.Subject {
		typ, ok := subjectTypes[r.Field]
		if !ok {
			continue
		}
		src := fieldSource{Mandatory: r.Required, Source: "ENTERED_BY_USER_DURING_ENROLLMENT"}
		if r.FixedValue != "" {
			src = fieldSource{Mandatory: true, Source: "FIXED_VALUE", Value: r.FixedValue}
		}
		out = append(out, profileAttribute{Type: typ, Mandatory: r.Required, Multiple: false, Sources: []fieldSource{src}})
	}
	return out
}

func sanAttributes(t policy.Template) []profileAttribute {
	out := []profileAttribute{}
	add := func(typ string, patterns []string) {
		if len(patterns) == 0 {
			return
		}
		out = append(out, profileAttribute{Type: typ, Mandatory: t.SANs.Required, Multiple: true,
			Sources: []fieldSource{{Mandatory: t.SANs.Required, Source: "ENTERED_BY_USER_DURING_ENROLLMENT"}}})
	}
	add("dns_names", t.SANs.DNS)
	add("ip_addresses", t.SANs.IP)
	add("emails", t.SANs.Email)
	add("uris", t.SANs.URI)
	return out
}

// caDocOf renders a CA certificate; the serial is decimal, as in the
// vendor's sample.
func caDocOf(c *x509.Certificate) caDoc {
	return caDoc{SerialNumber: c.SerialNumber.String(), SubjectDN: c.Subject.String(),
		Certificate: string(certutil.EncodeCertsPEM(c.Raw)), Root: isSelfSigned(c)}
}

func isSelfSigned(c *x509.Certificate) bool {
	return c.CheckSignatureFrom(c) == nil && string(c.RawIssuer) == string(c.RawSubject)
}

// signatureAlgorithm is how the issuing CA signs, in the vendor's enum;
// Ed25519 has no name there and is given Go's.
func signatureAlgorithm(issuer *x509.Certificate) string {
	switch k := issuer.PublicKey.(type) {
	case *rsa.PublicKey:
		return "SHA256_WITH_RSA"
	case *ecdsa.PublicKey:
		if k.Curve.Params().BitSize >= 384 {
			return "SHA384_WITH_ECDSA"
		}
		return "SHA256_WITH_ECDSA"
	case ed25519.PublicKey:
		return "ED25519"
	default:
		return "MATCH_ISSUER"
	}
}

// paging reads limit and offset (the vendor's PagingParameters).
func paging(r *http.Request, def, maxLimit int) (limit, offset int, err error) {
	limit, offset = def, 0
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return 0, 0, fieldErr("limit", "invalid_input", "limit must be an integer from 1 to %d", maxLimit)
		}
		limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > maxOffset {
			return 0, 0, fieldErr("offset", "invalid_input", "offset must be an integer from 0 to %d", maxOffset)
		}
		offset = n
	}
	return limit, offset, nil
}

// maxOffset bounds how far a page may start: Signet pages with cursors, so
// an offset is walked to, and that walk must stay bounded.
const maxOffset = 100000
