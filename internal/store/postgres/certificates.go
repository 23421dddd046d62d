package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

// certColumns reads a certificate row (alias c) joined with its DER (alias b).
const certColumns = `c.int_id, c.serial, c.ca_id, c.profile_id, c.request_id, c.issuer, c.subject, c.common_name, c.sans,
	c.key_type, c.not_before, c.not_after, c.sha1, c.sha256, b.der, c.status, c.revocation_reason, c.revoked_at, c.source,
	c.owner, c.renewed_from, c.renewed_by, c.created_at, c.updated_at, c.org_id, c.labels, c.custom_fields, c.invalidity_date, c.method`

func scanCertificate(s scanner) (store.Certificate, error) {
	var c store.Certificate
	err := s.Scan(&c.IntID, &c.Serial, &c.CAID, &c.ProfileID, &c.RequestID, &c.Issuer, &c.Subject, &c.CommonName, &c.SANs,
		&c.KeyType, &c.NotBefore, &c.NotAfter, &c.SHA1, &c.SHA256, &c.DER, &c.Status, &c.RevocationReason, &c.RevokedAt,
		&c.Source, &c.Owner, &c.RenewedFrom, &c.RenewedBy, &c.CreatedAt, &c.UpdatedAt, &c.OrgID, &c.Labels, &c.CustomFields,
		&c.InvalidityDate, &c.Method)
	c.Labels, c.CustomFields = emptyNil(c.Labels), emptyNil(c.CustomFields)
	return c, err
}

func (r reader) getCertificate(ctx context.Context, cond string, arg any) (*store.Certificate, error) {
	var c store.Certificate
	err := queryOne(ctx, r.q, func(s scanner) (err error) { c, err = scanCertificate(s); return err },
		`SELECT `+certColumns+` FROM certificates c JOIN certificate_blobs b ON b.cert_id = c.int_id WHERE `+cond, arg)
	if err != nil {
		return nil, mapErr(err, "get certificate")
	}
	return &c, nil
}

// GetCertificate returns the certificate with the canonical hex serial.
func (r reader) GetCertificate(ctx context.Context, serial string) (*store.Certificate, error) {
	return r.getCertificate(ctx, "c.serial = $1", serial)
}

// GetCertificateBySHA256 returns the certificate with the hex SHA-256 thumbprint.
func (r reader) GetCertificateBySHA256(ctx context.Context, sha256 string) (*store.Certificate, error) {
	return r.getCertificate(ctx, "c.sha256 = $1", sha256)
}

