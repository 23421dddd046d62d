package digicert

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"net/http"
	"strings"

	"github.com/signet-pki/signet/internal/certutil"
	"github.com/signet-pki/signet/internal/issuance"
	"github.com/signet-pki/signet/internal/store"
)

// subjectDoc is the vendor's certificate subject: every documented field,
// "" when the certificate does not carry it.
type subjectDoc struct {
	CommonName             string `json:"common_name"`
	OrganizationName       string `json:"organization_name"`
	OrganizationUnits      string `json:"organization_units"`
	Description            string `json:"description"`
	SerialNumber           string `json:"serial_number"`
	Pseudonym              string `json:"pseudonym"`
	UniqueIdentifier       string `json:"unique_identifier"`
	UserIdentifier         string `json:"user_identifier"`
	DomainComponent        string `json:"domain_component"`
	DNQualifier            string `json:"dn_qualifier"`
	UnstructuredName       string `json:"unstructured_name"`
	UnstructuredAddress    string `json:"unstructured_address"`
	StreetAddress          string `json:"street_address"`
	PostalCode             string `json:"postal_code"`
	Locality               string `json:"locality"`
	State                  string `json:"state"`
	Country                string `json:"country"`
	Email                  string `json:"email"`
	Title                  string `json:"title"`
	GivenName              string `json:"given_name"`
	Surname                string `json:"surname"`
	OrganizationIdentifier string `json:"organization_identifier"`
}

type revocationDoc struct {
	Reason         string `json:"reason"`
	RevocationDate string `json:"revocation_date"`
	Comments       string `json:"comments"`
}

// certificateDoc is the status document of the tutorial's Step 4.
type certificateDoc struct {
	Profile            idName         `json:"profile"`
	Seat               seatRefDoc     `json:"seat"`
	BusinessUnit       idName         `json:"business_unit"`
	Account            idOnly         `json:"account"`
	Certificate        string         `json:"certificate"`
	ICA                idOnly         `json:"ica"`
	CommonName         string         `json:"common_name"`
	Status             string         `json:"status"`
	SerialNumber       string         `json:"serial_number"`
	Thumbprint         string         `json:"thumbprint"`
	ValidFrom          string         `json:"valid_from"`
	ValidTo            string         `json:"valid_to"`
	Notes              string         `json:"notes"`
	TemplateName       string         `json:"template_name"`
	IssuingCAName      string         `json:"issuing_ca_name"`
	KeySize            int            `json:"key_size"`
	SignatureAlgorithm string         `json:"signature_algorithm"`
	Subject            subjectDoc     `json:"subject"`
	Revocation         *revocationDoc `json:"revocation,omitempty"`
	// A private CA's certificates are not scanned on TLS endpoints: the
	// security rating fields are present and null.
	CertSecurityRating *string         `json:"cert_security_rating"`
	SecurityRatingInfo *map[string]any `json:"security_rating_info"`
	// RequestID is set while the document describes a pending request.
	RequestID string `json:"request_id,omitempty"`
}

type seatRefDoc struct {
	SeatID string `json:"seat_id"`
}

// certificateDoc renders an inventory entry. Lookups of names (profile,
// template, CA, organization) are best effort: a certificate outlives them.
func (h *Handler) certificateDoc(ctx context.Context, c *store.Certificate) certificateDoc {
	doc := certificateDoc{CommonName: c.CommonName, Status: h.status(c), SerialNumber: upperSerial(c.Serial),
		Thumbprint: strings.ToUpper(c.SHA256), ValidFrom: timeString(c.NotBefore), ValidTo: timeString(c.NotAfter),
		Certificate: string(certutil.EncodeCertsPEM(c.DER)), ICA: idOnly{ID: c.CAID},
		BusinessUnit: idName{ID: c.OrgID, Name: h.orgName(ctx, c.OrgID)}, Account: idOnly{ID: c.OrgID},
		Seat: seatRefDoc{SeatID: h.seatOf(ctx, c)}, Notes: c.Labels["notes"]}
	if c.ProfileID != "" {
		doc.Profile.ID = c.ProfileID
		if res, err := h.d.Profiles.Resolve(ctx, c.ProfileID); err == nil {
			doc.Profile.Name = res.Profile.Name
			doc.TemplateName = res.Template.Name
		}
	}
	if c.CAID != "" {
		if chain, err := h.d.CAs.Chain(ctx, c.CAID); err == nil && len(chain) > 0 {
			doc.IssuingCAName = chain[0].Subject.CommonName
		}
	}
	if doc.IssuingCAName == "" {
		doc.IssuingCAName = c.Issuer
	}
	if leaf, err := x509.ParseCertificate(c.DER); err == nil {
		alg, bits := certutil.KeyInfo(leaf.PublicKey)
		doc.KeySize, doc.SignatureAlgorithm = bits, strings.ToUpper(alg)
		doc.Subject = subjectOf(leaf.Subject)
	}
	if c.Status != store.CertActive && c.RevokedAt != nil {
		doc.Revocation = &revocationDoc{Reason: issuance.ReasonName(c.RevocationReason), RevocationDate: timeString(*c.RevokedAt)}
	}
	return doc
}

