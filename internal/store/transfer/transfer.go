// Package transfer copies a whole Signet store into an empty one (SQLite to
// PostgreSQL, or back) and verifies the copy: every record, CA keys still
// sealed (the bytes move, never a decrypted key), and the audit chain
// re-appended in order so that every event hashes exactly as before.
package transfer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/signet-pki/signet/internal/store"
)

// Report counts what was copied, by kind.
type Report struct {
	Counts   map[string]int64 `json:"counts"`
	AuditSeq int64            `json:"audit_events"`
	HeadHash string           `json:"audit_head_hash"`
}

// batch is how many records one Update of the target writes.
const batch = 500

// Copy copies everything in src into dst, which must be empty (no CA, no
// audit event): every record of every kind, in an order that keeps the
// copy's listings in the source's order. Idempotency records (short-lived
// replay protection) are not copied. Rows keep their integer ids, which
// the compatibility APIs show (a Sectigo client's sslId names the same
// certificate after the move).
func Copy(ctx context.Context, src, dst store.Store) (*Report, error) {
	if err := checkEmpty(ctx, dst); err != nil {
		return nil, err
	}
	r := &Report{Counts: map[string]int64{}}
	steps := []struct {
		kind string
		run  func(ctx context.Context, src, dst store.Store) (int64, error)
	}{
		{"organizations", copyOrganizations},
		{"teams", copyTeams},
		{"principals", copyPrincipals},
		{"custom_fields", copyCustomFields},
		{"api_keys", copyAPIKeys},
		{"cas", copyCAs},
		{"templates", copyTemplates},
		{"profiles", copyProfiles},
		{"requests", copyRequests},
		{"certificates", copyCertificates},
		{"crls", copyCRLs},
		{"protocol_objects", copyProtocolObjects},
		{"endpoints", copyEndpoints},
		{"notification_rules", copyNotificationRules},
		{"notifications", copyNotifications},
		{"agents", copyAgents},
		{"audit_events", copyAudit},
	}
	for _, s := range steps {
		n, err := s.run(ctx, src, dst)
		if err != nil {
			return nil, fmt.Errorf("copy %s: %w", s.kind, err)
		}
		r.Counts[s.kind] = n
	}
	if err := advanceIntIDs(ctx, src, dst); err != nil {
		return nil, err
	}
	r.AuditSeq = r.Counts["audit_events"]
	return r, nil
}

func checkEmpty(ctx context.Context, dst store.Store) error {
	cas, _, err := dst.ListCAs(ctx, store.ListQuery{Limit: 1})
	if err != nil {
		return err
	}
	evs, err := dst.ListAuditEvents(ctx, 0, 1)
	if err != nil {
		return err
	}
	if len(cas) > 0 || len(evs) > 0 {
		return errors.New("the target store is not empty: migrate into a fresh database")
	}
	return nil
}

// pages walks a cursor-paged listing.
func pages[T any](ctx context.Context, list func(q store.ListQuery) ([]T, string, error), each func([]T) error) (int64, error) {
	var n int64
	cursor := ""
	for {
		items, next, err := list(store.ListQuery{Limit: batch, Cursor: cursor})
		if err != nil {
			return n, err
		}
		if err := each(items); err != nil {
			return n, err
		}
		n += int64(len(items))
		if next == "" {
			return n, nil
		}
		cursor = next
	}
}

