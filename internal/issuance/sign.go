package issuance

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha1" //nolint:gosec // RFC 5280 method 1 key identifiers are defined with SHA-1
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"time"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/ca"
	"github.com/signet-pki/signet/internal/certutil"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/profile"
	"github.com/signet-pki/signet/internal/store"
)

// backdate tolerates clock skew on relying parties.
const backdate = time.Minute

// serialAttempts bounds retries on a serial collision (2^-127 odds; the
// unique index is what guarantees no duplicate, the retry is for liveness).
const serialAttempts = 3

// issueJob is everything needed to sign and record one certificate.
type issueJob struct {
	req         *store.Request
	prof        *profile.Resolved
	sub         *subject
	idemKey     string
	idemHash    string
	p12Password string
	fromStatus  string             // the request's stored status, "" when the request is new
	renewOf     *store.Certificate // set for renewals
	approver    *auth.Principal    // set for manual approvals
	// csr (DER) is sent to an external CA when the request has no CSR and
	// no key is at hand: auto-renewal resends its predecessor's.
	csr []byte
	// extra runs inside record's transaction (external issuance removes its
	// order and remembers the connector there).
	extra func(ctx context.Context, tx store.Tx) error
}

// issue signs, lints and durably records a certificate with its request and
// audit event, then returns it. Nothing is returned before the commit.
func (s *Service) issue(ctx context.Context, caller *auth.Principal, job issueJob) (*Issued, error) {
	if t := job.prof.Profile.IssuerType; t != "" && t != store.IssuerInternal {
		return s.issueOther(ctx, caller, job) // external.go
	}
	iss, err := s.cas.Issuer(ctx, job.prof.Profile.CAID)
	if err != nil {
		return nil, err
	}
	if iss.CA.Status != store.CAActive {
		return nil, problem.Conflict("ca_disabled", "CA %s is disabled", iss.CA.Name)
	}
	if iss.Signer == nil {
		return nil, problem.Conflict("ca_has_no_key", "CA %s has no private key in Signet", iss.CA.Name)
	}
	for attempt := 1; ; attempt++ {
		cert, err := s.sign(job, iss)
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
		return s.deliver(job, cert, iss)
	}
}

// sign builds the certificate from the checked subject and signs it.
func (s *Service) sign(job issueJob, iss *ca.Issuer) (*store.Certificate, error) {
	now := s.now()
	days := job.req.ValidityDays
	if days == 0 {
		days = defaultValidity(job.prof)
	}
	serial, err := certutil.NewSerial()
	if err != nil {
		return nil, err
	}
	t := job.sub.template
	tpl := job.prof.Template.Parsed
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: t.Subject,
		DNSNames: t.DNSNames, IPAddresses: t.IPAddresses, EmailAddresses: t.EmailAddresses, URIs: t.URIs,
		NotBefore: now.Add(-backdate), NotAfter: now.Add(-backdate).AddDate(0, 0, days).Add(-time.Second),
		KeyUsage: tpl.KeyUsageFor(job.sub.pub), ExtKeyUsage: tpl.ExtendedKeyUsages(),
		BasicConstraintsValid: true,
		SubjectKeyId:          keyID(job.sub.pub),
	}
	// A leaf never outlives its issuer: relying parties would reject the chain.
	if tmpl.NotAfter.After(iss.Cert.NotAfter) {
		tmpl.NotAfter = iss.Cert.NotAfter
	}
	crl, ocspURL, caIssuers := iss.CA.CRLURL, iss.CA.OCSPURL, ""
	if s.endpoints != nil {
		dc, do, di := s.endpoints.For(iss.CA.ID)
		crl, ocspURL, caIssuers = cmp.Or(crl, dc), cmp.Or(ocspURL, do), di
	}
	if crl != "" {
		tmpl.CRLDistributionPoints = []string{crl}
	}
	if ocspURL != "" {
		tmpl.OCSPServer = []string{ocspURL}
	}
	if caIssuers != "" {
		tmpl.IssuingCertificateURL = []string{caIssuers}
	}
	der, err := x509.CreateCertificate(nil, tmpl, iss.Cert, job.sub.pub, iss.Signer)
	if err != nil {
		return nil, fmt.Errorf("sign certificate: %w", err)
	}
	if err := s.linter.Check(der); err != nil {
		return nil, err
	}
	return &store.Certificate{
		Serial: certutil.SerialHex(serial), CAID: iss.CA.ID, ProfileID: job.prof.Profile.ID, RequestID: job.req.ID,
		Issuer: iss.Cert.Subject.String(), Subject: tmpl.Subject.String(), CommonName: tmpl.Subject.CommonName,
		SANs: sanStrings(tmpl), KeyType: certutil.KeyTypeLabel(job.sub.pub),
		NotBefore: tmpl.NotBefore.UTC().Truncate(time.Second), NotAfter: tmpl.NotAfter.UTC().Truncate(time.Second),
		SHA1: certutil.SHA1Hex(der), SHA256: certutil.SHA256Hex(der), DER: der,
		Status: store.CertActive, Source: store.SourceIssued, Method: job.req.Method, Owner: job.req.Owner, OrgID: job.req.OrgID,
		Labels: job.req.Labels, CustomFields: job.req.CustomFields, CreatedAt: now, UpdatedAt: now,
	}, nil
}

