package sectigo

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/signet-pki/signet/internal/issuance"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

type renewBody struct {
	CSR      string `json:"csr"`
	DCVMode  string `json:"dcvMode"`
	DCVEmail string `json:"dcvEmail"`
}

// renewView issues a successor of v's certificate, with the given CSR or
// the original one (same key, as the document's renew does), as a new
// record. It returns the new record's sslId.
func (h *Handler) renewView(c *call, v *view, csr string) (int64, error) {
	if st := v.status(h.d.Now()); st != stIssued && st != stExpired {
		return 0, fail(http.StatusBadRequest, -130, "SSL state is not 'ISSUED': %s", st)
	}
	if csr == "" && v.req != nil {
		csr = v.req.CSRPEM
	}
	if csr == "" {
		// A server-generated key is not kept: a renewal needs a new CSR.
		return 0, errMissing("csr")
	}
	pemCSR, _, err := parseCSR(csr)
	if err != nil {
		return 0, err
	}
	in := issuance.RenewInput{Method: Method, CSR: pemCSR, ValidityDays: v.rec.Term}
	iss, err := h.d.Issuance.Renew(c.ctx, v.cert.Serial, in)
	if err != nil {
		if problem.Is(err, "certificate_already_renewed") || problem.Is(err, "certificate_not_active") {
			return 0, fail(http.StatusBadRequest, -105, "Error was occurred while renewing cert. Status = %s", problem.As(err).Message)
		}
		if problem.Is(err, "enrollment_method_not_allowed") {
			return 0, fail(http.StatusBadRequest, -180, "This SSL Certificate Profile doesn't allow renew")
		}
		return 0, err
	}
	rec := record{RequestID: iss.Request.ID, Comments: v.rec.Comments, ExternalRequester: v.rec.ExternalRequester, Term: v.rec.Term}
	if _, err := h.putRecord(c.ctx, iss.Request.IntID, iss.Request.OrgID, rec); err != nil {
		return 0, err
	}
	return iss.Request.IntID, nil
}

func (h *Handler) renewByID(w http.ResponseWriter, c *call) error {
	var b renewBody
	if err := decode(c.r, &b); err != nil {
		return err
	}
	v, err := h.load(c, c.r.PathValue("sslId"))
	if err != nil {
		return err
	}
	id, err := h.renewView(c, v, b.CSR)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]int64{"sslId": id})
}

func (h *Handler) renewByRenewID(w http.ResponseWriter, c *call) error {
	var b renewBody
	if err := decode(c.r, &b); err != nil {
		return err
	}
	v, err := h.loadByRenewID(c, c.r.PathValue("renewId"))
	if err != nil {
		return err
	}
	if _, err := h.renewView(c, v, b.CSR); err != nil {
		return err
	}
	return noContent(w)
}

// renewManual records that the certificate was renewed elsewhere.
func (h *Handler) renewManual(w http.ResponseWriter, c *call) error {
	var b struct {
		ID          *int64 `json:"id"`
		OrderNumber *int64 `json:"orderNumber"`
	}
	if err := decode(c.r, &b); err != nil {
		return err
	}
	v, err := h.load(c, c.r.PathValue("sslId"))
	if err != nil {
		return err
	}
	switch {
	case b.ID != nil:
		if _, err := h.load(c, strconv.FormatInt(*b.ID, 10)); err != nil {
			return err
		}
		v.rec.ManualRenewal = "sslId " + strconv.FormatInt(*b.ID, 10)
	case b.OrderNumber != nil:
		v.rec.ManualRenewal = "order " + strconv.FormatInt(*b.OrderNumber, 10)
	default:
		v.rec.ManualRenewal = "manual"
	}
	if err := h.saveRecord(c.ctx, v); err != nil {
		return err
	}
	return noContent(w)
}

