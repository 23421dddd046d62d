// Package agent is Signet's renewal agent: a Runner that lives on a host,
// owns certificate and key files, renews them ahead of expiry (or at once
// after a revocation) and reloads the service using them; and the server's
// Registry of agents' check-ins, so an operator sees every agent and every
// certificate it manages.
package agent

import (
	"context"
	"encoding/json"
	"regexp"
	"time"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// RegistryStore is what the registry persists through.
type RegistryStore interface {
	ListAgents(ctx context.Context, q store.ListQuery) ([]store.Agent, string, error)
	Update(ctx context.Context, fn func(tx store.Tx) error) error
	auth.OrgLookup // a ?org= given by id or name
}

// Registry records agents' check-ins.
type Registry struct {
	store RegistryStore
	now   func() time.Time
}

// NewRegistry returns the registry.
func NewRegistry(s RegistryStore, now func() time.Time) *Registry {
	return &Registry{store: s, now: now}
}

// Report is what an agent sends at each check-in.
type Report struct {
	ID           string        `json:"id"`
	Hostname     string        `json:"hostname"`
	Version      string        `json:"version"`
	Certificates []CertStatus  `json:"certificates"`
	Interval     time.Duration `json:"interval_ns,omitempty"`
}

// CertStatus is one managed certificate as the agent sees it.
type CertStatus struct {
	Name      string    `json:"name"`
	Path      string    `json:"path"`
	Serial    string    `json:"serial,omitempty"`
	NotAfter  time.Time `json:"not_after,omitzero"`
	RenewedAt time.Time `json:"renewed_at,omitzero"`
	State     string    `json:"state"` // ok | renewed | pending (a request awaits approval or an external CA) | failed | missing
	Error     string    `json:"error,omitempty"`
}

var agentID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// CheckIn stores an agent's report under the caller's organization.
func (r *Registry) CheckIn(ctx context.Context, rep Report) (*store.Agent, error) {
	p, err := auth.Require(ctx, auth.PermEnroll)
	if err != nil {
		return nil, err
	}
	if !agentID.MatchString(rep.ID) || len(rep.Hostname) > 255 || len(rep.Certificates) > 1000 {
		return nil, problem.Invalid("agent_report_invalid", "an agent id (letters, digits, . _ -), a host name and at most 1000 certificates are required")
	}
	body, _ := json.Marshal(rep)
	now := r.now()
	orgID := p.OrgID
	if orgID == "" {
		orgID = store.DefaultOrgID
	}
	a := &store.Agent{ID: rep.ID, OrgID: orgID, PrincipalID: p.ID, Hostname: rep.Hostname, Version: rep.Version, Report: body,
		FirstSeen: now, LastCheckIn: now}
	err = r.store.Update(ctx, func(tx store.Tx) error { return tx.UpsertAgent(ctx, a) })
	return a, err
}

// List returns the agents of the caller's organization.
func (r *Registry) List(ctx context.Context, q store.ListQuery) ([]store.Agent, string, error) {
	p, err := auth.Require(ctx, auth.PermCertRead)
	if err != nil {
		return nil, "", err
	}
	if q.OrgID, err = auth.ScopeOrg(ctx, r.store, p, q.OrgID); err != nil {
		return nil, "", err
	}
	return r.store.ListAgents(ctx, q)
}