// write inserts items in one Update, keeping their integer ids.
func write[T any](ctx context.Context, dst store.Store, items []T, insert func(tx store.Tx, item *T) error) error {
	if len(items) == 0 {
		return nil
	}
	return dst.Update(ctx, func(tx store.Tx) error {
		if _, err := keepIntIDs(tx); err != nil {
			return err
		}
		for i := range items {
			if err := insert(tx, &items[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// keepIntIDs makes tx keep the integer ids of the rows it inserts.
func keepIntIDs(tx store.Tx) (store.IntIDKeeper, error) {
	k, ok := tx.(store.IntIDKeeper)
	if !ok {
		return nil, fmt.Errorf("the target store cannot keep integer ids (%T)", tx)
	}
	k.KeepIntIDs()
	return k, nil
}

// advanceIntIDs runs after the copy: rows the target numbers from now on
// come after the kept ones, and after any the source gave and then deleted.
func advanceIntIDs(ctx context.Context, src, dst store.Store) error {
	var floors map[string]int64
	if h, ok := src.(store.IntIDHistory); ok {
		var err error
		if floors, err = h.IntIDFloors(ctx); err != nil {
			return fmt.Errorf("read the source's id history: %w", err)
		}
	}
	err := dst.Update(ctx, func(tx store.Tx) error {
		k, err := keepIntIDs(tx)
		if err != nil {
			return err
		}
		return k.AdvanceIntIDs(ctx, floors)
	})
	if err != nil {
		return fmt.Errorf("advance the integer ids: %w", err)
	}
	return nil
}

func copyOrganizations(ctx context.Context, src, dst store.Store) (int64, error) {
	existing, _, err := dst.ListOrganizations(ctx, store.ListQuery{Limit: 1000})
	if err != nil {
		return 0, err
	}
	have := map[string]bool{}
	for _, o := range existing {
		have[o.ID] = true // the default organization every new store starts with
	}
	return pages(ctx, func(q store.ListQuery) ([]store.Organization, string, error) { return src.ListOrganizations(ctx, q) },
		func(items []store.Organization) error {
			return write(ctx, dst, items, func(tx store.Tx, o *store.Organization) error {
				if have[o.ID] {
					return tx.UpdateOrganization(ctx, o)
				}
				return tx.InsertOrganization(ctx, o)
			})
		})
}

func copyTeams(ctx context.Context, src, dst store.Store) (int64, error) {
	return pages(ctx, func(q store.ListQuery) ([]store.Team, string, error) { return src.ListTeams(ctx, q) },
		func(items []store.Team) error {
			return write(ctx, dst, items, func(tx store.Tx, t *store.Team) error { return tx.InsertTeam(ctx, t) })
		})
}

func copyPrincipals(ctx context.Context, src, dst store.Store) (int64, error) {
	return pages(ctx, func(q store.ListQuery) ([]store.Principal, string, error) { return src.ListPrincipals(ctx, q) },
		func(items []store.Principal) error {
			return write(ctx, dst, items, func(tx store.Tx, p *store.Principal) error { return tx.InsertPrincipal(ctx, p) })
		})
}

func copyCustomFields(ctx context.Context, src, dst store.Store) (int64, error) {
	var n int64
	_, err := pages(ctx, func(q store.ListQuery) ([]store.Organization, string, error) { return src.ListOrganizations(ctx, q) },
		func(orgs []store.Organization) error {
			for _, o := range orgs {
				fields, err := src.ListCustomFields(ctx, o.ID)
				if err != nil {
					return err
				}
				if err := write(ctx, dst, fields, func(tx store.Tx, f *store.CustomField) error { return tx.InsertCustomField(ctx, f) }); err != nil {
					return err
				}
				n += int64(len(fields))
			}
			return nil
		})
	return n, err
}

func copyAPIKeys(ctx context.Context, src, dst store.Store) (int64, error) {
	return pages(ctx, func(q store.ListQuery) ([]store.APIKey, string, error) { return src.ListAPIKeys(ctx, q) },
		func(items []store.APIKey) error {
			return write(ctx, dst, items, func(tx store.Tx, k *store.APIKey) error { return tx.InsertAPIKey(ctx, k) })
		})
}

// copyCAs inserts parents before children: a listing is in creation order,
// which already puts every issuer before the CAs it signed.
func copyCAs(ctx context.Context, src, dst store.Store) (int64, error) {
	return pages(ctx, func(q store.ListQuery) ([]store.CA, string, error) { return src.ListCAs(ctx, q) },
		func(items []store.CA) error {
			return write(ctx, dst, items, func(tx store.Tx, c *store.CA) error { return tx.InsertCA(ctx, c) })
		})
}

func copyTemplates(ctx context.Context, src, dst store.Store) (int64, error) {
	return pages(ctx, func(q store.ListQuery) ([]store.Template, string, error) { return src.ListTemplates(ctx, q) },
		func(items []store.Template) error {
			return write(ctx, dst, items, func(tx store.Tx, t *store.Template) error { return tx.InsertTemplate(ctx, t) })
		})
}

func copyProfiles(ctx context.Context, src, dst store.Store) (int64, error) {
	return pages(ctx, func(q store.ListQuery) ([]store.Profile, string, error) { return src.ListProfiles(ctx, q) },
		func(items []store.Profile) error {
			return write(ctx, dst, items, func(tx store.Tx, p *store.Profile) error { return tx.InsertProfile(ctx, p) })
		})
}

func copyRequests(ctx context.Context, src, dst store.Store) (int64, error) {
	return pages(ctx, func(q store.ListQuery) ([]store.Request, string, error) { return src.ListRequests(ctx, q) },
		func(items []store.Request) error {
			return write(ctx, dst, items, func(tx store.Tx, r *store.Request) error { return tx.InsertRequest(ctx, r) })
		})
}

func copyCertificates(ctx context.Context, src, dst store.Store) (int64, error) {
	var n int64
	cursor := ""
	for {
		page, err := src.SearchCertificates(ctx, store.CertificateQuery{Sort: "created_at", Limit: batch, Cursor: cursor})
		if err != nil {
			return n, err
		}
		if err := write(ctx, dst, page.Items, func(tx store.Tx, c *store.Certificate) error { return tx.InsertCertificate(ctx, c) }); err != nil {
			return n, err
		}
		n += int64(len(page.Items))
		if page.NextCursor == "" {
			return n, nil
		}
		cursor = page.NextCursor
	}
}

// copyCRLs copies each CA's newest full and delta CRL (the only ones served).
func copyCRLs(ctx context.Context, src, dst store.Store) (int64, error) {
	var n int64
	_, err := pages(ctx, func(q store.ListQuery) ([]store.CA, string, error) { return src.ListCAs(ctx, q) },
		func(cas []store.CA) error {
			for _, c := range cas {
				for _, delta := range []bool{false, true} {
					crl, err := src.LatestCRL(ctx, c.ID, delta)
					if errors.Is(err, store.ErrNotFound) {
						continue
					}
					if err != nil {
						return err
					}
					if err := dst.Update(ctx, func(tx store.Tx) error { return tx.InsertCRL(ctx, crl) }); err != nil {
						return err
					}
					n++
				}
			}
			return nil
		})
	return n, err
}

// copyProtocolObjects copies ACME, EST, SCEP, CMP and compatibility-API
// state (accounts, orders, one-time secrets, ...), used nonces included.
func copyProtocolObjects(ctx context.Context, src, dst store.Store) (int64, error) {
	return pages(ctx, func(q store.ListQuery) ([]store.ProtocolObject, string, error) {
		return src.ExportProtocolObjects(ctx, q.Limit, q.Cursor)
	}, func(items []store.ProtocolObject) error {
		return write(ctx, dst, items, func(tx store.Tx, o *store.ProtocolObject) error { return tx.InsertProtocolObject(ctx, o) })
	})
}

func copyEndpoints(ctx context.Context, src, dst store.Store) (int64, error) {
	return pages(ctx, func(q store.ListQuery) ([]store.Endpoint, string, error) {
		return src.ListEndpoints(ctx, store.EndpointQuery{Limit: q.Limit, Cursor: q.Cursor})
	}, func(items []store.Endpoint) error {
		return write(ctx, dst, items, func(tx store.Tx, e *store.Endpoint) error { return tx.UpsertEndpoint(ctx, e) })
	})
}

func copyNotificationRules(ctx context.Context, src, dst store.Store) (int64, error) {
	return pages(ctx, func(q store.ListQuery) ([]store.NotificationRule, string, error) {
		return src.ListNotificationRules(ctx, q)
	},
		func(items []store.NotificationRule) error {
			return write(ctx, dst, items, func(tx store.Tx, r *store.NotificationRule) error { return tx.InsertNotificationRule(ctx, r) })
		})
}

// copyNotifications copies the sent and pending log, whose dedupe keys
// are what keep each threshold from being announced twice. The source lists
// newest first; pages are replayed last to first, each reversed, so that
// the copy lists in the same order without holding the log in memory.
func copyNotifications(ctx context.Context, src, dst store.Store) (int64, error) {
	cursors := []string{""}
	for {
		_, next, err := src.ListNotifications(ctx, store.ListQuery{Limit: batch, Cursor: cursors[len(cursors)-1]})
		if err != nil {
			return 0, err
		}
		if next == "" {
			break
		}
		cursors = append(cursors, next)
	}
	var n int64
	for i := len(cursors) - 1; i >= 0; i-- {
		items, _, err := src.ListNotifications(ctx, store.ListQuery{Limit: batch, Cursor: cursors[i]})
		if err != nil {
			return n, err
		}
		slices.Reverse(items)
		if err := write(ctx, dst, items, func(tx store.Tx, x *store.Notification) error {
			_, err := tx.QueueNotification(ctx, x)
			return err
		}); err != nil {
			return n, err
		}
		n += int64(len(items))
	}
	return n, nil
}

func copyAgents(ctx context.Context, src, dst store.Store) (int64, error) {
	return pages(ctx, func(q store.ListQuery) ([]store.Agent, string, error) { return src.ListAgents(ctx, q) },
		func(items []store.Agent) error {
			return write(ctx, dst, items, func(tx store.Tx, a *store.Agent) error { return tx.UpsertAgent(ctx, a) })
		})
}

// copyAudit re-appends the chain in order into the empty target: each event
// keeps its content and details bytes, so its recomputed hash equals the
// source's, which is checked event by event.
func copyAudit(ctx context.Context, src, dst store.Store) (int64, error) {
	var after int64
	for {
		evs, err := src.ListAuditEvents(ctx, after, batch)
		if err != nil {
			return after, err
		}
		if len(evs) == 0 {
			return after, nil
		}
		err = dst.Update(ctx, func(tx store.Tx) error {
			for _, ev := range evs {
				copied := ev
				copied.Seq, copied.PrevHash, copied.Hash = 0, nil, nil
				tx.AppendAudit(copied)
			}
			return nil
		})
		if err != nil {
			return after, err
		}
		got, err := dst.ListAuditEvents(ctx, after, batch)
		if err != nil {
			return after, err
		}
		if len(got) != len(evs) {
			return after, fmt.Errorf("copied %d audit events after %d, found %d", len(evs), after, len(got))
		}
		for i := range evs {
			if got[i].Seq != evs[i].Seq || !bytes.Equal(got[i].Hash, evs[i].Hash) {
				return after, fmt.Errorf("audit event %d hashes differently after the copy", evs[i].Seq)
			}
		}
		after = evs[len(evs)-1].Seq
	}
}
