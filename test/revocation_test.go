package test

import (
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/config"
	"github.com/signet-pki/signet/internal/testutil"
)

// TestRevocationStatusWithOpenSSL checks what relying parties see: issued
// certificates point to the CRL and OCSP responder; openssl ocsp reports
// good, revoked, on hold and good again after resume; openssl accepts each
// CRL and rejects a revoked certificate with -crl_check; the delta CRL
// carries removeFromCRL for a resumed certificate.
func TestRevocationStatusWithOpenSSL(t *testing.T) {
	e := newEnv(t)
	dir := e.dir
	issuing := e.Must(t, 200, "GET", "/api/v1/cas/signet-issuing", admin, nil).Map(t)
	caID := issuing["id"].(string)
	testutil.WriteFile(t, dir, "issuing.pem", []byte(issuing["certificate_pem"].(string)))
	root := e.rootFile(t)
	chain := testutil.WriteFile(t, dir, "chain.pem", []byte(issuing["certificate_pem"].(string)+readFile(t, root)))

	issue := func(name string) (serial, file string) {
		m := e.Must(t, 201, "POST", "/api/v1/certificates", admin, map[string]any{"profile": "tls-server",
			"keygen": map[string]any{"algorithm": "ecdsa", "bits": 256}, "sans": []string{name + ".example.com"}}).Map(t)
		return str(m, "certificate", "serial"), testutil.WriteFile(t, dir, name+".pem", []byte(str(m, "certificate", "certificate_pem")))
	}
	leafSerial, leaf := issue("leaf")
	heldSerial, held := issue("held")
	_, good := issue("good")

	cert := parseCertFile(t, leaf)
	if len(cert.CRLDistributionPoints) != 1 || cert.CRLDistributionPoints[0] != e.URL+"/crl/"+caID+".crl" ||
		len(cert.OCSPServer) != 1 || cert.OCSPServer[0] != e.URL+"/ocsp" ||
		len(cert.IssuingCertificateURL) != 1 || !strings.HasPrefix(cert.IssuingCertificateURL[0], e.URL+"/api/v1/cas/"+caID) {
		t.Fatalf("AIA/CDP: crl %v ocsp %v issuers %v", cert.CRLDistributionPoints, cert.OCSPServer, cert.IssuingCertificateURL)
	}
	// The caIssuers URL serves the issuing CA certificate in DER, unauthenticated.
	aia := e.Must(t, 200, "GET", strings.TrimPrefix(cert.IssuingCertificateURL[0], e.URL), "", nil)
	if ic, err := x509.ParseCertificate(aia.Body); err != nil || cert.CheckSignatureFrom(ic) != nil {
		t.Fatalf("caIssuers URL: %v", err)
	}

	ocspStatus := func(file string) string {
		out := testutil.Openssl(t, dir, "ocsp", "-issuer", "issuing.pem", "-cert", file, "-url", e.URL+"/ocsp",
			"-CAfile", chain, "-no_nonce")
		if !strings.Contains(out, "Response verify OK") {
			t.Fatalf("openssl could not verify the OCSP response:\n%s", out)
		}
		return out
	}
	if out := ocspStatus(leaf); !strings.Contains(out, leaf+": good") {
		t.Fatalf("before revocation:\n%s", out)
	}
	e.Must(t, 400, "POST", "/api/v1/certificates/"+leafSerial+"/revoke", admin, map[string]any{"reason": "key_compromise",
		"invalidity_date": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	compromised := time.Now().Add(-48 * time.Hour).UTC().Truncate(time.Second)
	e.Must(t, 200, "POST", "/api/v1/certificates/"+leafSerial+"/revoke", admin, map[string]any{"reason": "key_compromise",
		"invalidity_date": compromised.Format(time.RFC3339)})
	e.Must(t, 200, "POST", "/api/v1/certificates/"+heldSerial+"/suspend", admin, nil)
	if out := ocspStatus(leaf); !strings.Contains(out, leaf+": revoked") || !strings.Contains(out, "keyCompromise") {
		t.Fatalf("OCSP right after revocation:\n%s", out)
	}
	if out := ocspStatus(held); !strings.Contains(out, held+": revoked") || !strings.Contains(out, "certificateHold") {
		t.Fatalf("OCSP right after suspension:\n%s", out)
	}
	// With a nonce: echoed and verified by openssl.
	if out := testutil.Openssl(t, dir, "ocsp", "-issuer", "issuing.pem", "-cert", good, "-url", e.URL+"/ocsp", "-CAfile", chain); !strings.Contains(out, good+": good") || strings.Contains(out, "WARNING: no nonce") {
		t.Fatalf("OCSP with a nonce:\n%s", out)
	}

	crl := e.waitForCRL(t, caID, false, func(l *x509.RevocationList) bool {
		return hasEntry(l, leafSerial, 1) && hasEntry(l, heldSerial, 6)
	})
	crlFile := testutil.WriteFile(t, dir, "full.crl", crl)
	if out := testutil.Openssl(t, dir, "crl", "-inform", "DER", "-in", crlFile, "-CAfile", "issuing.pem", "-noout", "-verify", "-text"); !strings.Contains(out, "verify OK") ||
		!strings.Contains(out, "Invalidity Date") || !strings.Contains(out, compromised.Format("Jan _2 15:04:05 2006")) || !strings.Contains(out, "Certificate Hold") {
		t.Fatalf("openssl crl -verify -text:\n%s", out)
	}
	crlPEM := testutil.WriteFile(t, dir, "full.crl.pem", pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: crl}))
	if out, err := testutil.OpensslErr(dir, "verify", "-crl_check", "-CAfile", chain, "-CRLfile", crlPEM, leaf); err == nil || !strings.Contains(out, "revoked") {
		t.Fatalf("openssl verify -crl_check accepted a revoked certificate: %v\n%s", err, out)
	}
	if out := testutil.Openssl(t, dir, "verify", "-crl_check", "-CAfile", chain, "-CRLfile", crlPEM, good); !strings.Contains(out, "OK") {
		t.Fatalf("openssl verify -crl_check of a good certificate:\n%s", out)
	}

	// Resume: OCSP says good at once; the next full CRL drops it and the
	// delta marks it removeFromCRL.
	e.Must(t, 200, "POST", "/api/v1/certificates/"+heldSerial+"/resume", admin, nil)
	if out := ocspStatus(held); !strings.Contains(out, held+": good") {
		t.Fatalf("OCSP right after resume:\n%s", out)
	}
	e.waitForCRL(t, caID, false, func(l *x509.RevocationList) bool { return !hasEntry(l, heldSerial, -1) && hasEntry(l, leafSerial, 1) })
	delta := e.waitForCRL(t, caID, true, func(l *x509.RevocationList) bool { return hasEntry(l, heldSerial, 8) })
	deltaFile := testutil.WriteFile(t, dir, "delta.crl", delta)
	if out := testutil.Openssl(t, dir, "crl", "-inform", "DER", "-in", deltaFile, "-CAfile", "issuing.pem", "-noout", "-verify", "-text"); !strings.Contains(out, "verify OK") || !strings.Contains(out, "Delta CRL Indicator") || !strings.Contains(out, "Remove From CRL") {
		t.Fatalf("delta CRL:\n%s", out)
	}
	// Caching headers, PEM on request, conditional GET.
	r := e.Must(t, 200, "GET", "/crl/"+caID+".crl", "", nil)
	if r.Header.Get("Content-Type") != "application/pkix-crl" || r.Header.Get("ETag") == "" || r.Header.Get("Expires") == "" ||
		!strings.Contains(r.Header.Get("Cache-Control"), "max-age=") {
		t.Fatalf("CRL headers: %v", r.Header)
	}
	e.Must(t, 304, "GET", "/crl/"+caID+".crl", "", nil, "If-None-Match", r.Header.Get("ETag"))
	if p := e.Must(t, 200, "GET", "/crl/signet-issuing.crl.pem", "", nil); !strings.HasPrefix(string(p.Body), "-----BEGIN X509 CRL-----") {
		t.Fatalf("PEM CRL by CA name: %.80s", p.Body)
	}
	e.Must(t, 404, "GET", "/crl/no-such-ca.crl", "", nil)
	// Malformed OCSP requests get an OCSP malformedRequest answer, not an HTTP error.
	bad := e.Do(t, "POST", "/ocsp", "", []byte("not an OCSP request"), "Content-Type", "application/ocsp-request")
	if bad.Status != 200 || bad.Header.Get("Content-Type") != "application/ocsp-response" || len(bad.Body) < 3 || bad.Body[len(bad.Body)-1] != 1 {
		t.Fatalf("malformed OCSP request: %d %q % x", bad.Status, bad.Header.Get("Content-Type"), bad.Body)
	}
}

