package cmp

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The PKIMessage of RFC 4210 section 5.1 (with RFC 9480's cmp2021 version).
// The CMP ASN.1 module uses EXPLICIT tags, so every [n] below wraps its
// element; CRMF (RFC 4211, in template.go) uses IMPLICIT tags.

// Body types (the PKIBody CHOICE's tags) this server knows.
const (
	bodyIR       = 0
	bodyIP       = 1
	bodyCR       = 2
	bodyCP       = 3
	bodyP10CR    = 4
	bodyKUR      = 7
	bodyKUP      = 8
	bodyRR       = 11
	bodyRP       = 12
	bodyPKIConf  = 19
	bodyGenM     = 21
	bodyGenP     = 22
	bodyError    = 23
	bodyCertConf = 24
	bodyPollReq  = 25
	bodyPollRep  = 26
)

var bodyNames = map[int]string{bodyIR: "ir", bodyIP: "ip", bodyCR: "cr", bodyCP: "cp", bodyP10CR: "p10cr",
	bodyKUR: "kur", bodyKUP: "kup", bodyRR: "rr", bodyRP: "rp", bodyPKIConf: "pkiconf", bodyGenM: "genm",
	bodyGenP: "genp", bodyError: "error", bodyCertConf: "certConf", bodyPollReq: "pollReq", bodyPollRep: "pollRep"}

func bodyName(t int) string {
	if n, ok := bodyNames[t]; ok {
		return n
	}
	return fmt.Sprintf("body type %d", t)
}

// PKIStatus values.
const (
	statusAccepted  = 0
	statusRejection = 2
	statusWaiting   = 3
)

// PKIFailureInfo bits (RFC 4210 section 5.2.3).
const (
	failBadAlg           = 0
	failBadMessageCheck  = 1
	failBadRequest       = 2
	failBadTime          = 3
	failBadCertID        = 4
	failBadDataFormat    = 5
	failWrongAuthority   = 6
	failIncorrectData    = 7
	failBadPOP           = 9
	failCertRevoked      = 10
	failCertConfirmed    = 11
	failBadRecipNonce    = 13
	failBadCertTemplate  = 19
	failSignerNotTrusted = 20
	failTransactionInUse = 21
	failUnsupportedVer   = 22
	failNotAuthorized    = 23
	failSystemUnavail    = 24
	failSystemFailure    = 25
)

var (
	oidImplicitConfirm = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 4, 13}
	oidCACerts         = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 4, 17}
)

// pkiMessage is a PKIMessage as received: header and body stay raw, since
// the protection is computed over their exact bytes.
type pkiMessage struct {
	Header     asn1.RawValue
	Body       asn1.RawValue
	Protection asn1.BitString  `asn1:"optional,explicit,tag:0"`
	ExtraCerts []asn1.RawValue `asn1:"optional,explicit,tag:1"`
}

type pkiHeader struct {
	PVNO          int
	Sender        asn1.RawValue
	Recipient     asn1.RawValue
	MessageTime   time.Time                `asn1:"optional,explicit,tag:0,generalized"`
	ProtectionAlg pkix.AlgorithmIdentifier `asn1:"optional,explicit,tag:1"`
	SenderKID     []byte                   `asn1:"optional,explicit,tag:2"`
	RecipKID      []byte                   `asn1:"optional,explicit,tag:3"`
	TransactionID []byte                   `asn1:"optional,explicit,tag:4"`
	SenderNonce   []byte                   `asn1:"optional,explicit,tag:5"`
	RecipNonce    []byte                   `asn1:"optional,explicit,tag:6"`
	FreeText      asn1.RawValue            `asn1:"optional,explicit,tag:7"`
	GeneralInfo   []infoTypeAndValue       `asn1:"optional,explicit,tag:8"`
}

type infoTypeAndValue struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue `asn1:"optional"`
}

// request is a parsed, not yet authenticated, PKIMessage.
type request struct {
	raw      []byte
	msg      pkiMessage
	header   pkiHeader
	bodyType int
	content  []byte // DER inside the body's explicit tag
}

// Limits on what a client may send.
const (
	maxMessageBytes = 256 << 10
	maxNonceBytes   = 128
)

var errMalformed = errors.New("malformed PKIMessage")

