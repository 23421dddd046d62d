// Package policy evaluates certificate requests against templates: which key
// types and sizes, subject fields, names, usages and validity a certificate
// may have. It reports every violation, never just the first, so a user can
// fix a request in one go.
//
// A Template is plain data (the store keeps it as JSON). Validate checks the
// template itself; Evaluate and Check judge a Request against it. Evaluate
// fails closed on a template that Validate would refuse: a rule it cannot
// understand matches nothing.
package policy

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
)

// Template is what a certificate may contain. It is stored as JSON (snake_case)
// by the store, so it stays a plain serialisable struct with no hidden state.
type Template struct {
	// KeyTypes lists the allowed key algorithms. Empty allows any key the
	// key checks (certutil.CheckPublicKey) accept.
	KeyTypes []KeyRule `json:"key_types"`
	// Subject has one rule per allowed subject field; a field without a rule
	// is refused, and so is any attribute outside SubjectFields().
	Subject []SubjectRule `json:"subject"`
	// SANs governs the subject alternative names.
	SANs SANRules `json:"sans"`
	// CommonNameInSANs requires a common name, if there is one, to repeat one
	// of the DNS or IP SANs (clients ignore the CN when SANs are present).
	CommonNameInSANs bool `json:"common_name_in_sans"`
	// KeyUsages are the key usage bits to set: digital_signature,
	// content_commitment, key_encipherment, data_encipherment, key_agreement,
	// cert_sign, crl_sign.
	KeyUsages []string `json:"key_usages"`
	// ExtKeyUsages are the extended key usages to set: server_auth,
	// client_auth, code_signing, email_protection, time_stamping, ocsp_signing.
	ExtKeyUsages []string `json:"ext_key_usages"`
	// MaxValidityDays bounds the requested validity; it must be positive.
	MaxValidityDays int `json:"max_validity_days"`
	// AllowWildcard permits wildcard DNS names ("*.acme.com"); a DNS pattern
	// must allow the name as well.
	AllowWildcard bool `json:"allow_wildcard"`
	// AllowKeyGeneration permits server-side key generation.
	AllowKeyGeneration bool `json:"allow_key_generation"`
	// RequireValidatedDomains refuses any DNS name that is not under a
	// domain the requesting organization has registered and validated
	// (internal/domain); the issuance service asks its DomainChecker.
	RequireValidatedDomains bool `json:"require_validated_domains,omitempty"`
}

// KeyRule allows one key algorithm from a minimum size.
type KeyRule struct {
	// Algorithm is rsa, ecdsa or ed25519.
	Algorithm string `json:"algorithm"`
	// MinBits is the smallest key allowed: the RSA modulus size, or the ECDSA
	// curve size (256 for P-256, 384 for P-384). 0 means no minimum beyond the
	// key checks. Ed25519 keys count as 256 bits.
	MinBits int `json:"min_bits"`
}

// SubjectRule allows one subject field, named as in SubjectFields().
type SubjectRule struct {
	Field string `json:"field"`
	// Required refuses a request without a non-empty value for the field.
	Required bool `json:"required"`
	// FixedValue, when set, is the only value allowed.
	FixedValue string `json:"fixed_value,omitempty"`
	// Pattern, when set, is an RE2 regexp every value must match in full:
	// it is anchored as ^(?:Pattern)$, so "[a-z]+" does not match "ab1".
	Pattern string `json:"pattern,omitempty"`
}

// SANRules says which subject alternative names a certificate may carry.
// An empty list allows no names of that type.
//
// DNS patterns (compared case-insensitively, without a trailing dot):
//   - "example.com" allows exactly example.com;
//   - "*.acme.com" allows one label under acme.com (www.acme.com, not
//     a.b.acme.com, not acme.com);
//   - ".acme.com" allows names under acme.com at any depth, not acme.com itself;
//   - "*" allows any valid name.
//
// A wildcard request name ("*.acme.com") needs Template.AllowWildcard and a
// pattern that allows it: "*.acme.com", ".acme.com" (or a parent such as
// ".com"), or "*".
//
// IP entries are CIDRs ("10.0.0.0/8", "::1/128"); IPv4 and IPv6 are separate
// (use both "0.0.0.0/0" and "::/0" to allow any address).
//
// Email patterns: "user@acme.com" exactly (case-insensitively), "*@acme.com"
// any mailbox at acme.com (not at its subdomains), or "*" any address.
//
// URI patterns: "*" any absolute URI; otherwise an absolute URI compared
// byte for byte with the request's URI, or a prefix when it ends in "*"
// ("spiffe://acme.com/*"). End a prefix at a "/" so that
// "https://acme.com*" does not also allow "https://acme.com.evil.net".
type SANRules struct {
	DNS   []string `json:"dns"`
	IP    []string `json:"ip"`
	Email []string `json:"email"`
	URI   []string `json:"uri"`
	// Required asks for at least one SAN of any type.
	Required bool `json:"required"`
	// Max bounds the number of SANs of all types together; 0 means 100.
	Max int `json:"max"`
}

const (
	defaultMaxSANs = 100
	// maxMaxSANs keeps one certificate's name list within what clients and
	// the inventory handle comfortably.
	maxMaxSANs = 1000
	// maxValidityDays (100 years) catches a typo'd unit rather than a policy.
	maxValidityDays = 36500
	// RSA bounds mirror certutil's key checks: a min_bits outside them could
	// never be met, or would accept keys the key checks refuse anyway.
	minRSABits = 2048
	maxRSABits = 8192
	// maxPatternLen bounds regexps: RE2 is linear in the input, but compiling
	// a huge pattern on every evaluation is not free.
	maxPatternLen = 1024
)

