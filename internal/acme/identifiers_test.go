package acme

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/policy"
	"github.com/signet-pki/signet/internal/profile"
	"github.com/signet-pki/signet/internal/store"
)

func mustAddr(t *testing.T, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestACMENormalizeIdentifiers(t *testing.T) {
	cases := []struct {
		name string
		in   []identifier
		want []identifier
		err  string
	}{
		{"lower-cased and deduplicated", []identifier{{"dns", "WWW.Example.TEST"}, {"dns", "www.example.test"}},
			[]identifier{{"dns", "www.example.test"}}, ""},
		{"wildcard", []identifier{{"dns", "*.Example.test"}}, []identifier{{"dns", "*.example.test"}}, ""},
		{"single label", []identifier{{"dns", "db"}}, []identifier{{"dns", "db"}}, ""},
		{"IPv4-mapped IPv6", []identifier{{"ip", "::ffff:192.0.2.1"}}, []identifier{{"ip", "192.0.2.1"}}, ""},
		{"IPv6", []identifier{{"ip", "2001:DB8::1"}}, []identifier{{"ip", "2001:db8::1"}}, ""},
		{"none", nil, nil, errMalformed},
		{"IP as dns", []identifier{{"dns", "192.0.2.1"}}, nil, errRejectedIdentifier},
		{"wildcard in the middle", []identifier{{"dns", "a.*.test"}}, nil, errRejectedIdentifier},
		{"trailing dot", []identifier{{"dns", "a.test."}}, nil, errRejectedIdentifier},
		{"underscore", []identifier{{"dns", "a_b.test"}}, nil, errRejectedIdentifier},
		{"zone in IP", []identifier{{"ip", "fe80::1%eth0"}}, nil, errRejectedIdentifier},
		{"email", []identifier{{"email", "a@b.test"}}, nil, errUnsupportedIdentifier},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := normalizeIdentifiers(tc.in)
			var ae *acmeError
			switch {
			case tc.err == "" && (err != nil || !slices.Equal(got, tc.want)):
				t.Fatalf("got %v %v, want %v", got, err, tc.want)
			case tc.err != "" && (!errors.As(err, &ae) || ae.Type != tc.err):
				t.Fatalf("want %s, got %v", tc.err, err)
			}
		})
	}
}

func TestACMECheckTemplate(t *testing.T) {
	prof := &profile.Resolved{Profile: store.Profile{Name: "web"}, Template: &profile.Template{Parsed: policy.Template{
		SANs: policy.SANRules{DNS: []string{".corp.test"}, IP: []string{"10.0.0.0/8"}}, MaxValidityDays: 90}}}
	if err := checkTemplate(prof, []identifier{{"dns", "a.corp.test"}, {"ip", "10.1.2.3"}}); err != nil {
		t.Fatalf("allowed names refused: %v", err)
	}
	err := checkTemplate(prof, []identifier{{"dns", "a.corp.test"}, {"dns", "evil.test"}, {"dns", "*.corp.test"}, {"ip", "192.0.2.1"}})
	var ae *acmeError
	if !errors.As(err, &ae) || ae.Type != errRejectedIdentifier || len(ae.Subproblems) != 3 {
		t.Fatalf("want 3 rejected identifiers, got %v", err)
	}
	var named []string
	for _, sub := range ae.Subproblems {
		if sub.Identifier != nil {
			named = append(named, sub.Identifier.Value)
		}
	}
	slices.Sort(named)
	if !slices.Equal(named, []string{"*.corp.test", "192.0.2.1", "evil.test"}) {
		t.Fatalf("subproblems name %v", named)
	}
}

func TestACMECheckCSRNames(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr := func(cn string, dns []string, ips ...string) *x509.CertificateRequest {
		tmpl := &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}, DNSNames: dns}
		for _, ip := range ips {
			tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(ip))
		}
		der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificateRequest(der)
		return c
	}
	order := []identifier{{"dns", "a.test"}, {"dns", "*.b.test"}, {"ip", "192.0.2.1"}}
	cases := []struct {
		name string
		csr  *x509.CertificateRequest
		ok   bool
	}{
		{"same names", csr("a.test", []string{"a.test", "*.b.test"}, "192.0.2.1"), true},
		{"names in another case and order", csr("", []string{"*.B.test", "A.test"}, "192.0.2.1"), true},
		{"IP common name", csr("192.0.2.1", []string{"a.test", "*.b.test"}, "192.0.2.1"), true},
		{"one missing", csr("", []string{"a.test"}, "192.0.2.1"), false},
		{"one extra", csr("", []string{"a.test", "*.b.test", "c.test"}, "192.0.2.1"), false},
		{"common name not ordered", csr("c.test", []string{"a.test", "*.b.test"}, "192.0.2.1"), false},
	}
	for _, tc := range cases {
		err := checkCSRNames(tc.csr, order)
		var ae *acmeError
		if tc.ok != (err == nil) || (err != nil && (!errors.As(err, &ae) || ae.Type != errBadCSR)) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestACMEParseCertID(t *testing.T) {
	cases := []struct {
		id     string
		serial string // "" = refused
	}{
		{"aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE", "87654321"},
		{"aYhba4dGQEHhs3uEe6CuLN4ByNQ.AQ", "1"},
		{"aYhba4dGQEHhs3uEe6CuLN4ByNQ", ""},
		{".AQ", ""},
		{"aYhb.", ""},
		{"aYhb.gA", ""}, // negative serial
		{"a+b.AQ", ""},  // not base64url
	}
	for _, tc := range cases {
		_, serial, err := parseCertID(tc.id)
		if serial != tc.serial || (tc.serial == "") != (err != nil) {
			t.Errorf("%q: serial %q, err %v; want %q", tc.id, serial, err, tc.serial)
		}
	}
}

func TestACMERenewalWindow(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	nb := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	active := &store.Certificate{Status: store.CertActive, NotBefore: nb, NotAfter: nb.Add(90 * 24 * time.Hour)}
	start, end := renewalWindow(active, now)
	if !start.Equal(nb.Add(60*24*time.Hour)) || !end.Equal(nb.Add(75*24*time.Hour)) {
		t.Fatalf("active: %v..%v", start, end)
	}
	revoked := *active
	revoked.Status = store.CertRevoked
	if start, end := renewalWindow(&revoked, now); !end.Before(now) || !start.Before(end) {
		t.Fatalf("revoked: %v..%v", start, end)
	}
}

func FuzzParseCertID(f *testing.F) {
	f.Add("aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE")
	f.Add("..")
	f.Fuzz(func(t *testing.T, id string) {
		if _, serial, err := parseCertID(id); err == nil && serial == "" {
			t.Fatalf("%q: accepted without a serial", id)
		}
	})
}