// parseRequest decodes a PKIMessage far enough to authenticate it.
func parseRequest(der []byte) (*request, error) {
	r := &request{raw: der}
	rest, err := asn1.Unmarshal(der, &r.msg)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errMalformed, err)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: trailing data", errMalformed)
	}
	// encoding/asn1 does not hold an explicit tag's length against its
	// content; re-encoding catches that and every other non-DER envelope,
	// so one protected message has exactly one accepted encoding.
	if again, err := asn1.Marshal(r.msg); err != nil || !bytes.Equal(again, der) {
		return nil, fmt.Errorf("%w: not DER", errMalformed)
	}
	if rest, err = asn1.Unmarshal(r.msg.Header.FullBytes, &r.header); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("%w: header: %v", errMalformed, err)
	}
	b := r.msg.Body
	if b.Class != asn1.ClassContextSpecific || !b.IsCompound {
		return nil, fmt.Errorf("%w: the body is not a tagged PKIBody", errMalformed)
	}
	r.bodyType, r.content = b.Tag, b.Bytes
	h := r.header
	if len(h.TransactionID) == 0 || len(h.TransactionID) > maxNonceBytes || len(h.SenderNonce) > maxNonceBytes || len(h.RecipNonce) > maxNonceBytes {
		return nil, fmt.Errorf("%w: a transactionID (up to %d bytes) is required", errMalformed, maxNonceBytes)
	}
	return r, nil
}

// implicitConfirm reports whether the client asked for it in generalInfo.
func (r *request) implicitConfirm() bool {
	for _, itav := range r.header.GeneralInfo {
		if itav.Type.Equal(oidImplicitConfirm) {
			return true
		}
	}
	return false
}

// protectedPart is the DER the protection covers: SEQUENCE { header, body }.
func protectedPart(header, body []byte) []byte {
	b, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true,
		Bytes: append(append([]byte(nil), header...), body...)})
	return b
}

// pkiStatusInfo is PKIStatusInfo.
type pkiStatusInfo struct {
	Status       int
	StatusString asn1.RawValue  `asn1:"optional"`
	FailInfo     asn1.BitString `asn1:"optional"`
}

func statusInfo(status int, text string, failBit int) pkiStatusInfo {
	si := pkiStatusInfo{Status: status}
	if text != "" {
		si.StatusString = freeText(text)
	}
	if failBit >= 0 {
		si.FailInfo = failureInfo(failBit)
	}
	return si
}

// failureInfo encodes one bit of PKIFailureInfo as DER's named bit list
// wants it: no trailing zero bits.
func failureInfo(bit int) asn1.BitString {
	b := make([]byte, bit/8+1)
	b[bit/8] = 0x80 >> (bit % 8)
	return asn1.BitString{Bytes: b, BitLength: bit + 1}
}

// freeText is a PKIFreeText of one UTF8String.
func freeText(s string) asn1.RawValue {
	el, _ := asn1.MarshalWithParams(strings.ToValidUTF8(s, "?"), "utf8")
	return asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: el}
}

// explicit wraps DER in a context-specific constructed tag.
func explicit(tag int, der []byte) asn1.RawValue {
	return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: tag, IsCompound: true, Bytes: der}
}

func mustMarshal(v any) []byte {
	b, err := asn1.Marshal(v)
	if err != nil {
		// Only our own fixed structures are marshalled here; failing is a bug.
		panic(fmt.Sprintf("cmp: marshal %T: %v", v, err))
	}
	return b
}

// certResponse is CertResponse; the certificate goes in certifiedKeyPair as
// CertOrEncCert's certificate [0].
type certResponse struct {
	CertReqID        int64
	Status           pkiStatusInfo
	CertifiedKeyPair asn1.RawValue `asn1:"optional"`
}

type certRepMessage struct {
	CAPubs   []asn1.RawValue `asn1:"optional,explicit,tag:1"`
	Response []certResponse
}

func certifiedKeyPair(certDER []byte) asn1.RawValue {
	inner := mustMarshal(explicit(0, certDER))
	return asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: inner}
}

type errorMsgContent struct {
	Status    pkiStatusInfo
	ErrorCode int           `asn1:"optional"`
	Details   asn1.RawValue `asn1:"optional"`
}

type certStatus struct {
	CertHash  []byte
	CertReqID int64
	Status    pkiStatusInfo            `asn1:"optional"`
	HashAlg   pkix.AlgorithmIdentifier `asn1:"optional,explicit,tag:0"`
}

type pollReq struct {
	CertReqID int64
}

type pollRep struct {
	CertReqID  int64
	CheckAfter int64
	Reason     asn1.RawValue `asn1:"optional"`
}

type revDetails struct {
	CertDetails     asn1.RawValue
	CRLEntryDetails []pkix.Extension `asn1:"optional"`
}

type revRepContent struct {
	Status []pkiStatusInfo
}

// certFromRaw returns the DER of a CMPCertificate (a plain X.509 certificate).
func rawCerts(ders ...[]byte) []asn1.RawValue {
	out := make([]asn1.RawValue, len(ders))
	for i, d := range ders {
		out[i] = asn1.RawValue{FullBytes: d}
	}
	return out
}

// directoryName is the GeneralName [4] of a DER Name.
func directoryName(rawName []byte) asn1.RawValue {
	return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: rawName}
}

// marshalBody is the PKIBody element of type t around content.
func marshalBody(t int, content []byte) []byte { return mustMarshal(explicit(t, content)) }

// nullDER is the DER of NULL (pkiconf's content, and implicitConfirm's value).
var nullDER = []byte{0x05, 0x00}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
