package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/signet-pki/signet/internal/store"
)

// Times are stored as unix microseconds UTC (see migrations/0001_schema.sql).

func toDB(t time.Time) int64 { return t.UnixMicro() }

func fromDB(n int64) time.Time { return time.UnixMicro(n).UTC() }

// normTime rounds *t to what the database keeps, so a record the caller
// holds after an insert equals the one a later read returns.
func normTime(t *time.Time) {
	*t = fromDB(toDB(*t))
}

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

func toDBPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return toDB(*t)
}

func fromDBPtr(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromDB(n.Int64)
	return &t
}

// blob stores nil as NULL so that nil and empty round trip as nil.
func blob(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// jsonText encodes slices as JSON; a nil slice stays distinguishable ("null").
func jsonText(v []string) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

func fromJSONText(s string) ([]string, error) {
	var v []string
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, fmt.Errorf("decode stored list: %w", err)
	}
	return v, nil
}

// scanner is a *sql.Rows positioned on a row.
type scanner interface{ Scan(dest ...any) error }

// queryOne runs a query expected to return at most one row and scans it;
// no row is sql.ErrNoRows, as with *sql.Row.
func queryOne(ctx context.Context, q querier, scan func(scanner) error, query string, args ...any) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := scan(rows); err != nil {
		return err
	}
	return rows.Close()
}

// queryMany scans every row of a query.
func queryMany[T any](ctx context.Context, q querier, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
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

// listPage runs a query that selected limit+1 rows and turns the extra row
// into a next cursor.
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

// mapErr turns driver errors into store sentinels, wrapped with what failed.
func mapErr(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%s: %w (%v)", what, store.ErrDuplicate, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			// A reference to a missing row, or a delete of a row still referenced
			// (a template or CA in use by a profile): the state forbids it.
			return fmt.Errorf("%s: %w (%v)", what, store.ErrConflict, err)
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// affectedOne maps "no row changed" to miss (ErrNotFound, or ErrConflict for
// conditional updates).
func affectedOne(res sql.Result, err error, miss error, what string) error {
	if err != nil {
		return mapErr(err, what)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, miss)
	}
	return nil
}

// jsonMap encodes a string map ("{}" for none). encoding/json sorts keys, so
// equal maps are equal text.
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

// fromJSONMap decodes jsonMap's text; an empty map comes back nil.
func fromJSONMap(s string) (map[string]string, error) {
	if s == "" || s == "{}" {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("decode stored map: %w", err)
	}
	return m, nil
}
