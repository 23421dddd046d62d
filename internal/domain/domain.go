// Package domain keeps the DNS domains an organization has registered, who
// in it (which teams) may use them, whether a manager approved them, and
// whether control of each was proven (domain control validation by an HTTP
// or HTTPS file, a DNS TXT or CNAME record, or an email round trip). The
// issuance service asks it, through CheckNames, whether a template that
// requires validated domains may certify a DNS name.
//
// Records live in the store's protocol-object table (kinds "domain.*",
// AccountID = organization id): a domain is a small document read and
// written whole.
package domain

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// Object kinds.
const (
	kindDomain    = "domain.domain"
	kindEmailCode = "domain.emailcode" // id: SHA-256 of an email DCV code -> the domain it validates
)

// Domain approval status and state.
const (
	StatusRequested = "requested" // registered by a requester, waiting for a manager
	StatusApproved  = "approved"
	StateActive     = "active"
	StateSuspended  = "suspended"
)

// Validation statuses (derived from the record and the clock).
const (
	Validated    = "validated"
	NotValidated = "not_validated"
	Expired      = "expired"
)

// DCV methods.
const (
	MethodHTTP  = "http"
	MethodHTTPS = "https"
	MethodCNAME = "cname"
	MethodTXT   = "txt"
	MethodEmail = "email"
)

// Domain is one registered domain of an organization.
type Domain struct {
	ID          string       `json:"id"` // decimal, so that numeric-id APIs (Sectigo) can name it
	OrgID       string       `json:"org_id"`
	Name        string       `json:"name"`
	Description string       `json:"description,omitempty"`
	Status      string       `json:"status"` // requested | approved
	State       string       `json:"state"`  // active | suspended
	Delegations []Delegation `json:"delegations"`
	Validation  Validation   `json:"validation"`
	Order       *Order       `json:"order,omitempty"` // the validation in progress, if any
	RequestedBy string       `json:"requested_by"`
	ApprovedBy  string       `json:"approved_by,omitempty"`
	CreatedAt   time.Time    `json:"created_at"`
	UpdatedAt   time.Time    `json:"updated_at"`
}

// Delegation lets a team of the organization request certificates under the domain.
type Delegation struct {
	TeamID     string   `json:"team_id"`
	Status     string   `json:"status"`               // requested | active
	CertTypes  []string `json:"cert_types,omitempty"` // SSL, SMIME, ... (kept for the Sectigo API)
	Privileges []string `json:"privileges,omitempty"` // DOMAIN, SUBDOMAIN, WILDCARD_1ST_LEVEL, ...
}

// Validation is the last successful domain control validation.
type Validation struct {
	Method      string     `json:"method,omitempty"`
	ValidatedAt *time.Time `json:"validated_at,omitempty"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
}

// Order is a domain control validation started and not yet concluded.
type Order struct {
	Method      string     `json:"method"`
	Status      string     `json:"status"` // started | submitted
	Token       string     `json:"token"`  // the random value the challenge publishes (file name, record)
	Value       string     `json:"value"`  // what the file / record must contain
	Email       string     `json:"email,omitempty"`
	CodeHash    string     `json:"code_hash,omitempty"` // SHA-256 of the emailed code; the code itself is never stored
	Reference   string     `json:"reference,omitempty"` // email reference number shown to the admin
	StartedAt   time.Time  `json:"started_at"`
	ExpiresAt   time.Time  `json:"expires_at"`
	SubmittedAt *time.Time `json:"submitted_at,omitempty"`
	LastCheck   *time.Time `json:"last_check,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
}

// ValidationStatus derives the domain's validation status at now.
func (d *Domain) ValidationStatus(now time.Time) string {
	switch {
	case d.Validation.ValidatedAt == nil:
		return NotValidated
	case d.Validation.ExpiresAt != nil && !now.Before(*d.Validation.ExpiresAt):
		return Expired
	default:
		return Validated
	}
}

// Store is the persistence the service needs.
type Store interface {
	GetProtocolObject(ctx context.Context, kind, id string) (*store.ProtocolObject, error)
	FindProtocolObject(ctx context.Context, kind, keyID string) (*store.ProtocolObject, error)
	ListProtocolObjects(ctx context.Context, kind, accountID string, limit int, cursor string) ([]store.ProtocolObject, string, error)
	ExportProtocolObjects(ctx context.Context, limit int, cursor string) ([]store.ProtocolObject, string, error)
	GetTeam(ctx context.Context, id string) (*store.Team, error)
	Update(ctx context.Context, fn func(tx store.Tx) error) error
	auth.OrgLookup // an organization given by id or name
}

