package digicert

import (
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/certutil"
	"github.com/signet-pki/signet/internal/issuance"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// seatLabel is the certificate label that records the seat a certificate
// was issued to (the certificate's owner is the seat's Signet principal).
const seatLabel = "digicert.seat_id"

type refIn struct {
	ID     string `json:"id"`
	SeatID string `json:"seat_id"`
	Email  string `json:"email"`
}

// seatRef is the seat a request names: seat_id as documented; id tolerated,
// as the enrollment-redeem request spells it.
func (s refIn) seatRef() string {
	if s.SeatID != "" {
		return s.SeatID
	}
	return s.ID
}

// validityIn is the vendor's Validity ({unit, duration}); the enrollment
// example's duration_unit / duration_value spelling is accepted too.
type validityIn struct {
	Unit          string `json:"unit"`
	Duration      int    `json:"duration"`
	DurationUnit  string `json:"duration_unit"`
	DurationValue int    `json:"duration_value"`
}

// days converts a validity to whole days, which is Signet's unit. Hours and
// minutes are refused unless they make whole days: Signet would otherwise
// issue something longer than asked for.
func (v *validityIn) days(field string) (int, error) {
	if v == nil {
		return 0, nil
	}
	unit, n := v.Unit, v.Duration
	if unit == "" && v.DurationUnit != "" {
		unit, n = v.DurationUnit, v.DurationValue
	}
	// The upper bound keeps unit conversions from overflowing; the
	// template's maximum validity is the real limit.
	if n <= 0 || n > 1_000_000 {
		return 0, fieldErr(field+".duration", "invalid_input", "validity duration must be a positive integer")
	}
	switch strings.ToLower(unit) {
	case "days", "":
		return n, nil
	case "months":
		return n * 30, nil
	case "years":
		return n * 365, nil
	case "hours":
		if n%24 == 0 {
			return n / 24, nil
		}
	case "minutes":
		if n%(24*60) == 0 {
			return n / (24 * 60), nil
		}
	default:
		return 0, fieldErr(field+".unit", "invalid_input", "validity unit must be years, months, days, hours or minutes")
	}
	return 0, fieldErr(field+".duration", "invalid_input", "Signet issues for whole days: %d %s is not a whole number of days", n, unit)
}

type subjectIn struct {
	CommonName string `json:"common_name"`
}

type sanIn struct {
	DNSNames []string `json:"dns_names"`
}

type attributesIn struct {
	Subject    subjectIn `json:"subject"`
	Extensions struct {
		SAN sanIn `json:"san"`
	} `json:"extensions"`
}

type issueRequest struct {
	Profile        refIn         `json:"profile"`
	Seat           refIn         `json:"seat"`
	CSR            string        `json:"csr"`
	Validity       *validityIn   `json:"validity"`
	DeliveryFormat string        `json:"delivery_format"`
	Attributes     *attributesIn `json:"attributes"`
}

// certificateResponse is the vendor's CertificateResponse (issue, renew,
// pickup, redeem), or request_id while a request awaits approval.
type certificateResponse struct {
	SerialNumber   string `json:"serial_number,omitempty"`
	DeliveryFormat string `json:"delivery_format,omitempty"`
	Certificate    string `json:"certificate,omitempty"`
	RequestID      string `json:"request_id,omitempty"`
	Status         string `json:"status,omitempty"`
}

// normalizeCSR accepts the CSR as PEM, or as the bare base64 DER the
// vendor's OpenAPI examples send.
func normalizeCSR(field, csr string) (string, error) {
	csr = strings.TrimSpace(csr)
	if csr == "" {
		return "", fieldErr(field, "invalid_input", "%s is required", field)
	}
	if strings.HasPrefix(csr, "-----BEGIN") {
		return csr + "\n", nil
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(csr), ""))
	if err != nil {
		return "", fieldErr(field, "csr_malformed", "the CSR is neither PEM nor base64-encoded DER")
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})), nil
}

// checkAttributes refuses subject or DNS names that the CSR does not carry:
// Signet certifies exactly the CSR's names (its policy checks them), and a
// request asking for others must not be answered with a certificate for
// something else.
func checkAttributes(a *attributesIn, csrPEM string) error {
	if a == nil {
		return nil
	}
	csr, err := certutil.ParseCSR([]byte(csrPEM))
	if err != nil {
		return withField(err, "csr")
	}
	if cn := a.Subject.CommonName; cn != "" && !strings.EqualFold(cn, csr.Subject.CommonName) {
		return fieldErr("attributes.subject.common_name", "invalid_input",
			"common_name %q differs from the CSR's %q: Signet certifies the CSR's subject", cn, csr.Subject.CommonName)
	}
	for _, n := range a.Extensions.SAN.DNSNames {
		found := strings.EqualFold(n, csr.Subject.CommonName)
		for _, d := range csr.DNSNames {
			found = found || strings.EqualFold(n, d)
		}
		if !found {
			return fieldErr("attributes.extensions.san.dns_names", "invalid_input",
				"%q is not among the CSR's names: Signet certifies the CSR's names", n)
		}
	}
	return nil
}

