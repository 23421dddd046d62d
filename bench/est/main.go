// Command est measures enrollments per second through Signet's EST
// (simpleenroll) and SCEP (PKCSReq) servers, next to the native API's
// issuance rate measured in the same run on the same server.
//
//	go run ./bench/est -duration 10s -concurrency 8
//
// The load is bounded (each phase stops after -duration or -max
// operations) and stays on 127.0.0.1: the server and every client run in
// this process (client CPU is counted in "CPU per operation").
package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/smallstep/pkcs7"

	"github.com/signet-pki/signet/bench/internal/loadgen"
)

const challenge = "bench-static-challenge-0123456789"

func main() {
	duration := flag.Duration("duration", 10*time.Second, "length of each phase")
	maxOps := flag.Int("max", 100000, "upper bound on operations per phase")
	conc := flag.Int("concurrency", 8, "concurrent clients")
	flag.Parse()
	if err := run(*duration, *maxOps, *conc); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(duration time.Duration, maxOps, conc int) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := loadgen.StartSignet(ctx, "est", conc, nil)
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Printf("Signet EST/SCEP benchmark — %s, GOMAXPROCS=%d, %s per phase, concurrency %d, SQLite synchronous=FULL\n\n",
		runtime.Version(), runtime.GOMAXPROCS(0), duration, conc)

	native, err := s.NativePhase(ctx, conc, duration, maxOps)
	if err != nil {
		return err
	}
	est, err := estPhase(ctx, s, conc, duration, maxOps)
	if err != nil {
		return err
	}
	scep, err := scepPhase(ctx, s, conc, duration, maxOps)
	if err != nil {
		return err
	}
	fmt.Println(loadgen.TableHeader)
	for _, r := range []struct {
		name string
		res  loadgen.Result
	}{{"native API: POST /api/v1/certificates, P-256 CSR", native}, {"EST: simpleenroll, P-256 CSR, HTTP Basic (API key)", est},
		{"SCEP: PKCSReq, RSA-2048, static challenge", scep}} {
		fmt.Println(r.res.Row(r.name, native))
		if r.res.FirstErr != nil {
			fmt.Printf("\nfirst error (%s): %v\n", r.name, r.res.FirstErr)
		}
	}
	return nil
}

// estPhase is simpleenroll with the bootstrap admin's API key as the HTTP
// Basic password, as a device configured with a service account would.
func estPhase(ctx context.Context, s *loadgen.Signet, conc int, duration time.Duration, maxOps int) (loadgen.Result, error) {
	csrs, err := loadgen.ECCSRs(64, "e")
	if err != nil {
		return loadgen.Result{}, err
	}
	bodies := make([][]byte, len(csrs))
	for i, der := range csrs {
		bodies[i] = []byte(base64.StdEncoding.EncodeToString(der))
	}
	h := http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+loadgen.AdminKey))}}
	return loadgen.Phase(ctx, conc, duration, maxOps, func(ctx context.Context, _ int, n int64) error {
		b, err := s.Post(ctx, "/.well-known/est/tls-server/simpleenroll", "application/pkcs10", bodies[n%int64(len(bodies))], h, http.StatusOK)
		if err != nil {
			return err
		}
		der, err := base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(string(b)))
		if err != nil {
			return err
		}
		p7, err := pkcs7.Parse(der)
		if err != nil || len(p7.Certificates) != 1 {
			return fmt.Errorf("simpleenroll answer: %v", err)
		}
		return nil
	}), nil
}

// scepClient is one device: an RSA key, its self-signed signer certificate
// and a CSR carrying the static challenge.
type scepClient struct {
	key  *rsa.PrivateKey
	self *x509.Certificate
	csr  []byte
}

// scepPhase sends PKCSReq with the profile's static challenge, decrypting
// each CertRep like a device.
func scepPhase(ctx context.Context, s *loadgen.Signet, conc int, duration time.Duration, maxOps int) (loadgen.Result, error) {
	base, hc := s.Base, s.Client
	body, _ := json.Marshal(map[string]string{"challenge": challenge})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, base+"/api/v1/profiles/tls-server/static-challenge/scep", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+loadgen.AdminKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return loadgen.Result{}, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return loadgen.Result{}, fmt.Errorf("set static challenge: %d", resp.StatusCode)
	}
	resp, err = hc.Get(base + "/scep/tls-server?operation=GetCACert")
	if err != nil {
		return loadgen.Result{}, err
	}
	caDER, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	ca, err := pkcs7.Parse(caDER)
	if err != nil || len(ca.Certificates) == 0 {
		return loadgen.Result{}, fmt.Errorf("GetCACert: %v", err)
	}
	ra := ca.Certificates[0]
	clients := make([]*scepClient, conc)
	for i := range clients {
		if clients[i], err = newSCEPClient(fmt.Sprintf("s%d.bench.test", i)); err != nil {
			return loadgen.Result{}, err
		}
	}
	return loadgen.Phase(ctx, conc, duration, maxOps, func(ctx context.Context, w int, n int64) error {
		return clients[w].enroll(ctx, s, "/scep/tls-server?operation=PKIOperation", ra, fmt.Sprintf("bench-%d", n))
	}), nil
}

