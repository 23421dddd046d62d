package acme

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"

	"github.com/signet-pki/signet/internal/certutil"
	"github.com/signet-pki/signet/internal/issuance"
	"github.com/signet-pki/signet/internal/store"
)

type finalizeRequest struct {
	CSR string `json:"csr"` // base64url DER
}

// finalize checks the CSR against the order and hands it to issuance
// (RFC 8555 section 7.4). The order moves ready -> processing first, so a
// concurrent finalization finds it not ready; it ends valid (certificate
// issued), processing (waiting for a manager's approval) or, when issuance
// refuses the CSR, ready again for another try.
func (s *Service) finalize(w http.ResponseWriter, r *http.Request, d *directory) error {
	ctx := r.Context()
	id := r.PathValue("id")
	req, err := s.authenticate(ctx, r, d, d.url("order", id, "finalize"), useKID)
	if err != nil {
		return err
	}
	var in finalizeRequest
	if err := decodePayload(req.payload, &in); err != nil {
		return err
	}
	a := req.acct
	actx := s.as(ctx, a, r)
	o, err := s.orderOf(ctx, a, id)
	if err != nil {
		return err
	}
	if o, err = s.refreshOrder(actx, a, o); err != nil {
		return err
	}
	if o.obj.Status != statusReady {
		return newError(errOrderNotReady, http.StatusForbidden, "order %s is %s, not ready: every authorization must be valid first", id, o.obj.Status)
	}
	der, err := b64.DecodeString(in.CSR)
	if err != nil || len(der) == 0 {
		return newError(errBadCSR, http.StatusBadRequest, "csr must be a base64url-encoded DER certificate request")
	}
	csr, err := certutil.ParseCSR(der)
	if err != nil {
		return toACME(err, errBadCSR)
	}
	if err := checkCSRNames(csr, o.Identifiers); err != nil {
		return err
	}
	o.CSR = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
	o.obj.Status = statusProcessing
	err = s.store.Update(ctx, func(tx store.Tx) error { return moveObject(ctx, tx, &o.obj, o, statusReady) })
	if errors.Is(err, store.ErrConflict) {
		return newError(errOrderNotReady, http.StatusForbidden, "order %s is being finalized by another request", id)
	}
	if err != nil {
		return toACME(fmt.Errorf("claim order: %w", err), errMalformed)
	}
	if err := s.enroll(actx, a, o); err != nil {
		return s.unclaim(ctx, o, toACME(err, errBadCSR))
	}
	if err := s.store.Update(ctx, func(tx store.Tx) error { return moveObject(ctx, tx, &o.obj, o, statusProcessing) }); err != nil {
		// The certificate is issued and in the inventory; a later poll of
		// the order finds it through the idempotent enrollment.
		return toACME(fmt.Errorf("record the order's certificate: %w", err), errMalformed)
	}
	return s.writeOrder(w, d, o, http.StatusOK)
}

// enroll asks issuance for the order's certificate. The order id is the
// idempotency key, so enrolling again (after a node died between issuing
// and recording) returns the same certificate instead of a second one.
func (s *Service) enroll(ctx context.Context, a *account, o *order) error {
	issued, err := s.issuance.Enroll(ctx, issuance.EnrollInput{Profile: o.ProfileID, CSR: o.CSR, Owner: a.owner(),
		Labels: map[string]string{"acme_account": a.ID()}, IdempotencyKey: "acme-" + o.obj.ID, Method: "acme"})
	if err != nil {
		return err
	}
	o.RequestID = issued.Request.ID
	if issued.Certificate != nil {
		o.obj.Status, o.CertSerial, o.CSR = statusValid, issued.Certificate.Serial, ""
	}
	return nil
}

// unclaim puts an order whose CSR issuance refused back to ready, so the
// client may finalize again, and returns the refusal.
func (s *Service) unclaim(ctx context.Context, o *order, refusal *acmeError) error {
	o.obj.Status, o.CSR, o.RequestID = statusReady, "", ""
	if err := s.store.Update(ctx, func(tx store.Tx) error { return moveObject(ctx, tx, &o.obj, o, statusProcessing) }); err != nil {
		s.log.WarnContext(ctx, "cannot put a refused ACME order back to ready", "order", o.obj.ID, "err", err)
	}
	return refusal
}
