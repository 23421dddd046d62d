package upstream

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"time"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// Store is the persistence connectors need. Every write goes through Update.
type Store interface {
	GetProtocolObject(ctx context.Context, kind, id string) (*store.ProtocolObject, error)
	FindProtocolObject(ctx context.Context, kind, keyID string) (*store.ProtocolObject, error)
	ListProtocolObjects(ctx context.Context, kind, accountID string, limit int, cursor string) ([]store.ProtocolObject, string, error)
	auth.OrgLookup
	Update(ctx context.Context, fn func(tx store.Tx) error) error
}

// Sealer encrypts credentials at rest (keystore.Sealer).
type Sealer interface {
	SealSecret(secret []byte, id string) ([]byte, error)
	OpenSecret(sealed []byte, id string) ([]byte, error)
}

// Deps are the service's collaborators.
type Deps struct {
	Store  Store
	Sealer Sealer
	Now    func() time.Time
	Log    *slog.Logger
	// HTTPClient is the base client for upstream calls (timeouts, proxies);
	// connectors add their own trust roots. Nil: a client with a 30 s timeout.
	HTTPClient *http.Client
}

// Service manages connectors and makes the calls issuance needs.
type Service struct {
	d      Deps
	http01 *http01Pool    // ACME http-01 answers on configured listeners
	stored *storedAnswers // ACME http-01 answers on Signet's own listener
}

// New returns the connector service.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.HTTPClient == nil {
		d.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	return &Service{d: d, http01: newHTTP01Pool(), stored: &storedAnswers{st: d.Store, now: d.Now}}
}

