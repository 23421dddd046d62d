// Command cmp measures CMP enrollments per second through Signet's CMP
// server, next to the native API's issuance rate measured in the same run
// on the same server at the same concurrency.
//
//	go run ./bench/cmp -duration 10s -concurrency 8
//
// Two CMP phases, each with an in-process Go client that builds lightweight
// CMP messages (RFC 9483) the way `openssl cmp` does:
//   - ir protected by a one-time shared secret (PasswordBasedMac: SHA-256,
//     500 iterations, HMAC-SHA256, as openssl's defaults but for the MAC),
//     implicit confirmation, a fresh P-256 key per request;
//   - cr signed with a certificate obtained by ir (signature protection,
//     answered under the CA's signature), implicit confirmation.
//
// The shared secrets are created through the API before the ir phase (one
// per enrollment, up to -max). The load is bounded (each phase stops after
// -duration or -max operations) and stays on 127.0.0.1.
package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signet-pki/signet/bench/internal/loadgen"
)

func main() {
	duration := flag.Duration("duration", 10*time.Second, "length of each phase")
	maxOps := flag.Int("max", 4000, "upper bound on operations per phase (and shared secrets created)")
	conc := flag.Int("concurrency", 8, "concurrent clients")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the CMP ir phase here")
	flag.Parse()
	if err := run(*duration, *maxOps, *conc, *cpuProfile); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(duration time.Duration, maxOps, conc int, cpuProfile string) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sg, err := loadgen.StartSignet(ctx, "cmp", conc, nil)
	if err != nil {
		return err
	}
	defer sg.Close()
	base, hc := sg.Base, sg.Client

	fmt.Printf("Signet CMP benchmark — %s, GOMAXPROCS=%d, %s per phase, concurrency %d, P-256 keys, SQLite synchronous=FULL\n\n",
		runtime.Version(), runtime.GOMAXPROCS(0), duration, conc)
	native := nativePhase(ctx, sg, conc, duration, maxOps)
	secrets, err := createSecrets(ctx, sg, maxOps)
	if err != nil {
		return err
	}
	var next atomic.Int64
	var signers sync.Map // worker -> *signer, from its first ir
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	ir := loadgen.Phase(ctx, conc, duration, maxOps, func(ctx context.Context, w int, _ int64) error {
		i := next.Add(1) - 1
		if i >= int64(len(secrets)) {
			return errors.New("out of shared secrets")
		}
		s, err := enrollIR(ctx, base, hc, secrets[i], fmt.Sprintf("ir%d.bench.test", i))
		if err == nil {
			signers.LoadOrStore(w, s)
		}
		return err
	})
	pprof.StopCPUProfile()
	cr := loadgen.Phase(ctx, conc, duration, maxOps, func(ctx context.Context, w int, n int64) error {
		s, ok := signers.Load(w)
		if !ok {
			return errors.New("no certificate to sign with")
		}
		return enrollCR(ctx, base, hc, s.(*signer), fmt.Sprintf("cr%d.bench.test", n))
	})
	fmt.Println(loadgen.TableHeader)
	fmt.Println(native.Row("native API: POST /api/v1/certificates, a fresh P-256 key and CSR each", native))
	for _, r := range []struct {
		name string
		res  loadgen.Result
	}{{"CMP ir, shared secret (PBM), implicit confirm", ir}, {"CMP cr, signed with a certificate, implicit confirm", cr}} {
		fmt.Println(r.res.Row(r.name, native))
		if r.res.FirstErr != nil {
			fmt.Printf("\nfirst error (%s): %v\n", r.name, r.res.FirstErr)
		}
	}
	return nil
}

// nativePhase enrolls through the REST API with a fresh key and CSR per
// request, as each CMP enrollment generates its key.
func nativePhase(ctx context.Context, s *loadgen.Signet, conc int, duration time.Duration, maxOps int) loadgen.Result {
	return loadgen.Phase(ctx, conc, duration, maxOps, func(ctx context.Context, _ int, n int64) error {
		csrs, err := loadgen.ECCSRs(1, fmt.Sprintf("n%d-", n))
		if err != nil {
			return err
		}
		body, _ := json.Marshal(map[string]string{"profile": "tls-server", "csr": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrs[0]}))})
		_, err = s.Post(ctx, "/api/v1/certificates", "application/json", body, nil, http.StatusCreated)
		return err
	})
}

type sharedSecret struct{ ref, secret string }

