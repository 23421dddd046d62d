package issuance

import (
	"cmp"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/ca"
	"github.com/signet-pki/signet/internal/certutil"
	"github.com/signet-pki/signet/internal/policy"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/profile"
	"github.com/signet-pki/signet/internal/store"
)

// Keygen asks the server to generate the key pair.
type Keygen struct {
	Algorithm string `json:"algorithm"` // rsa | ecdsa
	Bits      int    `json:"bits"`
}

// EnrollInput is an enrollment: a CSR, or Keygen plus Subject and SANs.
type EnrollInput struct {
	Profile        string
	CSR            string
	Keygen         *Keygen
	Subject        ca.Subject
	SANs           []string // DNS names, IPs, emails and URIs; the kind is inferred
	ValidityDays   int      // 0 = the profile's default
	Owner          string   // principal or team id; defaults to the caller
	Labels         map[string]string
	CustomFields   map[string]string
	PKCS12Password string // when set with Keygen, a PKCS#12 is returned too
	IdempotencyKey string
	Method         string // enrollment method, for the profile check ("api" by default)
	// PublicKey (DER SubjectPublicKeyInfo) replaces a CSR for protocols
	// whose requests are not PKCS#10 (CMP's CRMF): the transport has verified
	// the proof of possession; Subject and SANs name the certificate.
	PublicKey []byte
}

// keygenRecord is what a request stores for server-side keygen: the
// parameters, never the key.
type keygenRecord struct {
	Keygen  Keygen     `json:"keygen"`
	Subject ca.Subject `json:"subject"`
	SANs    []string   `json:"sans"`
	// PublicKey is set instead of Keygen for a request without a CSR whose
	// key a transport verified (EnrollInput.PublicKey): approval re-reads it.
	PublicKey []byte `json:"public_key,omitempty"`
}

// Enroll requests a certificate. On an auto-approved profile the certificate
// is issued, durably recorded and returned at once; otherwise the pending
// request is returned for a manager to decide.
func (s *Service) Enroll(ctx context.Context, in EnrollInput) (*Issued, error) {
	caller, err := auth.Require(ctx, auth.PermEnroll)
	if err != nil {
		return nil, err
	}
	// The request hash only matters with an Idempotency-Key; it marshals the
	// whole input, so the common path skips it.
	idemHash := ""
	if in.IdempotencyKey != "" {
		idemHash = hashInput(in)
		if replay, err := s.replay(ctx, caller, in.IdempotencyKey, idemHash); replay != nil || err != nil {
			return replay, err
		}
	}
	if err := checkPKCS12Request(in.PKCS12Password, in.Keygen); err != nil {
		return nil, err
	}
	prof, err := s.profiles.Resolve(ctx, in.Profile)
	if err != nil {
		return nil, err
	}
	orgID := prof.Profile.OrgID
	if caller, err = auth.RequireIn(ctx, auth.PermEnroll, orgID); err != nil {
		return nil, err
	}
	in.Method = cmp.Or(in.Method, MethodAPI)
	if err := checkProfileUsable(prof, in.Method); err != nil {
		return nil, err
	}
	if in.Owner == "" {
		in.Owner = caller.ID
	}
	if err := s.checkOwner(ctx, caller, orgID, in.Owner); err != nil {
		return nil, err
	}
	if err := s.attrs.CheckAttributes(ctx, orgID, in.Labels, in.CustomFields, true); err != nil {
		return nil, err
	}
	now := s.now()
	req := &store.Request{ID: store.NewID("req"), OrgID: orgID, ProfileID: prof.Profile.ID, RequesterID: caller.ID,
		Status: store.RequestPending, Kind: "enroll", ValidityDays: in.ValidityDays, Owner: in.Owner,
		Labels: in.Labels, CustomFields: in.CustomFields, Method: in.Method, CreatedAt: now, UpdatedAt: now}
	sub, err := s.subjectFromInput(in, req, prof)
	if err != nil {
		return nil, err
	}
	if err := s.checkDomains(ctx, prof, sub); err != nil {
		return nil, err
	}
	if prof.Profile.Approval == profile.ApprovalManual {
		if in.Keygen != nil {
			return nil, problem.Invalid("keygen_requires_auto_approval",
				"server-side key generation needs an auto-approved profile: the key could not be delivered after approval without storing it")
		}
		return s.savePending(ctx, caller, req, in.IdempotencyKey, idemHash)
	}
	return s.issue(ctx, caller, issueJob{req: req, prof: prof, sub: sub, idemKey: in.IdempotencyKey,
		idemHash: idemHash, p12Password: in.PKCS12Password})
}

