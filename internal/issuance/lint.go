package issuance

import (
	"fmt"
	"sort"

	"github.com/zmap/zcrypto/encoding/asn1"
	zx509 "github.com/zmap/zcrypto/x509"
	_ "github.com/zmap/zlint/v3" // registers every lint with the global registry
	"github.com/zmap/zlint/v3/lint"
	"github.com/zmap/zlint/v3/util"

	"github.com/signet-pki/signet/internal/problem"
)

// Linter runs zlint over every certificate before it leaves the service; an
// error or fatal finding stops issuance.
type Linter struct {
	registry lint.Registry
	config   lint.Configuration
	all      []*lint.CertificateLint // every lint of the registry
	leaf     []*lint.CertificateLint // all but the gated lints, for certificates no gate opens
}

// gatedLints are the lints whose CheckApplies is false unless the
// certificate is a CA or carries one of gateExtensions, extensions a Signet
// leaf never has (sign builds its extensions from the template fields it
// sets: SANs, key usage, extended key usage, basic constraints, key
// identifiers, CRL distribution points, authority information access). A
// certificate with IsCA or any gate extension is linted with every lint;
// skipping the others changes no result, only the cost of finding out (an
// issuance calls ~150 lints, a third of them these). TestGatedLintsNeedTheirGate
// checks each entry against zlint.
var gatedLints = map[string]bool{
	// IsCA
	"e_basic_constraints_not_critical": true, "e_ca_subject_field_empty": true,
	"e_ext_subject_key_identifier_missing_ca": true, "e_rsa_allowed_ku_ca": true,
	"e_rsa_allowed_ku_no_encipherment_ca": true,
	// certificate policies (ExplicitTexts come from that extension alone)
	"e_ext_cert_policy_disallowed_any_policy_qualifier": true, "e_ext_cert_policy_duplicate": true,
	"e_ext_cert_policy_explicit_text_ia5_string": true, "e_ext_cert_policy_explicit_text_too_long": true,
	"w_ext_cert_policy_contains_noticeref": true, "w_ext_cert_policy_explicit_text_includes_control": true,
	"w_ext_cert_policy_explicit_text_not_nfc": true, "w_ext_cert_policy_explicit_text_not_utf8": true,
	// freshest CRL
	"e_ext_freshest_crl_marked_critical": true,
	// issuer alternative name
	"e_ext_ian_dns_not_ia5_string": true, "e_ext_ian_empty_name": true, "e_ext_ian_no_entries": true,
	"e_ext_ian_rfc822_format_invalid": true, "e_ext_ian_space_dns_name": true, "e_ext_ian_uri_format_invalid": true,
	"e_ext_ian_uri_host_not_fqdn_or_ip": true, "e_ext_ian_uri_not_ia5": true, "e_ext_ian_uri_relative": true,
	"e_ian_bare_wildcard": true, "e_ian_dns_name_includes_null_char": true, "e_ian_dns_name_starts_with_period": true,
	"e_ian_wildcard_not_first": true, "w_ext_ian_critical": true, "w_ian_iana_pub_suffix_empty": true,
	// name constraints
	"e_ext_name_constraints_not_critical": true, "e_ext_name_constraints_not_in_ca": true,
	"e_name_constraint_empty": true, "e_name_constraint_maximum_not_absent": true,
	"e_name_constraint_minimum_non_zero": true, "e_name_constraint_not_fqdn": true,
	"w_name_constraint_on_edi_party_name": true, "w_name_constraint_on_registered_id": true,
	"w_name_constraint_on_x400": true,
	// policy constraints, policy mappings, inhibit anyPolicy
	"e_ext_policy_constraints_empty": true, "e_ext_policy_constraints_not_critical": true,
	"e_ext_policy_map_any_policy": true, "w_ext_policy_map_not_critical": true,
	"w_ext_policy_map_not_in_cert_policy": true, "e_inhibit_any_policy_not_critical": true,
	// subject directory attributes, subject information access, CT poison
	"e_ext_subject_directory_attr_critical": true, "e_subject_info_access_marked_critical": true,
	"e_precert_with_sct_list": true,
}

// gateExtensions open the gated lints (see gatedLints).
var gateExtensions = []asn1.ObjectIdentifier{
	util.CertPolicyOID, util.FreshCRLOID, util.IssuerAlternateNameOID, util.NameConstOID, util.PolicyConstOID,
	util.PolicyMapOID, util.InhibitAnyPolicyOID, util.SubjectDirAttrOID, util.SubjectInfoAccessOID, util.CtPoisonOID,
}

// NewLinter builds the lint registry once; filtering it per certificate would dominate the hot path.
func NewLinter() (*Linter, error) {
	reg, err := lint.GlobalRegistry().Filter(lint.FilterOptions{
		// A private CA is bound by the X.509 and PKIX RFCs, not by the programs
		// of publicly-trusted CAs: CA/Browser Forum requirements and root store
		// policies forbid what private PKI needs (private IPs, internal names,
		// validity past 200 days, no certificatePolicies), and ETSI lints cover
		// EU qualified certificates only.
		ExcludeSources: lint.SourceList{lint.CABFBaselineRequirements, lint.CABFEVGuidelines, lint.CABFSMIMEBaselineRequirements,
			lint.CABFCSBaselineRequirements, lint.MozillaRootStorePolicy, lint.AppleRootStorePolicy, lint.ChromeRootStorePolicy,
			lint.EtsiEsi},
		// Two community lints cost more than all the others together and check
		// nothing a Signet CA needs: one verifies every signature against a
		// compromised public CA's keys (~8 ms), the other searches for a tiny
		// ECDSA private key by brute force (~120 µs; CSR keys are checked by
		// certutil.CheckPublicKey instead).
		ExcludeNames: []string{"e_cert_issued_by_compromised_emudhra_ca", "e_ecdsa_small_private_key"},
	})
	if err != nil {
		return nil, fmt.Errorf("build lint registry: %w", err)
	}
	l := &Linter{registry: reg, config: reg.GetConfiguration(), all: reg.CertificateLints().Lints()}
	for _, cl := range l.all {
		if !gatedLints[cl.Name] {
			l.leaf = append(l.leaf, cl)
		}
	}
	return l, nil
}

// Check lints der and returns a problem listing every error-level finding.
// It runs the registry's lints as zlint.LintCertificateEx does, without
// building the result set of every lint: only errors and fatals matter here.
func (l *Linter) Check(der []byte) error {
	cert, err := zx509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("lint: parse issued certificate: %w", err)
	}
	var vs []problem.Violation
	for _, cl := range l.lintsFor(cert) {
		r := cl.Execute(cert, l.config)
		if r.Status == lint.Error || r.Status == lint.Fatal {
			vs = append(vs, problem.Violation{Field: "certificate", Code: cl.Name, Message: fmt.Sprintf("zlint %s: %s", r.Status, r.Details)})
		}
	}
	if len(vs) == 0 {
		return nil
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i].Code < vs[j].Code })
	return problem.Violations("lint_failed", "the certificate would fail linting and was not issued", vs)
}

// lintsFor returns the lints whose verdict on cert can matter: every lint
// when cert opens a gate (see gatedLints), the ungated ones otherwise.
func (l *Linter) lintsFor(cert *zx509.Certificate) []*lint.CertificateLint {
	if cert.IsCA {
		return l.all
	}
	for _, e := range cert.Extensions {
		for _, g := range gateExtensions {
			if e.Id.Equal(g) {
				return l.all
			}
		}
	}
	return l.leaf
}
