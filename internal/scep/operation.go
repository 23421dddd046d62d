package scep

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/signet-pki/signet/internal/audit"
	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/ca"
	"github.com/signet-pki/signet/internal/certutil"
	"github.com/signet-pki/signet/internal/enrollsecret"
	"github.com/signet-pki/signet/internal/issuance"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/profile"
	"github.com/signet-pki/signet/internal/store"
)

// kindTx records a transaction waiting for approval, found again by
// GetCertInitial or a repeated PKCSReq with the same transactionID.
const kindTx = "scep.tx"

const txRetention = 90 * 24 * time.Hour

type transaction struct {
	RequestID string `json:"request_id"`
	ProfileID string `json:"profile_id"`
	OrgID     string `json:"org_id"`
	Caller    string `json:"caller"`     // principal, enrollment secret or static challenge id
	SignerKey string `json:"signer_key"` // SHA-256 of the requester's public key: only it may poll
}

// txID is the record id of a profile's transaction.
func txID(profileID, transactionID string) string {
	sum := sha256.Sum256([]byte(profileID + "\x00" + transactionID))
	return "scept_" + hex.EncodeToString(sum[:16])
}

func keyHash(c *x509.Certificate) string {
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(sum[:])
}

// handle runs one verified-or-not request. Client mistakes become failure
// CertReps; only server faults are errors.
func (s *Service) handle(r *http.Request, prof *profile.Resolved, iss *ca.Issuer, ra *raPair, req *request) (*certRep, error) {
	ctx := r.Context()
	if !req.verified {
		s.refused(ctx, req, "the message signature does not verify")
		return fail(failBadMessageCheck), nil
	}
	content, err := req.decrypt(ra)
	if err != nil {
		s.refused(ctx, req, err.Error())
		return fail(failBadMessageCheck), nil
	}
	switch req.messageType {
	case msgPKCSReq:
		return s.enroll(r, prof, req, content)
	case msgRenewalReq:
		return s.renew(r, prof, req, content)
	case msgCertPoll:
		if _, err := parseIssuerAndSubject(content); err != nil {
			s.refused(ctx, req, err.Error())
			return fail(failBadRequest), nil
		}
		return s.poll(ctx, prof, req)
	case msgGetCert:
		return s.getCert(ctx, prof, req, content)
	case msgGetCRL:
		return s.getCRL(ctx, prof, iss, req, content)
	default:
		s.refused(ctx, req, "unsupported messageType "+req.messageType)
		return fail(failBadRequest), nil
	}
}

func (s *Service) refused(ctx context.Context, req *request, why string) {
	s.log.InfoContext(ctx, "SCEP request refused", "transaction", req.transactionID, "type", req.messageType, "reason", why)
}

// csrOf parses and checks the CSR inside a PKCSReq or RenewalReq.
func csrOf(der []byte) (*x509.CertificateRequest, string, error) {
	csr, err := certutil.ParseCSR(der)
	if err != nil {
		return nil, "", err
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, "", problem.Invalid("csr_signature_invalid", "the CSR signature does not verify")
	}
	return csr, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})), nil
}

// enroll handles PKCSReq: the challengePassword authorizes the request.
func (s *Service) enroll(r *http.Request, prof *profile.Resolved, req *request, content []byte) (*certRep, error) {
	ctx := r.Context()
	id := txID(prof.Profile.ID, req.transactionID)
	// Only manual-approval profiles leave transactions pending, so only
	// they pay for the lookup.
	if prof.Profile.Approval == profile.ApprovalManual {
		if _, err := s.d.Store.GetProtocolObject(ctx, kindTx, id); err == nil {
			return s.poll(ctx, prof, req) // a resent PKCSReq polls its transaction (RFC 8894 section 3.3.3)
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("look up SCEP transaction: %w", err)
		}
	}
	csr, csrPEM, err := csrOf(content)
	if err != nil {
		s.refused(ctx, req, err.Error())
		return fail(failBadRequest), nil
	}
	challenge, err := enrollsecret.ChallengePassword(csr.RawTBSCertificateRequest)
	if err == nil && challenge == "" && s.issuedBySignet(ctx, req.signer) {
		// A PKCSReq signed with a certificate Signet issued and no challenge
		// is a re-enrollment (RFC 8894 section 2.3), as older clients send it.
		return s.renew(r, prof, req, content)
	}
	if err != nil || challenge == "" {
		s.refused(ctx, req, "no challengePassword")
		return fail(failBadRequest), nil
	}
	caller, used, err := s.authorize(r, prof, csr, challenge, id)
	if err != nil {
		if problem.KindOf(err) == problem.KindInternal {
			return nil, err
		}
		s.refused(ctx, req, err.Error())
		s.audit(r, err)
		return fail(failBadRequest), nil
	}
	res, err := s.d.Issuance.Enroll(auth.WithPrincipal(ctx, caller), issuance.EnrollInput{Profile: prof.Profile.ID, CSR: csrPEM, Method: Method})
	if err != nil {
		if used != nil {
			if rerr := s.d.Secrets.Release(ctx, used.ID, id); rerr != nil {
				s.log.WarnContext(ctx, "could not release an enrollment secret", "secret", used.ID, "err", rerr)
			}
		}
		return s.enrollFailed(ctx, req, err)
	}
	if res.Certificate == nil {
		return s.savePending(ctx, id, prof, caller, req, res.Request.ID)
	}
	return success(res.Certificate.DER)
}

