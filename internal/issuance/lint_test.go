package issuance

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"net"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3/lint"

	"github.com/signet-pki/signet/internal/problem"
)

// lintCA is an issuing CA for lint tests: P-256, with a subject key
// identifier, so that leaves get an authority key identifier as Signet's do.
type lintCA struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func newLintCA(t testing.TB) lintCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Signet Issuing CA", Organization: []string{"Signet"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(5, 0, 0), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, SubjectKeyId: keyID(key.Public())}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return lintCA{cert: cert, key: key}
}

// leafTemplate is shaped as sign builds certificates.
func leafTemplate(pub crypto.PublicKey, cn string) *x509.Certificate {
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().AddDate(0, 0, 90).Add(-time.Second),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, SubjectKeyId: keyID(pub),
		CRLDistributionPoints: []string{"http://127.0.0.1:8443/crl/issuing.crl"}, OCSPServer: []string{"http://127.0.0.1:8443/ocsp"},
		IssuingCertificateURL: []string{"http://127.0.0.1:8443/api/v1/cas/issuing/certificate?format=der"}}
}

func (ca lintCA) sign(t testing.TB, tmpl *x509.Certificate, pub crypto.PublicKey) []byte {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, pub, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func p256Key(t testing.TB) crypto.Signer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// signetLeaves are certificates of every shape Signet issues: key types,
// name kinds, subject attributes, usages, with and without the URLs.
func signetLeaves(t *testing.T, ca lintCA) map[string][]byte {
	t.Helper()
	ec := p256Key(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	out["ecdsa server"] = ca.sign(t, leafTemplate(ec.Public(), "host-1.bench.example.com"), ec.Public())

	tmpl := leafTemplate(&rsaKey.PublicKey, "app.internal")
	tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	tmpl.Subject = pkix.Name{CommonName: "app.internal", Organization: []string{"Example Corp"}, OrganizationalUnit: []string{"Platform"},
		Country: []string{"DE"}, Province: []string{"Berlin"}, Locality: []string{"Berlin"}, StreetAddress: []string{"Main St 1"},
		PostalCode: []string{"10115"}, SerialNumber: "42"}
	tmpl.DNSNames = []string{"app.internal", "*.app.internal"}
	tmpl.IPAddresses = []net.IP{net.ParseIP("10.0.0.7"), net.ParseIP("fd00::7")}
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	out["rsa server, rich subject, IPs"] = ca.sign(t, tmpl, &rsaKey.PublicKey)

	tmpl = leafTemplate(edPub, "")
	u, _ := url.Parse("spiffe://example.org/ns/prod/sa/api")
	tmpl.Subject, tmpl.DNSNames, tmpl.URIs = pkix.Name{}, nil, []*url.URL{u}
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	out["ed25519 client, URI only"] = ca.sign(t, tmpl, edPub)

	tmpl = leafTemplate(p384.Public(), "Jane Doe")
	tmpl.Subject.ExtraNames = []pkix.AttributeTypeAndValue{{Type: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}, Value: "jane@example.com"}}
	tmpl.DNSNames, tmpl.EmailAddresses = nil, []string{"jane@example.com"}
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}
	tmpl.CRLDistributionPoints, tmpl.OCSPServer, tmpl.IssuingCertificateURL = nil, nil, nil
	out["p384 email, no URLs"] = ca.sign(t, tmpl, p384.Public())
	return out
}