// replace issues a successor for a new CSR under the same sslId and
// revokes the replaced certificate as superseded.
func (h *Handler) replace(w http.ResponseWriter, c *call) error {
	var b struct {
		CSR    string `json:"csr"`
		Reason string `json:"reason"`
	}
	if err := decode(c.r, &b); err != nil {
		return err
	}
	if b.CSR == "" {
		return errMissing("csr")
	}
	if strings.TrimSpace(b.Reason) == "" {
		return errMissing("reason")
	}
	v, err := h.load(c, c.r.PathValue("sslId"))
	if err != nil {
		return err
	}
	if st := v.status(h.d.Now()); st != stIssued {
		return fail(http.StatusBadRequest, -1113, "%d certificate is not ready to be applied. Current certificate state is %s.", v.id, st)
	}
	pemCSR, _, err := parseCSR(b.CSR)
	if err != nil {
		return err
	}
	iss, err := h.d.Issuance.Renew(c.ctx, v.cert.Serial, issuance.RenewInput{Method: Method, CSR: pemCSR, ValidityDays: v.rec.Term})
	if err != nil {
		return err
	}
	old := v.cert.Serial
	if _, err := h.d.Issuance.Revoke(c.ctx, old, 4, nil); err != nil {
		return err
	}
	v.rec.Replaced = append(v.rec.Replaced, old)
	v.rec.RequestID, v.rec.Serial = iss.Request.ID, ""
	if err := h.saveRecord(c.ctx, v); err != nil {
		return err
	}
	return noContent(w)
}

// update changes what Signet records about a certificate: comments,
// external requester and custom fields. What it certifies cannot change.
func (h *Handler) update(w http.ResponseWriter, c *call) error {
	var b struct {
		SSLID             *int64      `json:"sslId"`
		Comments          *string     `json:"comments"`
		ExternalRequester *string     `json:"externalRequester"`
		CustomFields      []nameValue `json:"customFields"`
		CommonName        string      `json:"commonName"`
		CSR               string      `json:"csr"`
		Term              *int        `json:"term"`
	}
	if err := decode(c.r, &b); err != nil {
		return err
	}
	if b.SSLID == nil {
		return errMissing("sslId")
	}
	v, err := h.load(c, strconv.FormatInt(*b.SSLID, 10))
	if err != nil {
		return err
	}
	if b.CommonName != "" || b.CSR != "" || b.Term != nil {
		if st := v.status(h.d.Now()); st != stRequested {
			return fail(http.StatusBadRequest, -3, "You are not authorized to perform update of commonName, csr or term in state %s.", st)
		}
		return errInvalidField("csr") // a pending request's CSR is fixed in Signet: decline and enroll again
	}
	if b.Comments != nil {
		if len(*b.Comments) > 1024 {
			return errInvalidField("comments")
		}
		v.rec.Comments = *b.Comments
	}
	if b.ExternalRequester != nil {
		if len(*b.ExternalRequester) > 512 {
			return errInvalidField("externalRequester")
		}
		v.rec.ExternalRequester = *b.ExternalRequester
	}
	if b.CustomFields != nil {
		if v.cert == nil {
			return fail(http.StatusBadRequest, -1113, "%d certificate is not ready to be applied. Current certificate state is %s.", v.id, v.status(h.d.Now()))
		}
		fields := map[string]string{}
		for _, f := range b.CustomFields {
			fields[f.Name] = f.Value
		}
		if err := h.checkMandatoryFields(c, fields); err != nil {
			return err
		}
		cert, err := h.d.Issuance.UpdateCertificate(c.ctx, v.cert.Serial, issuance.CertificateChange{CustomFields: fields})
		if err != nil {
			return err
		}
		v.cert = cert
	}
	if err := h.saveRecord(c.ctx, v); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, h.details(c, v))
}

// remove is DELETE /api/ssl/v1/{sslId}: "Only imported or discovered
// certificates can be deleted." issuance.DeleteCertificate checks the role
// (managers and admins), refuses a certificate Signet issued and audits;
// then the record that numbered the certificate goes too.
func (h *Handler) remove(w http.ResponseWriter, c *call) error {
	v, err := h.load(c, c.r.PathValue("sslId"))
	if err != nil {
		return err
	}
	if v.cert == nil { // a request: Signet's own, and nothing in the inventory yet
		return errNotDeletable()
	}
	if _, err := h.d.Issuance.DeleteCertificate(c.ctx, v.cert.Serial); err != nil {
		if problem.Is(err, issuance.CodeIssuedNotDeletable) {
			return errNotDeletable()
		}
		return err
	}
	err = h.d.Store.Update(c.ctx, func(tx store.Tx) error { return tx.DeleteProtocolObject(c.ctx, kindSSL, v.obj.ID) })
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		// The certificate is gone, which is what the client asked: a record
		// left behind only answers -124 (its certificate cannot be found).
		h.log.Warn("sectigo: certificate deleted, its sslId record not", "ssl_id", v.id, "err", err)
	}
	return noContent(w)
}

