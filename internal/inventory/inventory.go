// Package inventory answers questions about the certificates Signet knows:
// search with filters, sorting and pagination, and the summary dashboard.
package inventory

import (
	"context"
	"errors"
	"time"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/certutil"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// Store is the read side the inventory needs.
type Store interface {
	SearchCertificates(ctx context.Context, q store.CertificateQuery) (*store.CertificatePage, error)
	Summarize(ctx context.Context, now time.Time, orgID string) (*store.Summary, error)
	auth.OrgLookup // a ?org= given by id or name
}

// Service is the inventory.
type Service struct {
	store Store
	now   func() time.Time
}

// New returns the inventory service.
func New(s Store, now func() time.Time) *Service { return &Service{store: s, now: now} }

// MaxLimit caps a page.
const MaxLimit = 1000

var sorts = map[string]bool{"": true, "not_after": true, "-not_after": true, "created_at": true,
	"-created_at": true, "common_name": true, "-common_name": true}

var statuses = map[string]bool{store.CertActive: true, store.CertRevoked: true, store.CertOnHold: true, store.CertExpired: true}

// Search validates and runs a certificate query.
func (s *Service) Search(ctx context.Context, q store.CertificateQuery) (*store.CertificatePage, error) {
	p, err := auth.Require(ctx, auth.PermCertRead)
	if err != nil {
		return nil, err
	}
	if q.OrgID, err = auth.ScopeOrg(ctx, s.store, p, q.OrgID); err != nil {
		return nil, err
	}
	var vs []problem.Violation
	add := func(field, msg string) {
		vs = append(vs, problem.Violation{Field: field, Code: "invalid", Message: msg})
	}
	if !sorts[q.Sort] {
		add("sort", "sort must be one of not_after, created_at, common_name (prefix - for descending)")
	}
	for _, st := range q.Statuses {
		if !statuses[st] {
			add("status", "status must be active, revoked, on_hold or expired")
		}
	}
	if q.Source != "" && q.Source != store.SourceIssued && q.Source != store.SourceImported && q.Source != store.SourceDiscovered {
		add("source", "source must be issued, imported or discovered")
	}
	if q.Limit < 0 || q.Limit > MaxLimit {
		add("limit", "limit must be between 1 and 1000")
	}
	if q.Serial != "" {
		canon, err := certutil.NormalizeSerial(q.Serial)
		if err != nil {
			add("serial", "serial is not a valid hex serial number")
		}
		q.Serial = canon
	}
	if q.SHA256 != "" {
		fp, err := certutil.NormalizeFingerprint(q.SHA256)
		if err != nil || len(fp) != 64 {
			add("sha256", "sha256 must be 64 hex digits")
		}
		q.SHA256 = fp
	}
	if len(vs) > 0 {
		return nil, problem.Violations("query_invalid", "the query is invalid", vs)
	}
	if q.Limit == 0 {
		q.Limit = 100
	}
	q.Now = s.now()
	page, err := s.store.SearchCertificates(ctx, q)
	if errors.Is(err, store.ErrBadCursor) {
		return nil, problem.Invalid("cursor_invalid", "the cursor is malformed or from another query")
	}
	return page, err
}

// Summary counts certificates by status, expiry window and CA.
// orgID narrows a global caller's summary to one organization ("" = all).
func (s *Service) Summary(ctx context.Context, orgID string) (*store.Summary, error) {
	p, err := auth.Require(ctx, auth.PermCertRead)
	if err != nil {
		return nil, err
	}
	orgID, err = auth.ScopeOrg(ctx, s.store, p, orgID)
	if err != nil {
		return nil, err
	}
	return s.store.Summarize(ctx, s.now(), orgID)
}
