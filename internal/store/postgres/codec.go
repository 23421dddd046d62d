package postgres

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/signet-pki/signet/internal/store"
)

// querier is what reads and writes run on: the read pool, a snapshot
// transaction's connection, or the writer's batch transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// scanner is a row to scan.
type scanner interface{ Scan(dest ...any) error }

// queryOne runs a query expected to return at most one row and scans it;
// no row is pgx.ErrNoRows.
func queryOne(ctx context.Context, q querier, scan func(scanner) error, sql string, args ...any) error {
	return retryRead(ctx, q, func() error { return queryOneOnce(ctx, q, scan, sql, args...) })
}

func queryOneOnce(ctx context.Context, q querier, scan func(scanner) error, sql string, args ...any) error {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := scan(rows); err != nil {
		return err
	}
	rows.Close()
	return rows.Err()
}

// queryMany scans every row of a query.
func queryMany[T any](ctx context.Context, q querier, scan func(scanner) (T, error), sql string, args ...any) ([]T, error) {
	var out []T
	err := retryRead(ctx, q, func() error {
		out = nil
		rows, err := q.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			v, err := scan(rows)
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		return rows.Err()
	})
	return out, err
}

// retryRead runs a read on the pool once more when its connection turned
// out to be dead (the server restarted, failed over, or ended the session)
// and the next one may well be alive: a read has no effects to repeat, and
// without this every idle connection would fail one request after a
// failover. Reads inside a transaction are not retried; their connection
// is the transaction.
func retryRead(ctx context.Context, q querier, read func() error) error {
	err := read()
	if _, pooled := q.(*connPool); pooled && err != nil && ctx.Err() == nil && isUnavailable(err) {
		err = read()
	}
	return err
}

// Times are kept at microseconds, what timestamptz stores: normalizing
// them on the way in makes the record a caller holds after a write equal
// to the one a later read returns.

func normTime(t *time.Time) { *t = time.UnixMicro(t.UnixMicro()).UTC() }

func normTimePtr(t *time.Time) {
	if t != nil {
		normTime(t)
	}
}

// stamp fills a zero time from the clock, then normalizes it.
func stamp(t *time.Time, now time.Time) {
	if t.IsZero() {
		*t = now
	}
	normTime(t)
}

// list makes nil slices empty arrays: the columns are NOT NULL.
func list(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

// jsonMap encodes a string map as jsonb text ("{}" for none).
func jsonMap(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "{}" // a map[string]string always encodes
	}
	return string(b)
}

// emptyNil turns the empty map a jsonb '{}' scans into back into nil, as
// records are written.
func emptyNil(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// nonNil keeps NOT NULL bytea columns from receiving NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// pageLimit applies the contract's default (100) and ceiling (1000).
func pageLimit(n int) int {
	switch {
	case n <= 0:
		return 100
	case n > 1000:
		return 1000
	}
	return n
}

// listPage turns the extra row of a limit+1 query into a next cursor.
func listPage[T any](items []T, err error, limit int, id func(*T) int64) ([]T, string, error) {
	if err != nil {
		return nil, "", err
	}
	if len(items) <= limit {
		return items, "", nil
	}
	items = items[:limit]
	return items, encodeListCursor(id(&items[limit-1])), nil
}

// Simple collections page by int_id; the cursor (the same format as the
// SQLite store's, so a client cannot tell them apart) is the last id seen.

const listCursorPrefix = "id:"

func encodeListCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(listCursorPrefix + strconv.FormatInt(id, 10)))
}

func decodeListCursor(c string) (int64, error) {
	if c == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !strings.HasPrefix(string(b), listCursorPrefix) {
		return 0, fmt.Errorf("postgres: list cursor %q: %w", c, store.ErrBadCursor)
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(string(b), listCursorPrefix), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("postgres: list cursor %q: %w", c, store.ErrBadCursor)
	}
	return id, nil
}

// SQLSTATE codes the store maps.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
)

// mapErr turns driver errors into store sentinels, wrapped with what failed.
func mapErr(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: %s: %w", what, store.ErrNotFound)
	}
	if isUnavailable(err) {
		return fmt.Errorf("postgres: %s: %w (%w)", what, store.ErrUnavailable, err)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case codeUniqueViolation:
			return fmt.Errorf("postgres: %s: %w (%w)", what, store.ErrDuplicate, err)
		case codeForeignKeyViolation:
			// A reference to a missing row, or a delete of a row still
			// referenced (a template or CA in use by a profile).
			return fmt.Errorf("postgres: %s: %w (%w)", what, store.ErrConflict, err)
		}
	}
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrDuplicate) || errors.Is(err, store.ErrConflict) ||
		errors.Is(err, store.ErrBadCursor) || errors.Is(err, store.ErrUnavailable) {
		return err // already mapped and described
	}
	return fmt.Errorf("postgres: %s: %w", what, err)
}

// affectedOne maps "no row changed" to miss.
func affectedOne(tag pgconn.CommandTag, err error, miss error, what string) error {
	if err != nil {
		return mapErr(err, what)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: %s: %w", what, miss)
	}
	return nil
}

// isPgError reports whether err came from the server (the transaction is
// then in the aborted state) rather than from the connection.
func isPgError(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe)
}

// isUnavailable reports whether err means the database cannot be reached
// or cannot take writes right now (a lost connection, a server shutting
// down or starting, a failover leaving a read-only node): what
// store.ErrUnavailable tells callers, who may retry later. The caller's own
// cancellation or deadline is not that.
func isUnavailable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true // whatever refused the connection (down, unknown database, authentication)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// 08: connection exception; 57P: operator intervention (shutdown,
		// cannot connect now); 53300: too many connections; 25006: read-only
		// transaction (a standby, during failover).
		return strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "57P") || pe.Code == "53300" ||
			pe.Code == "25006"
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF)
}
