package policy

import (
	"slices"
	"testing"

	"github.com/signet-pki/signet/internal/problem"
)

// got renders violations as sorted "field code" strings, so a test states
// the full set it expects and an extra or missing violation fails it.
func got(vs []problem.Violation) []string {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		out = append(out, v.Field+" "+v.Code)
	}
	slices.Sort(out)
	return out
}

func wantSet(want ...string) []string {
	out := slices.Clone(want)
	if out == nil {
		out = []string{}
	}
	slices.Sort(out)
	return out
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Template)
		want   []string
	}{
		{"default server is valid", func(*Template) {}, nil},
		{"default client is valid", func(tp *Template) { *tp = DefaultTLSClient() }, nil},
		{"minimal template", func(tp *Template) { *tp = Template{MaxValidityDays: 1} }, nil},
		{"every key rule size", func(tp *Template) {
			tp.KeyTypes = []KeyRule{{"rsa", 8192}, {"ecdsa", 384}, {"ed25519", 256}}
		}, nil},
		{"unknown algorithm", func(tp *Template) { tp.KeyTypes = []KeyRule{{Algorithm: "dsa"}} },
			[]string{"key_types[0].algorithm unknown"}},
		{"bad key sizes", func(tp *Template) {
			tp.KeyTypes = []KeyRule{{"rsa", 1024}, {"ecdsa", 521}, {"ed25519", 448}}
		}, []string{"key_types[0].min_bits invalid", "key_types[1].min_bits invalid", "key_types[2].min_bits invalid"}},
		{"rsa too large", func(tp *Template) { tp.KeyTypes = []KeyRule{{"rsa", 16384}} },
			[]string{"key_types[0].min_bits invalid"}},
		{"duplicate algorithm", func(tp *Template) { tp.KeyTypes = []KeyRule{{"rsa", 2048}, {"rsa", 3072}} },
			[]string{"key_types[1].algorithm duplicate"}},
		{"unknown subject field", func(tp *Template) { tp.Subject = append(tp.Subject, SubjectRule{Field: "shoe_size"}) },
			[]string{"subject[6].field unknown"}},
		{"duplicate subject field", func(tp *Template) { tp.Subject = append(tp.Subject, SubjectRule{Field: "country"}) },
			[]string{"subject[6].field duplicate"}},
		{"bad pattern", func(tp *Template) { tp.Subject[2].Pattern = "(" },
			[]string{"subject[2].pattern invalid"}},
		{"pattern that only breaks once anchored", func(tp *Template) { tp.Subject[2].Pattern = "a)|(b" },
			[]string{"subject[2].pattern invalid"}},
		{"huge pattern", func(tp *Template) { tp.Subject[0].Pattern = string(make([]byte, maxPatternLen+1)) },
			[]string{"subject[0].pattern invalid"}},
		{"fixed value outside its own pattern", func(tp *Template) {
			tp.Subject[1] = SubjectRule{Field: "organization", FixedValue: "Acme", Pattern: "[a-z]+"}
		}, []string{"subject[1].fixed_value unsatisfiable"}},
		{"fixed value inside its pattern", func(tp *Template) {
			tp.Subject[1] = SubjectRule{Field: "organization", FixedValue: "Acme", Pattern: "Acme|Initech"}
		}, nil},
		{"dns patterns", func(tp *Template) {
			tp.SANs.DNS = []string{"example.com", "*.acme.com", ".acme.com", "*", "DB", "foo..com", "*.*.com", "a*.com",
				"example.com.", "_srv.acme.com", "10.0.0.1", ""}
		}, []string{"sans.dns[5] invalid", "sans.dns[6] invalid", "sans.dns[7] invalid", "sans.dns[8] invalid",
			"sans.dns[9] invalid", "sans.dns[10] invalid", "sans.dns[11] invalid"}},
		{"ip ranges", func(tp *Template) {
			tp.SANs.IP = []string{"10.0.0.0/8", "::1/128", "10.0.0.1", "10.0.0.0/33", "fe80::1%eth0/64"}
		},
			[]string{"sans.ip[2] invalid", "sans.ip[3] invalid", "sans.ip[4] invalid"}},
		{"email patterns", func(tp *Template) {
			tp.SANs.Email = []string{"*", "*@acme.com", "ops@acme.com", "acme.com", "*@", "a b@acme.com", "*@*.acme.com"}
		}, []string{"sans.email[3] invalid", "sans.email[4] invalid", "sans.email[5] invalid", "sans.email[6] invalid"}},
		{"uri patterns", func(tp *Template) {
			tp.SANs.URI = []string{"*", "spiffe://acme.com/*", "urn:uuid:*", "https://acme.com/x", "acme.com/*", "spiffe://*/x", "1http://x"}
		}, []string{"sans.uri[4] invalid", "sans.uri[5] invalid", "sans.uri[6] invalid"}},
		{"sans max out of range", func(tp *Template) { tp.SANs.Max = -1 }, []string{"sans.max invalid"}},
		{"sans max too large", func(tp *Template) { tp.SANs.Max = maxMaxSANs + 1 }, []string{"sans.max invalid"}},
		{"sans required but none allowed", func(tp *Template) { tp.SANs = SANRules{Required: true} },
			[]string{"sans.required unsatisfiable"}},
		{"usages", func(tp *Template) {
			tp.KeyUsages = []string{"digital_signature", "teleport", "digital_signature"}
			tp.ExtKeyUsages = []string{"server_auth", "any"}
		}, []string{"ext_key_usages[1] unknown", "key_usages[1] unknown", "key_usages[2] duplicate"}},
		{"zero validity", func(tp *Template) { tp.MaxValidityDays = 0 }, []string{"max_validity_days invalid"}},
		{"absurd validity", func(tp *Template) { tp.MaxValidityDays = maxValidityDays + 1 }, []string{"max_validity_days invalid"}},
		{"every problem at once", func(tp *Template) {
			*tp = Template{
				KeyTypes:     []KeyRule{{Algorithm: "dsa"}},
				Subject:      []SubjectRule{{Field: "shoe_size"}, {Field: "common_name", Pattern: "("}},
				SANs:         SANRules{DNS: []string{"bad..name"}, IP: []string{"nope"}, Max: -5},
				ExtKeyUsages: []string{"teleport"},
			}
		}, []string{"ext_key_usages[0] unknown", "key_types[0].algorithm unknown", "max_validity_days invalid",
			"sans.dns[0] invalid", "sans.ip[0] invalid", "sans.max invalid", "subject[0].field unknown", "subject[1].pattern invalid"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp := DefaultTLSServer()
			tt.mutate(&tp)
			err := tp.Validate()
			var vs []problem.Violation
			if err != nil {
				pe := problem.As(err)
				if pe == nil || pe.Code != "template_invalid" || pe.Kind != problem.KindInvalid {
					t.Fatalf("error is not a template_invalid problem: %v", err)
				}
				if len(pe.Violations) == 0 {
					t.Fatal("template_invalid without violations")
				}
				vs = pe.Violations
			}
			if g, w := got(vs), wantSet(tt.want...); !slices.Equal(g, w) {
				t.Errorf("violations\n got %q\nwant %q\n%v", g, w, vs)
			}
		})
	}
}
