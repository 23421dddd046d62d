package policy

import (
	"net"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// sanCodes evaluates one kind of name against a template allowing only the
// given SAN rules and returns the sorted codes.
func sanCodes(tp Template, r Request) []string {
	tp.MaxValidityDays = 1
	var codes []string
	for _, v := range tp.Evaluate(r) {
		codes = append(codes, v.Code)
	}
	slices.Sort(codes)
	return codes
}

func TestDNSNames(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	// 4 labels of 63 plus 3 dots = 255; trimming 2 from the last gives 253.
	name253 := strings.Join([]string{long(63), long(63), long(63), long(61)}, ".")
	tests := []struct {
		patterns []string
		wildcard bool // Template.AllowWildcard
		name     string
		want     []string
	}{
		// exact
		{[]string{"example.com"}, false, "example.com", nil},
		{[]string{"example.com"}, false, "www.example.com", []string{"san_not_allowed"}},
		{[]string{"example.com"}, false, "example.co", []string{"san_not_allowed"}},
		{[]string{"example.com"}, false, "badexample.com", []string{"san_not_allowed"}},
		// *.x: exactly one label
		{[]string{"*.acme.com"}, false, "www.acme.com", nil},
		{[]string{"*.acme.com"}, false, "a.b.acme.com", []string{"san_not_allowed"}},
		{[]string{"*.acme.com"}, false, "acme.com", []string{"san_not_allowed"}},
		{[]string{"*.acme.com"}, false, "evilacme.com", []string{"san_not_allowed"}},
		// .x: any depth, not x itself
		{[]string{".acme.com"}, false, "www.acme.com", nil},
		{[]string{".acme.com"}, false, "a.b.c.acme.com", nil},
		{[]string{".acme.com"}, false, "acme.com", []string{"san_not_allowed"}},
		{[]string{".acme.com"}, false, "evilacme.com", []string{"san_not_allowed"}},
		// *: anything valid
		{[]string{"*"}, false, "db", nil},
		{[]string{"*"}, false, "xn--bcher-kva.example", nil},
		// several patterns, any may allow
		{[]string{"example.com", ".acme.com"}, false, "x.acme.com", nil},
		{nil, false, "example.com", []string{"san_not_allowed"}},
		// case-insensitive on both sides
		{[]string{"Example.COM"}, false, "eXample.com", nil},
		{[]string{"*.ACME.com"}, false, "WWW.acme.COM", nil},
		{[]string{".Acme.Com"}, false, "A.B.ACME.COM", nil},
		// wildcard requests need AllowWildcard and a pattern that covers them
		{[]string{"*.acme.com"}, true, "*.acme.com", nil},
		{[]string{".acme.com"}, true, "*.acme.com", nil},
		{[]string{".acme.com"}, true, "*.dev.acme.com", nil},
		{[]string{"*"}, true, "*.acme.com", nil},
		{[]string{"*.acme.com"}, true, "*.dev.acme.com", []string{"san_not_allowed"}},
		{[]string{"acme.com"}, true, "*.acme.com", []string{"san_not_allowed"}},
		{[]string{"www.acme.com"}, true, "*.acme.com", []string{"san_not_allowed"}},
		{[]string{"*"}, false, "*.acme.com", []string{"wildcard_not_allowed"}},
		{[]string{"acme.com"}, false, "*.acme.com", []string{"san_not_allowed", "wildcard_not_allowed"}},
		// invalid names, whatever the patterns
		{[]string{"*"}, true, "foo..com", []string{"san_invalid"}},
		{[]string{"*"}, true, ".foo.com", []string{"san_invalid"}},
		{[]string{"*"}, true, "foo.com.", []string{"san_invalid"}},
		{[]string{"*"}, true, "-foo.com", []string{"san_invalid"}},
		{[]string{"*"}, true, "foo-.com", []string{"san_invalid"}},
		{[]string{"*"}, true, "foo_bar.com", []string{"san_invalid"}},
		{[]string{"*"}, true, "foo bar.com", []string{"san_invalid"}},
		{[]string{"*"}, true, "bücher.example", []string{"san_invalid"}},
		{[]string{"*"}, true, "", []string{"san_invalid"}},
		{[]string{"*"}, true, "*", []string{"san_invalid"}},
		{[]string{"*"}, true, "*.", []string{"san_invalid"}},
		{[]string{"*"}, true, "a.*.acme.com", []string{"san_invalid"}},
		{[]string{"*"}, true, "*foo.acme.com", []string{"san_invalid"}},
		{[]string{"*"}, true, "*.*.acme.com", []string{"san_invalid"}},
		{[]string{"*"}, true, "10.0.0.1", []string{"san_invalid"}},
		{[]string{"*"}, true, "::1", []string{"san_invalid"}},
		{[]string{"*"}, true, long(63) + ".com", nil},
		{[]string{"*"}, true, long(64) + ".com", []string{"san_invalid"}},
		{[]string{"*"}, true, name253, nil},
		{[]string{"*"}, true, name253 + "a", []string{"san_invalid"}},
	}
	for _, tt := range tests {
		tp := Template{SANs: SANRules{DNS: tt.patterns}, AllowWildcard: tt.wildcard}
		if got := sanCodes(tp, Request{DNSNames: []string{tt.name}}); !slices.Equal(got, tt.want) {
			t.Errorf("patterns %q wildcard=%v name %q: got %q, want %q", tt.patterns, tt.wildcard, tt.name, got, tt.want)
		}
	}
}

func TestIPAddresses(t *testing.T) {
	tests := []struct {
		cidrs []string
		ip    net.IP
		want  []string
	}{
		{[]string{"10.0.0.0/8"}, net.ParseIP("10.255.0.1"), nil},
		{[]string{"10.0.0.0/8"}, net.ParseIP("11.0.0.1"), []string{"san_not_allowed"}},
		{[]string{"10.0.0.0/8"}, net.IP{10, 1, 2, 3}, nil},
		{[]string{"10.1.2.3/8"}, net.ParseIP("10.9.9.9"), nil}, // host bits in the CIDR are ignored
		{[]string{"::1/128"}, net.ParseIP("::1"), nil},
		{[]string{"::1/128"}, net.ParseIP("::2"), []string{"san_not_allowed"}},
		{[]string{"0.0.0.0/0"}, net.ParseIP("2001:db8::1"), []string{"san_not_allowed"}},
		{[]string{"::/0"}, net.ParseIP("192.0.2.1"), []string{"san_not_allowed"}}, // v4 is not in ::/0
		{[]string{"10.0.0.0/8"}, net.ParseIP("::ffff:10.0.0.1"), nil},             // mapped counts as v4
		{[]string{"not a cidr"}, net.ParseIP("10.0.0.1"), []string{"san_not_allowed"}},
		{nil, net.ParseIP("10.0.0.1"), []string{"san_not_allowed"}},
		{[]string{"0.0.0.0/0"}, net.IP{1, 2, 3, 4, 5}, []string{"san_invalid"}},
	}
	for _, tt := range tests {
		tp := Template{SANs: SANRules{IP: tt.cidrs}}
		if got := sanCodes(tp, Request{IPAddresses: []net.IP{tt.ip}}); !slices.Equal(got, tt.want) {
			t.Errorf("cidrs %q ip %v: got %q, want %q", tt.cidrs, tt.ip, got, tt.want)
		}
	}
}

func TestEmailAddresses(t *testing.T) {
	tests := []struct {
		patterns []string
		addr     string
		want     []string
	}{
		{[]string{"*"}, "anyone@anywhere.example", nil},
		{[]string{"ops@acme.com"}, "ops@acme.com", nil},
		{[]string{"ops@acme.com"}, "OPS@Acme.Com", nil},
		{[]string{"ops@acme.com"}, "dev@acme.com", []string{"san_not_allowed"}},
		{[]string{"*@acme.com"}, "first.last+tag@acme.com", nil},
		{[]string{"*@acme.com"}, "ops@eu.acme.com", []string{"san_not_allowed"}},
		{[]string{"*@acme.com"}, "ops@evilacme.com", []string{"san_not_allowed"}},
		{nil, "ops@acme.com", []string{"san_not_allowed"}},
		{[]string{"*"}, "no-at-sign", []string{"san_invalid"}},
		{[]string{"*"}, "@acme.com", []string{"san_invalid"}},
		{[]string{"*"}, "ops@", []string{"san_invalid"}},
		{[]string{"*"}, "a b@acme.com", []string{"san_invalid"}},
		{[]string{"*"}, ".ops@acme.com", []string{"san_invalid"}},
		{[]string{"*"}, "Ops <ops@acme.com>", []string{"san_invalid"}},
		{[]string{"*"}, "ops@acme..com", []string{"san_invalid"}},
		{[]string{"*"}, "jürgen@acme.com", []string{"san_invalid"}},
	}
	for _, tt := range tests {
		tp := Template{SANs: SANRules{Email: tt.patterns}}
		if got := sanCodes(tp, Request{EmailAddresses: []string{tt.addr}}); !slices.Equal(got, tt.want) {
			t.Errorf("patterns %q addr %q: got %q, want %q", tt.patterns, tt.addr, got, tt.want)
		}
	}
}

func TestURIs(t *testing.T) {
	tests := []struct {
		patterns []string
		uri      string
		want     []string
	}{
		{[]string{"*"}, "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66", nil},
		{[]string{"spiffe://acme.com/*"}, "spiffe://acme.com/ns/prod/sa/web", nil},
		{[]string{"spiffe://acme.com/*"}, "spiffe://acme.com.evil.net/x", []string{"san_not_allowed"}},
		{[]string{"spiffe://acme.com/*"}, "spiffe://acme.com@evil.net/x", []string{"san_not_allowed"}},
		{[]string{"https://acme.com/a"}, "https://acme.com/a", nil},
		{[]string{"https://acme.com/a"}, "https://acme.com/ab", []string{"san_not_allowed"}},
		{nil, "https://acme.com/", []string{"san_not_allowed"}},
		{[]string{"*"}, "no/scheme", []string{"san_invalid"}},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.uri)
		if err != nil {
			t.Fatal(err)
		}
		tp := Template{SANs: SANRules{URI: tt.patterns}}
		if got := sanCodes(tp, Request{URIs: []*url.URL{u}}); !slices.Equal(got, tt.want) {
			t.Errorf("patterns %q uri %q: got %q, want %q", tt.patterns, tt.uri, got, tt.want)
		}
	}
}

func TestQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", `"plain"`},
		{"tab\there", `"tab\there"`},
		{strings.Repeat("a", 100), `"` + strings.Repeat("a", 100) + `"`},
		{strings.Repeat("a", 101), `"` + strings.Repeat("a", 100) + `"…`},
		// A cut inside a multi-byte rune backs off to its start.
		{strings.Repeat("a", 98) + "ü", `"` + strings.Repeat("a", 98) + `ü"`},
		{strings.Repeat("a", 99) + "ü", `"` + strings.Repeat("a", 99) + `"…`},
	}
	for _, tt := range tests {
		if got := quote(tt.in); got != tt.want {
			t.Errorf("quote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
