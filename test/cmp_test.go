package test

import (
	"bytes"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/testutil"
)

// cmpEnv drives the real `openssl cmp` client (OpenSSL 3) against a server.
type cmpEnv struct {
	*env
	root string
}

func newCMPEnv(t *testing.T) *cmpEnv {
	t.Helper()
	e := newEnv(t)
	return &cmpEnv{env: e, root: e.rootFile(t)}
}

// cmp runs openssl cmp against /cmp/{profile}; it returns the output and
// whether the client succeeded.
func (e *cmpEnv) cmp(t *testing.T, profile string, args ...string) (string, bool) {
	t.Helper()
	return e.cmpAt(t, "cmp/"+profile, args...)
}

// cmpAt runs openssl cmp against a server path.
func (e *cmpEnv) cmpAt(t *testing.T, path string, args ...string) (string, bool) {
	t.Helper()
	base := []string{"cmp", "-server", strings.TrimPrefix(e.URL, "http://"), "-path", path,
		"-msg_timeout", "20", "-total_timeout", "60", "-keep_alive", "0"}
	out, err := testutil.OpensslErr(e.dir, append(base, args...)...)
	t.Logf("openssl cmp %s -> %v\n%s", strings.Join(args, " "), err, out)
	return out, err == nil
}

// secret creates a one-time shared secret for a profile through the API.
func (e *cmpEnv) secret(t *testing.T, profile string) (ref, secret string) {
	t.Helper()
	m := e.Must(t, 201, "POST", "/api/v1/cmp/secrets", admin, map[string]any{"profile": profile, "name": "device"}).Map(t)
	return m["reference"].(string), m["secret"].(string)
}

func (e *cmpEnv) key(t *testing.T, name string, args ...string) string {
	t.Helper()
	if len(args) == 0 {
		args = ecKey
	}
	p := filepath.Join(e.dir, name+".key")
	testutil.Openssl(t, e.dir, append([]string{"genpkey", "-out", p}, args...)...)
	return p
}

func (e *cmpEnv) certCount(t *testing.T) int {
	t.Helper()
	var page struct {
		Items []map[string]any `json:"items"`
	}
	e.Must(t, 200, "GET", "/api/v1/certificates?limit=1000", admin, nil).JSON(t, &page)
	return len(page.Items)
}

func serialOfFile(t *testing.T, path string) string {
	t.Helper()
	return strings.ToLower(strings.TrimLeft(parseCertFile(t, path).SerialNumber.Text(16), "0"))
}

