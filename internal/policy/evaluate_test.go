package policy

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/problem"
)

// Policy reads only a key's type and size, so the test keys are shells of
// the right size rather than generated key pairs.
func rsaKey(bits int) *rsa.PublicKey {
	return &rsa.PublicKey{N: new(big.Int).Lsh(big.NewInt(1), uint(bits-1)), E: 65537}
}

var (
	oidCommonName   = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidTitle        = asn1.ObjectIdentifier{2, 5, 4, 12}
	oidEmailAddress = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
)

// acme is a strict template; goodRequest passes it.
func acme() Template {
	return Template{
		KeyTypes: []KeyRule{{"rsa", 3072}, {"ecdsa", 256}},
		Subject: []SubjectRule{{Field: "common_name", Required: true}, {Field: "organization", FixedValue: "Acme"},
			{Field: "organizational_unit", Pattern: "[A-Z][a-z]+"}, {Field: "country", Pattern: "[A-Z]{2}"}},
		SANs: SANRules{DNS: []string{"*.acme.com", ".svc.acme.com", "acme.com"}, IP: []string{"10.0.0.0/8"},
			Email: []string{"*@acme.com"}, URI: []string{"spiffe://acme.com/*"}, Required: true, Max: 5},
		CommonNameInSANs: true,
		KeyUsages:        []string{"digital_signature"},
		ExtKeyUsages:     []string{"server_auth"},
		MaxValidityDays:  90,
	}
}

