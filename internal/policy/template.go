// Package policy evaluates certificate requests against templates: what key
// types and sizes, subject fields, names, usages and validity a certificate
// may have. It reports every violation, never just the first, so a user can
// fix a request in one go.
package policy

import (
	"crypto/x509"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strings"

	"github.com/signet-pki/signet/internal/problem"
)

// Template is stored as JSON, so it stays a plain serialisable struct.
type Template struct {
	KeyTypes           []KeyRule     `json:"key_types"`           // empty = any key the key checks accept
	Subject            []SubjectRule `json:"subject"`             // one rule per allowed field; a field without a rule is refused
	SANs               SANRules      `json:"sans"`                // allowed subject alternative names
	CommonNameInSANs   bool          `json:"common_name_in_sans"` // a CN must repeat one of the DNS or IP SANs
	KeyUsages          []string      `json:"key_usages"`
	ExtKeyUsages       []string      `json:"ext_key_usages"`
	MaxValidityDays    int           `json:"max_validity_days"`
	AllowWildcard      bool          `json:"allow_wildcard"`
	AllowKeyGeneration bool          `json:"allow_key_generation"` // server-side key generation
}

// KeyRule allows one key algorithm from a minimum size.
type KeyRule struct {
	Algorithm string `json:"algorithm"` // rsa | ecdsa | ed25519
	MinBits   int    `json:"min_bits"`
}

// SubjectRule allows one subject field.
type SubjectRule struct {
	Field      string `json:"field"`
	Required   bool   `json:"required,omitempty"`
	FixedValue string `json:"fixed_value,omitempty"` // the value must equal this
	Pattern    string `json:"pattern,omitempty"`     // RE2, matched against the whole value
}

// SANRules allow names. DNS patterns: "example.com" exact; "*.acme.com" one
// label under acme.com; ".acme.com" any depth under acme.com (not acme.com
// itself); "*" anything. Email: exact, "*@acme.com", or "*". URI: exact or a
// prefix ending in "*". IP: CIDRs.
type SANRules struct {
	DNS      []string `json:"dns"`
	IP       []string `json:"ip"`
	Email    []string `json:"email"`
	URI      []string `json:"uri"`
	Required bool     `json:"required"`
	Max      int      `json:"max"` // 0 = 100
}

const defaultMaxSANs = 100

// SubjectFields lists the subject fields a rule may name.
var SubjectFields = []string{"common_name", "organization", "organizational_unit", "country", "province",
	"locality", "street_address", "postal_code", "serial_number"}

var keyUsageBits = map[string]x509.KeyUsage{
	"digital_signature": x509.KeyUsageDigitalSignature, "content_commitment": x509.KeyUsageContentCommitment,
	"key_encipherment": x509.KeyUsageKeyEncipherment, "data_encipherment": x509.KeyUsageDataEncipherment,
	"key_agreement": x509.KeyUsageKeyAgreement, "cert_sign": x509.KeyUsageCertSign, "crl_sign": x509.KeyUsageCRLSign,
}

var extKeyUsages = map[string]x509.ExtKeyUsage{
	"server_auth": x509.ExtKeyUsageServerAuth, "client_auth": x509.ExtKeyUsageClientAuth,
	"code_signing": x509.ExtKeyUsageCodeSigning, "email_protection": x509.ExtKeyUsageEmailProtection,
	"time_stamping": x509.ExtKeyUsageTimeStamping, "ocsp_signing": x509.ExtKeyUsageOCSPSigning,
}

