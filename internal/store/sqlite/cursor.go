package sqlite

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/signet-pki/signet/internal/store"
)

// Cursors are opaque to clients (base64url) but carry no secrets: they only
// say where the previous page ended.

// Simple collections page by int_id; the cursor is the last id seen.

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
		return 0, fmt.Errorf("list cursor %q: %w", c, store.ErrBadCursor)
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(string(b), listCursorPrefix), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("list cursor %q: %w", c, store.ErrBadCursor)
	}
	return id, nil
}

// certCursor is the keyset position after the last item of an inventory
// page: its sort key and int id, and the sort it belongs to, so a cursor
// replayed with another sort is refused instead of silently skipping rows.
type certCursor struct {
	Sort string `json:"s"`
	Int  int64  `json:"n,omitempty"`
	Str  string `json:"t,omitempty"`
	ID   int64  `json:"i"`
}

func encodeCertCursor(srt certSort, c *store.Certificate) string {
	cur := certCursor{Sort: srt.name, ID: c.IntID}
	switch srt.col {
	case "c.not_after":
		cur.Int = toDB(c.NotAfter)
	case "c.created_at":
		cur.Int = toDB(c.CreatedAt)
	default:
		cur.Str = strings.ToLower(c.CommonName)
	}
	b, _ := json.Marshal(cur) // a struct of strings and ints always encodes
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCertCursor(s string, srt certSort) (*certCursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("certificate cursor: %w", store.ErrBadCursor)
	}
	var cur certCursor
	if err := json.Unmarshal(b, &cur); err != nil || cur.ID <= 0 {
		return nil, fmt.Errorf("certificate cursor: %w", store.ErrBadCursor)
	}
	if cur.Sort != srt.name {
		return nil, fmt.Errorf("certificate cursor is for sort %q, not %q: %w", cur.Sort, srt.name, store.ErrBadCursor)
	}
	return &cur, nil
}
