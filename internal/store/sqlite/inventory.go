package sqlite

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

// sortColumns maps the API's sort names to indexed columns.
var sortColumns = map[string]string{"not_after": "c.not_after", "created_at": "c.created_at", "common_name": "c.cn_lower"}

// certCursor is the keyset position after the last item of a page.
type certCursor struct {
	Sort string `json:"s"`
	Int  int64  `json:"i,omitempty"`
	Str  string `json:"t,omitempty"`
	ID   int64  `json:"id"`
}

// where accumulates a WHERE clause and its arguments.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

func filters(q store.CertificateQuery) *where {
	w := &where{}
	now := ts(q.Now)
	if len(q.Statuses) > 0 {
		var ors []string
		for _, st := range q.Statuses {
			switch st {
			case store.CertActive:
				ors = append(ors, "(c.status = 'active' AND c.not_after > ?)")
				w.args = append(w.args, now)
			case store.CertExpired:
				ors = append(ors, "(c.status = 'active' AND c.not_after <= ?)")
				w.args = append(w.args, now)
			default:
				ors = append(ors, "c.status = ?")
				w.args = append(w.args, st)
			}
		}
		w.conds = append(w.conds, "("+strings.Join(ors, " OR ")+")")
	}
	for col, v := range map[string]string{"c.ca_id": q.CAID, "c.profile_id": q.ProfileID, "c.owner": q.Owner,
		"c.source": q.Source, "c.serial": q.Serial, "c.sha256": q.SHA256} {
		if v != "" {
			w.add(col+" = ?", v)
		}
	}
	if q.Name != "" {
		w.add("c.int_id IN (SELECT cert_id FROM certificate_names WHERE name = ?)", strings.ToLower(q.Name))
	}
	if q.Contains != "" {
		w.add(containsCondition(strings.ToLower(q.Contains)))
	}
	if q.ExpiresBefore != nil {
		w.add("c.not_after < ?", ts(*q.ExpiresBefore))
	}
	if q.ExpiresAfter != nil {
		w.add("c.not_after >= ?", ts(*q.ExpiresAfter))
	}
	return w
}

