package issuance

import (
	"cmp"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/ca"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// RFC 5280 CRLReason codes.
const (
	ReasonUnspecified     = 0
	ReasonKeyCompromise   = 1
	ReasonCertificateHold = 6
	ReasonRemoveFromCRL   = 8
)

var reasonNames = map[string]int{
	"unspecified": 0, "key_compromise": 1, "ca_compromise": 2, "affiliation_changed": 3, "superseded": 4,
	"cessation_of_operation": 5, "certificate_hold": 6, "privilege_withdrawn": 9, "aa_compromise": 10,
}

// ReasonName returns the snake_case name of an RFC 5280 reason code.
func ReasonName(code int) string {
	for n, c := range reasonNames {
		if c == code {
			return n
		}
	}
	return strconv.Itoa(code)
}

// ParseReason accepts a reason name (snake_case, or camelCase as RFC 5280
// spells it) or code. certificateHold and removeFromCRL are refused: use
// Suspend and Resume.
func ParseReason(s string) (int, error) {
	if s == "" {
		return ReasonUnspecified, nil
	}
	code, err := strconv.Atoi(s)
	if err != nil {
		var ok bool
		if code, ok = reasonByFoldedName(s); !ok {
			return 0, problem.Invalid("reason_invalid", "unknown revocation reason %q", s)
		}
	}
	switch {
	case code == ReasonCertificateHold || code == ReasonRemoveFromCRL:
		return 0, problem.Invalid("reason_invalid", "use suspend and resume for certificateHold")
	case code < 0 || code > 10 || code == 7:
		return 0, problem.Invalid("reason_invalid", "revocation reason %d is not an RFC 5280 reason", code)
	}
	return code, nil
}

// reasonByFoldedName matches names ignoring case and underscores, so
// "keyCompromise", "key_compromise" and "cACompromise" all work.
func reasonByFoldedName(s string) (int, bool) {
	fold := func(n string) string { return strings.ToLower(strings.ReplaceAll(n, "_", "")) }
	for name, code := range reasonNames {
		if fold(name) == fold(s) {
			return code, true
		}
	}
	if fold(s) == "removefromcrl" {
		return ReasonRemoveFromCRL, true
	}
	return 0, false
}

// RenewInput renews a certificate with a new CSR (same or new key) or a
// server-generated key (re-key).
type RenewInput struct {
	Method         string // enrollment method the renewal arrives by ("api" by default), checked against the profile
	CSR            string
	Keygen         *Keygen
	ValidityDays   int
	Profile        string // optional; required for imported certificates
	PKCS12Password string
	PublicKey      []byte // instead of a CSR: see EnrollInput.PublicKey; the names stay the old certificate's
}

// Renew issues a successor certificate for the same names and links the two.
func (s *Service) Renew(ctx context.Context, serial string, in RenewInput) (*Issued, error) {
	if _, err := auth.Require(ctx, auth.PermEnroll); err != nil {
		return nil, err
	}
	if err := checkPKCS12Request(in.PKCS12Password, in.Keygen); err != nil {
		return nil, err
	}
	old, err := s.getCertificate(ctx, serial)
	if err != nil {
		return nil, err
	}
	caller, err := auth.RequireOwner(ctx, auth.PermEnroll, old.OrgID, old.Owner, old.Serial)
	if err != nil {
		return nil, err
	}
	if old.Status != store.CertActive {
		return nil, problem.Conflict("certificate_not_active", "certificate %s is %s and cannot be renewed", old.Serial, old.Status)
	}
	if old.RenewedBy != "" {
		return nil, problem.Conflict("certificate_already_renewed", "certificate %s was already renewed by %s", old.Serial, old.RenewedBy)
	}
	profRef := in.Profile
	if profRef == "" {
		profRef = old.ProfileID
	}
	if profRef == "" {
		return nil, problem.Invalid("profile_required", "certificate %s was not issued from a profile; name one to renew it", old.Serial)
	}
	prof, err := s.profiles.Resolve(ctx, profRef)
	if err != nil {
		return nil, err
	}
	in.Method = cmp.Or(in.Method, MethodAPI)
	if err := checkProfileUsable(prof, in.Method); err != nil {
		return nil, err
	}
	if prof.Profile.OrgID != old.OrgID {
		return nil, problem.Forbidden("other_organization", "profile %s belongs to another organization than certificate %s", prof.Profile.Name, old.Serial)
	}
	now := s.now()
	req := &store.Request{ID: store.NewID("req"), OrgID: old.OrgID, ProfileID: prof.Profile.ID, RequesterID: caller.ID,
		Status: store.RequestPending, Kind: "renew", ValidityDays: in.ValidityDays, RenewalOf: old.Serial, Owner: old.Owner,
		Labels: old.Labels, CustomFields: old.CustomFields, Method: in.Method, CreatedAt: now, UpdatedAt: now}
	enroll := EnrollInput{CSR: in.CSR, Keygen: in.Keygen, ValidityDays: in.ValidityDays, PublicKey: in.PublicKey}
	if in.Keygen != nil || in.PublicKey != nil {
		if enroll.Subject, enroll.SANs, err = namesOf(old); err != nil {
			return nil, err
		}
	}
	sub, err := s.subjectFromInput(enroll, req, prof)
	if err != nil {
		return nil, err
	}
	if err := s.checkDomains(ctx, prof, sub); err != nil {
		return nil, err
	}
	return s.issue(ctx, caller, issueJob{req: req, prof: prof, sub: sub, renewOf: old, p12Password: in.PKCS12Password})
}

// namesOf recovers the subject and SANs of a stored certificate for re-keying.
func namesOf(c *store.Certificate) (ca.Subject, []string, error) {
	cert, err := x509.ParseCertificate(c.DER)
	if err != nil {
		return ca.Subject{}, nil, fmt.Errorf("parse certificate %s: %w", c.Serial, err)
	}
	n := cert.Subject
	return ca.Subject{CommonName: n.CommonName, Organization: n.Organization, OrganizationalUnit: n.OrganizationalUnit,
		Country: n.Country, Province: n.Province, Locality: n.Locality, StreetAddress: n.StreetAddress,
		PostalCode: n.PostalCode, SerialNumber: n.SerialNumber}, sanStrings(cert), nil
}

// Revoke revokes a certificate permanently with an RFC 5280 reason and,
// optionally, the date its key is known or suspected to have been
// compromised (the CRL's invalidityDate).
func (s *Service) Revoke(ctx context.Context, serial string, reason int, invalidity *time.Time) (*store.Certificate, error) {
	if invalidity != nil && invalidity.After(s.now()) {
		return nil, problem.Invalid("invalidity_date_future", "invalidity_date cannot be in the future")
	}
	if err := s.revokeUpstream(ctx, serial, reason); err != nil { // external.go
		return nil, err
	}
	return s.transition(ctx, serial, "certificate.revoke", func(c *store.Certificate) error {
		if c.Status == store.CertRevoked {
			return problem.Conflict("certificate_already_revoked", "certificate %s is already revoked", c.Serial)
		}
		c.Status, c.RevocationReason, c.InvalidityDate = store.CertRevoked, reason, invalidity
		return nil
	})
}

// Suspend puts a certificate on hold (RFC 5280 certificateHold).
func (s *Service) Suspend(ctx context.Context, serial string) (*store.Certificate, error) {
	if err := s.refuseExternalHold(ctx, serial); err != nil { // external.go
		return nil, err
	}
	return s.transition(ctx, serial, "certificate.suspend", func(c *store.Certificate) error {
		if c.Status != store.CertActive {
			return problem.Conflict("certificate_not_active", "certificate %s is %s and cannot be suspended", c.Serial, c.Status)
		}
		c.Status, c.RevocationReason = store.CertOnHold, ReasonCertificateHold
		return nil
	})
}

// Resume takes a certificate off hold.
func (s *Service) Resume(ctx context.Context, serial string) (*store.Certificate, error) {
	return s.transition(ctx, serial, "certificate.resume", func(c *store.Certificate) error {
		if c.Status != store.CertOnHold {
			return problem.Conflict("certificate_not_on_hold", "certificate %s is %s, not on hold", c.Serial, c.Status)
		}
		c.Status, c.RevocationReason, c.RevokedAt, c.InvalidityDate = store.CertActive, 0, nil, nil
		return nil
	})
}

// transition applies a status change atomically: the update only lands if
// the status is still what change saw, so concurrent revocations cannot both win.
func (s *Service) transition(ctx context.Context, serial, action string, change func(*store.Certificate) error) (*store.Certificate, error) {
	caller, err := auth.Require(ctx, auth.PermCertRevoke)
	if err != nil {
		return nil, err
	}
	canon, err := s.getCertificate(ctx, serial)
	if err != nil {
		return nil, err
	}
	if caller, err = auth.RequireOwner(ctx, auth.PermCertRevoke, canon.OrgID, canon.Owner, canon.Serial); err != nil {
		return nil, err
	}
	var out *store.Certificate
	err = s.store.Update(ctx, func(tx store.Tx) error {
		c, err := tx.GetCertificate(ctx, canon.Serial)
		if err != nil {
			return fmt.Errorf("load certificate: %w", err)
		}
		from := c.Status
		if err := change(c); err != nil {
			return err
		}
		now := s.now()
		c.UpdatedAt = now
		if c.Status != store.CertActive {
			c.RevokedAt = &now
		}
		if err := tx.UpdateCertificate(ctx, c, from); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return problem.Conflict("certificate_changed", "certificate %s changed status concurrently; retry", c.Serial)
			}
			return fmt.Errorf("update certificate: %w", err)
		}
		tx.AppendAudit(caller.Event(now, c.OrgID, action, "certificate", c.Serial,
			map[string]any{"from": from, "to": c.Status, "reason": ReasonName(c.RevocationReason)}))
		out = c
		return nil
	})
	if err == nil && s.listener != nil {
		s.listener.StatusChanged(ctx, out)
	}
	return out, err
}

