package cmp

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/signet-pki/signet/internal/audit"
	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/ca"
	"github.com/signet-pki/signet/internal/certutil"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/profile"
	"github.com/signet-pki/signet/internal/store"
)

// contentType is RFC 6712's media type for CMP over HTTP.
const contentType = "application/pkixcmp"

// cmpError is a failure answered with a CMP error message: PKIStatus
// rejection, one PKIFailureInfo bit and a text for the client.
type cmpError struct {
	fail   int
	text   string
	status int // HTTP status; 200 unless the request could not be read as CMP
	// decided marks a notAuthorized that reports a manager's decision
	// (a rejected request), not a refused credential: it is not audited.
	decided bool
}

func (e *cmpError) Error() string { return e.text }

func fail(bit int, format string, args ...any) *cmpError {
	return &cmpError{fail: bit, text: sprintf(format, args...), status: http.StatusOK}
}

// exchange is one request being answered: what the profile, the
// authentication and the transaction turned out to be.
type exchange struct {
	r      *http.Request
	req    *request
	prof   *profile.Resolved
	issuer *ca.Issuer
	tid    string // hex transactionID

	// Authentication: exactly one of secret (MAC) and cert (signature), or
	// neither for an unprotected genm.
	secret     *secretRecord
	secretKey  []byte
	cert       *x509.Certificate
	certRecord *store.Certificate
	principal  *auth.Principal
}

// ServeHTTP answers POST /cmp/{profile} and the well-known paths of RFC
// 9483 section 6.1 (/.well-known/cmp[/p/{profile}][/{operation}]).
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := s.profileName(r.URL.Path)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "CMP messages are POSTed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxMessageBytes+1))
	if err != nil || len(body) > maxMessageBytes {
		s.writeUnprotected(w, nil, &cmpError{fail: failBadDataFormat, text: "the message is unreadable or over 256 KiB", status: http.StatusRequestEntityTooLarge})
		return
	}
	req, err := parseRequest(body)
	if err != nil {
		s.writeUnprotected(w, nil, &cmpError{fail: failBadDataFormat, text: err.Error(), status: http.StatusBadRequest})
		return
	}
	x := &exchange{r: r, req: req, tid: hex.EncodeToString(req.header.TransactionID)}
	resp, err := s.handle(r.Context(), x, name)
	if err != nil {
		// Domain refusals (problem errors) become CMP failures; anything
		// else is the server's fault: systemFailure, and HTTP 500 so that
		// monitoring sees it.
		err = refusal(err)
		var ce *cmpError
		if !errors.As(err, &ce) {
			s.log.ErrorContext(r.Context(), "CMP request failed", "profile", name, "body", bodyName(req.bodyType), "err", err)
			ce = &cmpError{fail: failSystemFailure, text: "internal error", status: http.StatusInternalServerError}
		} else {
			s.log.InfoContext(r.Context(), "CMP request refused", "profile", name, "body", bodyName(req.bodyType), "reason", ce.text)
			s.audit(x, ce)
		}
		// An error to a request that failed authentication goes unprotected
		// (RFC 9483 section 3.6.4): there is no secret the client would
		// accept it under.
		resp = s.errorMessage(x, ce)
		if x.authenticated() {
			s.write(w, ce.status, s.protect(x, resp))
		} else {
			s.write(w, ce.status, resp.marshal())
		}
		return
	}
	s.write(w, http.StatusOK, s.protect(x, resp))
}

// wellKnown is the path of RFC 9483 section 6.1 (registered by RFC 9811).
const wellKnown = "/.well-known/cmp"

// operationSegments are the path segments RFC 9483 section 6.1 registers
// after /.well-known/cmp[/p/{label}]. The body type decides what a message
// is; the segment only has to be one of these.
var operationSegments = []string{"initialization", "certification", "keyupdate", "pkcs10", "revocation",
	"getcacerts", "getrootupdate", "getcertreqtemplate", "getcrls", "nested"}

// profileName maps a request path to the profile it names: /cmp/{profile},
// or /.well-known/cmp[/p/{profile}][/{operation}], where no label means the
// default profile. A path that names no profile gives "", which
// resolveProfile refuses.
func (s *Service) profileName(path string) string {
	if name, ok := strings.CutPrefix(path, "/cmp/"); ok {
		return strings.Trim(name, "/")
	}
	rest, ok := strings.CutPrefix(path, wellKnown)
	if !ok || rest != "" && rest[0] != '/' {
		return ""
	}
	segs := strings.Split(strings.Trim(rest, "/"), "/")
	name := s.cfg.DefaultProfile
	if len(segs) >= 2 && segs[0] == "p" {
		name, segs = segs[1], segs[2:]
	}
	switch {
	case len(segs) == 0 || len(segs) == 1 && segs[0] == "":
		return name
	case len(segs) == 1 && slices.Contains(operationSegments, segs[0]):
		return name
	}
	return ""
}