// Mailer delivers the email DCV message (internal/notify's SMTP relay).
type Mailer interface {
	SendMail(ctx context.Context, to, subject, body string) error
}

// Config is where and how control is checked.
type Config struct {
	// Resolver is the DNS server ("host:port") TXT, CNAME and address
	// lookups go to; "" uses the system resolver.
	Resolver string
	// HTTPPort and HTTPSPort are where file validation connects (80, 443).
	HTTPPort, HTTPSPort int
	// ValidFor is how long a successful validation counts (398 days).
	ValidFor time.Duration
	// OrderLifetime bounds a started validation (30 days).
	OrderLifetime time.Duration
	// CheckTimeout bounds one check (10 s).
	CheckTimeout time.Duration
	// ConfirmURL is where the emailed code is entered (shown in the mail).
	ConfirmURL string
	Now        func() time.Time
	Logger     *slog.Logger
}

// Service manages domains and their validation.
type Service struct {
	store   Store
	mail    Mailer
	cfg     Config
	checker *checker
}

// New returns the domain service; mail may be nil (email DCV then fails).
func New(st Store, mail Mailer, cfg Config) (*Service, error) {
	if cfg.HTTPPort == 0 {
		cfg.HTTPPort = 80
	}
	if cfg.HTTPSPort == 0 {
		cfg.HTTPSPort = 443
	}
	if cfg.ValidFor <= 0 {
		cfg.ValidFor = 398 * 24 * time.Hour
	}
	if cfg.OrderLifetime <= 0 {
		cfg.OrderLifetime = 30 * 24 * time.Hour
	}
	if cfg.CheckTimeout <= 0 {
		cfg.CheckTimeout = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return time.Now().UTC() }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ch, err := newChecker(cfg)
	if err != nil {
		return nil, err
	}
	return &Service{store: st, mail: mail, cfg: cfg, checker: ch}, nil
}

// SetMailer sets the email DCV relay (the notification service is built after issuance).
func (s *Service) SetMailer(m Mailer) { s.mail = m }

// NormalizeName lower-cases a domain name, drops a trailing dot and checks
// it is a plausible DNS name with at least one dot.
func NormalizeName(name string) (string, error) {
	n := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(name)), ".")
	bad := problem.Violations("domain_name_invalid", "invalid domain name",
		[]problem.Violation{{Field: "name", Code: "domain_name_invalid", Message: fmt.Sprintf("%q is not a valid domain name", name)}})
	if len(n) < 3 || len(n) > 253 || !strings.Contains(n, ".") {
		return "", bad
	}
	for _, label := range strings.Split(n, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", bad
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "", bad
			}
		}
	}
	return n, nil
}

func keyOf(orgID, name string) string { return orgID + "|" + name }

func decode(o *store.ProtocolObject) (*Domain, error) {
	var d Domain
	if err := json.Unmarshal(o.Data, &d); err != nil {
		return nil, fmt.Errorf("decode domain %s: %w", o.ID, err)
	}
	return &d, nil
}

func notFound(ref string) error {
	return problem.NotFound("domain_not_found", "no domain %q", ref)
}

// load reads a domain by id without any permission check.
func (s *Service) load(ctx context.Context, id string) (*Domain, error) {
	o, err := s.store.GetProtocolObject(ctx, kindDomain, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, fmt.Errorf("load domain: %w", err)
	}
	return decode(o)
}

// Get returns a domain the caller may see.
func (s *Service) Get(ctx context.Context, id string) (*Domain, error) {
	p, err := auth.Require(ctx, auth.PermCertRead)
	if err != nil {
		return nil, err
	}
	d, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if !p.InOrg(d.OrgID) {
		return nil, notFound(id)
	}
	return d, nil
}

// Find returns an organization's domain by name.
func (s *Service) Find(ctx context.Context, orgID, name string) (*Domain, error) {
	p, err := auth.Require(ctx, auth.PermCertRead)
	if err != nil {
		return nil, err
	}
	n, err := NormalizeName(name)
	if err != nil {
		return nil, err
	}
	if !p.InOrg(orgID) {
		return nil, notFound(name)
	}
	o, err := s.store.FindProtocolObject(ctx, kindDomain, keyOf(orgID, n))
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(name)
	}
	if err != nil {
		return nil, fmt.Errorf("find domain: %w", err)
	}
	return decode(o)
}

