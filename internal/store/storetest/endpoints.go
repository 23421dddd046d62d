package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

func testEndpoints(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	e := &store.Endpoint{ID: "ep_1", OrgID: "org_a", Host: "10.0.0.1", Port: 443, CertSHA256: "aa", Grade: "A",
		Rating: []byte(`{"grade":"A"}`), FirstSeen: at(0), LastSeen: at(0), LastScan: at(0)}
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.UpsertEndpoint(ctx, e) })
	again := &store.Endpoint{ID: "ep_new", OrgID: "org_a", Host: "10.0.0.1", Port: 443, Grade: "F", Error: "refused",
		FirstSeen: at(time.Hour), LastScan: at(time.Hour)}
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.UpsertEndpoint(ctx, again) })
	if again.ID != "ep_1" || !again.FirstSeen.Equal(at(0)) || !again.LastSeen.Equal(at(0)) {
		t.Fatalf("second scan of the same endpoint: %+v", again)
	}
	got, err := s.GetEndpoint(ctx, "ep_1")
	noErr(t, "GetEndpoint", err)
	if got.Grade != "F" || got.Error != "refused" || !got.LastScan.Equal(at(time.Hour)) || !got.LastSeen.Equal(at(0)) {
		t.Fatalf("endpoint after a failed rescan: %+v", got)
	}
	other := &store.Endpoint{ID: "ep_2", OrgID: "org_b", Host: "10.0.0.1", Port: 443, CertSHA256: "aa", Grade: "A",
		FirstSeen: at(0), LastSeen: at(0), LastScan: at(0)}
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.UpsertEndpoint(ctx, other) })
	list, _, err := s.ListEndpoints(ctx, store.EndpointQuery{CertSHA256: "aa"})
	noErr(t, "ListEndpoints", err)
	same(t, "endpoints serving aa", ids(list, func(e store.Endpoint) string { return e.ID }), []string{"ep_1", "ep_2"})
	list, _, err = s.ListEndpoints(ctx, store.EndpointQuery{OrgID: "org_a"})
	noErr(t, "ListEndpoints org", err)
	same(t, "endpoints of org_a", ids(list, func(e store.Endpoint) string { return e.ID }), []string{"ep_1"})
}