// waitForCRL polls the CA's published CRL until ok accepts it: CRLs are
// regenerated in the background right after a status change.
func (e *env) waitForCRL(t *testing.T, caID string, delta bool, ok func(*x509.RevocationList) bool) []byte {
	t.Helper()
	name := caID + ".crl"
	if delta {
		name = caID + "-delta.crl"
	}
	deadline := time.Now().Add(30 * time.Second) // publication is asynchronous; CI machines are busy
	for {
		r := e.Do(t, "GET", "/crl/"+name, "", nil)
		if r.Status == 200 {
			l, err := x509.ParseRevocationList(r.Body)
			if err != nil {
				t.Fatalf("parse %s: %v", name, err)
			}
			if ok(l) {
				return r.Body
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never reached the expected state (last status %d); server log:\n%s", name, r.Status, e.LogText())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// hasEntry reports whether l lists serial (hex) with reason (-1: any).
func hasEntry(l *x509.RevocationList, serial string, reason int) bool {
	n, _ := new(big.Int).SetString(serial, 16)
	for _, e := range l.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(n) == 0 {
			return reason < 0 || e.ReasonCode == reason
		}
	}
	return false
}

func parseCertFile(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b := readFile(t, path)
	blk, _ := pem.Decode([]byte(b))
	if blk == nil {
		t.Fatalf("%s: no PEM", path)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// opensslCert makes a certificate of another issuer with openssl: a
// self-signed P-256 certificate valid for 30 days, written to e.dir as
// name.pem (its key as name.key); extra are more `openssl req` arguments,
// such as an -addext. It returns the certificate's file name.
func (e *env) opensslCert(t *testing.T, name, subject string, extra ...string) string {
	t.Helper()
	testutil.Openssl(t, e.dir, append([]string{"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", name + ".key", "-out", name + ".pem", "-subj", subject, "-days", "30"}, extra...)...)
	return name + ".pem"
}

// TestDelegatedOCSPResponder: with ocsp_signing: delegated, responses are
// signed by a responder certificate the CA issued (id-kp-OCSPSigning,
// ocsp-nocheck), which openssl accepts and which is in the inventory.
func TestDelegatedOCSPResponder(t *testing.T) {
	e := &env{Server: testutil.StartServerWith(t, func(c *config.Config) { c.OCSPSigning = "delegated" }), dir: t.TempDir(),
		principals: map[string]string{}}
	issuing := e.Must(t, 200, "GET", "/api/v1/cas/signet-issuing", admin, nil).Map(t)
	testutil.WriteFile(t, e.dir, "issuing.pem", []byte(issuing["certificate_pem"].(string)))
	chain := testutil.WriteFile(t, e.dir, "chain.pem", []byte(issuing["certificate_pem"].(string)+readFile(t, e.rootFile(t))))
	serial, _ := e.issue(t, admin, "delegated")
	leaf := testutil.WriteFile(t, e.dir, "leaf.pem", e.Must(t, 200, "GET", "/api/v1/certificates/"+serial+"/download", admin, nil).Body)
	out := testutil.Openssl(t, e.dir, "ocsp", "-issuer", "issuing.pem", "-cert", leaf, "-url", e.URL+"/ocsp", "-CAfile", chain, "-resp_text")
	if !strings.Contains(out, "Response verify OK") || !strings.Contains(out, leaf+": good") ||
		!strings.Contains(out, "OCSP Signing") || !strings.Contains(out, "OCSP No Check") {
		t.Fatalf("delegated OCSP:\n%s", out)
	}
	recorded := e.Must(t, 200, "GET", "/api/v1/certificates?label.purpose=ocsp-responder&ca="+issuing["id"].(string), admin, nil).Map(t)["items"].([]any)
	if len(recorded) != 1 {
		t.Fatalf("the issuing CA's responder certificate should be in the inventory once, found %d", len(recorded))
	}
}

// TestCRLAndOCSPCommands drives signet crl list|get and signet ocsp check.
func TestCRLAndOCSPCommands(t *testing.T) {
	e := newEnv(t)
	serial, _ := e.issue(t, admin, "cli")
	leaf := testutil.WriteFile(t, e.dir, "leaf.pem", e.Must(t, 200, "GET", "/api/v1/certificates/"+serial+"/download", admin, nil).Body)
	cli := func(args ...string) (string, error) {
		out, _, err := runCLI(append([]string{"--server", e.URL, "--api-key", admin}, args...)...)
		return out, err
	}
	if out, err := cli("ocsp", "check", leaf); err != nil || !strings.Contains(out, "STATUS       good") {
		t.Fatalf("ocsp check of a good certificate: %v\n%s", err, out)
	}
	e.Must(t, 200, "POST", "/api/v1/certificates/"+serial+"/revoke", admin, map[string]any{"reason": "superseded"})
	out, err := cli("ocsp", "check", leaf)
	if err == nil || !strings.Contains(out, "STATUS       revoked") || !strings.Contains(out, "superseded") {
		t.Fatalf("ocsp check of a revoked certificate: %v\n%s", err, out)
	}
	issuingID := e.Must(t, 200, "GET", "/api/v1/cas/signet-issuing", admin, nil).Map(t)["id"].(string)
	e.waitForCRL(t, issuingID, false, func(l *x509.RevocationList) bool { return hasEntry(l, serial, 4) })
	crlFile := e.dir + "/cli.crl"
	if _, err := cli("crl", "get", "signet-issuing", "--out", crlFile); err != nil {
		t.Fatal(err)
	}
	if out := testutil.Openssl(t, e.dir, "crl", "-in", crlFile, "-noout", "-text"); !strings.Contains(strings.ToUpper(out), strings.ToUpper(serial)) {
		t.Fatalf("signet crl get: the revoked serial is missing:\n%s", out)
	}
	if out, err := cli("crl", "list"); err != nil || !strings.Contains(out, issuingID) || !strings.Contains(out, "delta") {
		t.Fatalf("signet crl list: %v\n%s", err, out)
	}
}
