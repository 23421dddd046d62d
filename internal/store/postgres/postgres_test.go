package postgres

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signet-pki/signet/internal/store"
	"github.com/signet-pki/signet/internal/store/storetest"
)

// openAt opens a store on url, closed when the test ends (before the
// database is dropped: cleanups run last registered first).
func openAt(t *testing.T, url string, opts Options) *Store {
	t.Helper()
	if opts.MaxConns == 0 {
		opts.MaxConns = 4 // the suite opens many stores; the server allows 100 connections
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	s, err := Open(context.Background(), url, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openAt(t, NewTestDatabase(t), Options{}) })
}

// TestConformanceIndexWalks runs the suite with every filter judged
// unselective (a probe limit of 1, which also scales the NotAfter range
// bound down to 75, below the fixture's size), so that searches take the
// sort-index walks a large inventory uses, not only the gathering plans
// small data gets; and as on a server without pg_trgm, where substring
// search has no index. (Filters are the same SQL in either plan, so the
// two variations need not be crossed.)
func TestConformanceIndexWalks(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s := openAt(t, NewTestDatabase(t), Options{})
		s.reader.probeLimit = 1
		s.reader.trigram, s.w.trigram = false, false
		return s
	})
}

func TestReopen(t *testing.T) {
	storetest.RunReopen(t, func(t *testing.T) (store.Store, func(t *testing.T) store.Store) {
		url := NewTestDatabase(t)
		return openAt(t, url, Options{}), func(t *testing.T) store.Store { return openAt(t, url, Options{}) }
	})
}

// TestConcurrentOpen starts several nodes on a fresh database at once: the
// advisory lock lets one migrate while the others wait, and all then work.
func TestConcurrentOpen(t *testing.T) {
	url := NewTestDatabase(t)
	const nodes = 5
	stores := make([]*Store, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() {
			stores[i], errs[i] = Open(context.Background(), url, Options{MaxConns: 2})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: Open: %v", i, err)
		}
		t.Cleanup(func() { _ = stores[i].Close() })
	}
	ctx := context.Background()
	for i, s := range stores {
		if err := s.Ready(ctx); err != nil {
			t.Errorf("node %d not ready: %v", i, err)
		}
	}
	conn := adminConn(t, url)
	var n, distinct int
	if err := conn.QueryRow(ctx, `SELECT count(*), count(DISTINCT name) FROM schema_migrations`).Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	if n != distinct || n == 0 {
		t.Errorf("schema_migrations holds %d rows for %d migrations", n, distinct)
	}
}

// TestUnknownMigration: a database migrated by a newer Signet is refused.
func TestUnknownMigration(t *testing.T) {
	url := NewTestDatabase(t)
	openAt(t, url, Options{}).Close()
	conn := adminConn(t, url)
	if _, err := conn.Exec(context.Background(), `INSERT INTO schema_migrations VALUES ('9999_future.sql', now())`); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(context.Background(), url, Options{}); err == nil {
		s.Close()
		t.Fatal("Open accepted a database with an unknown migration")
	}
}

// TestAuditAppendOnly: the database itself refuses to change audit rows.
func TestAuditAppendOnly(t *testing.T) {
	url := NewTestDatabase(t)
	s := openAt(t, url, Options{})
	ctx := context.Background()
	if err := s.Update(ctx, func(tx store.Tx) error {
		tx.AppendAudit(store.AuditEvent{Action: "ca.create", Outcome: "success"})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	conn := adminConn(t, url)
	for _, sql := range []string{`UPDATE audit_events SET principal = 'mallory'`, `DELETE FROM audit_events`,
		`TRUNCATE audit_events`} {
		if _, err := conn.Exec(ctx, sql); err == nil {
			t.Errorf("%s succeeded", sql)
		}
	}
}

// TestUnstorableAuditEvent: an event PostgreSQL cannot hold fails its own
// update only, even when that update wrote rows and others share its batch.
func TestUnstorableAuditEvent(t *testing.T) {
	s := openAt(t, NewTestDatabase(t), Options{})
	ctx := context.Background()
	errs := make([]error, 10)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			errs[i] = s.Update(ctx, func(tx store.Tx) error {
				k := &store.APIKey{ID: "key_" + string(rune('a'+i)), Name: "k", PrincipalID: "svc", SecretHash: []byte{byte(i)}}
				if err := tx.InsertAPIKey(ctx, k); err != nil {
					return err
				}
				action := "key.create"
				if i == 3 {
					action = "key.\x00create"
				}
				tx.AppendAudit(store.AuditEvent{Action: action, ObjectID: k.ID, Outcome: "success"})
				return nil
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if (err != nil) != (i == 3) {
			t.Errorf("update %d: %v", i, err)
		}
	}
	events, err := s.ListAuditEvents(ctx, 0, 100)
	if err != nil || len(events) != 9 {
		t.Fatalf("%d events (%v), want 9", len(events), err)
	}
	if _, err := s.GetAPIKey(ctx, "key_d"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the failed update's key: %v, want not found", err)
	}
}

// TestWriterReconnects: a writer whose connection the server killed
// reconnects for the next batch, and callers see no error; so does a read.
func TestWriterReconnects(t *testing.T) {
	url := NewTestDatabase(t)
	s := openAt(t, url, Options{})
	ctx := context.Background()
	put := func(n int) error {
		return s.Update(ctx, func(tx store.Tx) error {
			tx.AppendAudit(store.AuditEvent{Action: "test.write", ObjectID: string(rune('a' + n)), Outcome: "success"})
			return nil
		})
	}
	if err := put(0); err != nil {
		t.Fatal(err)
	}
	conn := adminConn(t, url)
	if _, err := conn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 4; i++ {
		if err := put(i); err != nil {
			t.Fatalf("update %d after the connections were killed: %v", i, err)
		}
	}
	// A read on a pooled connection the server killed is retried on a fresh one.
	if _, err := s.ListAuditEvents(ctx, 0, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let the server finish them
	if _, err := s.GetCA(ctx, "ca_x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("read after its pooled connection was killed: %v", err)
	}
	events, err := s.ListAuditEvents(ctx, 0, 100)
	if err != nil || len(events) != 4 {
		t.Fatalf("%d events (%v), want 4", len(events), err)
	}
}

// TestUnavailable: with the database gone, reads and updates fail with
// store.ErrUnavailable (a 503 for clients), not an opaque error.
func TestUnavailable(t *testing.T) {
	url := NewTestDatabase(t)
	s := openAt(t, url, Options{BatchTimeout: 5 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	ctx := context.Background()
	if _, err := s.GetCA(ctx, "ca_x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetCA before: %v", err)
	}
	name := url[strings.LastIndex(url, "/")+1:]
	name = name[:strings.Index(name, "?")]
	if _, err := adminConn(t, strings.Replace(url, "/"+name+"?", "/postgres?", 1)).Exec(ctx,
		"DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetCA(ctx, "ca_x"); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("GetCA without a database: %v, want ErrUnavailable", err)
	}
	err := s.Update(ctx, func(tx store.Tx) error {
		tx.AppendAudit(store.AuditEvent{Action: "ca.create", Outcome: "success"})
		return nil
	})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Update without a database: %v, want ErrUnavailable", err)
	}
	if err := s.Ready(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Ready without a database: %v, want ErrUnavailable", err)
	}
}

// adminConn connects to url directly, for inspecting what the store wrote.
func adminConn(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}
