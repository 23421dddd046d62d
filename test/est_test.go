package test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/testutil"
)

// estEnv is a TLS server plus a scratch directory where curl and openssl
// run exactly as in RFC 7030's examples.
type estEnv struct {
	*env
	root string // Signet's root CA, PEM, for curl --cacert and openssl verify
}

func newESTEnv(t *testing.T) *estEnv {
	t.Helper()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is required (scripts/test installs it)")
	}
	e := &env{Server: testutil.StartTLSServer(t), dir: t.TempDir(), principals: map[string]string{}}
	return &estEnv{env: e, root: filepath.Join(e.DataDir, "ca-root.pem")}
}

// curl runs curl against the server and returns the HTTP status and the
// path of the saved body; args add credentials, bodies and headers.
func (e *estEnv) curl(t *testing.T, out, path string, args ...string) int {
	t.Helper()
	full := append([]string{"-sS", "--max-time", "30", "--cacert", e.root, "-o", filepath.Join(e.dir, out),
		"-w", "%{http_code}"}, args...)
	full = append(full, e.URL+path)
	cmd := exec.Command("curl", full...)
	cmd.Dir = e.dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("curl %s: %v\n%s", strings.Join(full, " "), err, stderr.String())
	}
	var code int
	if _, err := fmt.Sscan(stdout.String(), &code); err != nil {
		t.Fatalf("curl status %q: %v", stdout.String(), err)
	}
	return code
}

func (e *estEnv) read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e.dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// csrB64 makes a key and a base64 DER CSR (the EST request body) with
// openssl; extra are more `openssl req` arguments.
func (e *estEnv) csrB64(t *testing.T, name, subj string, extra ...string) string {
	t.Helper()
	key := filepath.Join(e.dir, name+".key")
	if _, err := os.Stat(key); err != nil {
		testutil.Openssl(t, e.dir, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key)
	}
	args := append([]string{"req", "-new", "-key", key, "-outform", "DER", "-out", name + ".csr.der"}, extra...)
	if subj != "" { // "": the subject comes from an -config file
		args = append(args, "-subj", subj)
	}
	testutil.Openssl(t, e.dir, args...)
	testutil.Openssl(t, e.dir, "base64", "-in", name+".csr.der", "-out", name+".csr.b64")
	return name + ".csr.b64"
}

// certsOf decodes a base64 certs-only PKCS#7 answer with openssl (as RFC
// 7030's examples do) into PEM and returns the PEM file name.
func (e *estEnv) certsOf(t *testing.T, b64 string) string {
	t.Helper()
	testutil.Openssl(t, e.dir, "base64", "-d", "-in", b64, "-out", b64+".p7")
	testutil.Openssl(t, e.dir, "pkcs7", "-inform", "DER", "-in", b64+".p7", "-print_certs", "-out", b64+".pem")
	return b64 + ".pem"
}

func (e *estEnv) verifyLeaf(t *testing.T, leaf string) {
	t.Helper()
	out := testutil.Openssl(t, e.dir, "verify", "-CAfile", e.root, "-untrusted", "cacerts.pem", leaf)
	if !strings.Contains(out, ": OK") {
		t.Fatalf("openssl verify %s: %s", leaf, out)
	}
}

func (e *estEnv) serialOf(t *testing.T, pemFile string) string {
	t.Helper()
	out := testutil.Openssl(t, e.dir, "x509", "-in", pemFile, "-noout", "-serial")
	return strings.TrimLeft(strings.ToLower(strings.TrimSpace(strings.TrimPrefix(out, "serial="))), "0")
}

func (e *estEnv) certCount(t *testing.T) int {
	t.Helper()
	r := e.Must(t, 200, "GET", "/api/v1/certificates?limit=1000", admin, nil).Map(t)
	return len(r["items"].([]any))
}

const pkcs10 = "Content-Type: application/pkcs10"