func errNotDeletable() *apiError {
	return fail(http.StatusBadRequest, -3, "You are not authorized to perform delete: only imported or discovered certificates can be deleted.")
}

type importItem struct {
	OrgID         *int64      `json:"orgID"`
	CustomFields  []nameValue `json:"customFields"`
	BackendCertID string      `json:"backendCertId"`
	Cert          string      `json:"cert"`
	Comments      string      `json:"comments"`
}

type importResult struct {
	Successful    bool           `json:"successful"`
	BackendCertID string         `json:"backendCertId"`
	Cert          map[string]any `json:"cert,omitempty"`
	Created       bool           `json:"created"`
	ErrorMessage  string         `json:"errorMessage,omitempty"`
}

// importV2 is POST /api/ssl/v2/import: up to 128 DER certificates in base64.
func (h *Handler) importV2(w http.ResponseWriter, c *call) error {
	var items []importItem
	if err := decode(c.r, &items); err != nil {
		return err
	}
	if len(items) == 0 || len(items) > 128 {
		return errInvalidField("items (1 to 128)")
	}
	out := make([]importResult, 0, len(items))
	for _, it := range items {
		res := importResult{BackendCertID: it.BackendCertID}
		der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(it.Cert), ""))
		if err != nil {
			res.ErrorMessage = "cert is not base64 DER"
			out = append(out, res)
			continue
		}
		fields := map[string]string{}
		for _, f := range it.CustomFields {
			fields[f.Name] = f.Value
		}
		if len(fields) == 0 {
			fields = nil
		}
		r, err := h.d.Issuance.Import(c.ctx, issuance.ImportInput{PEM: string(pemBlock("CERTIFICATE", der)), Org: c.org.ID, CustomFields: fields})
		switch {
		case err != nil && problem.As(err) != nil:
			res.ErrorMessage = problem.As(err).Message
		case err != nil:
			return err
		case len(r.Imported) == 1:
			v, err := h.recordFor(c, &r.Imported[0])
			if err != nil {
				return err
			}
			res.Successful, res.Created = true, true
			res.Cert = map[string]any{"id": v.id, "subject": r.Imported[0].Subject, "serialNumber": strings.ToUpper(r.Imported[0].Serial)}
		case len(r.Skipped) == 1:
			res.ErrorMessage = r.Skipped[0].Reason
			if cert, err := h.d.Issuance.GetCertificate(c.ctx, r.Skipped[0].Serial); err == nil && r.Skipped[0].Code == "already_present" {
				v, err := h.recordFor(c, cert)
				if err != nil {
					return err
				}
				res.Successful, res.ErrorMessage = true, ""
				res.Cert = map[string]any{"id": v.id, "subject": cert.Subject, "serialNumber": strings.ToUpper(cert.Serial)}
			}
		}
		out = append(out, res)
	}
	return writeJSON(w, http.StatusOK, out)
}

// importZip is POST /api/ssl/v1/import: a zip of certificate files in the
// multipart part "file".
func (h *Handler) importZip(w http.ResponseWriter, c *call) error {
	f, _, err := c.r.FormFile("file")
	if err != nil {
		return errMissing("file")
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxBody))
	if err != nil {
		return errInvalidField("file")
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return errInvalidField("file")
	}
	processed := 0
	errs := []string{}
	for _, zf := range zr.File {
		if zf.FileInfo().IsDir() || zf.UncompressedSize64 > 1<<20 {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			errs = append(errs, zf.Name+": unreadable")
			continue
		}
		body, err := io.ReadAll(io.LimitReader(rc, 1<<20))
		rc.Close()
		if err != nil {
			errs = append(errs, zf.Name+": unreadable")
			continue
		}
		if !bytes.Contains(body, []byte("-----BEGIN")) {
			body = pemBlock("CERTIFICATE", body)
		}
		r, err := h.d.Issuance.Import(c.ctx, issuance.ImportInput{PEM: string(body), Org: c.org.ID})
		if err != nil {
			if p := problem.As(err); p != nil {
				errs = append(errs, zf.Name+": "+p.Message)
				continue
			}
			return err
		}
		processed += len(r.Imported)
		for _, s := range r.Skipped {
			errs = append(errs, zf.Name+": "+s.Reason)
		}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"processedCount": processed, "errors": errs})
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// keystoreLifetime bounds a keystore download link.
const keystoreLifetime = 10 * time.Minute