// auditedFailures are the failures that refuse a credential or a use of
// it: a wrong, unknown or used secret, a tampered or unprotected message,
// an untrusted or revoked signer, a request outside the sender's rights.
var auditedFailures = map[int]string{failBadMessageCheck: "cmp_bad_message_check", failNotAuthorized: "cmp_not_authorized",
	failSignerNotTrusted: "cmp_signer_not_trusted", failCertRevoked: "cmp_cert_revoked"}

// audit records a refused authentication (anonymous) or authorization
// (naming the authenticated sender) in the audit log, without secrets.
func (s *Service) audit(x *exchange, ce *cmpError) {
	code, ok := auditedFailures[ce.fail]
	if !ok || ce.decided || s.auditor == nil {
		return
	}
	ref := audit.Refusal{SourceIP: auth.SourceIP(x.r), Method: x.r.Method, Path: x.r.URL.Path, Err: problem.Unauthorized(code, "%s", ce.text)}
	if x.authenticated() {
		ref.Principal, ref.Err = x.principal, problem.Forbidden(code, "%s", ce.text)
	}
	if err := s.auditor.RecordRefusal(x.r.Context(), ref); err != nil {
		s.log.WarnContext(x.r.Context(), "could not audit a refused CMP request", "err", err)
	}
}

func (x *exchange) authenticated() bool { return x.secret != nil || x.cert != nil }

func (s *Service) write(w http.ResponseWriter, status int, der []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(der)
}

// writeUnprotected answers a request that could not be parsed.
func (s *Service) writeUnprotected(w http.ResponseWriter, x *exchange, ce *cmpError) {
	if x == nil {
		x = &exchange{req: &request{}}
	}
	s.write(w, ce.status, s.errorMessage(x, ce).marshal())
}

// handle resolves the profile, authenticates and dispatches one message.
func (s *Service) handle(ctx context.Context, x *exchange, name string) (*response, error) {
	h := x.req.header
	if h.PVNO != 2 && h.PVNO != 3 {
		return nil, fail(failUnsupportedVer, "pvno %d is not supported (2 or 3)", h.PVNO)
	}
	if err := s.resolveProfile(ctx, x, name); err != nil {
		return nil, err
	}
	// An unsupported message type is refused before authentication: the
	// answer reveals nothing, and the client learns what is wrong.
	switch x.req.bodyType {
	case bodyIR, bodyCR, bodyKUR, bodyP10CR, bodyCertConf, bodyPollReq, bodyRR, bodyGenM:
	default:
		return nil, fail(failBadRequest, "message type %s is not supported", bodyName(x.req.bodyType))
	}
	if err := s.authenticate(ctx, x); err != nil {
		return nil, err
	}
	switch x.req.bodyType {
	case bodyIR, bodyCR, bodyKUR, bodyP10CR:
		return s.certRequest(ctx, x)
	case bodyCertConf:
		return s.certConf(ctx, x)
	case bodyPollReq:
		return s.pollReq(ctx, x)
	case bodyRR:
		return s.revocation(ctx, x)
	case bodyGenM:
		return s.genm(ctx, x)
	}
	return nil, fail(failBadRequest, "message type %s is not supported", bodyName(x.req.bodyType))
}

func (s *Service) resolveProfile(ctx context.Context, x *exchange, name string) error {
	if name == "" || strings.Contains(name, "/") {
		return &cmpError{fail: failBadRequest, text: "the path is /cmp/{profile} or /.well-known/cmp[/p/{profile}][/{operation}]",
			status: http.StatusNotFound}
	}
	prof, err := profile.ResolveOffered(ctx, s.profiles, name, method)
	switch {
	case problem.Is(err, profile.CodeNotOffered):
		return &cmpError{fail: failBadRequest, text: "profile " + name + " does not offer CMP", status: http.StatusNotFound}
	case problem.KindOf(err) == problem.KindNotFound:
		return &cmpError{fail: failBadRequest, text: "no CMP endpoint for profile " + name, status: http.StatusNotFound}
	case err != nil:
		return err
	}
	iss, err := s.cas.Issuer(ctx, prof.Profile.CAID)
	if err != nil {
		return err
	}
	if iss.Signer == nil {
		return fail(failSystemUnavail, "the profile's CA has no key on this server")
	}
	x.prof, x.issuer = prof, iss
	return nil
}

