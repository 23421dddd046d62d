package sqlite

import (
	"context"

	"github.com/signet-pki/signet/internal/store"
)

const agentColumns = `int_id, id, org_id, principal_id, hostname, version, report, first_seen, last_checkin`

func scanAgent(s scanner) (store.Agent, error) {
	var a store.Agent
	var fs, lc int64
	err := s.Scan(&a.IntID, &a.ID, &a.OrgID, &a.PrincipalID, &a.Hostname, &a.Version, &a.Report, &fs, &lc)
	a.FirstSeen, a.LastCheckIn = fromDB(fs), fromDB(lc)
	return a, err
}

// GetAgent returns an organization's agent.
func (r reader) GetAgent(ctx context.Context, orgID, id string) (*store.Agent, error) {
	return getOne(ctx, r, "agents", agentColumns, "agent", scanAgent, "org_id = ? AND id = ?", orgID, id)
}

// ListAgents pages agents by int id.
func (r reader) ListAgents(ctx context.Context, q store.ListQuery) ([]store.Agent, string, error) {
	q.Kind = ""
	return listByID(ctx, r, "agents", agentColumns, q, scanAgent, func(a *store.Agent) int64 { return a.IntID })
}

// UpsertAgent records a check-in.
func (t *txView) UpsertAgent(ctx context.Context, a *store.Agent) error {
	normTime(&a.FirstSeen)
	normTime(&a.LastCheckIn)
	return queryOne(ctx, t.q, func(s scanner) error {
		var fs int64
		if err := s.Scan(&a.IntID, &fs); err != nil {
			return err
		}
		a.FirstSeen = fromDB(fs)
		return nil
	}, `INSERT INTO agents (`+agentColumns[len("int_id, "):]+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (org_id, id) DO UPDATE SET principal_id = excluded.principal_id, hostname = excluded.hostname,
			version = excluded.version, report = excluded.report, last_checkin = excluded.last_checkin
		RETURNING int_id, first_seen`,
		a.ID, a.OrgID, a.PrincipalID, a.Hostname, a.Version, a.Report, toDB(a.FirstSeen), toDB(a.LastCheckIn))
}