// enrollFailed turns an issuance refusal into failInfo badRequest (a
// server fault stays an error).
func (s *Service) enrollFailed(ctx context.Context, req *request, err error) (*certRep, error) {
	if problem.KindOf(err) == problem.KindInternal {
		return nil, err
	}
	s.refused(ctx, req, err.Error())
	return fail(failBadRequest), nil
}

// authorize maps a challengePassword to the principal that enrolls: a
// one-time secret (consumed for this transaction) or the profile's static
// challenge.
func (s *Service) authorize(r *http.Request, prof *profile.Resolved, csr *x509.CertificateRequest, challenge, tx string) (*auth.Principal, *enrollsecret.Used, error) {
	ip := auth.SourceIP(r)
	if _, ok := enrollsecret.SecretID(challenge); ok {
		used, err := s.d.Secrets.Consume(r.Context(), challenge, enrollsecret.Use{ProfileID: prof.Profile.ID, Protocol: Method,
			CommonName: csr.Subject.CommonName, For: tx})
		if err != nil {
			return nil, nil, err
		}
		return used.Principal(ip), used, nil
	}
	ok, err := s.d.Secrets.CheckStatic(r.Context(), prof.Profile.ID, Method, challenge)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, problem.Unauthorized("invalid_challenge", "the challenge password is wrong")
	}
	return staticPrincipal(prof.Profile, ip), nil, nil
}

// staticPrincipal enrolls for a profile's static challenge: a requester of
// the profile's organization, the owner of what it enrolls.
func staticPrincipal(p store.Profile, ip string) *auth.Principal {
	return &auth.Principal{ID: "scepstatic_" + p.ID, Name: "SCEP static challenge of " + p.Name, Kind: "static_challenge",
		OrgID: p.OrgID, Roles: []string{auth.RoleRequester}, Method: "scep_challenge", SourceIP: ip}
}

