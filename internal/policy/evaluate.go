package policy

import (
	"crypto"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/signet-pki/signet/internal/problem"
)

// Request is what a certificate would contain, as issuance assembled it from
// a CSR or from server-side key generation parameters.
type Request struct {
	PublicKey      crypto.PublicKey
	Subject        pkix.Name
	DNSNames       []string
	IPAddresses    []net.IP
	EmailAddresses []string
	URIs           []*url.URL
	// ValidityDays is the validity asked for; 0 means the caller has not
	// chosen one yet and it is not checked.
	ValidityDays int
	// ServerKeyGen is set when the server generates the key pair.
	ServerKeyGen bool
}

// Check returns nil, or a policy_violation problem listing every violation.
func (t *Template) Check(r Request) error {
	vs := t.Evaluate(r)
	if len(vs) == 0 {
		return nil
	}
	return problem.Violations("policy_violation", fmt.Sprintf("request breaks template: %d violation(s)", len(vs)), vs)
}

// Evaluate lists every way r breaks the template, in a stable order: key,
// subject (with the common-name-in-SANs rule), SANs, validity, key
// generation. Codes, with the Field they name:
//
//	key_type_not_allowed, key_too_small                       (field "key")
//	subject_field_required, subject_field_mismatch,
//	subject_field_not_allowed, subject_field_multiple         ("subject.<field>", or "subject" for an unknown attribute)
//	common_name_not_in_sans                                   ("subject.common_name")
//	san_required, too_many_sans                               ("sans")
//	san_invalid, san_not_allowed, wildcard_not_allowed        ("sans.dns[i]", "sans.ip[i]", "sans.email[i]", "sans.uri[i]")
//	validity_too_long, validity_invalid (negative)            ("validity_days")
//	keygen_not_allowed                                        ("keygen")
func (t *Template) Evaluate(r Request) []problem.Violation {
	var vs violations
	t.checkKey(&vs, r.PublicKey)
	t.checkSubject(&vs, r)
	t.checkSANs(&vs, r)
	switch {
	case r.ValidityDays < 0:
		vs.add("validity_days", "validity_invalid", "validity of %d days is negative", r.ValidityDays)
	case r.ValidityDays > t.MaxValidityDays:
		vs.add("validity_days", "validity_too_long", "validity of %d days exceeds the template's maximum of %d", r.ValidityDays, t.MaxValidityDays)
	}
	if r.ServerKeyGen && !t.AllowKeyGeneration {
		vs.add("keygen", "keygen_not_allowed", "the template does not allow server-side key generation")
	}
	return vs
}

func (t *Template) checkKey(vs *violations, pub crypto.PublicKey) {
	if len(t.KeyTypes) == 0 {
		return
	}
	alg, bits, ok := keyAlgorithm(pub)
	if !ok {
		what := "a missing key"
		if alg != "" {
			what = "a malformed " + alg + " key"
		} else if pub != nil {
			what = fmt.Sprintf("a %T key", pub)
		}
		vs.add("key", "key_type_not_allowed", "%s is not allowed (%s)", what, describeKeyRules(t.KeyTypes))
		return
	}
	// Several rules for one algorithm (Validate refuses them) combine
	// leniently: the key passes if any rule admits it.
	minBits, matched := 0, false
	for _, k := range t.KeyTypes {
		if k.Algorithm != alg {
			continue
		}
		if bits >= k.MinBits {
			return
		}
		if !matched || k.MinBits < minBits {
			minBits = k.MinBits
		}
		matched = true
	}
	if matched {
		vs.add("key", "key_too_small", "the %s key is %d bits; the template requires at least %d", alg, bits, minBits)
		return
	}
	vs.add("key", "key_type_not_allowed", "%s keys are not allowed (%s)", alg, describeKeyRules(t.KeyTypes))
}

func describeKeyRules(rules []KeyRule) string {
	parts := make([]string, 0, len(rules))
	for _, k := range rules {
		if k.MinBits > 0 && k.Algorithm != "ed25519" {
			parts = append(parts, fmt.Sprintf("%s of %d bits or more", k.Algorithm, k.MinBits))
		} else {
			parts = append(parts, k.Algorithm)
		}
	}
	return "allowed: " + strings.Join(parts, ", ")
}