// checkPKCS12Request refuses a PKCS#12 that could not be built, before
// anything is signed: it needs a server-generated key and a storable password.
func checkPKCS12Request(password string, keygen *Keygen) error {
	if password == "" {
		return nil
	}
	if keygen == nil {
		return problem.Invalid("pkcs12_requires_keygen", "a PKCS#12 can only be returned for a key the server generates")
	}
	return certutil.CheckPKCS12Password(password)
}

// MethodAPI is the native API's enrollment method, the default; protocols
// name their own (acme, est, scep, cmp, a compatibility API's name).
const MethodAPI = "api"

// methodAutoRenew records server-side renewals (which need the profile to
// allow the native API: they act as it would).
const methodAutoRenew = "auto_renew"

func checkProfileUsable(prof *profile.Resolved, method string) error {
	if prof.Profile.Status != "active" {
		return problem.Conflict("profile_disabled", "profile %s is disabled", prof.Profile.Name)
	}
	for _, m := range prof.Profile.EnrollmentMethods {
		if m == method {
			return nil
		}
	}
	return problem.Forbidden("enrollment_method_not_allowed", "profile %s does not allow enrollment over %s", prof.Profile.Name, method)
}

// subject is what a certificate will certify: its key and names.
type subject struct {
	pub      crypto.PublicKey
	key      crypto.Signer // server-generated key, if any
	template *x509.Certificate
}

// subjectFromInput parses the CSR or generates the key, and checks the
// result against the profile's template, reporting every violation.
func (s *Service) subjectFromInput(in EnrollInput, req *store.Request, prof *profile.Resolved) (*subject, error) {
	if in.PublicKey != nil {
		return subjectFromKey(in, req, prof)
	}
	if (in.CSR == "") == (in.Keygen == nil) {
		return nil, problem.Invalid("csr_or_keygen", "give exactly one of csr or keygen")
	}
	if in.CSR != "" {
		req.CSRPEM = in.CSR
		return subjectFromCSR([]byte(in.CSR), prof, in.ValidityDays)
	}
	if !prof.Template.Parsed.AllowKeyGeneration {
		return nil, problem.Violations("policy_violation", "request breaks template: 1 violation(s)",
			[]problem.Violation{{Field: "keygen", Code: "keygen_not_allowed", Message: "the template does not allow server-side key generation"}})
	}
	tmpl, err := templateFromNames(in.Subject, in.SANs)
	if err != nil {
		return nil, err
	}
	key, err := certutil.GenerateKey(in.Keygen.Algorithm, in.Keygen.Bits)
	if err != nil {
		return nil, err
	}
	req.Keygen, _ = json.Marshal(keygenRecord{Keygen: *in.Keygen, Subject: in.Subject, SANs: in.SANs})
	sub := &subject{pub: key.Public(), key: key, template: tmpl}
	return sub, checkPolicy(prof, sub, in.ValidityDays, true)
}

// subjectFromKey is subjectFromInput for a public key whose possession the
// transport has proven; the key and names are recorded in req (when given)
// for the approval of a pending request.
func subjectFromKey(in EnrollInput, req *store.Request, prof *profile.Resolved) (*subject, error) {
	if in.CSR != "" || in.Keygen != nil {
		return nil, problem.Invalid("csr_or_keygen", "give only one of csr, keygen or public_key")
	}
	pub, err := x509.ParsePKIXPublicKey(in.PublicKey)
	if err != nil {
		return nil, problem.Invalid("public_key_invalid", "the public key does not parse: %v", err)
	}
	tmpl, err := templateFromNames(in.Subject, in.SANs)
	if err != nil {
		return nil, err
	}
	if req != nil {
		req.Keygen, _ = json.Marshal(keygenRecord{Subject: in.Subject, SANs: in.SANs, PublicKey: in.PublicKey})
	}
	sub := &subject{pub: pub, template: tmpl}
	return sub, checkPolicy(prof, sub, in.ValidityDays, false)
}

