package revocation

import (
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"log/slog"
	"math/big"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

// memStatus is an in-memory StatusSource keyed by CA id and hex serial.
type memStatus struct {
	mu      sync.Mutex
	certs   map[string]CertStatus
	err     error
	lookups atomic.Int64
	// gate, when set, is waited on inside every lookup.
	gate chan struct{}
	// entered receives a value when a lookup starts, if set.
	entered chan struct{}
}

func newMemStatus() *memStatus { return &memStatus{certs: map[string]CertStatus{}} }

func (m *memStatus) set(caID string, serial *big.Int, st CertStatus) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st.Known = true
	m.certs[caID+"/"+serial.Text(16)] = st
}

func (m *memStatus) CertStatus(ctx context.Context, caID string, serial *big.Int) (CertStatus, error) {
	m.lookups.Add(1)
	m.mu.Lock()
	st, err, gate, entered := m.certs[caID+"/"+serial.Text(16)], m.err, m.gate, m.entered
	m.mu.Unlock()
	if entered != nil {
		entered <- struct{}{}
	}
	if gate != nil {
		<-gate
	}
	return st, err
}

// memDir is an in-memory CADirectory.
type memDir struct {
	mu    sync.Mutex
	cas   []CA
	reads atomic.Int64
	err   error
}

func (d *memDir) CAs(context.Context) ([]CA, error) {
	d.reads.Add(1)
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]CA(nil), d.cas...), d.err
}

func (d *memDir) add(ca CA) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cas = append(d.cas, ca)
}

// testClock is an injectable clock tests move by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// recorder collects RecordResponderCert calls.
type recorder struct {
	mu   sync.Mutex
	ders [][]byte
	fail error
}

func (rc *recorder) record(_ context.Context, caID string, der []byte) error {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.fail != nil {
		return rc.fail
	}
	rc.ders = append(rc.ders, der)
	return nil
}

func (rc *recorder) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.ders)
}

func (rc *recorder) last() []byte {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.ders) == 0 {
		return nil
	}
	return rc.ders[len(rc.ders)-1]
}

// ocspFixture is a responder over one Signet CA (id "ca_main") with a leaf.
type ocspFixture struct {
	ca     *testCA
	leaf   *x509.Certificate
	status *memStatus
	dir    *memDir
	clock  *testClock
	rec    *recorder
	r      *Responder
}

func newOCSPFixture(t testing.TB, mode SigningMode, kind string, tweak func(*ResponderConfig)) *ocspFixture {
	t.Helper()
	f := &ocspFixture{status: newMemStatus(), dir: &memDir{}, rec: &recorder{}}
	f.clock = &testClock{now: time.Now().Truncate(time.Second)}
	f.ca = newTestCA(t, kind, "OCSP Test CA "+kind, f.clock.now.Add(-24*time.Hour), 3*365*24*time.Hour)
	f.leaf = f.ca.issueLeaf(t, big.NewInt(0x5151), f.clock.now.Add(-time.Hour))
	f.dir.add(CA{ID: "ca_main", Certificate: f.ca.cert, Signer: f.ca.key})
	f.status.set("ca_main", f.leaf.SerialNumber, CertStatus{Status: StatusGood})
	cfg := ResponderConfig{Mode: mode, Now: f.clock.Now, Logger: slog.New(slog.DiscardHandler)}
	if mode == SignDelegated {
		cfg.RecordResponderCert = f.rec.record
	}
	if tweak != nil {
		tweak(&cfg)
	}
	r, err := NewResponder(f.dir, f.status, cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.r = r
	return f
}

// request is an OCSP request for serial under issuer.
func request(t testing.TB, issuer *x509.Certificate, serial *big.Int, h crypto.Hash) []byte {
	t.Helper()
	der, err := ocsp.CreateRequest(&x509.Certificate{SerialNumber: serial}, issuer, &ocsp.RequestOptions{Hash: h})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// ASN.1 shapes for building requests x/crypto/ocsp cannot: with extensions
// or several certificates.
type (
	tCertID struct {
		Alg      pkix.AlgorithmIdentifier
		NameHash []byte
		KeyHash  []byte
		Serial   *big.Int
	}
	tSingle struct{ Cert tCertID }
	tTBS    struct {
		List []tSingle
		Exts []pkix.Extension `asn1:"explicit,tag:2,optional"`
	}
	tRequest struct{ TBS tTBS }
)

// customRequest rebuilds base (a one-certificate request) with the given
// copies of its certificate and request extensions.
func customRequest(t testing.TB, base []byte, copies int, exts []pkix.Extension) []byte {
	t.Helper()
	req, err := ocsp.ParseRequest(base)
	if err != nil {
		t.Fatal(err)
	}
	oid := map[crypto.Hash]asn1.ObjectIdentifier{
		crypto.SHA1:   {1, 3, 14, 3, 2, 26},
		crypto.SHA256: {2, 16, 840, 1, 101, 3, 4, 2, 1},
	}[req.HashAlgorithm]
	one := tSingle{tCertID{pkix.AlgorithmIdentifier{Algorithm: oid, Parameters: asn1.NullRawValue}, req.IssuerNameHash, req.IssuerKeyHash, req.SerialNumber}}
	var tr tRequest
	for range copies {
		tr.TBS.List = append(tr.TBS.List, one)
	}
	tr.TBS.Exts = exts
	der, err := asn1.Marshal(tr)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// nonceExt is a nonce extension the way OpenSSL sends it.
func nonceExt(t testing.TB, nonce []byte) pkix.Extension {
	t.Helper()
	v, err := asn1.Marshal(nonce)
	if err != nil {
		t.Fatal(err)
	}
	return pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 2}, Value: v}
}

// responseExtensions returns the responseExtensions of a parsed response,
// which x/crypto/ocsp does not expose.
func responseExtensions(t testing.TB, resp *ocsp.Response) []pkix.Extension {
	t.Helper()
	var rd struct {
		Version     int `asn1:"optional,default:0,explicit,tag:0"`
		ResponderID asn1.RawValue
		ProducedAt  time.Time `asn1:"generalized"`
		Responses   []asn1.RawValue
		Exts        []pkix.Extension `asn1:"explicit,tag:1,optional"`
	}
	if _, err := asn1.Unmarshal(resp.TBSResponseData, &rd); err != nil {
		t.Fatal(err)
	}
	return rd.Exts
}

// parseOK parses a successful response for serial and verifies its signature chain.
func parseOK(t testing.TB, der []byte, serial *big.Int, issuer *x509.Certificate) *ocsp.Response {
	t.Helper()
	resp, err := ocsp.ParseResponseForCert(der, &x509.Certificate{SerialNumber: serial}, issuer)
	if err != nil {
		t.Fatalf("ParseResponseForCert: %v", err)
	}
	if resp.SerialNumber.Cmp(serial) != 0 {
		t.Fatalf("response is for serial %v, want %v", resp.SerialNumber, serial)
	}
	return resp
}

// responseStatus returns the OCSP status of an error response, or Success.
func responseStatus(t testing.TB, der []byte) ocsp.ResponseStatus {
	t.Helper()
	_, err := ocsp.ParseResponse(der, nil)
	var re ocsp.ResponseError
	if errors.As(err, &re) {
		return re.Status
	}
	return ocsp.Success
}
