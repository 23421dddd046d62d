package acme

import (
	"bytes"
	"context"
	"crypto/x509"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/ca"
	"github.com/signet-pki/signet/internal/certutil"
	"github.com/signet-pki/signet/internal/issuance"
	"github.com/signet-pki/signet/internal/store"
)

// getCertificate serves a certificate with its chain (RFC 8555 section
// 7.4.2) to an account that may download it; /cert/{serial}/{n} serves it
// with the n-th alternate chain, linked from the default one.
func (s *Service) getCertificate(w http.ResponseWriter, r *http.Request, d *directory) error {
	ctx := r.Context()
	serial, alt := r.PathValue("serial"), r.PathValue("alt")
	want := d.url("cert", serial)
	if alt != "" {
		want = d.url("cert", serial, alt)
	}
	req, err := s.authenticate(ctx, r, d, want, useKID)
	if err != nil {
		return err
	}
	if !req.postAsGet() {
		return malformed("a certificate is read with POST-as-GET")
	}
	dl, err := s.issuance.Download(s.as(ctx, req.acct, r), serial, issuance.FormatChain)
	if err != nil {
		return toACME(err, errMalformed)
	}
	certs, err := certutil.ParseCertificates(dl.Body)
	if err != nil || len(certs) == 0 {
		return internal(err, "reading the certificate chain")
	}
	alternates := s.alternateChains(d, certs)
	body := dl.Body
	if alt != "" {
		n, err := strconv.Atoi(alt)
		if err != nil || n < 1 || n > len(alternates) {
			return newError(errMalformed, http.StatusNotFound, "certificate %s has no alternate chain %q", serial, alt)
		}
		ders := [][]byte{certs[0].Raw}
		for _, c := range alternates[n-1] {
			ders = append(ders, c.Raw)
		}
		body = certutil.EncodeCertsPEM(ders...)
		w.Header().Add("Link", link(d.url("cert", serial), "alternate"))
	}
	for i := range alternates {
		if strconv.Itoa(i+1) != alt {
			w.Header().Add("Link", link(d.url("cert", serial, strconv.Itoa(i+1)), "alternate"))
		}
	}
	w.Header().Set("Content-Type", "application/pem-certificate-chain")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(body)
	return err
}

// alternateChains finds the other chains of a leaf: CA certificates of the
// directory's organization with the issuer's name and key but other bytes
// (a cross-signed or re-issued issuing CA), each with its own chain. They
// are ordered by CA id so their numbers stay stable.
func (s *Service) alternateChains(d *directory, chain []*x509.Certificate) [][]*x509.Certificate {
	if len(chain) < 2 || s.cas == nil {
		return nil
	}
	leaf, issuer := chain[0], chain[1]
	all := s.cas.All()
	slices.SortFunc(all, func(a, b *ca.Issuer) int { return strings.Compare(a.CA.ID, b.CA.ID) })
	var out [][]*x509.Certificate
	for _, iss := range all {
		c := iss.Cert
		if iss.CA.OrgID != d.prof.Profile.OrgID || bytes.Equal(c.Raw, issuer.Raw) ||
			!bytes.Equal(c.RawSubject, leaf.RawIssuer) || !bytes.Equal(c.RawSubjectPublicKeyInfo, issuer.RawSubjectPublicKeyInfo) {
			continue
		}
		if leaf.CheckSignatureFrom(c) != nil {
			continue
		}
		out = append(out, iss.Chain)
	}
	return out
}

type revokeRequest struct {
	Certificate string `json:"certificate"` // base64url DER
	Reason      *int   `json:"reason"`
}

// revocationReasons are the RFC 5280 reasons a subscriber may give
// (caCompromise, aACompromise and the hold codes are the CA's business).
var revocationReasons = []int{0, 1, 3, 4, 5, 9}

// revokeCert revokes a certificate (RFC 8555 section 7.6) for the account
// that owns it (itself or its EAB team), or for whoever signs the request
// with the certificate's own key.
func (s *Service) revokeCert(w http.ResponseWriter, r *http.Request, d *directory) error {
	ctx := r.Context()
	req, err := s.authenticate(ctx, r, d, d.url("revoke-cert"), useKIDJWK)
	if err != nil {
		return err
	}
	var in revokeRequest
	if err := decodePayload(req.payload, &in); err != nil {
		return err
	}
	der, err := b64.DecodeString(in.Certificate)
	if err != nil {
		return malformed("certificate must be base64url DER")
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return malformed("the certificate does not parse: %v", err)
	}
	reason := 0
	if in.Reason != nil {
		reason = *in.Reason
	}
	if !slices.Contains(revocationReasons, reason) {
		return newError(errBadRevocationReason, http.StatusBadRequest, "reason %d is not accepted (use one of %v)", reason, revocationReasons)
	}
	var actor *auth.Principal
	if req.acct != nil {
		actor = s.principal(req.acct, r)
	} else {
		thumb, _ := thumbprint(req.jwk)
		actor = &auth.Principal{ID: "acme_certkey_" + thumb, Name: "holder of the certificate's key", Kind: "acme_certificate_key",
			OrgID: d.prof.Profile.OrgID, Roles: []string{auth.RoleRequester}, Method: "acme", SourceIP: auth.SourceIP(r)}
	}
	rec, err := s.issuance.GetCertificate(auth.WithPrincipal(ctx, actor), certutil.SerialHex(cert.SerialNumber))
	if err != nil || !bytes.Equal(rec.DER, der) {
		return unauthorized("the certificate was not issued by this server's CAs for this directory's organization")
	}
	if req.acct == nil {
		if err := certKeyMayRevoke(req.jwk.Key, cert, rec); err != nil {
			return err
		}
		// Holding the certificate's key is the proof RFC 8555 accepts: the
		// holder acts as a member of whoever owns the certificate, for this
		// one revocation.
		actor.TeamIDs = []string{rec.Owner}
	}
	if _, err := s.issuance.Revoke(auth.WithPrincipal(ctx, actor), rec.Serial, reason, nil); err != nil {
		return toACME(err, errMalformed)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// certKeyMayRevoke checks that the request was signed with the
// certificate's key and that the certificate has an owner to act for.
func certKeyMayRevoke(key any, cert *x509.Certificate, rec *store.Certificate) error {
	signer, err := x509.MarshalPKIXPublicKey(key)
	if err != nil || !bytes.Equal(signer, cert.RawSubjectPublicKeyInfo) {
		return unauthorized("the request is signed neither by an account nor by the certificate's key")
	}
	if rec.Owner == "" {
		return unauthorized("certificate %s has no owner; revoke it through the API", rec.Serial)
	}
	return nil
}

// replacedCertificate resolves an order's "replaces" (RFC 9773 section 5):
// a certificate of this directory's organization that the account may act on.
func (s *Service) replacedCertificate(ctx context.Context, certID string) (*store.Certificate, error) {
	aki, serial, err := parseCertID(certID)
	if err != nil {
		return nil, err
	}
	rec, err := s.issuance.GetCertificate(ctx, serial)
	if err != nil {
		return nil, malformed("replaces names no certificate of this server")
	}
	cert, err := x509.ParseCertificate(rec.DER)
	if err != nil || !bytes.Equal(cert.AuthorityKeyId, aki) {
		return nil, malformed("replaces names no certificate of this server")
	}
	if p := auth.PrincipalFrom(ctx); !p.OwnsCertificate(rec.OrgID, rec.Owner) {
		return nil, unauthorized("certificate %s belongs to another account", rec.Serial)
	}
	return rec, nil
}
