package test

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
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smallstep/pkcs7"

	"github.com/signet-pki/signet/internal/testutil"
)

// scepClientVersion is the micromdm SCEP client the tests build from the
// Go module proxy.
const scepClientVersion = "github.com/micromdm/scep/v2/cmd/scepclient@v2.3.0"

// buildSCEPClient builds micromdm's scepclient (once per machine).
func buildSCEPClient(t *testing.T) string {
	t.Helper()
	return testutil.GoTool(t, scepClientVersion)
}

type scepEnv struct {
	*env
	client string
}

// run enrolls (or, when dir already holds cert.pem, renews) with scepclient.
func (e *scepEnv) run(t *testing.T, dir, profile, challenge, cn string) (string, error) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	args := []string{"-server-url", e.URL + "/scep/" + profile, "-private-key", filepath.Join(dir, "key.pem"),
		"-certificate", filepath.Join(dir, "cert.pem"), "-cn", cn, "-dnsname", cn,
		"-key-encipherment-selector"}
	if challenge != "" {
		args = append(args, "-challenge", challenge)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, e.client, args...).CombinedOutput()
	return string(out), err
}

func (e *scepEnv) certIn(t *testing.T, dir string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("no certificate in %s", dir)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	// openssl agrees it chains to Signet's root.
	chain := e.Must(t, 200, "GET", "/api/v1/cas/signet-issuing/certificate", "", nil).Body
	testutil.WriteFile(t, dir, "issuing.pem", chain)
	out := testutil.Openssl(t, dir, "verify", "-CAfile", e.rootFile(t), "-untrusted", filepath.Join(dir, "issuing.pem"), filepath.Join(dir, "cert.pem"))
	if !strings.Contains(out, ": OK") {
		t.Fatalf("openssl verify: %s", out)
	}
	return c
}

func (e *scepEnv) inventory(t *testing.T, c *x509.Certificate) map[string]any {
	t.Helper()
	return e.Must(t, 200, "GET", "/api/v1/certificates/"+c.SerialNumber.Text(16), admin, nil).Map(t)
}

