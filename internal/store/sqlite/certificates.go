package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/signet-pki/signet/internal/store"
)

// certColumns reads a certificate row joined with its DER (alias b).
const certColumns = `c.int_id, c.serial, c.ca_id, c.profile_id, c.request_id, c.issuer, c.subject, c.common_name, c.sans,
	c.key_type, c.not_before, c.not_after, c.sha1, c.sha256, b.der, c.status, c.revocation_reason, c.revoked_at, c.source,
	c.owner, c.renewed_from, c.renewed_by, c.created_at, c.updated_at, c.org_id, c.labels, c.custom_fields, c.invalidity_date, c.method`

const certFrom = ` FROM certificates c JOIN certificate_blobs b ON b.cert_id = c.int_id`

func scanCertificate(s scanner) (store.Certificate, error) {
	var c store.Certificate
	var sans string
	var revoked, invalid sql.NullInt64
	var nb, na, ca, ua int64
	var labels, fields string
	err := s.Scan(&c.IntID, &c.Serial, &c.CAID, &c.ProfileID, &c.RequestID, &c.Issuer, &c.Subject, &c.CommonName, &sans,
		&c.KeyType, &nb, &na, &c.SHA1, &c.SHA256, &c.DER, &c.Status, &c.RevocationReason, &revoked, &c.Source,
		&c.Owner, &c.RenewedFrom, &c.RenewedBy, &ca, &ua, &c.OrgID, &labels, &fields, &invalid, &c.Method)
	if err != nil {
		return c, err
	}
	c.NotBefore, c.NotAfter, c.CreatedAt, c.UpdatedAt = fromDB(nb), fromDB(na), fromDB(ca), fromDB(ua)
	c.RevokedAt, c.InvalidityDate = fromDBPtr(revoked), fromDBPtr(invalid)
	if c.Labels, err = fromJSONMap(labels); err != nil {
		return c, err
	}
	if c.CustomFields, err = fromJSONMap(fields); err != nil {
		return c, err
	}
	c.SANs, err = fromJSONText(sans)
	return c, err
}

func (r reader) getCertificate(ctx context.Context, where string, arg any) (*store.Certificate, error) {
	var c store.Certificate
	err := queryOne(ctx, r.q, func(s scanner) (err error) { c, err = scanCertificate(s); return err },
		`SELECT `+certColumns+certFrom+` WHERE `+where, arg)
	if err != nil {
		return nil, mapErr(err, "get certificate")
	}
	return &c, nil
}

// GetCertificate returns the certificate with the canonical hex serial.
func (r reader) GetCertificate(ctx context.Context, serial string) (*store.Certificate, error) {
	return r.getCertificate(ctx, "c.serial = ?", serial)
}

// GetCertificateBySHA256 returns the certificate with the hex SHA-256 thumbprint.
func (r reader) GetCertificateBySHA256(ctx context.Context, sha256 string) (*store.Certificate, error) {
	return r.getCertificate(ctx, "c.sha256 = ?", sha256)
}

// InsertCertificate stores a certificate, its DER and its name indexes, and
// sets IntID; ErrDuplicate when the serial or SHA-256 exists.
func (t *txView) InsertCertificate(ctx context.Context, c *store.Certificate) error {
	now := t.now()
	stamp(&c.CreatedAt, now)
	stamp(&c.UpdatedAt, now)
	return insertCertificate(ctx, t.q, c, t.keptID(c.IntID), &t.search)
}

