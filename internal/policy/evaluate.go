package policy

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509/pkix"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"

	"github.com/signet-pki/signet/internal/problem"
)

// Request is what a certificate would contain.
type Request struct {
	PublicKey      crypto.PublicKey
	Subject        pkix.Name
	DNSNames       []string
	IPAddresses    []net.IP
	EmailAddresses []string
	URIs           []*url.URL
	ValidityDays   int
	ServerKeyGen   bool
}

// Check returns nil or a policy_violation problem listing every violation.
func (t *Template) Check(r Request) error {
	vs := t.Evaluate(r)
	if len(vs) == 0 {
		return nil
	}
	return problem.Violations("policy_violation", fmt.Sprintf("request breaks template: %d violation(s)", len(vs)), vs)
}

// Evaluate lists every way r breaks the template.
func (t *Template) Evaluate(r Request) []problem.Violation {
	e := &evaluation{}
	t.checkKey(e, r)
	t.checkSubject(e, r.Subject)
	t.checkSANs(e, r)
	if r.ValidityDays > t.MaxValidityDays || r.ValidityDays < 0 {
		e.add("validity_days", "validity_too_long", "validity of %d days exceeds the template's maximum of %d", r.ValidityDays, t.MaxValidityDays)
	}
	if r.ServerKeyGen && !t.AllowKeyGeneration {
		e.add("keygen", "keygen_not_allowed", "the template does not allow server-side key generation")
	}
	return e.vs
}

type evaluation struct{ vs []problem.Violation }

func (e *evaluation) add(field, code, format string, args ...any) {
	e.vs = append(e.vs, problem.Violation{Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
}

func keyAlgorithm(pub any) (string, int) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return "rsa", k.N.BitLen()
	case *ecdsa.PublicKey:
		return "ecdsa", k.Curve.Params().BitSize
	case ed25519.PublicKey:
		return "ed25519", 256
	}
	return "unknown", 0
}

func (t *Template) checkKey(e *evaluation, r Request) {
	if len(t.KeyTypes) == 0 {
		return
	}
	alg, bits := keyAlgorithm(r.PublicKey)
	var allowed []string
	for _, k := range t.KeyTypes {
		if k.Algorithm == alg {
			if bits < k.MinBits {
				e.add("key", "key_too_small", "%s key of %d bits is below the template's minimum of %d", alg, bits, k.MinBits)
			}
			return
		}
		allowed = append(allowed, k.Algorithm)
	}
	e.add("key", "key_type_not_allowed", "%s keys are not allowed (allowed: %s)", alg, strings.Join(allowed, ", "))
}