// TestESTWithCurlAndOpenSSL drives every EST operation with curl and
// openssl as RFC 7030's examples do: cacerts, simpleenroll with HTTP Basic
// (admin + API key, user + password), simplereenroll with the issued
// certificate as TLS client certificate, serverkeygen, csrattrs.
func TestESTWithCurlAndOpenSSL(t *testing.T) {
	e := newESTEnv(t)
	const base = "/.well-known/est/tls-client"

	// cacerts: the issuing CA and the root, certs-only PKCS#7 in base64.
	if code := e.curl(t, "cacerts.b64", base+"/cacerts"); code != 200 {
		t.Fatalf("cacerts: %d %s", code, e.read(t, "cacerts.b64"))
	}
	if err := os.Rename(filepath.Join(e.dir, e.certsOf(t, "cacerts.b64")), filepath.Join(e.dir, "cacerts.pem")); err != nil {
		t.Fatal(err)
	}
	if pemText := e.read(t, "cacerts.pem"); strings.Count(pemText, "BEGIN CERTIFICATE") != 2 ||
		!strings.Contains(pemText, "Signet Issuing CA") || !strings.Contains(pemText, "Signet Root CA") {
		t.Fatalf("cacerts should hold the issuing CA and the root:\n%s", pemText)
	}
	for path, want := range map[string]string{base + "/cacerts": "application/pkcs7-mime", base + "/csrattrs": "application/csrattrs"} {
		r := e.Do(t, "GET", path, "", nil)
		if r.Status != 200 || r.Header.Get("Content-Type") != want || r.Header.Get("Content-Transfer-Encoding") != "base64" {
			t.Fatalf("%s: %d %v", path, r.Status, r.Header)
		}
	}
	// Without a label, the default profile answers.
	if code := e.curl(t, "default.b64", "/.well-known/est/cacerts"); code != 200 {
		t.Fatalf("default cacerts: %d", code)
	}

	// simpleenroll with the bootstrap admin's API key as the Basic password.
	csr := e.csrB64(t, "dev1", "/CN=dev1/O=Example", "-addext", "subjectAltName=DNS:dev1.example.com")
	code := e.curl(t, "dev1.b64", base+"/simpleenroll", "-u", "admin:"+admin, "-H", pkcs10, "--data-binary", "@"+csr,
		"-D", filepath.Join(e.dir, "dev1.headers"))
	if code != 200 {
		t.Fatalf("simpleenroll: %d %s", code, e.read(t, "dev1.b64"))
	}
	leaf := e.certsOf(t, "dev1.b64")
	if h := e.read(t, "dev1.headers"); !strings.Contains(strings.ToLower(h), "content-type: application/pkcs7-mime; smime-type=certs-only") {
		t.Fatalf("simpleenroll headers:\n%s", h)
	}
	e.verifyLeaf(t, leaf)
	serial := e.serialOf(t, leaf)
	c := e.Must(t, 200, "GET", "/api/v1/certificates/"+serial, admin, nil).Map(t)
	if c["enrollment_method"] != "est" || c["status"] != "active" || c["owner"] == "" {
		t.Fatalf("inventory entry of the EST certificate: %v", c)
	}
	adminID := c["owner"]

	// simplereenroll: the issued certificate (and its key) authenticate
	// over TLS; same subject and names, a new CSR from the same key.
	testutil.Openssl(t, e.dir, "req", "-new", "-key", "dev1.key", "-subj", "/CN=dev1/O=Example", "-addext",
		"subjectAltName=DNS:dev1.example.com", "-outform", "DER", "-out", "dev1r.csr.der")
	testutil.Openssl(t, e.dir, "base64", "-in", "dev1r.csr.der", "-out", "dev1r.csr.b64")
	code = e.curl(t, "dev1r.b64", base+"/simplereenroll", "--cert", leaf, "--key", "dev1.key", "-H", pkcs10,
		"--data-binary", "@dev1r.csr.b64")
	if code != 200 {
		t.Fatalf("simplereenroll: %d %s", code, e.read(t, "dev1r.b64"))
	}
	renewed := e.certsOf(t, "dev1r.b64")
	e.verifyLeaf(t, renewed)
	newSerial := e.serialOf(t, renewed)
	old := e.Must(t, 200, "GET", "/api/v1/certificates/"+serial, admin, nil).Map(t)
	nc := e.Must(t, 200, "GET", "/api/v1/certificates/"+newSerial, admin, nil).Map(t)
	if newSerial == serial || old["renewed_by"] != newSerial || nc["owner"] != adminID || nc["enrollment_method"] != "est" {
		t.Fatalf("renewal not linked: old %v new %v", old, nc)
	}
	// The renewed certificate cannot be renewed twice; a different subject is refused.
	if code := e.curl(t, "again.b64", base+"/simplereenroll", "--cert", leaf, "--key", "dev1.key", "-H", pkcs10,
		"--data-binary", "@dev1r.csr.b64"); code != 409 {
		t.Fatalf("second renewal of one certificate: %d %s", code, e.read(t, "again.b64"))
	}
	other := e.csrB64(t, "dev1", "/CN=other/O=Example")
	if code := e.curl(t, "other.b64", base+"/simplereenroll", "--cert", renewed, "--key", "dev1.key", "-H", pkcs10,
		"--data-binary", "@"+other); code != 400 {
		t.Fatalf("re-enrollment with another subject: %d %s", code, e.read(t, "other.b64"))
	}
	// Without a client certificate simplereenroll is refused.
	if code := e.curl(t, "nocert.b64", base+"/simplereenroll", "-u", "admin:"+admin, "-H", pkcs10,
		"--data-binary", "@dev1r.csr.b64"); code != 401 {
		t.Fatalf("simplereenroll without certificate: %d", code)
	}

	// A user's login and password work as Basic credentials too.
	e.Must(t, 201, "POST", "/api/v1/users", admin, map[string]any{"name": "carol", "roles": []string{"requester"},
		"password": "carol-password-0123"})
	csr = e.csrB64(t, "dev2", "/CN=dev2")
	if code := e.curl(t, "dev2.b64", base+"/simpleenroll", "-u", "carol:carol-password-0123", "-H", pkcs10,
		"--data-binary", "@"+csr); code != 200 {
		t.Fatalf("simpleenroll with a password: %d %s", code, e.read(t, "dev2.b64"))
	}
	e.verifyLeaf(t, e.certsOf(t, "dev2.b64"))

	// A service account's API key, with the account's name as the user name.
	sa := e.Must(t, 201, "POST", "/api/v1/service-accounts", admin, map[string]any{"name": "router-fleet", "roles": []string{"requester"}}).Map(t)
	key := e.Must(t, 201, "POST", "/api/v1/api-keys", admin, map[string]any{"name": "est", "principal_id": sa["id"],
		"roles": []string{"requester"}}).Map(t)["key"].(string)
	csr = e.csrB64(t, "dev2b", "/CN=dev2b")
	if code := e.curl(t, "dev2b.b64", base+"/simpleenroll", "-u", "router-fleet:"+key, "-H", pkcs10,
		"--data-binary", "@"+csr); code != 200 {
		t.Fatalf("simpleenroll with a service account key: %d %s", code, e.read(t, "dev2b.b64"))
	}
	if c := e.Must(t, 200, "GET", "/api/v1/certificates/"+e.serialOf(t, e.certsOf(t, "dev2b.b64")), admin, nil).Map(t); c["owner"] != sa["id"] {
		t.Fatalf("service account certificate: %v", c)
	}

	// serverkeygen: a multipart answer with the PKCS#8 key and the certificate.
	csr = e.csrB64(t, "dev3", "/CN=dev3", "-addext", "subjectAltName=DNS:dev3.example.com")
	code = e.curl(t, "dev3.multipart", base+"/serverkeygen", "-u", "admin:"+admin, "-H", pkcs10, "--data-binary", "@"+csr,
		"-D", filepath.Join(e.dir, "dev3.headers"))
	if code != 200 {
		t.Fatalf("serverkeygen: %d %s", code, e.read(t, "dev3.multipart"))
	}
	e.checkServerKeygen(t, "dev3")

	// csrattrs: a DER SEQUENCE openssl parses, naming the challengePassword.
	if code := e.curl(t, "attrs.b64", base+"/csrattrs"); code != 200 {
		t.Fatalf("csrattrs: %d", code)
	}
	testutil.Openssl(t, e.dir, "base64", "-d", "-in", "attrs.b64", "-out", "attrs.der")
	if out := testutil.Openssl(t, e.dir, "asn1parse", "-inform", "DER", "-in", "attrs.der"); !strings.Contains(out, "challengePassword") ||
		!strings.Contains(out, "id-ecPublicKey") {
		t.Fatalf("csrattrs:\n%s", out)
	}
}

