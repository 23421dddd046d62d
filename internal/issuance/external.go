package issuance

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/ca"
	"github.com/signet-pki/signet/internal/certutil"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
	"github.com/signet-pki/signet/internal/upstream"
)

// Upstream is the broker to external CAs (upstream.Service). Nil: external
// profiles cannot issue.
type Upstream interface {
	Issue(ctx context.Context, connectorID string, o upstream.Order) (upstream.Result, error)
	Poll(ctx context.Context, connectorID, ref, requestID string) (upstream.Result, error)
	Revoke(ctx context.Context, connectorID string, leaf *x509.Certificate, reason int) error
}

// ProtocolObject kinds issuance keeps for external profiles.
const (
	// kindOrder is a request in flight at an upstream (ID: the request id;
	// AccountID "" so the job lists every order in one kind).
	kindOrder = "upstream.order"
	// kindExternalCert remembers which connector issued a certificate (ID:
	// its serial; AccountID: the connector), for revocation and its chain.
	kindExternalCert = "upstream.cert"
)

// Retry schedule of orders whose upstream failed or is not done yet.
const (
	retryBase = 2 * time.Second
	retryMax  = 10 * time.Minute
	// submitLease keeps the job off an order while the enrollment that
	// created it is still making its first call.
	submitLease = 2 * time.Minute
)

// orderRecord is an upstream order's state.
type orderRecord struct {
	Connector    string    `json:"connector"`
	Ref          string    `json:"ref,omitempty"` // upstream's order reference, once it answered "pending"
	CSR          []byte    `json:"csr"`           // DER
	ValidityDays int       `json:"validity_days,omitempty"`
	Attempts     int       `json:"attempts"`
	NextAttempt  time.Time `json:"next_attempt"`
	LastError    string    `json:"last_error,omitempty"`
}

// externalCert is what Signet keeps about an externally issued certificate.
type externalCert struct {
	Connector string   `json:"connector"`
	Chain     [][]byte `json:"chain,omitempty"` // issuer chain (DER), leaf excluded
	// CSR (DER) the certificate was issued from. Auto-renewal sends it again:
	// the server keeps no private key, so it cannot sign a new one, and
	// another CA wants proof of possession, which this CSR still is.
	CSR []byte `json:"csr,omitempty"`
}

// issueOther handles profiles whose certificates Signet's CAs do not sign.
func (s *Service) issueOther(ctx context.Context, caller *auth.Principal, job issueJob) (*Issued, error) {
	switch job.prof.Profile.IssuerType {
	case store.IssuerSelfSigned:
		return s.issueSelfSigned(ctx, caller, job)
	case store.IssuerExternal:
		return s.issueExternal(ctx, caller, job)
	}
	return nil, problem.Conflict("issuer_type_unknown", "profile %s has unknown issuer type %q", job.prof.Profile.Name, job.prof.Profile.IssuerType)
}

// issueSelfSigned signs the certificate with its own key, which the server
// generated (a CSR's key is not Signet's to sign with).
func (s *Service) issueSelfSigned(ctx context.Context, caller *auth.Principal, job issueJob) (*Issued, error) {
	if job.sub.key == nil {
		return nil, problem.Invalid("self_signed_requires_keygen",
			"profile %s issues self-signed certificates: ask for server-side key generation (keygen), not a CSR", job.prof.Profile.Name)
	}
	for attempt := 1; ; attempt++ {
		cert, err := s.signSelf(job)
		if err != nil {
			return nil, err
		}
		err = s.record(ctx, caller, job, cert)
		if errors.Is(err, store.ErrDuplicate) && attempt < serialAttempts {
			continue
		}
		if errors.Is(err, errIdempotencyRace) {
			return s.resolveIdempotencyRace(ctx, caller, job.idemKey, err)
		}
		if err != nil {
			return nil, err
		}
		return s.deliver(job, cert, &ca.Issuer{})
	}
}