// TestSCEPWithMicroMDMClient enrolls with micromdm's scepclient using a
// dynamic (one-time, API-issued) challenge and a static one, renews, and
// checks the refusals the client sees (wrong and replayed challenges).
func TestSCEPWithMicroMDMClient(t *testing.T) {
	e := &scepEnv{env: newEnv(t), client: buildSCEPClient(t)}
	// tls-server: scepclient makes RSA keys, and the default tls-client
	// template's key usages fail zlint for RSA client certificates.
	const profile = "tls-server"

	// GetCACaps answers out of the box on the default profile.
	caps := e.Must(t, 200, "GET", "/scep/tls-server?operation=GetCACaps", "", nil)
	for _, c := range []string{"POSTPKIOperation", "SHA-256", "AES", "Renewal"} {
		if !strings.Contains(string(caps.Body), c) {
			t.Fatalf("GetCACaps lacks %s: %q", c, caps.Body)
		}
	}

	// Dynamic challenge: a one-time secret from the API.
	sec := e.Must(t, 201, "POST", "/api/v1/enrollment-secrets", admin, map[string]any{"profile": profile, "protocol": "scep"}).Map(t)
	dev1 := filepath.Join(e.dir, "dev1")
	if out, err := e.run(t, dev1, profile, sec["secret"].(string), "scep-dev1.example.com"); err != nil {
		t.Fatalf("scepclient with a dynamic challenge: %v\n%s\n%s", err, out, e.LogText())
	}
	c1 := e.certIn(t, dev1)
	inv := e.inventory(t, c1)
	if inv["owner"] != sec["id"] || inv["enrollment_method"] != "scep" || c1.Subject.CommonName != "scep-dev1.example.com" {
		t.Fatalf("dynamic-challenge certificate: %v", inv)
	}

	// Renewal: the client signs a RenewalReq with the certificate it holds.
	if out, err := e.run(t, dev1, profile, "", "scep-dev1.example.com"); err != nil {
		t.Fatalf("scepclient renewal: %v\n%s", err, out)
	}
	c2 := e.certIn(t, dev1)
	if c2.SerialNumber.Cmp(c1.SerialNumber) == 0 {
		t.Fatal("renewal returned the same certificate")
	}
	if old := e.inventory(t, c1); old["renewed_by"] != c2.SerialNumber.Text(16) {
		t.Fatalf("renewal not linked: %v", old)
	}
	if inv := e.inventory(t, c2); inv["owner"] != sec["id"] || inv["enrollment_method"] != "scep" {
		t.Fatalf("renewed certificate: %v", inv)
	}

	// The used one-time challenge is refused when replayed: failInfo badRequest.
	before := len(e.Must(t, 200, "GET", "/api/v1/certificates?limit=1000", admin, nil).Map(t)["items"].([]any))
	out, err := e.run(t, filepath.Join(e.dir, "replay"), profile, sec["secret"].(string), "scep-dev2.example.com")
	if err == nil || !strings.Contains(out, "badRequest") {
		t.Fatalf("replayed challenge: %v\n%s", err, out)
	}
	// A wrong challenge likewise.
	out, err = e.run(t, filepath.Join(e.dir, "wrong"), profile, "not-the-challenge-0123456789", "scep-dev3.example.com")
	if err == nil || !strings.Contains(out, "badRequest") {
		t.Fatalf("wrong challenge: %v\n%s", err, out)
	}
	if after := len(e.Must(t, 200, "GET", "/api/v1/certificates?limit=1000", admin, nil).Map(t)["items"].([]any)); after != before {
		t.Fatalf("refused enrollments issued certificates: %d -> %d", before, after)
	}
	if events := e.Must(t, 200, "GET", "/api/v1/audit-events?action=auth.failed&limit=100", admin, nil); strings.Count(string(events.Body), "/scep/"+profile) < 2 ||
		strings.Contains(string(events.Body), "not-the-challenge") {
		t.Fatalf("SCEP challenge refusals in the audit log: %s", events.Body)
	}

	// Static challenge set on the profile.
	st := e.Must(t, 200, "PUT", "/api/v1/profiles/"+profile+"/static-challenge/scep", admin,
		map[string]any{"challenge": "static-challenge-0123456789"}).Map(t)
	if st["challenge"] != "static-challenge-0123456789" {
		t.Fatalf("static challenge: %v", st)
	}
	for _, dev := range []string{"scep-dev4.example.com", "scep-dev5.example.com"} {
		dir := filepath.Join(e.dir, dev)
		if out, err := e.run(t, dir, profile, "static-challenge-0123456789", dev); err != nil {
			t.Fatalf("scepclient with the static challenge: %v\n%s", err, out)
		}
		if inv := e.inventory(t, e.certIn(t, dir)); !strings.HasPrefix(inv["owner"].(string), "scepstatic_") || inv["enrollment_method"] != "scep" {
			t.Fatalf("static-challenge certificate: %v", inv)
		}
	}
	e.Must(t, 204, "DELETE", "/api/v1/profiles/"+profile+"/static-challenge/scep", admin, nil)
	if out, err := e.run(t, filepath.Join(e.dir, "gone"), profile, "static-challenge-0123456789", "scep-dev6.example.com"); err == nil {
		t.Fatalf("removed static challenge still enrolls:\n%s", out)
	}
}

// rawSCEP is a minimal SCEP client written against the RFC with
// smallstep/pkcs7, for the message types and mistakes scepclient does not
// send (GetCertInitial, GetCert, GetCRL, tampered messages).
type rawSCEP struct {
	t      *testing.T
	url    string
	key    *rsa.PrivateKey
	self   *x509.Certificate
	ra     *x509.Certificate
	client *http.Client
	get    bool // send PKIOperation by GET instead of POST
}