// checkServerKeygen splits a serverkeygen answer and checks with openssl
// that the certificate certifies the returned key.
func (e *estEnv) checkServerKeygen(t *testing.T, name string) {
	t.Helper()
	headers := e.read(t, name+".headers")
	var ct string
	for _, l := range strings.Split(headers, "\r\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, "content-type") {
			ct = strings.TrimSpace(v)
		}
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("serverkeygen content type %q", ct)
	}
	mr := multipart.NewReader(strings.NewReader(e.read(t, name+".multipart")), params["boundary"])
	parts := map[string][]byte{}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("multipart: %v", err)
		}
		b, _ := io.ReadAll(p)
		if p.Header.Get("Content-Transfer-Encoding") != "base64" {
			t.Fatalf("part %s is not base64", p.Header.Get("Content-Type"))
		}
		der, err := base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(string(b)))
		if err != nil {
			t.Fatalf("part %s: %v", p.Header.Get("Content-Type"), err)
		}
		parts[strings.SplitN(p.Header.Get("Content-Type"), ";", 2)[0]] = der
	}
	key, p7 := parts["application/pkcs8"], parts["application/pkcs7-mime"]
	if key == nil || p7 == nil {
		t.Fatalf("serverkeygen parts: %v", len(parts))
	}
	testutil.WriteFile(t, e.dir, name+".key.der", key)
	testutil.WriteFile(t, e.dir, name+".p7", p7)
	testutil.Openssl(t, e.dir, "pkcs7", "-inform", "DER", "-in", name+".p7", "-print_certs", "-out", name+".crt")
	e.verifyLeaf(t, name+".crt")
	keyPub := testutil.Openssl(t, e.dir, "pkey", "-inform", "DER", "-in", name+".key.der", "-pubout")
	certPub := testutil.Openssl(t, e.dir, "x509", "-in", name+".crt", "-noout", "-pubkey")
	if keyPub != certPub {
		t.Fatalf("the certificate does not certify the returned key:\n%s\n%s", keyPub, certPub)
	}
}