func createSecrets(ctx context.Context, sg *loadgen.Signet, n int) ([]sharedSecret, error) {
	out := make([]sharedSecret, 0, n)
	for range n {
		b, err := sg.Post(ctx, "/api/v1/cmp/secrets", "application/json", []byte(`{"profile":"tls-server"}`), nil, http.StatusCreated)
		if err != nil {
			return nil, err
		}
		var s struct{ Reference, Secret string }
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, err
		}
		out = append(out, sharedSecret{s.Reference, s.Secret})
	}
	return out, nil
}

// signer is a certificate and key that sign cr requests.
type signer struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

var (
	oidPBM             = asn1.ObjectIdentifier{1, 2, 840, 113533, 7, 66, 13}
	oidSHA256          = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidHMACSHA256      = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidECDSASHA256     = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidImplicitConfirm = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 4, 13}
	oidSAN             = asn1.ObjectIdentifier{2, 5, 29, 17}
)

type header struct {
	PVNO          int
	Sender        asn1.RawValue
	Recipient     asn1.RawValue
	MessageTime   time.Time                `asn1:"optional,explicit,tag:0,generalized"`
	ProtectionAlg pkix.AlgorithmIdentifier `asn1:"optional,explicit,tag:1"`
	SenderKID     []byte                   `asn1:"optional,explicit,tag:2"`
	TransactionID []byte                   `asn1:"optional,explicit,tag:4"`
	SenderNonce   []byte                   `asn1:"optional,explicit,tag:5"`
	GeneralInfo   []itav                   `asn1:"optional,explicit,tag:8"`
}

type itav struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue `asn1:"optional"`
}

type message struct {
	Header     asn1.RawValue
	Body       asn1.RawValue
	Protection asn1.BitString  `asn1:"optional,explicit,tag:0"`
	ExtraCerts []asn1.RawValue `asn1:"optional,explicit,tag:1"`
}

type pbmParameter struct {
	Salt           []byte
	OWF            pkix.AlgorithmIdentifier
	IterationCount int
	MAC            pkix.AlgorithmIdentifier
}

func tagged(class, tag int, compound bool, content []byte) asn1.RawValue {
	return asn1.RawValue{Class: class, Tag: tag, IsCompound: compound, Bytes: content}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func random(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// certReqBody is the CertReqMessages of ir/cr for a new P-256 key and name,
// with a signature proof of possession.
func certReqBody(bodyTag int, name string) ([]byte, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	spki := must(x509.MarshalPKIXPublicKey(key.Public()))
	var spkiSeq asn1.RawValue
	_, _ = asn1.Unmarshal(spki, &spkiSeq)
	subject := must(asn1.Marshal(pkix.Name{CommonName: name}.ToRDNSequence()))
	san := must(asn1.Marshal([]asn1.RawValue{tagged(asn1.ClassContextSpecific, 2, false, []byte(name))}))
	exts := must(asn1.Marshal(pkix.Extension{Id: oidSAN, Value: san}))
	tmpl := must(asn1.Marshal(tagged(asn1.ClassUniversal, asn1.TagSequence, true, bytes.Join([][]byte{
		must(asn1.Marshal(tagged(asn1.ClassContextSpecific, 5, true, subject))),
		must(asn1.Marshal(tagged(asn1.ClassContextSpecific, 6, true, spkiSeq.Bytes))),
		must(asn1.Marshal(tagged(asn1.ClassContextSpecific, 9, true, exts))),
	}, nil))))
	certReq := must(asn1.Marshal(struct {
		ID   int
		Tmpl asn1.RawValue
	}{0, asn1.RawValue{FullBytes: tmpl}}))
	digest := sha256.Sum256(certReq)
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		return nil, nil, err
	}
	popo := must(asn1.Marshal(pkix.AlgorithmIdentifier{Algorithm: oidECDSASHA256}))
	popo = append(popo, must(asn1.Marshal(asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}))...)
	msg := must(asn1.Marshal(struct {
		Req  asn1.RawValue
		POPO asn1.RawValue
	}{asn1.RawValue{FullBytes: certReq}, tagged(asn1.ClassContextSpecific, 1, true, popo)}))
	content := must(asn1.Marshal([]asn1.RawValue{{FullBytes: msg}}))
	return must(asn1.Marshal(tagged(asn1.ClassContextSpecific, bodyTag, true, content))), key, nil
}

func newHeader(name string) header {
	return header{PVNO: 2, Sender: tagged(asn1.ClassContextSpecific, 4, true, must(asn1.Marshal(pkix.Name{CommonName: name}.ToRDNSequence()))),
		Recipient: tagged(asn1.ClassContextSpecific, 4, true, []byte{0x30, 0}), MessageTime: time.Now().UTC().Truncate(time.Second),
		TransactionID: random(16), SenderNonce: random(16),
		GeneralInfo: []itav{{Type: oidImplicitConfirm, Value: asn1.NullRawValue}}}
}