func newSCEPClient(name string) (*scepClient, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	self, _ := x509.ParseCertificate(der)
	csr, err := csrWithChallenge(key, name)
	if err != nil {
		return nil, err
	}
	return &scepClient{key: key, self: self, csr: csr}, nil
}

// csrWithChallenge builds a CSR carrying challengePassword, which Go's
// x509 package cannot emit: the CertificationRequestInfo is re-encoded with
// the attribute and signed here.
func csrWithChallenge(key *rsa.PrivateKey, name string) ([]byte, error) {
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: name}, DNSNames: []string{name}}, key)
	if err != nil {
		return nil, err
	}
	parsed, _ := x509.ParseCertificateRequest(der)
	var info struct {
		Version    int
		Subject    asn1.RawValue
		PublicKey  asn1.RawValue
		Attributes []asn1.RawValue `asn1:"tag:0"`
	}
	if _, err := asn1.Unmarshal(parsed.RawTBSCertificateRequest, &info); err != nil {
		return nil, err
	}
	pw, _ := asn1.MarshalWithParams(challenge, "printable")
	attr, _ := asn1.Marshal(struct {
		Type   asn1.ObjectIdentifier
		Values []asn1.RawValue `asn1:"set"`
	}{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 7}, []asn1.RawValue{{FullBytes: pw}}})
	info.Attributes = append(info.Attributes, asn1.RawValue{FullBytes: attr})
	tbs, err := asn1.Marshal(info)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(tbs)
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(struct {
		TBS asn1.RawValue
		Alg pkix.AlgorithmIdentifier
		Sig asn1.BitString
	}{asn1.RawValue{FullBytes: tbs}, pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}, Parameters: asn1.NullRawValue},
		asn1.BitString{Bytes: sig, BitLength: len(sig) * 8}})
}

func (c *scepClient) enroll(ctx context.Context, s *loadgen.Signet, path string, ra *x509.Certificate, tid string) error {
	env, err := pkcs7.Encrypt(c.csr, []*x509.Certificate{ra})
	if err != nil {
		return err
	}
	sd, err := pkcs7.NewSignedData(env)
	if err != nil {
		return err
	}
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	ps := func(s string) asn1.RawValue {
		b, _ := asn1.MarshalWithParams(s, "printable")
		return asn1.RawValue{FullBytes: b}
	}
	oid := func(n int) asn1.ObjectIdentifier { return asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, n} }
	if err := sd.AddSigner(c.self, c.key, pkcs7.SignerInfoConfig{ExtraSignedAttributes: []pkcs7.Attribute{
		{Type: oid(7), Value: ps(tid)}, {Type: oid(2), Value: ps("19")}, {Type: oid(5), Value: nonce}}}); err != nil {
		return err
	}
	msg, err := sd.Finish()
	if err != nil {
		return err
	}
	b, err := s.Post(ctx, path, "application/x-pki-message", msg, http.Header{}, http.StatusOK)
	if err != nil {
		return err
	}
	p7, err := pkcs7.Parse(b)
	if err != nil {
		return err
	}
	var status string
	if err := p7.UnmarshalSignedAttribute(oid(3), &status); err != nil || status != "0" {
		var info string
		_ = p7.UnmarshalSignedAttribute(oid(4), &info)
		return fmt.Errorf("pkiStatus %q failInfo %q", status, info)
	}
	inner, err := pkcs7.Parse(p7.Content)
	if err != nil {
		return err
	}
	plain, err := inner.Decrypt(c.self, c.key)
	if err != nil {
		return err
	}
	certs, err := pkcs7.Parse(plain)
	if err != nil || len(certs.Certificates) != 1 {
		return errors.New("CertRep without the certificate")
	}
	return nil
}