// pendingSubject re-reads what a pending request asked for: its CSR, or
// the public key and names a transport verified (EnrollInput.PublicKey).
func pendingSubject(req *store.Request, prof *profile.Resolved) (*subject, error) {
	if req.CSRPEM != "" {
		return subjectFromCSR([]byte(req.CSRPEM), prof, req.ValidityDays)
	}
	var rec keygenRecord
	if len(req.Keygen) == 0 || json.Unmarshal(req.Keygen, &rec) != nil || rec.PublicKey == nil {
		return nil, problem.Conflict("request_has_no_csr", "request %s has no CSR to issue from", req.ID)
	}
	return subjectFromKey(EnrollInput{PublicKey: rec.PublicKey, Subject: rec.Subject, SANs: rec.SANs, ValidityDays: req.ValidityDays}, nil, prof)
}

func subjectFromCSR(der []byte, prof *profile.Resolved, validityDays int) (*subject, error) {
	csr, err := certutil.ParseCSR(der)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{Subject: csr.Subject, DNSNames: csr.DNSNames, IPAddresses: csr.IPAddresses,
		EmailAddresses: csr.EmailAddresses, URIs: csr.URIs}
	tmpl.Subject.ExtraNames = nil
	promoteCommonName(tmpl)
	sub := &subject{pub: csr.PublicKey, template: tmpl}
	return sub, checkPolicy(prof, sub, validityDays, false)
}

// promoteCommonName copies a hostname-like CN into the SANs when a CSR has
// none, as most CAs do: clients ignore the CN, and the template needs SANs.
func promoteCommonName(t *x509.Certificate) {
	cn := t.Subject.CommonName
	if cn == "" || len(t.DNSNames)+len(t.IPAddresses)+len(t.EmailAddresses)+len(t.URIs) > 0 {
		return
	}
	if ip := net.ParseIP(cn); ip != nil {
		t.IPAddresses = []net.IP{ip}
	} else if strings.Contains(cn, ".") && !strings.ContainsAny(cn, " @/:") {
		t.DNSNames = []string{strings.ToLower(cn)}
	}
}

// templateFromNames builds names for server-side keygen from typed subject and SANs.
func templateFromNames(subj ca.Subject, sans []string) (*x509.Certificate, error) {
	if err := subj.Validate("subject"); err != nil {
		return nil, err
	}
	t := &x509.Certificate{Subject: subj.PKIX()}
	for i, n := range sans {
		switch {
		case net.ParseIP(n) != nil:
			t.IPAddresses = append(t.IPAddresses, net.ParseIP(n))
		case strings.Contains(n, "://"):
			u, err := url.Parse(n)
			if err != nil {
				return nil, problem.Violations("san_invalid", "a SAN is invalid",
					[]problem.Violation{{Field: fmt.Sprintf("sans[%d]", i), Code: "san_invalid", Message: fmt.Sprintf("%q is not a valid URI", n)}})
			}
			t.URIs = append(t.URIs, u)
		case strings.Contains(n, "@"):
			if _, err := mail.ParseAddress(n); err != nil {
				return nil, problem.Violations("san_invalid", "a SAN is invalid",
					[]problem.Violation{{Field: fmt.Sprintf("sans[%d]", i), Code: "san_invalid", Message: fmt.Sprintf("%q is not a valid email address", n)}})
			}
			t.EmailAddresses = append(t.EmailAddresses, n)
		default:
			t.DNSNames = append(t.DNSNames, strings.ToLower(n))
		}
	}
	promoteCommonName(t)
	return t, nil
}