// pendingDoc describes a request that has no certificate yet.
func (h *Handler) pendingDoc(r *http.Request, req *store.Request) certificateDoc {
	doc := certificateDoc{Status: "pending", RequestID: req.ID, BusinessUnit: idName{ID: req.OrgID, Name: h.orgName(r.Context(), req.OrgID)},
		Account: idOnly{ID: req.OrgID}, Seat: seatRefDoc{SeatID: req.Labels[seatLabel]}}
	if req.Status != store.RequestPending && req.Status != store.RequestApproved && req.Status != store.RequestPendingUpstream {
		doc.Status = req.Status
	}
	doc.Profile.ID = req.ProfileID
	if res, err := h.d.Profiles.Resolve(r.Context(), req.ProfileID); err == nil {
		doc.Profile.Name, doc.TemplateName = res.Profile.Name, res.Template.Name
	}
	if csr, err := certutil.ParseCSR([]byte(req.CSRPEM)); err == nil {
		doc.CommonName = csr.Subject.CommonName
		doc.Subject = subjectOf(csr.Subject)
		alg, bits := certutil.KeyInfo(csr.PublicKey)
		doc.KeySize, doc.SignatureAlgorithm = bits, strings.ToUpper(alg)
	}
	return doc
}

// status maps Signet's certificate status to the vendor's: active is
// issued (expired once past not_after), on_hold is suspended.
func (h *Handler) status(c *store.Certificate) string {
	switch c.Status {
	case store.CertRevoked:
		return "revoked"
	case store.CertOnHold:
		return "suspended"
	}
	if !h.d.Now().Before(c.NotAfter) {
		return "expired"
	}
	return "issued"
}

// seatOf is the seat a certificate was issued to: the label this API
// sets, else (certificates from elsewhere) its owner.
func (h *Handler) seatOf(ctx context.Context, c *store.Certificate) string {
	if s := c.Labels[seatLabel]; s != "" {
		return s
	}
	return c.Owner
}

// Subject attribute OIDs the vendor's subject document names.
var (
	oidEmail               = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
	oidUnstructuredName    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 2}
	oidUnstructuredAddress = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 8}
	oidSurname             = asn1.ObjectIdentifier{2, 5, 4, 4}
	oidTitle               = asn1.ObjectIdentifier{2, 5, 4, 12}
	oidDescription         = asn1.ObjectIdentifier{2, 5, 4, 13}
	oidGivenName           = asn1.ObjectIdentifier{2, 5, 4, 42}
	oidUniqueIdentifier    = asn1.ObjectIdentifier{2, 5, 4, 45}
	oidDNQualifier         = asn1.ObjectIdentifier{2, 5, 4, 46}
	oidPseudonym           = asn1.ObjectIdentifier{2, 5, 4, 65}
	oidOrgIdentifier       = asn1.ObjectIdentifier{2, 5, 4, 97}
	oidUserID              = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}
	oidDomainComponent     = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}
)

func subjectOf(n pkix.Name) subjectDoc {
	j := func(v []string) string { return strings.Join(v, ", ") }
	s := subjectDoc{CommonName: n.CommonName, OrganizationName: j(n.Organization), OrganizationUnits: j(n.OrganizationalUnit),
		SerialNumber: n.SerialNumber, StreetAddress: j(n.StreetAddress), PostalCode: j(n.PostalCode), Locality: j(n.Locality),
		State: j(n.Province), Country: j(n.Country)}
	fields := map[string]*string{
		oidEmail.String(): &s.Email, oidUnstructuredName.String(): &s.UnstructuredName,
		oidUnstructuredAddress.String(): &s.UnstructuredAddress, oidSurname.String(): &s.Surname, oidTitle.String(): &s.Title,
		oidDescription.String(): &s.Description, oidGivenName.String(): &s.GivenName, oidUniqueIdentifier.String(): &s.UniqueIdentifier,
		oidDNQualifier.String(): &s.DNQualifier, oidPseudonym.String(): &s.Pseudonym, oidOrgIdentifier.String(): &s.OrganizationIdentifier,
		oidUserID.String(): &s.UserIdentifier, oidDomainComponent.String(): &s.DomainComponent,
	}
	for _, atv := range n.Names {
		p, ok := fields[atv.Type.String()]
		if !ok {
			continue
		}
		v := fmt.Sprint(atv.Value)
		if *p != "" {
			v = *p + ", " + v
		}
		*p = v
	}
	return s
}

// pagination is the vendor's PaginationResult envelope.
type pagination[T any] struct {
	Total  int64 `json:"total"`
	Offset int   `json:"offset"`
	Limit  int   `json:"limit"`
	Items  []T   `json:"items"`
}

func page[T any](limit, offset int, total int64, items []T) pagination[T] {
	return pagination[T]{Total: total, Offset: offset, Limit: limit, Items: items}
}
