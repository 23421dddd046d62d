package cmp

import (
	"bytes"
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"

	"github.com/signet-pki/signet/internal/certutil"
	"github.com/signet-pki/signet/internal/problem"
)

var oidReasonCode = asn1.ObjectIdentifier{2, 5, 29, 21}

// revocation answers rr (RFC 9483 section 4.2): one certificate, named by
// issuer and serial, revoked for its owner. The request is signed by the
// certificate itself or another certificate of the same owner.
func (s *Service) revocation(ctx context.Context, x *exchange) (*response, error) {
	if !x.authenticated() {
		return nil, fail(failBadMessageCheck, "the message is not protected")
	}
	var details []revDetails
	if rest, err := asn1.Unmarshal(x.req.content, &details); err != nil || len(rest) != 0 || len(details) != 1 {
		return nil, fail(failBadDataFormat, "rr revokes exactly one certificate")
	}
	t, err := parseCertTemplate(details[0].CertDetails.FullBytes)
	if err != nil {
		return nil, fail(failBadDataFormat, "%v", err)
	}
	if t.Serial == nil || t.Issuer == nil {
		return nil, fail(failBadCertID, "certDetails names the certificate by issuer and serialNumber")
	}
	reason, err := revocationReason(details[0].CRLEntryDetails)
	if err != nil {
		return nil, fail(failBadRequest, "%v", err)
	}
	rec, err := s.issuance.GetCertificate(s.readerCtx(ctx, x), certutil.SerialHex(t.Serial))
	if err != nil {
		return nil, fail(failBadCertID, "no certificate %x from this profile's organization", t.Serial)
	}
	cert, err := x509.ParseCertificate(rec.DER)
	if err != nil || !bytes.Equal(cert.RawIssuer, t.Issuer) {
		return nil, fail(failBadCertID, "no certificate %x from that issuer", t.Serial)
	}
	if _, err := s.issuance.Revoke(x.ctx(ctx), rec.Serial, reason, nil); err != nil {
		if problem.Is(err, "certificate_already_revoked") {
			return nil, fail(failCertRevoked, "certificate %s is already revoked", rec.Serial)
		}
		return nil, refusal(err)
	}
	content := mustMarshal(revRepContent{Status: []pkiStatusInfo{statusInfo(statusAccepted, "", -1)}})
	return s.newResponse(x, bodyRP, content), nil
}

// revocationReason reads the reasonCode CRL entry extension (default
// unspecified). removeFromCRL (8) is not a revocation.
func revocationReason(exts []pkix.Extension) (int, error) {
	for _, e := range exts {
		if !e.Id.Equal(oidReasonCode) {
			continue
		}
		var r asn1.Enumerated
		if rest, err := asn1.Unmarshal(e.Value, &r); err != nil || len(rest) != 0 {
			return 0, fmt.Errorf("the reasonCode does not parse")
		}
		switch r {
		case 0, 1, 2, 3, 4, 5, 9, 10:
			return int(r), nil
		}
		return 0, fmt.Errorf("reason %d is not accepted over CMP (certificate hold and removeFromCRL go through the API)", r)
	}
	return 0, nil
}
