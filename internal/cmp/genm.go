package cmp

import (
	"bytes"
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/policy"
)

// General messages (RFC 9483 section 4.3, types from RFC 9480 section 2):
// one InfoTypeAndValue asked, one answered.
var (
	oidRootCaKeyUpdate = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 4, 18}
	oidCertReqTemplate = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 4, 19}
	oidRootCaCert      = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 4, 20}
	oidCRLStatusList   = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 4, 22}
	oidCRLs            = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 4, 23}

	// The key controls of a certificate request template (RFC 9480 section 2.16).
	oidRegCtrlAlgID     = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 5, 1, 11}
	oidRegCtrlRSAKeyLen = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 5, 1, 12}

	oidECPublicKey = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidEd25519     = asn1.ObjectIdentifier{1, 3, 101, 112}
	oidCurves      = map[int]asn1.ObjectIdentifier{256: {1, 2, 840, 10045, 3, 1, 7}, 384: {1, 3, 132, 0, 34}, 521: {1, 3, 132, 0, 35}}

	oidExtKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 37}
	ekuOIDs        = map[x509.ExtKeyUsage]asn1.ObjectIdentifier{
		x509.ExtKeyUsageServerAuth: {1, 3, 6, 1, 5, 5, 7, 3, 1}, x509.ExtKeyUsageClientAuth: {1, 3, 6, 1, 5, 5, 7, 3, 2},
		x509.ExtKeyUsageCodeSigning: {1, 3, 6, 1, 5, 5, 7, 3, 3}, x509.ExtKeyUsageEmailProtection: {1, 3, 6, 1, 5, 5, 7, 3, 4},
		x509.ExtKeyUsageTimeStamping: {1, 3, 6, 1, 5, 5, 7, 3, 8}, x509.ExtKeyUsageOCSPSigning: {1, 3, 6, 1, 5, 5, 7, 3, 9}}

	// The subject attributes a template's rules name (policy.SubjectFields).
	subjectOIDs = map[string]asn1.ObjectIdentifier{"common_name": {2, 5, 4, 3}, "serial_number": {2, 5, 4, 5},
		"country": {2, 5, 4, 6}, "locality": {2, 5, 4, 7}, "province": {2, 5, 4, 8}, "street_address": {2, 5, 4, 9},
		"organization": {2, 5, 4, 10}, "organizational_unit": {2, 5, 4, 11}, "postal_code": {2, 5, 4, 17}}
)

// genm answers a general message. RFC 9483 section 4.3 has a genm carry
// exactly one InfoTypeAndValue; an empty one (what `openssl cmp -cmd genm`
// sends without -infotype) is taken as asking for the CA certificates. A
// type this server does not answer is refused with badRequest: the genp
// of section 4.3 holds exactly one InfoTypeAndValue of the asked
// operation, which an unknown type has none of.
func (s *Service) genm(ctx context.Context, x *exchange) (*response, error) {
	var itavs []infoTypeAndValue
	if rest, err := asn1.Unmarshal(x.req.content, &itavs); err != nil || len(rest) != 0 {
		return nil, fail(failBadDataFormat, "GenMsgContent: %v", err)
	}
	if len(itavs) == 0 {
		itavs = []infoTypeAndValue{{Type: oidCACerts}}
	}
	if len(itavs) != 1 {
		return nil, fail(failBadRequest, "a genm asks for exactly one InfoTypeAndValue (RFC 9483 section 4.3), got %d", len(itavs))
	}
	it := itavs[0]
	absent := len(it.Value.FullBytes) == 0
	var out infoTypeAndValue
	var err error
	switch {
	case it.Type.Equal(oidCACerts):
		if !absent {
			return nil, fail(failBadRequest, "a caCerts request carries no infoValue (RFC 9483 section 4.3.1)")
		}
		out, err = caCertsValue(x)
	case it.Type.Equal(oidRootCaCert):
		out, err = s.rootCaKeyUpdate(x, it.Value.FullBytes)
	case it.Type.Equal(oidCertReqTemplate):
		if !absent {
			return nil, fail(failBadRequest, "a certReqTemplate request carries no infoValue (RFC 9483 section 4.3.3)")
		}
		out, err = certReqTemplate(&x.prof.Template.Parsed)
	case it.Type.Equal(oidCRLStatusList):
		out, err = s.crlUpdate(ctx, x, it.Value.FullBytes)
	default:
		return nil, fail(failBadRequest, "general message type %v is not supported (caCerts, rootCaCert, certReqTemplate and crlStatusList are)", it.Type)
	}
	if err != nil {
		return nil, err
	}
	return s.newResponse(x, bodyGenP, mustMarshal([]infoTypeAndValue{out})), nil
}