// TestESTEnrollmentSecrets: a one-time secret created through the API
// enrolls once (as the Basic password or the CSR's challengePassword), owns
// its certificate, is refused when replayed, and survives a CSR outside the
// template (nothing is issued, the secret stays usable).
func TestESTEnrollmentSecrets(t *testing.T) {
	e := newESTEnv(t)
	const base = "/.well-known/est/tls-client"
	newSecret := func(body map[string]any) (id, value string) {
		m := e.Must(t, 201, "POST", "/api/v1/enrollment-secrets", admin, body).Map(t)
		return m["id"].(string), m["secret"].(string)
	}
	id, secret := newSecret(map[string]any{"profile": "tls-client", "protocol": "est"})

	// A CSR outside the template (streetAddress is not allowed): 400, nothing issued.
	before := e.certCount(t)
	bad := e.csrB64(t, "bad", "/CN=dev4/street=Main Street 1")
	if code := e.curl(t, "bad.b64", base+"/simpleenroll", "-u", "device:"+secret, "-H", pkcs10, "--data-binary", "@"+bad); code != 400 {
		t.Fatalf("CSR outside the template: %d %s", code, e.read(t, "bad.b64"))
	}
	if n := e.certCount(t); n != before {
		t.Fatalf("a refused CSR issued a certificate: %d -> %d", before, n)
	}
	csr := e.csrB64(t, "dev4", "/CN=dev4")
	if code := e.curl(t, "dev4.b64", base+"/simpleenroll", "-u", "device:"+secret, "-H", pkcs10, "--data-binary", "@"+csr); code != 200 {
		t.Fatalf("simpleenroll with a secret: %d %s", code, e.read(t, "dev4.b64"))
	}
	serial := e.serialOf(t, e.certsOf(t, "dev4.b64"))
	c := e.Must(t, 200, "GET", "/api/v1/certificates/"+serial, admin, nil).Map(t)
	if c["owner"] != id || c["enrollment_method"] != "est" {
		t.Fatalf("a secret's certificate is owned by the secret: %v", c)
	}
	if s := e.Must(t, 200, "GET", "/api/v1/enrollment-secrets/"+id, admin, nil).Map(t); s["status"] != "used" || s["secret"] != nil {
		t.Fatalf("used secret: %v", s)
	}
	// Replayed: refused, nothing issued.
	before = e.certCount(t)
	csr = e.csrB64(t, "dev5", "/CN=dev5")
	code := e.curl(t, "replay.b64", base+"/simpleenroll", "-u", "device:"+secret, "-H", pkcs10, "--data-binary", "@"+csr)
	if code != 401 || e.certCount(t) != before || !strings.HasPrefix(e.read(t, "replay.b64"), "invalid_enrollment_secret: ") {
		t.Fatalf("replayed secret: %d %s", code, e.read(t, "replay.b64"))
	}

	// The secret in the CSR's challengePassword, no HTTP credentials.
	_, secret2 := newSecret(map[string]any{"profile": "tls-client"})
	cfg := testutil.WriteFile(t, e.dir, "cp.cnf", []byte("[req]\nprompt=no\ndistinguished_name=dn\nattributes=attrs\n[dn]\nCN=dev6\n[attrs]\nchallengePassword="+secret2+"\n"))
	csr = e.csrB64(t, "dev6", "", "-config", cfg)
	if code := e.curl(t, "dev6.b64", base+"/simpleenroll", "-H", pkcs10, "--data-binary", "@"+csr); code != 200 {
		t.Fatalf("simpleenroll with challengePassword: %d %s", code, e.read(t, "dev6.b64"))
	}
	// A device presenting its own (secret-owned) certificate over TLS may
	// still enroll another certificate with a new secret in the CSR.
	_, secret3 := newSecret(map[string]any{"profile": "tls-client"})
	cfg = testutil.WriteFile(t, e.dir, "cp3.cnf", []byte("[req]\nprompt=no\ndistinguished_name=dn\nattributes=attrs\n[dn]\nCN=dev6b\n[attrs]\nchallengePassword="+secret3+"\n"))
	csr = e.csrB64(t, "dev6b", "", "-config", cfg)
	if code := e.curl(t, "dev6b.b64", base+"/simpleenroll", "--cert", "dev4.b64.pem", "--key", "dev4.key", "-H", pkcs10,
		"--data-binary", "@"+csr); code != 200 {
		t.Fatalf("simpleenroll with a device certificate and a secret: %d %s", code, e.read(t, "dev6b.b64"))
	}

	// A secret bound to a subject refuses another common name.
	_, bound := newSecret(map[string]any{"profile": "tls-client", "subject": "dev7"})
	csr = e.csrB64(t, "dev8", "/CN=dev8")
	if code := e.curl(t, "dev8.b64", base+"/simpleenroll", "-u", "x:"+bound, "-H", pkcs10, "--data-binary", "@"+csr); code != 403 {
		t.Fatalf("secret bound to another subject: %d", code)
	}
	// A secret for another profile is refused.
	_, other := newSecret(map[string]any{"profile": "tls-server", "protocol": "est"})
	if code := e.curl(t, "dev9.b64", base+"/simpleenroll", "-u", "x:"+other, "-H", pkcs10, "--data-binary", "@"+csr); code != 401 {
		t.Fatalf("secret of another profile: %d", code)
	}
	// Managers create secrets for their organization's profiles only;
	// requesters neither create nor list them.
	e.Must(t, 201, "POST", "/api/v1/organizations", admin, map[string]any{"name": "other-org"})
	sa := e.Must(t, 201, "POST", "/api/v1/service-accounts", admin, map[string]any{"name": "other-mgr", "org": "other-org",
		"roles": []string{"manager"}}).Map(t)
	otherKey := e.Must(t, 201, "POST", "/api/v1/api-keys", admin, map[string]any{"name": "m", "principal_id": sa["id"],
		"roles": []string{"manager"}}).Map(t)["key"].(string)
	e.Must(t, 403, "POST", "/api/v1/enrollment-secrets", otherKey, map[string]any{"profile": "tls-client"})
	reqKey := e.newKey(t, "est-requester", "requester")
	e.Must(t, 403, "POST", "/api/v1/enrollment-secrets", reqKey, map[string]any{"profile": "tls-client"})
	e.Must(t, 403, "GET", "/api/v1/enrollment-secrets", reqKey, nil)
	// Deleted secrets are gone.
	e.Must(t, 204, "DELETE", "/api/v1/enrollment-secrets/"+id, admin, nil)
	e.Must(t, 404, "GET", "/api/v1/enrollment-secrets/"+id, admin, nil)
}