func goodRequest() Request {
	return Request{
		PublicKey:    &ecdsa.PublicKey{Curve: elliptic.P256()},
		Subject:      pkix.Name{CommonName: "www.acme.com", Organization: []string{"Acme"}},
		DNSNames:     []string{"www.acme.com"},
		ValidityDays: 30,
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestEvaluate(t *testing.T) {
	tests := []struct {
		name     string
		template func(*Template)
		request  func(*Request)
		want     []string
	}{
		{"conforming request", nil, nil, nil},
		{"large enough rsa", nil, func(r *Request) { r.PublicKey = rsaKey(3072) }, nil},
		{"rsa too small", nil, func(r *Request) { r.PublicKey = rsaKey(2048) }, []string{"key key_too_small"}},
		{"curve too small", nil, func(r *Request) { r.PublicKey = &ecdsa.PublicKey{Curve: elliptic.P224()} }, []string{"key key_too_small"}},
		{"ed25519 not listed", nil, func(r *Request) { r.PublicKey = make(ed25519.PublicKey, 32) }, []string{"key key_type_not_allowed"}},
		{"no key", nil, func(r *Request) { r.PublicKey = nil }, []string{"key key_type_not_allowed"}},
		{"malformed rsa key", nil, func(r *Request) { r.PublicKey = &rsa.PublicKey{} }, []string{"key key_type_not_allowed"}},
		{"malformed ecdsa key", nil, func(r *Request) { r.PublicKey = &ecdsa.PublicKey{} }, []string{"key key_type_not_allowed"}},
		{"foreign key type", nil, func(r *Request) { r.PublicKey = "not a key" }, []string{"key key_type_not_allowed"}},
		{"no key rules allow any key", func(tp *Template) { tp.KeyTypes = nil }, func(r *Request) { r.PublicKey = rsaKey(1024) }, nil},
		{"duplicate key rules combine leniently", func(tp *Template) { tp.KeyTypes = append(tp.KeyTypes, KeyRule{"rsa", 2048}) },
			func(r *Request) { r.PublicKey = rsaKey(2048) }, nil},

		{"common name required", nil, func(r *Request) { r.Subject.CommonName = "" }, []string{"subject.common_name subject_field_required"}},
		{"fixed value", nil, func(r *Request) { r.Subject.Organization = []string{"Evil"} },
			[]string{"subject.organization subject_field_mismatch"}},
		{"pattern matches", nil, func(r *Request) { r.Subject.OrganizationalUnit = []string{"Sales"}; r.Subject.Country = []string{"DE"} }, nil},
		{"pattern is anchored", nil, func(r *Request) {
			r.Subject.OrganizationalUnit = []string{"Sales1"}
			r.Subject.Country = []string{"DEU"}
		},
			[]string{"subject.country subject_field_mismatch", "subject.organizational_unit subject_field_mismatch"}},
		{"field without rule", nil, func(r *Request) { r.Subject.Locality = []string{"Berlin"}; r.Subject.SerialNumber = "42" },
			[]string{"subject.locality subject_field_not_allowed", "subject.serial_number subject_field_not_allowed"}},
		{"two values", nil, func(r *Request) { r.Subject.Organization = []string{"Acme", "Acme"} },
			[]string{"subject.organization subject_field_multiple"}},
		{"two values, one wrong", nil, func(r *Request) { r.Subject.Organization = []string{"Acme", "Evil"} },
			[]string{"subject.organization subject_field_multiple", "subject.organization subject_field_mismatch"}},
		{"two common names in the CSR", nil, func(r *Request) {
			r.Subject.Names = []pkix.AttributeTypeAndValue{{Type: oidCommonName, Value: "a.acme.com"}, {Type: oidCommonName, Value: "www.acme.com"}}
		}, []string{"subject.common_name subject_field_multiple"}},
		{"unknown attribute in the CSR", nil, func(r *Request) {
			r.Subject.Names = []pkix.AttributeTypeAndValue{{Type: oidCommonName, Value: "www.acme.com"}, {Type: oidEmailAddress, Value: "a@acme.com"}}
		}, []string{"subject subject_field_not_allowed"}},
		{"unknown attribute added by code", nil, func(r *Request) {
			r.Subject.ExtraNames = []pkix.AttributeTypeAndValue{{Type: oidTitle, Value: "CEO"}}
		}, []string{"subject subject_field_not_allowed"}},
		{"extra name replaces the common name", nil, func(r *Request) {
			r.Subject.ExtraNames = []pkix.AttributeTypeAndValue{{Type: oidCommonName, Value: "evil.org"}}
		}, []string{"subject.common_name common_name_not_in_sans"}},
		{"required field with an empty value", func(tp *Template) { tp.Subject[1].Required = true },
			func(r *Request) { r.Subject.Organization = []string{""} },
			[]string{"subject.organization subject_field_required", "subject.organization subject_field_mismatch"}},
		{"broken pattern fails closed", func(tp *Template) { tp.Subject[3].Pattern = "(" },
			func(r *Request) { r.Subject.Country = []string{"DE"} }, []string{"subject.country subject_field_mismatch"}},

		{"common name not in sans", nil, func(r *Request) { r.DNSNames = []string{"api.acme.com"} },
			[]string{"subject.common_name common_name_not_in_sans"}},
		{"common name case-insensitive", nil, func(r *Request) { r.Subject.CommonName = "WWW.Acme.COM" }, nil},
		{"common name as ip", nil, func(r *Request) {
			r.Subject.CommonName = "10.1.2.3"
			r.IPAddresses = []net.IP{net.ParseIP("10.1.2.3")}
		}, nil},
		{"common name as other ip", nil, func(r *Request) {
			r.Subject.CommonName = "10.1.2.3"
			r.IPAddresses = []net.IP{net.ParseIP("10.1.2.4")}
		}, []string{"subject.common_name common_name_not_in_sans"}},
		{"common name free when not required in sans", func(tp *Template) { tp.CommonNameInSANs = false },
			func(r *Request) { r.Subject.CommonName = "Web Server" }, nil},

		{"sans required", nil, func(r *Request) { r.Subject.CommonName, r.DNSNames = "", nil },
			[]string{"sans san_required", "subject.common_name subject_field_required"}},
		{"too many sans", nil, func(r *Request) {
			r.DNSNames = []string{"www.acme.com", "a.acme.com", "b.acme.com"}
			r.IPAddresses = []net.IP{net.ParseIP("10.0.0.1")}
			r.EmailAddresses = []string{"ops@acme.com"}
			r.URIs = []*url.URL{mustURL(t, "spiffe://acme.com/web")}
		}, []string{"sans too_many_sans"}},
		{"default max is 100", func(tp *Template) { tp.SANs.Max = 0; tp.SANs.DNS = []string{"*"} }, func(r *Request) {
			for i := range 100 {
				r.DNSNames = append(r.DNSNames, fmt.Sprintf("h%d.acme.com", i))
			}
		}, []string{"sans too_many_sans"}},
		{"dns outside patterns", nil, func(r *Request) { r.DNSNames = append(r.DNSNames, "evil.org") }, []string{"sans.dns[1] san_not_allowed"}},
		{"dns invalid", nil, func(r *Request) { r.DNSNames = append(r.DNSNames, "foo..acme.com") }, []string{"sans.dns[1] san_invalid"}},
		{"wildcard not allowed", nil, func(r *Request) { r.DNSNames = append(r.DNSNames, "*.acme.com") },
			[]string{"sans.dns[1] wildcard_not_allowed"}},
		{"wildcard allowed", func(tp *Template) { tp.AllowWildcard = true }, func(r *Request) { r.DNSNames = append(r.DNSNames, "*.acme.com") }, nil},
		{"wildcard outside patterns and not allowed", nil, func(r *Request) { r.DNSNames = append(r.DNSNames, "*.evil.org") },
			[]string{"sans.dns[1] san_not_allowed", "sans.dns[1] wildcard_not_allowed"}},
		{"ip in range", nil, func(r *Request) {
			r.IPAddresses = []net.IP{net.ParseIP("10.9.8.7").To4(), net.ParseIP("::ffff:10.0.0.1")}
		}, nil},
		{"ip out of range", nil, func(r *Request) { r.IPAddresses = []net.IP{net.ParseIP("10.0.0.1"), net.ParseIP("192.168.0.1")} },
			[]string{"sans.ip[1] san_not_allowed"}},
		{"ip invalid", nil, func(r *Request) { r.IPAddresses = []net.IP{{10, 0, 0}, nil} },
			[]string{"sans.ip[0] san_invalid", "sans.ip[1] san_invalid"}},
		{"email", nil, func(r *Request) { r.EmailAddresses = []string{"Ops@ACME.com", "ops@evil.org", "not-an-email"} },
			[]string{"sans.email[1] san_not_allowed", "sans.email[2] san_invalid"}},
		{"uri", nil, func(r *Request) {
			r.URIs = []*url.URL{mustURL(t, "spiffe://acme.com/ns/web"), mustURL(t, "https://evil.org/"), nil, mustURL(t, "relative/path")}
		}, []string{"sans.uri[1] san_not_allowed", "sans.uri[2] san_invalid", "sans.uri[3] san_invalid"}},

		{"validity at the maximum", nil, func(r *Request) { r.ValidityDays = 90 }, nil},
		{"validity not chosen", nil, func(r *Request) { r.ValidityDays = 0 }, nil},
		{"validity too long", nil, func(r *Request) { r.ValidityDays = 91 }, []string{"validity_days validity_too_long"}},
		{"validity negative", nil, func(r *Request) { r.ValidityDays = -1 }, []string{"validity_days validity_invalid"}},
		{"keygen refused", nil, func(r *Request) { r.ServerKeyGen = true }, []string{"keygen keygen_not_allowed"}},
		{"keygen allowed", func(tp *Template) { tp.AllowKeyGeneration = true }, func(r *Request) { r.ServerKeyGen = true }, nil},

		{"everything at once", nil, func(r *Request) {
			r.PublicKey = rsaKey(2048)
			r.Subject = pkix.Name{Organization: []string{"Evil"}, Locality: []string{"Nowhere"}}
			r.DNSNames = []string{"www.acme.com", "evil.org", "*.acme.com", "bad_name.acme.com", "a.b.acme.com"}
			r.IPAddresses = []net.IP{net.ParseIP("192.168.0.1")}
			r.ValidityDays = 365
			r.ServerKeyGen = true
		}, []string{"key key_too_small", "keygen keygen_not_allowed", "sans too_many_sans",
			"sans.dns[1] san_not_allowed", "sans.dns[2] wildcard_not_allowed", "sans.dns[3] san_invalid", "sans.dns[4] san_not_allowed",
			"sans.ip[0] san_not_allowed", "subject.common_name subject_field_required", "subject.locality subject_field_not_allowed",
			"subject.organization subject_field_mismatch", "validity_days validity_too_long"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp, r := acme(), goodRequest()
			if tt.template != nil {
				tt.template(&tp)
			}
			if tt.request != nil {
				tt.request(&r)
			}
			vs := tp.Evaluate(r)
			if g, w := got(vs), wantSet(tt.want...); !slices.Equal(g, w) {
				t.Errorf("violations\n got %q\nwant %q\n%v", g, w, vs)
			}
			for _, v := range vs {
				if v.Message == "" {
					t.Errorf("%s %s has no message", v.Field, v.Code)
				}
			}
		})
	}
}

// TestEvaluateZeroTemplate: an empty template (which Validate refuses)
// allows no subject, no names and no validity, so evaluation fails closed.
func TestEvaluateZeroTemplate(t *testing.T) {
	var tp Template
	vs := tp.Evaluate(goodRequest())
	want := wantSet("sans.dns[0] san_not_allowed", "subject.common_name subject_field_not_allowed",
		"subject.organization subject_field_not_allowed", "validity_days validity_too_long")
	if g := got(vs); !slices.Equal(g, want) {
		t.Errorf("got %q, want %q", g, want)
	}
}

func TestMessagesNameTheValue(t *testing.T) {
	tests := []struct {
		request func(*Request)
		want    string
	}{
		{func(r *Request) { r.PublicKey = rsaKey(2048) }, "2048 bits"},
		{func(r *Request) { r.Subject.Organization = []string{"Evil Corp"} }, `"Evil Corp"`},
		{func(r *Request) { r.DNSNames = append(r.DNSNames, "evil.org") }, `"evil.org"`},
		{func(r *Request) { r.DNSNames = append(r.DNSNames, "bad_name.acme.com") }, `"_"`},
		{func(r *Request) { r.IPAddresses = []net.IP{net.ParseIP("192.168.0.1")} }, "192.168.0.1"},
		{func(r *Request) { r.ValidityDays = 400 }, "400 days"},
		{func(r *Request) { r.DNSNames = append(r.DNSNames, strings.Repeat("x", 5000)) }, "…"},
	}
	for _, tt := range tests {
		r := goodRequest()
		tt.request(&r)
		tp := acme()
		vs := tp.Evaluate(r)
		if len(vs) != 1 || !strings.Contains(vs[0].Message, tt.want) {
			t.Errorf("want one violation naming %s, got %v", tt.want, vs)
		}
		if len(vs) == 1 && len(vs[0].Message) > 400 {
			t.Errorf("message of %d bytes is not cut short", len(vs[0].Message))
		}
	}
}

func TestCheck(t *testing.T) {
	tp := acme()
	if err := tp.Check(goodRequest()); err != nil {
		t.Fatalf("conforming request refused: %v", err)
	}
	r := goodRequest()
	r.ValidityDays, r.ServerKeyGen = 1000, true
	pe := problem.As(tp.Check(r))
	if pe == nil || pe.Code != "policy_violation" || pe.Kind != problem.KindInvalid {
		t.Fatalf("want a policy_violation problem, got %v", pe)
	}
	if pe.Message != "request breaks template: 2 violation(s)" || len(pe.Violations) != 2 {
		t.Errorf("got %q with %v", pe.Message, pe.Violations)
	}
}

// Evaluate runs on the issuance hot path; patterns are compiled per call,
// which these keep an eye on.
func BenchmarkEvaluate(b *testing.B) {
	withPatterns := acme()
	r := goodRequest()
	r.Subject.OrganizationalUnit, r.Subject.Country = []string{"Sales"}, []string{"DE"}
	tests := []struct {
		name string
		tp   Template
	}{{"default server", DefaultTLSServer()}, {"two patterns", withPatterns}}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if vs := tt.tp.Evaluate(r); len(vs) != 0 {
					b.Fatal(vs)
				}
			}
		})
	}
}