// authenticate checks the message protection and sets who is asking.
func (s *Service) authenticate(ctx context.Context, x *exchange) error {
	h := x.req.header
	if len(x.req.msg.Protection.Bytes) == 0 {
		if x.req.bodyType == bodyGenM {
			return nil // what genm answers is public: CA certificates, the template, CRLs
		}
		return fail(failBadMessageCheck, "the message is not protected")
	}
	if isMAC(h.ProtectionAlg) {
		return s.authenticateMAC(ctx, x)
	}
	return s.authenticateSignature(ctx, x)
}

func (s *Service) authenticateMAC(ctx context.Context, x *exchange) error {
	ref := string(x.req.header.SenderKID)
	if ref == "" {
		return fail(failBadMessageCheck, "a MAC-protected message names its shared secret's reference in senderKID")
	}
	k, secret, err := s.loadSecret(ctx, ref, x.prof.Profile.ID, x.tid)
	switch {
	case errors.Is(err, errUsedSecret):
		return fail(failNotAuthorized, "the shared secret has already been used")
	case errors.Is(err, errUnknownSecret):
		return fail(failBadMessageCheck, "the message protection does not verify")
	case err != nil:
		return err
	}
	if err := verifyMAC(x.req, secret); err != nil {
		if errors.Is(err, errBadMAC) {
			return fail(failBadMessageCheck, "the message protection does not verify")
		}
		return fail(failBadAlg, "%v", err)
	}
	x.secret, x.secretKey = k, secret
	x.principal = &auth.Principal{ID: k.obj.ID, Name: "CMP shared secret " + k.obj.ID, Kind: "cmp_secret", OrgID: k.OrgID,
		Roles: []string{auth.RoleRequester}, Method: "cmp_secret", SourceIP: auth.SourceIP(x.r)}
	return nil
}

// authenticateSignature checks a signature by the first extraCerts
// certificate, which must be an active certificate of a Signet CA in the
// profile's organization. The request then acts as the certificate's owner.
func (s *Service) authenticateSignature(ctx context.Context, x *exchange) error {
	if len(x.req.msg.ExtraCerts) == 0 {
		return fail(failBadMessageCheck, "a signature-protected message carries its certificate first in extraCerts")
	}
	cert, err := x509.ParseCertificate(x.req.msg.ExtraCerts[0].FullBytes)
	if err != nil {
		return fail(failBadMessageCheck, "the protection certificate does not parse")
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: s.cas.CertPool(), CurrentTime: s.now(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return fail(failSignerNotTrusted, "the protection certificate was not issued by this server's CAs")
	}
	if kid := x.req.header.SenderKID; len(kid) > 0 && len(cert.SubjectKeyId) > 0 && !bytes.Equal(kid, cert.SubjectKeyId) {
		return fail(failBadMessageCheck, "senderKID is not the protection certificate's key identifier")
	}
	if err := verifySignature(x.req, cert); err != nil {
		return fail(failBadMessageCheck, "the message protection does not verify")
	}
	reader := &auth.Principal{ID: "cmp", Name: "CMP server", Kind: "cmp", OrgID: x.prof.Profile.OrgID,
		Roles: []string{auth.RoleAuditor}, Method: "cmp", SourceIP: auth.SourceIP(x.r)}
	rec, err := s.issuance.GetCertificate(auth.WithPrincipal(ctx, reader), certutil.SerialHex(cert.SerialNumber))
	if err != nil || !bytes.Equal(rec.DER, cert.Raw) {
		return fail(failSignerNotTrusted, "the protection certificate is not in this profile's organization")
	}
	if rec.Status != store.CertActive {
		return fail(failCertRevoked, "the protection certificate is %s", rec.Status)
	}
	if rec.Owner == "" {
		return fail(failNotAuthorized, "the protection certificate has no owner to act for")
	}
	x.cert, x.certRecord = cert, rec
	x.principal = &auth.Principal{ID: rec.Owner, Name: "CMP: holder of certificate " + rec.Serial, Kind: "cmp_certificate",
		OrgID: rec.OrgID, Roles: []string{auth.RoleRequester}, Method: "cmp_signature", SourceIP: auth.SourceIP(x.r)}
	return nil
}

// authID names what authenticated a transaction, to tie its later messages to it.
func (x *exchange) authID() string {
	switch {
	case x.secret != nil:
		return "secret:" + x.secret.obj.ID
	case x.cert != nil:
		return "cert:" + x.certRecord.Serial
	}
	return ""
}

func (x *exchange) ctx(ctx context.Context) context.Context {
	return auth.WithPrincipal(ctx, x.principal)
}
