package cmp

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/ca"
	"github.com/signet-pki/signet/internal/issuance"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// Transaction statuses.
const (
	txnOpen      = "open"      // being enrolled right now
	txnWaiting   = "waiting"   // a manager has to approve; the client polls
	txnIssued    = "issued"    // certificate sent, certConf expected
	txnConfirmed = "confirmed" // done (certConf received, or implicit confirmation)
)

// transaction ties the messages of one enrollment together.
type transaction struct {
	Auth      string `json:"auth"` // what authenticated it (exchange.authID)
	Body      int    `json:"body"` // the request's body type, for the answer's
	CertReqID int64  `json:"cert_req_id"`
	RequestID string `json:"request_id,omitempty"`
	Serial    string `json:"serial,omitempty"`
	// Nonce is the senderNonce of the answer that delivered the
	// certificate: the certConf must echo it as recipNonce.
	Nonce []byte `json:"nonce,omitempty"`

	obj store.ProtocolObject
}

func (s *Service) txnID(x *exchange) string { return x.prof.Profile.ID + ":" + x.tid }

// startTransaction records a new transaction and consumes the shared
// secret that protects it, in one store transaction: a transactionID in use
// and a secret used twice both fail here, before anything is issued.
func (s *Service) startTransaction(ctx context.Context, x *exchange, certReqID int64) (*transaction, error) {
	now := s.now()
	exp := now.Add(s.cfg.TransactionLifetime)
	t := &transaction{Auth: x.authID(), Body: x.req.bodyType, CertReqID: certReqID}
	// With implicit confirmation the transaction is finished once the
	// certificate is sent: recorded as such now, it needs no second write
	// (it only keeps the transactionID from being reused).
	status := txnOpen
	if x.req.implicitConfirm() {
		status = txnConfirmed
	}
	t.obj = store.ProtocolObject{Kind: kindTransaction, ID: s.txnID(x), AccountID: x.prof.Profile.OrgID, Status: status,
		ExpiresAt: &exp, CreatedAt: now, UpdatedAt: now}
	sweep := s.sweepDue(now)
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if sweep {
			if err := sweepExpired(ctx, tx, now); err != nil {
				return err
			}
		}
		if err := tx.InsertProtocolObject(ctx, encode(&t.obj, t)); err != nil {
			if errors.Is(err, store.ErrDuplicate) {
				return fail(failTransactionInUse, "transactionID %s is already in use", x.tid)
			}
			return fmt.Errorf("insert CMP transaction: %w", err)
		}
		if x.secret != nil {
			if err := s.consumeSecret(ctx, tx, x.secret, x.tid); err != nil {
				if errors.Is(err, errUsedSecret) {
					return fail(failNotAuthorized, "the shared secret has already been used")
				}
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// abandon forgets a transaction whose enrollment was refused, and gives
// its secret back.
func (s *Service) abandon(ctx context.Context, x *exchange, t *transaction) {
	err := s.store.Update(ctx, func(tx store.Tx) error { return tx.DeleteProtocolObject(ctx, kindTransaction, t.obj.ID) })
	if err != nil {
		s.log.WarnContext(ctx, "cannot delete a refused CMP transaction", "transaction", t.obj.ID, "err", err)
	}
	if x.secret != nil {
		s.releaseSecret(ctx, x.secret)
	}
}

func (s *Service) moveTransaction(ctx context.Context, t *transaction, to string) error {
	from := t.obj.Status
	t.obj.Status, t.obj.UpdatedAt = to, s.now()
	err := s.store.Update(ctx, func(tx store.Tx) error { return tx.UpdateProtocolObject(ctx, encode(&t.obj, t), from) })
	if errors.Is(err, store.ErrConflict) {
		return fail(failBadRequest, "the transaction was changed by another message")
	}
	if err != nil {
		return fmt.Errorf("update CMP transaction: %w", err)
	}
	return nil
}

// loadTransaction finds the transaction a certConf or pollReq continues;
// only whoever started it may continue it.
func (s *Service) loadTransaction(ctx context.Context, x *exchange) (*transaction, error) {
	if !x.authenticated() {
		return nil, fail(failBadMessageCheck, "the message is not protected")
	}
	o, err := s.store.GetProtocolObject(ctx, kindTransaction, s.txnID(x))
	if errors.Is(err, store.ErrNotFound) {
		return nil, fail(failBadRequest, "no open transaction %s", x.tid)
	}
	if err != nil {
		return nil, fmt.Errorf("load CMP transaction: %w", err)
	}
	t := &transaction{obj: *o}
	if err := decode(o, t); err != nil {
		return nil, err
	}
	if t.Auth != x.authID() {
		return nil, fail(failNotAuthorized, "transaction %s belongs to another sender", x.tid)
	}
	return t, nil
}

// certRequest answers ir, cr, kur and p10cr.
func (s *Service) certRequest(ctx context.Context, x *exchange) (*response, error) {
	if !x.authenticated() {
		return nil, fail(failBadMessageCheck, "the message is not protected")
	}
	var tmpl *certTemplate
	var csrPEM string
	certReqID := int64(-1) // RFC 9480 section 2.11: p10cr's response uses -1
	if x.req.bodyType == bodyP10CR {
		csr, err := x509.ParseCertificateRequest(x.req.content)
		if err != nil {
			return nil, fail(failBadDataFormat, "the PKCS#10 request does not parse: %v", err)
		}
		// The CSR's signature is p10cr's proof of possession (RFC 9483
		// section 4.1.4).
		if err := csr.CheckSignature(); err != nil {
			return nil, fail(failBadPOP, "the PKCS#10 signature does not verify")
		}
		csrPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: x.req.content}))
	} else {
		m, t, err := parseCertReqMessages(x.req.content)
		if err != nil {
			return nil, fail(failBadDataFormat, "%v", err)
		}
		if err := verifyPOP(m, t); err != nil {
			return nil, fail(failBadPOP, "%v", err)
		}
		tmpl, certReqID = t, t.certRequest.CertReqID
	}
	if x.req.bodyType == bodyKUR && x.cert == nil {
		return nil, fail(failNotAuthorized, "kur is signed with the certificate being updated")
	}
	t, err := s.startTransaction(ctx, x, certReqID)
	if err != nil {
		return nil, err
	}
	issued, err := s.enroll(ctx, x, tmpl, csrPEM)
	if err != nil {
		s.abandon(ctx, x, t)
		return nil, refusal(err)
	}
	if issued.Certificate == nil {
		t.RequestID = issued.Request.ID
		if err := s.moveTransaction(ctx, t, txnWaiting); err != nil {
			return nil, err
		}
		return s.waiting(x, t), nil
	}
	return s.delivered(ctx, x, t, issued.Request.ID, issued.Certificate)
}

