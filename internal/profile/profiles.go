package profile

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// ProfileInput creates or replaces a profile. Template and CA accept ids or names.
type ProfileInput struct {
	Name                string   `json:"name"`
	Org                 string   `json:"org,omitempty"` // id or name, on creation; default: the caller's
	Description         string   `json:"description"`
	Template            string   `json:"template"`
	CA                  string   `json:"ca"`
	IssuerType          string   `json:"issuer_type"` // internal (default) | external | self_signed
	Connector           string   `json:"connector"`   // upstream connector id or name, for external profiles
	Approval            string   `json:"approval"`
	DefaultValidityDays int      `json:"default_validity_days"`
	EnrollmentMethods   []string `json:"enrollment_methods"`
	DeliveryFormat      string   `json:"delivery_format"`
	Status              string   `json:"status"`
}

// Resolved is a profile with its template and CA looked up, as issuance needs it.
type Resolved struct {
	Profile  store.Profile
	Template *Template
}

// ConnectorKind is the ProtocolObject kind of upstream connectors (package
// upstream owns their data; profiles only need their id, organization and status).
const ConnectorKind = "upstream.connector"

// catalogReader is what profile validation reads inside its transaction.
type catalogReader interface {
	templateReader
	GetProtocolObject(ctx context.Context, kind, id string) (*store.ProtocolObject, error)
	FindProtocolObject(ctx context.Context, kind, keyID string) (*store.ProtocolObject, error)
}

// issuerRefs is what a valid profile points at.
type issuerRefs struct {
	tpl         *store.Template
	caID        string
	connectorID string
}

// validateIssuer checks the issuer settings: an internal profile needs a CA
// that can sign, an external one a connector of the same organization, a
// self-signed one neither (the certificate signs itself).
func (s *Service) validateIssuer(ctx context.Context, r catalogReader, orgID string, in *ProfileInput, add func(field, code, msg string)) (caID, connectorID string, err error) {
	if in.IssuerType == "" {
		in.IssuerType = store.IssuerInternal
	}
	switch in.IssuerType {
	case store.IssuerInternal:
		if in.Connector != "" {
			add("connector", "invalid", "only external profiles have a connector")
		}
		ca, err := s.cas.Resolve(ctx, in.CA)
		if err != nil {
			if problem.KindOf(err) != problem.KindNotFound {
				return "", "", err
			}
			add("ca", "not_found", fmt.Sprintf("no CA %q", in.CA))
		} else if ca.OrgID != orgID {
			add("ca", "other_organization", fmt.Sprintf("CA %s belongs to another organization", ca.Name))
		} else if len(ca.KeyBlob) == 0 {
			add("ca", "ca_has_no_key", fmt.Sprintf("CA %s has no private key in Signet and cannot issue", ca.Name))
		} else {
			return ca.ID, "", nil
		}
	case store.IssuerExternal:
		if in.CA != "" {
			add("ca", "invalid", "external profiles have no Signet CA")
		}
		if in.Connector == "" {
			add("connector", "required", "an external profile needs a connector")
			return "", "", nil
		}
		c, err := r.GetProtocolObject(ctx, ConnectorKind, in.Connector)
		if errors.Is(err, store.ErrNotFound) {
			c, err = r.FindProtocolObject(ctx, ConnectorKind, in.Connector)
		}
		switch {
		case errors.Is(err, store.ErrNotFound):
			add("connector", "not_found", fmt.Sprintf("no connector %q", in.Connector))
		case err != nil:
			return "", "", fmt.Errorf("look up connector: %w", err)
		case c.AccountID != orgID:
			add("connector", "other_organization", fmt.Sprintf("connector %s belongs to another organization", in.Connector))
		default:
			return "", c.ID, nil
		}
	case store.IssuerSelfSigned:
		if in.CA != "" || in.Connector != "" {
			add("issuer_type", "invalid", "self-signed profiles have neither a CA nor a connector")
		}
	default:
		add("issuer_type", "invalid", "issuer_type must be internal, external or self_signed")
	}
	return "", "", nil
}

