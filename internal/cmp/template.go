package cmp

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
)

// CRMF (RFC 4211): the certificate request messages of ir, cr and kur. The
// CRMF module uses IMPLICIT tags, except where the tagged type is a CHOICE
// (Name, Time), which makes the tag explicit.

type certReqMsg struct {
	CertReq asn1.RawValue // kept raw: the proof of possession signs its DER
	POPO    asn1.RawValue `asn1:"optional"`
	RegInfo asn1.RawValue `asn1:"optional"`
}

type certRequest struct {
	CertReqID    int64
	CertTemplate asn1.RawValue
	Controls     asn1.RawValue `asn1:"optional"`
}

type popoSigningKey struct {
	Input     asn1.RawValue `asn1:"optional,tag:0"`
	Algorithm pkix.AlgorithmIdentifier
	Signature asn1.BitString
}

// certTemplate is the part of a CertTemplate Signet uses.
type certTemplate struct {
	Subject     pkix.Name
	HasSubject  bool
	PublicKey   []byte // DER SubjectPublicKeyInfo; nil if absent
	DNSNames    []string
	IPs         []net.IP
	Emails      []string
	URIs        []*url.URL
	Issuer      []byte   // DER Name, when given (rr)
	Serial      *big.Int // when given (rr)
	Extensions  []pkix.Extension
	parsedKey   crypto.PublicKey
	certRequest certRequest
}

var oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}

// parseCertReqMessages decodes ir/cr/kur content. Lightweight CMP (RFC 9483
// section 4.1.1) sends exactly one request.
func parseCertReqMessages(content []byte) (*certReqMsg, *certTemplate, error) {
	var msgs []certReqMsg
	if rest, err := asn1.Unmarshal(content, &msgs); err != nil || len(rest) != 0 {
		return nil, nil, fmt.Errorf("CertReqMessages: %v", err)
	}
	if len(msgs) != 1 {
		return nil, nil, fmt.Errorf("exactly one certificate request is supported, got %d", len(msgs))
	}
	m := &msgs[0]
	var cr certRequest
	if rest, err := asn1.Unmarshal(m.CertReq.FullBytes, &cr); err != nil || len(rest) != 0 {
		return nil, nil, fmt.Errorf("CertRequest: %v", err)
	}
	t, err := parseCertTemplate(cr.CertTemplate.FullBytes)
	if err != nil {
		return nil, nil, err
	}
	t.certRequest = cr
	return m, t, nil
}

// parseCertTemplate walks a CertTemplate's optional, tagged fields.
func parseCertTemplate(der []byte) (*certTemplate, error) {
	var seq asn1.RawValue
	if rest, err := asn1.Unmarshal(der, &seq); err != nil || len(rest) != 0 || seq.Tag != asn1.TagSequence {
		return nil, fmt.Errorf("CertTemplate is not a SEQUENCE: %v", err)
	}
	t := &certTemplate{}
	for rest := seq.Bytes; len(rest) > 0; {
		var f asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &f); err != nil {
			return nil, fmt.Errorf("CertTemplate: %v", err)
		}
		if f.Class != asn1.ClassContextSpecific {
			return nil, errors.New("CertTemplate: untagged field")
		}
		if err := t.field(f); err != nil {
			return nil, fmt.Errorf("CertTemplate: %w", err)
		}
	}
	return t, nil
}

func (t *certTemplate) field(f asn1.RawValue) error {
	switch f.Tag {
	case 1: // serialNumber INTEGER (implicit)
		t.Serial = new(big.Int).SetBytes(f.Bytes)
		if len(f.Bytes) == 0 || f.Bytes[0]&0x80 != 0 {
			return errors.New("serialNumber is not a positive INTEGER")
		}
	case 3: // issuer Name (explicit: Name is a CHOICE)
		t.Issuer = f.Bytes
	case 5: // subject Name
		var rdn pkix.RDNSequence
		if rest, err := asn1.Unmarshal(f.Bytes, &rdn); err != nil || len(rest) != 0 {
			return fmt.Errorf("subject: %v", err)
		}
		t.Subject.FillFromRDNSequence(&rdn)
		t.HasSubject = len(rdn) > 0
	case 6: // publicKey SubjectPublicKeyInfo (implicit)
		spki := mustMarshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: f.Bytes})
		pub, err := x509.ParsePKIXPublicKey(spki)
		if err != nil {
			return fmt.Errorf("publicKey: %v", err)
		}
		t.PublicKey, t.parsedKey = spki, pub
	case 9: // extensions (implicit SEQUENCE OF Extension)
		seq := mustMarshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: f.Bytes})
		if rest, err := asn1.Unmarshal(seq, &t.Extensions); err != nil || len(rest) != 0 {
			return fmt.Errorf("extensions: %v", err)
		}
		for _, e := range t.Extensions {
			if e.Id.Equal(oidSubjectAltName) {
				if err := t.parseSANs(e.Value); err != nil {
					return err
				}
			}
		}
	}
	// version, signingAlg, validity, issuerUID and subjectUID are the CA's
	// to decide: the profile sets them.
	return nil
}