func protectedPart(h, body []byte) []byte {
	return must(asn1.Marshal(tagged(asn1.ClassUniversal, asn1.TagSequence, true, append(append([]byte{}, h...), body...))))
}

// enrollIR enrolls with a shared secret and returns the certificate and key.
func enrollIR(ctx context.Context, base string, hc *http.Client, s sharedSecret, name string) (*signer, error) {
	body, key, err := certReqBody(0, name)
	if err != nil {
		return nil, err
	}
	h := newHeader(name)
	params := pbmParameter{Salt: random(16), OWF: pkix.AlgorithmIdentifier{Algorithm: oidSHA256}, IterationCount: 500,
		MAC: pkix.AlgorithmIdentifier{Algorithm: oidHMACSHA256}}
	h.ProtectionAlg = pkix.AlgorithmIdentifier{Algorithm: oidPBM, Parameters: asn1.RawValue{FullBytes: must(asn1.Marshal(params))}}
	h.SenderKID = []byte(s.ref)
	hder := must(asn1.Marshal(h))
	k := sha256.Sum256(append([]byte(s.secret), params.Salt...))
	for i := 1; i < params.IterationCount; i++ {
		k = sha256.Sum256(k[:])
	}
	mac := hmac.New(sha256.New, k[:])
	mac.Write(protectedPart(hder, body))
	prot := mac.Sum(nil)
	der := must(asn1.Marshal(message{Header: asn1.RawValue{FullBytes: hder}, Body: asn1.RawValue{FullBytes: body},
		Protection: asn1.BitString{Bytes: prot, BitLength: 8 * len(prot)}}))
	cert, err := exchange(ctx, base, hc, der, 1)
	if err != nil {
		return nil, err
	}
	return &signer{cert: cert, key: key}, nil
}

// enrollCR enrolls a new key with a request signed by an issued certificate.
func enrollCR(ctx context.Context, base string, hc *http.Client, s *signer, name string) error {
	body, _, err := certReqBody(2, name)
	if err != nil {
		return err
	}
	h := newHeader(name)
	h.Sender = tagged(asn1.ClassContextSpecific, 4, true, s.cert.RawSubject)
	h.ProtectionAlg = pkix.AlgorithmIdentifier{Algorithm: oidECDSASHA256}
	h.SenderKID = s.cert.SubjectKeyId
	hder := must(asn1.Marshal(h))
	digest := sha256.Sum256(protectedPart(hder, body))
	sig, err := ecdsa.SignASN1(rand.Reader, s.key, digest[:])
	if err != nil {
		return err
	}
	der := must(asn1.Marshal(message{Header: asn1.RawValue{FullBytes: hder}, Body: asn1.RawValue{FullBytes: body},
		Protection: asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}, ExtraCerts: []asn1.RawValue{{FullBytes: s.cert.Raw}}}))
	_, err = exchange(ctx, base, hc, der, 3)
	return err
}

// exchange posts a request and returns the certificate of an accepted
// ip/cp (wantBody).
func exchange(ctx context.Context, base string, hc *http.Client, der []byte, wantBody int) (*x509.Certificate, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/cmp/tls-server", bytes.NewReader(der))
	req.Header.Set("Content-Type", "application/pkixcmp")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m message
	if _, err := asn1.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("status %d, answer is not a PKIMessage: %v", resp.StatusCode, err)
	}
	if m.Body.Tag != wantBody {
		return nil, fmt.Errorf("answer body [%d], want [%d]: %x", m.Body.Tag, wantBody, m.Body.Bytes)
	}
	var rep struct {
		CAPubs   []asn1.RawValue `asn1:"optional,explicit,tag:1"`
		Response []struct {
			ID     int
			Status struct {
				Status int
				Rest   []asn1.RawValue `asn1:"optional"`
			}
			Pair asn1.RawValue // CertifiedKeyPair { certOrEncCert [0] Certificate }
		}
	}
	if _, err := asn1.Unmarshal(m.Body.Bytes, &rep); err != nil || len(rep.Response) != 1 || rep.Response[0].Status.Status != 0 {
		return nil, fmt.Errorf("not an accepted certificate response: %v", err)
	}
	var certOrEnc asn1.RawValue
	if _, err := asn1.Unmarshal(rep.Response[0].Pair.Bytes, &certOrEnc); err != nil || certOrEnc.Tag != 0 {
		return nil, fmt.Errorf("no certificate in the answer: %v", err)
	}
	return x509.ParseCertificate(certOrEnc.Bytes)
}
