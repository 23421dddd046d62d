package issuance

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// AutoRenewPolicy renews a profile's server-keyed certificates DaysBefore
// their expiry.
type AutoRenewPolicy struct {
	Profile    string // id or name
	DaysBefore int
}

// AutoRenew re-issues a certificate whose key the server generated for the
// same public key: the holder keeps the key it received at issuance and
// only needs the new certificate, so no private key is stored or sent. The
// old certificate is linked to the new one like any renewal. Through an
// external profile the CSR the old certificate came from goes upstream
// again; an asynchronous upstream leaves the renewal pending_upstream, and
// the upstream job links it when it completes.
func (s *Service) AutoRenew(ctx context.Context, serial string) (*Issued, error) {
	old, err := s.getCertificate(ctx, serial)
	if err != nil {
		return nil, err
	}
	caller, err := auth.RequireOwner(ctx, auth.PermEnroll, old.OrgID, old.Owner, old.Serial)
	if err != nil {
		return nil, err
	}
	if old.Status != store.CertActive || old.RenewedBy != "" {
		return nil, problem.Conflict("certificate_not_renewable", "certificate %s is %s or already renewed", old.Serial, old.Status)
	}
	orig, err := s.store.GetRequest(ctx, old.RequestID)
	if err != nil || len(orig.Keygen) == 0 {
		return nil, problem.Conflict("key_not_server_generated", "certificate %s was not issued with a server-generated key", old.Serial)
	}
	prof, err := s.profiles.Resolve(ctx, old.ProfileID)
	if err != nil {
		return nil, err
	}
	if err := checkProfileUsable(prof, "api"); err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(old.DER)
	if err != nil {
		return nil, fmt.Errorf("parse certificate %s: %w", old.Serial, err)
	}
	subj, sans, err := namesOf(old)
	if err != nil {
		return nil, err
	}
	tmpl, err := templateFromNames(subj, sans)
	if err != nil {
		return nil, err
	}
	sub := &subject{pub: cert.PublicKey, template: tmpl}
	if err := checkPolicy(prof, sub, 0, true); err != nil {
		return nil, err
	}
	var csr []byte
	if prof.Profile.IssuerType == store.IssuerExternal {
		csr = s.renewalCSR(ctx, old, cert.PublicKey) // external.go
	}
	now := s.now()
	req := &store.Request{ID: store.NewID("req"), OrgID: old.OrgID, ProfileID: prof.Profile.ID, RequesterID: caller.ID,
		Status: store.RequestPending, Kind: "renew", RenewalOf: old.Serial, Owner: old.Owner, Labels: old.Labels,
		CustomFields: old.CustomFields, Keygen: orig.Keygen, Method: methodAutoRenew, CreatedAt: now, UpdatedAt: now}
	return s.issue(ctx, caller, issueJob{req: req, prof: prof, sub: sub, renewOf: old, csr: csr})
}

// AutoRenewPass renews, as the system, every active and not yet renewed
// certificate of each policy's profile that expires within its window as
// of now and whose key the server generated. It returns how many it
// renewed (through an asynchronous external CA: submitted; the next pass
// skips a certificate whose renewal is still pending upstream). A
// certificate whose whole lifetime fits in the window is left alone: its
// successor would be due at once, and so on without end.
func (s *Service) AutoRenewPass(ctx context.Context, policies []AutoRenewPolicy, now time.Time, log *slog.Logger) (int, error) {
	ctx = auth.WithPrincipal(ctx, auth.System())
	renewed := 0
	var errs []error
	for _, p := range policies {
		prof, err := s.profiles.Resolve(ctx, p.Profile)
		if err != nil {
			errs = append(errs, fmt.Errorf("auto-renew profile %s: %w", p.Profile, err))
			continue
		}
		before := now.AddDate(0, 0, p.DaysBefore)
		q := store.CertificateQuery{ProfileID: prof.Profile.ID, Statuses: []string{store.CertActive}, Source: store.SourceIssued,
			ExpiresAfter: &now, ExpiresBefore: &before, Sort: "not_after", Limit: 500, Now: now}
		for {
			page, err := s.store.SearchCertificates(ctx, q)
			if err != nil {
				return renewed, err
			}
			for i := range page.Items {
				c := &page.Items[i]
				if c.RenewedBy != "" {
					continue
				}
				if c.NotAfter.Sub(c.NotBefore) <= time.Duration(p.DaysBefore)*24*time.Hour {
					log.WarnContext(ctx, "auto-renewal window longer than the certificate's lifetime; not renewing",
						"serial", c.Serial, "profile", p.Profile, "days_before", p.DaysBefore)
					continue
				}
				if _, err := s.AutoRenew(ctx, c.Serial); err != nil {
					if pe := problem.As(err); pe != nil && pe.Kind == problem.KindConflict && pe.Code != "upstream_needs_csr" {
						continue // not server-keyed, renewed meanwhile, or its renewal is pending upstream
					}
					log.WarnContext(ctx, "auto-renewal failed", "serial", c.Serial, "err", err)
					continue
				}
				renewed++
			}
			if page.NextCursor == "" {
				break
			}
			q.Cursor = page.NextCursor
		}
	}
	return renewed, errors.Join(errs...)
}

// RunAutoRenew repeats AutoRenewPass while this node leads, until ctx ends.
func (s *Service) RunAutoRenew(ctx context.Context, leader func() bool, policies []AutoRenewPolicy, every time.Duration, log *slog.Logger) {
	if len(policies) == 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if leader() {
			if _, err := s.AutoRenewPass(ctx, policies, s.now(), log); err != nil && ctx.Err() == nil {
				log.WarnContext(ctx, "auto-renewal", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