// enroll turns the request into issuance's terms.
func (s *Service) enroll(ctx context.Context, x *exchange, tmpl *certTemplate, csrPEM string) (*issuance.Issued, error) {
	actx := x.ctx(ctx)
	if x.req.bodyType == bodyKUR {
		return s.issuance.Renew(actx, x.certRecord.Serial, issuance.RenewInput{Method: method, PublicKey: tmpl.PublicKey,
			Profile: x.prof.Profile.ID})
	}
	in := issuance.EnrollInput{Profile: x.prof.Profile.ID, Method: method, CSR: csrPEM}
	if tmpl != nil {
		in.PublicKey, in.SANs = tmpl.PublicKey, tmpl.sans()
		in.Subject = subjectOf(tmpl)
	}
	return s.issuance.Enroll(actx, in)
}

// subjectOf keeps the subject attributes issuance knows.
func subjectOf(t *certTemplate) ca.Subject {
	n := t.Subject
	sub := ca.Subject{CommonName: n.CommonName, Organization: n.Organization, OrganizationalUnit: n.OrganizationalUnit,
		Country: n.Country, Province: n.Province, Locality: n.Locality, StreetAddress: n.StreetAddress,
		PostalCode: n.PostalCode, SerialNumber: n.SerialNumber}
	return sub
}

