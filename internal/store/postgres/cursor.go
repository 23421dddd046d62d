package postgres

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

// certSort is a validated sort order.
type certSort struct {
	name string // as in CertificateQuery.Sort, e.g. "-not_after"
	col  string // the column sorted on
	desc bool
	text bool // the key is text (common name), else a time
}

func parseSort(s string) (certSort, error) {
	if s == "" {
		s = "-created_at"
	}
	srt := certSort{name: s, desc: strings.HasPrefix(s, "-")}
	switch strings.TrimPrefix(s, "-") {
	case "not_after":
		srt.col = "not_after"
	case "created_at":
		srt.col = "created_at"
	case "common_name":
		srt.col, srt.text = "cn_lower", true
	default:
		return srt, fmt.Errorf("postgres: unknown certificate sort %q", s)
	}
	return srt, nil
}

// orderBy orders by key, then id (ties), in the sort's direction.
func (s certSort) orderBy(key, id string) string {
	dir := " ASC"
	if s.desc {
		dir = " DESC"
	}
	return " ORDER BY " + key + dir + ", " + id + dir
}

// after is the condition for rows past the cursor: one row comparison,
// which the sort's index, ordered by (key, int_id), seeks to directly.
func (s certSort) after(cur *certCursor) certFilter {
	op := ">"
	if s.desc {
		op = "<"
	}
	var key any = time.UnixMicro(cur.Int).UTC()
	if s.text {
		key = cur.Str
	}
	return certFilter{cond: "(c." + s.col + ", c.int_id) " + op + " (?, ?)", args: []any{key, cur.ID}}
}

// certCursor is the keyset position after the last item of a page: its sort
// key and int id, and the sort it belongs to, so that a cursor replayed
// with another sort is refused instead of silently skipping rows. Cursors
// are opaque to clients (base64url) but carry no secrets. The format is
// store/sqlite's.
type certCursor struct {
	Sort string `json:"s"`
	Int  int64  `json:"n,omitempty"`
	Str  string `json:"t,omitempty"`
	ID   int64  `json:"i"`
}

func encodeCertCursor(srt certSort, c *store.Certificate) string {
	cur := certCursor{Sort: srt.name, ID: c.IntID}
	switch srt.col {
	case "not_after":
		cur.Int = c.NotAfter.UnixMicro()
	case "created_at":
		cur.Int = c.CreatedAt.UnixMicro()
	default:
		cur.Str = strings.ToLower(c.CommonName)
	}
	b, _ := json.Marshal(cur) // a struct of strings and ints always encodes
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCertCursor(s string, srt certSort) (*certCursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("postgres: certificate cursor: %w", store.ErrBadCursor)
	}
	var cur certCursor
	if err := json.Unmarshal(b, &cur); err != nil || cur.ID <= 0 {
		return nil, fmt.Errorf("postgres: certificate cursor: %w", store.ErrBadCursor)
	}
	if cur.Sort != srt.name {
		return nil, fmt.Errorf("postgres: certificate cursor is for sort %q, not %q: %w", cur.Sort, srt.name, store.ErrBadCursor)
	}
	return &cur, nil
}

// onlyStatusAndCA reports whether q filters on nothing but statuses and a
// CA. It compares with the zero query rather than listing the other
// filters, so that a filter added to CertificateQuery later makes totals
// exact counts (correct, if slower) until the stats learn about it.
func onlyStatusAndCA(q store.CertificateQuery) bool {
	q.Statuses, q.CAID = nil, ""
	q.Now, q.Sort, q.Limit, q.Cursor, q.WithTotal = time.Time{}, "", 0, "", false
	return reflect.ValueOf(q).IsZero()
}
