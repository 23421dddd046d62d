package infisical

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"strings"

	"github.com/signet-pki/signet/internal/ca"
	"github.com/signet-pki/signet/internal/certutil"
	"github.com/signet-pki/signet/internal/issuance"
	"github.com/signet-pki/signet/internal/problem"
)

// Current Infisical ("Certificate Manager") names the seed's "Issue
// Certificate" and "Renew Certificate" endpoints under /api/v1/cert-manager:
// one issue call, profile-based, with or without a CSR.

// createRequest is POST /api/v1/cert-manager/certificates.
type createRequest struct {
	ProfileID            string          `json:"profileId"`
	CSR                  string          `json:"csr"`
	Attributes           createAttrs     `json:"attributes"`
	RemoveRootsFromChain json.RawMessage `json:"removeRootsFromChain"`
}

type createAttrs struct {
	CommonName         string    `json:"commonName"`
	Organization       string    `json:"organization"`
	OrganizationalUnit string    `json:"organizationalUnit"`
	Country            string    `json:"country"`
	State              string    `json:"state"`
	Locality           string    `json:"locality"`
	AltNames           []altName `json:"altNames"`
	KeyAlgorithm       string    `json:"keyAlgorithm"`
	TTL                string    `json:"ttl"`
}

type altName struct {
	Type  string `json:"type"` // dns_name | ip_address | email | uri
	Value string `json:"value"`
}

// flag reads removeRootsFromChain, a boolean or its string (the schema allows both).
func flag(raw json.RawMessage) (bool, error) {
	s := strings.Trim(strings.TrimSpace(string(raw)), `"`)
	switch strings.ToLower(s) {
	case "", "null", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, problem.Invalid("body_invalid", "removeRootsFromChain must be a boolean")
}

func one(s string) []string {
	if s = strings.TrimSpace(s); s == "" {
		return nil
	}
	return []string{s}
}

// createCertificate issues against a profile: with a CSR it is signed,
// without one the key is generated on the server and returned once. A
// profile that needs approval answers Infisical's pending_approval with the
// Signet request id.
func (h *Handler) createCertificate(w http.ResponseWriter, r *http.Request) error {
	var in createRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	dropRoots, err := flag(in.RemoveRootsFromChain)
	if err != nil {
		return err
	}
	if strings.TrimSpace(in.ProfileID) == "" {
		return problem.Invalid("profile_required", "profileId is required")
	}
	a := in.Attributes
	days, err := parseTTL(a.TTL)
	if err != nil {
		return err
	}
	prof, err := h.d.Profiles.GetProfile(r.Context(), in.ProfileID)
	if err != nil {
		return err
	}
	enroll := issuance.EnrollInput{Profile: prof.ID, ValidityDays: days, Method: Method}
	if strings.TrimSpace(in.CSR) != "" {
		enroll.CSR = in.CSR
	} else {
		if enroll.Keygen, err = keygenFor(a.KeyAlgorithm); err != nil {
			return err
		}
		cn := strings.TrimSpace(a.CommonName)
		enroll.Subject = ca.Subject{CommonName: cn, Organization: one(a.Organization), OrganizationalUnit: one(a.OrganizationalUnit),
			Country: one(a.Country), Province: one(a.State), Locality: one(a.Locality)}
		for _, n := range a.AltNames {
			if v := strings.TrimSpace(n.Value); v != "" {
				enroll.SANs = append(enroll.SANs, v)
			}
		}
		if len(enroll.SANs) == 0 && hostLike(cn) {
			enroll.SANs = []string{cn}
		}
		if cn == "" && len(enroll.SANs) == 0 {
			return problem.Invalid("common_name_required", "attributes.commonName or attributes.altNames is required without a csr")
		}
	}
	is, err := h.d.Issuance.Enroll(r.Context(), enroll)
	if err != nil {
		return err
	}
	if is.Certificate == nil {
		writeJSON(w, http.StatusOK, map[string]any{"certificate": nil, "certificateRequestId": is.Request.ID,
			"status": "pending_approval", "message": "The certificate request is waiting for approval"})
		return nil
	}
	out := render(is)
	if dropRoots {
		out.CertificateChain = withoutRoots(out.CertificateChain)
	}
	writeJSON(w, http.StatusOK, map[string]any{"certificate": out, "certificateRequestId": is.Request.ID,
		"status": "issued", "message": "Certificate issued successfully"})
	return nil
}

// renewCurrent is POST /api/v1/cert-manager/certificates/{id}/renew: the
// seed's renewal by id, answered flat with the new request's id.
func (h *Handler) renewCurrent(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		RemoveRootsFromChain json.RawMessage `json:"removeRootsFromChain"`
	}
	if err := decodeOptional(r, &in); err != nil {
		return err
	}
	dropRoots, err := flag(in.RemoveRootsFromChain)
	if err != nil {
		return err
	}
	is, err := h.renewByID(r.Context(), r.PathValue("id"), 0)
	if err != nil {
		return err
	}
	out := render(is)
	if dropRoots {
		out.CertificateChain = withoutRoots(out.CertificateChain)
	}
	writeJSON(w, http.StatusOK, map[string]any{"certificate": out.Certificate, "issuingCaCertificate": out.IssuingCaCertificate,
		"certificateChain": out.CertificateChain, "serialNumber": out.SerialNumber, "certificateId": out.CertificateID,
		"certificateRequestId": is.Request.ID, "privateKey": out.PrivateKey})
	return nil
}

// withoutRoots drops self-signed certificates from a PEM chain.
func withoutRoots(chain string) string {
	var keep [][]byte
	rest := []byte(chain)
	for {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil || (c.Subject.String() == c.Issuer.String() && c.CheckSignatureFrom(c) == nil) {
			continue
		}
		keep = append(keep, b.Bytes)
	}
	if len(keep) == 0 {
		return ""
	}
	return string(certutil.EncodeCertsPEM(keep...))
}