// refusal maps an issuance refusal onto CMP's failure bits.
func refusal(err error) error {
	var ce *cmpError
	if errors.As(err, &ce) {
		return ce
	}
	pe := problem.As(err)
	if pe == nil {
		return err
	}
	text := pe.Message
	for _, v := range pe.Violations {
		text += "; " + v.Field + ": " + v.Message
	}
	switch pe.Kind {
	case problem.KindInvalid, problem.KindTooLarge:
		return fail(failBadCertTemplate, "%s", text)
	case problem.KindForbidden, problem.KindUnauthorized:
		return fail(failNotAuthorized, "%s", text)
	case problem.KindNotFound:
		return fail(failBadCertID, "%s", text)
	case problem.KindConflict:
		return fail(failBadRequest, "%s", text)
	case problem.KindUnavailable:
		return fail(failSystemUnavail, "%s", text)
	}
	return err
}

// answerType is the response body for a request body.
func answerType(req int) int {
	switch req {
	case bodyIR:
		return bodyIP
	case bodyKUR:
		return bodyKUP
	}
	return bodyCP
}

// waiting answers "not yet": the certificate needs a manager's approval
// (RFC 4210 section 5.3.22: status waiting, then pollReq/pollRep).
func (s *Service) waiting(x *exchange, t *transaction) *response {
	content := mustMarshal(certRepMessage{Response: []certResponse{{CertReqID: t.CertReqID,
		Status: statusInfo(statusWaiting, "waiting for a manager's approval", -1)}}})
	return s.newResponse(x, answerType(t.Body), content)
}

