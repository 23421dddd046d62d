package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/signet-pki/signet/internal/store"
)

const certColumns = `c.int_id, c.serial, c.ca_id, c.profile_id, c.request_id, c.issuer, c.subject, c.common_name, c.sans, c.key_type,
	c.not_before, c.not_after, c.sha1, c.sha256, c.status, c.revocation_reason, c.revoked_at, c.source, c.owner,
	c.renewed_from, c.renewed_by, c.created_at, c.updated_at, d.der`

const certFrom = ` FROM certificates c JOIN certificate_ders d ON d.cert_id = c.int_id `

func scanCertificate(s scanner) (store.Certificate, int64, error) {
	var c store.Certificate
	var sans string
	var revoked sql.NullInt64
	var nb, na, ca, ua int64
	err := s.Scan(&c.IntID, &c.Serial, &c.CAID, &c.ProfileID, &c.RequestID, &c.Issuer, &c.Subject, &c.CommonName, &sans,
		&c.KeyType, &nb, &na, &c.SHA1, &c.SHA256, &c.Status, &c.RevocationReason, &revoked, &c.Source, &c.Owner,
		&c.RenewedFrom, &c.RenewedBy, &ca, &ua, &c.DER)
	c.SANs, c.RevokedAt = fromJSON[[]string](sans), fromTSPtr(revoked)
	c.NotBefore, c.NotAfter, c.CreatedAt, c.UpdatedAt = fromTS(nb), fromTS(na), fromTS(ca), fromTS(ua)
	return c, c.IntID, err
}

func (r reader) getCertificate(ctx context.Context, where string, arg any) (*store.Certificate, error) {
	c, _, err := scanCertificate(r.q.QueryRowContext(ctx, `SELECT `+certColumns+certFrom+`WHERE `+where, arg))
	if err != nil {
		return nil, mapErr(err, "get certificate")
	}
	return &c, nil
}

func (r reader) GetCertificate(ctx context.Context, serial string) (*store.Certificate, error) {
	return r.getCertificate(ctx, "c.serial = ?", serial)
}

func (r reader) GetCertificateBySHA256(ctx context.Context, sha256 string) (*store.Certificate, error) {
	return r.getCertificate(ctx, "c.sha256 = ?", sha256)
}

// searchNames is the lower-cased, de-duplicated CN and SANs of c: what name
// lookups and substring search index.
func searchNames(c *store.Certificate) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range append([]string{c.CommonName}, c.SANs...) {
		n = strings.ToLower(n)
		if n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

func (t *txView) InsertCertificate(ctx context.Context, c *store.Certificate) error {
	return insertCertificate(ctx, t.q, c)
}

func insertCertificate(ctx context.Context, q querier, c *store.Certificate) error {
	res, err := q.ExecContext(ctx, `INSERT INTO certificates (serial, ca_id, profile_id, request_id, issuer, subject, common_name, cn_lower,
		sans, key_type, not_before, not_after, sha1, sha256, status, revocation_reason, revoked_at, source, owner, renewed_from,
		renewed_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.Serial, c.CAID, c.ProfileID, c.RequestID, c.Issuer, c.Subject, c.CommonName, strings.ToLower(c.CommonName),
		jsonText(nonNil(c.SANs)), c.KeyType, ts(c.NotBefore), ts(c.NotAfter), c.SHA1, c.SHA256, c.Status, c.RevocationReason,
		tsPtr(c.RevokedAt), c.Source, c.Owner, c.RenewedFrom, c.RenewedBy, ts(c.CreatedAt), ts(c.UpdatedAt))
	if err != nil {
		return mapErr(err, "insert certificate")
	}
	c.IntID, _ = res.LastInsertId()
	if _, err := q.ExecContext(ctx, `INSERT INTO certificate_ders (cert_id, der) VALUES (?, ?)`, c.IntID, c.DER); err != nil {
		return mapErr(err, "insert certificate DER")
	}
	names := searchNames(c)
	for _, n := range names {
		if _, err := q.ExecContext(ctx, `INSERT INTO certificate_names (name, cert_id) VALUES (?, ?)`, n, c.IntID); err != nil {
			return mapErr(err, "insert certificate name")
		}
	}
	if len(names) > 0 {
		if _, err := q.ExecContext(ctx, `INSERT INTO certificate_names_fts (rowid, names) VALUES (?, ?)`, c.IntID, strings.Join(names, " ")); err != nil {
			return mapErr(err, "index certificate names")
		}
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (t *txView) UpdateCertificate(ctx context.Context, c *store.Certificate, fromStatus string) error {
	res, err := t.q.ExecContext(ctx, `UPDATE certificates SET status = ?, revocation_reason = ?, revoked_at = ?, owner = ?,
		renewed_from = ?, renewed_by = ?, updated_at = ? WHERE serial = ? AND status = ?`,
		c.Status, c.RevocationReason, tsPtr(c.RevokedAt), c.Owner, c.RenewedFrom, c.RenewedBy, ts(c.UpdatedAt), c.Serial, fromStatus)
	return affectedOne(res, err, store.ErrConflict, "update certificate")
}

// BulkInsertCertificates loads certificates in large transactions, bypassing
// the group-commit writer and the audit chain. It exists for load tools and
// benchmarks only; nothing in the server calls it.
func (s *Store) BulkInsertCertificates(ctx context.Context, certs []store.Certificate) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("bulk insert: %w", err)
	}
	for i := range certs {
		if err := insertCertificate(ctx, tx, &certs[i]); err != nil {
			_ = tx.Rollback()
			return err
		}
	}
	return tx.Commit()
}
