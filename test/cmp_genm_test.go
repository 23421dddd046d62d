package test

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/testutil"
)

// The general messages of RFC 9483 section 4.3 beyond caCerts. OpenSSL 3.0
// sends certReqTemplate (and unsupported types) itself; rootCaCert and
// crlStatusList it cannot send, so those are built here with PBMAC1.

var (
	oidITRootCaKeyUpdate = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 4, 18}
	oidITCertReqTemplate = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 4, 19}
	oidITRootCaCert      = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 4, 20}
	oidITCRLStatusList   = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 4, 22}
	oidITCRLs            = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 4, 23}
)

type itav struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue `asn1:"optional"`
}

// genpITAV checks a PKIMessage is a genp with exactly one InfoTypeAndValue of type want.
func genpITAV(t *testing.T, der []byte, want asn1.ObjectIdentifier) itav {
	t.Helper()
	var m cmpMessage
	if _, err := asn1.Unmarshal(der, &m); err != nil {
		t.Fatalf("not a PKIMessage: %v", err)
	}
	if m.Body.Tag != 22 {
		t.Fatalf("body [%d], want genp [22]", m.Body.Tag)
	}
	var items []itav
	if rest, err := asn1.Unmarshal(m.Body.Bytes, &items); err != nil || len(rest) != 0 || len(items) != 1 {
		t.Fatalf("genp content: %v, %d items", err, len(items))
	}
	if !items[0].Type.Equal(want) {
		t.Fatalf("genp infoType %v, want %v", items[0].Type, want)
	}
	return items[0]
}

// genmBody is GenMsgContent with one InfoTypeAndValue.
func genmBody(t *testing.T, typ asn1.ObjectIdentifier, value []byte) []byte {
	t.Helper()
	it := itav{Type: typ}
	if value != nil {
		it.Value = asn1.RawValue{FullBytes: value}
	}
	b, err := asn1.Marshal([]itav{it})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// genm posts a PBMAC1-protected genm and returns the answer's DER.
func (e *cmpEnv) genm(t *testing.T, ref, secret string, content []byte) []byte {
	t.Helper()
	tid := make([]byte, 16)
	_, _ = rand.Read(tid)
	m := e.postRaw(t, pbmac1Message(t, ref, secret, tid, nil, 21, content))
	b, err := asn1.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func pemCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	return parseCertFile(t, path)
}

// TestCMPGenmCertReqTemplate: openssl asks for the certificate request
// template; the answer names the profile template's required and fixed
// subject fields, its SAN requirement and extended key usage, and its key
// types as controls.
func TestCMPGenmCertReqTemplate(t *testing.T) {
	e := newCMPEnv(t)
	spec := map[string]any{
		"key_types": []any{map[string]any{"algorithm": "ecdsa", "min_bits": 384}, map[string]any{"algorithm": "rsa", "min_bits": 3072}},
		"subject": []any{map[string]any{"field": "common_name", "required": true}, map[string]any{"field": "organization", "fixed_value": "Acme"},
			map[string]any{"field": "locality"}},
		"sans": map[string]any{"dns": []string{"*"}, "required": true}, "key_usages": []string{"digital_signature"},
		"ext_key_usages": []string{"client_auth"}, "max_validity_days": 90}
	e.Must(t, 201, "POST", "/api/v1/templates", admin, map[string]any{"name": "cmp-tpl", "spec": spec})
	e.Must(t, 201, "POST", "/api/v1/profiles", admin, map[string]any{"name": "cmp-tpl", "template": "cmp-tpl", "ca": "signet-issuing",
		"enrollment_methods": []string{"cmp"}})

	rsp := filepath.Join(e.dir, "tpl.der")
	out, ok := e.cmp(t, "cmp-tpl", "-cmd", "genm", "-infotype", "certReqTemplate", "-unprotected_requests", "-ref", "anonymous",
		"-trusted", e.root, "-rspout", rsp)
	if !ok {
		t.Fatalf("genm certReqTemplate:\n%s", out)
	}
	der, err := os.ReadFile(rsp)
	if err != nil {
		t.Fatal(err)
	}
	it := genpITAV(t, der, oidITCertReqTemplate)
	var content struct {
		Template asn1.RawValue
		KeySpec  []struct {
			Type  asn1.ObjectIdentifier
			Value asn1.RawValue
		} `asn1:"optional"`
	}
	if rest, err := asn1.Unmarshal(it.Value.FullBytes, &content); err != nil || len(rest) != 0 {
		t.Fatalf("CertReqTemplateContent: %v", err)
	}
	fields := map[int]asn1.RawValue{}
	for rest := content.Template.Bytes; len(rest) > 0; {
		var f asn1.RawValue
		if rest, err = asn1.Unmarshal(rest, &f); err != nil {
			t.Fatal(err)
		}
		fields[f.Tag] = f
	}
	for _, absent := range []int{1, 2, 6, 7, 8} { // serialNumber, signingAlg, publicKey, issuerUID, subjectUID
		if _, ok := fields[absent]; ok {
			t.Errorf("CertTemplate field [%d] must be absent", absent)
		}
	}
	var rdns pkix.RDNSequence
	if _, err := asn1.Unmarshal(fields[5].Bytes, &rdns); err != nil {
		t.Fatalf("subject: %v", err)
	}
	got := map[string]string{}
	for _, rdn := range rdns {
		for _, atv := range rdn {
			got[atv.Type.String()] = atv.Value.(string)
		}
	}
	if v, ok := got["2.5.4.3"]; !ok || v != "" || got["2.5.4.10"] != "Acme" || len(got) != 2 {
		t.Fatalf("subject attributes %v, want an empty CN to fill in and O=Acme (locality is optional)", got)
	}
	extSeq, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: fields[9].Bytes})
	var exts []pkix.Extension
	if _, err := asn1.Unmarshal(extSeq, &exts); err != nil || len(exts) != 2 {
		t.Fatalf("extensions: %v (%d)", err, len(exts))
	}
	var ekus []asn1.ObjectIdentifier
	if !exts[0].Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 17}) || len(exts[0].Value) != 0 {
		t.Fatalf("first extension %v, want an empty subjectAltName", exts[0].Id)
	}
	if _, err := asn1.Unmarshal(exts[1].Value, &ekus); err != nil || len(ekus) != 1 || !ekus[0].Equal(asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 2}) {
		t.Fatalf("extended key usage %v: %v", ekus, err)
	}
	var curves []string
	rsaBits := 0
	for _, c := range content.KeySpec {
		switch c.Type.String() {
		case "1.3.6.1.5.5.7.5.1.11":
			var alg pkix.AlgorithmIdentifier
			var curve asn1.ObjectIdentifier
			if _, err := asn1.Unmarshal(c.Value.FullBytes, &alg); err != nil {
				t.Fatal(err)
			}
			if _, err := asn1.Unmarshal(alg.Parameters.FullBytes, &curve); err != nil {
				t.Fatalf("algId %v without a curve", alg.Algorithm)
			}
			curves = append(curves, curve.String())
		case "1.3.6.1.5.5.7.5.1.12":
			if _, err := asn1.Unmarshal(c.Value.FullBytes, &rsaBits); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("unexpected control %v", c.Type)
		}
	}
	if len(curves) != 2 || curves[0] != "1.3.132.0.34" || curves[1] != "1.3.132.0.35" || rsaBits != 3072 {
		t.Fatalf("keySpec curves %v (want P-384, P-521), RSA %d bits (want 3072)", curves, rsaBits)
	}
}