// keyID is the RFC 5280 method-1 subject key identifier: SHA-1 of the subjectPublicKey bits.
func keyID(pub any) []byte {
	// The bits are the point for ECDSA and the key itself for Ed25519 (RFC
	// 5480, 8410): no need to build and re-parse the SubjectPublicKeyInfo.
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if b, err := k.Bytes(); err == nil {
			sum := sha1.Sum(b) //nolint:gosec // identifier, not a security function
			return sum[:]
		}
	case ed25519.PublicKey:
		sum := sha1.Sum(k) //nolint:gosec // identifier, not a security function
		return sum[:]
	}
	return spkiKeyID(pub)
}

// spkiKeyID is keyID for any key x509 can marshal.
func spkiKeyID(pub any) []byte {
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil
	}
	var info struct {
		Algorithm asn1.RawValue
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(spki, &info); err != nil {
		return nil
	}
	sum := sha1.Sum(info.PublicKey.Bytes) //nolint:gosec // identifier, not a security function
	return sum[:]
}

func sanStrings(c *x509.Certificate) []string {
	out := make([]string, 0, len(c.DNSNames)+len(c.IPAddresses)+len(c.EmailAddresses)+len(c.URIs))
	out = append(out, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		out = append(out, ip.String())
	}
	out = append(out, c.EmailAddresses...)
	for _, u := range c.URIs {
		out = append(out, u.String())
	}
	return out
}

// saveRequest stores job's request as r inside tx: a new request with its
// idempotency key, or the update of the pending one it was (refused when
// another node or person decided it meanwhile).
func saveRequest(ctx context.Context, tx store.Tx, caller *auth.Principal, job *issueJob, r *store.Request) error {
	if job.fromStatus == "" {
		if err := putIdempotency(ctx, tx, caller, job.idemKey, job.idemHash, r.ID, r.CreatedAt); err != nil {
			return err
		}
		if err := tx.InsertRequest(ctx, r); err != nil {
			return fmt.Errorf("insert request: %w", err)
		}
		return nil
	}
	if err := tx.UpdateRequest(ctx, r, job.fromStatus); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return problem.Conflict("request_not_pending", "request %s was decided concurrently", r.ID)
		}
		return fmt.Errorf("update request: %w", err)
	}
	return nil
}

// onlyInserts tells whether recording the job adds rows and changes none: a
// new request, not a decision on a pending one, a renewal (which links its
// predecessor) or an external issuance (which removes its order).
func (job *issueJob) onlyInserts() bool {
	return job.fromStatus == "" && job.approver == nil && job.renewOf == nil && job.extra == nil
}

