package est

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/ca"
	"github.com/signet-pki/signet/internal/certutil"
	"github.com/signet-pki/signet/internal/enrollsecret"
	"github.com/signet-pki/signet/internal/issuance"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/profile"
	"github.com/signet-pki/signet/internal/store"
)

// kindPending records an enrollment waiting for approval, so that the
// client's repeated request finds it. KeyID: hash of profile, credential
// and CSR (the same client sending the same CSR again).
const kindPending = "est.pending"

// pendingRetention bounds how long a pending record is kept.
const pendingRetention = 90 * 24 * time.Hour

type pending struct {
	RequestID string `json:"request_id"`
	ProfileID string `json:"profile_id"`
	Caller    string `json:"caller"` // principal id or enrollment secret id
}

// credential is who an enrollment acts as: a principal, or a one-time
// secret not yet accepted (it is consumed only for a new enrollment).
type credential struct {
	principal *auth.Principal
	secret    string
	id        string // principal id, or "secret:" + secret id
}

// readCSR reads and checks a PKCS#10 body.
func readCSR(w http.ResponseWriter, r *http.Request) ([]byte, *x509.CertificateRequest, error) {
	der, err := readBase64(w, r, "application/pkcs10")
	if err != nil {
		return nil, nil, err
	}
	csr, err := certutil.ParseCSR(der)
	if err != nil {
		return nil, nil, err
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, nil, &estError{status: http.StatusBadRequest, msg: "the CSR signature does not verify"}
	}
	return der, csr, nil
}

// authenticate finds who an enrollment request comes from: a TLS client
// certificate Signet issued, HTTP Basic credentials (an enrollment secret,
// an API key with its principal's name, or a user's password), or an
// enrollment secret in the CSR's challengePassword.
func (s *Service) authenticate(r *http.Request, csr *x509.CertificateRequest) (*credential, error) {
	ctx, ip := r.Context(), auth.SourceIP(r)
	user, pass, basic := r.BasicAuth()
	// A client certificate that maps to no principal (a device's own,
	// owned by the secret that enrolled it) may still come with a secret.
	var refused error = problem.Unauthorized("unauthenticated",
		"EST enrollment needs a TLS client certificate, HTTP Basic credentials or an enrollment secret")
	if leaf := auth.ClientCertificate(r); leaf != nil && s.d.ClientCerts != nil && !basic {
		p, err := s.d.ClientCerts.Authenticate(ctx, leaf)
		if err == nil {
			p.SourceIP = ip
			return &credential{principal: p, id: p.ID}, nil
		}
		if problem.KindOf(err) == problem.KindInternal {
			return nil, err
		}
		refused = err
	}
	if basic {
		if id, ok := enrollsecret.SecretID(pass); ok {
			return &credential{secret: pass, id: "secret:" + id}, nil
		}
		if p, err := s.d.Keys.Authenticate(ctx, pass); err == nil {
			if p.Name != user {
				return nil, problem.Unauthorized("invalid_credentials", "the API key does not belong to user %q", user)
			}
			p.SourceIP = ip
			return &credential{principal: p, id: p.ID}, nil
		}
		p, err := s.d.Passwords.VerifyPassword(ctx, user, pass, ip)
		if err != nil {
			return nil, err
		}
		return &credential{principal: p, id: p.ID}, nil
	}
	if cp, err := enrollsecret.ChallengePassword(csr.RawTBSCertificateRequest); err == nil && cp != "" {
		if id, ok := enrollsecret.SecretID(cp); ok {
			return &credential{secret: cp, id: "secret:" + id}, nil
		}
	}
	return nil, refused
}

// pendingKey identifies a client's enrollment across its retries.
func pendingKey(profileID, callerID string, csrDER []byte) string {
	h := sha256.New()
	h.Write([]byte(profileID + "\x00" + callerID + "\x00"))
	h.Write(csrDER)
	return hex.EncodeToString(h.Sum(nil))
}

