package acme

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

// memStore keeps ACME objects in memory with the store's rules (unique
// (kind, id) and (kind, key id), conditional status moves), enough for the
// package's unit tests. Update runs fn on a copy and keeps it only if fn
// succeeds, as the real store's savepoints do.
type memStore struct {
	mu   sync.Mutex
	objs map[[2]string]store.ProtocolObject
}

func newMemStore() *memStore { return &memStore{objs: map[[2]string]store.ProtocolObject{}} }

func (m *memStore) GetProtocolObject(_ context.Context, kind, id string) (*store.ProtocolObject, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objs[[2]string{kind, id}]
	if !ok {
		return nil, store.ErrNotFound
	}
	return &o, nil
}

func (m *memStore) FindProtocolObject(_ context.Context, kind, keyID string) (*store.ProtocolObject, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range m.objs {
		if o.Kind == kind && o.KeyID == keyID && keyID != "" {
			return &o, nil
		}
	}
	return nil, store.ErrNotFound
}

func (m *memStore) ListProtocolObjects(_ context.Context, kind, accountID string, limit int, cursor string) ([]store.ProtocolObject, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.ProtocolObject
	for _, o := range m.objs {
		if o.Kind == kind && o.AccountID == accountID {
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, "", nil
}

func (m *memStore) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	tx := &memTx{objs: map[[2]string]store.ProtocolObject{}}
	for k, v := range m.objs {
		tx.objs[k] = v
	}
	if err := fn(tx); err != nil {
		return err
	}
	m.objs = tx.objs
	return nil
}

// memTx implements the ACME part of store.Tx; anything else panics.
type memTx struct {
	store.Tx
	objs map[[2]string]store.ProtocolObject
}

func (t *memTx) GetProtocolObject(_ context.Context, kind, id string) (*store.ProtocolObject, error) {
	o, ok := t.objs[[2]string{kind, id}]
	if !ok {
		return nil, store.ErrNotFound
	}
	return &o, nil
}

func (t *memTx) InsertProtocolObject(_ context.Context, o *store.ProtocolObject) error {
	if _, ok := t.objs[[2]string{o.Kind, o.ID}]; ok {
		return store.ErrDuplicate
	}
	for _, x := range t.objs {
		if x.Kind == o.Kind && o.KeyID != "" && x.KeyID == o.KeyID {
			return store.ErrDuplicate
		}
	}
	t.objs[[2]string{o.Kind, o.ID}] = *o
	return nil
}

func (t *memTx) UpdateProtocolObject(_ context.Context, o *store.ProtocolObject, from string) error {
	cur, ok := t.objs[[2]string{o.Kind, o.ID}]
	if !ok {
		return store.ErrNotFound
	}
	if cur.Status != from {
		return store.ErrConflict
	}
	t.objs[[2]string{o.Kind, o.ID}] = *o
	return nil
}

func (t *memTx) DeleteProtocolObject(_ context.Context, kind, id string) error {
	if _, ok := t.objs[[2]string{kind, id}]; !ok {
		return store.ErrNotFound
	}
	delete(t.objs, [2]string{kind, id})
	return nil
}

func (t *memTx) DeleteExpiredProtocolObjects(_ context.Context, kind string, at time.Time) (int64, error) {
	var n int64
	for k, o := range t.objs {
		if o.Kind == kind && o.ExpiresAt != nil && o.ExpiresAt.Before(at) {
			delete(t.objs, k)
			n++
		}
	}
	return n, nil
}

func (t *memTx) AppendAudit(store.AuditEvent) {}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
