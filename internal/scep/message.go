package scep

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"

	"github.com/smallstep/pkcs7"
)

// Message types and statuses (RFC 8894 section 3.2.1).
const (
	msgCertRep    = "3"
	msgRenewalReq = "17"
	msgPKCSReq    = "19"
	msgCertPoll   = "20" // GetCertInitial
	msgGetCert    = "21"
	msgGetCRL     = "22"

	statusSuccess = "0"
	statusFailure = "2"
	statusPending = "3"
)

// failInfo values (RFC 8894 section 3.2.1.4).
const (
	failBadAlg          = "0"
	failBadMessageCheck = "1"
	failBadRequest      = "2"
	failBadTime         = "3"
	failBadCertID       = "4"
)

var (
	oidMessageType    = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 2}
	oidPKIStatus      = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 3}
	oidFailInfo       = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 4}
	oidSenderNonce    = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 5}
	oidRecipientNonce = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 6}
	oidTransactionID  = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 7}

	oidData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidEnvelopedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 3}
	oidRSAEncryption = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidAES256CBC     = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidSHA256        = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
)

// request is a parsed pkiMessage: its signed attributes, its signer, and
// (once decrypted) the content of its envelope.
type request struct {
	p7            *pkcs7.PKCS7
	signer        *x509.Certificate
	messageType   string
	transactionID string
	senderNonce   []byte
	verified      bool // the signature verifies with the signer's key
}

// malformedError is a message too broken to answer with a CertRep (no
// transaction id or nonce to echo): it gets an HTTP 400.
type malformedError struct{ msg string }

func (e *malformedError) Error() string { return e.msg }

// parseRequest reads a pkiMessage's SignedData and attributes. A signature
// that does not verify is not an error here: the caller answers it with
// failInfo badMessageCheck, which needs the attributes.
func parseRequest(der []byte) (*request, error) {
	p7, err := pkcs7.Parse(der)
	if err != nil {
		return nil, &malformedError{"the pkiMessage is not a PKCS#7 SignedData"}
	}
	r := &request{p7: p7, signer: p7.GetOnlySigner()}
	if r.signer == nil {
		return nil, &malformedError{"the pkiMessage must have exactly one signer, with its certificate"}
	}
	if err := p7.UnmarshalSignedAttribute(oidTransactionID, &r.transactionID); err != nil || r.transactionID == "" {
		return nil, &malformedError{"the pkiMessage has no transactionID"}
	}
	if err := p7.UnmarshalSignedAttribute(oidMessageType, &r.messageType); err != nil {
		return nil, &malformedError{"the pkiMessage has no messageType"}
	}
	if err := p7.UnmarshalSignedAttribute(oidSenderNonce, &r.senderNonce); err != nil || len(r.senderNonce) == 0 {
		return nil, &malformedError{"the pkiMessage has no senderNonce"}
	}
	if len(r.transactionID) > 256 || len(r.senderNonce) > 64 {
		return nil, &malformedError{"the pkiMessage's transactionID or senderNonce is too long"}
	}
	r.verified = p7.Verify() == nil
	return r, nil
}

// decrypt opens the request's pkcsPKIEnvelope with the RA key.
func (r *request) decrypt(ra *raPair) ([]byte, error) {
	env, err := pkcs7.Parse(r.p7.Content)
	if err != nil {
		return nil, fmt.Errorf("the pkcsPKIEnvelope is not an EnvelopedData: %w", err)
	}
	out, err := env.Decrypt(ra.cert, ra.key)
	if err != nil {
		return nil, fmt.Errorf("the pkcsPKIEnvelope cannot be decrypted with the RA key: %w", err)
	}
	return out, nil
}

// certRep is a reply: status, failInfo, and for a success the degenerate
// SignedData to encrypt to the requester.
type certRep struct {
	status   string
	failInfo string
	content  []byte // degenerate PKCS#7 (certificates or CRL), for success
}

// sign builds the CertRep pkiMessage (RFC 8894 section 3.3.2), signed by
// the RA, echoing the request's transactionID and nonce.
func (rep *certRep) sign(req *request, ra *raPair) ([]byte, error) {
	var inner []byte
	if rep.status == statusSuccess {
		env, err := envelope(rep.content, req.signer)
		if err != nil {
			return nil, err
		}
		inner = env
	}
	sd, err := pkcs7.NewSignedData(inner)
	if err != nil {
		return nil, fmt.Errorf("build CertRep: %w", err)
	}
	sd.SetDigestAlgorithm(oidSHA256)
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	attrs := []pkcs7.Attribute{
		{Type: oidTransactionID, Value: printable(req.transactionID)},
		{Type: oidMessageType, Value: printable(msgCertRep)},
		{Type: oidPKIStatus, Value: printable(rep.status)},
		{Type: oidSenderNonce, Value: nonce},
		{Type: oidRecipientNonce, Value: req.senderNonce},
	}
	if rep.status == statusFailure {
		attrs = append(attrs, pkcs7.Attribute{Type: oidFailInfo, Value: printable(rep.failInfo)})
	}
	if err := sd.AddSigner(ra.cert, ra.key, pkcs7.SignerInfoConfig{ExtraSignedAttributes: attrs}); err != nil {
		return nil, fmt.Errorf("sign CertRep: %w", err)
	}
	out, err := sd.Finish()
	if err != nil {
		return nil, fmt.Errorf("encode CertRep: %w", err)
	}
	return out, nil
}