// validateProfile checks a profile's settings; its template, CA and
// connector must belong to the profile's organization orgID.
func (s *Service) validateProfile(ctx context.Context, r catalogReader, orgID string, in *ProfileInput) (*issuerRefs, error) {
	var vs []problem.Violation
	add := func(field, code, msg string) {
		vs = append(vs, problem.Violation{Field: field, Code: code, Message: msg})
	}
	if err := validName(in.Name); err != nil {
		vs = append(vs, problem.As(err).Violations...)
	}
	if in.Approval == "" {
		in.Approval = ApprovalAuto
	}
	if in.Approval != ApprovalAuto && in.Approval != ApprovalManual {
		add("approval", "invalid", "approval must be auto or manual")
	}
	if len(in.EnrollmentMethods) == 0 {
		in.EnrollmentMethods = []string{"api"}
	}
	if m, ok := containsAll(EnrollmentMethods, in.EnrollmentMethods); !ok {
		add("enrollment_methods", "invalid", fmt.Sprintf("unknown enrollment method %q (want %v)", m, EnrollmentMethods))
	}
	if in.DeliveryFormat == "" {
		in.DeliveryFormat = "pem"
	}
	if f, ok := containsAll(DeliveryFormats, []string{in.DeliveryFormat}); !ok {
		add("delivery_format", "invalid", fmt.Sprintf("unknown delivery format %q (want %v)", f, DeliveryFormats))
	}
	if in.Status == "" {
		in.Status = "active"
	}
	if in.Status != "active" && in.Status != "disabled" {
		add("status", "invalid", "status must be active or disabled")
	}
	tpl, err := templateByRef(ctx, r, in.Template)
	if err != nil {
		if problem.KindOf(err) != problem.KindNotFound {
			return nil, err
		}
		add("template", "not_found", fmt.Sprintf("no template %q", in.Template))
	} else if tpl.OrgID != orgID {
		add("template", "other_organization", fmt.Sprintf("template %s belongs to another organization", tpl.Name))
	}
	caID, connectorID, err := s.validateIssuer(ctx, r, orgID, in, add)
	if err != nil {
		return nil, err
	}
	if tpl != nil && len(vs) == 0 {
		t, err := parseTemplate(tpl)
		if err != nil {
			return nil, err
		}
		if in.DefaultValidityDays < 0 || in.DefaultValidityDays > t.Parsed.MaxValidityDays {
			add("default_validity_days", "invalid",
				fmt.Sprintf("default_validity_days must be between 0 and the template's maximum (%d)", t.Parsed.MaxValidityDays))
		}
	}
	if len(vs) > 0 {
		return nil, problem.Violations("profile_invalid", "the profile is invalid", vs)
	}
	return &issuerRefs{tpl: tpl, caID: caID, connectorID: connectorID}, nil
}

// CreateProfile validates and stores a profile.
func (s *Service) CreateProfile(ctx context.Context, in ProfileInput) (*store.Profile, error) {
	caller, err := auth.Require(ctx, auth.PermProfileWrite)
	if err != nil {
		return nil, err
	}
	orgID, err := auth.TargetOrg(ctx, s.store, caller, in.Org)
	if err != nil {
		return nil, err
	}
	var out *store.Profile
	err = s.update(ctx, func(tx store.Tx) error {
		refs, err := s.validateProfile(ctx, tx, orgID, &in)
		if err != nil {
			return err
		}
		now := s.now()
		rec := &store.Profile{ID: store.NewID("prof"), OrgID: orgID, CreatedAt: now, UpdatedAt: now}
		fillProfile(rec, in, refs)
		if err := tx.InsertProfile(ctx, rec); err != nil {
			if errors.Is(err, store.ErrDuplicate) {
				return problem.Conflict("profile_exists", "a profile named %q already exists", in.Name)
			}
			return fmt.Errorf("insert profile: %w", err)
		}
		tx.AppendAudit(caller.Event(now, orgID, "profile.create", "profile", rec.ID, map[string]any{"name": rec.Name, "template": refs.tpl.ID, "ca": refs.caID,
			"issuer_type": rec.IssuerType, "connector": refs.connectorID}))
		out = rec
		return nil
	})
	return out, err
}

func fillProfile(rec *store.Profile, in ProfileInput, refs *issuerRefs) {
	rec.Name, rec.Description, rec.TemplateID, rec.CAID = in.Name, in.Description, refs.tpl.ID, refs.caID
	rec.IssuerType, rec.ConnectorID = in.IssuerType, refs.connectorID
	rec.Approval, rec.DefaultValidityDays, rec.EnrollmentMethods = in.Approval, in.DefaultValidityDays, in.EnrollmentMethods
	rec.DeliveryFormat, rec.Status = in.DeliveryFormat, in.Status
}

