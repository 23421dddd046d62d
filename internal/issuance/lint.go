package issuance

import (
	"fmt"
	"sort"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"
	"github.com/zmap/zlint/v3/lint"

	"github.com/signet-pki/signet/internal/problem"
)

// Linter runs zlint over every certificate before it leaves the service; an
// error or fatal finding stops issuance.
type Linter struct {
	registry lint.Registry
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
	return &Linter{registry: reg}, nil
}

// Check lints der and returns a problem listing every error-level finding.
func (l *Linter) Check(der []byte) error {
	cert, err := zx509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("lint: parse issued certificate: %w", err)
	}
	rs := zlint.LintCertificateEx(cert, l.registry)
	if !rs.ErrorsPresent && !rs.FatalsPresent {
		return nil
	}
	var vs []problem.Violation
	for name, r := range rs.Results {
		if r.Status == lint.Error || r.Status == lint.Fatal {
			vs = append(vs, problem.Violation{Field: "certificate", Code: name, Message: fmt.Sprintf("zlint %s: %s", r.Status, r.Details)})
		}
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i].Code < vs[j].Code })
	return problem.Violations("lint_failed", "the certificate would fail linting and was not issued", vs)
}
