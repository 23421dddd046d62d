package infisical

import (
	"context"
	"encoding/pem"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/ca"
	"github.com/signet-pki/signet/internal/certutil"
	"github.com/signet-pki/signet/internal/issuance"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// certRequest is the union of the sign-certificate and issue-certificate
// bodies of v1 (caId or certificateTemplateId) and v3 (profileId).
type certRequest struct {
	CAID                  string `json:"caId"`
	CertificateTemplateID string `json:"certificateTemplateId"`
	ProfileID             string `json:"profileId"`
	CSR                   string `json:"csr"`
	CommonName            string `json:"commonName"`
	AltNames              string `json:"altNames"`
	TTL                   string `json:"ttl"`
	KeyAlgorithm          string `json:"keyAlgorithm"`
	FriendlyName          string `json:"friendlyName"`
}

// issuedJSON is what sign, issue and renew answer.
type issuedJSON struct {
	Certificate          string `json:"certificate"`
	CertificateChain     string `json:"certificateChain"`
	IssuingCaCertificate string `json:"issuingCaCertificate"`
	SerialNumber         string `json:"serialNumber"`
	CertificateID        string `json:"certificateId"`
	PrivateKey           string `json:"privateKey,omitempty"`
}

// parseTTL reads Infisical's ttl ("90d", "1y", "12h", "30m", "1w"; a bare
// number is milliseconds, as the ms library reads it) into whole days,
// rounded up: Signet's validity is counted in days. "" is the profile's default.
func parseTTL(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	bad := problem.Invalid("ttl_invalid", "Invalid ttl %q (use e.g. 90d, 1y, 12h)", s)
	unit := time.Millisecond
	num := s
	units := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour,
		'w': 7 * 24 * time.Hour, 'y': 365 * 24 * time.Hour}
	if u, ok := units[s[len(s)-1]]; ok {
		unit, num = u, s[:len(s)-1]
	}
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(n) || n <= 0 || math.IsInf(n, 0) || n*float64(unit) > float64(100*365*24*time.Hour) {
		return 0, bad
	}
	days := int(math.Ceil(n * float64(unit) / float64(24*time.Hour)))
	return max(days, 1), nil
}

// keygenFor maps Infisical's keyAlgorithm (RSA_2048 by default).
func keygenFor(alg string) (*issuance.Keygen, error) {
	switch strings.ToUpper(strings.TrimSpace(alg)) {
	case "", "RSA_2048":
		return &issuance.Keygen{Algorithm: "rsa", Bits: 2048}, nil
	case "RSA_3072":
		return &issuance.Keygen{Algorithm: "rsa", Bits: 3072}, nil
	case "RSA_4096":
		return &issuance.Keygen{Algorithm: "rsa", Bits: 4096}, nil
	case "EC_PRIME256V1", "ECDSA_P256":
		return &issuance.Keygen{Algorithm: "ecdsa", Bits: 256}, nil
	case "EC_SECP384R1", "ECDSA_P384":
		return &issuance.Keygen{Algorithm: "ecdsa", Bits: 384}, nil
	}
	return nil, problem.Invalid("key_algorithm_invalid", "Unsupported keyAlgorithm %q", alg)
}

