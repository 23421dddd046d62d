package policy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"net"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/problem"
)

// Templates arrive as JSON from API clients: decoding, validating and
// evaluating any of them must never panic, and a template must survive the
// store's JSON round trip unchanged.
func FuzzTemplateJSON(f *testing.F) {
	for _, tp := range []Template{DefaultTLSServer(), DefaultTLSClient(), acme(), {}} {
		b, err := json.Marshal(tp)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"subject":[{"field":"common_name","pattern":"a)|(b"}],"sans":{"dns":["*.*"],"ip":["::/129"],"max":-1},"max_validity_days":-3}`))
	f.Add([]byte(`{"key_types":[{"algorithm":"rsa","min_bits":99999999999}],"key_usages":["cert_sign"],"ext_key_usages":[null]}`))
	f.Add([]byte(`null`))

	request := Request{
		PublicKey: &ecdsa.PublicKey{Curve: elliptic.P256()},
		Subject: pkix.Name{CommonName: "www.acme.com", Organization: []string{"Acme", ""},
			Names: []pkix.AttributeTypeAndValue{{Type: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}, Value: "a@acme.com"}}},
		DNSNames:       []string{"www.acme.com", "*.acme.com", "bad..name"},
		IPAddresses:    []net.IP{net.ParseIP("10.0.0.1"), net.ParseIP("::1"), {1, 2}},
		EmailAddresses: []string{"ops@acme.com", "nope"},
		URIs:           []*url.URL{{Scheme: "spiffe", Host: "acme.com", Path: "/web"}, nil},
		ValidityDays:   30,
		ServerKeyGen:   true,
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var tp Template
		if json.Unmarshal(data, &tp) != nil {
			return
		}
		if err := tp.Validate(); err != nil {
			if pe := problem.As(err); pe == nil || pe.Code != "template_invalid" || len(pe.Violations) == 0 {
				t.Fatalf("Validate returned %v", err)
			}
		}
		for _, v := range tp.Evaluate(request) {
			if v.Field == "" || v.Code == "" || v.Message == "" {
				t.Fatalf("incomplete violation %+v", v)
			}
		}
		_ = tp.KeyUsageFor(request.PublicKey)
		_ = tp.ExtendedKeyUsages()

		b, err := json.Marshal(tp)
		if err != nil {
			t.Fatal(err)
		}
		var back Template
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, tp) {
			t.Fatalf("round trip changed the template\n got %+v\nwant %+v", back, tp)
		}
	})
}

// DNS names come from CSRs. A name the checks accept must be matched
// consistently: "*" allows it, and so does its own exact or parent pattern.
func FuzzDNSName(f *testing.F) {
	for _, s := range []string{"www.acme.com", "*.acme.com", "foo..com", "-a.com", "a_b.com", "10.0.0.1", "*", "*.", "xn--bcher-kva.example", "ACME.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		wildcard, err := checkDNSName(name)
		_ = checkDNSPattern(name)
		if err != nil {
			return
		}
		lower := strings.ToLower(name)
		if !matchDNS([]string{"*"}, lower) {
			t.Fatalf("%q: * does not match", name)
		}
		if !wildcard && !matchDNS([]string{name}, lower) {
			t.Fatalf("%q does not match itself", name)
		}
		if _, parent, ok := strings.Cut(lower, "."); ok {
			if !matchDNS([]string{"." + parent}, lower) || !matchDNS([]string{"*." + parent}, lower) {
				t.Fatalf("%q is not matched by its parent %q", name, parent)
			}
		}
	})
}
