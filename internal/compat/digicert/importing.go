package digicert

import (
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/http"
	"strings"

	"github.com/signet-pki/signet/internal/certutil"
	"github.com/signet-pki/signet/internal/issuance"
	"github.com/signet-pki/signet/internal/problem"
)

type importItem struct {
	CertType       string `json:"cert_type"`
	BusinessUnitID string `json:"business_unit_id"`
	SeatID         string `json:"seat_id"`
	Cert           string `json:"cert"`
	Notes          string `json:"notes"`
	GroupName      string `json:"group_name"`
	Revocation     *struct {
		Revoked    bool   `json:"revoked"`
		Reason     string `json:"reason"`
		RevokeDate string `json:"revoke_date"`
	} `json:"revocation"`
}

type importResult struct {
	CertType     string         `json:"cert_type"`
	IssuingCA    string         `json:"issuing_ca"`
	ImportStatus string         `json:"import_status"`
	ErrorMessage string         `json:"error_message,omitempty"`
	Seat         map[string]any `json:"seat"`
	BusinessUnit idName         `json:"business_unit"`
	CertStatus   string         `json:"cert_status"`
	SerialNumber string         `json:"serial_number,omitempty"`
}

// maxImportItems bounds one import batch.
const maxImportItems = 500

// importCertificates records externally issued certificates in the
// inventory through issuance.Import (one item at a time, each answered
// with SUCCESS or FAILURE as the vendor does). A revoked item is revoked
// after import; certificate_hold suspends it, any other reason becomes
// unspecified, as the vendor documents.
func (h *Handler) importCertificates(w http.ResponseWriter, r *http.Request) error {
	var items []importItem
	if err := decode(r, &items); err != nil {
		return err
	}
	if len(items) == 0 || len(items) > maxImportItems {
		return fieldErr("[]", "invalid_input", "the body must be an array of 1 to %d certificates", maxImportItems)
	}
	out := make([]importResult, 0, len(items))
	for i := range items {
		res, err := h.importOne(r, &items[i])
		if err != nil {
			if toAPI(err) == nil {
				return err // not the item's fault: a 500
			}
			res.ImportStatus, res.ErrorMessage = "FAILURE", toAPI(err).Message
		}
		out = append(out, *res)
	}
	return writeJSON(w, http.StatusOK, out)
}

func (h *Handler) importOne(r *http.Request, it *importItem) (*importResult, error) {
	typ := strings.ToLower(it.CertType)
	res := &importResult{CertType: cmpOr(typ, "x509"), Seat: map[string]any{"seat_id": it.SeatID, "type": "IMPORTED_SEAT"}}
	if typ != "" && typ != "x509" {
		return res, problem.Invalid("cert_type_invalid", "cert_type must be x509")
	}
	pemData, err := certPEM(it.Cert)
	if err != nil {
		return res, err
	}
	_, orgID, err := h.seatOrg(r.Context(), it.BusinessUnitID)
	if err != nil {
		return res, err
	}
	res.BusinessUnit = idName{ID: orgID, Name: h.orgName(r.Context(), orgID)}
	in := issuance.ImportInput{PEM: pemData, Org: orgID, Labels: map[string]string{}}
	if it.SeatID != "" {
		if err := checkSeatID("seat_id", it.SeatID); err != nil {
			return res, err
		}
		seat, err := h.seatFor(r.Context(), orgID, it.SeatID)
		if err != nil {
			return res, err
		}
		in.Owner, in.Labels[seatLabel] = seat.Owner, seat.SeatID
	}
	if it.Notes != "" {
		in.Labels["notes"] = truncate(it.Notes, 255)
	}
	imported, err := h.d.Issuance.Import(r.Context(), in)
	if err != nil {
		return res, err
	}
	if len(imported.Imported) == 0 {
		msg := "the certificate is already in the inventory"
		if len(imported.Skipped) > 0 {
			msg = imported.Skipped[0].Reason
		}
		return res, problem.Conflict("certificate_exists", "%s", msg)
	}
	c := imported.Imported[0]
	res.ImportStatus, res.IssuingCA, res.CertStatus, res.SerialNumber = "SUCCESS", c.Issuer, "issued", upperSerial(c.Serial)
	if c.CAID == "" {
		res.Seat["type"] = "UNMANAGED_SEAT"
	}
	if it.Revocation != nil && it.Revocation.Revoked {
		if strings.EqualFold(it.Revocation.Reason, "certificate_hold") {
			_, err = h.d.Issuance.Suspend(r.Context(), c.Serial)
			res.CertStatus = "suspended"
		} else {
			_, err = h.d.Issuance.Revoke(r.Context(), c.Serial, issuance.ReasonUnspecified, nil)
			res.CertStatus = "revoked"
		}
		if err != nil {
			return res, fmt.Errorf("imported %s but could not record its revocation: %w", c.Serial, err)
		}
	}
	return res, nil
}

// certPEM accepts the certificate as PEM or base64 DER (the vendor's examples).
func certPEM(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", problem.Invalid("cert_required", "cert is required")
	}
	if strings.HasPrefix(s, "-----BEGIN") {
		return s, nil
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		return "", problem.Invalid("certificate_malformed", "cert is neither PEM nor base64-encoded DER")
	}
	if _, err := certutil.ParseCertificates(der); err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
