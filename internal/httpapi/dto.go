package httpapi

import (
	"cmp"
	"encoding/json"
	"time"

	"github.com/signet-pki/signet/internal/certutil"
	"github.com/signet-pki/signet/internal/issuance"
	"github.com/signet-pki/signet/internal/policy"
	"github.com/signet-pki/signet/internal/profile"
	"github.com/signet-pki/signet/internal/store"
)

// Response bodies. Field names are the API contract: snake_case, RFC 3339 UTC times.

type caJSON struct {
	ID             string    `json:"id"`
	OrgID          string    `json:"org_id"`
	Name           string    `json:"name"`
	Kind           string    `json:"kind"`
	Status         string    `json:"status"`
	ParentID       string    `json:"parent_id,omitempty"`
	Subject        string    `json:"subject"`
	Serial         string    `json:"serial"`
	KeyType        string    `json:"key_type"`
	HasKey         bool      `json:"has_key"`
	NotBefore      time.Time `json:"not_before"`
	NotAfter       time.Time `json:"not_after"`
	SubjectKeyID   string    `json:"subject_key_id"`
	SHA256         string    `json:"sha256"`
	CertificatePEM string    `json:"certificate_pem"`
	CreatedAt      time.Time `json:"created_at"`
}

func caOut(c *store.CA) caJSON {
	return caJSON{ID: c.ID, OrgID: c.OrgID, Name: c.Name, Kind: c.Kind, Status: c.Status, ParentID: c.ParentID, Subject: c.Subject,
		Serial: c.SerialHex, KeyType: c.KeyType, HasKey: len(c.KeyBlob) > 0, NotBefore: c.NotBefore.UTC(),
		NotAfter: c.NotAfter.UTC(), SubjectKeyID: c.SKIHex, SHA256: certutil.SHA256Hex(c.CertDER),
		CertificatePEM: string(certutil.EncodeCertsPEM(c.CertDER)), CreatedAt: c.CreatedAt.UTC()}
}