func (s *Service) signSelf(job issueJob) (*store.Certificate, error) {
	now := s.now()
	days := job.req.ValidityDays
	if days == 0 {
		days = defaultValidity(job.prof)
	}
	serial, err := certutil.NewSerial()
	if err != nil {
		return nil, err
	}
	t, tpl := job.sub.template, job.prof.Template.Parsed
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: t.Subject,
		DNSNames: t.DNSNames, IPAddresses: t.IPAddresses, EmailAddresses: t.EmailAddresses, URIs: t.URIs,
		NotBefore: now.Add(-backdate), NotAfter: now.Add(-backdate).AddDate(0, 0, days).Add(-time.Second),
		KeyUsage: tpl.KeyUsageFor(job.sub.pub), ExtKeyUsage: tpl.ExtendedKeyUsages(),
		BasicConstraintsValid: true, SubjectKeyId: keyID(job.sub.pub),
	}
	// Go leaves the authority key id out of self-signed certificates unless
	// asked; RFC 5280 (and zlint) want it in every certificate.
	tmpl.AuthorityKeyId = tmpl.SubjectKeyId
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, job.sub.pub, job.sub.key)
	if err != nil {
		return nil, fmt.Errorf("self-sign certificate: %w", err)
	}
	if err := s.linter.Check(der); err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse self-signed certificate: %w", err)
	}
	return s.certificateRow(job, leaf, now), nil
}

// certificateRow is the inventory row of a certificate Signet's CAs did not sign.
func (s *Service) certificateRow(job issueJob, leaf *x509.Certificate, now time.Time) *store.Certificate {
	return &store.Certificate{
		Serial: certutil.SerialHex(leaf.SerialNumber), ProfileID: job.req.ProfileID, RequestID: job.req.ID,
		Issuer: leaf.Issuer.String(), Subject: leaf.Subject.String(), CommonName: leaf.Subject.CommonName,
		SANs: sanStrings(leaf), KeyType: certutil.KeyTypeLabel(leaf.PublicKey),
		NotBefore: leaf.NotBefore.UTC().Truncate(time.Second), NotAfter: leaf.NotAfter.UTC().Truncate(time.Second),
		SHA1: certutil.SHA1Hex(leaf.Raw), SHA256: certutil.SHA256Hex(leaf.Raw), DER: leaf.Raw,
		Status: store.CertActive, Source: store.SourceIssued, Method: job.req.Method, Owner: job.req.Owner, OrgID: job.req.OrgID,
		Labels: job.req.Labels, CustomFields: job.req.CustomFields, CreatedAt: now, UpdatedAt: now,
	}
}

// upstreamCSR is the PKCS#10 sent upstream: the client's own, one Signet
// makes with the key it generated, or the one an auto-renewal resends. A
// bare public key (CMP) cannot prove possession to another CA.
func upstreamCSR(job issueJob) ([]byte, error) {
	if job.req.CSRPEM != "" {
		b, _ := pem.Decode([]byte(job.req.CSRPEM))
		if b != nil && b.Type == "CERTIFICATE REQUEST" {
			return b.Bytes, nil
		}
		if b == nil {
			// ParseCSR accepted it, so it is DER or base64 without armour.
			csr, err := certutil.ParseCSR([]byte(job.req.CSRPEM))
			if err != nil {
				return nil, err
			}
			return csr.Raw, nil
		}
	}
	if job.sub.key != nil {
		t := job.sub.template
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: t.Subject,
			DNSNames: t.DNSNames, IPAddresses: t.IPAddresses, EmailAddresses: t.EmailAddresses, URIs: t.URIs}, job.sub.key)
		if err != nil {
			return nil, fmt.Errorf("make CSR for upstream: %w", err)
		}
		return der, nil
	}
	if job.csr != nil {
		return job.csr, nil
	}
	return nil, problem.Conflict("upstream_needs_csr",
		"profile %s issues through an external CA, which needs a CSR (or a key Signet generates) to prove possession of the key", job.prof.Profile.Name)
}