// TestFieldForOID checks the OID table against the standard library's own
// encoding of each pkix.Name field.
func TestFieldForOID(t *testing.T) {
	tests := []struct {
		field string
		name  pkix.Name
	}{
		{"common_name", pkix.Name{CommonName: "x"}},
		{"organization", pkix.Name{Organization: []string{"x"}}},
		{"organizational_unit", pkix.Name{OrganizationalUnit: []string{"x"}}},
		{"country", pkix.Name{Country: []string{"x"}}},
		{"province", pkix.Name{Province: []string{"x"}}},
		{"locality", pkix.Name{Locality: []string{"x"}}},
		{"street_address", pkix.Name{StreetAddress: []string{"x"}}},
		{"postal_code", pkix.Name{PostalCode: []string{"x"}}},
		{"serial_number", pkix.Name{SerialNumber: "x"}},
	}
	if len(tests) != len(SubjectFields()) {
		t.Fatalf("%d cases for %d fields", len(tests), len(SubjectFields()))
	}
	for _, tt := range tests {
		var parsed pkix.Name
		parsed.FillFromRDNSequence(ptr(tt.name.ToRDNSequence()))
		if len(parsed.Names) != 1 {
			t.Fatalf("%s: %d attributes", tt.field, len(parsed.Names))
		}
		if got := fieldForOID(parsed.Names[0].Type); got != tt.field {
			t.Errorf("OID %v: got %q, want %q", parsed.Names[0].Type, got, tt.field)
		}
		if got := subjectValues(tt.name)[tt.field]; !slices.Equal(got, []string{"x"}) {
			t.Errorf("%s: subjectValues gives %q", tt.field, got)
		}
	}
	for _, oid := range []asn1.ObjectIdentifier{oidTitle, oidEmailAddress, {2, 5, 4}, {2, 5, 4, 3, 1}, {1, 5, 4, 3}} {
		if got := fieldForOID(oid); got != "" {
			t.Errorf("OID %v: got %q, want none", oid, got)
		}
	}
}

func ptr[T any](v T) *T { return &v }