// TestCMPGenmRootCaCert: the root CA update answers with Signet's root as
// newWithNew to a client naming no root or another root (with the link
// certificate Signet holds), and with an absent value to a client whose
// root is current.
func TestCMPGenmRootCaCert(t *testing.T) {
	e := newCMPEnv(t)
	ref, secret := e.secret(t, "tls-server")
	root := pemCert(t, e.root)

	// An old root of the client's, and a link certificate: Signet's root
	// (its name and key) certified by the old root, imported as a CA.
	oldKey := e.key(t, "oldroot")
	oldRoot := filepath.Join(e.dir, "oldroot.pem")
	out, err := testutil.OpensslErr(e.dir, "req", "-x509", "-new", "-key", oldKey, "-subj", "/CN=Signet Root CA/O=Signet", "-days", "30", "-out", oldRoot,
		"-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
	if err != nil {
		t.Fatalf("old root: %v\n%s", err, out)
	}
	link := filepath.Join(e.dir, "link.pem")
	if out, err := testutil.OpensslErr(e.dir, "x509", "-in", e.root, "-CA", oldRoot, "-CAkey", oldKey, "-set_serial", "4242", "-days", "30",
		"-copy_extensions", "copyall", "-out", link); err != nil {
		t.Fatalf("link certificate: %v\n%s", err, out)
	}
	linkPEM := readFile(t, link)
	e.Must(t, 201, "POST", "/api/v1/cas/import", admin, map[string]any{"name": "root-link", "certificate": linkPEM})
	old := pemCert(t, oldRoot)

	t.Run("no root named", func(t *testing.T) {
		it := genpITAV(t, e.genm(t, ref, secret, genmBody(t, oidITRootCaCert, nil)), oidITRootCaKeyUpdate)
		upd := rootUpdate(t, it)
		if !bytes.Equal(upd.NewWithNew.FullBytes, root.Raw) || len(upd.NewWithOld.FullBytes) != 0 {
			t.Fatal("newWithNew is not Signet's root, or a link certificate came without an old root")
		}
	})
	t.Run("current root", func(t *testing.T) {
		it := genpITAV(t, e.genm(t, ref, secret, genmBody(t, oidITRootCaCert, root.Raw)), oidITRootCaKeyUpdate)
		if len(it.Value.FullBytes) != 0 {
			t.Fatal("a client with the current root got an update")
		}
	})
	t.Run("old root", func(t *testing.T) {
		it := genpITAV(t, e.genm(t, ref, secret, genmBody(t, oidITRootCaCert, old.Raw)), oidITRootCaKeyUpdate)
		upd := rootUpdate(t, it)
		if !bytes.Equal(upd.NewWithNew.FullBytes, root.Raw) {
			t.Fatal("newWithNew is not Signet's root")
		}
		nwo, err := x509.ParseCertificate(upd.NewWithOld.Bytes) // inside [0]
		if err != nil {
			t.Fatalf("newWithOld: %v", err)
		}
		if err := nwo.CheckSignatureFrom(old); err != nil || !bytes.Equal(nwo.RawSubjectPublicKeyInfo, root.RawSubjectPublicKeyInfo) {
			t.Fatalf("newWithOld does not certify the new root's key under the old root: %v", err)
		}
		if len(upd.OldWithNew.FullBytes) != 0 {
			t.Fatal("oldWithNew without such a certificate")
		}
	})
	t.Run("not a certificate", func(t *testing.T) {
		tid := make([]byte, 16)
		_, _ = rand.Read(tid)
		bad, _ := asn1.Marshal([]byte("junk"))
		if fail := e.postCMP(t, "tls-server", pbmac1Message(t, ref, secret, tid, nil, 21, genmBody(t, oidITRootCaCert, bad))); fail != 5 {
			t.Fatalf("failInfo %d, want badDataFormat (5)", fail)
		}
	})
}

type rootCaKeyUpdate struct {
	NewWithNew asn1.RawValue
	NewWithOld asn1.RawValue `asn1:"optional,explicit,tag:0"`
	OldWithNew asn1.RawValue `asn1:"optional,explicit,tag:1"`
}

func rootUpdate(t *testing.T, it itav) rootCaKeyUpdate {
	t.Helper()
	var upd rootCaKeyUpdate
	if rest, err := asn1.Unmarshal(it.Value.FullBytes, &upd); err != nil || len(rest) != 0 {
		t.Fatalf("RootCaKeyUpdateContent: %v", err)
	}
	return upd
}

// TestCMPGenmCRLs: crlStatusList naming the issuing CA answers its current
// CRL; a client holding that CRL gets an absent value; a source naming
// another CA is refused.
func TestCMPGenmCRLs(t *testing.T) {
	e := newCMPEnv(t)
	ref, secret := e.secret(t, "tls-server")
	issuing := pemCert(t, testutil.WriteFile(t, e.dir, "issuing.pem", e.Must(t, 200, "GET", "/api/v1/cas/signet-issuing/certificate", "", nil).Body))

	status := func(name []byte, thisUpdate time.Time) []byte {
		gn, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: name})
		names, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: gn})
		src := asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 1, IsCompound: true, Bytes: names}
		var b []byte
		var err error
		if thisUpdate.IsZero() {
			b, err = asn1.Marshal([]struct{ Source asn1.RawValue }{{src}})
		} else {
			b, err = asn1.Marshal([]struct {
				Source     asn1.RawValue
				ThisUpdate time.Time `asn1:"generalized"`
			}{{src, thisUpdate}})
		}
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	it := genpITAV(t, e.genm(t, ref, secret, genmBody(t, oidITCRLStatusList, status(issuing.RawSubject, time.Time{}))), oidITCRLs)
	crl := onlyCRL(t, it.Value.FullBytes, issuing)
	// openssl agrees.
	crlFile := testutil.WriteFile(t, e.dir, "genm.crl", pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: crl.Raw}))
	if out, err := testutil.OpensslErr(e.dir, "crl", "-in", crlFile, "-CAfile", testutil.WriteFile(t, e.dir, "issuing-ca.pem",
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: issuing.Raw})), "-noout"); err != nil {
		t.Fatalf("openssl crl: %v\n%s", err, out)
	}

	// The client has this CRL: nothing newer. The leader republishes CRLs a
	// few seconds after audited changes, so a newer one may appear between
	// two requests: then it must be newer, and the client asks again with it.
	for attempt := 1; ; attempt++ {
		it = genpITAV(t, e.genm(t, ref, secret, genmBody(t, oidITCRLStatusList, status(issuing.RawSubject, crl.ThisUpdate))), oidITCRLs)
		if len(it.Value.FullBytes) == 0 {
			break
		}
		newer := onlyCRL(t, it.Value.FullBytes, issuing)
		if !newer.ThisUpdate.After(crl.ThisUpdate) || attempt == 3 {
			t.Fatalf("a client with the current CRL (%v) got one of %v", crl.ThisUpdate, newer.ThisUpdate)
		}
		crl = newer
	}
	// The distribution point of the certificates Signet issues names the same CRL.
	caID := e.Must(t, 200, "GET", "/api/v1/cas/signet-issuing", admin, nil).Map(t)["id"].(string)
	uri := asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 6, Bytes: []byte(e.URL + "/crl/" + caID + ".crl")}
	full, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: mustDER(t, uri)})
	dpn, _ := asn1.Marshal([]struct{ Source asn1.RawValue }{{asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: full}}})
	it = genpITAV(t, e.genm(t, ref, secret, genmBody(t, oidITCRLStatusList, dpn)), oidITCRLs)
	if got := onlyCRL(t, it.Value.FullBytes, issuing); got.ThisUpdate.Before(crl.ThisUpdate) {
		t.Fatalf("the CRL for the distribution point is older (%v) than the CA's newest (%v)", got.ThisUpdate, crl.ThisUpdate)
	}
	// Another CA's name: refused with badRequest.
	other, _ := asn1.Marshal(pkix.Name{CommonName: "Someone Else"}.ToRDNSequence())
	tid := make([]byte, 16)
	_, _ = rand.Read(tid)
	if fail := e.postCMP(t, "tls-server", pbmac1Message(t, ref, secret, tid, nil, 21, genmBody(t, oidITCRLStatusList, status(other, time.Time{})))); fail != 2 {
		t.Fatalf("failInfo %d, want badRequest (2)", fail)
	}
}

