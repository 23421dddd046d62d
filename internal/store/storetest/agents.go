package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

func testAgents(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	a := &store.Agent{ID: "web-1", OrgID: "org_a", PrincipalID: "svc_x", Hostname: "web-1.example", Version: "1",
		Report: []byte(`{"certificates":[]}`), FirstSeen: at(0), LastCheckIn: at(0)}
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.UpsertAgent(ctx, a) })
	again := &store.Agent{ID: "web-1", OrgID: "org_a", PrincipalID: "svc_x", Hostname: "web-1.example", Version: "2",
		Report: []byte(`{"certificates":[1]}`), FirstSeen: at(time.Hour), LastCheckIn: at(time.Hour)}
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.UpsertAgent(ctx, again) })
	if !again.FirstSeen.Equal(at(0)) || again.IntID != a.IntID {
		t.Fatalf("second check-in: %+v", again)
	}
	got, err := s.GetAgent(ctx, "org_a", "web-1")
	noErr(t, "GetAgent", err)
	if got.Version != "2" || !got.LastCheckIn.Equal(at(time.Hour)) || string(got.Report) != `{"certificates":[1]}` {
		t.Fatalf("agent: %+v", got)
	}
	_, err = s.GetAgent(ctx, "org_b", "web-1")
	wantErr(t, "GetAgent other org", err, store.ErrNotFound)
	list, _, err := s.ListAgents(ctx, store.ListQuery{OrgID: "org_a"})
	noErr(t, "ListAgents", err)
	same(t, "agents", ids(list, func(a store.Agent) string { return a.ID }), []string{"web-1"})
}