type templateJSON struct {
	ID          string          `json:"id"`
	OrgID       string          `json:"org_id"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Spec        policy.Template `json:"spec"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

func templateOut(t *profile.Template) templateJSON {
	return templateJSON{ID: t.ID, OrgID: t.OrgID, Name: t.Name, Description: t.Description, Spec: t.Parsed,
		CreatedAt: t.CreatedAt.UTC(), UpdatedAt: t.UpdatedAt.UTC()}
}

type profileJSON struct {
	ID                  string    `json:"id"`
	OrgID               string    `json:"org_id"`
	Name                string    `json:"name"`
	Description         string    `json:"description"`
	TemplateID          string    `json:"template_id"`
	CAID                string    `json:"ca_id"`
	IssuerType          string    `json:"issuer_type"`
	ConnectorID         string    `json:"connector,omitempty"`
	Approval            string    `json:"approval"`
	DefaultValidityDays int       `json:"default_validity_days"`
	EnrollmentMethods   []string  `json:"enrollment_methods"`
	DeliveryFormat      string    `json:"delivery_format"`
	Status              string    `json:"status"`
	CreatedAt           time.Time `json:"created_at"`
	UpdatedAt           time.Time `json:"updated_at"`
}

func profileOut(p *store.Profile) profileJSON {
	return profileJSON{ID: p.ID, OrgID: p.OrgID, Name: p.Name, Description: p.Description, TemplateID: p.TemplateID, CAID: p.CAID,
		IssuerType: cmp.Or(p.IssuerType, store.IssuerInternal), ConnectorID: p.ConnectorID, Approval: p.Approval, DefaultValidityDays: p.DefaultValidityDays, EnrollmentMethods: p.EnrollmentMethods,
		DeliveryFormat: p.DeliveryFormat, Status: p.Status, CreatedAt: p.CreatedAt.UTC(), UpdatedAt: p.UpdatedAt.UTC()}
}

type requestJSON struct {
	ID           string          `json:"id"`
	OrgID        string          `json:"org_id"`
	ProfileID    string          `json:"profile_id"`
	RequesterID  string          `json:"requester_id"`
	Status       string          `json:"status"`
	Kind         string          `json:"kind"`
	Method       string          `json:"enrollment_method,omitempty"`
	CSR          string          `json:"csr,omitempty"`
	Keygen       json.RawMessage `json:"keygen,omitempty"`
	ValidityDays int             `json:"validity_days,omitempty"`
	RenewalOf    string          `json:"renewal_of,omitempty"`
	Owner        string          `json:"owner"`
	Reason       string          `json:"reason,omitempty"`
	DecidedBy    string          `json:"decided_by,omitempty"`
	DecidedAt    *time.Time      `json:"decided_at,omitempty"`
	Serial       string          `json:"certificate_serial,omitempty"`
	CreatedAt    time.Time       `json:"created_at"`
	UpdatedAt    time.Time       `json:"updated_at"`
}

func requestOut(r *store.Request) requestJSON {
	return requestJSON{ID: r.ID, OrgID: r.OrgID, ProfileID: r.ProfileID, RequesterID: r.RequesterID, Status: r.Status, Kind: r.Kind, Method: r.Method,
		CSR: r.CSRPEM, Keygen: json.RawMessage(r.Keygen), ValidityDays: r.ValidityDays, RenewalOf: r.RenewalOf, Owner: r.Owner,
		Reason: r.Reason, DecidedBy: r.DecidedBy, DecidedAt: utcPtr(r.DecidedAt), Serial: r.CertSerial,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

type certificateJSON struct {
	Serial           string            `json:"serial"`
	CAID             string            `json:"ca_id,omitempty"`
	ProfileID        string            `json:"profile_id,omitempty"`
	RequestID        string            `json:"request_id,omitempty"`
	Issuer           string            `json:"issuer"`
	Subject          string            `json:"subject"`
	CommonName       string            `json:"common_name"`
	SANs             []string          `json:"sans"`
	KeyType          string            `json:"key_type"`
	NotBefore        time.Time         `json:"not_before"`
	NotAfter         time.Time         `json:"not_after"`
	SHA1             string            `json:"sha1"`
	SHA256           string            `json:"sha256"`
	Status           string            `json:"status"`
	RevocationReason string            `json:"revocation_reason,omitempty"`
	RevokedAt        *time.Time        `json:"revoked_at,omitempty"`
	InvalidityDate   *time.Time        `json:"invalidity_date,omitempty"`
	Source           string            `json:"source"`
	Method           string            `json:"enrollment_method,omitempty"`
	OrgID            string            `json:"org_id"`
	Owner            string            `json:"owner"`
	Labels           map[string]string `json:"labels"`
	CustomFields     map[string]string `json:"custom_fields"`
	RenewedFrom      string            `json:"renewed_from,omitempty"`
	RenewedBy        string            `json:"renewed_by,omitempty"`
	CreatedAt        time.Time         `json:"created_at"`
	CertificatePEM   string            `json:"certificate_pem"`
}

// certificateOut reports the derived "expired" status so clients need not compute it.
func certificateOut(c *store.Certificate, now time.Time) certificateJSON {
	status := c.Status
	if status == store.CertActive && !now.Before(c.NotAfter) {
		status = store.CertExpired
	}
	out := certificateJSON{Serial: c.Serial, CAID: c.CAID, ProfileID: c.ProfileID, RequestID: c.RequestID, Issuer: c.Issuer,
		Subject: c.Subject, CommonName: c.CommonName, SANs: c.SANs, KeyType: c.KeyType, NotBefore: c.NotBefore.UTC(),
		NotAfter: c.NotAfter.UTC(), SHA1: c.SHA1, SHA256: c.SHA256, Status: status, RevokedAt: utcPtr(c.RevokedAt), InvalidityDate: utcPtr(c.InvalidityDate),
		Source: c.Source, Method: c.Method, OrgID: c.OrgID, Owner: c.Owner, Labels: nonNilMap(c.Labels), CustomFields: nonNilMap(c.CustomFields), RenewedFrom: c.RenewedFrom, RenewedBy: c.RenewedBy, CreatedAt: c.CreatedAt.UTC(),
		CertificatePEM: string(certutil.EncodeCertsPEM(c.DER))}
	if out.SANs == nil {
		out.SANs = []string{}
	}
	if c.Status != store.CertActive {
		out.RevocationReason = issuance.ReasonName(c.RevocationReason)
	}
	return out
}

// enrollJSON is the answer to enroll, approve and renew.
type enrollJSON struct {
	Request       requestJSON      `json:"request"`
	Certificate   *certificateJSON `json:"certificate,omitempty"`
	ChainPEM      string           `json:"chain_pem,omitempty"`
	PrivateKeyPEM string           `json:"private_key_pem,omitempty"`
	PKCS12        []byte           `json:"pkcs12,omitempty"` // base64 in JSON
	Replayed      bool             `json:"replayed,omitempty"`
}

func enrollOut(res *issuance.Issued, now time.Time) enrollJSON {
	out := enrollJSON{Request: requestOut(res.Request), PrivateKeyPEM: string(res.PrivateKeyPEM), PKCS12: res.PKCS12, Replayed: res.Replayed}
	if res.Certificate != nil {
		c := certificateOut(res.Certificate, now)
		out.Certificate = &c
		out.ChainPEM = string(certutil.EncodeCertsPEM(res.Chain...))
	}
	return out
}

type apiKeyJSON struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	PrincipalID string     `json:"principal_id"`
	OrgID       string     `json:"org_id,omitempty"`
	Roles       []string   `json:"roles"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
	RevokedAt   *time.Time `json:"revoked_at,omitempty"`
	LastUsedAt  *time.Time `json:"last_used_at,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	Key         string     `json:"key,omitempty"` // only in the response that creates it
}

func apiKeyOut(k *store.APIKey) apiKeyJSON {
	return apiKeyJSON{ID: k.ID, Name: k.Name, PrincipalID: k.PrincipalID, OrgID: k.OrgID, Roles: k.Roles, ExpiresAt: utcPtr(k.ExpiresAt),
		RevokedAt: utcPtr(k.RevokedAt), LastUsedAt: utcPtr(k.LastUsedAt), CreatedAt: k.CreatedAt.UTC()}
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