// CertificateChange edits what Signet records about a certificate (never
// what it certifies). Nil fields stay; a given map replaces the old one.
type CertificateChange struct {
	Owner        *string
	Labels       map[string]string
	CustomFields map[string]string
}

// UpdateCertificate changes a certificate's owner, labels or custom fields.
func (s *Service) UpdateCertificate(ctx context.Context, serial string, ch CertificateChange) (*store.Certificate, error) {
	c, err := s.getCertificate(ctx, serial)
	if err != nil {
		return nil, err
	}
	caller, err := auth.RequireOwner(ctx, auth.PermCertUpdate, c.OrgID, c.Owner, c.Serial)
	if err != nil {
		return nil, err
	}
	details := map[string]any{}
	if ch.Owner != nil {
		if err := s.checkOwner(ctx, caller, c.OrgID, *ch.Owner); err != nil {
			return nil, err
		}
		details["owner"] = map[string]string{"from": c.Owner, "to": *ch.Owner}
	}
	if err := s.attrs.CheckAttributes(ctx, c.OrgID, ch.Labels, ch.CustomFields, false); err != nil {
		return nil, err
	}
	var out *store.Certificate
	err = s.store.Update(ctx, func(tx store.Tx) error {
		cur, err := tx.GetCertificate(ctx, c.Serial)
		if err != nil {
			return fmt.Errorf("load certificate: %w", err)
		}
		if ch.Owner != nil {
			cur.Owner = *ch.Owner
		}
		if ch.Labels != nil {
			cur.Labels, details["labels"] = ch.Labels, ch.Labels
		}
		if ch.CustomFields != nil {
			cur.CustomFields, details["custom_fields"] = ch.CustomFields, ch.CustomFields
		}
		cur.UpdatedAt = s.now()
		if err := tx.UpdateCertificate(ctx, cur, cur.Status); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return problem.Conflict("certificate_changed", "certificate %s changed concurrently; retry", cur.Serial)
			}
			return fmt.Errorf("update certificate: %w", err)
		}
		tx.AppendAudit(caller.Event(cur.UpdatedAt, cur.OrgID, "certificate.update", "certificate", cur.Serial, details))
		out = cur
		return nil
	})
	return out, err
}
