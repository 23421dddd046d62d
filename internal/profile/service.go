// Package profile manages templates (what a certificate may contain) and
// profiles (template + issuing CA + enrollment methods + approval rule), the
// names clients ask for when they enroll.
package profile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/policy"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// Store is the persistence the profile service needs.
type Store interface {
	GetTemplate(ctx context.Context, id string) (*store.Template, error)
	GetTemplateByName(ctx context.Context, name string) (*store.Template, error)
	ListTemplates(ctx context.Context, q store.ListQuery) ([]store.Template, string, error)
	GetProfile(ctx context.Context, id string) (*store.Profile, error)
	GetProfileByName(ctx context.Context, name string) (*store.Profile, error)
	ListProfiles(ctx context.Context, q store.ListQuery) ([]store.Profile, string, error)
	auth.OrgLookup
	Update(ctx context.Context, fn func(tx store.Tx) error) error
}

// CAResolver finds CAs by id or name.
type CAResolver interface {
	Resolve(ctx context.Context, ref string) (*store.CA, error)
}

// Service manages templates and profiles.
type Service struct {
	store Store
	cas   CAResolver
	now   func() time.Time

	mu       sync.Mutex
	resolved map[string]cachedProfile
}

// New returns the profile service.
func New(s Store, cas CAResolver, now func() time.Time) *Service {
	return &Service{store: s, cas: cas, now: now, resolved: map[string]cachedProfile{}}
}

// Enrollment methods and approval modes.
const (
	ApprovalAuto   = "auto"
	ApprovalManual = "manual"
)

// EnrollmentMethods lists the transports a profile can be enabled for.
var EnrollmentMethods = []string{"api", "acme", "est", "scep", "cmp", "notary", "infisical", "sectigo"}

// DeliveryFormats lists the formats a profile can deliver by default.
var DeliveryFormats = []string{"pem", "der", "chain", "pkcs7", "pkcs12"}

// TemplateInput creates or replaces a template.
type TemplateInput struct {
	Name        string          `json:"name"`
	Org         string          `json:"org,omitempty"` // id or name, on creation; default: the caller's
	Description string          `json:"description"`
	Spec        policy.Template `json:"spec"`
}

// Template is a stored template with its parsed spec.
type Template struct {
	store.Template
	Parsed policy.Template
}

func parseTemplate(t *store.Template) (*Template, error) {
	out := &Template{Template: *t}
	if err := json.Unmarshal(t.Spec, &out.Parsed); err != nil {
		return nil, fmt.Errorf("template %s has a corrupt spec: %w", t.ID, err)
	}
	return out, nil
}

func validName(name string) error {
	if name == "" || len(name) > 100 || strings.TrimSpace(name) != name {
		return problem.Violations("name_invalid", "the name is invalid",
			[]problem.Violation{{Field: "name", Code: "invalid", Message: "name is required, at most 100 characters, without surrounding spaces"}})
	}
	return nil
}