// caCertsValue is the issuing CA's chain (RFC 9483 section 4.3.1).
func caCertsValue(x *exchange) (infoTypeAndValue, error) {
	certs := make([]asn1.RawValue, 0, len(x.issuer.Chain))
	for _, c := range x.issuer.Chain {
		certs = append(certs, asn1.RawValue{FullBytes: c.Raw})
	}
	v, err := asn1.Marshal(certs)
	if err != nil {
		return infoTypeAndValue{}, fmt.Errorf("caCerts: %w", err)
	}
	return infoTypeAndValue{Type: oidCACerts, Value: asn1.RawValue{FullBytes: v}}, nil
}

// rootCaKeyUpdateContent is RootCaKeyUpdateContent (RFC 9480 section 2.15).
// The tags are written by hand: encoding/asn1 writes a RawValue's
// FullBytes as they are, without a field's explicit tag.
type rootCaKeyUpdateContent struct {
	NewWithNew asn1.RawValue
	NewWithOld asn1.RawValue `asn1:"optional"` // [0] EXPLICIT
	OldWithNew asn1.RawValue `asn1:"optional"` // [1] EXPLICIT
}

// rootCaKeyUpdate answers id-it-rootCaCert (RFC 9483 section 4.3.2) with
// id-it-rootCaKeyUpdate. The root is the end of the profile's issuing
// chain. A client that names that root already has it: the value is
// absent (no update). A client naming another root gets the current one
// as newWithNew, with the link certificates Signet holds between the two
// (newWithOld: the new root's key certified by the old root; oldWithNew:
// the reverse), which are how it can trust the new root with the old one.
// A client naming no root gets the current root alone.
func (s *Service) rootCaKeyUpdate(x *exchange, clientRoot []byte) (infoTypeAndValue, error) {
	out := infoTypeAndValue{Type: oidRootCaKeyUpdate}
	chain := x.issuer.Chain
	if len(chain) == 0 {
		return out, nil
	}
	root := chain[len(chain)-1]
	var old *x509.Certificate
	if len(clientRoot) > 0 {
		var err error
		if old, err = x509.ParseCertificate(clientRoot); err != nil {
			return out, fail(failBadDataFormat, "the rootCaCert value is not a certificate: %v", err)
		}
		if bytes.Equal(old.Raw, root.Raw) {
			return out, nil
		}
	}
	v := rootCaKeyUpdateContent{NewWithNew: asn1.RawValue{FullBytes: root.Raw}}
	if old != nil {
		links := s.caCerts()
		if l := links.find(root, old); l != nil {
			v.NewWithOld = explicit(0, l.Raw)
		}
		if l := links.find(old, root); l != nil {
			v.OldWithNew = explicit(1, l.Raw)
		}
	}
	out.Value = asn1.RawValue{FullBytes: mustMarshal(v)}
	return out, nil
}

// linkCerts are the CA certificates Signet knows, to find link
// certificates between two roots among.
type linkCerts []*x509.Certificate

// caCerts lists every CA certificate this node has loaded; a link
// certificate is imported as a CA like any other.
func (s *Service) caCerts() linkCerts {
	all := s.cas.All()
	out := make(linkCerts, 0, len(all))
	for _, iss := range all {
		out = append(out, iss.Cert)
	}
	return out
}

// find is a certificate with subject's name and key, issued and signed
// by issuer (and so not subject itself).
func (l linkCerts) find(subject, issuer *x509.Certificate) *x509.Certificate {
	for _, c := range l {
		if bytes.Equal(c.Raw, subject.Raw) || !bytes.Equal(c.RawSubject, subject.RawSubject) ||
			!bytes.Equal(c.RawSubjectPublicKeyInfo, subject.RawSubjectPublicKeyInfo) ||
			!bytes.Equal(c.RawIssuer, issuer.RawSubject) || c.CheckSignatureFrom(issuer) != nil {
			continue
		}
		return c
	}
	return nil
}