// record writes request, certificate, renewal link, idempotency key and audit
// event in one transaction of the store's group commit.
func (s *Service) record(ctx context.Context, caller *auth.Principal, job issueJob, cert *store.Certificate) error {
	req := job.req
	update := s.store.Update
	if job.onlyInserts() {
		update = s.store.Insert
	}
	return update(ctx, func(tx store.Tx) error {
		r := *req
		r.Status, r.CertSerial, r.UpdatedAt = store.RequestIssued, cert.Serial, cert.CreatedAt
		if job.approver != nil {
			at := cert.CreatedAt
			r.DecidedBy, r.DecidedAt = job.approver.ID, &at
		}
		if err := saveRequest(ctx, tx, caller, &job, &r); err != nil {
			return err
		}
		if job.renewOf != nil {
			if err := linkRenewal(ctx, tx, job.renewOf, cert); err != nil {
				return err
			}
		}
		if err := tx.InsertCertificate(ctx, cert); err != nil {
			return fmt.Errorf("insert certificate: %w", err)
		}
		if job.extra != nil {
			if err := job.extra(ctx, tx); err != nil {
				return err
			}
		}
		action := "certificate.issue"
		if job.renewOf != nil {
			action = "certificate.renew"
		}
		if job.approver != nil {
			tx.AppendAudit(job.approver.Event(cert.CreatedAt, r.OrgID, "request.approve", "request", r.ID,
				map[string]any{"requester": r.RequesterID, "certificate": cert.Serial}))
		}
		tx.AppendAudit(caller.Event(cert.CreatedAt, cert.OrgID, action, "certificate", cert.Serial, map[string]any{
			"request": r.ID, "profile": cert.ProfileID, "ca": cert.CAID, "subject": cert.Subject, "sans": cert.SANs,
			"not_after": cert.NotAfter, "renewed_from": cert.RenewedFrom}))
		*req = r
		return nil
	})
}

func linkRenewal(ctx context.Context, tx store.Tx, old, cert *store.Certificate) error {
	cur, err := tx.GetCertificate(ctx, old.Serial)
	if err != nil {
		return fmt.Errorf("renewal source: %w", err)
	}
	if cur.Status != store.CertActive {
		return problem.Conflict("certificate_not_active", "certificate %s is %s and cannot be renewed", cur.Serial, cur.Status)
	}
	// Checked again here, inside the transaction: two renewals that both
	// passed the check before signing must not both link (another node may
	// have renewed it meanwhile).
	if cur.RenewedBy != "" {
		return problem.Conflict("certificate_already_renewed", "certificate %s was already renewed by %s", cur.Serial, cur.RenewedBy)
	}
	cert.RenewedFrom = cur.Serial
	cur.RenewedBy = cert.Serial
	cur.UpdatedAt = cert.CreatedAt
	if err := tx.UpdateCertificate(ctx, cur, store.CertActive); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return problem.Conflict("certificate_not_active", "certificate %s changed status concurrently", cur.Serial)
		}
		return fmt.Errorf("link renewal: %w", err)
	}
	return nil
}

// deliver assembles the response: chain, and for server-generated keys the key itself.
func (s *Service) deliver(job issueJob, cert *store.Certificate, iss *ca.Issuer) (*Issued, error) {
	out := &Issued{Request: job.req, Certificate: cert, Chain: chainOf(iss)}
	if job.sub.key == nil {
		return out, nil
	}
	var err error
	if out.PrivateKeyPEM, err = certutil.MarshalPrivateKeyPEM(job.sub.key); err != nil {
		return nil, err
	}
	if job.p12Password != "" {
		leaf, err := x509.ParseCertificate(cert.DER)
		if err != nil {
			return nil, fmt.Errorf("parse issued certificate: %w", err)
		}
		if out.PKCS12, err = certutil.EncodePKCS12(job.sub.key, leaf, iss.Chain, job.p12Password); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func chainOf(iss *ca.Issuer) [][]byte {
	out := make([][]byte, len(iss.Chain))
	for i, c := range iss.Chain {
		out[i] = c.Raw
	}
	return out
}

// chainDER returns the issuing chain of a stored certificate, if Signet knows its CA.
func (s *Service) chainDER(ctx context.Context, c *store.Certificate) [][]byte {
	if c.CAID == "" {
		return s.externalChain(ctx, c)
	}
	iss, err := s.cas.Issuer(ctx, c.CAID)
	if err != nil {
		return nil
	}
	return chainOf(iss)
}