// Validate checks the template itself and lists every problem.
func (t *Template) Validate() error {
	var vs []problem.Violation
	add := func(field, code, format string, args ...any) {
		vs = append(vs, problem.Violation{Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
	}
	for i, k := range t.KeyTypes {
		f := fmt.Sprintf("key_types[%d]", i)
		switch k.Algorithm {
		case "rsa":
			if k.MinBits != 0 && (k.MinBits < 2048 || k.MinBits > 8192) {
				add(f+".min_bits", "invalid", "RSA min_bits must be between 2048 and 8192")
			}
		case "ecdsa":
			if k.MinBits != 0 && k.MinBits != 256 && k.MinBits != 384 {
				add(f+".min_bits", "invalid", "ECDSA min_bits must be 256 or 384")
			}
		case "ed25519":
		default:
			add(f+".algorithm", "invalid", "unknown key algorithm %q (want rsa, ecdsa or ed25519)", k.Algorithm)
		}
	}
	seen := map[string]bool{}
	for i, r := range t.Subject {
		f := fmt.Sprintf("subject[%d]", i)
		if !slices.Contains(SubjectFields, r.Field) {
			add(f+".field", "invalid", "unknown subject field %q (want one of %s)", r.Field, strings.Join(SubjectFields, ", "))
		}
		if seen[r.Field] {
			add(f+".field", "duplicate", "subject field %q has more than one rule", r.Field)
		}
		seen[r.Field] = true
		if r.Pattern != "" {
			if _, err := regexp.Compile(r.Pattern); err != nil {
				add(f+".pattern", "invalid", "pattern does not compile: %v", err)
			}
		}
	}
	for i, p := range t.SANs.DNS {
		if !validDNSPattern(p) {
			add(fmt.Sprintf("sans.dns[%d]", i), "invalid", "%q is not a DNS pattern (example.com, *.example.com, .example.com or *)", p)
		}
	}
	for i, c := range t.SANs.IP {
		if _, _, err := net.ParseCIDR(c); err != nil {
			add(fmt.Sprintf("sans.ip[%d]", i), "invalid", "%q is not a CIDR", c)
		}
	}
	for i, e := range t.SANs.Email {
		if e != "*" && !strings.Contains(e, "@") {
			add(fmt.Sprintf("sans.email[%d]", i), "invalid", "%q is not an email pattern (user@domain, *@domain or *)", e)
		}
	}
	if t.SANs.Max < 0 || t.SANs.Max > 1000 {
		add("sans.max", "invalid", "sans.max must be between 0 and 1000")
	}
	for i, u := range t.KeyUsages {
		if _, ok := keyUsageBits[u]; !ok {
			add(fmt.Sprintf("key_usages[%d]", i), "invalid", "unknown key usage %q", u)
		}
	}
	for i, u := range t.ExtKeyUsages {
		if _, ok := extKeyUsages[u]; !ok {
			add(fmt.Sprintf("ext_key_usages[%d]", i), "invalid", "unknown extended key usage %q", u)
		}
	}
	if t.MaxValidityDays <= 0 || t.MaxValidityDays > 36500 {
		add("max_validity_days", "invalid", "max_validity_days must be between 1 and 36500")
	}
	if len(vs) > 0 {
		return problem.Violations("template_invalid", fmt.Sprintf("the template is invalid: %d problem(s)", len(vs)), vs)
	}
	return nil
}

func validDNSPattern(p string) bool {
	switch {
	case p == "*":
		return true
	case strings.HasPrefix(p, "*."):
		return validHostname(p[2:])
	case strings.HasPrefix(p, "."):
		return validHostname(p[1:])
	default:
		return validHostname(p)
	}
}

// KeyUsage is the template's key usage bits.
func (t *Template) KeyUsage() x509.KeyUsage {
	var ku x509.KeyUsage
	for _, u := range t.KeyUsages {
		ku |= keyUsageBits[u]
	}
	return ku
}

// KeyUsageFor drops keyEncipherment for non-RSA keys, where it is meaningless
// (and linters flag it).
func (t *Template) KeyUsageFor(pub any) x509.KeyUsage {
	ku := t.KeyUsage()
	if alg, _ := keyAlgorithm(pub); alg != "rsa" {
		ku &^= x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment
	}
	return ku
}

// ExtendedKeyUsages is the template's extended key usages.
func (t *Template) ExtendedKeyUsages() []x509.ExtKeyUsage {
	out := make([]x509.ExtKeyUsage, 0, len(t.ExtKeyUsages))
	for _, u := range t.ExtKeyUsages {
		out = append(out, extKeyUsages[u])
	}
	return out
}

// DefaultTLSServer is the template created on first start for TLS servers.
func DefaultTLSServer() Template {
	return Template{
		KeyTypes: []KeyRule{{Algorithm: "rsa", MinBits: 2048}, {Algorithm: "ecdsa", MinBits: 256}, {Algorithm: "ed25519"}},
		Subject: []SubjectRule{{Field: "common_name"}, {Field: "organization"}, {Field: "organizational_unit"},
			{Field: "country"}, {Field: "province"}, {Field: "locality"}},
		SANs:             SANRules{DNS: []string{"*"}, IP: []string{"0.0.0.0/0", "::/0"}, Required: true},
		CommonNameInSANs: true,
		KeyUsages:        []string{"digital_signature", "key_encipherment"},
		ExtKeyUsages:     []string{"server_auth"},
		MaxValidityDays:  397, AllowWildcard: true, AllowKeyGeneration: true,
	}
}

// DefaultTLSClient is the template created on first start for TLS clients.
func DefaultTLSClient() Template {
	return Template{
		KeyTypes: []KeyRule{{Algorithm: "rsa", MinBits: 2048}, {Algorithm: "ecdsa", MinBits: 256}, {Algorithm: "ed25519"}},
		Subject: []SubjectRule{{Field: "common_name", Required: true}, {Field: "organization"}, {Field: "organizational_unit"},
			{Field: "country"}, {Field: "province"}, {Field: "locality"}},
		SANs:               SANRules{DNS: []string{"*"}, Email: []string{"*"}, URI: []string{"*"}},
		KeyUsages:          []string{"digital_signature", "key_encipherment"},
		ExtKeyUsages:       []string{"client_auth"},
		MaxValidityDays:    397,
		AllowKeyGeneration: true,
	}
}