// delivered answers with the certificate, granting implicit confirmation
// when asked for it.
func (s *Service) delivered(ctx context.Context, x *exchange, t *transaction, requestID string, rec *store.Certificate) (*response, error) {
	t.RequestID, t.Serial = requestID, rec.Serial
	next := txnIssued
	if x.req.implicitConfirm() {
		next = txnConfirmed
	}
	rep := certRepMessage{Response: []certResponse{{CertReqID: t.CertReqID, Status: statusInfo(statusAccepted, "", -1),
		CertifiedKeyPair: certifiedKeyPair(rec.DER)}}}
	chain := make([][]byte, 0, len(x.issuer.Chain))
	for _, c := range x.issuer.Chain {
		chain = append(chain, c.Raw)
	}
	if x.secret != nil && len(chain) > 0 {
		// A MAC-protected answer is how a new device learns its trust
		// anchor (RFC 9483 section 4.1.1): the root goes in caPubs.
		rep.CAPubs = rawCerts(chain[len(chain)-1])
	}
	resp := s.newResponse(x, answerType(t.Body), mustMarshal(rep))
	resp.extraCerts = chain
	if next == txnConfirmed {
		resp.header.GeneralInfo = []infoTypeAndValue{{Type: oidImplicitConfirm, Value: asn1.RawValue{FullBytes: nullDER}}}
	}
	if t.obj.Status != next {
		t.Nonce = resp.header.SenderNonce
		if err := s.moveTransaction(ctx, t, next); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// pollReq answers a client waiting for approval: the certificate once
// issued, a rejection once rejected, else when to ask again.
func (s *Service) pollReq(ctx context.Context, x *exchange) (*response, error) {
	t, err := s.loadTransaction(ctx, x)
	if err != nil {
		return nil, err
	}
	var polls []pollReq
	if rest, err := asn1.Unmarshal(x.req.content, &polls); err != nil || len(rest) != 0 || len(polls) != 1 {
		return nil, fail(failBadDataFormat, "pollReq asks about exactly one request")
	}
	if t.obj.Status != txnWaiting || polls[0].CertReqID != t.CertReqID {
		return nil, fail(failBadRequest, "nothing is waiting for certReqId %d in this transaction", polls[0].CertReqID)
	}
	req, err := s.issuance.GetRequest(s.readerCtx(ctx, x), t.RequestID)
	if err != nil {
		return nil, err
	}
	switch req.Status {
	case store.RequestIssued:
		rec, err := s.issuance.GetCertificate(s.readerCtx(ctx, x), req.CertSerial)
		if err != nil {
			return nil, err
		}
		return s.delivered(ctx, x, t, req.ID, rec)
	case store.RequestRejected, store.RequestFailed:
		if err := s.moveTransaction(ctx, t, txnConfirmed); err != nil {
			return nil, err
		}
		ce := fail(failNotAuthorized, "the request was %s: %s", req.Status, req.Reason)
		ce.decided = true
		return nil, ce
	}
	content := mustMarshal([]pollRep{{CertReqID: t.CertReqID, CheckAfter: int64(s.cfg.CheckAfter / time.Second),
		Reason: freeText("waiting for a manager's approval")}})
	return s.newResponse(x, bodyPollRep, content), nil
}

// readerCtx reads the organization's requests and certificates on the
// client's behalf (a requester may not read other principals' requests).
func (s *Service) readerCtx(ctx context.Context, x *exchange) context.Context {
	return auth.WithPrincipal(ctx, &auth.Principal{ID: "cmp", Name: "CMP server", Kind: "cmp", OrgID: x.prof.Profile.OrgID,
		Roles: []string{auth.RoleAuditor}, Method: "cmp", SourceIP: auth.SourceIP(x.r)})
}

// certConf takes the client's confirmation; a rejected certificate is
// revoked, since the client will not use it.
func (s *Service) certConf(ctx context.Context, x *exchange) (*response, error) {
	t, err := s.loadTransaction(ctx, x)
	if err != nil {
		return nil, err
	}
	if t.obj.Status == txnConfirmed {
		return nil, fail(failCertConfirmed, "the certificate was already confirmed")
	}
	if t.obj.Status != txnIssued {
		return nil, fail(failBadRequest, "no certificate of this transaction awaits confirmation")
	}
	if !bytes.Equal(x.req.header.RecipNonce, t.Nonce) {
		return nil, fail(failBadRecipNonce, "recipNonce is not the senderNonce of the answer that delivered the certificate")
	}
	var statuses []certStatus
	if rest, err := asn1.Unmarshal(x.req.content, &statuses); err != nil || len(rest) != 0 || len(statuses) > 1 {
		return nil, fail(failBadDataFormat, "certConf confirms one certificate")
	}
	rec, err := s.issuance.GetCertificate(s.readerCtx(ctx, x), t.Serial)
	if err != nil {
		return nil, err
	}
	accepted := len(statuses) == 1 && statuses[0].Status.Status == statusAccepted
	if len(statuses) == 1 {
		st := statuses[0]
		cert, err := x509.ParseCertificate(rec.DER)
		if err != nil {
			return nil, fmt.Errorf("parse issued certificate: %w", err)
		}
		want, err := certHash(cert, st.HashAlg)
		if err != nil {
			return nil, fail(failBadAlg, "%v", err)
		}
		if st.CertReqID != t.CertReqID || !equalHash(want, st.CertHash) {
			return nil, fail(failBadCertID, "certConf names another certificate than this transaction's")
		}
	}
	if !accepted {
		if _, err := s.issuance.Revoke(x.ctx(ctx), rec.Serial, reasonCessationOfOperation, nil); err != nil && !problem.Is(err, "certificate_already_revoked") {
			return nil, fmt.Errorf("revoke a certificate its client rejected: %w", err)
		}
	}
	if err := s.moveTransaction(ctx, t, txnConfirmed); err != nil {
		return nil, err
	}
	return s.newResponse(x, bodyPKIConf, nullDER), nil
}

// reasonCessationOfOperation is RFC 5280's reason for a certificate its
// client declined.
const reasonCessationOfOperation = 5