func (t *Template) checkSubject(vs *violations, r Request) {
	n := r.Subject
	values := subjectValues(n)
	counts := attributeCounts(n.Names)
	rules := map[string][]SubjectRule{}
	for _, rule := range t.Subject {
		rules[rule.Field] = append(rules[rule.Field], rule)
	}
	for _, field := range SubjectFields() {
		vals, rs, f := values[field], rules[field], "subject."+field
		if len(rs) == 0 {
			if len(vals) > 0 {
				vs.add(f, "subject_field_not_allowed", "the template does not allow %s (got %s)", field, quote(vals[0]))
			}
			continue
		}
		// pkix.Name keeps only the last common name or serial number of a
		// CSR; Names still counts them all.
		if count := max(len(vals), counts[field]); count > 1 {
			vs.add(f, "subject_field_multiple", "%s has %d values; at most one is allowed", field, count)
		}
		if slices.ContainsFunc(rs, func(rule SubjectRule) bool { return rule.Required }) && !slices.ContainsFunc(vals, nonEmpty) {
			vs.add(f, "subject_field_required", "%s is required", field)
		}
		for _, rule := range rs {
			checkSubjectValues(vs, f, field, rule, vals)
		}
	}
	checkUnknownAttributes(vs, n)
	if t.CommonNameInSANs {
		for _, cn := range values["common_name"] {
			if cn != "" && !cnInSANs(cn, r) {
				vs.add("subject.common_name", "common_name_not_in_sans",
					"common name %s must also be one of the DNS or IP subject alternative names", quote(cn))
			}
		}
	}
}

func nonEmpty(s string) bool { return s != "" }

// checkSubjectValues holds every value of a field to one rule's fixed value
// and pattern. A pattern that does not compile (Validate refuses it) matches
// nothing, so a broken template fails closed.
func checkSubjectValues(vs *violations, f, field string, r SubjectRule, vals []string) {
	for _, v := range vals {
		if r.FixedValue != "" && v != r.FixedValue {
			vs.add(f, "subject_field_mismatch", "%s must be %s, got %s", field, quote(r.FixedValue), quote(v))
		}
	}
	if r.Pattern == "" || len(vals) == 0 {
		return
	}
	re, err := compilePattern(r.Pattern)
	for _, v := range vals {
		switch {
		case err != nil:
			vs.add(f, "subject_field_mismatch", "%s %s cannot be checked: the template's %v", field, quote(v), err)
		case !re.MatchString(v):
			vs.add(f, "subject_field_mismatch", "%s %s does not match the pattern %s", field, quote(v), quote(r.Pattern))
		}
	}
}

// subjectValues returns each field's values as a certificate built from n
// would carry them: like pkix.Name.ToRDNSequence, an attribute in ExtraNames
// replaces the struct field of the same type.
func subjectValues(n pkix.Name) map[string][]string {
	values := map[string][]string{
		"common_name": single(n.CommonName), "organization": n.Organization, "organizational_unit": n.OrganizationalUnit,
		"country": n.Country, "province": n.Province, "locality": n.Locality, "street_address": n.StreetAddress,
		"postal_code": n.PostalCode, "serial_number": single(n.SerialNumber),
	}
	extra := map[string][]string{}
	for _, atv := range n.ExtraNames {
		if field := fieldForOID(atv.Type); field != "" {
			extra[field] = append(extra[field], attributeString(atv.Value))
		}
	}
	for field, vals := range extra {
		values[field] = vals
	}
	return values
}

func single(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

func attributeString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

// attributeCounts counts the parsed attributes of each known field.
func attributeCounts(names []pkix.AttributeTypeAndValue) map[string]int {
	counts := map[string]int{}
	for _, atv := range names {
		if field := fieldForOID(atv.Type); field != "" {
			counts[field]++
		}
	}
	return counts
}

// checkUnknownAttributes refuses subject attributes no rule can name (email
// address, domain component, ...), whether parsed from a CSR or added by code.
func checkUnknownAttributes(vs *violations, n pkix.Name) {
	seen := map[string]bool{}
	for _, atv := range slices.Concat(n.Names, n.ExtraNames) {
		oid := atv.Type.String()
		if fieldForOID(atv.Type) != "" || seen[oid] {
			continue
		}
		seen[oid] = true
		vs.add("subject", "subject_field_not_allowed", "subject attribute %s is not allowed (got %s)",
			attributeName(atv.Type), quote(attributeString(atv.Value)))
	}
}

// fieldForOID names the SubjectFields entry of an X.520 attribute type, or "".
func fieldForOID(oid asn1.ObjectIdentifier) string {
	if len(oid) != 4 || oid[0] != 2 || oid[1] != 5 || oid[2] != 4 {
		return ""
	}
	switch oid[3] {
	case 3:
		return "common_name"
	case 5:
		return "serial_number"
	case 6:
		return "country"
	case 7:
		return "locality"
	case 8:
		return "province"
	case 9:
		return "street_address"
	case 10:
		return "organization"
	case 11:
		return "organizational_unit"
	case 17:
		return "postal_code"
	}
	return ""
}

// attributeName names the unknown attributes CSRs commonly carry, for messages.
func attributeName(oid asn1.ObjectIdentifier) string {
	s := oid.String()
	switch s {
	case "1.2.840.113549.1.9.1":
		return s + " (emailAddress)"
	case "0.9.2342.19200300.100.1.25":
		return s + " (domainComponent)"
	case "0.9.2342.19200300.100.1.1":
		return s + " (userId)"
	case "2.5.4.12":
		return s + " (title)"
	}
	return s
}