// SubjectFields lists the subject fields a rule may name, in the order
// violations are reported.
func SubjectFields() []string {
	return []string{"common_name", "organization", "organizational_unit", "country", "province",
		"locality", "street_address", "postal_code", "serial_number"}
}

// keyUsageBit maps a key usage name to its bit.
func keyUsageBit(name string) (x509.KeyUsage, bool) {
	switch name {
	case "digital_signature":
		return x509.KeyUsageDigitalSignature, true
	case "content_commitment":
		return x509.KeyUsageContentCommitment, true
	case "key_encipherment":
		return x509.KeyUsageKeyEncipherment, true
	case "data_encipherment":
		return x509.KeyUsageDataEncipherment, true
	case "key_agreement":
		return x509.KeyUsageKeyAgreement, true
	case "cert_sign":
		return x509.KeyUsageCertSign, true
	case "crl_sign":
		return x509.KeyUsageCRLSign, true
	}
	return 0, false
}

// extKeyUsage maps an extended key usage name to its value.
func extKeyUsage(name string) (x509.ExtKeyUsage, bool) {
	switch name {
	case "server_auth":
		return x509.ExtKeyUsageServerAuth, true
	case "client_auth":
		return x509.ExtKeyUsageClientAuth, true
	case "code_signing":
		return x509.ExtKeyUsageCodeSigning, true
	case "email_protection":
		return x509.ExtKeyUsageEmailProtection, true
	case "time_stamping":
		return x509.ExtKeyUsageTimeStamping, true
	case "ocsp_signing":
		return x509.ExtKeyUsageOCSPSigning, true
	}
	return 0, false
}

// KeyUsage is the template's key usage bits, whatever the key.
func (t *Template) KeyUsage() x509.KeyUsage {
	var ku x509.KeyUsage
	for _, u := range t.KeyUsages {
		bit, _ := keyUsageBit(u)
		ku |= bit
	}
	return ku
}

// KeyUsageFor is the key usage to put in a certificate for pub. Encipherment
// is RSA key transport, meaningless for ECDSA and Ed25519 keys, and RFC 8410
// rules out key agreement for Ed25519, so those bits are dropped (zlint flags
// them otherwise). The result may be 0 if the template asks for nothing else.
func (t *Template) KeyUsageFor(pub crypto.PublicKey) x509.KeyUsage {
	ku := t.KeyUsage()
	switch pub.(type) {
	case *rsa.PublicKey:
	case ed25519.PublicKey:
		ku &^= x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment | x509.KeyUsageKeyAgreement
	default:
		ku &^= x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment
	}
	return ku
}

// ExtendedKeyUsages is the template's extended key usages, in template order.
// (It cannot be called ExtKeyUsages: that is the field it reads.)
func (t *Template) ExtendedKeyUsages() []x509.ExtKeyUsage {
	out := make([]x509.ExtKeyUsage, 0, len(t.ExtKeyUsages))
	for _, u := range t.ExtKeyUsages {
		if eku, ok := extKeyUsage(u); ok {
			out = append(out, eku)
		}
	}
	return out
}

// keyAlgorithm names pub's algorithm as KeyRule does, with its size in bits;
// ok is false for keys policy does not know (or malformed ones).
func keyAlgorithm(pub crypto.PublicKey) (alg string, bits int, ok bool) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k == nil || k.N == nil {
			return "rsa", 0, false
		}
		return "rsa", k.N.BitLen(), true
	case *ecdsa.PublicKey:
		if k == nil || k.Curve == nil || k.Curve.Params() == nil {
			return "ecdsa", 0, false
		}
		return "ecdsa", k.Curve.Params().BitSize, true
	case ed25519.PublicKey:
		return "ed25519", 8 * len(k), true
	}
	return "", 0, false
}

// DefaultTLSServer is the template created on first start for TLS servers:
// any DNS name or IP address, wildcards allowed, 397 days (the public-web
// ceiling, so certificates behave the same if a profile moves to a public CA).
func DefaultTLSServer() Template {
	return Template{
		KeyTypes: defaultKeyTypes(),
		Subject: []SubjectRule{{Field: "common_name"}, {Field: "organization"}, {Field: "organizational_unit"},
			{Field: "country"}, {Field: "province"}, {Field: "locality"}},
		SANs:               SANRules{DNS: []string{"*"}, IP: []string{"0.0.0.0/0", "::/0"}, Required: true},
		CommonNameInSANs:   true,
		KeyUsages:          []string{"digital_signature", "key_encipherment"},
		ExtKeyUsages:       []string{"server_auth"},
		MaxValidityDays:    397,
		AllowWildcard:      true,
		AllowKeyGeneration: true,
	}
}

// DefaultTLSClient is the template created on first start for TLS clients.
// The common name is required because it is the identity most mTLS servers
// map to a user (nginx, PostgreSQL); it is a user name, not a host, so it
// need not repeat a SAN.
func DefaultTLSClient() Template {
	return Template{
		KeyTypes: defaultKeyTypes(),
		Subject: []SubjectRule{{Field: "common_name", Required: true}, {Field: "organization"}, {Field: "organizational_unit"},
			{Field: "country"}, {Field: "province"}, {Field: "locality"}},
		SANs:               SANRules{DNS: []string{"*"}, Email: []string{"*"}, URI: []string{"*"}},
		KeyUsages:          []string{"digital_signature"},
		ExtKeyUsages:       []string{"client_auth"},
		MaxValidityDays:    397,
		AllowKeyGeneration: true,
	}
}

// defaultKeyTypes allows every algorithm Signet certifies. Ed25519 TLS
// certificates are rare (few clients support them) but harmless to allow.
func defaultKeyTypes() []KeyRule {
	return []KeyRule{{Algorithm: "rsa", MinBits: minRSABits}, {Algorithm: "ecdsa", MinBits: 256}, {Algorithm: "ed25519"}}
}