// TestESTRefusals: each client mistake gets its EST status, never a 500,
// and nothing is issued.
func TestESTRefusals(t *testing.T) {
	e := newESTEnv(t)
	const base = "/.well-known/est/tls-client"
	csr := e.csrB64(t, "r", "/CN=r1")
	testutil.WriteFile(t, e.dir, "garbage.b64", []byte("this is not base64 DER!"))
	testutil.WriteFile(t, e.dir, "notcsr.b64", []byte(base64.StdEncoding.EncodeToString([]byte("\x30\x03\x02\x01\x01"))))
	// A CSR whose signature was tampered with (last byte of the signature).
	der, err := os.ReadFile(filepath.Join(e.dir, "r.csr.der"))
	if err != nil {
		t.Fatal(err)
	}
	der[len(der)-1] ^= 0x01
	testutil.WriteFile(t, e.dir, "tampered.b64", []byte(base64.StdEncoding.EncodeToString(der)))
	// A one-time secret with one character changed.
	secret := e.Must(t, 201, "POST", "/api/v1/enrollment-secrets", admin, map[string]any{"profile": "tls-client"}).Map(t)["secret"].(string)
	last := "a"
	if strings.HasSuffix(secret, "a") {
		last = "b"
	}
	wrong := secret[:len(secret)-1] + last
	before := e.certCount(t)
	for _, tc := range []struct {
		name, path string
		args       []string
		want       int
	}{
		{"no credentials", base + "/simpleenroll", []string{"-H", pkcs10, "--data-binary", "@" + csr}, 401},
		{"wrong API key", base + "/simpleenroll", []string{"-u", "admin:wrong-key-0123456789abcdefghij", "-H", pkcs10, "--data-binary", "@" + csr}, 401},
		{"API key of another name", base + "/simpleenroll", []string{"-u", "mallory:" + admin, "-H", pkcs10, "--data-binary", "@" + csr}, 401},
		{"wrong content type", base + "/simpleenroll", []string{"-u", "admin:" + admin, "-H", "Content-Type: text/plain", "--data-binary", "@" + csr}, 415},
		{"not base64", base + "/simpleenroll", []string{"-u", "admin:" + admin, "-H", pkcs10, "--data-binary", "@garbage.b64"}, 400},
		{"not a CSR", base + "/simpleenroll", []string{"-u", "admin:" + admin, "-H", pkcs10, "--data-binary", "@notcsr.b64"}, 400},
		{"tampered CSR signature", base + "/simpleenroll", []string{"-u", "admin:" + admin, "-H", pkcs10, "--data-binary", "@tampered.b64"}, 400},
		{"wrong one-time secret", base + "/simpleenroll", []string{"-u", "device:" + wrong, "-H", pkcs10, "--data-binary", "@" + csr}, 401},
		{"unknown profile", "/.well-known/est/nope/simpleenroll", []string{"-u", "admin:" + admin, "-H", pkcs10, "--data-binary", "@" + csr}, 404},
		{"unsupported operation (fullcmc)", base + "/fullcmc", []string{"-u", "admin:" + admin, "-H", pkcs10, "--data-binary", "@" + csr}, 404},
		{"GET on simpleenroll", base + "/simpleenroll", nil, 405},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code := e.curl(t, "out", tc.path, tc.args...); code != tc.want {
				t.Fatalf("status %d, want %d: %s", code, tc.want, e.read(t, "out"))
			}
		})
	}
	if n := e.certCount(t); n != before {
		t.Fatalf("refused requests issued certificates: %d -> %d", before, n)
	}
	// Failed authentications are audited, without the credentials.
	events := e.Must(t, 200, "GET", "/api/v1/audit-events?action=auth.failed&limit=100", admin, nil)
	if !strings.Contains(string(events.Body), "/.well-known/est/tls-client/simpleenroll") || strings.Contains(string(events.Body), "wrong-key-0123456789") {
		t.Fatalf("EST refusals in the audit log: %s", events.Body)
	}
	// A 401 asks for Basic credentials.
	resp, err := e.Client.Post(e.URL+base+"/simpleenroll", "application/pkcs10", strings.NewReader(e.read(t, csr)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
		t.Fatalf("401 without WWW-Authenticate: %d %v", resp.StatusCode, resp.Header)
	}
}

