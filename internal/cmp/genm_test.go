package cmp

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"slices"
	"strconv"
	"testing"

	"github.com/signet-pki/signet/internal/ca"
	"github.com/signet-pki/signet/internal/policy"
	"github.com/signet-pki/signet/internal/store"
)

// TestCertReqTemplateKeySpec: the template's key rules become keySpec
// controls (RFC 9480 section 2.16), and a template without rules none.
func TestCertReqTemplateKeySpec(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys []policy.KeyRule
		want []string // control type, then curve OID / "ed25519" / RSA bits
	}{
		{"no key rules", nil, nil},
		{"ed25519", []policy.KeyRule{{Algorithm: "ed25519"}}, []string{"algId ed25519"}},
		{"any curve", []policy.KeyRule{{Algorithm: "ecdsa"}}, []string{"algId 1.2.840.10045.3.1.7", "algId 1.3.132.0.34", "algId 1.3.132.0.35"}},
		{"P-384 up", []policy.KeyRule{{Algorithm: "ecdsa", MinBits: 384}}, []string{"algId 1.3.132.0.34", "algId 1.3.132.0.35"}},
		{"rsa default size", []policy.KeyRule{{Algorithm: "rsa"}}, []string{"rsaKeyLen 2048"}},
		{"rsa 4096", []policy.KeyRule{{Algorithm: "rsa", MinBits: 4096}}, []string{"rsaKeyLen 4096"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			it, err := certReqTemplate(&policy.Template{KeyTypes: tc.keys})
			if err != nil {
				t.Fatal(err)
			}
			var v struct {
				Template asn1.RawValue
				KeySpec  []attributeTypeAndValue `asn1:"optional"`
			}
			if rest, err := asn1.Unmarshal(it.Value.FullBytes, &v); err != nil || len(rest) != 0 {
				t.Fatalf("CertReqTemplateContent: %v", err)
			}
			if len(v.Template.Bytes) != 0 {
				t.Fatalf("a template without subject, SAN or EKU rules gave CertTemplate fields %x", v.Template.Bytes)
			}
			var got []string
			for _, c := range v.KeySpec {
				switch {
				case c.Type.Equal(oidRegCtrlRSAKeyLen):
					var bits int
					if _, err := asn1.Unmarshal(c.Value.FullBytes, &bits); err != nil {
						t.Fatal(err)
					}
					got = append(got, "rsaKeyLen "+strconv.Itoa(bits))
				case c.Type.Equal(oidRegCtrlAlgID):
					var alg pkix.AlgorithmIdentifier
					if _, err := asn1.Unmarshal(c.Value.FullBytes, &alg); err != nil {
						t.Fatal(err)
					}
					if alg.Algorithm.Equal(oidEd25519) {
						if len(alg.Parameters.FullBytes) != 0 {
							t.Fatal("Ed25519 with parameters")
						}
						got = append(got, "algId ed25519")
						continue
					}
					var curve asn1.ObjectIdentifier
					if _, err := asn1.Unmarshal(alg.Parameters.FullBytes, &curve); err != nil || !alg.Algorithm.Equal(oidECPublicKey) {
						t.Fatalf("algId %v: %v", alg.Algorithm, err)
					}
					got = append(got, "algId "+curve.String())
				default:
					t.Fatalf("control %v", c.Type)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("keySpec %v, want %v", got, tc.want)
			}
		})
	}
}

// TestNamesCA: a CRLSource names the issuing CA by its directoryName or a
// distribution point URL of its CRL, and nothing else.
func TestNamesCA(t *testing.T) {
	subject := mustMarshal(pkix.Name{CommonName: "Issuing"}.ToRDNSequence())
	x := &exchange{issuer: &ca.Issuer{CA: store.CA{ID: "ca_123", CRLURL: "http://crl.example/issuing.crl"}, Cert: &x509.Certificate{RawSubject: subject}}}
	gn := func(tag int, b []byte) asn1.RawValue {
		return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: tag, IsCompound: tag == 4, Bytes: b}
	}
	// GeneralNames' elements, without the SEQUENCE around them.
	elems := func(n ...asn1.RawValue) []byte {
		var b []byte
		for _, v := range n {
			b = append(b, mustMarshal(v)...)
		}
		return b
	}
	issuer := func(n ...asn1.RawValue) asn1.RawValue { return explicit(1, mustMarshal(n)) }
	dpn := func(n ...asn1.RawValue) asn1.RawValue { // dpn [0] { fullName [0] IMPLICIT GeneralNames }
		return explicit(0, mustMarshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: elems(n...)}))
	}
	other := mustMarshal(pkix.Name{CommonName: "Other"}.ToRDNSequence())
	for _, tc := range []struct {
		name string
		src  asn1.RawValue
		want bool
	}{
		{"issuer name", issuer(gn(4, subject)), true},
		{"other issuer", issuer(gn(4, other)), false},
		{"issuer by URI", issuer(gn(6, []byte("https://signet.example/crl/ca_123.crl"))), true},
		{"dpn with the configured URL", dpn(gn(6, []byte("http://crl.example/issuing.crl"))), true},
		{"dpn with Signet's CRL path", dpn(gn(6, []byte("http://10.0.0.1:8080/crl/ca_123.crl"))), true},
		{"dpn of another CA", dpn(gn(6, []byte("http://10.0.0.1:8080/crl/ca_999.crl"))), false},
		{"dpn name", dpn(gn(4, subject)), true},
		{"untagged", asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.src
			if _, err := asn1.Unmarshal(mustMarshal(src), &src); err != nil {
				t.Fatal(err)
			}
			if got := namesCA(src, x); got != tc.want {
				t.Fatalf("namesCA = %v, want %v", got, tc.want)
			}
		})
	}
}
