package postgres

import (
	"context"

	"github.com/signet-pki/signet/internal/store"
)

// Renewal agents, as they last reported themselves.

const agentColumns = `int_id, id, org_id, principal_id, hostname, version, report, first_seen, last_checkin`

func scanAgent(s scanner) (store.Agent, error) {
	var a store.Agent
	err := s.Scan(&a.IntID, &a.ID, &a.OrgID, &a.PrincipalID, &a.Hostname, &a.Version, &a.Report, &a.FirstSeen, &a.LastCheckIn)
	return a, err
}

// GetAgent returns an organization's agent.
func (r reader) GetAgent(ctx context.Context, orgID, id string) (*store.Agent, error) {
	return getOne(ctx, r, "agents", agentColumns, "agent", scanAgent, "org_id = $1 AND id = $2", orgID, id)
}

// ListAgents pages agents by int id, optionally of one organization.
func (r reader) ListAgents(ctx context.Context, q store.ListQuery) ([]store.Agent, string, error) {
	return listByID(ctx, r, "agents", agentColumns, listFilter{org: q.OrgID}, q, scanAgent,
		func(a *store.Agent) int64 { return a.IntID })
}

// UpsertAgent records a check-in; an agent seen before keeps its FirstSeen
// (and IntID), which are set back into a.
func (t *txView) UpsertAgent(ctx context.Context, a *store.Agent) error {
	normTime(&a.FirstSeen)
	normTime(&a.LastCheckIn)
	_, err := t.b.writeRow(ctx, []any{&a.IntID, &a.FirstSeen}, `INSERT INTO agents (id, org_id, principal_id, hostname,
		version, report, first_seen, last_checkin) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (org_id, id) DO UPDATE SET principal_id = excluded.principal_id, hostname = excluded.hostname,
			version = excluded.version, report = excluded.report, last_checkin = excluded.last_checkin
		RETURNING int_id, first_seen`,
		a.ID, a.OrgID, a.PrincipalID, a.Hostname, a.Version, nonNil(a.Report), a.FirstSeen, a.LastCheckIn)
	return mapErr(err, "upsert agent "+a.ID)
}