// printable marshals a string as PrintableString, as SCEP's attributes
// are. A client-chosen transactionID outside PrintableString's alphabet
// (some clients put '_' or '@' in it) is echoed as a UTF8String instead of
// breaking the reply.
func printable(s string) asn1.RawValue {
	b, err := asn1.MarshalWithParams(s, "printable")
	if err != nil {
		b, _ = asn1.MarshalWithParams(s, "utf8") // fails only for invalid UTF-8, which no client's PrintableString/UTF8String gives
	}
	return asn1.RawValue{FullBytes: b}
}

type issuerAndSerial struct {
	Issuer       asn1.RawValue
	SerialNumber *big.Int
}

type algorithmIdentifier struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

type keyTransRecipientInfo struct {
	Version                int
	Rid                    issuerAndSerial
	KeyEncryptionAlgorithm algorithmIdentifier
	EncryptedKey           []byte
}

type encryptedContentInfo struct {
	ContentType                asn1.ObjectIdentifier
	ContentEncryptionAlgorithm algorithmIdentifier
	EncryptedContent           []byte `asn1:"tag:0,optional"`
}

type envelopedData struct {
	Version              int
	RecipientInfos       []keyTransRecipientInfo `asn1:"set"`
	EncryptedContentInfo encryptedContentInfo
}

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,optional,tag:0"`
}

// envelope encrypts content to recipient with AES-256-CBC and RSA key
// transport (CMS EnvelopedData, RFC 5652 section 6). It is written here
// rather than taken from pkcs7.Encrypt because that function picks its
// cipher from a package-wide variable (DES by default).
func envelope(content []byte, recipient *x509.Certificate) ([]byte, error) {
	pub, ok := recipient.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("the requester's certificate has no RSA key to encrypt the answer to")
	}
	key := make([]byte, 32)
	iv := make([]byte, aes.BlockSize)
	_, _ = rand.Read(key)
	_, _ = rand.Read(iv)
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	pad := aes.BlockSize - len(content)%aes.BlockSize
	plain := append(bytes.Clone(content), bytes.Repeat([]byte{byte(pad)}, pad)...)
	ct := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, plain)
	// RFC 8894 clients (iOS, Windows, routers, micromdm) expect rsaEncryption
	// key transport; OAEP would be refused by most of them.
	//lint:ignore SA1019 SCEP interoperability requires PKCS #1 v1.5 key transport
	ek, err := rsa.EncryptPKCS1v15(rand.Reader, pub, key)
	if err != nil {
		return nil, fmt.Errorf("envelope: encrypt the content key: %w", err)
	}
	ivParam, _ := asn1.Marshal(iv)
	ed := envelopedData{
		RecipientInfos: []keyTransRecipientInfo{{
			Rid:                    issuerAndSerial{Issuer: asn1.RawValue{FullBytes: recipient.RawIssuer}, SerialNumber: recipient.SerialNumber},
			KeyEncryptionAlgorithm: algorithmIdentifier{Algorithm: oidRSAEncryption, Parameters: asn1.NullRawValue},
			EncryptedKey:           ek,
		}},
		EncryptedContentInfo: encryptedContentInfo{ContentType: oidData,
			ContentEncryptionAlgorithm: algorithmIdentifier{Algorithm: oidAES256CBC, Parameters: asn1.RawValue{FullBytes: ivParam}},
			EncryptedContent:           ct},
	}
	inner, err := asn1.Marshal(ed)
	if err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	return asn1.Marshal(contentInfo{ContentType: oidEnvelopedData, Content: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: inner}})
}

// degenerateCRL is a certificate-less SignedData carrying one CRL: the
// answer to GetCRL (RFC 8894 section 3.3.4).
func degenerateCRL(crl []byte) ([]byte, error) {
	type signedData struct {
		Version          int
		DigestAlgorithms []algorithmIdentifier `asn1:"set"`
		ContentInfo      contentInfo
		CRLs             asn1.RawValue
		SignerInfos      []asn1.RawValue `asn1:"set"`
	}
	sd := signedData{Version: 1, DigestAlgorithms: []algorithmIdentifier{}, ContentInfo: contentInfo{ContentType: oidData},
		CRLs: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 1, IsCompound: true, Bytes: crl}, SignerInfos: []asn1.RawValue{}}
	inner, err := asn1.Marshal(sd)
	if err != nil {
		return nil, fmt.Errorf("encode CRL reply: %w", err)
	}
	return asn1.Marshal(contentInfo{ContentType: oidSignedData, Content: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: inner}})
}

// issuerAndSubject is GetCertInitial's content (RFC 8894 section 3.3.3).
type issuerAndSubject struct {
	Issuer  asn1.RawValue
	Subject asn1.RawValue
}

func parseIssuerAndSerial(der []byte) (*issuerAndSerial, error) {
	var v issuerAndSerial
	rest, err := asn1.Unmarshal(der, &v)
	if err != nil || len(rest) != 0 || v.SerialNumber == nil {
		return nil, errors.New("the content is not an IssuerAndSerialNumber")
	}
	return &v, nil
}

func parseIssuerAndSubject(der []byte) (*issuerAndSubject, error) {
	var v issuerAndSubject
	rest, err := asn1.Unmarshal(der, &v)
	if err != nil || len(rest) != 0 {
		return nil, errors.New("the content is not an IssuerAndSubject")
	}
	return &v, nil
}

// sameName compares two DER-encoded Names by their parsed form.
func sameName(a, b []byte) bool {
	var na, nb pkix.RDNSequence
	if _, err := asn1.Unmarshal(a, &na); err != nil {
		return false
	}
	if _, err := asn1.Unmarshal(b, &nb); err != nil {
		return false
	}
	return na.String() == nb.String()
}