// certReqTemplateContent is CertReqTemplateContent (RFC 9480 section 2.16).
type certReqTemplateContent struct {
	CertTemplate asn1.RawValue
	KeySpec      []attributeTypeAndValue `asn1:"optional"`
}

type attributeTypeAndValue struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

// certReqTemplate derives the CertTemplate of RFC 9483 section 4.3.3 from
// the profile's template: the subject attributes a request must carry
// (required ones with an empty value for the client to fill in, fixed ones
// with their value), an empty subjectAltName extension when names are
// required, the extended key usages the certificate will have, and the
// allowed key types as keySpec controls (id-regCtrl-algId for EC and
// Ed25519 keys, id-regCtrl-rsaKeyLen for RSA). publicKey, serialNumber,
// signingAlg and the unique identifiers stay absent, as the section says.
func certReqTemplate(t *policy.Template) (infoTypeAndValue, error) {
	var fields []byte
	var rdns pkix.RDNSequence
	for _, r := range t.Subject {
		oid, ok := subjectOIDs[r.Field]
		if !ok || !r.Required && r.FixedValue == "" {
			continue
		}
		rdns = append(rdns, pkix.RelativeDistinguishedNameSET{{Type: oid, Value: r.FixedValue}})
	}
	if len(rdns) > 0 {
		name, err := asn1.Marshal(rdns)
		if err != nil {
			return infoTypeAndValue{}, fmt.Errorf("certReqTemplate subject: %w", err)
		}
		fields = append(fields, mustMarshal(explicit(5, name))...) // subject [5] Name (explicit: a CHOICE)
	}
	var exts []byte
	if t.SANs.Required {
		// An empty extnValue asks the client to fill the extension in.
		exts = append(exts, mustMarshal(pkix.Extension{Id: oidSubjectAltName, Value: []byte{}})...)
	}
	var ekus []asn1.ObjectIdentifier
	for _, u := range t.ExtendedKeyUsages() {
		if oid, ok := ekuOIDs[u]; ok {
			ekus = append(ekus, oid)
		}
	}
	if len(ekus) > 0 {
		exts = append(exts, mustMarshal(pkix.Extension{Id: oidExtKeyUsage, Value: mustMarshal(ekus)})...)
	}
	if len(exts) > 0 {
		// extensions [9] IMPLICIT SEQUENCE OF Extension
		fields = append(fields, mustMarshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 9, IsCompound: true, Bytes: exts})...)
	}
	v := certReqTemplateContent{CertTemplate: asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: fields}}
	for _, k := range t.KeyTypes {
		switch k.Algorithm {
		case "rsa":
			v.KeySpec = append(v.KeySpec, attributeTypeAndValue{Type: oidRegCtrlRSAKeyLen,
				Value: asn1.RawValue{FullBytes: mustMarshal(max(k.MinBits, 2048))}})
		case "ecdsa":
			for _, bits := range []int{256, 384, 521} {
				if bits < k.MinBits {
					continue
				}
				alg := pkix.AlgorithmIdentifier{Algorithm: oidECPublicKey, Parameters: asn1.RawValue{FullBytes: mustMarshal(oidCurves[bits])}}
				v.KeySpec = append(v.KeySpec, attributeTypeAndValue{Type: oidRegCtrlAlgID, Value: asn1.RawValue{FullBytes: mustMarshal(alg)}})
			}
		case "ed25519":
			alg := pkix.AlgorithmIdentifier{Algorithm: oidEd25519}
			v.KeySpec = append(v.KeySpec, attributeTypeAndValue{Type: oidRegCtrlAlgID, Value: asn1.RawValue{FullBytes: mustMarshal(alg)}})
		}
	}
	b, err := asn1.Marshal(v)
	if err != nil {
		return infoTypeAndValue{}, fmt.Errorf("certReqTemplate: %w", err)
	}
	return infoTypeAndValue{Type: oidCertReqTemplate, Value: asn1.RawValue{FullBytes: b}}, nil
}

