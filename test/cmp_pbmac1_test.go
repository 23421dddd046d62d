package test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestCMPPBMAC1 sends genm protected with PBMAC1 (RFC 9481: PBKDF2 with
// HMAC-SHA256, then HMAC-SHA256), which OpenSSL 3.0 cannot send, and
// checks the answer's PBMAC1 under the same secret with a fresh salt.
func TestCMPPBMAC1(t *testing.T) {
	e := newCMPEnv(t)
	ref, secret := e.secret(t, "tls-server")
	for _, tc := range []struct {
		name   string
		secret string
		fail   int // -1: a protected genp is expected
	}{
		{"right secret", secret, -1},
		{"wrong secret", secret + "x", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := pbmac1Genm(t, ref, tc.secret, []byte("0123456789abcdef"))
			if fail := e.postCMP(t, "tls-server", msg); fail != tc.fail {
				t.Fatalf("failInfo %d, want %d", fail, tc.fail)
			}
			if tc.fail >= 0 {
				return
			}
			resp, err := http.Post(e.URL+"/cmp/tls-server", "application/pkixcmp", bytes.NewReader(pbmac1Genm(t, ref, secret, []byte("fedcba9876543210"))))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			var m cmpMessage
			if _, err := asn1.Unmarshal(body, &m); err != nil || m.Body.Tag != 22 {
				t.Fatalf("not a genp: %v tag %d", err, m.Body.Tag)
			}
			var h cmpHeader
			if _, err := asn1.Unmarshal(m.Header.FullBytes, &h); err != nil {
				t.Fatal(err)
			}
			var params pbmac1Params
			if _, err := asn1.Unmarshal(h.ProtectionAlg.Parameters.FullBytes, &params); err != nil || !h.ProtectionAlg.Algorithm.Equal(oidPBMAC1) {
				t.Fatalf("answer protection %v: %v", h.ProtectionAlg.Algorithm, err)
			}
			var kdf pbkdf2Params
			if _, err := asn1.Unmarshal(params.KDF.Parameters.FullBytes, &kdf); err != nil || bytes.Equal(kdf.Salt, []byte("fedcba9876543210")) {
				t.Fatalf("answer salt %x (must be fresh): %v", kdf.Salt, err)
			}
			want := pbmac1(t, secret, kdf.Salt, kdf.Iterations, m.Header.FullBytes, m.Body.FullBytes)
			if !hmac.Equal(want, m.Protection.Bytes) {
				t.Fatal("the answer's PBMAC1 does not verify under the secret")
			}
		})
	}
}

var (
	oidPBMAC1     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 14}
	oidPBKDF2     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACSHA256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
)

type cmpMessage struct {
	Header     asn1.RawValue
	Body       asn1.RawValue
	Protection asn1.BitString  `asn1:"optional,explicit,tag:0"`
	ExtraCerts []asn1.RawValue `asn1:"optional,explicit,tag:1"`
}

type cmpHeader struct {
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
	Rest          []asn1.RawValue          `asn1:"optional"`
}

type pbmac1Params struct {
	KDF pkix.AlgorithmIdentifier
	MAC pkix.AlgorithmIdentifier
}

type pbkdf2Params struct {
	Salt       []byte
	Iterations int
	KeyLength  int                      `asn1:"optional"`
	PRF        pkix.AlgorithmIdentifier `asn1:"optional"`
}

const pbmac1Iterations = 2000

func pbmac1(t *testing.T, secret string, salt []byte, iterations int, header, body []byte) []byte {
	t.Helper()
	key, err := pbkdf2.Key(sha256.New, secret, salt, iterations, 32)
	if err != nil {
		t.Fatal(err)
	}
	part, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: append(append([]byte{}, header...), body...)})
	m := hmac.New(sha256.New, key)
	m.Write(part)
	return m.Sum(nil)
}