// CreateTemplate validates and stores a template.
func (s *Service) CreateTemplate(ctx context.Context, in TemplateInput) (*Template, error) {
	caller, err := auth.Require(ctx, auth.PermTemplateWrite)
	if err != nil {
		return nil, err
	}
	if err := validName(in.Name); err != nil {
		return nil, err
	}
	if err := in.Spec.Validate(); err != nil {
		return nil, err
	}
	orgID, err := auth.TargetOrg(ctx, s.store, caller, in.Org)
	if err != nil {
		return nil, err
	}
	spec, _ := json.Marshal(in.Spec)
	now := s.now()
	rec := &store.Template{ID: store.NewID("tpl"), OrgID: orgID, Name: in.Name, Description: in.Description, Spec: spec,
		CreatedAt: now, UpdatedAt: now}
	err = s.update(ctx, func(tx store.Tx) error {
		if err := tx.InsertTemplate(ctx, rec); err != nil {
			if errors.Is(err, store.ErrDuplicate) {
				return problem.Conflict("template_exists", "a template named %q already exists", in.Name)
			}
			return fmt.Errorf("insert template: %w", err)
		}
		tx.AppendAudit(caller.Event(now, orgID, "template.create", "template", rec.ID, map[string]any{"name": rec.Name}))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Template{Template: *rec, Parsed: in.Spec}, nil
}

// UpdateTemplate replaces a template's description and spec (its name too).
func (s *Service) UpdateTemplate(ctx context.Context, ref string, in TemplateInput) (*Template, error) {
	caller, err := auth.Require(ctx, auth.PermTemplateWrite)
	if err != nil {
		return nil, err
	}
	if err := validName(in.Name); err != nil {
		return nil, err
	}
	if err := in.Spec.Validate(); err != nil {
		return nil, err
	}
	spec, _ := json.Marshal(in.Spec)
	var out *store.Template
	err = s.update(ctx, func(tx store.Tx) error {
		rec, err := templateByRef(ctx, tx, ref)
		if err != nil {
			return err
		}
		if _, err := auth.RequireIn(ctx, auth.PermTemplateWrite, rec.OrgID); err != nil {
			return err
		}
		rec.Name, rec.Description, rec.Spec, rec.UpdatedAt = in.Name, in.Description, spec, s.now()
		if err := tx.UpdateTemplate(ctx, rec); err != nil {
			if errors.Is(err, store.ErrDuplicate) {
				return problem.Conflict("template_exists", "a template named %q already exists", in.Name)
			}
			return fmt.Errorf("update template: %w", err)
		}
		tx.AppendAudit(caller.Event(rec.UpdatedAt, rec.OrgID, "template.update", "template", rec.ID, map[string]any{"name": rec.Name}))
		out = rec
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Template{Template: *out, Parsed: in.Spec}, nil
}

// DeleteTemplate removes a template no profile uses.
func (s *Service) DeleteTemplate(ctx context.Context, ref string) error {
	caller, err := auth.Require(ctx, auth.PermTemplateWrite)
	if err != nil {
		return err
	}
	return s.update(ctx, func(tx store.Tx) error {
		rec, err := templateByRef(ctx, tx, ref)
		if err != nil {
			return err
		}
		if _, err := auth.RequireIn(ctx, auth.PermTemplateWrite, rec.OrgID); err != nil {
			return err
		}
		n, err := tx.CountProfilesUsing(ctx, rec.ID, "")
		if err != nil {
			return err
		}
		if n > 0 {
			return problem.Conflict("template_in_use", "template %s is used by %d profile(s)", rec.Name, n)
		}
		if err := tx.DeleteTemplate(ctx, rec.ID); err != nil {
			return fmt.Errorf("delete template: %w", err)
		}
		tx.AppendAudit(caller.Event(s.now(), rec.OrgID, "template.delete", "template", rec.ID, map[string]any{"name": rec.Name}))
		return nil
	})
}

type templateReader interface {
	GetTemplate(ctx context.Context, id string) (*store.Template, error)
	GetTemplateByName(ctx context.Context, name string) (*store.Template, error)
}

func templateByRef(ctx context.Context, r templateReader, ref string) (*store.Template, error) {
	rec, err := store.ByRef(ctx, ref, "tpl", r.GetTemplate, r.GetTemplateByName)
	if errors.Is(err, store.ErrNotFound) {
		return nil, problem.NotFound("template_not_found", "no template %q", ref)
	}
	return rec, err
}

// GetTemplate returns a template by id or name.
func (s *Service) GetTemplate(ctx context.Context, ref string) (*Template, error) {
	p, err := auth.Require(ctx, auth.PermTemplateRead)
	if err != nil {
		return nil, err
	}
	rec, err := templateByRef(ctx, s.store, ref)
	if err != nil {
		return nil, err
	}
	if !p.InOrg(rec.OrgID) {
		return nil, problem.Forbidden("other_organization", "template %s belongs to another organization", ref)
	}
	return parseTemplate(rec)
}

// ListTemplates pages through templates.
func (s *Service) ListTemplates(ctx context.Context, q store.ListQuery) ([]Template, string, error) {
	p, err := auth.Require(ctx, auth.PermTemplateRead)
	if err != nil {
		return nil, "", err
	}
	if q.OrgID, err = auth.ScopeOrg(ctx, s.store, p, q.OrgID); err != nil {
		return nil, "", err
	}
	recs, next, err := s.store.ListTemplates(ctx, q)
	if err != nil {
		return nil, "", err
	}
	out := make([]Template, 0, len(recs))
	for i := range recs {
		t, err := parseTemplate(&recs[i])
		if err != nil {
			return nil, "", err
		}
		out = append(out, *t)
	}
	return out, next, nil
}

func containsAll(allowed, got []string) (string, bool) {
	for _, g := range got {
		if !slices.Contains(allowed, g) {
			return g, false
		}
	}
	return "", true
}

// update writes through the store and drops cached resolutions, so a change
// is seen by the next issuance on this node.
func (s *Service) update(ctx context.Context, fn func(tx store.Tx) error) error {
	err := s.store.Update(ctx, fn)
	s.invalidate()
	return err
}