// containsCondition uses the trigram index for three or more characters
// (the index cannot match shorter strings) and a scan of the name index otherwise.
func containsCondition(s string) (string, any) {
	if len([]rune(s)) >= 3 {
		return "c.int_id IN (SELECT rowid FROM certificate_names_fts WHERE certificate_names_fts MATCH ?)",
			`"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
	return `c.int_id IN (SELECT cert_id FROM certificate_names WHERE name LIKE ? ESCAPE '\')`, "%" + esc + "%"
}

// SearchCertificates runs an inventory query with keyset pagination.
func (r reader) SearchCertificates(ctx context.Context, q store.CertificateQuery) (*store.CertificatePage, error) {
	sortName, desc := strings.TrimPrefix(q.Sort, "-"), strings.HasPrefix(q.Sort, "-")
	if q.Sort == "" {
		sortName, desc = "created_at", true
	}
	col, ok := sortColumns[sortName]
	if !ok {
		return nil, fmt.Errorf("unknown sort %q", q.Sort)
	}
	limit := limitOf(q.Limit)
	w := filters(q)
	page := &store.CertificatePage{Total: -1}
	if q.WithTotal {
		if err := r.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM certificates c`+w.sql(), w.args...).Scan(&page.Total); err != nil {
			return nil, mapErr(err, "count certificates")
		}
	}
	if q.Cursor != "" {
		cur, err := decodeCursor(q.Cursor, sortName)
		if err != nil {
			return nil, err
		}
		var v any = cur.Int
		if sortName == "common_name" {
			v = cur.Str
		}
		op := ">"
		if desc {
			op = "<"
		}
		w.add(fmt.Sprintf("(%s %s ? OR (%s = ? AND c.int_id %s ?))", col, op, col, op), v, v, cur.ID)
	}
	dir := "ASC"
	if desc {
		dir = "DESC"
	}
	rows, err := r.q.QueryContext(ctx, `SELECT `+certColumns+certFrom+w.sql()+
		fmt.Sprintf(" ORDER BY %s %s, c.int_id %s LIMIT ?", col, dir, dir), append(w.args, limit+1)...)
	if err != nil {
		return nil, mapErr(err, "search certificates")
	}
	items, _, err := collect(rows, nil, limit+1, scanCertificate)
	if err != nil {
		return nil, mapErr(err, "scan certificates")
	}
	if len(items) > limit {
		items = items[:limit]
		last := items[limit-1]
		page.NextCursor = encodeCursor(sortName, &last)
	}
	page.Items = items
	return page, nil
}

func encodeCursor(sortName string, c *store.Certificate) string {
	cur := certCursor{Sort: sortName, ID: c.IntID}
	switch sortName {
	case "not_after":
		cur.Int = ts(c.NotAfter)
	case "created_at":
		cur.Int = ts(c.CreatedAt)
	case "common_name":
		cur.Str = strings.ToLower(c.CommonName)
	}
	b, _ := json.Marshal(cur)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s, sortName string) (*certCursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, store.ErrBadCursor
	}
	var cur certCursor
	if err := json.Unmarshal(b, &cur); err != nil || cur.Sort != sortName || cur.ID <= 0 {
		return nil, store.ErrBadCursor
	}
	return &cur, nil
}

// Summarize counts the inventory; each count is one indexed query.
func (r reader) Summarize(ctx context.Context, now time.Time) (*store.Summary, error) {
	s := &store.Summary{ByStatus: map[string]int64{store.CertActive: 0, store.CertExpired: 0, store.CertRevoked: 0, store.CertOnHold: 0},
		ByCA: map[string]int64{}}
	n := ts(now)
	rows, err := r.q.QueryContext(ctx, `SELECT status, COUNT(*) FROM certificates GROUP BY status`)
	if err != nil {
		return nil, mapErr(err, "summary by status")
	}
	for rows.Next() {
		var st string
		var c int64
		if err := rows.Scan(&st, &c); err != nil {
			rows.Close()
			return nil, mapErr(err, "summary by status")
		}
		s.ByStatus[st] = c
		s.Total += c
	}
	rows.Close()
	var expired int64
	counts := []struct {
		dst   *int64
		query string
		args  []any
	}{
		{&expired, `SELECT COUNT(*) FROM certificates WHERE status = 'active' AND not_after <= ?`, []any{n}},
		{&s.Expiring7, `SELECT COUNT(*) FROM certificates WHERE status = 'active' AND not_after > ? AND not_after <= ?`, []any{n, ts(now.AddDate(0, 0, 7))}},
		{&s.Expiring30, `SELECT COUNT(*) FROM certificates WHERE status = 'active' AND not_after > ? AND not_after <= ?`, []any{n, ts(now.AddDate(0, 0, 30))}},
		{&s.Expiring90, `SELECT COUNT(*) FROM certificates WHERE status = 'active' AND not_after > ? AND not_after <= ?`, []any{n, ts(now.AddDate(0, 0, 90))}},
	}
	for _, c := range counts {
		if err := r.q.QueryRowContext(ctx, c.query, c.args...).Scan(c.dst); err != nil {
			return nil, mapErr(err, "summary counts")
		}
	}
	s.ByStatus[store.CertExpired] = expired
	s.ByStatus[store.CertActive] -= expired
	rows, err = r.q.QueryContext(ctx, `SELECT ca_id, COUNT(*) FROM certificates GROUP BY ca_id`)
	if err != nil {
		return nil, mapErr(err, "summary by CA")
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var c int64
		if err := rows.Scan(&id, &c); err != nil {
			return nil, mapErr(err, "summary by CA")
		}
		s.ByCA[id] = c
	}
	return s, rows.Err()
}
