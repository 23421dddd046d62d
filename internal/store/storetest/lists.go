package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/signet-pki/signet/internal/store"
)

// lister adapts one List* method to a common shape: ids of a page, next cursor.
type lister func(ctx context.Context, q store.ListQuery) ([]string, string, error)

func listOf[T any](list func(context.Context, store.ListQuery) ([]T, string, error), id func(T) string) lister {
	return func(ctx context.Context, q store.ListQuery) ([]string, string, error) {
		items, next, err := list(ctx, q)
		return ids(items, id), next, err
	}
}

// walk follows cursors to the end, failing on a page larger than the limit.
func walk(t *testing.T, l lister, q store.ListQuery) []string {
	t.Helper()
	ctx := ctxT(t)
	var all []string
	for page := 0; ; page++ {
		got, next, err := l(ctx, q)
		noErr(t, "list", err)
		if len(got) > q.Limit {
			t.Fatalf("page of %d items with limit %d", len(got), q.Limit)
		}
		all = append(all, got...)
		if next == "" {
			return all
		}
		if page > 1000 {
			t.Fatal("pagination does not end")
		}
		q.Cursor = next
	}
}

func testListPagination(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	_, _, p := seedCatalog(t, s)
	const n = 7
	var want struct{ cas, tpls, profs, reqs, pending, keys []string }
	want.cas, want.tpls, want.profs = []string{"ca_test1"}, []string{"tpl_test1"}, []string{p.ID}
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		for i := 2; i < 2+n; i++ {
			ca, tpl := newCA(i), newTemplate(i)
			prof := newProfile(i, tpl.ID, ca.ID)
			r := newRequest(i, p.ID)
			if i%2 == 0 {
				r.Status = store.RequestRejected
			} else {
				want.pending = append(want.pending, r.ID)
			}
			k := newAPIKey(i)
			for _, err := range []error{tx.InsertCA(ctx, ca), tx.InsertTemplate(ctx, tpl), tx.InsertProfile(ctx, prof),
				tx.InsertRequest(ctx, r), tx.InsertAPIKey(ctx, k)} {
				if err != nil {
					return err
				}
			}
			want.cas, want.tpls, want.profs = append(want.cas, ca.ID), append(want.tpls, tpl.ID), append(want.profs, prof.ID)
			want.reqs, want.keys = append(want.reqs, r.ID), append(want.keys, k.ID)
		}
		return nil
	})
	listers := []struct {
		name string
		l    lister
		q    store.ListQuery
		want []string
	}{
		{"CAs", listOf(s.ListCAs, func(c store.CA) string { return c.ID }), store.ListQuery{}, want.cas},
		{"templates", listOf(s.ListTemplates, func(c store.Template) string { return c.ID }), store.ListQuery{}, want.tpls},
		{"profiles", listOf(s.ListProfiles, func(c store.Profile) string { return c.ID }), store.ListQuery{}, want.profs},
		{"requests", listOf(s.ListRequests, func(c store.Request) string { return c.ID }), store.ListQuery{}, want.reqs},
		{"pending requests of profile", listOf(s.ListRequests, func(c store.Request) string { return c.ID }),
			store.ListQuery{Status: store.RequestPending, ProfileID: p.ID}, want.pending},
		{"requests of another profile", listOf(s.ListRequests, func(c store.Request) string { return c.ID }),
			store.ListQuery{ProfileID: "prof_other"}, nil},
		{"API keys", listOf(s.ListAPIKeys, func(c store.APIKey) string { return c.ID }), store.ListQuery{}, want.keys},
	}
	for _, tc := range listers {
		for _, limit := range []int{1, 3, n + 1, 1000} {
			t.Run(fmt.Sprintf("%s/limit=%d", tc.name, limit), func(t *testing.T) {
				q := tc.q
				q.Limit = limit
				same(t, "ids", walk(t, tc.l, q), tc.want)
			})
		}
		_, _, err := tc.l(ctx, store.ListQuery{Cursor: "!!not a cursor"})
		wantErr(t, tc.name+" with a malformed cursor", err, store.ErrBadCursor)
	}
}
