package notary

import (
	"bytes"
	"crypto/x509"
	"net/http"
	"strings"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/certutil"
	"github.com/signet-pki/signet/internal/issuance"
	"github.com/signet-pki/signet/internal/problem"
)

// uploadCertificate attaches a chain signed elsewhere. Its leaf must certify
// the CSR's key; the leaf goes into the inventory as an imported certificate.
func (h *Handler) uploadCertificate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if _, err := auth.Require(ctx, auth.PermApprove); err != nil {
		return err
	}
	var in struct {
		Certificate string `json:"certificate"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if strings.TrimSpace(in.Certificate) == "" {
		return problem.Invalid("certificate_required", "certificate is required")
	}
	certs, err := certutil.ParseCertificates([]byte(in.Certificate))
	if err != nil {
		return err
	}
	o, rec, err := h.load(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	if o.Status == objRejected {
		return problem.Conflict("rejected", "certificate request %s was rejected", o.ID)
	}
	csr, err := certutil.ParseCSR([]byte(rec.CSR))
	if err != nil {
		return err
	}
	if !samePublicKey(certs[0], csr) {
		return problem.Invalid("certificate_mismatch", "the certificate does not match the certificate request's key")
	}
	leafPEM := string(certutil.EncodeCertsPEM(certs[0].Raw))
	res, err := h.d.Issuance.Import(ctx, issuance.ImportInput{PEM: leafPEM, Org: o.AccountID, Owner: rec.Requester})
	if err != nil {
		return err
	}
	serial := certutil.SerialHex(certs[0].SerialNumber)
	var certID int64
	if len(res.Imported) == 1 {
		certID = res.Imported[0].IntID
	} else {
		c, err := h.d.Issuance.GetCertificate(ctx, serial)
		if err != nil {
			return err
		}
		if c.SHA256 != certutil.SHA256Hex(certs[0].Raw) {
			return problem.Conflict("serial_conflict", "another certificate with serial %s is already in the inventory", serial)
		}
		certID = c.IntID
	}
	ders := make([][]byte, len(certs))
	for i, c := range certs {
		ders[i] = c.Raw
	}
	rec.Serial, rec.Chain, rec.Source, rec.RequestID = serial, strings.TrimSpace(string(certutil.EncodeCertsPEM(ders...))), "uploaded", ""
	if err := h.change(ctx, o, rec, objCertified, "notary.request.certificate", map[string]any{"serial": serial}); err != nil {
		return err
	}
	created(w, certID)
	return nil
}

func samePublicKey(c *x509.Certificate, csr *x509.CertificateRequest) bool {
	a, err1 := x509.MarshalPKIXPublicKey(c.PublicKey)
	b, err2 := x509.MarshalPKIXPublicKey(csr.PublicKey)
	return err1 == nil && err2 == nil && bytes.Equal(a, b)
}

// deleteCertificate detaches the certificate from the request, which is
// Outstanding again. The certificate stays in the inventory (and valid):
// Notary's delete does not revoke, and Signet's inventory keeps history.
func (h *Handler) deleteCertificate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if _, err := auth.Require(ctx, auth.PermApprove); err != nil {
		return err
	}
	o, rec, err := h.load(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	if rec.Serial == "" && rec.RequestID == "" {
		return problem.Conflict("no_certificate", "certificate request %s has no certificate", o.ID)
	}
	old := rec.Serial
	rec.Serial, rec.Chain, rec.Source, rec.RequestID, rec.CAID = "", "", "", "", ""
	if err := h.change(ctx, o, rec, objOutstanding, "notary.request.certificate_delete", map[string]any{"serial": old}); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, success(nil))
	return nil
}

// revoke revokes a certificate Signet signed for this request; the serial
// is in the issuing CA's next CRL and OCSP answers revoked at once.
func (h *Handler) revoke(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	o, rec, err := h.load(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	doc, err := h.render(ctx, o, rec)
	if err != nil {
		return err
	}
	serial := rec.Serial
	if serial == "" && rec.RequestID != "" && doc.Status == StatusActive {
		req, err := h.d.Issuance.GetRequest(ctx, rec.RequestID)
		if err != nil {
			return err
		}
		serial = req.CertSerial
	}
	if serial == "" || doc.Status == StatusOutstanding || doc.Status == StatusRejected {
		return problem.Conflict("no_certificate", "certificate request %s has no certificate", o.ID)
	}
	if rec.Source != "signed" {
		return problem.Conflict("not_signed_here", "only certificates signed by this server can be revoked")
	}
	if doc.Status == StatusRevoked {
		return problem.Conflict("already_revoked", "the certificate is already revoked")
	}
	if _, err := h.d.Issuance.Revoke(ctx, serial, issuance.ReasonUnspecified, nil); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, success(nil))
	return nil
}
