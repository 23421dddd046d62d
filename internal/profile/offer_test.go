package profile

import (
	"testing"

	"github.com/signet-pki/signet/internal/store"
)

func TestOffers(t *testing.T) {
	tests := []struct {
		name    string
		status  string
		methods []string
		method  string
		want    bool
	}{
		{"active, listed", "active", []string{"api", "est"}, "est", true},
		{"active, not listed", "active", []string{"api", "scep"}, "est", false},
		{"disabled, listed", "disabled", []string{"est"}, "est", false},
		{"no methods", "active", nil, "cmp", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &store.Profile{Status: tc.status, EnrollmentMethods: tc.methods}
			if got := Offers(p, tc.method); got != tc.want {
				t.Fatalf("Offers(%s %v, %s) = %v, want %v", tc.status, tc.methods, tc.method, got, tc.want)
			}
		})
	}
}