// insertCertificate writes the rows of one certificate, and queues its
// substring-search entry on search; shared with the bulk loader.
// keptID is the row's id when a copy keeps ids (see txView.keptID), else nil.
func insertCertificate(ctx context.Context, q querier, c *store.Certificate, keptID any, search *[]searchEntry) error {
	normTime(&c.NotBefore)
	normTime(&c.NotAfter)
	normTimePtr(c.RevokedAt)
	sans, err := jsonText(c.SANs)
	if err != nil {
		return mapErr(err, "insert certificate "+c.Serial)
	}
	names := searchNames(c)
	joined := strings.Join(names, nameSeparator)
	// int_id is the kept id, or NULL (SQLite's max + 1) unless a deleted
	// certificate held that number: see certificate_id_floor.
	res, err := q.ExecContext(ctx, `INSERT INTO certificates (int_id, serial, sha256, status, not_after, created_at, ca_id,
		profile_id, owner, source, cn_lower, names, common_name, sans, request_id, issuer, subject, key_type, not_before,
		sha1, revocation_reason, revoked_at, renewed_from, renewed_by, updated_at, org_id, labels, custom_fields, invalidity_date, method)
		VALUES (coalesce(?, (SELECT deleted + 1 FROM certificate_id_floor
			WHERE deleted >= coalesce((SELECT max(int_id) FROM certificates), 0))),
		?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		keptID, c.Serial, c.SHA256, c.Status, toDB(c.NotAfter), toDB(c.CreatedAt), c.CAID, c.ProfileID, c.Owner, c.Source,
		strings.ToLower(c.CommonName), joined, c.CommonName, sans, c.RequestID, c.Issuer, c.Subject, c.KeyType,
		toDB(c.NotBefore), c.SHA1, c.RevocationReason, toDBPtr(c.RevokedAt), c.RenewedFrom, c.RenewedBy,
		toDB(c.UpdatedAt), c.OrgID, jsonMap(c.Labels), jsonMap(c.CustomFields), toDBPtr(c.InvalidityDate), c.Method)
	if err != nil {
		return mapErr(err, "insert certificate "+c.Serial)
	}
	if c.IntID, err = res.LastInsertId(); err != nil {
		return mapErr(err, "insert certificate "+c.Serial)
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO certificate_blobs (cert_id, der) VALUES (?, ?)`, c.IntID, nonNilBytes(c.DER)); err != nil {
		return mapErr(err, "insert certificate DER "+c.Serial)
	}
	if err := countCertificate(ctx, q, c.Status, c.CAID, toDB(c.NotAfter)); err != nil {
		return mapErr(err, "count certificate "+c.Serial)
	}
	if len(names) == 0 {
		return nil
	}
	// One statement for all names: statements, not rows, are what cost here.
	args := make([]any, 0, 2*len(names))
	for _, n := range names {
		args = append(args, n, c.IntID)
	}
	query := `INSERT INTO certificate_names (name, cert_id) VALUES (?, ?)` + strings.Repeat(`, (?, ?)`, len(names)-1)
	if _, err := q.ExecContext(ctx, query, args...); err != nil {
		return mapErr(err, "index certificate names")
	}
	*search = append(*search, searchEntry{id: c.IntID, names: joined})
	return nil
}

func nonNilBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// searchNames is the lower-cased, de-duplicated common name and SANs of c:
// what name lookups and substring search see.
func searchNames(c *store.Certificate) []string {
	out := make([]string, 0, 1+len(c.SANs))
	add := func(n string) {
		n = strings.ToLower(n)
		if n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	add(c.CommonName)
	for _, n := range c.SANs {
		add(n)
	}
	return out
}

// searchEntry is a certificate's row in the trigram index, written when
// its batch is about to commit (see writeSearchEntries).
type searchEntry struct {
	id    int64
	names string
}

// writeSearchEntries adds certificates to the trigram index. The writer calls
// it once per batch, after every update function's savepoint is released:
// FTS5 flushes its pending index data to a new segment at every savepoint,
// so indexing inside them would write (and later merge) one tiny segment per
// certificate, which cost more than everything else an issuance writes.
// The price: an update function's own Contains search does not see the
// certificates inserted in its batch.
func writeSearchEntries(ctx context.Context, q querier, entries []searchEntry) error {
	for _, e := range entries {
		if _, err := q.ExecContext(ctx, `INSERT INTO certificate_names_fts (rowid, names) VALUES (?, ?)`, e.id, e.names); err != nil {
			return mapErr(err, "index certificate names for search")
		}
	}
	return nil
}

// nameSeparator joins a certificate's names in the trigram index. It cannot
// occur in a name or a search string, so no match spans two names.
const nameSeparator = "\n"

// UpdateCertificate rewrites the certificate's lifecycle fields (status,
// revocation, owner, renewal links, UpdatedAt) if its stored status is still
// fromStatus: ErrConflict if not, ErrNotFound if the serial is unknown. What
// the certificate says (names, key, validity, DER) never changes.
func (t *txView) UpdateCertificate(ctx context.Context, c *store.Certificate, fromStatus string) error {
	stamp(&c.UpdatedAt, t.now())
	normTimePtr(c.RevokedAt)
	normTimePtr(c.InvalidityDate)
	res, err := t.q.ExecContext(ctx, `UPDATE certificates SET status = ?, revocation_reason = ?, revoked_at = ?, owner = ?,
		renewed_from = ?, renewed_by = ?, updated_at = ?, labels = ?, custom_fields = ?, invalidity_date = ?
		WHERE serial = ? AND status = ?`,
		c.Status, c.RevocationReason, toDBPtr(c.RevokedAt), c.Owner, c.RenewedFrom, c.RenewedBy, toDB(c.UpdatedAt),
		jsonMap(c.Labels), jsonMap(c.CustomFields), toDBPtr(c.InvalidityDate), c.Serial, fromStatus)
	what := "update certificate " + c.Serial
	if err := t.conditional(ctx, res, err, "certificates", "serial", c.Serial, what); err != nil {
		return err
	}
	if c.Status != fromStatus {
		return mapErr(recountCertificate(ctx, t.q, c.Serial, fromStatus, c.Status), what)
	}
	return nil
}

// DeleteCertificate removes a certificate Signet did not issue, with its
// DER, name index rows, trigram entry and count; ErrConflict for an issued
// one, ErrNotFound for an unknown serial. Its int_id goes into
// certificate_id_floor so that no later certificate takes it.
func (t *txView) DeleteCertificate(ctx context.Context, serial string) error {
	what := "delete certificate " + serial
	var id, notAfter int64
	var source, status, caID, names string
	err := queryOne(ctx, t.q, func(s scanner) error { return s.Scan(&id, &source, &status, &caID, &notAfter, &names) },
		`SELECT int_id, source, status, ca_id, not_after, names FROM certificates WHERE serial = ?`, serial)
	if err != nil {
		return mapErr(err, what)
	}
	if source == store.SourceIssued {
		return fmt.Errorf("%s: Signet issued it: %w", what, store.ErrConflict)
	}
	if list := strings.Split(names, nameSeparator); names != "" {
		args := []any{id}
		for _, n := range list {
			args = append(args, n)
		}
		if _, err := t.q.ExecContext(ctx, `DELETE FROM certificate_names WHERE cert_id = ? AND name IN (?`+
			strings.Repeat(`, ?`, len(list)-1)+`)`, args...); err != nil {
			return mapErr(err, what+": names")
		}
	}
	for _, stmt := range []string{
		`DELETE FROM certificate_names_fts WHERE rowid = ?`,
		`DELETE FROM certificate_blobs WHERE cert_id = ?`,
		`DELETE FROM certificates WHERE int_id = ?`,
		`INSERT INTO certificate_id_floor (one, deleted) VALUES (1, ?)
			ON CONFLICT (one) DO UPDATE SET deleted = max(deleted, excluded.deleted)`,
	} {
		if _, err := t.q.ExecContext(ctx, stmt, id); err != nil {
			return mapErr(err, what)
		}
	}
	if _, err := t.q.ExecContext(ctx, `UPDATE certificate_stats SET n = n - 1 WHERE status = ? AND ca_id = ? AND expiry_day = ?`,
		status, caID, expiryDay(notAfter)); err != nil {
		return mapErr(err, what+": count")
	}
	// A certificate inserted earlier in this batch has its trigram entry
	// still queued: it must not be written for a row that is gone.
	t.search = dropSearchEntry(t.search, id)
	t.deleted = append(t.deleted, id)
	return nil
}

// dropSearchEntry removes the queued trigram entry of certificate id, if any.
func dropSearchEntry(entries []searchEntry, id int64) []searchEntry {
	return slices.DeleteFunc(entries, func(e searchEntry) bool { return e.id == id })
}