// parseSANs reads the GeneralNames of a subjectAltName extension.
func (t *certTemplate) parseSANs(der []byte) error {
	var seq asn1.RawValue
	if rest, err := asn1.Unmarshal(der, &seq); err != nil || len(rest) != 0 || seq.Tag != asn1.TagSequence {
		return fmt.Errorf("subjectAltName: %v", err)
	}
	for rest := seq.Bytes; len(rest) > 0; {
		var n asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &n); err != nil {
			return fmt.Errorf("subjectAltName: %v", err)
		}
		switch n.Tag {
		case 1:
			t.Emails = append(t.Emails, string(n.Bytes))
		case 2:
			t.DNSNames = append(t.DNSNames, string(n.Bytes))
		case 6:
			u, err := url.Parse(string(n.Bytes))
			if err != nil {
				return fmt.Errorf("subjectAltName URI %q: %v", n.Bytes, err)
			}
			t.URIs = append(t.URIs, u)
		case 7:
			if len(n.Bytes) != 4 && len(n.Bytes) != 16 {
				return errors.New("subjectAltName: bad IP address length")
			}
			t.IPs = append(t.IPs, net.IP(n.Bytes))
		default:
			return fmt.Errorf("subjectAltName: name type [%d] is not supported", n.Tag)
		}
	}
	return nil
}

// sans lists the template's alternative names in issuance's string form.
func (t *certTemplate) sans() []string {
	var out []string
	out = append(out, t.DNSNames...)
	for _, ip := range t.IPs {
		out = append(out, ip.String())
	}
	out = append(out, t.Emails...)
	for _, u := range t.URIs {
		out = append(out, u.String())
	}
	return out
}

// verifyPOP checks the proof of possession: a signature by the template's
// key over the DER of CertRequest (RFC 4211 section 4.1, poposkInput absent
// because the template carries subject and key).
func verifyPOP(m *certReqMsg, t *certTemplate) error {
	if t.parsedKey == nil {
		return errors.New("the certificate template has no public key")
	}
	if m.POPO.Class != asn1.ClassContextSpecific || m.POPO.Tag != 1 {
		return errors.New("only signature proof of possession is accepted")
	}
	var pop popoSigningKey
	seq := mustMarshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: m.POPO.Bytes})
	if rest, err := asn1.Unmarshal(seq, &pop); err != nil || len(rest) != 0 {
		return fmt.Errorf("POPOSigningKey: %v", err)
	}
	if len(pop.Input.FullBytes) != 0 {
		return errors.New("poposkInput is not supported (the template carries subject and key)")
	}
	alg, ok := signatureAlgorithm(pop.Algorithm)
	if !ok {
		return fmt.Errorf("proof-of-possession algorithm %v is not supported", pop.Algorithm.Algorithm)
	}
	c := &x509.Certificate{PublicKey: t.parsedKey}
	if err := c.CheckSignature(alg, m.CertReq.FullBytes, pop.Signature.RightAlign()); err != nil {
		return fmt.Errorf("the proof-of-possession signature does not verify: %v", err)
	}
	return nil
}

// signatureAlgorithms maps the signature OIDs CMP clients use.
var signatureAlgorithms = []struct {
	oid asn1.ObjectIdentifier
	alg x509.SignatureAlgorithm
}{
	{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}, x509.SHA256WithRSA},
	{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}, x509.SHA384WithRSA},
	{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}, x509.SHA512WithRSA},
	{asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}, x509.ECDSAWithSHA256},
	{asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}, x509.ECDSAWithSHA384},
	{asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}, x509.ECDSAWithSHA512},
	{asn1.ObjectIdentifier{1, 3, 101, 112}, x509.PureEd25519},
}

func signatureAlgorithm(a pkix.AlgorithmIdentifier) (x509.SignatureAlgorithm, bool) {
	for _, s := range signatureAlgorithms {
		if s.oid.Equal(a.Algorithm) {
			return s.alg, true
		}
	}
	return x509.UnknownSignatureAlgorithm, false
}

func signatureOID(alg x509.SignatureAlgorithm) (asn1.ObjectIdentifier, bool) {
	for _, s := range signatureAlgorithms {
		if s.alg == alg {
			return s.oid, true
		}
	}
	return nil, false
}