// UpdateProfile replaces a profile's settings.
func (s *Service) UpdateProfile(ctx context.Context, ref string, in ProfileInput) (*store.Profile, error) {
	caller, err := auth.Require(ctx, auth.PermProfileWrite)
	if err != nil {
		return nil, err
	}
	var out *store.Profile
	err = s.update(ctx, func(tx store.Tx) error {
		rec, err := profileByRef(ctx, tx, ref)
		if err != nil {
			return err
		}
		if _, err := auth.RequireIn(ctx, auth.PermProfileWrite, rec.OrgID); err != nil {
			return err
		}
		refs, err := s.validateProfile(ctx, tx, rec.OrgID, &in)
		if err != nil {
			return err
		}
		now := s.now()
		fillProfile(rec, in, refs)
		rec.UpdatedAt = now
		if err := tx.UpdateProfile(ctx, rec); err != nil {
			if errors.Is(err, store.ErrDuplicate) {
				return problem.Conflict("profile_exists", "a profile named %q already exists", in.Name)
			}
			return fmt.Errorf("update profile: %w", err)
		}
		tx.AppendAudit(caller.Event(now, rec.OrgID, "profile.update", "profile", rec.ID, map[string]any{"name": rec.Name}))
		out = rec
		return nil
	})
	return out, err
}

// DeleteProfile removes a profile. Certificates issued under it keep their profile id.
func (s *Service) DeleteProfile(ctx context.Context, ref string) error {
	caller, err := auth.Require(ctx, auth.PermProfileWrite)
	if err != nil {
		return err
	}
	return s.update(ctx, func(tx store.Tx) error {
		rec, err := profileByRef(ctx, tx, ref)
		if err != nil {
			return err
		}
		if _, err := auth.RequireIn(ctx, auth.PermProfileWrite, rec.OrgID); err != nil {
			return err
		}
		if err := tx.DeleteProfile(ctx, rec.ID); err != nil {
			return fmt.Errorf("delete profile: %w", err)
		}
		tx.AppendAudit(caller.Event(s.now(), rec.OrgID, "profile.delete", "profile", rec.ID, map[string]any{"name": rec.Name}))
		return nil
	})
}

type profileReader interface {
	GetProfile(ctx context.Context, id string) (*store.Profile, error)
	GetProfileByName(ctx context.Context, name string) (*store.Profile, error)
}

func profileByRef(ctx context.Context, r profileReader, ref string) (*store.Profile, error) {
	rec, err := store.ByRef(ctx, ref, "prof", r.GetProfile, r.GetProfileByName)
	if errors.Is(err, store.ErrNotFound) {
		return nil, problem.NotFound("profile_not_found", "no profile %q", ref)
	}
	return rec, err
}

// GetProfile returns a profile by id or name.
func (s *Service) GetProfile(ctx context.Context, ref string) (*store.Profile, error) {
	p, err := auth.Require(ctx, auth.PermProfileRead)
	if err != nil {
		return nil, err
	}
	rec, err := profileByRef(ctx, s.store, ref)
	if err != nil {
		return nil, err
	}
	if !p.InOrg(rec.OrgID) {
		return nil, problem.Forbidden("other_organization", "profile %s belongs to another organization", ref)
	}
	return rec, nil
}

// ListProfiles pages through profiles.
func (s *Service) ListProfiles(ctx context.Context, q store.ListQuery) ([]store.Profile, string, error) {
	p, err := auth.Require(ctx, auth.PermProfileRead)
	if err != nil {
		return nil, "", err
	}
	if q.OrgID, err = auth.ScopeOrg(ctx, s.store, p, q.OrgID); err != nil {
		return nil, "", err
	}
	return s.store.ListProfiles(ctx, q)
}

// resolveTTL bounds how long a resolved profile is reused. Writes through
// this service invalidate at once; the TTL only bounds staleness of changes
// made by another node sharing the database.
const resolveTTL = 2 * time.Second

type cachedProfile struct {
	resolved *Resolved
	at       time.Time
}

// Resolve returns a profile with its parsed template, for the issuance
// service (which has already checked the caller's permission). It is on the
// issuance hot path, so results are cached briefly.
func (s *Service) Resolve(ctx context.Context, ref string) (*Resolved, error) {
	now := s.now()
	s.mu.Lock()
	c, ok := s.resolved[ref]
	s.mu.Unlock()
	if ok && now.Sub(c.at) < resolveTTL {
		return c.resolved, nil
	}
	p, err := profileByRef(ctx, s.store, ref)
	if err != nil {
		return nil, err
	}
	rec, err := s.store.GetTemplate(ctx, p.TemplateID)
	if err != nil {
		return nil, fmt.Errorf("template of profile %s: %w", p.ID, err)
	}
	t, err := parseTemplate(rec)
	if err != nil {
		return nil, err
	}
	res := &Resolved{Profile: *p, Template: t}
	s.mu.Lock()
	if len(s.resolved) > 1000 {
		clear(s.resolved) // bounded: a flood of distinct refs cannot grow it
	}
	s.resolved[ref] = cachedProfile{resolved: res, at: now}
	s.mu.Unlock()
	return res, nil
}

// invalidate drops cached resolutions after a template or profile change.
func (s *Service) invalidate() {
	s.mu.Lock()
	clear(s.resolved)
	s.mu.Unlock()
}
