package policy

import (
	"fmt"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"

	"github.com/signet-pki/signet/internal/problem"
)

// Violation codes Validate uses. Field names the offending part of the
// template, e.g. "subject[2].pattern" or "sans.ip[0]".
const (
	codeUnknown       = "unknown"       // a name that is not one of the known values
	codeInvalid       = "invalid"       // malformed, or out of range
	codeDuplicate     = "duplicate"     // the same thing twice
	codeUnsatisfiable = "unsatisfiable" // well-formed, but no request could ever pass
)

// violations collects broken rules in the order they are found.
type violations []problem.Violation

func (vs *violations) add(field, code, format string, args ...any) {
	*vs = append(*vs, problem.Violation{Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
}

// Validate checks that the template itself is well-formed and returns a
// template_invalid problem listing every fault (codes: unknown, invalid,
// duplicate, unsatisfiable), or nil.
func (t *Template) Validate() error {
	var vs violations
	t.validateKeyTypes(&vs)
	t.validateSubject(&vs)
	t.SANs.validate(&vs)
	validateNames(&vs, "key_usages", t.KeyUsages, "key usage", func(s string) bool { _, ok := keyUsageBit(s); return ok })
	validateNames(&vs, "ext_key_usages", t.ExtKeyUsages, "extended key usage", func(s string) bool { _, ok := extKeyUsage(s); return ok })
	if t.MaxValidityDays <= 0 || t.MaxValidityDays > maxValidityDays {
		vs.add("max_validity_days", codeInvalid, "max_validity_days is %d; it must be between 1 and %d", t.MaxValidityDays, maxValidityDays)
	}
	if len(vs) == 0 {
		return nil
	}
	return problem.Violations("template_invalid", fmt.Sprintf("the template is invalid: %d problem(s)", len(vs)), vs)
}

func (t *Template) validateKeyTypes(vs *violations) {
	seen := map[string]bool{}
	for i, k := range t.KeyTypes {
		f := fmt.Sprintf("key_types[%d]", i)
		if seen[k.Algorithm] {
			vs.add(f+".algorithm", codeDuplicate, "key algorithm %s has more than one rule", quote(k.Algorithm))
		}
		seen[k.Algorithm] = true
		switch k.Algorithm {
		case "rsa":
			if k.MinBits != 0 && (k.MinBits < minRSABits || k.MinBits > maxRSABits) {
				vs.add(f+".min_bits", codeInvalid, "RSA min_bits is %d; it must be 0 or between %d and %d", k.MinBits, minRSABits, maxRSABits)
			}
		case "ecdsa":
			// Only P-256 and P-384 keys are certified, so only their sizes mean anything.
			if k.MinBits != 0 && k.MinBits != 256 && k.MinBits != 384 {
				vs.add(f+".min_bits", codeInvalid, "ECDSA min_bits is %d; it must be 0, 256 (P-256) or 384 (P-384)", k.MinBits)
			}
		case "ed25519":
			if k.MinBits != 0 && k.MinBits != 256 {
				vs.add(f+".min_bits", codeInvalid, "Ed25519 min_bits is %d; it must be 0 or 256 (Ed25519 keys have one size)", k.MinBits)
			}
		default:
			vs.add(f+".algorithm", codeUnknown, "unknown key algorithm %s (want rsa, ecdsa or ed25519)", quote(k.Algorithm))
		}
	}
}

func (t *Template) validateSubject(vs *violations) {
	fields := SubjectFields()
	seen := map[string]bool{}
	for i, r := range t.Subject {
		f := fmt.Sprintf("subject[%d]", i)
		switch {
		case !slices.Contains(fields, r.Field):
			vs.add(f+".field", codeUnknown, "unknown subject field %s (want one of %s)", quote(r.Field), strings.Join(fields, ", "))
		case seen[r.Field]:
			vs.add(f+".field", codeDuplicate, "subject field %s has more than one rule", quote(r.Field))
		}
		seen[r.Field] = true
		if r.Pattern == "" {
			continue
		}
		re, err := compilePattern(r.Pattern)
		if err != nil {
			vs.add(f+".pattern", codeInvalid, "%v", err)
			continue
		}
		if r.FixedValue != "" && !re.MatchString(r.FixedValue) {
			vs.add(f+".fixed_value", codeUnsatisfiable, "fixed_value %s does not match the rule's own pattern", quote(r.FixedValue))
		}
	}
}

// compilePattern compiles a subject pattern anchored to the whole value.
func compilePattern(p string) (*regexp.Regexp, error) {
	if len(p) > maxPatternLen {
		return nil, fmt.Errorf("pattern is %d bytes; at most %d are allowed", len(p), maxPatternLen)
	}
	// The bare pattern must compile on its own: "a)|(b" does not, yet
	// anchored it becomes "^(?:a)|(b)$", which matches any value starting
	// with a. Once it compiles alone, the group holds all of it.
	if _, err := syntax.Parse(p, syntax.Perl); err != nil {
		return nil, fmt.Errorf("pattern does not compile: %v", err)
	}
	re, err := regexp.Compile("^(?:" + p + ")$")
	if err != nil { // e.g. a program too large once compiled
		return nil, fmt.Errorf("pattern does not compile: %v", err)
	}
	return re, nil
}

func (s *SANRules) validate(vs *violations) {
	for i, p := range s.DNS {
		if err := checkDNSPattern(p); err != nil {
			vs.add(fmt.Sprintf("sans.dns[%d]", i), codeInvalid,
				"%s is not a DNS pattern (example.com, *.example.com, .example.com or *): %v", quote(p), err)
		}
	}
	for i, c := range s.IP {
		if _, err := netip.ParsePrefix(c); err != nil {
			vs.add(fmt.Sprintf("sans.ip[%d]", i), codeInvalid, "%s is not a CIDR such as 10.0.0.0/8 or fd00::/8", quote(c))
		}
	}
	for i, p := range s.Email {
		if err := checkEmailPattern(p); err != nil {
			vs.add(fmt.Sprintf("sans.email[%d]", i), codeInvalid,
				"%s is not an email pattern (user@example.com, *@example.com or *): %v", quote(p), err)
		}
	}
	for i, p := range s.URI {
		if err := checkURIPattern(p); err != nil {
			vs.add(fmt.Sprintf("sans.uri[%d]", i), codeInvalid,
				"%s is not a URI pattern (an absolute URI, optionally ending in *, or *): %v", quote(p), err)
		}
	}
	if s.Max < 0 || s.Max > maxMaxSANs {
		vs.add("sans.max", codeInvalid, "sans.max is %d; it must be between 0 (meaning %d) and %d", s.Max, defaultMaxSANs, maxMaxSANs)
	}
	if s.Required && len(s.DNS)+len(s.IP)+len(s.Email)+len(s.URI) == 0 {
		vs.add("sans.required", codeUnsatisfiable, "SANs are required but no DNS, IP, email or URI pattern allows any")
	}
}

// validateNames checks a list of names against a known set, flagging
// unknown names and repeats.
func validateNames(vs *violations, field string, names []string, what string, known func(string) bool) {
	seen := map[string]bool{}
	for i, n := range names {
		f := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case !known(n):
			vs.add(f, codeUnknown, "unknown %s %s", what, quote(n))
		case seen[n]:
			vs.add(f, codeDuplicate, "%s %s is listed twice", what, quote(n))
		}
		seen[n] = true
	}
}