func checkPolicy(prof *profile.Resolved, sub *subject, validityDays int, keygen bool) error {
	if validityDays == 0 {
		validityDays = defaultValidity(prof)
	}
	t := sub.template
	return prof.Template.Parsed.Check(policy.Request{PublicKey: sub.pub, Subject: t.Subject, DNSNames: t.DNSNames,
		IPAddresses: t.IPAddresses, EmailAddresses: t.EmailAddresses, URIs: t.URIs, ValidityDays: validityDays, ServerKeyGen: keygen})
}

func defaultValidity(prof *profile.Resolved) int {
	if prof.Profile.DefaultValidityDays > 0 {
		return prof.Profile.DefaultValidityDays
	}
	return prof.Template.Parsed.MaxValidityDays
}

func hashInput(in EnrollInput) string {
	in.IdempotencyKey, in.PKCS12Password = "", ""
	b, _ := json.Marshal(in)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// replay returns the original result of an Idempotency-Key, if there is one.
func (s *Service) replay(ctx context.Context, caller *auth.Principal, key, hash string) (*Issued, error) {
	rec, err := s.store.GetIdempotency(ctx, caller.ID, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up idempotency key: %w", err)
	}
	if rec.RequestHash != hash {
		return nil, problem.Conflict("idempotency_key_reused", "Idempotency-Key %q was used with a different request", key)
	}
	return s.replayResult(ctx, rec.ResultID)
}

// replayResult rebuilds the result of an earlier request, without key material.
func (s *Service) replayResult(ctx context.Context, reqID string) (*Issued, error) {
	req, err := s.store.GetRequest(ctx, reqID)
	if err != nil {
		return nil, fmt.Errorf("replay idempotent request: %w", err)
	}
	out := &Issued{Request: req, Replayed: true}
	if req.CertSerial != "" {
		if out.Certificate, err = s.store.GetCertificate(ctx, req.CertSerial); err != nil {
			return nil, fmt.Errorf("replay idempotent certificate: %w", err)
		}
		out.Chain = s.chainDER(ctx, out.Certificate)
	}
	return out, nil
}

func (s *Service) savePending(ctx context.Context, caller *auth.Principal, req *store.Request, idemKey, idemHash string) (*Issued, error) {
	err := s.store.Insert(ctx, func(tx store.Tx) error {
		if err := putIdempotency(ctx, tx, caller, idemKey, idemHash, req.ID, req.CreatedAt); err != nil {
			return err
		}
		if err := tx.InsertRequest(ctx, req); err != nil {
			return fmt.Errorf("insert request: %w", err)
		}
		tx.AppendAudit(caller.Event(req.CreatedAt, req.OrgID, "request.create", "request", req.ID,
			map[string]any{"profile": req.ProfileID, "owner": req.Owner}))
		return nil
	})
	if err != nil {
		return s.resolveIdempotencyRace(ctx, caller, idemKey, err)
	}
	return &Issued{Request: req}, nil
}

var errIdempotencyRace = errors.New("idempotency key taken concurrently")

func putIdempotency(ctx context.Context, tx store.Tx, caller *auth.Principal, key, hash, reqID string, at time.Time) error {
	if key == "" {
		return nil
	}
	err := tx.PutIdempotency(ctx, &store.Idempotency{Key: key, PrincipalID: caller.ID, RequestHash: hash, ResultType: "request", ResultID: reqID, CreatedAt: at})
	if errors.Is(err, store.ErrDuplicate) {
		return errIdempotencyRace
	}
	return err
}

// resolveIdempotencyRace answers a request that lost a race on its
// Idempotency-Key with the winner's result.
func (s *Service) resolveIdempotencyRace(ctx context.Context, caller *auth.Principal, key string, err error) (*Issued, error) {
	if !errors.Is(err, errIdempotencyRace) {
		return nil, err
	}
	rec, gerr := s.store.GetIdempotency(ctx, caller.ID, key)
	if gerr != nil {
		return nil, fmt.Errorf("idempotency race: %w", gerr)
	}
	return s.replayResult(ctx, rec.ResultID)
}