func splitAltNames(s string) []string {
	var out []string
	for _, n := range strings.Split(s, ",") {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}

func render(is *issuance.Issued) issuedJSON {
	out := issuedJSON{Certificate: string(certutil.EncodeCertsPEM(is.Certificate.DER)), SerialNumber: is.Certificate.Serial,
		CertificateID: is.Certificate.Serial, PrivateKey: string(is.PrivateKeyPEM)}
	if len(is.Chain) > 0 {
		out.IssuingCaCertificate = string(certutil.EncodeCertsPEM(is.Chain[0]))
		out.CertificateChain = string(certutil.EncodeCertsPEM(is.Chain...))
	}
	return out
}

// enroll runs an issuance and answers 200 with the certificate; a profile
// that needs approval cannot answer Infisical's synchronous call.
func (h *Handler) enroll(w http.ResponseWriter, ctx context.Context, in issuance.EnrollInput) error {
	in.Method = Method
	is, err := h.d.Issuance.Enroll(ctx, in)
	if err != nil {
		return err
	}
	if is.Certificate == nil {
		return notIssued(is)
	}
	writeJSON(w, http.StatusOK, render(is))
	return nil
}

func (h *Handler) sign(w http.ResponseWriter, r *http.Request) error {
	var in certRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	return h.signCSR(w, r, in)
}

func (h *Handler) signCSR(w http.ResponseWriter, r *http.Request, in certRequest) error {
	if strings.TrimSpace(in.CSR) == "" {
		return problem.Invalid("csr_required", "csr is required")
	}
	days, err := parseTTL(in.TTL)
	if err != nil {
		return err
	}
	prof, err := h.profileFor(r.Context(), firstOf(in.ProfileID, in.CertificateTemplateID), in.CAID)
	if err != nil {
		return err
	}
	return h.enroll(w, r.Context(), issuance.EnrollInput{Profile: prof.ID, CSR: in.CSR, ValidityDays: days})
}

// issue generates the key on the server: Signet returns it once and never
// stores it (the certificate can still be renewed by id, with a new key).
func (h *Handler) issue(w http.ResponseWriter, r *http.Request) error {
	var in certRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	if strings.TrimSpace(in.CSR) != "" {
		return h.signCSR(w, r, in)
	}
	if strings.TrimSpace(in.CommonName) == "" && in.AltNames == "" {
		return problem.Invalid("common_name_required", "commonName is required")
	}
	days, err := parseTTL(in.TTL)
	if err != nil {
		return err
	}
	kg, err := keygenFor(in.KeyAlgorithm)
	if err != nil {
		return err
	}
	prof, err := h.profileFor(r.Context(), firstOf(in.ProfileID, in.CertificateTemplateID), in.CAID)
	if err != nil {
		return err
	}
	cn := strings.TrimSpace(in.CommonName)
	sans := splitAltNames(in.AltNames)
	if len(sans) == 0 && hostLike(cn) {
		// As Signet does for a CSR that names only a CN: clients ignore
		// the CN, and templates need SANs.
		sans = []string{cn}
	}
	return h.enroll(w, r.Context(), issuance.EnrollInput{Profile: prof.ID, Keygen: kg, ValidityDays: days,
		Subject: ca.Subject{CommonName: cn}, SANs: sans})
}

// hostLike is a CN that names a host or an IP address.
func hostLike(cn string) bool {
	return net.ParseIP(cn) != nil || (strings.Contains(cn, ".") && !strings.ContainsAny(cn, " @/:"))
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// certificate finds a certificate by the serial or id Infisical clients hold.
func (h *Handler) certificate(ctx context.Context, ref string) (*store.Certificate, error) {
	serial, err := certutil.NormalizeSerial(ref)
	if err != nil {
		return nil, problem.NotFound("certificate_not_found", "Certificate with serial %s not found", ref)
	}
	c, err := h.d.Issuance.GetCertificate(ctx, serial)
	if problem.KindOf(err) == problem.KindNotFound {
		return nil, problem.NotFound("certificate_not_found", "Certificate with serial %s not found", ref)
	}
	return c, err
}

// renew re-issues a certificate the server generated the key for, with a
// fresh key of the same type (v1-v3 paths; optional ttl).
func (h *Handler) renew(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		TTL string `json:"ttl"`
	}
	if err := decodeOptional(r, &in); err != nil {
		return err
	}
	days, err := parseTTL(in.TTL)
	if err != nil {
		return err
	}
	is, err := h.renewByID(r.Context(), r.PathValue("id"), days)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, render(is))
	return nil
}

// renewByID renews by the id Infisical clients hold. Like Infisical, it
// refuses certificates issued from a CSR: their key never left the client.
func (h *Handler) renewByID(ctx context.Context, ref string, days int) (*issuance.Issued, error) {
	old, err := h.certificate(ctx, ref)
	if err != nil {
		return nil, err
	}
	if old.RequestID == "" {
		return nil, problem.Invalid("renewal_not_supported", "Certificate %s was not issued through the issue-certificate endpoint", old.Serial)
	}
	req, err := h.d.Issuance.GetRequest(ctx, old.RequestID)
	if err != nil {
		return nil, err
	}
	if req.CSRPEM != "" || len(req.Keygen) == 0 {
		return nil, problem.Invalid("renewal_not_supported", "Renewal by id only works for certificates issued without a CSR; submit a new CSR instead")
	}
	kg, err := keygenOf(old.KeyType)
	if err != nil {
		return nil, err
	}
	is, err := h.d.Issuance.Renew(ctx, old.Serial, issuance.RenewInput{Method: Method, Keygen: kg, ValidityDays: days})
	if err != nil {
		return nil, err
	}
	if is.Certificate == nil {
		return nil, notIssued(is)
	}
	return is, nil
}

// keygenOf asks for a key like the old one ("RSA-2048", "ECDSA-P256").
func keygenOf(keyType string) (*issuance.Keygen, error) {
	alg, param, _ := strings.Cut(keyType, "-")
	switch strings.ToUpper(alg) {
	case "RSA":
		bits, err := strconv.Atoi(param)
		if err != nil {
			return nil, problem.Invalid("key_type_unsupported", "Cannot renew a %s key", keyType)
		}
		return &issuance.Keygen{Algorithm: "rsa", Bits: bits}, nil
	case "ECDSA":
		bits, err := strconv.Atoi(strings.TrimPrefix(strings.ToUpper(param), "P"))
		if err != nil {
			return nil, problem.Invalid("key_type_unsupported", "Cannot renew a %s key", keyType)
		}
		return &issuance.Keygen{Algorithm: "ecdsa", Bits: bits}, nil
	}
	return nil, problem.Invalid("key_type_unsupported", "Cannot renew a %s key", keyType)
}

