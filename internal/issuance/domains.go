package issuance

import (
	"context"

	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/profile"
)

// DomainChecker knows which DNS names an organization may certify: those
// under its registered, approved and validated domains (internal/domain).
type DomainChecker interface {
	// CheckNames returns a field-level problem (code "domain_not_validated")
	// naming every DNS name outside the organization's validated domains.
	CheckNames(ctx context.Context, orgID string, dnsNames []string) error
}

// checkDomains applies the template's "require validated domains" rule.
func (s *Service) checkDomains(ctx context.Context, prof *profile.Resolved, sub *subject) error {
	if !prof.Template.Parsed.RequireValidatedDomains || len(sub.template.DNSNames) == 0 {
		return nil
	}
	if s.domains == nil {
		// Fail closed: a template that asks for validated domains must never
		// issue because nobody could check them.
		return problem.Violations("domain_not_validated", "no domain validation is configured",
			[]problem.Violation{{Field: "sans.dns", Code: "domain_not_validated", Message: "this server cannot check validated domains"}})
	}
	return s.domains.CheckNames(ctx, prof.Profile.OrgID, sub.template.DNSNames)
}
