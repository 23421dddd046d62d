package cmp

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The fixtures are requests `openssl cmp` (OpenSSL 3.0) wrote with -reqout,
// protected with `-ref myref -secret pass:mysecret` (PasswordBasedMac,
// sha256 OWF, 500 iterations, hmac-sha1):
//
//	openssl cmp -cmd ir -newkey k.pem -subject /CN=a.example.com -sans a.example.com ...
//	openssl cmp -cmd genm ...
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOpenSSLRequestsParseAndVerify(t *testing.T) {
	for _, tc := range []struct {
		file string
		body int
	}{
		{"ir-pbm-openssl.der", bodyIR},
		{"genm-pbm-openssl.der", bodyGenM},
	} {
		t.Run(tc.file, func(t *testing.T) {
			der := fixture(t, tc.file)
			r, err := parseRequest(der)
			if err != nil {
				t.Fatal(err)
			}
			if r.bodyType != tc.body || r.header.PVNO != 2 || string(r.header.SenderKID) != "myref" || len(r.header.TransactionID) != 16 {
				t.Fatalf("parsed %s pvno %d kid %q tid %x", bodyName(r.bodyType), r.header.PVNO, r.header.SenderKID, r.header.TransactionID)
			}
			if !r.header.ProtectionAlg.Algorithm.Equal(oidPasswordBasedMac) {
				t.Fatalf("protection algorithm %v", r.header.ProtectionAlg.Algorithm)
			}
			if err := verifyMAC(r, []byte("mysecret")); err != nil {
				t.Fatalf("the right secret: %v", err)
			}
			if err := verifyMAC(r, []byte("mysecreT")); !errors.Is(err, errBadMAC) {
				t.Fatalf("a wrong secret: %v", err)
			}
			// Flip one byte inside the body: the protection must fail.
			tampered := bytes.Clone(der)
			i := bytes.Index(tampered, r.msg.Body.FullBytes) + len(r.msg.Body.FullBytes) - 1
			tampered[i] ^= 1
			if tr, err := parseRequest(tampered); err == nil {
				if err := verifyMAC(tr, []byte("mysecret")); !errors.Is(err, errBadMAC) {
					t.Fatalf("a tampered body: %v", err)
				}
			}
		})
	}
}

func TestOpenSSLCertRequestTemplateAndPOP(t *testing.T) {
	r, err := parseRequest(fixture(t, "ir-pbm-openssl.der"))
	if err != nil {
		t.Fatal(err)
	}
	m, tmpl, err := parseCertReqMessages(r.content)
	if err != nil {
		t.Fatal(err)
	}
	if tmpl.Subject.CommonName != "a.example.com" || len(tmpl.DNSNames) != 1 || tmpl.DNSNames[0] != "a.example.com" ||
		tmpl.PublicKey == nil || tmpl.certRequest.CertReqID != 0 {
		t.Fatalf("template: %+v", tmpl)
	}
	if got := tmpl.sans(); len(got) != 1 || got[0] != "a.example.com" {
		t.Fatalf("sans %v", got)
	}
	if err := verifyPOP(m, tmpl); err != nil {
		t.Fatalf("POP: %v", err)
	}
	// A POP over other bytes, or another key's, does not verify.
	bad := *m
	bad.CertReq.FullBytes = bytes.Clone(m.CertReq.FullBytes)
	bad.CertReq.FullBytes[len(bad.CertReq.FullBytes)-1] ^= 1
	if err := verifyPOP(&bad, tmpl); err == nil {
		t.Fatal("a POP over changed bytes verified")
	}
	raVerified := *m
	raVerified.POPO = asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, Bytes: nil}
	if err := verifyPOP(&raVerified, tmpl); err == nil {
		t.Fatal("raVerified was accepted from a client")
	}
}