// issueExternal stores the request as pending_upstream with its order, then
// makes the first upstream call at once: a synchronous upstream's
// certificate is recorded and returned now; otherwise the request stays
// pending and the upstream job finishes it.
func (s *Service) issueExternal(ctx context.Context, caller *auth.Principal, job issueJob) (*Issued, error) {
	if s.upstream == nil {
		return nil, problem.Conflict("upstream_unavailable", "this server has no upstream connectors configured")
	}
	csr, err := upstreamCSR(job)
	if err != nil {
		return nil, err
	}
	now := s.now()
	ord := &orderRecord{Connector: job.prof.Profile.ConnectorID, CSR: csr, ValidityDays: job.req.ValidityDays,
		NextAttempt: now.Add(submitLease)}
	if ord.ValidityDays == 0 {
		ord.ValidityDays = defaultValidity(job.prof)
	}
	if err := s.submitOrder(ctx, caller, &job, ord, now); err != nil {
		if errors.Is(err, store.ErrDuplicate) && job.req.RenewalOf != "" {
			return nil, problem.Conflict("renewal_in_progress",
				"certificate %s already has a renewal waiting for the external CA", job.req.RenewalOf)
		}
		return s.resolveIdempotencyRace(ctx, caller, job.idemKey, err)
	}
	out, err := s.advance(ctx, caller, job, ord)
	if err != nil {
		return nil, err
	}
	if out.Request.Status == store.RequestFailed {
		return nil, problem.Invalid("upstream_rejected", "request %s: %s", out.Request.ID, out.Request.Reason)
	}
	// A server-generated key is delivered now, even while the certificate
	// is pending: it is never stored, so this is its only chance.
	if out.Certificate == nil && job.sub.key != nil {
		if out.PrivateKeyPEM, err = certutil.MarshalPrivateKeyPEM(job.sub.key); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// submitOrder durably records the request (pending_upstream) and its order.
func (s *Service) submitOrder(ctx context.Context, caller *auth.Principal, job *issueJob, ord *orderRecord, now time.Time) error {
	data, err := json.Marshal(ord)
	if err != nil {
		return fmt.Errorf("encode upstream order: %w", err)
	}
	return s.store.Update(ctx, func(tx store.Tx) error {
		r := *job.req
		r.Status, r.UpdatedAt = store.RequestPendingUpstream, now
		if job.approver != nil {
			r.DecidedBy, r.DecidedAt = job.approver.ID, &now
		}
		if err := saveRequest(ctx, tx, caller, job, &r); err != nil {
			return err
		}
		// A renewal's order is keyed by the certificate it renews (KeyID is
		// unique within a kind): while one waits for the upstream, the
		// auto-renewal job, an agent or a person cannot place a second one
		// that would fail to link, or link in the wrong order, when it lands.
		if err := tx.InsertProtocolObject(ctx, &store.ProtocolObject{Kind: kindOrder, ID: r.ID, KeyID: r.RenewalOf,
			Status: "pending", Data: data, CreatedAt: now, UpdatedAt: now}); err != nil {
			return fmt.Errorf("insert upstream order: %w", err)
		}
		if job.approver != nil {
			tx.AppendAudit(job.approver.Event(now, r.OrgID, "request.approve", "request", r.ID,
				map[string]any{"requester": r.RequesterID, "connector": ord.Connector}))
		}
		tx.AppendAudit(caller.Event(now, r.OrgID, "request.submit_upstream", "request", r.ID,
			map[string]any{"profile": r.ProfileID, "connector": ord.Connector, "renewal_of": r.RenewalOf}))
		*job.req = r
		return nil
	})
}

// advance makes the order's next upstream call and acts on the answer.
func (s *Service) advance(ctx context.Context, caller *auth.Principal, job issueJob, ord *orderRecord) (*Issued, error) {
	var res upstream.Result
	var err error
	if ord.Ref == "" {
		res, err = s.upstream.Issue(ctx, ord.Connector, upstream.Order{RequestID: job.req.ID, CSR: ord.CSR, ValidityDays: ord.ValidityDays})
	} else {
		res, err = s.upstream.Poll(ctx, ord.Connector, ord.Ref, job.req.ID)
	}
	job.fromStatus = store.RequestPendingUpstream
	switch {
	case err == nil && len(res.Chain) > 0:
		return s.completeExternal(ctx, caller, job, ord, res.Chain)
	case err == nil:
		ord.Ref, ord.LastError = res.Ref, ""
		return s.retryLater(ctx, job, ord, "")
	case upstream.IsRejected(err) || problem.KindOf(err) == problem.KindNotFound:
		return s.failExternal(ctx, job, err.Error())
	default:
		if errors.Is(err, upstream.ErrOrderFailed) {
			ord.Ref = "" // that order is dead: the next attempt places a new one
		}
		return s.retryLater(ctx, job, ord, err.Error())
	}
}

// completeExternal checks the upstream's certificate is for the key asked
// about, then records it like any issuance: request, certificate row and
// audit event in one transaction, with the order removed.
func (s *Service) completeExternal(ctx context.Context, caller *auth.Principal, job issueJob, ord *orderRecord, chain [][]byte) (*Issued, error) {
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return s.failExternal(ctx, job, "the upstream's certificate does not parse: "+err.Error())
	}
	csr, err := x509.ParseCertificateRequest(ord.CSR)
	if err != nil {
		return nil, fmt.Errorf("parse stored CSR: %w", err)
	}
	if !publicKeysEqual(csr.PublicKey, leaf.PublicKey) {
		return s.failExternal(ctx, job, "the upstream's certificate is for another key")
	}
	cert := s.certificateRow(job, leaf, s.now())
	ext, err := json.Marshal(externalCert{Connector: ord.Connector, Chain: chain[1:], CSR: ord.CSR})
	if err != nil {
		return nil, fmt.Errorf("encode external certificate: %w", err)
	}
	job.extra = func(ctx context.Context, tx store.Tx) error {
		if err := tx.DeleteProtocolObject(ctx, kindOrder, job.req.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("delete upstream order: %w", err)
		}
		return tx.InsertProtocolObject(ctx, &store.ProtocolObject{Kind: kindExternalCert, ID: cert.Serial,
			AccountID: ord.Connector, Status: "issued", Data: ext, CreatedAt: cert.CreatedAt, UpdatedAt: cert.CreatedAt})
	}
	job.approver = nil // audited when the order was submitted
	job.req.Reason = ""
	err = s.record(ctx, caller, job, cert)
	if job.renewOf != nil && (problem.Is(err, "certificate_not_active") || problem.Is(err, "certificate_already_renewed")) {
		// The predecessor was revoked or renewed another way while the
		// upstream worked. The certificate exists upstream all the same:
		// record it without the link rather than lose it, or fetch it again
		// and fail to link it at every pass of the job.
		job.renewOf, cert.RenewedFrom = nil, ""
		err = s.record(ctx, caller, job, cert)
	}
	if err != nil {
		return nil, err
	}
	out := &Issued{Request: job.req, Certificate: cert, Chain: chain[1:]}
	if job.sub != nil && job.sub.key != nil {
		if out.PrivateKeyPEM, err = certutil.MarshalPrivateKeyPEM(job.sub.key); err != nil {
			return nil, err
		}
		if job.p12Password != "" {
			var cas []*x509.Certificate
			for _, d := range chain[1:] {
				if c, err := x509.ParseCertificate(d); err == nil {
					cas = append(cas, c)
				}
			}
			if out.PKCS12, err = certutil.EncodePKCS12(job.sub.key, leaf, cas, job.p12Password); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func publicKeysEqual(a, b any) bool {
	x, err1 := x509.MarshalPKIXPublicKey(a)
	y, err2 := x509.MarshalPKIXPublicKey(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// retryLater keeps the request pending_upstream with the reason, and
// schedules the order's next call with exponential backoff (a pending
// answer resets the error and polls at the base interval).
func (s *Service) retryLater(ctx context.Context, job issueJob, ord *orderRecord, reason string) (*Issued, error) {
	now := s.now()
	if reason != "" {
		ord.Attempts++
		ord.LastError = reason
		ord.NextAttempt = now.Add(backoff(ord.Attempts))
	} else {
		ord.NextAttempt = now.Add(retryBase)
	}
	data, err := json.Marshal(ord)
	if err != nil {
		return nil, fmt.Errorf("encode upstream order: %w", err)
	}
	err = s.store.Update(ctx, func(tx store.Tx) error {
		o, err := tx.GetProtocolObject(ctx, kindOrder, job.req.ID)
		if err != nil {
			return fmt.Errorf("load upstream order: %w", err)
		}
		o.Data, o.UpdatedAt = data, now
		if err := tx.UpdateProtocolObject(ctx, o, o.Status); err != nil {
			return fmt.Errorf("update upstream order: %w", err)
		}
		r, err := tx.GetRequest(ctx, job.req.ID)
		if err != nil {
			return fmt.Errorf("load request: %w", err)
		}
		if r.Reason != reason {
			r.Reason, r.UpdatedAt = reason, now
			if err := tx.UpdateRequest(ctx, r, store.RequestPendingUpstream); err != nil {
				return fmt.Errorf("update request: %w", err)
			}
		}
		*job.req = *r
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Issued{Request: job.req}, nil
}

func backoff(attempts int) time.Duration {
	d := retryBase
	for i := 1; i < attempts && d < retryMax; i++ {
		d *= 2
	}
	return min(d, retryMax)
}

// failExternal ends a request the upstream definitively refused: it is
// failed with the upstream's reason and its order removed.
func (s *Service) failExternal(ctx context.Context, job issueJob, reason string) (*Issued, error) {
	now := s.now()
	err := s.store.Update(ctx, func(tx store.Tx) error {
		r, err := tx.GetRequest(ctx, job.req.ID)
		if err != nil {
			return fmt.Errorf("load request: %w", err)
		}
		r.Status, r.Reason, r.UpdatedAt = store.RequestFailed, reason, now
		if err := tx.UpdateRequest(ctx, r, store.RequestPendingUpstream); err != nil {
			return fmt.Errorf("update request: %w", err)
		}
		if err := tx.DeleteProtocolObject(ctx, kindOrder, r.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("delete upstream order: %w", err)
		}
		ev := auth.System().Event(now, r.OrgID, "request.fail", "request", r.ID, map[string]any{"reason": reason})
		ev.Outcome = "failure"
		tx.AppendAudit(ev)
		*job.req = *r
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Issued{Request: job.req}, nil
}

// renewalCSR is the CSR the external certificate c was issued from, when
// it is for c's key: what an auto-renewal sends upstream again.
func (s *Service) renewalCSR(ctx context.Context, c *store.Certificate, pub any) []byte {
	o, err := s.store.GetProtocolObject(ctx, kindExternalCert, c.Serial)
	if err != nil {
		return nil
	}
	var ext externalCert
	if json.Unmarshal(o.Data, &ext) != nil || ext.CSR == nil {
		return nil
	}
	csr, err := x509.ParseCertificateRequest(ext.CSR)
	if err != nil || !publicKeysEqual(csr.PublicKey, pub) {
		return nil
	}
	return ext.CSR
}

// externalChain is the issuer chain an upstream returned with c.
func (s *Service) externalChain(ctx context.Context, c *store.Certificate) [][]byte {
	o, err := s.store.GetProtocolObject(ctx, kindExternalCert, c.Serial)
	if err != nil {
		return nil
	}
	var ext externalCert
	if json.Unmarshal(o.Data, &ext) != nil {
		return nil
	}
	return ext.Chain
}

// refuseExternalHold keeps Signet's record from diverging from an external
// CA's: a suspension would only change Signet's status while the CA that
// signed the certificate (and answers its OCSP) knows nothing of it, and
// the connectors' APIs have no common hold. Revocation goes upstream instead.
func (s *Service) refuseExternalHold(ctx context.Context, serial string) error {
	c, err := s.getCertificate(ctx, serial)
	if err != nil || c.CAID != "" {
		return nil // transition reports it
	}
	if _, err := auth.RequireOwner(ctx, auth.PermCertRevoke, c.OrgID, c.Owner, c.Serial); err != nil {
		return nil // transition reports it, without telling where the certificate came from
	}
	if _, err := s.store.GetProtocolObject(ctx, kindExternalCert, c.Serial); err == nil {
		return problem.Conflict("certificate_external_hold", "certificate %s was issued by an external CA, which Signet cannot put on hold; revoke it instead", c.Serial)
	} else if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("load external certificate: %w", err)
	}
	return nil
}

// revokeUpstream sends a revocation of an externally issued certificate to
// its connector first; the local status only changes once the upstream
// agreed. Certificates of Signet's own CAs pass through untouched.
func (s *Service) revokeUpstream(ctx context.Context, serial string, reason int) error {
	if _, err := auth.Require(ctx, auth.PermCertRevoke); err != nil {
		return err
	}
	c, err := s.getCertificate(ctx, serial)
	if err != nil || c.CAID != "" {
		return nil // transition reports it
	}
	if _, err := auth.RequireOwner(ctx, auth.PermCertRevoke, c.OrgID, c.Owner, c.Serial); err != nil {
		return nil // transition reports it
	}
	o, err := s.store.GetProtocolObject(ctx, kindExternalCert, c.Serial)
	if errors.Is(err, store.ErrNotFound) {
		return nil // self-signed or imported: nobody upstream to tell
	}
	if err != nil {
		return fmt.Errorf("load external certificate: %w", err)
	}
	if c.Status == store.CertRevoked {
		return nil
	}
	if s.upstream == nil {
		return problem.New(problem.KindUnavailable, "upstream_unavailable", "certificate %s was issued upstream and no connector is available to revoke it", c.Serial)
	}
	leaf, err := x509.ParseCertificate(c.DER)
	if err != nil {
		return fmt.Errorf("parse certificate %s: %w", c.Serial, err)
	}
	if err := s.upstream.Revoke(ctx, o.AccountID, leaf, reason); err != nil {
		if upstream.IsRejected(err) {
			return problem.Conflict("upstream_refused", "the upstream CA refused to revoke %s: %v", c.Serial, err)
		}
		return problem.New(problem.KindUnavailable, "upstream_unavailable", "the upstream CA could not be reached to revoke %s: %v; retry later", c.Serial, err)
	}
	return nil
}

// UpstreamPass advances every due upstream order once, as the system, and
// reports how many it completed or failed.
func (s *Service) UpstreamPass(ctx context.Context, log *slog.Logger) (int, error) {
	if s.upstream == nil {
		return 0, nil
	}
	ctx = auth.WithPrincipal(ctx, auth.System())
	done, cursor := 0, ""
	for {
		orders, next, err := s.store.ListProtocolObjects(ctx, kindOrder, "", 200, cursor)
		if err != nil {
			return done, fmt.Errorf("list upstream orders: %w", err)
		}
		for i := range orders {
			if ctx.Err() != nil {
				return done, ctx.Err()
			}
			finished, err := s.advanceStored(ctx, &orders[i])
			if err != nil {
				log.Warn("upstream order", "request", orders[i].ID, "error", err)
			}
			if finished {
				done++
			}
		}
		if next == "" {
			return done, nil
		}
		cursor = next
	}
}

// advanceStored rebuilds an order's job from the store and advances it if due.
func (s *Service) advanceStored(ctx context.Context, o *store.ProtocolObject) (bool, error) {
	var ord orderRecord
	if err := json.Unmarshal(o.Data, &ord); err != nil {
		return false, fmt.Errorf("decode upstream order %s: %w", o.ID, err)
	}
	if s.now().Before(ord.NextAttempt) {
		return false, nil
	}
	req, err := s.store.GetRequest(ctx, o.ID)
	if err != nil || req.Status != store.RequestPendingUpstream {
		// The request is gone or was finished elsewhere: the order is stale.
		return false, s.store.Update(ctx, func(tx store.Tx) error {
			if err := tx.DeleteProtocolObject(ctx, kindOrder, o.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("delete stale upstream order: %w", err)
			}
			return nil
		})
	}
	job := issueJob{req: req, fromStatus: store.RequestPendingUpstream}
	if req.RenewalOf != "" {
		if job.renewOf, err = s.store.GetCertificate(ctx, req.RenewalOf); err != nil {
			return false, fmt.Errorf("renewal source of %s: %w", req.ID, err)
		}
	}
	out, err := s.advance(ctx, auth.System(), job, &ord)
	if err != nil {
		return false, err
	}
	return out.Request.Status != store.RequestPendingUpstream, nil
}

// RunUpstream advances upstream orders every interval while this node is
// the job leader, until ctx ends.
func (s *Service) RunUpstream(ctx context.Context, leader func() bool, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !leader() {
			continue
		}
		if n, err := s.UpstreamPass(ctx, log); err != nil {
			log.Warn("upstream pass", "error", err)
		} else if n > 0 {
			log.Info("upstream pass", "finished", n)
		}
	}
}