// withField names the request field a CSR error concerns.
func withField(err error, field string) error {
	if pe := problem.As(err); pe != nil && pe.Kind == problem.KindInvalid && strings.HasPrefix(pe.Code, "csr") {
		return &apiError{status: http.StatusBadRequest, Code: pe.Code, Message: pe.Message, Field: field}
	}
	return err
}

func (h *Handler) issue(w http.ResponseWriter, r *http.Request) error {
	var in issueRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Profile.ID == "" {
		return fieldErr("profile.id", "invalid_input", "profile.id is required")
	}
	seatID := in.Seat.seatRef()
	if err := checkSeatID("seat.seat_id", seatID); err != nil {
		return err
	}
	csr, err := normalizeCSR("csr", in.CSR)
	if err != nil {
		return err
	}
	days, err := in.Validity.days("validity")
	if err != nil {
		return err
	}
	if err := checkDeliveryFormat(in.DeliveryFormat); err != nil {
		return err
	}
	prof, err := h.d.Profiles.GetProfile(r.Context(), in.Profile.ID)
	if err != nil {
		return err
	}
	if err := checkAttributes(in.Attributes, csr); err != nil {
		return err
	}
	seat, err := h.seatFor(r.Context(), prof.OrgID, seatID)
	if err != nil {
		return err
	}
	res, err := h.d.Issuance.Enroll(r.Context(), issuance.EnrollInput{Profile: prof.ID, CSR: csr, ValidityDays: days,
		Owner: seat.Owner, Labels: map[string]string{seatLabel: seat.SeatID}, Method: issuance.MethodAPI,
		IdempotencyKey: r.Header.Get("Idempotency-Key")})
	if err != nil {
		return withField(err, "csr")
	}
	return writeJSON(w, http.StatusCreated, issuedResponse(res))
}

func checkDeliveryFormat(f string) error {
	switch strings.ToLower(f) {
	case "", "x509":
		return nil
	default:
		return fieldErr("delivery_format", "invalid_input", "delivery_format must be x509 (PKCS#7 is served by additional-formats)")
	}
}

// issuedResponse is the issue answer: the certificate, or the request id
// to pick it up with once a manager has approved it.
func issuedResponse(res *issuance.Issued) certificateResponse {
	if res.Certificate == nil {
		return certificateResponse{RequestID: res.Request.ID, Status: "pending"}
	}
	return certificateResponse{SerialNumber: upperSerial(res.Certificate.Serial), DeliveryFormat: "x509",
		Certificate: string(certutil.EncodeCertsPEM(res.Certificate.DER))}
}

// upperSerial is the vendor's spelling of a serial: upper-case hex, no
// colons, padded to whole bytes (as openssl prints it).
func upperSerial(canon string) string {
	if len(canon)%2 == 1 {
		canon = "0" + canon
	}
	return strings.ToUpper(canon)
}

// pickup returns the certificate of a request once issued. While the
// request awaits approval it answers 200 with status "pending" and the
// request id (the vendor documents no error for this case); a rejected or
// failed request is a 409.
func (h *Handler) pickup(w http.ResponseWriter, r *http.Request) error {
	req, err := h.d.Issuance.GetRequest(r.Context(), r.PathValue("request_id"))
	if err != nil {
		return err
	}
	switch req.Status {
	case store.RequestIssued:
		c, err := h.d.Issuance.GetCertificate(r.Context(), req.CertSerial)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, certificateResponse{SerialNumber: upperSerial(c.Serial), DeliveryFormat: "x509",
			Certificate: string(certutil.EncodeCertsPEM(c.DER)), RequestID: req.ID, Status: "issued"})
	case store.RequestPending, store.RequestApproved, store.RequestPendingUpstream:
		// Waiting for a manager or for an external CA is the same "pending" to DigiCert's clients.
		return writeJSON(w, http.StatusOK, certificateResponse{RequestID: req.ID, Status: "pending"})
	default:
		return apiErr(http.StatusConflict, "request_"+req.Status, "request "+req.ID+" was "+req.Status+": "+req.Reason)
	}
}

func (h *Handler) getCertificate(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("serial_number")
	// A request id (from an approval-required issuance) is answered with
	// status "pending" until the certificate exists, as the tutorial's
	// status check describes.
	if strings.HasPrefix(ref, "req_") {
		req, err := h.d.Issuance.GetRequest(r.Context(), ref)
		if err != nil {
			return err
		}
		if req.Status != store.RequestIssued {
			return writeJSON(w, http.StatusOK, h.pendingDoc(r, req))
		}
		ref = req.CertSerial
	}
	c, err := h.d.Issuance.GetCertificate(r.Context(), ref)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, h.certificateDoc(r.Context(), c))
}