// TestMACRoundTrip protects with both password-based MACs the way responses
// are protected (fresh salt), and checks the bounds on client parameters.
func TestMACRoundTrip(t *testing.T) {
	pbkdf2Params := func(salt []byte, iter int) asn1.RawValue {
		return asn1.RawValue{FullBytes: mustMarshal(pbkdf2Params{Salt: salt, IterationCount: iter, KeyLength: 32,
			PRF: pkix.AlgorithmIdentifier{Algorithm: oidHMACWithSHA25, Parameters: asn1.NullRawValue}})}
	}
	pbmac1 := func(salt []byte, iter int) pkix.AlgorithmIdentifier {
		return pkix.AlgorithmIdentifier{Algorithm: oidPBMAC1, Parameters: asn1.RawValue{FullBytes: mustMarshal(pbmac1Params{
			KeyDerivationFunc: pkix.AlgorithmIdentifier{Algorithm: oidPBKDF2, Parameters: pbkdf2Params(salt, iter)},
			MessageAuthScheme: pkix.AlgorithmIdentifier{Algorithm: oidHMACWithSHA25, Parameters: asn1.NullRawValue}})}}
	}
	pbm := func(salt []byte, iter int) pkix.AlgorithmIdentifier {
		return pkix.AlgorithmIdentifier{Algorithm: oidPasswordBasedMac, Parameters: asn1.RawValue{FullBytes: mustMarshal(pbmParameter{
			Salt: salt, OWF: pkix.AlgorithmIdentifier{Algorithm: oidSHA256}, IterationCount: iter,
			MAC: pkix.AlgorithmIdentifier{Algorithm: oidHMACWithSHA25}})}}
	}
	salt := bytes.Repeat([]byte{7}, 16)
	for _, tc := range []struct {
		name    string
		alg     pkix.AlgorithmIdentifier
		wantErr bool
	}{
		{"PBMAC1", pbmac1(salt, 10000), false},
		{"PasswordBasedMac", pbm(salt, 500), false},
		{"PBMAC1 too many iterations", pbmac1(salt, maxIterations+1), true},
		{"PasswordBasedMac too many iterations", pbm(salt, 10_000_000), true},
		{"PasswordBasedMac short salt", pbm(salt[:4], 500), true},
		{"PBMAC1 too few iterations", pbmac1(salt, 1), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte("protected part")
			mac, err := computeMAC(tc.alg, []byte("s3cret"), data)
			if tc.wantErr {
				if err == nil {
					t.Fatal("accepted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			other, _ := computeMAC(tc.alg, []byte("s3cre7"), data)
			if bytes.Equal(mac, other) {
				t.Fatal("two secrets give one MAC")
			}
			fresh, err := freshMACAlg(tc.alg)
			if err != nil {
				t.Fatal(err)
			}
			again, err := computeMAC(fresh, []byte("s3cret"), data)
			if err != nil || bytes.Equal(again, mac) {
				t.Fatalf("a fresh salt must change the MAC: %v", err)
			}
		})
	}
}

// TestPBMKnownAnswer recomputes the PasswordBasedMac of the openssl fixture
// by hand (RFC 4211 section 4.4) to pin the iteration rule.
func TestPBMKnownAnswer(t *testing.T) {
	r, err := parseRequest(fixture(t, "genm-pbm-openssl.der"))
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := macKey(r.header.ProtectionAlg, []byte("mysecret"))
	if err != nil {
		t.Fatal(err)
	}
	if len(key) != 32 {
		t.Fatalf("a SHA-256 OWF gives a 32-byte key, got %d", len(key))
	}
	got, err := computeMAC(r.header.ProtectionAlg, []byte("mysecret"), protectedPart(r.msg.Header.FullBytes, r.msg.Body.FullBytes))
	if err != nil || !bytes.Equal(got, r.msg.Protection.Bytes) {
		t.Fatalf("MAC %x, openssl's %x (%v)", got, r.msg.Protection.Bytes, err)
	}
}

func TestFailureInfoDER(t *testing.T) {
	for _, tc := range []struct {
		bit  int
		want string
	}{
		{failBadAlg, "03020780"},
		{failBadMessageCheck, "03020640"},
		{failBadPOP, "0303060040"},
		{failBadCertTemplate, "0304040000 10"},
		{failNotAuthorized, "0304000000 01"},
	} {
		got := hex.EncodeToString(mustMarshal(failureInfo(tc.bit)))
		want := string(bytes.ReplaceAll([]byte(tc.want), []byte(" "), nil))
		if got != want {
			t.Errorf("bit %d: %s, want %s", tc.bit, got, want)
		}
	}
}

func TestParseRequestRefusesMalformed(t *testing.T) {
	good := fixture(t, "genm-pbm-openssl.der")
	for _, tc := range []struct {
		name string
		der  []byte
	}{
		{"empty", nil},
		{"not DER", []byte("hello, CMP")},
		{"truncated", good[:len(good)-5]},
		{"trailing data", append(bytes.Clone(good), 0)},
		{"a bare SEQUENCE", []byte{0x30, 0x00}},
		{"untagged body", mustMarshal(struct{ A, B asn1.RawValue }{asn1.RawValue{FullBytes: mustMarshal(pkiHeader{PVNO: 2,
			Sender: directoryName(nullDN), Recipient: directoryName(nullDN), TransactionID: []byte{1}})}, asn1.NullRawValue})},
		{"no transactionID", mustMarshal(struct{ A, B asn1.RawValue }{asn1.RawValue{FullBytes: mustMarshal(pkiHeader{PVNO: 2,
			Sender: directoryName(nullDN), Recipient: directoryName(nullDN)})}, explicit(bodyGenM, []byte{0x30, 0})})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := parseRequest(tc.der); !errors.Is(err, errMalformed) {
				t.Fatalf("got %v", err)
			}
		})
	}
}

func FuzzParseRequest(f *testing.F) {
	f.Add(fixture(&testing.T{}, "ir-pbm-openssl.der"))
	f.Add(fixture(&testing.T{}, "genm-pbm-openssl.der"))
	f.Fuzz(func(t *testing.T, der []byte) {
		r, err := parseRequest(der)
		if err != nil {
			return
		}
		_ = verifyMAC(r, []byte("x"))
		if m, tmpl, err := parseCertReqMessages(r.content); err == nil {
			_ = verifyPOP(m, tmpl)
		}
		_, _ = parseCertTemplate(r.content)
	})
}

// TestPBMAC1MatchesOpenSSL recomputes a PBMAC1 (PBKDF2-HMAC-SHA256, then
// HMAC-SHA256) with the openssl command line: an independent
// implementation of RFC 8018's functions.
func TestPBMAC1MatchesOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl is needed (scripts/test installs it)")
	}
	salt := []byte("0123456789abcdef")
	alg := pkix.AlgorithmIdentifier{Algorithm: oidPBMAC1, Parameters: asn1.RawValue{FullBytes: mustMarshal(pbmac1Params{
		KeyDerivationFunc: pkix.AlgorithmIdentifier{Algorithm: oidPBKDF2, Parameters: asn1.RawValue{FullBytes: mustMarshal(pbkdf2Params{
			Salt: salt, IterationCount: 1000, KeyLength: 32, PRF: pkix.AlgorithmIdentifier{Algorithm: oidHMACWithSHA25, Parameters: asn1.NullRawValue}})}},
		MessageAuthScheme: pkix.AlgorithmIdentifier{Algorithm: oidHMACWithSHA25, Parameters: asn1.NullRawValue}})}}
	data := []byte("the protected part")
	got, err := computeMAC(alg, []byte("s3cret"), data)
	if err != nil {
		t.Fatal(err)
	}
	key, err := exec.Command("openssl", "kdf", "-keylen", "32", "-kdfopt", "digest:SHA256", "-kdfopt", "pass:s3cret",
		"-kdfopt", "salt:"+string(salt), "-kdfopt", "iter:1000", "PBKDF2").Output()
	if err != nil {
		t.Fatalf("openssl kdf: %v", err)
	}
	hexKey := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(string(key)), ":", ""))
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/data", data, 0o600); err != nil {
		t.Fatal(err)
	}
	mac, err := exec.Command("openssl", "mac", "-digest", "SHA256", "-macopt", "hexkey:"+hexKey, "-in", dir+"/data", "HMAC").Output()
	if err != nil {
		t.Fatalf("openssl mac: %v", err)
	}
	if want := strings.ToLower(strings.TrimSpace(string(mac))); hex.EncodeToString(got) != want {
		t.Fatalf("PBMAC1 %x, openssl %s", got, want)
	}
}