// pbmac1Genm is an empty genm protected with PBMAC1 under secret.
func pbmac1Genm(t *testing.T, ref, secret string, salt []byte) []byte {
	t.Helper()
	must := func(b []byte, err error) []byte {
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	hmacAlg := pkix.AlgorithmIdentifier{Algorithm: oidHMACSHA256, Parameters: asn1.NullRawValue}
	kdf := must(asn1.Marshal(pbkdf2Params{Salt: salt, Iterations: pbmac1Iterations, KeyLength: 32, PRF: hmacAlg}))
	params := must(asn1.Marshal(pbmac1Params{KDF: pkix.AlgorithmIdentifier{Algorithm: oidPBKDF2, Parameters: asn1.RawValue{FullBytes: kdf}}, MAC: hmacAlg}))
	nullName := asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: []byte{0x30, 0}}
	tid := make([]byte, 16)
	_, _ = rand.Read(tid)
	h := must(asn1.Marshal(cmpHeader{PVNO: 2, Sender: nullName, Recipient: nullName, MessageTime: time.Now().UTC().Truncate(time.Second),
		ProtectionAlg: pkix.AlgorithmIdentifier{Algorithm: oidPBMAC1, Parameters: asn1.RawValue{FullBytes: params}},
		SenderKID:     []byte(ref), TransactionID: tid, SenderNonce: tid}))
	body := must(asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 21, IsCompound: true, Bytes: []byte{0x30, 0}}))
	mac := pbmac1(t, secret, salt, pbmac1Iterations, h, body)
	return must(asn1.Marshal(cmpMessage{Header: asn1.RawValue{FullBytes: h}, Body: asn1.RawValue{FullBytes: body},
		Protection: asn1.BitString{Bytes: mac, BitLength: 8 * len(mac)}}))
}

// TestCMPCertConfRejectionRevokes: a client that rejects its certificate in
// certConf gets pkiConf, and the certificate is revoked (it will not be
// used). The messages are built here, protected with PBMAC1.
func TestCMPCertConfRejectionRevokes(t *testing.T) {
	e := newCMPEnv(t)
	ref, secret := e.secret(t, "tls-server")
	tid := make([]byte, 16)
	_, _ = rand.Read(tid)
	ir := pbmac1Message(t, ref, secret, tid, nil, 0, crmfRequest(t, "reject.example.com"))
	ip := e.postRaw(t, ir)
	if ip.Body.Tag != 1 {
		t.Fatalf("answer to ir: body [%d]", ip.Body.Tag)
	}
	var rep struct {
		CAPubs   []asn1.RawValue `asn1:"optional,explicit,tag:1"`
		Response []struct {
			ID     int
			Status asn1.RawValue
			Pair   asn1.RawValue
		}
	}
	if _, err := asn1.Unmarshal(ip.Body.Bytes, &rep); err != nil || len(rep.Response) != 1 {
		t.Fatalf("ip: %v", err)
	}
	var certOrEnc asn1.RawValue
	if _, err := asn1.Unmarshal(rep.Response[0].Pair.Bytes, &certOrEnc); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(certOrEnc.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	var h cmpHeader
	if _, err := asn1.Unmarshal(ip.Header.FullBytes, &h); err != nil {
		t.Fatal(err)
	}
	hash := sha256.Sum256(cert.Raw)
	rejection, _ := asn1.Marshal(struct {
		Status int
		Text   asn1.RawValue
	}{2, asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: []byte{0x0c, 0x02, 'n', 'o'}}})
	status, _ := asn1.Marshal([]struct {
		Hash   []byte
		ID     int
		Status asn1.RawValue
	}{{hash[:], 0, asn1.RawValue{FullBytes: rejection}}})
	// A certConf that does not echo the ip's nonce is refused first.
	if fail := e.postCMP(t, "tls-server", pbmac1Message(t, ref, secret, tid, []byte("wrong nonce"), 24, status)); fail != 13 {
		t.Fatalf("certConf with a wrong recipNonce: failInfo %d, want badRecipNonce (13)", fail)
	}
	conf := e.postRaw(t, pbmac1Message(t, ref, secret, tid, h.SenderNonce, 24, status))
	if conf.Body.Tag != 19 {
		t.Fatalf("answer to certConf: body [%d]", conf.Body.Tag)
	}
	serial := strings.ToLower(cert.SerialNumber.Text(16))
	if c := e.Must(t, 200, "GET", "/api/v1/certificates/"+serial, admin, nil).Map(t); c["status"] != "revoked" {
		t.Fatalf("a rejected certificate is %v", c["status"])
	}
}

