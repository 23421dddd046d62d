package notary

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/certutil"
	"github.com/signet-pki/signet/internal/issuance"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// Protocol-object kinds of this package.
const (
	kindCSR     = "notary.csr"     // one Notary certificate request, ID = its number
	kindCounter = "notary.counter" // the last number handed out, in Status
	counterID   = "csr"
)

// Notary's statuses.
const (
	StatusOutstanding = "Outstanding"
	StatusActive      = "Active"
	StatusRejected    = "Rejected"
	StatusRevoked     = "Revoked"
)

// Stored statuses of a CSR record (the certificate's own status decides
// between Active and Revoked when it is read).
const (
	objOutstanding = "outstanding"
	objCertified   = "certified"
	objRejected    = "rejected"
)

// csrRecord is a Notary certificate request as this package stores it.
type csrRecord struct {
	CSR       string `json:"csr"`
	Requester string `json:"requester"`       // principal id
	Email     string `json:"email,omitempty"` // requester's email or name, as Notary shows it
	Serial    string `json:"serial,omitempty"`
	Chain     string `json:"chain,omitempty"`      // PEM chain uploaded with the certificate
	Source    string `json:"source,omitempty"`     // signed | uploaded
	RequestID string `json:"request_id,omitempty"` // Signet request awaiting approval (manual profiles)
	CAID      string `json:"ca_id,omitempty"`
}

// requestJSON is Notary's certificate request document.
type requestJSON struct {
	ID               int64  `json:"id"`
	CSR              string `json:"csr"`
	CertificateChain string `json:"certificate_chain"`
	Status           string `json:"status"`
	Email            string `json:"email"`
}

func parseID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, problem.Invalid("invalid_id", "invalid ID")
	}
	return id, nil
}

// orgOf is the organization a caller's new CSR records belong to.
func orgOf(p *auth.Principal) string {
	if p.OrgID == "" {
		return store.DefaultOrgID
	}
	return p.OrgID
}

// load reads a CSR record the caller may see: its organization, and for
// requesters only their own (as Notary shows requestors only theirs).
func (h *Handler) load(ctx context.Context, idText string) (*store.ProtocolObject, *csrRecord, error) {
	id, err := parseID(idText)
	if err != nil {
		return nil, nil, err
	}
	caller, err := auth.Require(ctx, auth.PermRequestRead)
	if err != nil {
		return nil, nil, err
	}
	o, err := h.d.Store.GetProtocolObject(ctx, kindCSR, strconv.FormatInt(id, 10))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, problem.NotFound("not_found", "no certificate request %d", id)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("load certificate request %d: %w", id, err)
	}
	var rec csrRecord
	if err := json.Unmarshal(o.Data, &rec); err != nil {
		return nil, nil, fmt.Errorf("decode certificate request %d: %w", id, err)
	}
	if !visible(caller, o.AccountID, &rec) {
		return nil, nil, problem.NotFound("not_found", "no certificate request %d", id)
	}
	return o, &rec, nil
}

func visible(caller *auth.Principal, orgID string, rec *csrRecord) bool {
	if !caller.InOrg(orgID) {
		return false
	}
	onlyOwn := caller.HasRole(auth.RoleRequester) && !caller.HasRole(auth.RoleAdmin) &&
		!caller.HasRole(auth.RoleManager) && !caller.HasRole(auth.RoleAuditor)
	return !onlyOwn || rec.Requester == caller.ID
}

// render builds Notary's document, following a pending Signet request to
// its certificate and the certificate to its current status.
func (h *Handler) render(ctx context.Context, o *store.ProtocolObject, rec *csrRecord) (requestJSON, error) {
	id, _ := strconv.ParseInt(o.ID, 10, 64)
	out := requestJSON{ID: id, CSR: rec.CSR, Status: StatusOutstanding, Email: rec.Email}
	if o.Status == objRejected {
		out.Status = StatusRejected
		return out, nil
	}
	serial := rec.Serial
	if serial == "" && rec.RequestID != "" {
		req, err := h.d.Issuance.GetRequest(ctx, rec.RequestID)
		if err != nil && problem.KindOf(err) != problem.KindNotFound {
			return out, err
		}
		if req != nil {
			switch req.Status {
			case store.RequestIssued:
				serial = req.CertSerial
			case store.RequestRejected, store.RequestFailed:
				out.Status = StatusRejected
				return out, nil
			}
		}
	}
	if serial == "" {
		return out, nil
	}
	cert, err := h.d.Issuance.GetCertificate(ctx, serial)
	if err != nil {
		return out, err
	}
	// A certificate on hold is listed in the CRL like a revoked one.
	out.Status = StatusActive
	if cert.Status == store.CertRevoked || cert.Status == store.CertOnHold {
		out.Status = StatusRevoked
	}
	if rec.Chain != "" {
		out.CertificateChain = rec.Chain
		return out, nil
	}
	dl, err := h.d.Issuance.Download(ctx, serial, issuance.FormatChain)
	if err != nil {
		return out, err
	}
	out.CertificateChain = strings.TrimSpace(string(dl.Body))
	return out, nil
}