func newRawSCEP(t *testing.T, e *env, profile, cn string) *rawSCEP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	self, _ := x509.ParseCertificate(der)
	r := e.Must(t, 200, "GET", "/scep/"+profile+"?operation=GetCACert", "", nil)
	if ct := r.Header.Get("Content-Type"); ct != "application/x-x509-ca-ra-cert" {
		t.Fatalf("GetCACert content type %q", ct)
	}
	p7, err := pkcs7.Parse(r.Body)
	if err != nil || len(p7.Certificates) != 3 {
		t.Fatalf("GetCACert: want RA + issuing + root: %v", err)
	}
	ra := p7.Certificates[0]
	if ra.KeyUsage&x509.KeyUsageKeyEncipherment == 0 || ra.CheckSignatureFrom(p7.Certificates[1]) != nil {
		t.Fatalf("the RA certificate must allow key encipherment and be signed by the issuing CA")
	}
	return &rawSCEP{t: t, url: e.URL + "/scep/" + profile, key: key, self: self, ra: ra, client: e.Client}
}

// csr builds a CSR for the client's key with a challengePassword.
func (c *rawSCEP) csr(cn, challenge string, dns ...string) []byte {
	return challengeCSR(c.t, c.key, cn, challenge, dns...)
}

// challengeCSR builds a CSR with a challengePassword attribute, which Go's
// x509 package cannot emit: the CertificationRequestInfo is re-encoded
// with the attribute and signed here.
func challengeCSR(t *testing.T, key *rsa.PrivateKey, cn, challenge string, dns ...string) []byte {
	t.Helper()
	type attr struct {
		Type   asn1.ObjectIdentifier
		Values []asn1.RawValue `asn1:"set"`
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}, DNSNames: dns}, key)
	if err != nil {
		t.Fatal(err)
	}
	if challenge == "" {
		return der
	}
	parsed, _ := x509.ParseCertificateRequest(der)
	var info struct {
		Version    int
		Subject    asn1.RawValue
		PublicKey  asn1.RawValue
		Attributes []asn1.RawValue `asn1:"tag:0"`
	}
	if _, err := asn1.Unmarshal(parsed.RawTBSCertificateRequest, &info); err != nil {
		t.Fatal(err)
	}
	pw, _ := asn1.MarshalWithParams(challenge, "printable")
	a, _ := asn1.Marshal(attr{Type: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 7}, Values: []asn1.RawValue{{FullBytes: pw}}})
	info.Attributes = append(info.Attributes, asn1.RawValue{FullBytes: a})
	tbs, err := asn1.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(tbs)
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, h[:])
	if err != nil {
		t.Fatal(err)
	}
	out, err := asn1.Marshal(struct {
		TBS asn1.RawValue
		Alg pkix.AlgorithmIdentifier
		Sig asn1.BitString
	}{asn1.RawValue{FullBytes: tbs}, pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}, Parameters: asn1.NullRawValue},
		asn1.BitString{Bytes: sig, BitLength: len(sig) * 8}})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type scepReply struct {
	status, failInfo string
	certs            []*x509.Certificate
	crl              bool
	http             int
}