// crlStatus is CRLStatus (RFC 9480 section 2.17): which CRL, and the
// thisUpdate of the one the client has.
type crlStatus struct {
	Source     asn1.RawValue // CRLSource: dpn [0] or issuer [1]
	ThisUpdate time.Time     `asn1:"optional"`
}

// maxCRLStatuses bounds the work one genm can ask for.
const maxCRLStatuses = 16

// crlUpdate answers id-it-crlStatusList (RFC 9483 section 4.3.4) with
// id-it-crls: the issuing CA's newest full CRL, for the statuses that name
// this CA (by its name or its CRL distribution point) and hold no CRL at
// least as new. The value is absent when the client's CRL is current.
func (s *Service) crlUpdate(ctx context.Context, x *exchange, value []byte) (infoTypeAndValue, error) {
	out := infoTypeAndValue{Type: oidCRLs}
	var statuses []crlStatus
	if rest, err := asn1.Unmarshal(value, &statuses); err != nil || len(rest) != 0 || len(statuses) == 0 || len(statuses) > maxCRLStatuses {
		return out, fail(failBadRequest, "the crlStatusList value is 1 to %d CRLStatus", maxCRLStatuses)
	}
	var since *time.Time
	for i := range statuses {
		st := &statuses[i]
		if !namesCA(st.Source, x) {
			continue
		}
		if since == nil || st.ThisUpdate.Before(*since) {
			since = &st.ThisUpdate
		}
	}
	if since == nil {
		return out, fail(failBadRequest, "no CRLStatus names this profile's CA (%s) by its name or CRL distribution point", x.issuer.Cert.Subject)
	}
	if s.crls == nil {
		return out, fail(failSystemUnavail, "CRLs are not served here")
	}
	crl, err := s.crls.CRL(ctx, x.issuer.CA.ID, false)
	if err != nil {
		return out, err
	}
	// A CRL's times have whole seconds; the stored one may have more.
	if !crl.ThisUpdate.Truncate(time.Second).After(*since) {
		return out, nil // the client's CRL is the newest
	}
	out.Value = asn1.RawValue{FullBytes: mustMarshal([]asn1.RawValue{{FullBytes: crl.DER}})}
	return out, nil
}

// namesCA reports whether a CRLSource names the issuing CA: issuer [1]
// with its directoryName, or dpn [0] whose fullName holds its name or its
// CRL URL (the CA's configured one, or the /crl/{id}.crl that Signet
// puts in the certificates it issues).
func namesCA(src asn1.RawValue, x *exchange) bool {
	if src.Class != asn1.ClassContextSpecific {
		return false
	}
	var names asn1.RawValue
	switch src.Tag {
	case 1: // issuer [1] GeneralNames
		if rest, err := asn1.Unmarshal(src.Bytes, &names); err != nil || len(rest) != 0 {
			return false
		}
	case 0: // dpn [0] DistributionPointName: fullName [0] IMPLICIT GeneralNames
		var dpn asn1.RawValue
		if rest, err := asn1.Unmarshal(src.Bytes, &dpn); err != nil || len(rest) != 0 || dpn.Class != asn1.ClassContextSpecific || dpn.Tag != 0 {
			return false
		}
		names = dpn
	default:
		return false
	}
	for rest := names.Bytes; len(rest) > 0; {
		var n asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &n); err != nil {
			return false
		}
		switch {
		case n.Class != asn1.ClassContextSpecific:
		case n.Tag == 4 && bytes.Equal(n.Bytes, x.issuer.Cert.RawSubject):
			return true
		case n.Tag == 6 && x.issuer.CA.CRLURL != "" && string(n.Bytes) == x.issuer.CA.CRLURL:
			return true
		case n.Tag == 6 && isOwnCRLURL(string(n.Bytes), x.issuer.CA.ID):
			return true
		}
	}
	return false
}

// isOwnCRLURL reports whether a distribution point URL is this server's
// CRL of CA id, under whatever host name the client reached it by.
func isOwnCRLURL(raw, caID string) bool {
	u, err := url.Parse(raw)
	return err == nil && strings.HasSuffix(u.Path, "/crl/"+caID+".crl")
}
