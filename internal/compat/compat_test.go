package compat

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

func TestClassify(t *testing.T) {
	tooLarge := &http.MaxBytesError{Limit: 10}
	tests := []struct {
		name      string
		err       error
		status    int
		isProblem bool
	}{
		{"body over the limit", fmt.Errorf("read body: %w", tooLarge), http.StatusRequestEntityTooLarge, false},
		{"store unreachable", fmt.Errorf("load: %w", store.ErrUnavailable), http.StatusServiceUnavailable, false},
		{"plain error", errors.New("boom"), http.StatusInternalServerError, false},
		{"invalid", problem.Invalid("x", "bad"), http.StatusBadRequest, true},
		{"conflict is a 400", problem.Conflict("x", "revoked"), http.StatusBadRequest, true},
		{"not found, wrapped", fmt.Errorf("ctx: %w", problem.NotFound("x", "gone")), http.StatusNotFound, true},
		{"unauthorized", problem.Unauthorized("x", "who"), http.StatusUnauthorized, true},
		{"forbidden", problem.Forbidden("x", "no"), http.StatusForbidden, true},
		{"too large", problem.New(problem.KindTooLarge, "x", "big"), http.StatusRequestEntityTooLarge, true},
		{"unavailable", problem.New(problem.KindUnavailable, "x", "later"), http.StatusServiceUnavailable, true},
		{"internal problem", problem.New(problem.KindInternal, "x", "bug"), http.StatusInternalServerError, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, pe := Classify(tc.err)
			if status != tc.status || (pe != nil) != tc.isProblem {
				t.Fatalf("Classify = %d, problem %v; want %d, problem %v", status, pe, tc.status, tc.isProblem)
			}
		})
	}
}

func TestViolations(t *testing.T) {
	tests := []struct {
		name string
		pe   *problem.Error
		want string
	}{
		{"no problem", nil, ""},
		{"no violations", problem.Invalid("x", "bad"), ""},
		{"two violations", problem.Violations("policy", "denied", []problem.Violation{
			{Field: "subject.cn", Message: "not allowed"}, {Field: "key", Message: "too small"}}),
			" (subject.cn: not allowed; key: too small)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Violations(tc.pe); got != tc.want {
				t.Fatalf("Violations = %q, want %q", got, tc.want)
			}
		})
	}
}