// TestCMPEnrollUpdateRevokeWithOpenSSL: genm answers out of the box; ir with
// a shared secret (certConf and implicit confirmation), p10cr, kur signed
// with the issued certificate, rr, and OCSP then says revoked.
func TestCMPEnrollUpdateRevokeWithOpenSSL(t *testing.T) {
	e := newCMPEnv(t)

	// genm for the CA certificates, unprotected, the answer signed by the CA.
	out, ok := e.cmp(t, "tls-server", "-cmd", "genm", "-unprotected_requests", "-ref", "anonymous", "-trusted", e.root, "-recipient", "/CN=Signet Issuing CA/O=Signet")
	if !ok || !strings.Contains(out, "caCerts") && !strings.Contains(out, "1.3.6.1.5.5.7.4.17") {
		t.Fatalf("genm:\n%s", out)
	}

	// ir with -ref/-secret, with certConf.
	ref, secret := e.secret(t, "tls-server")
	k1 := e.key(t, "cmp1")
	out, ok = e.cmp(t, "tls-server", "-cmd", "ir", "-ref", ref, "-secret", "pass:"+secret, "-newkey", k1,
		"-subject", "/CN=cmp1.example.com", "-sans", "cmp1.example.com", "-certout", "cmp1.pem",
		"-cacertsout", "capubs.pem", "-extracertsout", "extra.pem")
	if !ok {
		t.Fatalf("ir:\n%s", out)
	}
	e.verifyFile(t, filepath.Join(e.dir, "cmp1.pem"), filepath.Join(e.dir, "extra.pem"))
	if capubs := readFile(t, filepath.Join(e.dir, "capubs.pem")); capubs != readFile(t, e.root) {
		t.Fatalf("caPubs is not the root:\n%s", capubs)
	}
	serial1 := serialOfFile(t, filepath.Join(e.dir, "cmp1.pem"))
	c := e.Must(t, 200, "GET", "/api/v1/certificates/"+serial1, admin, nil).Map(t)
	if c["enrollment_method"] != "cmp" || c["owner"] != ref {
		t.Fatalf("inventory: method %v owner %v, want cmp and %s", c["enrollment_method"], c["owner"], ref)
	}

	// The same secret again: refused, nothing issued.
	before := e.certCount(t)
	out, ok = e.cmp(t, "tls-server", "-cmd", "ir", "-ref", ref, "-secret", "pass:"+secret, "-newkey", k1,
		"-subject", "/CN=cmp1b.example.com", "-certout", "cmp1b.pem", "-unprotected_errors")
	if ok || !strings.Contains(out, "notAuthorized") {
		t.Fatalf("a replayed secret:\n%s", out)
	}
	if n := e.certCount(t); n != before {
		t.Fatalf("a replayed secret issued: %d certificates, was %d", n, before)
	}

	// ir with implicit confirmation.
	ref2, secret2 := e.secret(t, "tls-server")
	out, ok = e.cmp(t, "tls-server", "-cmd", "ir", "-ref", ref2, "-secret", "pass:"+secret2, "-newkey", e.key(t, "cmp3"),
		"-subject", "/CN=cmp3.example.com", "-certout", "cmp3.pem", "-implicit_confirm")
	if !ok {
		t.Fatalf("ir with implicit confirmation:\n%s", out)
	}

	// cr signed with an issued certificate: a further certificate for the
	// same owner.
	out, ok = e.cmp(t, "tls-server", "-cmd", "cr", "-cert", "cmp3.pem", "-key", filepath.Join(e.dir, "cmp3.key"),
		"-newkey", e.key(t, "cmp5"), "-subject", "/CN=cmp5.example.com", "-sans", "cmp5.example.com", "-certout", "cmp5.pem", "-trusted", e.root)
	if !ok {
		t.Fatalf("cr:\n%s", out)
	}
	if c := e.Must(t, 200, "GET", "/api/v1/certificates/"+serialOfFile(t, filepath.Join(e.dir, "cmp5.pem")), admin, nil).Map(t); c["owner"] != ref2 {
		t.Fatalf("cr certificate owner %v, want %s", c["owner"], ref2)
	}

	// p10cr with a PKCS#10 request.
	ref3, secret3 := e.secret(t, "tls-server")
	_, csr := e.csr(t, "p10", "/CN=p10.example.com", "DNS:p10.example.com", ecKey...)
	csrFile := testutil.WriteFile(t, e.dir, "p10.csr", []byte(csr))
	out, ok = e.cmp(t, "tls-server", "-cmd", "p10cr", "-ref", ref3, "-secret", "pass:"+secret3, "-csr", csrFile, "-certout", "p10.pem")
	if !ok {
		t.Fatalf("p10cr:\n%s", out)
	}
	if cert := parseCertFile(t, filepath.Join(e.dir, "p10.pem")); len(cert.DNSNames) != 1 || cert.DNSNames[0] != "p10.example.com" {
		t.Fatalf("p10cr certificate names %v", cert.DNSNames)
	}

	// rr signed by one owner's certificate for another owner's: refused.
	out, ok = e.cmp(t, "tls-server", "-cmd", "rr", "-cert", "cmp3.pem", "-key", filepath.Join(e.dir, "cmp3.key"), "-oldcert", "p10.pem",
		"-trusted", e.root)
	if ok || !strings.Contains(out, "notAuthorized") {
		t.Fatalf("rr of another owner's certificate:\n%s", out)
	}

	// kur signed with the issued certificate and key, answered under the CA's signature.
	k2 := e.key(t, "cmp2")
	out, ok = e.cmp(t, "tls-server", "-cmd", "kur", "-cert", "cmp1.pem", "-key", k1, "-newkey", k2, "-certout", "cmp2.pem",
		"-trusted", e.root)
	if !ok {
		t.Fatalf("kur:\n%s", out)
	}
	serial2 := serialOfFile(t, filepath.Join(e.dir, "cmp2.pem"))
	c2 := e.Must(t, 200, "GET", "/api/v1/certificates/"+serial2, admin, nil).Map(t)
	if c2["enrollment_method"] != "cmp" || c2["owner"] != ref || c2["renewed_from"] != serial1 {
		t.Fatalf("kur result: method %v owner %v renewed_from %v", c2["enrollment_method"], c2["owner"], c2["renewed_from"])
	}

	// rr signed with the certificate to revoke; then OCSP says revoked.
	out, ok = e.cmp(t, "tls-server", "-cmd", "rr", "-cert", "cmp2.pem", "-key", k2, "-oldcert", "cmp2.pem", "-trusted", e.root, "-revreason", "1")
	if !ok {
		t.Fatalf("rr:\n%s", out)
	}
	issuing := e.Must(t, 200, "GET", "/api/v1/cas/signet-issuing", admin, nil).Map(t)
	testutil.WriteFile(t, e.dir, "issuing.pem", []byte(issuing["certificate_pem"].(string)))
	chain := testutil.WriteFile(t, e.dir, "chain.pem", []byte(issuing["certificate_pem"].(string)+readFile(t, e.root)))
	out = testutil.Openssl(t, e.dir, "ocsp", "-issuer", "issuing.pem", "-cert", "cmp2.pem", "-url", e.URL+"/ocsp", "-CAfile", chain, "-no_nonce")
	if !strings.Contains(out, "cmp2.pem: revoked") || !strings.Contains(out, "keyCompromise") {
		t.Fatalf("OCSP after rr:\n%s", out)
	}
	// The revoked certificate can no longer protect anything.
	out, ok = e.cmp(t, "tls-server", "-cmd", "kur", "-cert", "cmp2.pem", "-key", k2, "-newkey", e.key(t, "cmp4"), "-certout", "cmp4.pem",
		"-trusted", e.root, "-unprotected_errors")
	if ok || !strings.Contains(out, "certRevoked") {
		t.Fatalf("kur with a revoked certificate:\n%s", out)
	}
}