// List returns the domains of an organization ("" = every one the caller sees), by creation.
func (s *Service) List(ctx context.Context, orgID string) ([]Domain, error) {
	p, err := auth.Require(ctx, auth.PermCertRead)
	if err != nil {
		return nil, err
	}
	if orgID, err = auth.ScopeOrg(ctx, s.store, p, orgID); err != nil {
		return nil, err
	}
	var out []Domain
	if orgID != "" {
		return s.listOrg(ctx, orgID, out)
	}
	cursor := ""
	for {
		objs, next, err := s.store.ExportProtocolObjects(ctx, 500, cursor)
		if err != nil {
			return nil, fmt.Errorf("list domains: %w", err)
		}
		for i := range objs {
			if objs[i].Kind == kindDomain {
				d, err := decode(&objs[i])
				if err != nil {
					return nil, err
				}
				out = append(out, *d)
			}
		}
		if next == "" {
			return out, nil
		}
		cursor = next
	}
}

func (s *Service) listOrg(ctx context.Context, orgID string, out []Domain) ([]Domain, error) {
	cursor := ""
	for {
		objs, next, err := s.store.ListProtocolObjects(ctx, kindDomain, orgID, 500, cursor)
		if err != nil {
			return nil, fmt.Errorf("list domains: %w", err)
		}
		for i := range objs {
			d, err := decode(&objs[i])
			if err != nil {
				return nil, err
			}
			out = append(out, *d)
		}
		if next == "" {
			return out, nil
		}
		cursor = next
	}
}

// CreateInput registers a domain.
type CreateInput struct {
	OrgID       string
	Name        string
	Description string
	Suspended   bool
	Delegations []Delegation
}

// Create registers a domain to an organization. A manager's registration
// is approved at once; a requester's waits for a manager (Approve).
func (s *Service) Create(ctx context.Context, in CreateInput) (*Domain, error) {
	p, err := auth.Require(ctx, auth.PermEnroll)
	if err != nil {
		return nil, err
	}
	if in.OrgID, err = auth.ScopeOrg(ctx, s.store, p, in.OrgID); err != nil {
		return nil, err
	}
	if in.OrgID == "" {
		in.OrgID = store.DefaultOrgID
	}
	if p, err = auth.RequireIn(ctx, auth.PermEnroll, in.OrgID); err != nil {
		return nil, err
	}
	name, err := NormalizeName(in.Name)
	if err != nil {
		return nil, err
	}
	if len(in.Description) > 255 {
		return nil, problem.Invalid("description_too_long", "description is at most 255 characters")
	}
	manager := p.Allows(auth.PermApprove)
	for i := range in.Delegations {
		if err := s.checkTeam(ctx, in.OrgID, in.Delegations[i].TeamID); err != nil {
			return nil, err
		}
		in.Delegations[i].Status = delegationStatus(manager)
	}
	now := s.cfg.Now()
	d := &Domain{OrgID: in.OrgID, Name: name, Description: in.Description, Status: StatusRequested, State: StateActive,
		Delegations: in.Delegations, RequestedBy: p.ID, CreatedAt: now, UpdatedAt: now}
	if d.Delegations == nil {
		d.Delegations = []Delegation{}
	}
	if in.Suspended {
		d.State = StateSuspended
	}
	if manager {
		d.Status, d.ApprovedBy = StatusApproved, p.ID
	}
	for attempt := 0; ; attempt++ {
		d.ID, err = newNumericID()
		if err != nil {
			return nil, err
		}
		err = s.store.Update(ctx, func(tx store.Tx) error {
			data, _ := json.Marshal(d)
			o := &store.ProtocolObject{Kind: kindDomain, ID: d.ID, AccountID: d.OrgID, KeyID: keyOf(d.OrgID, d.Name),
				Status: d.Status, Data: data, CreatedAt: now, UpdatedAt: now}
			if err := tx.InsertProtocolObject(ctx, o); err != nil {
				return err
			}
			tx.AppendAudit(p.Event(now, d.OrgID, "domain.create", "domain", d.ID, map[string]any{"name": d.Name, "status": d.Status}))
			return nil
		})
		if !errors.Is(err, store.ErrDuplicate) {
			break
		}
		// Either the name is taken in this organization or the random id
		// collided; only the first is the caller's problem.
		if _, ferr := s.store.FindProtocolObject(ctx, kindDomain, keyOf(d.OrgID, d.Name)); ferr == nil {
			return nil, problem.Conflict("domain_exists", "domain %s is already registered", d.Name)
		}
		if attempt > 5 {
			return nil, fmt.Errorf("create domain: %w", err)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("create domain: %w", err)
	}
	return d, nil
}

func delegationStatus(manager bool) string {
	if manager {
		return "active"
	}
	return "requested"
}

func (s *Service) checkTeam(ctx context.Context, orgID, teamID string) error {
	t, err := s.store.GetTeam(ctx, teamID)
	if err != nil || t.OrgID != orgID {
		return problem.Violations("team_invalid", "invalid delegation",
			[]problem.Violation{{Field: "delegations.team_id", Code: "team_not_found", Message: fmt.Sprintf("no team %q in the organization", teamID)}})
	}
	return nil
}

// newNumericID is a random positive 31-bit decimal id: numeric APIs need a
// number and the protocol-object table assigns none.
func newNumericID() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1<<31-1000))
	if err != nil {
		return "", fmt.Errorf("domain id: %w", err)
	}
	return n.Add(n, big.NewInt(1000)).String(), nil
}