// TestGatedLintsNeedTheirGate backs the shortcut in Linter.lintsFor: every
// gated lint exists (a zlint upgrade that renames one fails here), and on
// every shape of certificate Signet issues it reports "not applicable", so
// leaving it out changes no verdict.
func TestGatedLintsNeedTheirGate(t *testing.T) {
	l, err := NewLinter()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*lint.CertificateLint{}
	for _, cl := range l.all {
		byName[cl.Name] = cl
	}
	for name := range gatedLints {
		if byName[name] == nil {
			t.Errorf("gated lint %s is not in the registry", name)
		}
	}
	if len(l.leaf)+len(gatedLints) != len(l.all) {
		t.Errorf("%d lints for leaves + %d gated != %d in all", len(l.leaf), len(gatedLints), len(l.all))
	}
	for shape, der := range signetLeaves(t, newLintCA(t)) {
		cert, err := zx509.ParseCertificate(der)
		if err != nil {
			t.Fatalf("%s: %v", shape, err)
		}
		if got := l.lintsFor(cert); len(got) != len(l.leaf) {
			t.Errorf("%s: a Signet leaf opened a gate", shape)
		}
		for name := range gatedLints {
			if cl := byName[name]; cl != nil {
				if r := cl.Execute(cert, l.config); r.Status != lint.NA {
					t.Errorf("%s: gated lint %s says %s, want NA", shape, name, r.Status)
				}
			}
		}
		if err := l.Check(der); err != nil {
			t.Errorf("%s: %v", shape, err)
		}
	}
}

// TestLintErrorsStopIssuance: an error-level finding fails the check with
// lint_failed, whether the lint runs on every certificate or only behind a
// gate the certificate opens.
func TestLintErrorsStopIssuance(t *testing.T) {
	l, err := NewLinter()
	if err != nil {
		t.Fatal(err)
	}
	ca := newLintCA(t)
	key := p256Key(t)
	pub := key.Public()

	longCN := leafTemplate(pub, strings.Repeat("a", 60)+".example.com")
	nameConstraints := leafTemplate(pub, "nc.example.com")
	nameConstraints.PermittedDNSDomains = []string{"example.com"}
	ianValue, err := asn1.Marshal([]asn1.RawValue{{Class: asn1.ClassContextSpecific, Tag: 2, Bytes: []byte("*")}})
	if err != nil {
		t.Fatal(err)
	}
	ian := leafTemplate(pub, "ian.example.com")
	ian.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 18}, Value: ianValue}}
	emptyCA := &x509.Certificate{SerialNumber: big.NewInt(7), NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().AddDate(1, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, SubjectKeyId: keyID(pub)}

	tests := []struct {
		name string
		tmpl *x509.Certificate
		want string // a lint that must be among the violations
	}{
		{"common name over 64 characters", longCN, "e_subject_common_name_max_length"},
		{"name constraints in a leaf (gate: name constraints)", nameConstraints, "e_ext_name_constraints_not_in_ca"},
		{"bare wildcard issuer alternative name (gate: IAN)", ian, "e_ian_bare_wildcard"},
		{"CA with an empty subject (gate: IsCA)", emptyCA, "e_ca_subject_field_empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := l.Check(ca.sign(t, tc.tmpl, pub))
			p := problem.As(err)
			if err == nil || p == nil || p.Code != "lint_failed" {
				t.Fatalf("got %v, want a lint_failed problem", err)
			}
			if !slices.ContainsFunc(p.Violations, func(v problem.Violation) bool { return v.Code == tc.want }) {
				t.Fatalf("violations %v do not include %s", p.Violations, tc.want)
			}
		})
	}
}

func BenchmarkLint(b *testing.B) {
	ca := newLintCA(b)
	key := p256Key(b)
	der := ca.sign(b, leafTemplate(key.Public(), "a.example.com"), key.Public())
	l, err := NewLinter()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := l.Check(der); err != nil {
			b.Fatal(err)
		}
	}
}

// TestKeyIDShortcuts: the ECDSA and Ed25519 shortcuts give what the
// SubjectPublicKeyInfo route gives.
func TestKeyIDShortcuts(t *testing.T) {
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]crypto.PublicKey{"ed25519": edPub}
	for name, curve := range map[string]elliptic.Curve{"p256": elliptic.P256(), "p384": elliptic.P384(), "p521": elliptic.P521()} {
		k, err := ecdsa.GenerateKey(curve, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		keys[name] = k.Public()
	}
	for name, pub := range keys {
		if got, want := keyID(pub), spkiKeyID(pub); len(want) != 20 || !slices.Equal(got, want) {
			t.Errorf("%s: keyID %x, SubjectPublicKeyInfo route %x", name, got, want)
		}
	}
}
