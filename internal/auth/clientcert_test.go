package auth

import (
	"testing"

	"github.com/signet-pki/signet/internal/store"
)

// TestCertificateHolder checks that a certificate's holder acts as a
// requester for the certificate's owner, in its organization only.
func TestCertificateHolder(t *testing.T) {
	rec := &store.Certificate{Serial: "0a1b", OrgID: "org_a", Owner: "team_x"}
	p := CertificateHolder(rec, "device7", "scep_renewal", "127.0.0.1")
	if p.ID != "cert_0a1b" || p.Name != "device7" || p.Method != "scep_renewal" || p.SourceIP != "127.0.0.1" {
		t.Fatalf("principal %+v", p)
	}
	tests := []struct {
		name       string
		org, owner string
		want       bool
	}{
		{"the certificate's owner", "org_a", "team_x", true},
		{"another owner", "org_a", "team_y", false},
		{"another organization", "org_b", "team_x", false},
		{"no owner", "org_a", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.OwnsCertificate(tc.org, tc.owner); got != tc.want {
				t.Fatalf("OwnsCertificate(%s, %s) = %v, want %v", tc.org, tc.owner, got, tc.want)
			}
		})
	}
	if p.HasRole(RoleManager) || p.HasRole(RoleAdmin) || !p.HasRole(RoleRequester) {
		t.Fatalf("roles %v, want requester only", p.Roles)
	}
}
