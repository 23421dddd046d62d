package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/signet-pki/signet/internal/store"
)

// bulkChunk is how many certificates one bulk transaction writes.
const bulkChunk = 10000

// BulkInsertCertificates loads certificates with COPY in large
// transactions, skipping the group commit and the audit chain: nothing is
// audited. It exists for load tools, benchmarks and tests only; the server
// never calls it. Each chunk takes the audit head lock, as batches do, so
// it is safe next to normal updates (which wait for it). IntID is set on
// each certificate; zero CreatedAt/UpdatedAt are stamped from the clock. A
// duplicate serial fails its whole chunk; chunks already committed stay.
func (s *Store) BulkInsertCertificates(ctx context.Context, certs []store.Certificate) error {
	now := s.now()
	for i := range certs {
		stamp(&certs[i].CreatedAt, now)
		stamp(&certs[i].UpdatedAt, now)
	}
	conn, err := s.pool.acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: bulk insert: %w", err)
	}
	defer s.pool.release(conn)
	for start := 0; start < len(certs); start += bulkChunk {
		if err := bulkChunkTx(ctx, conn, certs[start:min(start+bulkChunk, len(certs))]); err != nil {
			return fmt.Errorf("postgres: bulk insert: %w", err)
		}
	}
	return nil
}

func bulkChunkTx(ctx context.Context, conn *pgx.Conn, certs []store.Certificate) (err error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, tx.Rollback(context.Background()))
		}
	}()
	if _, err := tx.Exec(ctx, `SELECT 1 FROM audit_head WHERE id = 1 FOR UPDATE`); err != nil {
		return err
	}
	ids, err := queryMany(ctx, tx, func(s scanner) (id int64, err error) { return id, s.Scan(&id) },
		`SELECT nextval(pg_get_serial_sequence('certificates', 'int_id')) FROM generate_series(1, $1)`, len(certs))
	if err != nil {
		return err
	}
	var stats statDeltas
	rows, blobs, names := make([][]any, len(certs)), make([][]any, len(certs)), [][]any{}
	for i := range certs {
		c := &certs[i]
		normTime(&c.NotBefore)
		normTime(&c.NotAfter)
		normTimePtr(c.RevokedAt)
		normTimePtr(c.InvalidityDate)
		c.IntID = ids[i]
		n := searchNames(c)
		rows[i] = []any{c.IntID, c.Serial, c.SHA256, c.OrgID, c.Status, c.NotAfter, c.CreatedAt, c.CAID, c.ProfileID,
			c.Owner, c.Source, strings.ToLower(c.CommonName), namesText(n), c.CommonName, list(c.SANs), c.RequestID,
			c.Issuer, c.Subject, c.KeyType, c.NotBefore, c.SHA1, int32(c.RevocationReason), c.RevokedAt, c.RenewedFrom,
			c.RenewedBy, jsonMap(c.Labels), jsonMap(c.CustomFields), c.UpdatedAt, c.InvalidityDate, c.Method}
		blobs[i] = []any{c.IntID, nonNil(c.DER)}
		for _, name := range n {
			names = append(names, []any{name, c.IntID})
		}
		stats.count(c.Status, c.CAID, c.NotAfter, 1)
	}
	for _, cp := range []struct {
		table string
		cols  []string
		rows  [][]any
	}{
		{"certificates", []string{"int_id", "serial", "sha256", "org_id", "status", "not_after", "created_at", "ca_id",
			"profile_id", "owner", "source", "cn_lower", "names_text", "common_name", "sans", "request_id", "issuer",
			"subject", "key_type", "not_before", "sha1", "revocation_reason", "revoked_at", "renewed_from", "renewed_by",
			"labels", "custom_fields", "updated_at", "invalidity_date", "method"}, rows},
		{"certificate_blobs", []string{"cert_id", "der"}, blobs},
		{"certificate_names", []string{"name", "cert_id"}, names},
	} {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{cp.table}, cp.cols, pgx.CopyFromRows(cp.rows)); err != nil {
			return mapErr(err, "copy into "+cp.table)
		}
	}
	if sql, args, ok := statsStatement(stats); ok {
		if _, err := tx.Exec(ctx, sql, args...); err != nil {
			return fmt.Errorf("update certificate counts: %w", err)
		}
	}
	return tx.Commit(ctx)
}
