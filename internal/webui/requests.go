package webui

import (
	"cmp"
	"context"
	"net/http"
	"slices"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/store"
)

// openStatuses are the request states a requester follows on the requests
// page. An issued request is its certificate, which the inventory lists.
var openStatuses = []string{store.RequestPending, store.RequestPendingUpstream, store.RequestApproved,
	store.RequestRejected, store.RequestFailed}

// Bounds of the requests page: requests are stored oldest first and every
// issuance is one, so the page reads the (small, indexed) sets of each open
// status rather than every request, and at most requestScan of each.
const (
	requestScan  = 20_000
	requestsShow = 200
)

type requestsView struct {
	Items     []store.Request
	Profiles  map[string]string
	Names     map[string]string // requester ids -> names (all requests)
	Mine      bool
	CanAll    bool
	Self      string
	Truncated bool
}

// requests lists the caller's open and refused requests, newest first;
// approvers may list everyone's (?all=1).
func (u *UI) requests(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p := principal(ctx)
	all := r.URL.Query().Get("all") == "1" && p.Allows(auth.PermApprove)
	v := requestsView{Mine: !all, CanAll: p.Allows(auth.PermApprove), Self: p.ID}
	keep := func(rq *store.Request) bool { return all || rq.RequesterID == p.ID }
	for _, st := range openStatuses {
		items, more, err := u.scanRequests(ctx, st, keep)
		if err != nil {
			return err
		}
		v.Items, v.Truncated = append(v.Items, items...), v.Truncated || more
	}
	slices.SortFunc(v.Items, func(a, b store.Request) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(b.IntID, a.IntID))
	})
	if len(v.Items) > requestsShow {
		v.Items, v.Truncated = v.Items[:requestsShow], true
	}
	if all {
		ids := make([]string, 0, len(v.Items))
		for i := range v.Items {
			ids = append(ids, v.Items[i].RequesterID)
		}
		v.Names = u.names(ctx, ids...)
	}
	var err error
	if v.Profiles, _, err = u.profileNames(r); err != nil {
		return err
	}
	title := "My requests"
	if all {
		title = "All open requests"
	}
	return u.render(w, r, http.StatusOK, "requests", title, v)
}

// scanRequests reads the requests of one status (at most requestScan) and
// keeps those keep accepts; more reports that it stopped early.
func (u *UI) scanRequests(ctx context.Context, status string, keep func(*store.Request) bool) (out []store.Request, more bool, err error) {
	cursor := ""
	for read := 0; read < requestScan; {
		items, next, err := u.d.Issuance.ListRequests(ctx, store.ListQuery{Status: status, Limit: 1000, Cursor: cursor})
		if err != nil {
			return nil, false, err
		}
		read += len(items)
		for i := range items {
			if keep(&items[i]) {
				out = append(out, items[i])
			}
		}
		if next == "" {
			return out, false, nil
		}
		cursor = next
	}
	return out, true, nil
}