// send signs content (enveloped to the RA) as messageType and returns the reply.
func (c *rawSCEP) send(messageType, transactionID string, content []byte, tamper bool) *scepReply {
	c.t.Helper()
	env, err := pkcs7.Encrypt(content, []*x509.Certificate{c.ra})
	if err != nil {
		c.t.Fatal(err)
	}
	sd, err := pkcs7.NewSignedData(env)
	if err != nil {
		c.t.Fatal(err)
	}
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	ps := func(s string) asn1.RawValue {
		b, _ := asn1.MarshalWithParams(s, "printable")
		return asn1.RawValue{FullBytes: b}
	}
	oid := func(n int) asn1.ObjectIdentifier { return asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, n} }
	if err := sd.AddSigner(c.self, c.key, pkcs7.SignerInfoConfig{ExtraSignedAttributes: []pkcs7.Attribute{
		{Type: oid(7), Value: ps(transactionID)}, {Type: oid(2), Value: ps(messageType)}, {Type: oid(5), Value: nonce}}}); err != nil {
		c.t.Fatal(err)
	}
	sd.AddCertificate(c.self)
	msg, err := sd.Finish()
	if err != nil {
		c.t.Fatal(err)
	}
	if tamper { // flip a byte of the signature at the end of the message
		msg[len(msg)-5] ^= 0xff
	}
	var resp *http.Response
	if c.get { // RFC 8894 section 4.1: GET with the base64 message in the query
		resp, err = c.client.Get(c.url + "?operation=PKIOperation&message=" + url.QueryEscape(base64.StdEncoding.EncodeToString(msg)))
	} else {
		resp, err = c.client.Post(c.url+"?operation=PKIOperation", "application/x-pki-message", bytes.NewReader(msg))
	}
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	rep := &scepReply{http: resp.StatusCode}
	if resp.StatusCode != 200 {
		return rep
	}
	p7, err := pkcs7.Parse(body)
	if err != nil {
		c.t.Fatalf("CertRep: %v", err)
	}
	p7.Certificates = []*x509.Certificate{c.ra}
	if err := p7.Verify(); err != nil {
		c.t.Fatalf("CertRep is not signed by the RA: %v", err)
	}
	var recipientNonce []byte
	_ = p7.UnmarshalSignedAttribute(oid(3), &rep.status)
	_ = p7.UnmarshalSignedAttribute(oid(4), &rep.failInfo)
	_ = p7.UnmarshalSignedAttribute(oid(6), &recipientNonce)
	if !bytes.Equal(recipientNonce, nonce) {
		c.t.Fatalf("recipientNonce does not echo the senderNonce")
	}
	if rep.status == "0" {
		envl, err := pkcs7.Parse(p7.Content)
		if err != nil {
			c.t.Fatalf("CertRep envelope: %v", err)
		}
		plain, err := envl.Decrypt(c.self, c.key)
		if err != nil {
			c.t.Fatalf("decrypt CertRep: %v", err)
		}
		deg, err := pkcs7.Parse(plain)
		if err != nil {
			c.t.Fatalf("CertRep content: %v", err)
		}
		rep.certs, rep.crl = deg.Certificates, len(deg.CRLs) > 0
	}
	return rep
}

