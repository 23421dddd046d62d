package sqlite

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

// querier is what both *sql.DB and *sql.Tx offer, so reads work in and out of transactions.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// reader implements store.Reader over a querier.
type reader struct{ q querier }

// txView is the store.Tx handed to update functions.
type txView struct {
	reader
	tx     *sql.Tx
	events []store.AuditEvent
}

func (t *txView) AppendAudit(ev store.AuditEvent) { t.events = append(t.events, ev) }

func ts(t time.Time) int64 { return t.UnixNano() }

func fromTS(n int64) time.Time { return time.Unix(0, n).UTC() }

func tsPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixNano()
}

func fromTSPtr(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromTS(n.Int64)
	return &t
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "null"
	}
	return string(b)
}

func fromJSON[T any](s string) T {
	var v T
	_ = json.Unmarshal([]byte(s), &v)
	return v
}

// listCursor pages simple collections by int id.
func listCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("i:%d", id)))
}

func parseListCursor(c string) (int64, error) {
	if c == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, store.ErrBadCursor
	}
	var id int64
	if _, err := fmt.Sscanf(string(b), "i:%d", &id); err != nil {
		return 0, store.ErrBadCursor
	}
	return id, nil
}

func limitOf(n int) int {
	if n <= 0 || n > 1000 {
		return 100
	}
	return n
}

// scanner is a row or rows.
type scanner interface{ Scan(dest ...any) error }

// collect pages through rows with scan, returning the next cursor when more exist.
func collect[T any](rows *sql.Rows, err error, limit int, scan func(scanner) (T, int64, error)) ([]T, string, error) {
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var out []T
	var lastID int64
	more := false
	for rows.Next() {
		if len(out) == limit {
			more = true
			break
		}
		v, id, err := scan(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, v)
		lastID = id
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if more {
		next = listCursor(lastID)
	}
	return out, next, nil
}

// affectedOne maps "no row changed" to ErrConflict (conditional updates) or ErrNotFound.
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