// simpleEnroll serves simpleenroll and (keygen) serverkeygen.
func (s *Service) simpleEnroll(w http.ResponseWriter, r *http.Request, prof *profile.Resolved, keygen bool) error {
	der, csr, err := readCSR(w, r)
	if err != nil {
		return err
	}
	cred, err := s.authenticate(r, csr)
	if err != nil {
		return err
	}
	use := enrollsecret.Use{ProfileID: prof.Profile.ID, Protocol: Method, CommonName: csr.Subject.CommonName}
	if r.TLS != nil && len(r.TLS.TLSUnique) > 0 {
		use.TLSUnique = base64.StdEncoding.EncodeToString(r.TLS.TLSUnique)
	}
	use.ChallengePassword, _ = enrollsecret.ChallengePassword(csr.RawTBSCertificateRequest)
	key := pendingKey(prof.Profile.ID, cred.id, der)
	// Only manual-approval profiles leave enrollments pending: auto-approved
	// ones skip the lookup (a request left pending before a profile switched
	// to auto approval is still decided by a manager; the client's retry
	// then simply enrolls anew).
	if !keygen && prof.Profile.Approval == profile.ApprovalManual {
		if o, err := s.d.Store.FindProtocolObject(r.Context(), kindPending, key); err == nil {
			return s.poll(w, r, o, cred, use)
		} else if !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("look up pending EST enrollment: %w", err)
		}
	}
	txID := store.NewID("estx")
	var used *enrollsecret.Used
	if cred.secret != "" {
		use.For = txID
		if used, err = s.d.Secrets.Consume(r.Context(), cred.secret, use); err != nil {
			return err
		}
		cred.principal = used.Principal(auth.SourceIP(r))
	}
	ctx := auth.WithPrincipal(r.Context(), cred.principal)
	in := issuance.EnrollInput{Profile: prof.Profile.ID, Method: Method}
	if keygen {
		alg, bits := certutil.KeyInfo(csr.PublicKey)
		in.Keygen = &issuance.Keygen{Algorithm: alg, Bits: bits}
		in.Subject, in.SANs = namesOf(csr)
	} else {
		in.CSR = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
	}
	res, err := s.d.Issuance.Enroll(ctx, in)
	if err != nil {
		if used != nil && problem.KindOf(err) != problem.KindInternal {
			if rerr := s.d.Secrets.Release(r.Context(), used.ID, txID); rerr != nil {
				s.log.WarnContext(r.Context(), "could not release an enrollment secret", "secret", used.ID, "err", rerr)
			}
		}
		return err
	}
	if res.Certificate == nil {
		return s.savePending(w, r, txID, key, prof.Profile.ID, cred, res.Request.ID)
	}
	if keygen {
		block, _ := pem.Decode(res.PrivateKeyPEM)
		if block == nil {
			return errors.New("server-generated key is not PEM")
		}
		return writeKeyAndCert(w, block.Bytes, res.Certificate.DER)
	}
	return writeCerts(w, http.StatusOK, res.Certificate.DER)
}