// TestESTManualApproval: on a manual-approval profile simpleenroll answers
// 202 with Retry-After until a manager approves; the client's repeated
// request then gets the certificate.
func TestESTManualApproval(t *testing.T) {
	e := newESTEnv(t)
	e.Must(t, 201, "POST", "/api/v1/profiles", admin, map[string]any{"name": "est-manual", "template": "tls-client",
		"ca": "signet-issuing", "approval": "manual", "enrollment_methods": []string{"est"}})
	m := e.Must(t, 201, "POST", "/api/v1/enrollment-secrets", admin, map[string]any{"profile": "est-manual"}).Map(t)
	secret := m["secret"].(string)
	const path = "/.well-known/est/est-manual/simpleenroll"
	csr := e.csrB64(t, "m", "/CN=manual-dev")
	post := func() (int, http.Header) {
		req, _ := http.NewRequest("POST", e.URL+path, strings.NewReader(e.read(t, csr)))
		req.Header.Set("Content-Type", "application/pkcs10")
		req.SetBasicAuth("device", secret)
		resp, err := e.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		testutil.WriteFile(t, e.dir, "m.b64", b)
		return resp.StatusCode, resp.Header
	}
	for i := range 2 {
		if code, h := post(); code != 202 || h.Get("Retry-After") == "" {
			t.Fatalf("attempt %d: %d %v, want 202 with Retry-After", i, code, h)
		}
	}
	reqs := e.Must(t, 200, "GET", "/api/v1/requests?status=pending", admin, nil).Map(t)["items"].([]any)
	if len(reqs) != 1 {
		t.Fatalf("pending requests: %v", reqs)
	}
	r := reqs[0].(map[string]any)
	if r["enrollment_method"] != "est" || r["requester_id"] != m["id"] {
		t.Fatalf("pending request: %v", r)
	}
	e.Must(t, 200, "POST", "/api/v1/requests/"+r["id"].(string)+"/approve", admin, nil)
	if code, _ := post(); code != 200 {
		t.Fatalf("after approval: %d %s", code, e.read(t, "m.b64"))
	}
	serial := e.serialOf(t, e.certsOf(t, "m.b64"))
	if c := e.Must(t, 200, "GET", "/api/v1/certificates/"+serial, admin, nil).Map(t); c["owner"] != m["id"] {
		t.Fatalf("approved certificate: %v", c)
	}
	// serverkeygen cannot wait for approval (the key would have to be kept): 400, nothing pending.
	csr = e.csrB64(t, "mk", "/CN=manual-keygen")
	if code := e.curl(t, "mk.out", "/.well-known/est/est-manual/serverkeygen", "-u", "admin:"+admin, "-H", pkcs10,
		"--data-binary", "@"+csr); code != 400 || !strings.Contains(e.read(t, "mk.out"), "auto-approved") {
		t.Fatalf("serverkeygen on a manual profile: %d %s", code, e.read(t, "mk.out"))
	}
	if reqs := e.Must(t, 200, "GET", "/api/v1/requests?status=pending", admin, nil).Map(t)["items"].([]any); len(reqs) != 0 {
		t.Fatalf("serverkeygen left a pending request: %v", reqs)
	}
}

// TestEnrollmentSecretCLI: `signet enrollment-secret create|list|get|delete`
// against a real server; the printed secret enrolls over EST once.
func TestEnrollmentSecretCLI(t *testing.T) {
	e := newESTEnv(t)
	conn := []string{"--server", e.URL, "--api-key", admin, "--ca-cert", e.root}
	out, errOut, err := runCLI(append([]string{"enrollment-secret", "create", "--profile", "tls-client", "--protocol", "est",
		"--name", "router-7", "--expires-in", "2d"}, conn...)...)
	if err != nil || !strings.Contains(errOut, "shown only now") {
		t.Fatalf("create: %v\n%s\n%s", err, out, errOut)
	}
	secret := strings.TrimSpace(out)
	csr := e.csrB64(t, "cli", "/CN=cli-dev")
	if code := e.curl(t, "cli.b64", "/.well-known/est/tls-client/simpleenroll", "-u", "d:"+secret, "-H", pkcs10, "--data-binary", "@"+csr); code != 200 {
		t.Fatalf("enroll with the CLI's secret: %d %s", code, e.read(t, "cli.b64"))
	}
	out, _, err = runCLI(append([]string{"enrollment-secret", "list", "-o", "json"}, conn...)...)
	if err != nil || !strings.Contains(out, `"router-7"`) || !strings.Contains(out, `"used"`) || strings.Contains(out, secret) {
		t.Fatalf("list: %v\n%s", err, out)
	}
	id := e.Must(t, 200, "GET", "/api/v1/enrollment-secrets", admin, nil).Map(t)["items"].([]any)[0].(map[string]any)["id"].(string)
	if out, _, err = runCLI(append([]string{"enrollment-secret", "delete", id}, conn...)...); err != nil || !strings.Contains(out, "deleted") {
		t.Fatalf("delete: %v\n%s", err, out)
	}
	if _, _, err = runCLI(append([]string{"enrollment-secret", "create"}, conn...)...); err == nil {
		t.Fatal("create without --profile should fail")
	}
}