func (s *Service) savePending(ctx context.Context, id string, prof *profile.Resolved, caller *auth.Principal, req *request, requestID string) (*certRep, error) {
	now := s.cfg.Now()
	exp := now.Add(txRetention)
	data, _ := json.Marshal(transaction{RequestID: requestID, ProfileID: prof.Profile.ID, OrgID: prof.Profile.OrgID,
		Caller: caller.ID, SignerKey: keyHash(req.signer)}) // plain record
	o := &store.ProtocolObject{Kind: kindTx, ID: id, Status: "pending", Data: data, ExpiresAt: &exp, CreatedAt: now, UpdatedAt: now}
	err := s.d.Store.Update(ctx, func(tx store.Tx) error {
		if err := tx.InsertProtocolObject(ctx, o); err != nil && !errors.Is(err, store.ErrDuplicate) {
			return fmt.Errorf("record SCEP transaction: %w", err)
		}
		// Transactions past their retention go as new ones come: no job needed.
		if _, err := tx.DeleteExpiredProtocolObjects(ctx, kindTx, now); err != nil {
			return fmt.Errorf("sweep SCEP transactions: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &certRep{status: statusPending}, nil
}

// poll answers GetCertInitial (or a resent PKCSReq) for a pending transaction.
func (s *Service) poll(ctx context.Context, prof *profile.Resolved, req *request) (*certRep, error) {
	o, err := s.d.Store.GetProtocolObject(ctx, kindTx, txID(prof.Profile.ID, req.transactionID))
	if errors.Is(err, store.ErrNotFound) {
		s.refused(ctx, req, "no such transaction")
		return fail(failBadCertID), nil
	}
	if err != nil {
		return nil, fmt.Errorf("load SCEP transaction: %w", err)
	}
	var t transaction
	if err := json.Unmarshal(o.Data, &t); err != nil {
		return nil, fmt.Errorf("SCEP transaction %s is corrupt: %w", o.ID, err)
	}
	if t.SignerKey != keyHash(req.signer) {
		s.refused(ctx, req, "the transaction belongs to another key")
		return fail(failBadMessageCheck), nil
	}
	// The request is read as its requester would.
	p := &auth.Principal{ID: t.Caller, Name: t.Caller, Kind: "scep_client", OrgID: t.OrgID, Roles: []string{auth.RoleRequester}}
	ctx = auth.WithPrincipal(ctx, p)
	r, err := s.d.Issuance.GetRequest(ctx, t.RequestID)
	if err != nil {
		return s.enrollFailed(ctx, req, err)
	}
	switch r.Status {
	case store.RequestIssued:
		c, err := s.d.Issuance.GetCertificate(ctx, r.CertSerial)
		if err != nil {
			return s.enrollFailed(ctx, req, err)
		}
		return success(c.DER)
	case store.RequestRejected, store.RequestFailed:
		s.refused(ctx, req, "the request was "+r.Status+": "+r.Reason)
		return fail(failBadRequest), nil
	default:
		return &certRep{status: statusPending}, nil
	}
}

// issuedBySignet reports whether a request's signer certificate is in the inventory.
func (s *Service) issuedBySignet(ctx context.Context, c *x509.Certificate) bool {
	sum := sha256.Sum256(c.Raw)
	_, err := s.d.Store.GetCertificateBySHA256(ctx, hex.EncodeToString(sum[:]))
	return err == nil
}

// renew handles RenewalReq: signed with a certificate Signet issued, which
// authorizes renewing that certificate.
func (s *Service) renew(r *http.Request, prof *profile.Resolved, req *request, content []byte) (*certRep, error) {
	ctx := r.Context()
	sum := sha256.Sum256(req.signer.Raw)
	old, err := s.d.Store.GetCertificateBySHA256(ctx, hex.EncodeToString(sum[:]))
	if errors.Is(err, store.ErrNotFound) {
		s.refused(ctx, req, "RenewalReq signed with a certificate Signet did not issue")
		s.audit(r, problem.Unauthorized("invalid_client_certificate", "RenewalReq signed with a certificate Signet did not issue"))
		return fail(failBadCertID), nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up the signer certificate: %w", err)
	}
	if old.Status != store.CertActive || !s.cfg.Now().Before(old.NotAfter) {
		s.refused(ctx, req, "RenewalReq signed with a revoked or expired certificate")
		return fail(failBadCertID), nil
	}
	_, csrPEM, err := csrOf(content)
	if err != nil {
		s.refused(ctx, req, err.Error())
		return fail(failBadRequest), nil
	}
	p := auth.CertificateHolder(old, req.signer.Subject.CommonName, "scep_renewal", auth.SourceIP(r))
	res, err := s.d.Issuance.Renew(auth.WithPrincipal(ctx, p), old.Serial, issuance.RenewInput{Method: Method, Profile: prof.Profile.ID, CSR: csrPEM})
	if err != nil {
		return s.enrollFailed(ctx, req, err)
	}
	if res.Certificate == nil {
		return s.savePending(ctx, txID(prof.Profile.ID, req.transactionID), prof, p, req, res.Request.ID)
	}
	return success(res.Certificate.DER)
}

// getCert answers GetCert: a certificate of this profile's CA by issuer
// and serial (certificates are public; the reply is still encrypted).
func (s *Service) getCert(ctx context.Context, prof *profile.Resolved, req *request, content []byte) (*certRep, error) {
	ias, err := parseIssuerAndSerial(content)
	if err != nil {
		s.refused(ctx, req, err.Error())
		return fail(failBadRequest), nil
	}
	c, err := s.d.Store.GetCertificate(ctx, certutil.SerialHex(ias.SerialNumber))
	if errors.Is(err, store.ErrNotFound) || (err == nil && c.CAID != prof.Profile.CAID) {
		s.refused(ctx, req, "no such certificate of this CA")
		return fail(failBadCertID), nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up certificate: %w", err)
	}
	return success(c.DER)
}

// getCRL answers GetCRL with the profile CA's newest full CRL.
func (s *Service) getCRL(ctx context.Context, prof *profile.Resolved, iss *ca.Issuer, req *request, content []byte) (*certRep, error) {
	ias, err := parseIssuerAndSerial(content)
	if err != nil {
		s.refused(ctx, req, err.Error())
		return fail(failBadRequest), nil
	}
	if !sameName(ias.Issuer.FullBytes, iss.Cert.RawSubject) {
		s.refused(ctx, req, "GetCRL names another issuer")
		return fail(failBadCertID), nil
	}
	crl, err := s.d.CRLs.CRL(ctx, prof.Profile.CAID, false)
	if err != nil {
		return nil, err
	}
	der, err := degenerateCRL(crl.DER)
	if err != nil {
		return nil, err
	}
	return &certRep{status: statusSuccess, content: der}, nil
}

// success wraps an issued certificate as the degenerate PKCS#7 a CertRep carries.
func success(der []byte) (*certRep, error) {
	p7, err := certutil.EncodePKCS7(der)
	if err != nil {
		return nil, err
	}
	return &certRep{status: statusSuccess, content: p7}, nil
}

// audit records a refused authorization (a wrong or replayed challenge, an
// unknown renewal certificate) in the audit log.
func (s *Service) audit(r *http.Request, err error) {
	pe := problem.As(err)
	if s.d.Audit == nil || pe == nil {
		return
	}
	if aerr := s.d.Audit.RecordRefusal(r.Context(), audit.Refusal{SourceIP: auth.SourceIP(r), Method: r.Method, Path: r.URL.Path, Err: pe}); aerr != nil {
		s.log.WarnContext(r.Context(), "could not audit a refused SCEP request", "err", aerr)
	}
}
