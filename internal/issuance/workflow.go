package issuance

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// pendingRequest loads a request that a manager may decide.
func (s *Service) pendingRequest(ctx context.Context, caller *auth.Principal, id string) (*store.Request, error) {
	req, err := s.store.GetRequest(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, problem.NotFound("request_not_found", "no request %q", id)
	}
	if err != nil {
		return nil, err
	}
	if _, err := auth.RequireIn(ctx, auth.PermApprove, req.OrgID); err != nil {
		return nil, err
	}
	if req.Status != store.RequestPending {
		return nil, problem.Conflict("request_not_pending", "request %s is %s, not pending", req.ID, req.Status)
	}
	if req.RequesterID == caller.ID {
		return nil, problem.Forbidden("self_approval", "a requester may not decide their own request")
	}
	return req, nil
}

// Approve issues the certificate of a pending request.
func (s *Service) Approve(ctx context.Context, id string) (*Issued, error) {
	caller, err := auth.Require(ctx, auth.PermApprove)
	if err != nil {
		return nil, err
	}
	req, err := s.pendingRequest(ctx, caller, id)
	if err != nil {
		return nil, err
	}
	prof, err := s.profiles.Resolve(ctx, req.ProfileID)
	if err != nil {
		return nil, err
	}
	// Re-check against the template as it is now: it may have tightened since the request.
	sub, err := pendingSubject(req, prof)
	if err != nil {
		return nil, err
	}
	if err := s.checkDomains(ctx, prof, sub); err != nil { // a validation may have expired meanwhile
		return nil, err
	}
	return s.issue(ctx, caller, issueJob{req: req, prof: prof, sub: sub, fromStatus: store.RequestPending, approver: caller})
}

// Reject closes a pending request with a reason.
func (s *Service) Reject(ctx context.Context, id, reason string) (*store.Request, error) {
	caller, err := auth.Require(ctx, auth.PermApprove)
	if err != nil {
		return nil, err
	}
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 1000 {
		return nil, problem.Invalid("reason_required", "a rejection needs a reason (at most 1000 characters)")
	}
	req, err := s.pendingRequest(ctx, caller, id)
	if err != nil {
		return nil, err
	}
	now := s.now()
	r := *req
	r.Status, r.Reason, r.DecidedBy, r.DecidedAt, r.UpdatedAt = store.RequestRejected, reason, caller.ID, &now, now
	err = s.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.UpdateRequest(ctx, &r, store.RequestPending); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return problem.Conflict("request_not_pending", "request %s was decided concurrently", r.ID)
			}
			return fmt.Errorf("reject request: %w", err)
		}
		tx.AppendAudit(caller.Event(now, r.OrgID, "request.reject", "request", r.ID, map[string]any{"reason": reason}))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}
