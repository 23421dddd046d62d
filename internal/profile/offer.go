package profile

import (
	"context"
	"fmt"
	"slices"

	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// Offers reports whether a profile serves an enrollment method: it is
// active and lists the method. A protocol endpoint (EST, SCEP, CMP, a
// compatibility API) exists only for such profiles.
func Offers(p *store.Profile, method string) bool {
	return p.Status == "active" && slices.Contains(p.EnrollmentMethods, method)
}

// CodeNotOffered is the problem code of ResolveOffered for a profile that
// exists but is disabled or does not list the method.
const CodeNotOffered = "profile_not_offered"

// Resolver resolves a profile reference (Service.Resolve).
type Resolver interface {
	Resolve(ctx context.Context, ref string) (*Resolved, error)
}

// ResolveOffered resolves the profile a protocol endpoint names, for that
// protocol's method. Both an unknown profile and one that does not offer
// the method are KindNotFound (the second with CodeNotOffered), so that a
// transport which does not say why answers both alike.
func ResolveOffered(ctx context.Context, profiles Resolver, ref, method string) (*Resolved, error) {
	prof, err := profiles.Resolve(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("resolve profile %q: %w", ref, err)
	}
	if !Offers(&prof.Profile, method) {
		return nil, problem.NotFound(CodeNotOffered, "profile %s does not offer %s", prof.Profile.Name, method)
	}
	return prof, nil
}