// InsertCertificate stores a certificate, its DER and its names, and sets
// IntID; ErrDuplicate when the serial or SHA-256 exists. It is one
// statement (one round trip on the issuance hot path): the blob and name
// rows are inserted by CTEs that only run for a certificate row that was.
func (t *txView) InsertCertificate(ctx context.Context, c *store.Certificate) error {
	now := t.now()
	stamp(&c.CreatedAt, now)
	stamp(&c.UpdatedAt, now)
	normTime(&c.NotBefore)
	normTime(&c.NotAfter)
	normTimePtr(c.RevokedAt)
	normTimePtr(c.InvalidityDate)
	names := searchNames(c)
	err := t.insert(ctx, &c.IntID, "certificate "+c.Serial, `WITH c AS (
		INSERT INTO certificates (serial, sha256, org_id, status, not_after, created_at, ca_id, profile_id, owner, source,
			cn_lower, names_text, common_name, sans, request_id, issuer, subject, key_type, not_before, sha1,
			revocation_reason, revoked_at, renewed_from, renewed_by, labels, custom_fields, updated_at, invalidity_date, method)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23,
			$24, $25, $26, $27, $28, $31)
		ON CONFLICT DO NOTHING RETURNING int_id),
	blob AS (INSERT INTO certificate_blobs (cert_id, der) SELECT int_id, $29 FROM c),
	names AS (INSERT INTO certificate_names (name, cert_id) SELECT unnest($30::text[]), int_id FROM c)
	SELECT int_id FROM c`,
		c.Serial, c.SHA256, c.OrgID, c.Status, c.NotAfter, c.CreatedAt, c.CAID, c.ProfileID, c.Owner, c.Source,
		strings.ToLower(c.CommonName), namesText(names), c.CommonName, list(c.SANs), c.RequestID, c.Issuer, c.Subject,
		c.KeyType, c.NotBefore, c.SHA1, c.RevocationReason, c.RevokedAt, c.RenewedFrom, c.RenewedBy, jsonMap(c.Labels),
		jsonMap(c.CustomFields), c.UpdatedAt, c.InvalidityDate, nonNil(c.DER), names, c.Method)
	if err != nil {
		return err
	}
	t.stats.count(c.Status, c.CAID, c.NotAfter, 1)
	return nil
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

// nameSeparator delimits names in names_text. It cannot occur in a name or
// a search string, so no substring match spans two names.
const nameSeparator = "\n"

func namesText(names []string) string {
	return nameSeparator + strings.Join(names, nameSeparator) + nameSeparator
}

// UpdateCertificate rewrites the certificate's lifecycle fields (status,
// revocation and invalidity date, owner, renewal links, labels, custom
// fields, UpdatedAt) if
// its stored status is still fromStatus: ErrConflict if not, ErrNotFound if
// the serial is unknown. What the certificate says (names, key, validity,
// DER) never changes.
func (t *txView) UpdateCertificate(ctx context.Context, c *store.Certificate, fromStatus string) error {
	stamp(&c.UpdatedAt, t.now())
	normTimePtr(c.RevokedAt)
	normTimePtr(c.InvalidityDate)
	what := "update certificate " + c.Serial
	var caID string
	var notAfter time.Time
	ok, err := t.b.writeRow(ctx, []any{&caID, &notAfter}, `UPDATE certificates SET status = $1, revocation_reason = $2,
		revoked_at = $3, owner = $4, renewed_from = $5, renewed_by = $6, updated_at = $7, labels = $8, custom_fields = $9,
		invalidity_date = $10 WHERE serial = $11 AND status = $12 RETURNING ca_id, not_after`,
		c.Status, c.RevocationReason, c.RevokedAt, c.Owner, c.RenewedFrom, c.RenewedBy, c.UpdatedAt,
		jsonMap(c.Labels), jsonMap(c.CustomFields), c.InvalidityDate, c.Serial, fromStatus)
	if err != nil {
		return mapErr(err, what)
	}
	if !ok {
		return t.conditional(ctx, "certificates", "serial", c.Serial, what)
	}
	if c.Status != fromStatus {
		t.stats.count(fromStatus, caID, notAfter, -1)
		t.stats.count(c.Status, caID, notAfter, 1)
	}
	return nil
}

// DeleteCertificate removes a certificate Signet did not issue, with its DER
// and name rows, in one statement (the names to delete are the row's own
// names_text, so the name index is probed, not scanned); ErrConflict for an
// issued certificate, ErrNotFound for an unknown serial. Identity columns
// never hand a number out twice, so its int_id stays unused.
func (t *txView) DeleteCertificate(ctx context.Context, serial string) error {
	what := "delete certificate " + serial
	var status, caID string
	var notAfter time.Time
	ok, err := t.b.writeRow(ctx, []any{&status, &caID, &notAfter}, `WITH c AS (
		DELETE FROM certificates WHERE serial = $1 AND source <> $2 RETURNING int_id, status, ca_id, not_after, names_text),
	blob AS (DELETE FROM certificate_blobs WHERE cert_id IN (SELECT int_id FROM c)),
	names AS (DELETE FROM certificate_names n USING c
		WHERE n.name = ANY (string_to_array(c.names_text, $3)) AND n.cert_id = c.int_id)
	SELECT status, ca_id, not_after FROM c`, serial, store.SourceIssued, nameSeparator)
	if err != nil {
		return mapErr(err, what)
	}
	if !ok {
		if err := t.conditional(ctx, "certificates", "serial", serial, what); !errors.Is(err, store.ErrConflict) {
			return err
		}
		return fmt.Errorf("postgres: %s: Signet issued it: %w", what, store.ErrConflict)
	}
	t.stats.count(status, caID, notAfter, -1)
	return nil
}