func (e *cmpEnv) postRaw(t *testing.T, der []byte) cmpMessage {
	t.Helper()
	resp, err := http.Post(e.URL+"/cmp/tls-server", "application/pkixcmp", bytes.NewReader(der))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m cmpMessage
	if _, err := asn1.Unmarshal(body, &m); err != nil {
		t.Fatalf("status %d: not a PKIMessage: %v", resp.StatusCode, err)
	}
	return m
}

// pbmac1Message protects a body of type bodyTag with PBMAC1 in transaction tid.
func pbmac1Message(t *testing.T, ref, secret string, tid, recipNonce []byte, bodyTag int, content []byte) []byte {
	t.Helper()
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	hmacAlg := pkix.AlgorithmIdentifier{Algorithm: oidHMACSHA256, Parameters: asn1.NullRawValue}
	kdf, _ := asn1.Marshal(pbkdf2Params{Salt: salt, Iterations: pbmac1Iterations, KeyLength: 32, PRF: hmacAlg})
	params, _ := asn1.Marshal(pbmac1Params{KDF: pkix.AlgorithmIdentifier{Algorithm: oidPBKDF2, Parameters: asn1.RawValue{FullBytes: kdf}}, MAC: hmacAlg})
	nullName := asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: []byte{0x30, 0}}
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	h, err := asn1.Marshal(cmpHeader{PVNO: 2, Sender: nullName, Recipient: nullName, MessageTime: time.Now().UTC().Truncate(time.Second),
		ProtectionAlg: pkix.AlgorithmIdentifier{Algorithm: oidPBMAC1, Parameters: asn1.RawValue{FullBytes: params}},
		SenderKID:     []byte(ref), TransactionID: tid, SenderNonce: nonce, RecipNonce: recipNonce})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: bodyTag, IsCompound: true, Bytes: content})
	mac := pbmac1(t, secret, salt, pbmac1Iterations, h, body)
	out, err := asn1.Marshal(cmpMessage{Header: asn1.RawValue{FullBytes: h}, Body: asn1.RawValue{FullBytes: body},
		Protection: asn1.BitString{Bytes: mac, BitLength: 8 * len(mac)}})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// crmfRequest is CertReqMessages for a new P-256 key and one DNS name,
// with a signature proof of possession (RFC 4211).
func crmfRequest(t *testing.T, name string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tag := func(n int, content []byte) []byte {
		b, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: n, IsCompound: true, Bytes: content})
		return b
	}
	spki, _ := x509.MarshalPKIXPublicKey(key.Public())
	var spkiSeq asn1.RawValue
	_, _ = asn1.Unmarshal(spki, &spkiSeq)
	subject, _ := asn1.Marshal(pkix.Name{CommonName: name}.ToRDNSequence())
	san, _ := asn1.Marshal([]asn1.RawValue{{Class: asn1.ClassContextSpecific, Tag: 2, Bytes: []byte(name)}})
	ext, _ := asn1.Marshal(pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 17}, Value: san})
	tmpl, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true,
		Bytes: bytes.Join([][]byte{tag(5, subject), tag(6, spkiSeq.Bytes), tag(9, ext)}, nil)})
	certReq, _ := asn1.Marshal(struct {
		ID   int
		Tmpl asn1.RawValue
	}{0, asn1.RawValue{FullBytes: tmpl}})
	digest := sha256.Sum256(certReq)
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	alg, _ := asn1.Marshal(pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}})
	bits, _ := asn1.Marshal(asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)})
	msg, _ := asn1.Marshal(struct{ Req, POPO asn1.RawValue }{asn1.RawValue{FullBytes: certReq}, asn1.RawValue{FullBytes: tag(1, append(alg, bits...))}})
	out, _ := asn1.Marshal([]asn1.RawValue{{FullBytes: msg}})
	return out
}