// keystore is POST /api/ssl/v1/keystore/{sslId}/{formatType}: a one-time
// link to the PKCS#12 made at enroll-keygen, sealed under its pass phrase.
// The passphrase given here, if any, must be that pass phrase: Signet
// cannot re-seal a key it does not hold in clear.
func (h *Handler) keystore(w http.ResponseWriter, c *call) error {
	var b struct {
		Passphrase string `json:"passphrase"`
	}
	if err := decode(c.r, &b); err != nil {
		return err
	}
	format := c.r.PathValue("formatType")
	if format != "p12" && format != "p12aes" {
		return fail(http.StatusBadRequest, -1450, "Unsupported certificate format specified: %s", format)
	}
	v, err := h.load(c, c.r.PathValue("sslId"))
	if err != nil {
		return err
	}
	if len(v.rec.Keystore) == 0 {
		return fail(http.StatusBadRequest, -183, "Certificate is not collectable.")
	}
	if b.Passphrase != "" {
		if _, _, _, err := pkcs12.DecodeChain(v.rec.Keystore, b.Passphrase); err != nil {
			return errInvalidField("passphrase")
		}
	}
	token, err := newRenewID()
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(token))
	now := h.d.Now()
	exp := now.Add(keystoreLifetime)
	err = h.d.Store.Update(c.ctx, func(tx store.Tx) error {
		return tx.InsertProtocolObject(c.ctx, &store.ProtocolObject{Kind: kindKeystoreToken, ID: hex.EncodeToString(sum[:]),
			AccountID: c.org.ID, Status: "link", Data: []byte(strconv.FormatInt(v.id, 10)), ExpiresAt: &exp, CreatedAt: now, UpdatedAt: now})
	})
	if err != nil {
		return fmt.Errorf("keystore link: %w", err)
	}
	scheme := "http"
	if c.r.TLS != nil {
		scheme = "https"
	}
	link := fmt.Sprintf("%s://%s%s/api/ssl/v1/keystore/download?token=%s&keyformat=%s", scheme, c.r.Host, c.prefix, token, format)
	return writeJSON(w, http.StatusOK, map[string]string{"link": link})
}

// keystoreDownload serves a keystore link: the token is the credential
// (as the document's Private Key Agent link), good once, for ten minutes.
// The body is the PKCS#12, base64-encoded as the document describes.
func (h *Handler) keystoreDownload(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	sum := sha256.Sum256([]byte(token))
	key := hex.EncodeToString(sum[:])
	bad := fail(http.StatusNotFound, -5101, "Certificate not found. The download link is invalid or expired.")
	o, err := h.d.Store.GetProtocolObject(r.Context(), kindKeystoreToken, key)
	if err != nil || token == "" || o.ExpiresAt == nil || !h.d.Now().Before(*o.ExpiresAt) {
		writeError(w, h.log, bad)
		return
	}
	// One use: whoever deletes the token serves the file.
	if err := h.d.Store.Update(r.Context(), func(tx store.Tx) error { return tx.DeleteProtocolObject(r.Context(), kindKeystoreToken, key) }); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, h.log, bad)
			return
		}
		writeError(w, h.log, err)
		return
	}
	rec, err := h.d.Store.GetProtocolObject(r.Context(), kindSSL, string(o.Data))
	if err != nil {
		writeError(w, h.log, bad)
		return
	}
	var v record
	if err := json.Unmarshal(rec.Data, &v); err != nil || len(v.Keystore) == 0 {
		writeError(w, h.log, bad)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream;charset=UTF-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+rec.ID+`.p12"`)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(base64.StdEncoding.EncodeToString(v.Keystore)))
}