// change loads a domain the caller may change with perm, applies fn and
// writes it back with an audit event.
func (s *Service) change(ctx context.Context, id string, perm auth.Permission, action string, fn func(p *auth.Principal, d *Domain) error) (*Domain, error) {
	if _, err := auth.Require(ctx, perm); err != nil {
		return nil, err
	}
	o, err := s.store.GetProtocolObject(ctx, kindDomain, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, fmt.Errorf("load domain: %w", err)
	}
	d, err := decode(o)
	if err != nil {
		return nil, err
	}
	p, err := auth.RequireIn(ctx, perm, d.OrgID)
	if err != nil {
		if problem.KindOf(err) == problem.KindForbidden && !auth.PrincipalFrom(ctx).InOrg(d.OrgID) {
			return nil, notFound(id)
		}
		return nil, err
	}
	if err := fn(p, d); err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	d.UpdatedAt = now
	from := o.Status
	err = s.store.Update(ctx, func(tx store.Tx) error {
		o.Data, _ = json.Marshal(d)
		o.Status, o.UpdatedAt = d.Status, now
		if err := tx.UpdateProtocolObject(ctx, o, from); err != nil {
			return err
		}
		tx.AppendAudit(p.Event(now, d.OrgID, action, "domain", d.ID, map[string]any{"name": d.Name}))
		return nil
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, problem.Conflict("domain_changed", "domain %s changed meanwhile; retry", d.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("update domain: %w", err)
	}
	return d, nil
}

// Approve accepts a requested domain registration.
func (s *Service) Approve(ctx context.Context, id string) (*Domain, error) {
	return s.change(ctx, id, auth.PermApprove, "domain.approve", func(p *auth.Principal, d *Domain) error {
		if d.Status != StatusRequested {
			return problem.Conflict("domain_not_requested", "domain %s is not awaiting approval", d.Name)
		}
		d.Status, d.ApprovedBy = StatusApproved, p.ID
		return nil
	})
}

// SetState activates or suspends a domain; a suspended domain certifies nothing.
func (s *Service) SetState(ctx context.Context, id string, active bool) (*Domain, error) {
	action := "domain.suspend"
	if active {
		action = "domain.activate"
	}
	return s.change(ctx, id, auth.PermApprove, action, func(_ *auth.Principal, d *Domain) error {
		d.State = StateSuspended
		if active {
			d.State = StateActive
		}
		return nil
	})
}

// Delegate adds (or replaces) a team's delegation; a requester's waits for approval.
func (s *Service) Delegate(ctx context.Context, id string, del Delegation) (*Domain, error) {
	return s.change(ctx, id, auth.PermEnroll, "domain.delegate", func(p *auth.Principal, d *Domain) error {
		if err := s.checkTeam(ctx, d.OrgID, del.TeamID); err != nil {
			return err
		}
		del.Status = delegationStatus(p.Allows(auth.PermApprove))
		for i := range d.Delegations {
			if d.Delegations[i].TeamID == del.TeamID {
				d.Delegations[i] = del
				return nil
			}
		}
		d.Delegations = append(d.Delegations, del)
		return nil
	})
}

// DecideDelegation approves or rejects (removes) a requested delegation.
func (s *Service) DecideDelegation(ctx context.Context, id, teamID string, approve bool) (*Domain, error) {
	action := "domain.delegation.reject"
	if approve {
		action = "domain.delegation.approve"
	}
	return s.change(ctx, id, auth.PermApprove, action, func(_ *auth.Principal, d *Domain) error {
		for i := range d.Delegations {
			if d.Delegations[i].TeamID != teamID {
				continue
			}
			if d.Delegations[i].Status != "requested" {
				return problem.Conflict("delegation_not_requested", "the delegation of %s to %s is not awaiting approval", d.Name, teamID)
			}
			if approve {
				d.Delegations[i].Status = "active"
			} else {
				d.Delegations = append(d.Delegations[:i], d.Delegations[i+1:]...)
			}
			return nil
		}
		return problem.NotFound("delegation_not_found", "domain %s is not delegated to %s", d.Name, teamID)
	})
}

// RemoveDelegation withdraws a team's delegation.
func (s *Service) RemoveDelegation(ctx context.Context, id, teamID string) (*Domain, error) {
	return s.change(ctx, id, auth.PermApprove, "domain.delegation.remove", func(_ *auth.Principal, d *Domain) error {
		for i := range d.Delegations {
			if d.Delegations[i].TeamID == teamID {
				d.Delegations = append(d.Delegations[:i], d.Delegations[i+1:]...)
				return nil
			}
		}
		return problem.NotFound("delegation_not_found", "domain %s is not delegated to %s", d.Name, teamID)
	})
}

// Delete unregisters a domain.
func (s *Service) Delete(ctx context.Context, id string) error {
	d, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	p, err := auth.RequireIn(ctx, auth.PermApprove, d.OrgID)
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	err = s.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.DeleteProtocolObject(ctx, kindDomain, id); err != nil {
			return err
		}
		tx.AppendAudit(p.Event(now, d.OrgID, "domain.delete", "domain", id, map[string]any{"name": d.Name}))
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return notFound(id)
	}
	if err != nil {
		return fmt.Errorf("delete domain: %w", err)
	}
	return nil
}

// CheckNames implements issuance.DomainChecker: every DNS name must be a
// registered domain of the organization, or under one, that is approved,
// active and validated now. Wildcards count as their base name.
func (s *Service) CheckNames(ctx context.Context, orgID string, dnsNames []string) error {
	now := s.cfg.Now()
	var vs []problem.Violation
	for i, n := range dnsNames {
		ok, err := s.covered(ctx, orgID, n, now)
		if err != nil {
			return err
		}
		if !ok {
			vs = append(vs, problem.Violation{Field: fmt.Sprintf("sans.dns[%d]", i), Code: "domain_not_validated",
				Message: fmt.Sprintf("%s is not under a validated domain of the organization", n)})
		}
	}
	if len(vs) > 0 {
		return problem.Violations("domain_not_validated", fmt.Sprintf("%d DNS name(s) outside the organization's validated domains", len(vs)), vs)
	}
	return nil
}

// covered walks the name's parents ("a.b.example.com", "b.example.com",
// "example.com") looking for a usable domain: one lookup per label.
func (s *Service) covered(ctx context.Context, orgID, name string, now time.Time) (bool, error) {
	n := strings.TrimSuffix(strings.TrimPrefix(strings.ToLower(name), "*."), ".")
	for n != "" {
		o, err := s.store.FindProtocolObject(ctx, kindDomain, keyOf(orgID, n))
		switch {
		case err == nil:
			d, err := decode(o)
			if err != nil {
				return false, err
			}
			if d.Status == StatusApproved && d.State == StateActive && d.ValidationStatus(now) == Validated {
				return true, nil
			}
		case !errors.Is(err, store.ErrNotFound):
			return false, fmt.Errorf("look up domain %s: %w", n, err)
		}
		_, rest, found := strings.Cut(n, ".")
		if !found {
			break
		}
		n = rest
	}
	return false, nil
}