// subjectValues returns each field's values as the CSR carried them.
func subjectValues(n pkix.Name) map[string][]string {
	return map[string][]string{
		"common_name": nonEmpty(n.CommonName), "organization": n.Organization, "organizational_unit": n.OrganizationalUnit,
		"country": n.Country, "province": n.Province, "locality": n.Locality, "street_address": n.StreetAddress,
		"postal_code": n.PostalCode, "serial_number": nonEmpty(n.SerialNumber),
	}
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

func (t *Template) checkSubject(e *evaluation, n pkix.Name) {
	values := subjectValues(n)
	rules := map[string]SubjectRule{}
	for _, r := range t.Subject {
		rules[r.Field] = r
	}
	for _, field := range SubjectFields {
		vals := values[field]
		r, ok := rules[field]
		f := "subject." + field
		switch {
		case len(vals) > 0 && !ok:
			e.add(f, "subject_field_not_allowed", "the template does not allow %s (got %q)", field, vals[0])
		case len(vals) == 0 && r.Required:
			e.add(f, "subject_field_required", "%s is required", field)
		case len(vals) > 1:
			e.add(f, "subject_field_multiple", "%s may have only one value, got %d", field, len(vals))
		case len(vals) == 1:
			if r.FixedValue != "" && vals[0] != r.FixedValue {
				e.add(f, "subject_field_mismatch", "%s must be %q, got %q", field, r.FixedValue, vals[0])
			}
			if r.Pattern != "" {
				if ok, err := regexp.MatchString("^(?:"+r.Pattern+")$", vals[0]); err != nil || !ok {
					e.add(f, "subject_field_mismatch", "%s %q does not match %s", field, vals[0], r.Pattern)
				}
			}
		}
	}
	for _, atv := range n.Names {
		if !knownAttribute(atv.Type.String()) {
			e.add("subject", "subject_field_not_allowed", "subject attribute %s is not supported", atv.Type)
		}
	}
}

// knownAttribute reports whether an OID is one of the fields templates can name.
func knownAttribute(oid string) bool {
	switch oid {
	case "2.5.4.3", "2.5.4.10", "2.5.4.11", "2.5.4.6", "2.5.4.8", "2.5.4.7", "2.5.4.9", "2.5.4.17", "2.5.4.5":
		return true
	}
	return false
}

func (t *Template) checkSANs(e *evaluation, r Request) {
	total := len(r.DNSNames) + len(r.IPAddresses) + len(r.EmailAddresses) + len(r.URIs)
	max := t.SANs.Max
	if max == 0 {
		max = defaultMaxSANs
	}
	if total == 0 && t.SANs.Required {
		e.add("sans", "san_required", "at least one subject alternative name is required")
	}
	if total > max {
		e.add("sans", "too_many_sans", "%d names exceed the template's maximum of %d", total, max)
	}
	for i, name := range r.DNSNames {
		f := fmt.Sprintf("sans.dns[%d]", i)
		wildcard := strings.HasPrefix(name, "*.")
		host := strings.TrimPrefix(name, "*.")
		switch {
		case !validHostname(host):
			e.add(f, "san_invalid", "%q is not a valid DNS name", name)
		case wildcard && !t.AllowWildcard:
			e.add(f, "wildcard_not_allowed", "wildcard name %q is not allowed", name)
		case !matchDNS(t.SANs.DNS, strings.ToLower(name)):
			e.add(f, "san_not_allowed", "DNS name %q is outside the allowed patterns %v", name, t.SANs.DNS)
		}
	}
	for i, ip := range r.IPAddresses {
		if !matchIP(t.SANs.IP, ip) {
			e.add(fmt.Sprintf("sans.ip[%d]", i), "san_not_allowed", "IP address %s is outside the allowed ranges %v", ip, t.SANs.IP)
		}
	}
	for i, m := range r.EmailAddresses {
		if !matchEmail(t.SANs.Email, strings.ToLower(m)) {
			e.add(fmt.Sprintf("sans.email[%d]", i), "san_not_allowed", "email %q is outside the allowed patterns %v", m, t.SANs.Email)
		}
	}
	for i, u := range r.URIs {
		if !matchURI(t.SANs.URI, u.String()) {
			e.add(fmt.Sprintf("sans.uri[%d]", i), "san_not_allowed", "URI %q is outside the allowed patterns %v", u, t.SANs.URI)
		}
	}
	if cn := r.Subject.CommonName; cn != "" && t.CommonNameInSANs && !cnInSANs(cn, r) {
		e.add("subject.common_name", "common_name_not_in_sans", "common name %q must also be a DNS or IP subject alternative name", cn)
	}
}

func cnInSANs(cn string, r Request) bool {
	for _, d := range r.DNSNames {
		if strings.EqualFold(d, cn) {
			return true
		}
	}
	for _, ip := range r.IPAddresses {
		if ip.String() == cn {
			return true
		}
	}
	return false
}

// matchDNS applies the DNS patterns; name is lower case and may be a wildcard.
func matchDNS(patterns []string, name string) bool {
	for _, p := range patterns {
		p = strings.ToLower(p)
		switch {
		case p == "*":
			return true
		case strings.HasPrefix(p, "*."):
			suffix := p[1:] // ".acme.com"
			if label, ok := strings.CutSuffix(name, suffix); ok && label != "" && !strings.Contains(label, ".") {
				return true
			}
		case strings.HasPrefix(p, "."):
			if strings.HasSuffix(name, p) && len(name) > len(p) {
				return true
			}
		case name == p:
			return true
		}
	}
	return false
}

func matchIP(cidrs []string, ip net.IP) bool {
	for _, c := range cidrs {
		if _, n, err := net.ParseCIDR(c); err == nil && n.Contains(ip) {
			return true
		}
	}
	return false
}

func matchEmail(patterns []string, addr string) bool {
	for _, p := range patterns {
		p = strings.ToLower(p)
		if p == "*" || p == addr {
			return true
		}
		if domain, ok := strings.CutPrefix(p, "*@"); ok && strings.HasSuffix(addr, "@"+domain) {
			return true
		}
	}
	return false
}

func matchURI(patterns []string, u string) bool {
	for _, p := range patterns {
		if p == "*" || p == u {
			return true
		}
		if prefix, ok := strings.CutSuffix(p, "*"); ok && strings.HasPrefix(u, prefix) {
			return true
		}
	}
	return false
}

// validHostname accepts LDH hostnames: labels of 1-63 letters, digits and
// inner hyphens; 253 characters at most; at least two labels not required
// (internal names like "db" are common in private PKI).
func validHostname(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