// TestESTTLSUniqueBinding: a secret created with bind_tls_unique enrolls
// only when the CSR's challengePassword is the tls-unique of the TLS 1.2
// connection it arrives on (RFC 7030 section 3.5); a CSR made for another
// connection, or a TLS 1.3 connection (which has no tls-unique), is refused.
func TestESTTLSUniqueBinding(t *testing.T) {
	e := newESTEnv(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	enroll := func(maxVersion uint16, challenge func(tlsUnique string) string) int {
		m := e.Must(t, 201, "POST", "/api/v1/enrollment-secrets", admin, map[string]any{"profile": "tls-server", "protocol": "est",
			"bind_tls_unique": true}).Map(t)
		cfg := e.TLSConfig(t)
		cfg.MaxVersion = maxVersion
		conn, err := tls.Dial("tcp", strings.TrimPrefix(e.URL, "https://"), cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		tu := base64.StdEncoding.EncodeToString(conn.ConnectionState().TLSUnique)
		// RSA on tls-server: the tls-client template's key usages fail zlint for RSA.
		csr := challengeCSR(t, key, "bound.example.com", challenge(tu), "bound.example.com")
		req, _ := http.NewRequest("POST", e.URL+"/.well-known/est/tls-server/simpleenroll",
			strings.NewReader(base64.StdEncoding.EncodeToString(csr)))
		req.Header.Set("Content-Type", "application/pkcs10")
		req.SetBasicAuth("device", m["secret"].(string))
		if err := req.Write(conn); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := enroll(tls.VersionTLS12, func(tu string) string { return tu }); code != 200 {
		t.Fatalf("CSR bound to its TLS 1.2 connection: %d", code)
	}
	if code := enroll(tls.VersionTLS12, func(string) string { return "AAAAAAAAAAAAAAAAAAAAAAAA" }); code != 403 {
		t.Fatalf("CSR bound to another connection: %d", code)
	}
	if code := enroll(tls.VersionTLS13, func(tu string) string { return tu + "x" }); code != 403 {
		t.Fatalf("TLS 1.3 (no tls-unique): %d", code)
	}
	e.Must(t, 400, "POST", "/api/v1/enrollment-secrets", admin, map[string]any{"profile": "tls-client", "bind_tls_unique": true})
}

// TestESTClientCertificateOfAPrincipal: simpleenroll authenticated by a
// TLS client certificate Signet issued to a service account enrolls as
// that account (the new certificate is the account's); a certificate owned
// by a team (no principal) or revoked authenticates nobody.
func TestESTClientCertificateOfAPrincipal(t *testing.T) {
	e := newESTEnv(t)
	const path = "/.well-known/est/tls-client/simpleenroll"
	sa := e.Must(t, 201, "POST", "/api/v1/service-accounts", admin, map[string]any{"name": "gateway-fleet", "roles": []string{"requester"}}).Map(t)
	team := e.Must(t, 201, "POST", "/api/v1/teams", admin, map[string]any{"name": "plant-ops"}).Map(t)["id"].(string)
	issue := func(name, owner string) (certFile, keyFile, serial string) {
		m := e.Must(t, 201, "POST", "/api/v1/certificates", admin, map[string]any{"profile": "tls-client",
			"keygen": map[string]any{"algorithm": "ecdsa", "bits": 256}, "subject": map[string]any{"common_name": name},
			"owner": owner}).Map(t)
		certFile = testutil.WriteFile(t, e.dir, name+".crt", []byte(str(m, "certificate", "certificate_pem")))
		keyFile = testutil.WriteFile(t, e.dir, name+".key", []byte(m["private_key_pem"].(string)))
		return certFile, keyFile, str(m, "certificate", "serial")
	}
	saCert, saKey, saSerial := issue("gateway-fleet", sa["id"].(string))
	csr := e.csrB64(t, "gw1", "/CN=gw1")
	if code := e.curl(t, "gw1.b64", path, "--cert", saCert, "--key", saKey, "-H", pkcs10, "--data-binary", "@"+csr); code != 200 {
		t.Fatalf("simpleenroll with the service account's certificate: %d %s", code, e.read(t, "gw1.b64"))
	}
	leaf := e.certsOf(t, "gw1.b64")
	c := e.Must(t, 200, "GET", "/api/v1/certificates/"+e.serialOf(t, leaf), admin, nil).Map(t)
	if c["owner"] != sa["id"] || c["enrollment_method"] != "est" || c["common_name"] != "gw1" {
		t.Fatalf("certificate enrolled with a client certificate: %v", c)
	}
	before := e.certCount(t)
	teamCert, teamKey, _ := issue("plant-ops", team)
	csr = e.csrB64(t, "gw2", "/CN=gw2")
	if code := e.curl(t, "gw2.b64", path, "--cert", teamCert, "--key", teamKey, "-H", pkcs10, "--data-binary", "@"+csr); code != 401 {
		t.Fatalf("a team's certificate (no principal): %d %s", code, e.read(t, "gw2.b64"))
	}
	e.Must(t, 200, "POST", "/api/v1/certificates/"+saSerial+"/revoke", admin, map[string]any{"reason": "key_compromise"})
	if code := e.curl(t, "gw3.b64", path, "--cert", saCert, "--key", saKey, "-H", pkcs10, "--data-binary", "@"+csr); code != 401 {
		t.Fatalf("a revoked client certificate: %d %s", code, e.read(t, "gw3.b64"))
	}
	csr = e.csrB64(t, "gw4", "/CN=gateway-fleet")
	if code := e.curl(t, "gw4.b64", "/.well-known/est/tls-client/simplereenroll", "--cert", saCert, "--key", saKey, "-H", pkcs10,
		"--data-binary", "@"+csr); code != 401 {
		t.Fatalf("re-enrollment of a revoked certificate: %d %s", code, e.read(t, "gw4.b64"))
	}
	if n := e.certCount(t); n != before+1 { // the team's certificate only
		t.Fatalf("refused enrollments issued certificates: %d -> %d", before, n)
	}
}

// TestESTReenrollsAServerCertificate: a device's TLS server certificate
// (serverAuth only, the default tls-server profile) renews itself with
// simplereenroll, as RFC 7030 section 4.2.2 expects, yet does not log its
// owner into the API: only certificates allowing client authentication do.
func TestESTReenrollsAServerCertificate(t *testing.T) {
	e := newESTEnv(t)
	const base = "/.well-known/est/tls-server"
	if code := e.curl(t, "cacerts.b64", base+"/cacerts"); code != 200 {
		t.Fatalf("cacerts: %d", code)
	}
	if err := os.Rename(filepath.Join(e.dir, e.certsOf(t, "cacerts.b64")), filepath.Join(e.dir, "cacerts.pem")); err != nil {
		t.Fatal(err)
	}
	csr := e.csrB64(t, "srv", "/CN=srv.example.com", "-addext", "subjectAltName=DNS:srv.example.com")
	if code := e.curl(t, "srv.b64", base+"/simpleenroll", "-u", "admin:"+admin, "-H", pkcs10, "--data-binary", "@"+csr); code != 200 {
		t.Fatalf("simpleenroll: %d %s", code, e.read(t, "srv.b64"))
	}
	leaf := e.certsOf(t, "srv.b64")
	if out := testutil.Openssl(t, e.dir, "x509", "-in", leaf, "-noout", "-ext", "extendedKeyUsage"); !strings.Contains(out, "TLS Web Server Authentication") ||
		strings.Contains(out, "Client") {
		t.Fatalf("expected a serverAuth-only certificate:\n%s", out)
	}
	serial := e.serialOf(t, leaf)

	// The server certificate does not authenticate its owner (the admin) to the API.
	if code := e.curl(t, "api.json", "/api/v1/certificates/"+serial, "--cert", leaf, "--key", "srv.key"); code != 401 {
		t.Fatalf("API with a serverAuth-only client certificate: %d %s", code, e.read(t, "api.json"))
	}

	// It renews itself.
	testutil.Openssl(t, e.dir, "req", "-new", "-key", "srv.key", "-subj", "/CN=srv.example.com", "-addext",
		"subjectAltName=DNS:srv.example.com", "-outform", "DER", "-out", "srvr.csr.der")
	testutil.Openssl(t, e.dir, "base64", "-in", "srvr.csr.der", "-out", "srvr.csr.b64")
	if code := e.curl(t, "srvr.b64", base+"/simplereenroll", "--cert", leaf, "--key", "srv.key", "-H", pkcs10,
		"--data-binary", "@srvr.csr.b64"); code != 200 {
		t.Fatalf("simplereenroll with a server certificate: %d %s", code, e.read(t, "srvr.b64"))
	}
	renewed := e.certsOf(t, "srvr.b64")
	e.verifyLeaf(t, renewed)
	if old := e.Must(t, 200, "GET", "/api/v1/certificates/"+serial, admin, nil).Map(t); old["renewed_by"] != e.serialOf(t, renewed) {
		t.Fatalf("renewal not linked: %v", old)
	}
}