// pemType wraps DER as PEM of the given type.
func pemType(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

type chainEntry struct {
	CommonName string `json:"common_name"`
	CertBlob   string `json:"cert_blob"`
}

// additionalFormats answers the tutorial's Step 5: PKCS#7 (PEM) of the
// certificate and its chain, and the chain as PEM entries, leaf to root.
func (h *Handler) additionalFormats(w http.ResponseWriter, r *http.Request) error {
	serial := r.PathValue("serial_number")
	p7, err := h.d.Issuance.Download(r.Context(), serial, issuance.FormatPKCS7)
	if err != nil {
		return err
	}
	chainPEM, err := h.d.Issuance.Download(r.Context(), serial, issuance.FormatChain)
	if err != nil {
		return err
	}
	certs, err := certutil.ParseCertificates(chainPEM.Body)
	if err != nil {
		return err
	}
	out := struct {
		PKCS7 string       `json:"pkcs7"`
		Chain []chainEntry `json:"x509_cert_chain"`
	}{PKCS7: pemType("PKCS7", p7.Body), Chain: []chainEntry{}}
	for _, c := range certs {
		out.Chain = append(out.Chain, chainEntry{CommonName: c.Subject.CommonName, CertBlob: string(certutil.EncodeCertsPEM(c.Raw))})
	}
	return writeJSON(w, http.StatusOK, out)
}

type renewRequest struct {
	CSR            string      `json:"csr"`
	Validity       *validityIn `json:"validity"`
	DeliveryFormat string      `json:"delivery_format"`
}

// renew issues the successor of a certificate from a new CSR (the
// vendor's renew takes one); the successor keeps the seat.
func (h *Handler) renew(w http.ResponseWriter, r *http.Request) error {
	var in renewRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	csr, err := normalizeCSR("csr", in.CSR)
	if err != nil {
		return err
	}
	days, err := in.Validity.days("validity")
	if err != nil {
		return err
	}
	if err := checkDeliveryFormat(in.DeliveryFormat); err != nil {
		return err
	}
	if err := h.checkThumbprint(r); err != nil {
		return err
	}
	res, err := h.d.Issuance.Renew(r.Context(), r.PathValue("serial_number"), issuance.RenewInput{CSR: csr, ValidityDays: days,
		Method: issuance.MethodAPI})
	if err != nil {
		return withField(err, "csr")
	}
	status := http.StatusOK
	if res.Certificate == nil {
		status = http.StatusCreated
	}
	return writeJSON(w, status, issuedResponse(res))
}

// checkThumbprint honours the optional thumbprint_sha256 query parameter
// the vendor uses to pick among certificates sharing a serial: Signet's
// serials are unique, so it only has to match.
func (h *Handler) checkThumbprint(r *http.Request) error {
	tp := r.URL.Query().Get("thumbprint_sha256")
	if tp == "" {
		return nil
	}
	c, err := h.d.Issuance.GetCertificate(r.Context(), r.PathValue("serial_number"))
	if err != nil {
		return err
	}
	want, err := certutil.NormalizeFingerprint(tp)
	if err != nil || want != c.SHA256 {
		return apiErr(http.StatusNotFound, "certificate_not_found", "no certificate with this serial number and thumbprint_sha256")
	}
	return nil
}

type revokeRequest struct {
	RevocationReason string `json:"revocation_reason"`
	Reason           string `json:"reason"`
	Comments         string `json:"comments"`
}

// revoke takes the vendor's revocation_reason names; certificate_hold
// suspends (resumable with DELETE), every other reason revokes for good.
func (h *Handler) revoke(w http.ResponseWriter, r *http.Request) error {
	var in revokeRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := h.checkThumbprint(r); err != nil {
		return err
	}
	reason := in.RevocationReason
	if reason == "" {
		reason = in.Reason
	}
	serial := r.PathValue("serial_number")
	if strings.EqualFold(reason, "certificate_hold") {
		if _, err := h.d.Issuance.Suspend(r.Context(), serial); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	code, err := issuance.ParseReason(reason)
	if err != nil {
		return fieldErr("revocation_reason", "invalid_input", "revocation_reason must be one of unspecified, key_compromise, "+
			"ca_compromise, affiliation_changed, superseded, cessation_of_operation, certificate_hold, privilege_withdrawn, aa_compromise")
	}
	if _, err := h.d.Issuance.Revoke(r.Context(), serial, code, nil); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// resume lifts a certificate_hold (the vendor's DELETE .../revoke).
func (h *Handler) resume(w http.ResponseWriter, r *http.Request) error {
	if _, err := h.d.Issuance.Resume(r.Context(), r.PathValue("serial_number")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// timeString is the vendor's timestamp: UTC, seconds, "Z".
func timeString(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// errNotFound reports whether err is a "not found" of any layer.
func errNotFound(err error) bool {
	return errors.Is(err, store.ErrNotFound) || problem.KindOf(err) == problem.KindNotFound
}
