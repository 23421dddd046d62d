package cmp

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"hash"
)

// response is an answer being built; protect turns it into DER.
type response struct {
	header     pkiHeader
	body       []byte // the PKIBody element
	extraCerts [][]byte
}

// pkiMessageOut is PKIMessage for marshalling.
type pkiMessageOut struct {
	Header     asn1.RawValue
	Body       asn1.RawValue
	Protection asn1.BitString  `asn1:"optional,explicit,tag:0"`
	ExtraCerts []asn1.RawValue `asn1:"optional,explicit,tag:1"`
}

// nullDN is the empty Name, the sender of answers that know no CA.
var nullDN = []byte{0x30, 0x00}

// newResponse starts an answer to x's request: same transaction, the
// client's nonce echoed, a fresh nonce of ours.
func (s *Service) newResponse(x *exchange, bodyType int, content []byte) *response {
	h := x.req.header
	pvno := h.PVNO
	if pvno != 3 {
		pvno = 2
	}
	senderName := nullDN
	if x.issuer != nil {
		senderName = x.issuer.Cert.RawSubject
	}
	recipient := directoryName(nullDN)
	if len(h.Sender.FullBytes) != 0 {
		recipient = asn1.RawValue{FullBytes: h.Sender.FullBytes}
	}
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	return &response{
		header: pkiHeader{PVNO: pvno, Sender: directoryName(senderName), Recipient: recipient, MessageTime: s.now().UTC().Truncate(1e9),
			TransactionID: h.TransactionID, SenderNonce: nonce, RecipNonce: h.SenderNonce},
		body: marshalBody(bodyType, content),
	}
}

// marshal encodes the answer without protection.
func (r *response) marshal() []byte {
	return mustMarshal(r.message(nil))
}

func (r *response) message(protection []byte) pkiMessageOut {
	m := pkiMessageOut{Header: asn1.RawValue{FullBytes: mustMarshal(r.header)}, Body: asn1.RawValue{FullBytes: r.body}}
	if protection != nil {
		m.Protection = asn1.BitString{Bytes: protection, BitLength: 8 * len(protection)}
	}
	if len(r.extraCerts) > 0 {
		m.ExtraCerts = rawCerts(r.extraCerts...)
	}
	return m
}

// protect protects an answer the way the request was: a MAC under the same
// shared secret, or the issuing CA's signature (decision 28) for
// signature-protected and unprotected requests.
func (s *Service) protect(x *exchange, r *response) []byte {
	var prot []byte
	var err error
	if x.secret != nil {
		prot, err = s.protectMAC(x, r)
	} else {
		prot, err = s.protectSignature(x, r)
	}
	if err != nil {
		// Nothing the client sent can cause this (the MAC parameters were
		// checked when verifying); answer unprotected rather than not at all.
		s.log.Error("cannot protect a CMP response", "err", err)
		r.header.ProtectionAlg, r.header.SenderKID = pkix.AlgorithmIdentifier{}, nil
		return r.marshal()
	}
	return mustMarshal(r.message(prot))
}

func (s *Service) protectMAC(x *exchange, r *response) ([]byte, error) {
	alg, err := freshMACAlg(x.req.header.ProtectionAlg)
	if err != nil {
		return nil, err
	}
	r.header.ProtectionAlg, r.header.SenderKID = alg, x.req.header.SenderKID
	return computeMAC(alg, x.secretKey, protectedPart(mustMarshal(r.header), r.body))
}

func (s *Service) protectSignature(x *exchange, r *response) ([]byte, error) {
	if x.issuer == nil || x.issuer.Signer == nil {
		return nil, fmt.Errorf("no CA key to sign with")
	}
	alg, h, err := signingAlgorithm(x.issuer.Signer.Public())
	if err != nil {
		return nil, err
	}
	r.header.ProtectionAlg, r.header.SenderKID = alg, x.issuer.Cert.SubjectKeyId
	// The protection certificate first, then its chain (RFC 9483 section 3.3).
	chain := make([][]byte, 0, len(x.issuer.Chain)+len(r.extraCerts))
	for _, c := range x.issuer.Chain {
		chain = append(chain, c.Raw)
	}
	r.extraCerts = dedupe(append(chain, r.extraCerts...))
	data := protectedPart(mustMarshal(r.header), r.body)
	digest := data
	if h != 0 {
		hh := h.New()
		hh.Write(data)
		digest = hh.Sum(nil)
	}
	return x.issuer.Signer.Sign(rand.Reader, digest, h)
}

func dedupe(certs [][]byte) [][]byte {
	var out [][]byte
	seen := map[string]bool{}
	for _, c := range certs {
		if !seen[string(c)] {
			seen[string(c)] = true
			out = append(out, c)
		}
	}
	return out
}

// signingAlgorithm picks the protection algorithm for a CA key.
func signingAlgorithm(pub crypto.PublicKey) (pkix.AlgorithmIdentifier, crypto.Hash, error) {
	var alg x509.SignatureAlgorithm
	h := crypto.SHA256
	switch k := pub.(type) {
	case *rsa.PublicKey:
		alg = x509.SHA256WithRSA
	case *ecdsa.PublicKey:
		alg = x509.ECDSAWithSHA256
		switch k.Curve {
		case elliptic.P384():
			alg, h = x509.ECDSAWithSHA384, crypto.SHA384
		case elliptic.P521():
			alg, h = x509.ECDSAWithSHA512, crypto.SHA512
		}
	case ed25519.PublicKey:
		alg, h = x509.PureEd25519, 0
	default:
		return pkix.AlgorithmIdentifier{}, 0, fmt.Errorf("CA key type %T cannot protect CMP messages", pub)
	}
	oid, _ := signatureOID(alg)
	ai := pkix.AlgorithmIdentifier{Algorithm: oid}
	if alg == x509.SHA256WithRSA {
		ai.Parameters = asn1.NullRawValue // RFC 4055: NULL parameters for PKCS #1 v1.5
	}
	return ai, h, nil
}

// errorMessage is the error body for a refusal.
func (s *Service) errorMessage(x *exchange, ce *cmpError) *response {
	content := mustMarshal(errorMsgContent{Status: statusInfo(statusRejection, ce.text, ce.fail)})
	return s.newResponse(x, bodyError, content)
}

// certHash is the hash of a certificate for certConf: the hashAlg the
// client names, else the certificate's signature hash (RFC 9480 section 2.10).
func certHash(cert *x509.Certificate, hashAlg pkix.AlgorithmIdentifier) ([]byte, error) {
	var newHash func() hash.Hash
	if len(hashAlg.Algorithm) > 0 {
		var ok bool
		if newHash, ok = hashFor(hashAlg.Algorithm); !ok {
			return nil, fmt.Errorf("hash algorithm %v is not supported", hashAlg.Algorithm)
		}
	} else {
		switch cert.SignatureAlgorithm {
		case x509.SHA384WithRSA, x509.ECDSAWithSHA384, x509.SHA384WithRSAPSS:
			newHash = crypto.SHA384.New
		case x509.SHA512WithRSA, x509.ECDSAWithSHA512, x509.SHA512WithRSAPSS, x509.PureEd25519:
			newHash = crypto.SHA512.New
		default:
			newHash = crypto.SHA256.New
		}
	}
	h := newHash()
	h.Write(cert.Raw)
	return h.Sum(nil), nil
}

// equalHash compares a client's certHash with ours in constant time.
func equalHash(a, b []byte) bool { return hmac.Equal(a, b) }