func issuerAndSubject(t *testing.T, issuer *x509.Certificate, cn string) []byte {
	subj, _ := asn1.Marshal(pkix.Name{CommonName: cn}.ToRDNSequence())
	b, err := asn1.Marshal(struct{ Issuer, Subject asn1.RawValue }{asn1.RawValue{FullBytes: issuer.RawSubject}, asn1.RawValue{FullBytes: subj}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func issuerAndSerial(t *testing.T, issuer *x509.Certificate, serial *big.Int) []byte {
	b, err := asn1.Marshal(struct {
		Issuer asn1.RawValue
		Serial *big.Int
	}{asn1.RawValue{FullBytes: issuer.RawSubject}, serial})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSCEPPendingPollAndFailures: a manual-approval profile answers
// PENDING, GetCertInitial polls until a manager approves; GetCert and
// GetCRL answer; tampered messages, unsupported types and CSRs outside the
// template get their failInfo and issue nothing.
func TestSCEPPendingPollAndFailures(t *testing.T) {
	e := newEnv(t)
	e.Must(t, 201, "POST", "/api/v1/profiles", admin, map[string]any{"name": "scep-manual", "template": "tls-server",
		"ca": "signet-issuing", "approval": "manual", "enrollment_methods": []string{"scep"}})
	sec := e.Must(t, 201, "POST", "/api/v1/enrollment-secrets", admin, map[string]any{"profile": "scep-manual"}).Map(t)
	c := newRawSCEP(t, e, "scep-manual", "manual-dev.example.com")
	caResp := e.Must(t, 200, "GET", "/api/v1/cas/signet-issuing/certificate", "", nil)
	block, _ := pem.Decode(caResp.Body)
	issuing, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}

	csr := c.csr("manual-dev.example.com", sec["secret"].(string))
	if r := c.send("19", "tx-manual-1", csr, false); r.status != "3" {
		t.Fatalf("PKCSReq on a manual profile: %+v, want PENDING", r)
	}
	if r := c.send("20", "tx-manual-1", issuerAndSubject(t, issuing, "manual-dev.example.com"), false); r.status != "3" {
		t.Fatalf("GetCertInitial before approval: %+v", r)
	}
	// The same PKCSReq resent (what scepclient does while PENDING) polls
	// the transaction: still PENDING, and nothing more is pending.
	if r := c.send("19", "tx-manual-1", csr, false); r.status != "3" {
		t.Fatalf("resent PKCSReq before approval: %+v", r)
	}
	// Another key cannot poll this transaction.
	other := newRawSCEP(t, e, "scep-manual", "intruder.example.com")
	if r := other.send("20", "tx-manual-1", issuerAndSubject(t, issuing, "manual-dev.example.com"), false); r.status != "2" || r.failInfo != "1" {
		t.Fatalf("poll by another key: %+v", r)
	}
	reqs := e.Must(t, 200, "GET", "/api/v1/requests?status=pending", admin, nil).Map(t)["items"].([]any)
	if len(reqs) != 1 || reqs[0].(map[string]any)["enrollment_method"] != "scep" {
		t.Fatalf("pending requests: %v", reqs)
	}
	e.Must(t, 200, "POST", "/api/v1/requests/"+reqs[0].(map[string]any)["id"].(string)+"/approve", admin, nil)
	r := c.send("20", "tx-manual-1", issuerAndSubject(t, issuing, "manual-dev.example.com"), false)
	if r.status != "0" || len(r.certs) != 1 || r.certs[0].Subject.CommonName != "manual-dev.example.com" {
		t.Fatalf("GetCertInitial after approval: %+v", r)
	}
	leaf := r.certs[0]
	if err := leaf.CheckSignatureFrom(issuing); err != nil {
		t.Fatalf("issued certificate: %v", err)
	}
	if r := c.send("19", "tx-manual-1", csr, false); r.status != "0" || len(r.certs) != 1 || r.certs[0].SerialNumber.Cmp(leaf.SerialNumber) != 0 {
		t.Fatalf("resent PKCSReq after approval: %+v", r)
	}
	if inv := e.Must(t, 200, "GET", "/api/v1/certificates/"+leaf.SerialNumber.Text(16), admin, nil).Map(t); inv["owner"] != sec["id"] || inv["enrollment_method"] != "scep" {
		t.Fatalf("approved SCEP certificate: %v", inv)
	}

	// GetCert by issuer and serial; GetCRL of the issuing CA.
	if r := c.send("21", "tx-getcert", issuerAndSerial(t, issuing, leaf.SerialNumber), false); r.status != "0" || len(r.certs) != 1 ||
		r.certs[0].SerialNumber.Cmp(leaf.SerialNumber) != 0 {
		t.Fatalf("GetCert: %+v", r)
	}
	if r := c.send("21", "tx-getcert2", issuerAndSerial(t, issuing, big.NewInt(12345)), false); r.status != "2" || r.failInfo != "4" {
		t.Fatalf("GetCert of an unknown serial: %+v", r)
	}
	if r := c.send("22", "tx-getcrl", issuerAndSerial(t, issuing, leaf.SerialNumber), false); r.status != "0" || !r.crl {
		t.Fatalf("GetCRL: %+v", r)
	}
	c.get = true
	if r := c.send("22", "tx-getcrl-get", issuerAndSerial(t, issuing, leaf.SerialNumber), false); r.status != "0" || !r.crl {
		t.Fatalf("GetCRL by GET: %+v", r)
	}
	c.get = false

	before := len(e.Must(t, 200, "GET", "/api/v1/certificates?limit=1000", admin, nil).Map(t)["items"].([]any))
	sec2 := e.Must(t, 201, "POST", "/api/v1/enrollment-secrets", admin, map[string]any{"profile": "tls-server"}).Map(t)
	d := newRawSCEP(t, e, "tls-server", "auto-dev.example.com")
	for _, tc := range []struct {
		name, msgType string
		content       []byte
		tamper        bool
		wantFail      string
	}{
		{"tampered signature", "19", d.csr("auto-dev.example.com", sec2["secret"].(string)), true, "1"},
		{"unsupported message type", "99", d.csr("auto-dev.example.com", sec2["secret"].(string)), false, "2"},
		{"CSR outside the template", "19", d.csr("auto-dev.example.com", sec2["secret"].(string), "bad_name!"), false, "2"},
		{"no challenge", "19", d.csr("auto-dev.example.com", ""), false, "2"},
		{"content that is no CSR", "19", []byte{0x30, 0x03, 0x02, 0x01, 0x01}, false, "2"},
		{"GetCertInitial of no transaction", "20", issuerAndSubject(t, issuing, "auto-dev.example.com"), false, "4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := d.send(tc.msgType, "tx-"+strings.ReplaceAll(tc.name, " ", "-"), tc.content, tc.tamper)
			if r.http != 200 || r.status != "2" || r.failInfo != tc.wantFail {
				t.Fatalf("got %+v, want failure %s", r, tc.wantFail)
			}
		})
	}
	if after := len(e.Must(t, 200, "GET", "/api/v1/certificates?limit=1000", admin, nil).Map(t)["items"].([]any)); after != before {
		t.Fatalf("refused messages issued certificates: %d -> %d", before, after)
	}
	// The secret survived the refused CSR: it still enrolls once.
	r = d.send("19", "tx-good", d.csr("auto-dev.example.com", sec2["secret"].(string), "auto-dev.example.com"), false)
	if r.status != "0" || len(r.certs) != 1 {
		t.Fatalf("enrollment after refusals: %+v", r)
	}
	// Re-enrollment the RFC 8894 section 2.3 way: a PKCSReq without
	// challenge, signed with the certificate Signet issued.
	holder := *d
	holder.self = r.certs[0]
	renewed := holder.send("19", "tx-reenroll", d.csr("auto-dev.example.com", "", "auto-dev.example.com"), false)
	if renewed.status != "0" || len(renewed.certs) != 1 {
		t.Fatalf("re-enrollment PKCSReq: %+v", renewed)
	}
	if old := e.Must(t, 200, "GET", "/api/v1/certificates/"+r.certs[0].SerialNumber.Text(16), admin, nil).Map(t); old["renewed_by"] != renewed.certs[0].SerialNumber.Text(16) {
		t.Fatalf("re-enrollment not linked: %v", old)
	}
	// The renewed certificate cannot renew again.
	if again := holder.send("17", "tx-renew-again", d.csr("auto-dev.example.com", "", "auto-dev.example.com"), false); again.status != "2" || again.failInfo != "2" {
		t.Fatalf("second renewal of one certificate: %+v", again)
	}

	// A revoked certificate renews nothing: failInfo badCertID.
	e.Must(t, 200, "POST", "/api/v1/certificates/"+renewed.certs[0].SerialNumber.Text(16)+"/revoke", admin, map[string]any{"reason": "superseded"})
	holder.self = renewed.certs[0]
	if again := holder.send("17", "tx-renew-revoked", d.csr("auto-dev.example.com", "", "auto-dev.example.com"), false); again.status != "2" || again.failInfo != "4" {
		t.Fatalf("renewal with a revoked certificate: %+v", again)
	}

	// HTTP-level refusals: unknown profile, unknown operation, garbage.
	e.Must(t, 200, "GET", "/scep/tls-server/cgi-bin/pkiclient.exe?operation=GetCACaps", "", nil)
	e.Must(t, 404, "GET", "/scep/nope?operation=GetCACaps", "", nil)
	e.Must(t, 400, "GET", "/scep/tls-client?operation=Nope", "", nil)
	e.Must(t, 400, "POST", "/scep/tls-client?operation=PKIOperation", "", "garbage")
	e.Must(t, 400, "GET", "/scep/tls-client?operation=PKIOperation&message=%%%", "", nil)
}