func (e *cmpEnv) verifyFile(t *testing.T, leaf, untrusted string) {
	t.Helper()
	out := testutil.Openssl(t, e.dir, "verify", "-CAfile", e.root, "-untrusted", untrusted, leaf)
	if !strings.Contains(out, ": OK") {
		t.Fatalf("openssl verify: %s", out)
	}
}

// TestCMPManualApprovalPolls: on a manual profile the client is told to
// wait, polls, and receives the certificate once a manager approves, for a
// PKCS#10 (p10cr) and a CRMF (ir) request.
func TestCMPManualApprovalPolls(t *testing.T) {
	e := newCMPEnv(t)
	e.Must(t, 201, "POST", "/api/v1/profiles", admin, map[string]any{"name": "cmp-manual", "template": "tls-server",
		"ca": "signet-issuing", "approval": "manual", "enrollment_methods": []string{"cmp"}})
	for _, tc := range []struct {
		name string
		args func(name string) []string
	}{
		{"p10cr", func(name string) []string {
			_, csr := e.csr(t, name, "/CN="+name+".example.com", "DNS:"+name+".example.com", ecKey...)
			return []string{"-cmd", "p10cr", "-csr", testutil.WriteFile(t, e.dir, name+".csr", []byte(csr))}
		}},
		{"ir", func(name string) []string {
			return []string{"-cmd", "ir", "-newkey", e.key(t, name), "-subject", "/CN=" + name + ".example.com", "-sans", name + ".example.com"}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "manual-" + tc.name
			ref, secret := e.secret(t, "cmp-manual")
			args := append(tc.args(name), "-ref", ref, "-secret", "pass:"+secret, "-certout", name+".pem")
			type result struct {
				out string
				ok  bool
			}
			done := make(chan result, 1)
			go func() {
				out, ok := e.cmp(t, "cmp-manual", args...)
				done <- result{out, ok}
			}()
			var reqID string
			deadline := time.Now().Add(30 * time.Second)
			for reqID == "" && time.Now().Before(deadline) {
				var page struct {
					Items []map[string]any `json:"items"`
				}
				e.Must(t, 200, "GET", "/api/v1/requests?status=pending", admin, nil).JSON(t, &page)
				for _, r := range page.Items {
					if r["enrollment_method"] == "cmp" && r["requester_id"] == ref {
						reqID = r["id"].(string)
					}
				}
				time.Sleep(200 * time.Millisecond)
			}
			if reqID == "" {
				t.Fatal("no pending CMP request appeared")
			}
			select {
			case r := <-done:
				t.Fatalf("the client finished before approval:\n%s", r.out)
			case <-time.After(4 * time.Second): // at least one pollReq/pollRep round
			}
			e.Must(t, 200, "POST", "/api/v1/requests/"+reqID+"/approve", admin, nil)
			select {
			case r := <-done:
				if !r.ok || !strings.Contains(r.out, "POLLREP") {
					t.Fatalf("%s after approval:\n%s", tc.name, r.out)
				}
			case <-time.After(40 * time.Second):
				t.Fatal("the client did not receive the certificate after approval")
			}
			cert := parseCertFile(t, filepath.Join(e.dir, name+".pem"))
			if len(cert.DNSNames) != 1 || cert.DNSNames[0] != name+".example.com" {
				t.Fatalf("names %v", cert.DNSNames)
			}
			c := e.Must(t, 200, "GET", "/api/v1/certificates/"+serialOfFile(t, filepath.Join(e.dir, name+".pem")), admin, nil).Map(t)
			if c["enrollment_method"] != "cmp" || c["owner"] != ref {
				t.Fatalf("inventory: method %v owner %v", c["enrollment_method"], c["owner"])
			}
		})
	}
}

