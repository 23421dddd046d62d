package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

func testProtocolObjects(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	acct := &store.ProtocolObject{Kind: "account", ID: "acct1", KeyID: "thumb1", Status: "valid", Data: []byte(`{"contact":[]}`),
		CreatedAt: at(0), UpdatedAt: at(0)}
	var orders []*store.ProtocolObject
	for i := range 5 {
		orders = append(orders, &store.ProtocolObject{Kind: "order", ID: fmt.Sprintf("ord%d", i), AccountID: "acct1", Status: "pending",
			Data: []byte(`{}`), ExpiresAt: ptr(at(time.Duration(i) * time.Hour)), CreatedAt: at(time.Duration(i) * time.Second),
			UpdatedAt: at(time.Duration(i) * time.Second)})
	}
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.InsertProtocolObject(ctx, acct); err != nil {
			return err
		}
		for _, o := range orders {
			if err := tx.InsertProtocolObject(ctx, o); err != nil {
				return err
			}
		}
		return nil
	})
	got, err := s.FindProtocolObject(ctx, "account", "thumb1")
	noErr(t, "FindProtocolObject", err)
	same(t, "account", got, acct)
	_, err = s.FindProtocolObject(ctx, "account", "thumb-missing")
	wantErr(t, "FindProtocolObject missing", err, store.ErrNotFound)
	wantErr(t, "same key id", s.Update(ctx, func(tx store.Tx) error {
		return tx.InsertProtocolObject(ctx, &store.ProtocolObject{Kind: "account", ID: "acct2", KeyID: "thumb1", Status: "valid", Data: []byte(`{}`)})
	}), store.ErrDuplicate)
	wantErr(t, "same id", s.Update(ctx, func(tx store.Tx) error {
		return tx.InsertProtocolObject(ctx, &store.ProtocolObject{Kind: "order", ID: "ord1", Status: "pending", Data: []byte(`{}`)})
	}), store.ErrDuplicate)

	var ids []string
	cursor := ""
	for {
		page, next, err := s.ListProtocolObjects(ctx, "order", "acct1", 2, cursor)
		noErr(t, "ListProtocolObjects", err)
		for _, o := range page {
			ids = append(ids, o.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	same(t, "order ids", ids, []string{"ord0", "ord1", "ord2", "ord3", "ord4"})

	// Export walks every kind in (kind, id) order, page by page.
	var all []string
	cursor = ""
	for {
		page, next, err := s.ExportProtocolObjects(ctx, 2, cursor)
		noErr(t, "ExportProtocolObjects", err)
		for _, o := range page {
			all = append(all, o.Kind+"/"+o.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	same(t, "exported objects", all, []string{"account/acct1", "order/ord0", "order/ord1", "order/ord2", "order/ord3", "order/ord4"})
	_, _, err = s.ExportProtocolObjects(ctx, 2, "no separator")
	wantErr(t, "ExportProtocolObjects bad cursor", err, store.ErrBadCursor)

	o := *orders[2]
	o.Status, o.Data = "ready", []byte(`{"x":1}`)
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.UpdateProtocolObject(ctx, &o, "pending") })
	wantErr(t, "update from stale status", s.Update(ctx, func(tx store.Tx) error { return tx.UpdateProtocolObject(ctx, &o, "pending") }), store.ErrConflict)
	missing := store.ProtocolObject{Kind: "order", ID: "nope", Status: "x", Data: []byte(`{}`)}
	wantErr(t, "update missing", s.Update(ctx, func(tx store.Tx) error { return tx.UpdateProtocolObject(ctx, &missing, "pending") }), store.ErrNotFound)
	back, err := s.GetProtocolObject(ctx, "order", "ord2")
	noErr(t, "GetProtocolObject", err)
	if back.Status != "ready" || string(back.Data) != `{"x":1}` {
		t.Fatalf("updated order: %+v", back)
	}

	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteProtocolObject(ctx, "order", "ord0") })
	wantErr(t, "delete twice", s.Update(ctx, func(tx store.Tx) error { return tx.DeleteProtocolObject(ctx, "order", "ord0") }), store.ErrNotFound)
	var n int64
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		var err error
		n, err = tx.DeleteExpiredProtocolObjects(ctx, "order", at(150*time.Minute))
		return err
	})
	if n != 2 { // ord1 (1 h) and ord2 (2 h); ord0 is gone already
		t.Fatalf("deleted %d expired orders, want 2", n)
	}
}