// savePending remembers a pending enrollment and answers 202 (RFC 7030
// section 4.2.3).
func (s *Service) savePending(w http.ResponseWriter, r *http.Request, txID, key, profileID string, cred *credential, requestID string) error {
	now := s.cfg.Now()
	exp := now.Add(pendingRetention)
	data, _ := json.Marshal(pending{RequestID: requestID, ProfileID: profileID, Caller: cred.principal.ID}) // plain struct
	o := &store.ProtocolObject{Kind: kindPending, ID: txID, KeyID: key, Status: "pending", Data: data, ExpiresAt: &exp,
		CreatedAt: now, UpdatedAt: now}
	err := s.d.Store.Update(r.Context(), func(tx store.Tx) error {
		if err := tx.InsertProtocolObject(r.Context(), o); err != nil && !errors.Is(err, store.ErrDuplicate) {
			return fmt.Errorf("record pending EST enrollment: %w", err)
		}
		// Records past their retention go as new ones come: no job needed.
		if _, err := tx.DeleteExpiredProtocolObjects(r.Context(), kindPending, now); err != nil {
			return fmt.Errorf("sweep pending EST enrollments: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.accepted(w)
	return nil
}

func (s *Service) accepted(w http.ResponseWriter) {
	w.Header().Set("Retry-After", strconv.Itoa(int(s.cfg.RetryAfter/time.Second)))
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write([]byte("the request is waiting for approval; retry later\n"))
}

// poll answers a repeated enrollment: the certificate once approved.
func (s *Service) poll(w http.ResponseWriter, r *http.Request, o *store.ProtocolObject, cred *credential, use enrollsecret.Use) error {
	var p pending
	if err := json.Unmarshal(o.Data, &p); err != nil {
		return fmt.Errorf("pending EST enrollment %s is corrupt: %w", o.ID, err)
	}
	if cred.secret != "" {
		use.For = o.ID
		used, err := s.d.Secrets.Verify(r.Context(), cred.secret, use)
		if err != nil {
			return err
		}
		cred.principal = used.Principal(auth.SourceIP(r))
	}
	if cred.principal.ID != p.Caller {
		return problem.Forbidden("not_requester", "this enrollment belongs to another client")
	}
	ctx := auth.WithPrincipal(r.Context(), cred.principal)
	req, err := s.d.Issuance.GetRequest(ctx, p.RequestID)
	if err != nil {
		return err
	}
	switch req.Status {
	case store.RequestIssued:
		c, err := s.d.Issuance.GetCertificate(ctx, req.CertSerial)
		if err != nil {
			return err
		}
		return writeCerts(w, http.StatusOK, c.DER)
	case store.RequestRejected:
		return &estError{status: http.StatusForbidden, msg: "the enrollment was rejected: " + req.Reason}
	case store.RequestFailed:
		return &estError{status: http.StatusBadRequest, msg: "the enrollment failed: " + req.Reason}
	default:
		s.accepted(w)
		return nil
	}
}

// simpleReenroll renews the certificate the client authenticates with
// (RFC 7030 section 4.2.2): same subject and names, new or same key.
func (s *Service) simpleReenroll(w http.ResponseWriter, r *http.Request, prof *profile.Resolved) error {
	der, csr, err := readCSR(w, r)
	if err != nil {
		return err
	}
	// Any certificate Signet issued renews itself, server certificates
	// included (the listener verified its chain whatever its EKUs).
	leaf := auth.HolderCertificate(r)
	if leaf == nil {
		return problem.Unauthorized("client_certificate_required", "simplereenroll needs the certificate being renewed as the TLS client certificate")
	}
	sum := sha256.Sum256(leaf.Raw)
	old, err := s.d.Store.GetCertificateBySHA256(r.Context(), hex.EncodeToString(sum[:]))
	if errors.Is(err, store.ErrNotFound) {
		return problem.Unauthorized("invalid_client_certificate", "the client certificate is not one Signet issued")
	}
	if err != nil {
		return fmt.Errorf("look up client certificate: %w", err)
	}
	if old.Status != store.CertActive || !s.cfg.Now().Before(old.NotAfter) {
		return problem.Unauthorized("invalid_client_certificate", "the client certificate is revoked, on hold or expired")
	}
	if err := sameNames(csr, leaf); err != nil {
		return err
	}
	p := auth.CertificateHolder(old, leaf.Subject.CommonName, "client_certificate", auth.SourceIP(r))
	ctx := auth.WithPrincipal(r.Context(), p)
	res, err := s.d.Issuance.Renew(ctx, old.Serial, issuance.RenewInput{Method: Method, Profile: prof.Profile.ID,
		CSR: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))})
	if err != nil {
		return err
	}
	if res.Certificate == nil {
		s.accepted(w)
		return nil
	}
	return writeCerts(w, http.StatusOK, res.Certificate.DER)
}

// sameNames checks a re-enrollment CSR against the certificate it renews:
// RFC 7030 requires the same subject and subjectAltNames (a CSR without
// SANs keeps the certificate's, since the CN is promoted the same way).
func sameNames(csr *x509.CertificateRequest, leaf *x509.Certificate) error {
	if csr.Subject.String() != leaf.Subject.String() {
		return &estError{status: http.StatusBadRequest, msg: "the CSR subject differs from the certificate being renewed"}
	}
	got := sanList(csr.DNSNames, csr.IPAddresses, csr.EmailAddresses, csr.URIs)
	if len(got) == 0 {
		return nil
	}
	if !slices.Equal(got, sanList(leaf.DNSNames, leaf.IPAddresses, leaf.EmailAddresses, leaf.URIs)) {
		return &estError{status: http.StatusBadRequest, msg: "the CSR subjectAltNames differ from the certificate being renewed"}
	}
	return nil
}

// namesOf turns a CSR's subject and SANs into issuance's keygen input.
func namesOf(csr *x509.CertificateRequest) (ca.Subject, []string) {
	n := csr.Subject
	return ca.Subject{CommonName: n.CommonName, Organization: n.Organization, OrganizationalUnit: n.OrganizationalUnit,
			Country: n.Country, Province: n.Province, Locality: n.Locality, StreetAddress: n.StreetAddress,
			PostalCode: n.PostalCode, SerialNumber: n.SerialNumber},
		sanList(csr.DNSNames, csr.IPAddresses, csr.EmailAddresses, csr.URIs)
}

func sanList[IP fmt.Stringer, U fmt.Stringer](dns []string, ips []IP, emails []string, uris []U) []string {
	out := slices.Clone(dns)
	for _, ip := range ips {
		out = append(out, ip.String())
	}
	out = append(out, emails...)
	for _, u := range uris {
		out = append(out, u.String())
	}
	slices.Sort(out)
	return out
}