func (h *Handler) listRequests(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	caller, err := auth.Require(ctx, auth.PermRequestRead)
	if err != nil {
		return err
	}
	orgs := []string{orgOf(caller)}
	if caller.Global() {
		if orgs, err = h.allOrgs(ctx); err != nil {
			return err
		}
	}
	out := []requestJSON{}
	for _, org := range orgs {
		cursor := ""
		for {
			objs, next, err := h.d.Store.ListProtocolObjects(ctx, kindCSR, org, 500, cursor)
			if err != nil {
				return fmt.Errorf("list certificate requests: %w", err)
			}
			for i := range objs {
				var rec csrRecord
				if err := json.Unmarshal(objs[i].Data, &rec); err != nil {
					return fmt.Errorf("decode certificate request %s: %w", objs[i].ID, err)
				}
				if !visible(caller, org, &rec) {
					continue
				}
				doc, err := h.render(ctx, &objs[i], &rec)
				if err != nil {
					return err
				}
				out = append(out, doc)
			}
			if next == "" {
				break
			}
			cursor = next
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) allOrgs(ctx context.Context) ([]string, error) {
	var ids []string
	cursor := ""
	for {
		orgs, next, err := h.d.Directory.ListOrganizations(ctx, store.ListQuery{Limit: 200, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		for _, o := range orgs {
			ids = append(ids, o.ID)
		}
		if next == "" {
			return ids, nil
		}
		cursor = next
	}
}

func (h *Handler) createRequest(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	caller, err := auth.Require(ctx, auth.PermEnroll)
	if err != nil {
		return err
	}
	var in struct {
		CSR string `json:"csr"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if strings.TrimSpace(in.CSR) == "" {
		return problem.Invalid("csr_required", "csr is required")
	}
	if _, err := certutil.ParseCSR([]byte(in.CSR)); err != nil {
		return err
	}
	email := caller.Name
	if p, err := h.d.Directory.Principal(ctx, caller.ID); err == nil && p.Email != "" {
		email = p.Email
	}
	data, err := json.Marshal(csrRecord{CSR: strings.TrimSpace(in.CSR), Requester: caller.ID, Email: email})
	if err != nil {
		return fmt.Errorf("encode certificate request: %w", err)
	}
	org := orgOf(caller)
	var id int64
	insert := func(tx store.Tx) error {
		n, err := nextID(ctx, tx)
		if err != nil {
			return err
		}
		id = n
		now := h.d.Now()
		if err := tx.InsertProtocolObject(ctx, &store.ProtocolObject{Kind: kindCSR, ID: strconv.FormatInt(n, 10), AccountID: org,
			Status: objOutstanding, Data: data, CreatedAt: now, UpdatedAt: now}); err != nil {
			return fmt.Errorf("store certificate request: %w", err)
		}
		tx.AppendAudit(caller.Event(now, org, "notary.request.create", "notary_request", strconv.FormatInt(n, 10), nil))
		return nil
	}
	// The counter only conflicts if another node moved it between our read
	// and our update; the next attempt reads the new value.
	for attempt := 0; ; attempt++ {
		err = h.d.Store.Update(ctx, insert)
		if !errors.Is(err, store.ErrConflict) || attempt == 4 {
			break
		}
	}
	if err != nil {
		return err
	}
	created(w, id)
	return nil
}

// nextID hands out the next request number inside the caller's
// transaction: the counter row moves by a conditional update, so two nodes
// never hand out one number, and numbers survive restarts.
func nextID(ctx context.Context, tx store.Tx) (int64, error) {
	c, err := tx.GetProtocolObject(ctx, kindCounter, counterID)
	if errors.Is(err, store.ErrNotFound) {
		if err := tx.InsertProtocolObject(ctx, &store.ProtocolObject{Kind: kindCounter, ID: counterID, Status: "1", Data: []byte("{}")}); err != nil {
			return 0, fmt.Errorf("start request counter: %w", err)
		}
		return 1, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read request counter: %w", err)
	}
	last, err := strconv.ParseInt(c.Status, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("request counter %q: %w", c.Status, err)
	}
	from := c.Status
	c.Status = strconv.FormatInt(last+1, 10)
	if err := tx.UpdateProtocolObject(ctx, c, from); err != nil {
		return 0, fmt.Errorf("advance request counter: %w", err)
	}
	return last + 1, nil
}

func (h *Handler) getRequest(w http.ResponseWriter, r *http.Request) error {
	o, rec, err := h.load(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	doc, err := h.render(r.Context(), o, rec)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, doc)
	return nil
}

// change rewrites a CSR record from its current stored status, with an
// audit event, in one transaction.
func (h *Handler) change(ctx context.Context, o *store.ProtocolObject, rec *csrRecord, status, action string, details map[string]any) error {
	caller := auth.PrincipalFrom(ctx)
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode certificate request: %w", err)
	}
	from := o.Status
	next := *o
	next.Status, next.Data, next.UpdatedAt = status, data, h.d.Now()
	return h.d.Store.Update(ctx, func(tx store.Tx) error {
		if err := tx.UpdateProtocolObject(ctx, &next, from); err != nil {
			if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
				return problem.Conflict("changed_concurrently", "certificate request %s changed concurrently", o.ID)
			}
			return fmt.Errorf("update certificate request: %w", err)
		}
		tx.AppendAudit(caller.Event(next.UpdatedAt, o.AccountID, action, "notary_request", o.ID, details))
		return nil
	})
}

func (h *Handler) deleteRequest(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	caller, err := auth.Require(ctx, auth.PermApprove)
	if err != nil {
		return err
	}
	o, _, err := h.load(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	err = h.d.Store.Update(ctx, func(tx store.Tx) error {
		if err := tx.DeleteProtocolObject(ctx, kindCSR, o.ID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return problem.NotFound("not_found", "no certificate request %s", o.ID)
			}
			return fmt.Errorf("delete certificate request: %w", err)
		}
		tx.AppendAudit(caller.Event(h.d.Now(), o.AccountID, "notary.request.delete", "notary_request", o.ID, nil))
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, success(nil))
	return nil
}

func (h *Handler) reject(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if _, err := auth.Require(ctx, auth.PermApprove); err != nil {
		return err
	}
	o, rec, err := h.load(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	// Notary rejects a CSR that never had a certificate; one with a
	// certificate is revoked instead.
	if o.Status != objOutstanding || rec.Serial != "" {
		return problem.Conflict("not_outstanding", "certificate request %s is not outstanding", o.ID)
	}
	if err := h.change(ctx, o, rec, objRejected, "notary.request.reject", nil); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, success(nil))
	return nil
}

// sign issues the CSR through the profile of the chosen CA that allows the
// notary method: issuance applies that profile's template, approval rule,
// lint and audit. A manual profile leaves the request Outstanding until a
// manager approves it in Signet.
func (h *Handler) sign(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if _, err := auth.Require(ctx, auth.PermApprove); err != nil {
		return err
	}
	var in struct {
		CAID json.RawMessage `json:"certificate_authority_id"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	caIntID, err := parseFlexibleID(in.CAID)
	if err != nil {
		return err
	}
	o, rec, err := h.load(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	if o.Status != objOutstanding || rec.Serial != "" || rec.RequestID != "" {
		return problem.Conflict("not_outstanding", "certificate request %s is not outstanding", o.ID)
	}
	caRec, err := h.caByIntID(ctx, caIntID)
	if err != nil {
		return err
	}
	prof, err := h.profileFor(ctx, caRec.ID)
	if err != nil {
		return err
	}
	issued, err := h.d.Issuance.Enroll(ctx, issuance.EnrollInput{Profile: prof.ID, CSR: rec.CSR, Method: Method,
		Owner: rec.Requester, IdempotencyKey: fmt.Sprintf("notary-%s-%s-%d", o.ID, caRec.ID, o.UpdatedAt.UnixNano())})
	if err != nil {
		return err
	}
	rec.CAID, rec.Source = caRec.ID, "signed"
	status := objOutstanding
	if issued.Certificate != nil {
		rec.Serial, status = issued.Certificate.Serial, objCertified
	} else {
		rec.RequestID = issued.Request.ID
	}
	if err := h.change(ctx, o, rec, status, "notary.request.sign", map[string]any{"ca": caRec.ID, "serial": rec.Serial, "request": issued.Request.ID}); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, success(nil))
	return nil
}

// parseFlexibleID takes the CA id as the seed's string or as a number.
func parseFlexibleID(raw json.RawMessage) (int64, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return 0, problem.Invalid("certificate_authority_id_required", "certificate_authority_id is required")
	}
	var text string
	if err := json.Unmarshal(raw, &text); err == nil {
		s = text
	}
	id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || id <= 0 {
		return 0, problem.Invalid("invalid_certificate_authority_id", "invalid certificate authority ID")
	}
	return id, nil
}