// TestCMPGenmUnsupportedType: a type Signet does not answer (and
// rootCaKeyUpdate, which is the answer's type, not a request) is refused
// with badRequest, through openssl and raw; a caCerts request with a value
// too.
func TestCMPGenmUnsupportedType(t *testing.T) {
	e := newCMPEnv(t)
	for _, typ := range []string{"signKeyPairTypes", "rootCaKeyUpdate"} {
		out, ok := e.cmp(t, "tls-server", "-cmd", "genm", "-infotype", typ, "-unprotected_requests", "-ref", "anonymous",
			"-trusted", e.root, "-unprotected_errors")
		if ok || !bytes.Contains([]byte(out), []byte("badRequest")) {
			t.Fatalf("genm %s:\n%s", typ, out)
		}
	}
	ref, secret := e.secret(t, "tls-server")
	for _, tc := range []struct {
		name    string
		content []byte
	}{
		{"unknown OID", genmBody(t, asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 4, 99}, nil)},
		{"caCerts with a value", genmBody(t, asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 4, 17}, []byte{5, 0})},
		{"certReqTemplate with a value", genmBody(t, oidITCertReqTemplate, []byte{5, 0})},
		{"two types", func() []byte {
			b, _ := asn1.Marshal([]itav{{Type: oidITCertReqTemplate}, {Type: oidITRootCaCert}})
			return b
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tid := make([]byte, 16)
			_, _ = rand.Read(tid)
			if fail := e.postCMP(t, "tls-server", pbmac1Message(t, ref, secret, tid, nil, 21, tc.content)); fail != 2 {
				t.Fatalf("failInfo %d, want badRequest (2)", fail)
			}
		})
	}
}

func mustDER(t *testing.T, v any) []byte {
	t.Helper()
	b, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// onlyCRL reads an id-it-crls value holding one CRL, which issuer signed.
func onlyCRL(t *testing.T, value []byte, issuer *x509.Certificate) *x509.RevocationList {
	t.Helper()
	var crls []asn1.RawValue
	if rest, err := asn1.Unmarshal(value, &crls); err != nil || len(rest) != 0 || len(crls) != 1 {
		t.Fatalf("crls value: %v (%d CRLs)", err, len(crls))
	}
	crl, err := x509.ParseRevocationList(crls[0].FullBytes)
	if err != nil {
		t.Fatalf("the CRL does not parse: %v", err)
	}
	if err := crl.CheckSignatureFrom(issuer); err != nil || !bytes.Equal(crl.RawIssuer, issuer.RawSubject) {
		t.Fatalf("the CRL is not the issuing CA's: %v", err)
	}
	return crl
}