// Input creates or changes a connector. On update, empty Type keeps the
// type, nil Config keeps the configuration and nil Secrets keeps the secrets
// (secrets are write-only: they are never returned).
type Input struct {
	Name    string            `json:"name"`
	Org     string            `json:"org,omitempty"` // id or name, on creation; default: the caller's
	Type    string            `json:"type"`
	Status  string            `json:"status,omitempty"`
	Config  map[string]any    `json:"config"`
	Secrets map[string]string `json:"secrets,omitempty"`
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// maxSecret bounds each credential: keys and tokens are small.
const maxSecret = 16 << 10

func validate(in *Input, creating bool) error {
	var vs []problem.Violation
	add := func(field, code, msg string) {
		vs = append(vs, problem.Violation{Field: field, Code: code, Message: msg})
	}
	if !nameRE.MatchString(in.Name) {
		add("name", "invalid", "name must be 1-63 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	if creating || in.Type != "" {
		if !slices.Contains(Types, in.Type) {
			add("type", "invalid", fmt.Sprintf("type must be one of %v", Types))
		}
	}
	if in.Status != "" && in.Status != StatusActive && in.Status != StatusDisabled {
		add("status", "invalid", "status must be active or disabled")
	}
	for k, v := range in.Secrets {
		if len(v) > maxSecret {
			add("secrets."+k, "too_large", "a secret is limited to 16 KiB")
		}
	}
	if len(vs) > 0 {
		return problem.Violations("connector_invalid", "the connector is invalid", vs)
	}
	return nil
}

// Create validates, seals and stores a connector, checking that its
// settings build a working client (nothing is sent upstream).
func (s *Service) Create(ctx context.Context, in Input) (*Connector, error) {
	caller, err := auth.Require(ctx, auth.PermCAManage)
	if err != nil {
		return nil, err
	}
	if err := validate(&in, true); err != nil {
		return nil, err
	}
	orgID, err := auth.TargetOrg(ctx, s.d.Store, caller, in.Org)
	if err != nil {
		return nil, err
	}
	now := s.d.Now().UTC()
	rec := &record{Connector: Connector{ID: store.NewID("upc"), OrgID: orgID, Name: in.Name, Type: in.Type,
		Status: cmp.Or(in.Status, StatusActive), Config: in.Config, CreatedAt: now, UpdatedAt: now}}
	if in.Type == TypeACME && in.Secrets["account_key"] == "" {
		// Each ACME connector is its own account, with a key nobody needs to handle.
		if in.Secrets == nil {
			in.Secrets = map[string]string{}
		}
		if in.Secrets["account_key"], err = newAccountKey(); err != nil {
			return nil, err
		}
	}
	if err := s.setSecrets(rec, in.Secrets); err != nil {
		return nil, err
	}
	if _, err := s.build(rec, in.Secrets); err != nil {
		return nil, err
	}
	err = s.d.Store.Update(ctx, func(tx store.Tx) error {
		o, err := rec.object()
		if err != nil {
			return err
		}
		if err := tx.InsertProtocolObject(ctx, o); err != nil {
			if errors.Is(err, store.ErrDuplicate) {
				return problem.Conflict("connector_exists", "a connector named %q already exists", in.Name)
			}
			return fmt.Errorf("insert connector: %w", err)
		}
		tx.AppendAudit(caller.Event(now, orgID, "connector.create", "connector", rec.ID,
			map[string]any{"name": rec.Name, "type": rec.Type, "secrets": rec.Secrets}))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &rec.Connector, nil
}

// setSecrets seals secrets under the connector's id and records their names.
func (s *Service) setSecrets(rec *record, secrets map[string]string) error {
	names := make([]string, 0, len(secrets))
	for k := range secrets {
		names = append(names, k)
	}
	sort.Strings(names)
	rec.Secrets = names
	if len(secrets) == 0 {
		rec.Sealed = nil
		return nil
	}
	b, err := json.Marshal(secrets)
	if err != nil {
		return fmt.Errorf("encode secrets: %w", err)
	}
	if rec.Sealed, err = s.d.Sealer.SealSecret(b, rec.ID); err != nil {
		return fmt.Errorf("seal connector secrets: %w", err)
	}
	return nil
}

func (s *Service) openSecrets(rec *record) (map[string]string, error) {
	if len(rec.Sealed) == 0 {
		return map[string]string{}, nil
	}
	b, err := s.d.Sealer.OpenSecret(rec.Sealed, rec.ID)
	if err != nil {
		return nil, fmt.Errorf("open secrets of connector %s: %w", rec.ID, err)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decode secrets of connector %s: %w", rec.ID, err)
	}
	return m, nil
}

func (r *record) object() (*store.ProtocolObject, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode connector: %w", err)
	}
	return &store.ProtocolObject{Kind: KindConnector, ID: r.ID, AccountID: r.OrgID, KeyID: r.Name, Status: r.Status,
		Data: b, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}, nil
}

func decodeRecord(o *store.ProtocolObject) (*record, error) {
	var r record
	if err := json.Unmarshal(o.Data, &r); err != nil {
		return nil, fmt.Errorf("decode connector %s: %w", o.ID, err)
	}
	return &r, nil
}

type objectReader interface {
	GetProtocolObject(ctx context.Context, kind, id string) (*store.ProtocolObject, error)
	FindProtocolObject(ctx context.Context, kind, keyID string) (*store.ProtocolObject, error)
}

// load finds a connector by id or name.
func load(ctx context.Context, r objectReader, ref string) (*record, error) {
	o, err := r.GetProtocolObject(ctx, KindConnector, ref)
	if errors.Is(err, store.ErrNotFound) {
		o, err = r.FindProtocolObject(ctx, KindConnector, ref)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, problem.NotFound("connector_not_found", "no connector %q", ref)
	}
	if err != nil {
		return nil, fmt.Errorf("load connector %s: %w", ref, err)
	}
	return decodeRecord(o)
}

// Get returns a connector by id or name.
func (s *Service) Get(ctx context.Context, ref string) (*Connector, error) {
	if _, err := auth.Require(ctx, auth.PermCARead); err != nil {
		return nil, err
	}
	rec, err := load(ctx, s.d.Store, ref)
	if err != nil {
		return nil, err
	}
	if _, err := auth.RequireIn(ctx, auth.PermCARead, rec.OrgID); err != nil {
		return nil, problem.NotFound("connector_not_found", "no connector %q", ref)
	}
	return &rec.Connector, nil
}

// List pages the connectors of the caller's organization (or org, for global admins).
func (s *Service) List(ctx context.Context, org string, limit int, cursor string) ([]Connector, string, error) {
	p, err := auth.Require(ctx, auth.PermCARead)
	if err != nil {
		return nil, "", err
	}
	orgID, err := auth.TargetOrg(ctx, s.d.Store, p, org)
	if err != nil {
		return nil, "", err
	}
	objs, next, err := s.d.Store.ListProtocolObjects(ctx, KindConnector, orgID, min(max(limit, 1), 200), cursor)
	if err != nil {
		if errors.Is(err, store.ErrBadCursor) {
			return nil, "", problem.Invalid("cursor_invalid", "the cursor is malformed")
		}
		return nil, "", fmt.Errorf("list connectors: %w", err)
	}
	out := make([]Connector, 0, len(objs))
	for i := range objs {
		r, err := decodeRecord(&objs[i])
		if err != nil {
			return nil, "", err
		}
		out = append(out, r.Connector)
	}
	return out, next, nil
}

// Update changes a connector's name, status, configuration or secrets.
func (s *Service) Update(ctx context.Context, ref string, in Input) (*Connector, error) {
	if _, err := auth.Require(ctx, auth.PermCAManage); err != nil {
		return nil, err
	}
	var out *Connector
	err := s.d.Store.Update(ctx, func(tx store.Tx) error {
		rec, err := load(ctx, tx, ref)
		if err != nil {
			return err
		}
		caller, err := auth.RequireIn(ctx, auth.PermCAManage, rec.OrgID)
		if err != nil {
			return err
		}
		from := rec.Status
		in.Name = cmp.Or(in.Name, rec.Name)
		if err := validate(&in, false); err != nil {
			return err
		}
		if in.Type != "" && in.Type != rec.Type {
			return problem.Invalid("connector_type_fixed", "a connector's type cannot change; create another connector")
		}
		rec.Name, rec.Status = in.Name, cmp.Or(in.Status, rec.Status)
		if in.Config != nil {
			rec.Config = in.Config
		}
		secrets, err := s.openSecrets(rec)
		if err != nil {
			return err
		}
		if in.Secrets != nil {
			if rec.Type == TypeACME && in.Secrets["account_key"] == "" && secrets["account_key"] != "" {
				in.Secrets["account_key"] = secrets["account_key"] // the account stays the same
			}
			secrets = in.Secrets
			if err := s.setSecrets(rec, secrets); err != nil {
				return err
			}
		}
		if _, err := s.build(rec, secrets); err != nil {
			return err
		}
		rec.UpdatedAt = s.d.Now().UTC()
		o, err := rec.object()
		if err != nil {
			return err
		}
		if err := tx.UpdateProtocolObject(ctx, o, from); err != nil {
			if errors.Is(err, store.ErrDuplicate) {
				return problem.Conflict("connector_exists", "a connector named %q already exists", in.Name)
			}
			if errors.Is(err, store.ErrConflict) {
				return problem.Conflict("connector_changed", "connector %s changed concurrently; retry", rec.ID)
			}
			return fmt.Errorf("update connector: %w", err)
		}
		tx.AppendAudit(caller.Event(rec.UpdatedAt, rec.OrgID, "connector.update", "connector", rec.ID,
			map[string]any{"name": rec.Name, "status": rec.Status, "secrets_changed": in.Secrets != nil}))
		out = &rec.Connector
		return nil
	})
	return out, err
}

// Delete removes a connector no profile uses (disable it to stop new
// requests while its profiles still point at it).
func (s *Service) Delete(ctx context.Context, ref string) error {
	if _, err := auth.Require(ctx, auth.PermCAManage); err != nil {
		return err
	}
	return s.d.Store.Update(ctx, func(tx store.Tx) error {
		rec, err := load(ctx, tx, ref)
		if err != nil {
			return err
		}
		caller, err := auth.RequireIn(ctx, auth.PermCAManage, rec.OrgID)
		if err != nil {
			return err
		}
		if name, err := profileUsing(ctx, tx, rec); err != nil || name != "" {
			if err != nil {
				return err
			}
			return problem.Conflict("connector_in_use", "connector %s is used by profile %s; disable it instead", rec.Name, name)
		}
		if err := tx.DeleteProtocolObject(ctx, KindConnector, rec.ID); err != nil {
			return fmt.Errorf("delete connector: %w", err)
		}
		tx.AppendAudit(caller.Event(s.d.Now().UTC(), rec.OrgID, "connector.delete", "connector", rec.ID, map[string]any{"name": rec.Name}))
		return nil
	})
}

// profileUsing names a profile of the connector's organization that uses it ("" if none).
func profileUsing(ctx context.Context, tx store.Tx, rec *record) (string, error) {
	cursor := ""
	for {
		ps, next, err := tx.ListProfiles(ctx, store.ListQuery{OrgID: rec.OrgID, Limit: 500, Cursor: cursor})
		if err != nil {
			return "", fmt.Errorf("list profiles: %w", err)
		}
		for _, p := range ps {
			if p.ConnectorID == rec.ID {
				return p.Name, nil
			}
		}
		if next == "" {
			return "", nil
		}
		cursor = next
	}
}

// build makes the type's client from a record and its opened secrets.
func (s *Service) build(rec *record, secrets map[string]string) (Issuer, error) {
	switch rec.Type {
	case TypeStepCA:
		return newStepCA(rec.Config, secrets, s.d.HTTPClient, s.d.Now)
	case TypeACME:
		return newACME(rec.Config, secrets, s.d.HTTPClient, s.http01, s.stored)
	case TypeDigiCert:
		return newDigiCert(rec.Config, secrets, s.d.HTTPClient)
	case TypeSectigo:
		return newSectigo(rec.Config, secrets, s.d.HTTPClient)
	default:
		return nil, problem.Invalid("connector_type_unknown", "unknown connector type %q", rec.Type)
	}
}
