package sectigo

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/certutil"
	"github.com/signet-pki/signet/internal/issuance"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// collectFormats are the document's collect formats (base64 the default).
var collectFormats = map[string]bool{"x509": true, "x509CO": true, "base64": true, "bin": true, "x509IO": true,
	"x509IOR": true, "pem": true, "pemco": true, "pemia": true, "x509R": true}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// collect answers the certificate in the asked format, raw (not JSON).
// Chain orders follow the document's words: x509 / pem list the chain
// root first (as the document's sample does), x509R and pemia leaf first,
// x509IO root then intermediates, x509IOR intermediates then root.
func (h *Handler) collect(w http.ResponseWriter, c *call) error {
	format := c.r.URL.Query().Get("format")
	if format == "" {
		format = "base64"
	}
	if !collectFormats[format] {
		return fail(http.StatusBadRequest, -126, "Unknown SSL certificate file format requested: %s", format)
	}
	v, err := h.load(c, c.r.PathValue("sslId"))
	if err != nil {
		return err
	}
	switch st := v.status(h.d.Now()); st {
	case stIssued, stExpired:
	case stRevoked:
		return fail(http.StatusBadRequest, -110, "Certificate has been revoked and cannot be downloaded.")
	case stRequested, stApproved:
		return fail(http.StatusBadRequest, -1400, "The request is being processed by Sectigo.")
	default:
		return fail(http.StatusBadRequest, -183, "Certificate is not collectable.")
	}
	dl, err := h.d.Issuance.Download(c.ctx, v.cert.Serial, issuance.FormatChain)
	if err != nil {
		return err
	}
	certs, err := certutil.ParseCertificates(dl.Body)
	if err != nil || len(certs) == 0 {
		return fmt.Errorf("collect: parse chain of %s: %w", v.cert.Serial, err)
	}
	leaf := certs[0].Raw
	var issuers [][]byte // intermediates then root
	for _, x := range certs[1:] {
		issuers = append(issuers, x.Raw)
	}
	rootFirst := reversed(issuers)
	var body []byte
	ext := "crt"
	switch format {
	case "x509", "pem":
		body = certutil.EncodeCertsPEM(append(rootFirst, leaf)...)
	case "x509R", "pemia":
		body = certutil.EncodeCertsPEM(append([][]byte{leaf}, issuers...)...)
	case "x509CO", "pemco":
		body = certutil.EncodeCertsPEM(leaf)
	case "x509IO":
		body = certutil.EncodeCertsPEM(rootFirst...)
	case "x509IOR":
		body = certutil.EncodeCertsPEM(issuers...)
	case "base64", "bin":
		der, err := certutil.EncodePKCS7(append([][]byte{leaf}, issuers...)...)
		if err != nil {
			return fmt.Errorf("collect: PKCS#7: %w", err)
		}
		body, ext = der, "p7b"
		if format == "base64" {
			body = pemBlock("PKCS7", der)
		}
	}
	name := unsafeName.ReplaceAllString(v.cert.CommonName, "_")
	if name == "" {
		name = "certificate"
	}
	w.Header().Set("Content-Type", "application/octet-stream;charset=UTF-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.%s"`, name, ext))
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(body)
	return err
}

func reversed(in [][]byte) [][]byte {
	out := make([][]byte, len(in))
	for i, b := range in {
		out[len(in)-1-i] = b
	}
	return out
}

type messageBody struct {
	Message string `json:"message"`
}

func readMessage(c *call) (string, error) {
	var b messageBody
	if err := decode(c.r, &b); err != nil {
		return "", err
	}
	if strings.TrimSpace(b.Message) == "" {
		return "", errMissing("message")
	}
	if len(b.Message) > 512 {
		return "", errInvalidField("message")
	}
	return b.Message, nil
}

// pendingView loads a record whose request awaits a decision.
func (h *Handler) pendingView(c *call) (*view, error) {
	v, err := h.load(c, c.r.PathValue("sslId"))
	if err != nil {
		return nil, err
	}
	if st := v.status(h.d.Now()); st != stRequested {
		return nil, fail(http.StatusBadRequest, -1112, "Certificate can't be approved cause it has state = %s", st)
	}
	return v, nil
}

func (h *Handler) approve(w http.ResponseWriter, c *call) error {
	if _, err := readMessage(c); err != nil {
		return err
	}
	v, err := h.pendingView(c)
	if err != nil {
		return err
	}
	if _, err := h.d.Issuance.Approve(c.ctx, v.req.ID); err != nil {
		return err
	}
	return noContent(w)
}

func (h *Handler) decline(w http.ResponseWriter, c *call) error {
	msg, err := readMessage(c)
	if err != nil {
		return err
	}
	v, err := h.pendingView(c)
	if err != nil {
		return err
	}
	if _, err := h.d.Issuance.Reject(c.ctx, v.req.ID, msg); err != nil {
		return err
	}
	v.rec.Declined = true
	if err := h.saveRecord(c.ctx, v); err != nil {
		return err
	}
	return noContent(w)
}

type revokeBody struct {
	ReasonCode   *int   `json:"reasonCode"`
	Reason       string `json:"reason"`
	CertID       *int64 `json:"certId"`
	SerialNumber string `json:"serialNumber"`
	Issuer       string `json:"issuer"`
	RevokeDate   string `json:"revokeDate"`
}

// allowedReasons are the document's revocation reason codes.
var allowedReasons = map[int]bool{0: true, 1: true, 3: true, 4: true, 5: true}

func readRevoke(c *call, needReason bool) (*revokeBody, int, error) {
	var b revokeBody
	if err := decode(c.r, &b); err != nil {
		return nil, 0, err
	}
	if needReason && strings.TrimSpace(b.Reason) == "" {
		return nil, 0, errMissing("reason")
	}
	if len(b.Reason) > 512 {
		return nil, 0, errInvalidField("reason")
	}
	code := 0
	if b.ReasonCode != nil {
		code = *b.ReasonCode
	}
	if !allowedReasons[code] {
		return nil, 0, errInvalidField("reasonCode")
	}
	return &b, code, nil
}

// revokeCert revokes an issued certificate with the document's answers.
func (h *Handler) revokeCert(w http.ResponseWriter, c *call, cert *store.Certificate, code int, at *time.Time) error {
	if cert == nil {
		return fail(http.StatusBadRequest, -102, "Only issued certificates could be revoked.")
	}
	if cert.Status == store.CertRevoked {
		return fail(http.StatusBadRequest, -159, "Your certificate already revoked")
	}
	if _, err := h.d.Issuance.Revoke(c.ctx, cert.Serial, code, at); err != nil {
		// Only a concurrent revocation is "already revoked"; another
		// conflict (an upstream CA refusing) keeps its own words.
		if problem.Is(err, "certificate_already_revoked") {
			return fail(http.StatusBadRequest, -159, "Your certificate already revoked")
		}
		return err
	}
	return noContent(w)
}

func (h *Handler) revoke(w http.ResponseWriter, c *call) error {
	_, code, err := readRevoke(c, true)
	if err != nil {
		return err
	}
	v, err := h.load(c, c.r.PathValue("sslId"))
	if err != nil {
		return err
	}
	return h.revokeCert(w, c, v.cert, code, nil)
}

// certBySerial finds a certificate of the customer's organization by any serial form.
func (h *Handler) certBySerial(c *call, serial string) (*store.Certificate, error) {
	canon, err := certutil.NormalizeSerial(serial)
	if err != nil {
		return nil, errInvalidField("serialNumber")
	}
	cert, err := h.d.Issuance.GetCertificate(c.ctx, canon)
	if err != nil || cert.OrgID != c.org.ID {
		if err == nil || problem.KindOf(err) == problem.KindNotFound || problem.KindOf(err) == problem.KindForbidden {
			return nil, fail(http.StatusNotFound, -5101, "Certificate not found. %s", serial)
		}
		return nil, err
	}
	return cert, nil
}

func (h *Handler) revokeBySerial(w http.ResponseWriter, c *call) error {
	_, code, err := readRevoke(c, true)
	if err != nil {
		return err
	}
	cert, err := h.certBySerial(c, c.r.PathValue("serial"))
	if err != nil {
		return err
	}
	return h.revokeCert(w, c, cert, code, nil)
}

// revokeManual is the document's "mark as revoked": Signet is the CA, so
// it revokes for real (CRL and OCSP), with revokeDate as the invalidity date.
func (h *Handler) revokeManual(w http.ResponseWriter, c *call) error {
	b, code, err := readRevoke(c, false)
	if err != nil {
		return err
	}
	var at *time.Time
	if b.RevokeDate != "" {
		t, err := time.Parse(time.RFC3339, b.RevokeDate)
		if err != nil {
			return errInvalidField("revokeDate")
		}
		at = &t
	}
	var cert *store.Certificate
	switch {
	case b.CertID != nil:
		v, err := h.load(c, fmt.Sprint(*b.CertID))
		if err != nil {
			return err
		}
		cert = v.cert
	case b.SerialNumber != "":
		if cert, err = h.certBySerial(c, b.SerialNumber); err != nil {
			return err
		}
		if b.Issuer != "" && !strings.EqualFold(b.Issuer, cert.Issuer) {
			return fail(http.StatusNotFound, -5101, "Certificate not found. %s", b.SerialNumber)
		}
	default:
		return errMissing("certId")
	}
	return h.revokeCert(w, c, cert, code, at)
}