// certJSON is Infisical's certificate document.
type certJSON struct {
	ID                    string     `json:"id"`
	CAID                  string     `json:"caId"`
	CertificateTemplateID string     `json:"certificateTemplateId"`
	ProfileID             string     `json:"profileId"`
	Status                string     `json:"status"`
	SerialNumber          string     `json:"serialNumber"`
	FriendlyName          string     `json:"friendlyName"`
	CommonName            string     `json:"commonName"`
	AltNames              string     `json:"altNames"`
	NotBefore             time.Time  `json:"notBefore"`
	NotAfter              time.Time  `json:"notAfter"`
	RevokedAt             *time.Time `json:"revokedAt"`
	RevocationReason      *int       `json:"revocationReason"`
	KeyAlgorithm          string     `json:"keyAlgorithm"`
	FingerprintSHA256     string     `json:"fingerprintSha256"`
	FingerprintSHA1       string     `json:"fingerprintSha1"`
	RenewedFrom           string     `json:"renewedFromCertificateId"`
	RenewedBy             string     `json:"renewedByCertificateId"`
	Source                string     `json:"source"`
	CreatedAt             time.Time  `json:"createdAt"`
	UpdatedAt             time.Time  `json:"updatedAt"`
}

func certOut(c *store.Certificate) certJSON {
	out := certJSON{ID: c.Serial, CAID: c.CAID, CertificateTemplateID: c.ProfileID, ProfileID: c.ProfileID, Status: "active",
		SerialNumber: c.Serial, FriendlyName: c.CommonName, CommonName: c.CommonName, AltNames: strings.Join(c.SANs, ","),
		NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC(), KeyAlgorithm: keyAlgorithmOf(c.KeyType),
		FingerprintSHA256: c.SHA256, FingerprintSHA1: c.SHA1, RenewedFrom: c.RenewedFrom, RenewedBy: c.RenewedBy,
		Source: c.Source, CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC()}
	if c.Status == store.CertRevoked || c.Status == store.CertOnHold {
		out.Status = "revoked"
		reason := c.RevocationReason
		out.RevocationReason = &reason
		if c.RevokedAt != nil {
			t := c.RevokedAt.UTC()
			out.RevokedAt = &t
		}
	}
	return out
}

func keyAlgorithmOf(keyType string) string {
	switch keyType {
	case "ECDSA-P256":
		return "EC_prime256v1"
	case "ECDSA-P384":
		return "EC_secp384r1"
	}
	return strings.ReplaceAll(keyType, "-", "_")
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request) error {
	c, err := h.certificate(r.Context(), r.PathValue("serialNumber"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"certificate": certOut(c)})
	return nil
}

// body is GET .../certificate: the leaf and its issuing chain as PEM.
func (h *Handler) body(w http.ResponseWriter, r *http.Request) error {
	c, err := h.certificate(r.Context(), r.PathValue("serialNumber"))
	if err != nil {
		return err
	}
	dl, err := h.d.Issuance.Download(r.Context(), c.Serial, issuance.FormatChain)
	if err != nil {
		return err
	}
	rest := dl.Body
	var blocks [][]byte
	for {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		blocks = append(blocks, b.Bytes)
	}
	out := map[string]string{"certificate": string(certutil.EncodeCertsPEM(c.DER)), "certificateChain": "", "serialNumber": c.Serial}
	if len(blocks) > 1 {
		out["certificateChain"] = string(certutil.EncodeCertsPEM(blocks[1:]...))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// revoke takes Infisical's revocationReason (KEY_COMPROMISE, ...);
// CERTIFICATE_HOLD suspends, which Signet's resume can undo.
func (h *Handler) revoke(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var in struct {
		RevocationReason string `json:"revocationReason"`
	}
	if err := decodeOptional(r, &in); err != nil {
		return err
	}
	c, err := h.certificate(ctx, r.PathValue("serialNumber"))
	if err != nil {
		return err
	}
	if strings.EqualFold(strings.ReplaceAll(in.RevocationReason, "_", ""), "certificatehold") {
		c, err = h.d.Issuance.Suspend(ctx, c.Serial)
	} else {
		reason, perr := issuance.ParseReason(in.RevocationReason)
		if perr != nil {
			return problem.Invalid("reason_invalid", "Invalid revocationReason %q", in.RevocationReason)
		}
		c, err = h.d.Issuance.Revoke(ctx, c.Serial, reason, nil)
	}
	if err != nil {
		return err
	}
	revokedAt := h.d.Now().UTC()
	if c.RevokedAt != nil {
		revokedAt = c.RevokedAt.UTC()
	}
	writeJSON(w, http.StatusOK, map[string]any{"message": "Successfully revoked certificate", "serialNumber": c.Serial, "revokedAt": revokedAt})
	return nil
}

// notIssued is the answer of a synchronous Infisical call whose request
// waits: for a manager's approval, or for the external CA of its profile.
func notIssued(is *issuance.Issued) error {
	if is.Request.Status == store.RequestPendingUpstream {
		return problem.Invalid("issuance_pending", "The profile's external CA has not issued the certificate yet; request %s is pending: %s",
			is.Request.ID, is.Request.Reason)
	}
	return problem.Invalid("approval_required", "The profile requires approval; request %s is pending", is.Request.ID)
}