// TestCMPRefusesBadRequests: each refusal is a CMP error message with the
// right PKIFailureInfo, and nothing is issued.
func TestCMPRefusesBadRequests(t *testing.T) {
	e := newCMPEnv(t)
	before := e.certCount(t)

	// Wrong secret.
	ref, secret := e.secret(t, "tls-server")
	out, ok := e.cmp(t, "tls-server", "-cmd", "ir", "-ref", ref, "-secret", "pass:"+secret+"x", "-newkey", e.key(t, "w"),
		"-subject", "/CN=w.example.com", "-certout", "w.pem", "-unprotected_errors")
	if ok || !strings.Contains(out, "badMessageCheck") {
		t.Fatalf("a wrong secret:\n%s", out)
	}

	// A CSR outside the template (RSA 1024): refused, and the secret is
	// given back for a corrected request.
	out, ok = e.cmp(t, "tls-server", "-cmd", "ir", "-ref", ref, "-secret", "pass:"+secret, "-newkey", e.key(t, "weak", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"),
		"-subject", "/CN=weak.example.com", "-certout", "weak.pem")
	if ok || !strings.Contains(out, "badCertTemplate") {
		t.Fatalf("a key outside the template:\n%s", out)
	}

	// p10cr with a PKCS#10 whose signature (its proof of possession) was
	// tampered with: badPOP, and the secret stays usable.
	_, csrPEM := e.csr(t, "badpop", "/CN=badpop.example.com", "DNS:badpop.example.com", ecKey...)
	block, _ := pem.Decode([]byte(csrPEM))
	block.Bytes[len(block.Bytes)-1] ^= 0x01
	badCSR := testutil.WriteFile(t, e.dir, "badpop.csr", pem.EncodeToMemory(block))
	out, ok = e.cmp(t, "tls-server", "-cmd", "p10cr", "-ref", ref, "-secret", "pass:"+secret, "-csr", badCSR, "-certout", "badpop.pem")
	if ok || !strings.Contains(out, "badPOP") {
		t.Fatalf("a p10cr with a tampered CSR signature:\n%s", out)
	}

	// A request made against no server, then tampered with and sent.
	good := e.requestBytes(t, "-cmd", "ir", "-ref", ref, "-secret", "pass:"+secret, "-newkey", e.key(t, "t"),
		"-subject", "/CN=t.example.com", "-certout", "t.pem")
	tampered := bytes.Clone(good)
	tampered[len(tampered)-30] ^= 0x01 // inside the protection BIT STRING
	if fail := e.postCMP(t, "tls-server", tampered); fail != 1 {
		t.Fatalf("tampered protection: failInfo bit %d, want badMessageCheck (1)", fail)
	}

	// An unsupported message type (krr, [9]).
	krr := replaceBody(t, good, 9)
	if fail := e.postCMP(t, "tls-server", krr); fail != 2 {
		t.Fatalf("krr: failInfo bit %d, want badRequest (2)", fail)
	}
	// Not CMP at all.
	resp, err := http.Post(e.URL+"/cmp/tls-server", "application/pkixcmp", strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "application/pkixcmp" {
		t.Fatalf("garbage: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// A profile without CMP.
	e.Must(t, 201, "POST", "/api/v1/profiles", admin, map[string]any{"name": "api-only", "template": "tls-server",
		"ca": "signet-issuing", "enrollment_methods": []string{"api"}})
	if fail := e.postCMPStatus(t, "api-only", good, 404); fail != 2 {
		t.Fatalf("a profile without CMP: failInfo %d", fail)
	}
	if n := e.certCount(t); n != before {
		t.Fatalf("refused requests issued certificates: %d, was %d", n, before)
	}

	// The wrong secret and the tampered protection are audited as failed
	// authentications, without the secret.
	events := e.Must(t, 200, "GET", "/api/v1/audit-events?action=auth.failed&limit=100", admin, nil)
	if strings.Count(string(events.Body), "cmp_bad_message_check") < 2 || !strings.Contains(string(events.Body), "/cmp/tls-server") ||
		strings.Contains(string(events.Body), secret) {
		t.Fatalf("CMP refusals in the audit log: %s", events.Body)
	}

	// The untampered request still works: the refusals above consumed nothing.
	if fail := e.postCMP(t, "tls-server", good); fail != -1 {
		t.Fatalf("the genuine request after the refusals: failInfo %d", fail)
	}
	if n := e.certCount(t); n != before+1 {
		t.Fatalf("the genuine request: %d certificates, want %d", n, before+1)
	}
	// The same message replayed: its transactionID is taken.
	if fail := e.postCMP(t, "tls-server", good); fail != 21 {
		t.Fatalf("a replayed message: failInfo %d, want transactionIdInUse (21)", fail)
	}
	if n := e.certCount(t); n != before+1 {
		t.Fatalf("a replayed message issued: %d certificates, want %d", n, before+1)
	}
}

// requestBytes makes openssl write a request without sending it anywhere
// useful (port 1 refuses), for tests that alter it.
func (e *cmpEnv) requestBytes(t *testing.T, args ...string) []byte {
	t.Helper()
	out := filepath.Join(e.dir, "req.der")
	_, _ = testutil.OpensslErr(e.dir, append([]string{"cmp", "-server", "127.0.0.1:1", "-path", "cmp/x", "-msg_timeout", "2",
		"-reqout", out}, args...)...)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("openssl wrote no request: %v", err)
	}
	return b
}

func (e *cmpEnv) postCMP(t *testing.T, profile string, der []byte) int {
	t.Helper()
	return e.postCMPStatus(t, profile, der, 200)
}

// postCMPStatus posts a PKIMessage and returns the failInfo bit of an error
// answer, or -1 for any other answer.
func (e *cmpEnv) postCMPStatus(t *testing.T, profile string, der []byte, status int) int {
	t.Helper()
	resp, err := http.Post(e.URL+"/cmp/"+profile, "application/pkixcmp", bytes.NewReader(der))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status || resp.Header.Get("Content-Type") != "application/pkixcmp" {
		t.Fatalf("status %d (want %d), content type %q", resp.StatusCode, status, resp.Header.Get("Content-Type"))
	}
	var msg struct {
		Header asn1.RawValue
		Body   asn1.RawValue
		Rest   []asn1.RawValue `asn1:"optional"`
	}
	if _, err := asn1.Unmarshal(body, &msg); err != nil {
		t.Fatalf("the answer is not a PKIMessage: %v", err)
	}
	if msg.Body.Tag != 23 {
		return -1
	}
	var content struct {
		Status struct {
			Status   int
			Text     asn1.RawValue  `asn1:"optional"`
			FailInfo asn1.BitString `asn1:"optional"`
		}
		Rest []asn1.RawValue `asn1:"optional"`
	}
	if _, err := asn1.Unmarshal(msg.Body.Bytes, &content); err != nil {
		t.Fatalf("error content: %v", err)
	}
	if content.Status.Status != 2 {
		t.Fatalf("error status %d, want rejection", content.Status.Status)
	}
	for i := 0; i < content.Status.FailInfo.BitLength; i++ {
		if content.Status.FailInfo.At(i) == 1 {
			return i
		}
	}
	t.Fatal("an error without failInfo")
	return -1
}

// replaceBody swaps a message's body for an empty one of another type.
func replaceBody(t *testing.T, der []byte, tag int) []byte {
	t.Helper()
	var msg struct {
		Header asn1.RawValue
		Body   asn1.RawValue
		Rest   []asn1.RawValue `asn1:"optional"`
	}
	if _, err := asn1.Unmarshal(der, &msg); err != nil {
		t.Fatal(err)
	}
	body, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: tag, IsCompound: true, Bytes: []byte{0x30, 0x00}})
	out, err := asn1.Marshal(struct{ Header, Body asn1.RawValue }{msg.Header, asn1.RawValue{FullBytes: body}})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCMPSharedSecretAdministration: managers create secrets (shown once),
// list them without the secret, and delete them; requesters may not.
func TestCMPSharedSecretAdministration(t *testing.T) {
	e := newCMPEnv(t)
	requester := e.newKey(t, "req", "requester")
	e.Must(t, 403, "POST", "/api/v1/cmp/secrets", requester, map[string]any{"profile": "tls-server"})
	for _, tc := range []struct {
		name string
		body map[string]any
		want int
	}{
		{"no profile", map[string]any{}, 400},
		{"unknown profile", map[string]any{"profile": "nope"}, 404},
		{"ttl too long", map[string]any{"profile": "tls-server", "ttl_hours": 100000}, 400},
	} {
		t.Run(tc.name, func(t *testing.T) { e.Must(t, tc.want, "POST", "/api/v1/cmp/secrets", admin, tc.body) })
	}
	ref, secret := e.secret(t, "tls-server")
	list := e.Must(t, 200, "GET", "/api/v1/cmp/secrets", admin, nil)
	if !strings.Contains(string(list.Body), ref) || strings.Contains(string(list.Body), secret) {
		t.Fatalf("list: %s", list.Body)
	}
	if strings.Contains(e.LogText(), secret) {
		t.Fatal("the secret was logged")
	}
	e.Must(t, 204, "DELETE", "/api/v1/cmp/secrets/"+ref, admin, nil)
	e.Must(t, 404, "DELETE", "/api/v1/cmp/secrets/"+ref, admin, nil)
	out, ok := e.cmp(t, "tls-server", "-cmd", "ir", "-ref", ref, "-secret", "pass:"+secret, "-newkey", e.key(t, "d"),
		"-subject", "/CN=d.example.com", "-certout", "d.pem", "-unprotected_errors")
	if ok || !strings.Contains(out, "badMessageCheck") {
		t.Fatalf("a deleted secret:\n%s", out)
	}
}

// TestCMPOverTLS: openssl cmp over HTTPS (-tls_used), trusting Signet's root.
func TestCMPOverTLS(t *testing.T) {
	s := testutil.StartTLSServer(t)
	e := &cmpEnv{env: &env{Server: s, dir: t.TempDir(), principals: map[string]string{}}}
	e.root = testutil.WriteFile(t, e.dir, "root.pem", []byte(readFile(t, filepath.Join(s.DataDir, "ca-root.pem"))))
	ref, secret := e.secret(t, "tls-server")
	tlsArgs := func(args ...string) []string {
		return append([]string{"cmp", "-server", strings.TrimPrefix(s.URL, "https://"), "-tls_used", "-tls_trusted", e.root,
			"-path", "cmp/tls-server", "-msg_timeout", "20", "-total_timeout", "60"}, args...)
	}
	out, err := testutil.OpensslErr(e.dir, tlsArgs("-cmd", "ir", "-ref", ref, "-secret", "pass:"+secret, "-newkey", e.key(t, "tls1"),
		"-subject", "/CN=tls1.example.com", "-certout", "tls1.pem")...)
	if err != nil {
		t.Fatalf("ir over TLS: %v\n%s", err, out)
	}
	if cert := parseCertFile(t, filepath.Join(e.dir, "tls1.pem")); cert.DNSNames[0] != "tls1.example.com" {
		t.Fatalf("names %v", cert.DNSNames)
	}
}

// TestCMPMutatedMessagesAreRefused flips one bit at every position of a
// genuine ir and truncates it at every length: each answer is a CMP
// message (never HTTP 500), and nothing is issued.
func TestCMPMutatedMessagesAreRefused(t *testing.T) {
	e := newCMPEnv(t)
	before := e.certCount(t)
	ref, secret := e.secret(t, "tls-server")
	good := e.requestBytes(t, "-cmd", "ir", "-ref", ref, "-secret", "pass:"+secret, "-newkey", e.key(t, "m"),
		"-subject", "/CN=m.example.com", "-certout", "m.pem")
	var variants [][]byte
	for i := range good {
		b := bytes.Clone(good)
		b[i] ^= 1 << (i % 8)
		variants = append(variants, b, good[:i])
	}
	for i, v := range variants {
		resp, err := http.Post(e.URL+"/cmp/tls-server", "application/pkixcmp", bytes.NewReader(v))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var msg struct {
			Header, Body asn1.RawValue
			Rest         []asn1.RawValue `asn1:"optional"`
		}
		if resp.StatusCode >= 500 || resp.Header.Get("Content-Type") != "application/pkixcmp" {
			t.Fatalf("variant %d: status %d, content type %q", i, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if _, err := asn1.Unmarshal(body, &msg); err != nil || msg.Body.Tag != 23 {
			t.Fatalf("variant %d: not a CMP error message (tag %d): %v", i, msg.Body.Tag, err)
		}
	}
	if n := e.certCount(t); n != before {
		t.Fatalf("mutated messages issued %d certificates", n-before)
	}
}

// TestCMPWellKnownPaths: RFC 9483 section 6.1's /.well-known/cmp paths
// reach the same server as /cmp/{profile}, with openssl cmp: no label is
// the default profile, p/{profile} names one, an operation segment may
// follow; an unregistered segment is a CMP error with HTTP 404.
func TestCMPWellKnownPaths(t *testing.T) {
	e := newCMPEnv(t)
	out, ok := e.cmpAt(t, ".well-known/cmp", "-cmd", "genm", "-unprotected_requests", "-ref", "anonymous", "-trusted", e.root)
	if !ok {
		t.Fatalf("genm at /.well-known/cmp:\n%s", out)
	}
	ref, secret := e.secret(t, "tls-client")
	k1 := e.key(t, "wk1")
	out, ok = e.cmpAt(t, ".well-known/cmp/p/tls-client/initialization", "-cmd", "ir", "-ref", ref, "-secret", "pass:"+secret,
		"-newkey", k1, "-subject", "/CN=wk1", "-certout", "wk1.pem")
	if !ok {
		t.Fatalf("ir at /.well-known/cmp/p/tls-client/initialization:\n%s", out)
	}
	c := e.Must(t, 200, "GET", "/api/v1/certificates/"+serialOfFile(t, filepath.Join(e.dir, "wk1.pem")), admin, nil).Map(t)
	prof := e.Must(t, 200, "GET", "/api/v1/profiles/tls-client", admin, nil).Map(t)
	if c["profile_id"] != prof["id"] || c["enrollment_method"] != "cmp" || c["owner"] != ref {
		t.Fatalf("certificate from the well-known path: %v", c)
	}
	out, ok = e.cmpAt(t, ".well-known/cmp/p/tls-client/keyupdate", "-cmd", "kur", "-cert", "wk1.pem", "-key", k1,
		"-newkey", e.key(t, "wk2"), "-certout", "wk2.pem", "-trusted", e.root)
	if !ok {
		t.Fatalf("kur at /.well-known/cmp/p/tls-client/keyupdate:\n%s", out)
	}
	// The default profile (tls-server) with an operation segment and no label.
	ref2, secret2 := e.secret(t, "tls-server")
	out, ok = e.cmpAt(t, ".well-known/cmp/initialization", "-cmd", "ir", "-ref", ref2, "-secret", "pass:"+secret2,
		"-newkey", e.key(t, "wk3"), "-subject", "/CN=wk3.example.com", "-sans", "wk3.example.com", "-certout", "wk3.pem")
	if !ok {
		t.Fatalf("ir at /.well-known/cmp/initialization:\n%s", out)
	}
	if cert := parseCertFile(t, filepath.Join(e.dir, "wk3.pem")); len(cert.DNSNames) != 1 || cert.DNSNames[0] != "wk3.example.com" {
		t.Fatalf("default-profile certificate names %v", cert.DNSNames)
	}
	ref3, secret3 := e.secret(t, "tls-server")
	req := e.requestBytes(t, "-cmd", "ir", "-ref", ref3, "-secret", "pass:"+secret3, "-newkey", e.key(t, "wk4"),
		"-subject", "/CN=wk4.example.com", "-certout", "wk4.pem")
	for _, path := range []string{"/.well-known/cmp/bogus", "/.well-known/cmp/p/tls-server/bogus", "/.well-known/cmp/p/nope/initialization",
		"/.well-known/cmp/p/tls-server/initialization/extra"} {
		resp, err := http.Post(e.URL+path, "application/pkixcmp", bytes.NewReader(req))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var msg struct {
			Header, Body asn1.RawValue
			Rest         []asn1.RawValue `asn1:"optional"`
		}
		if _, err := asn1.Unmarshal(body, &msg); err != nil || resp.StatusCode != 404 || msg.Body.Tag != 23 {
			t.Fatalf("%s: status %d, body tag %d (%v), want a CMP error with 404", path, resp.StatusCode, msg.Body.Tag, err)
		}
	}
}

// TestCMPSecretCLI: `signet cmp-secret create|list|get|delete` against a
// real server; the printed reference and secret enroll once with openssl cmp.
func TestCMPSecretCLI(t *testing.T) {
	e := newCMPEnv(t)
	conn := []string{"--server", e.URL, "--api-key", admin}
	out, errOut, err := runCLI(append([]string{"cmp-secret", "create", "--profile", "tls-server", "--name", "router-9", "-o", "json"}, conn...)...)
	if err != nil || !strings.Contains(errOut, "shown only now") {
		t.Fatalf("create: %v\n%s\n%s", err, out, errOut)
	}
	var created struct{ Reference, Secret string }
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.Reference == "" || created.Secret == "" {
		t.Fatalf("create output: %v\n%s", err, out)
	}
	// Table output: the secret alone on stdout, for scripts.
	out, _, err = runCLI(append([]string{"cmp-secret", "create", "--profile", "tls-server"}, conn...)...)
	if err != nil || strings.Count(strings.TrimSpace(out), "\n") != 0 || len(strings.TrimSpace(out)) < 20 {
		t.Fatalf("create (table): %v\n%q", err, out)
	}
	if out, ok := e.cmp(t, "tls-server", "-cmd", "ir", "-ref", created.Reference, "-secret", "pass:"+created.Secret, "-newkey", e.key(t, "cli"),
		"-subject", "/CN=cli.example.com", "-certout", "cli.pem"); !ok {
		t.Fatalf("ir with the CLI's secret:\n%s", out)
	}
	out, _, err = runCLI(append([]string{"cmp-secret", "list", "-o", "json"}, conn...)...)
	if err != nil || !strings.Contains(out, created.Reference) || !strings.Contains(out, `"used"`) || strings.Contains(out, created.Secret) {
		t.Fatalf("list: %v\n%s", err, out)
	}
	if out, _, err = runCLI(append([]string{"cmp-secret", "get", created.Reference}, conn...)...); err != nil || !strings.Contains(out, "router-9") {
		t.Fatalf("get: %v\n%s", err, out)
	}
	if out, _, err = runCLI(append([]string{"cmp-secret", "delete", created.Reference}, conn...)...); err != nil || !strings.Contains(out, "deleted") {
		t.Fatalf("delete: %v\n%s", err, out)
	}
	if _, _, err = runCLI(append([]string{"cmp-secret", "get", created.Reference}, conn...)...); err == nil {
		t.Fatal("a deleted secret is still shown")
	}
	if _, _, err = runCLI(append([]string{"cmp-secret", "create"}, conn...)...); err == nil {
		t.Fatal("create without --profile should fail")
	}
}
