package digicert

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/certutil"
	"github.com/signet-pki/signet/internal/store"
)

// searchStatuses maps the vendor's search status filter to Signet's.
var searchStatuses = map[string]string{"issued": store.CertActive, "revoked": store.CertRevoked,
	"suspended": store.CertOnHold, "expired": "expired"}

// maxScan bounds the certificates one search reads when a filter has to be
// applied here rather than by the store (valid_from, aki, seat_type_id, a
// CA name shared by several CAs): the answer's total then counts the
// matches among them.
const maxScan = 100000

// keepFunc is a filter the store cannot apply.
type keepFunc func(ctx context.Context, c *store.Certificate) bool

// errEmpty says a filter names nothing that exists: the search matches
// nothing (as the vendor answers an unknown id in a filter), which is not
// an error.
type errEmpty struct{}

func (errEmpty) Error() string { return "the filter matches nothing" }

// search is /certificate-search: the OpenAPI's CertificateSearchParameters
// over the inventory, paged by offset and limit, with the PaginationResult
// envelope. What the store indexes is filtered there; the rest by a bounded
// scan of the store's matches.
func (h *Handler) search(w http.ResponseWriter, r *http.Request) error {
	limit, offset, err := paging(r, 20, 1000)
	if err != nil {
		return err
	}
	cq, keep, err := h.searchQuery(r.Context(), r.URL.Query())
	if errors.As(err, new(errEmpty)) {
		return writeJSON(w, http.StatusOK, page(limit, offset, 0, []certificateDoc{}))
	}
	if err != nil {
		return err
	}
	items, total, err := h.searchPage(r.Context(), cq, offset, limit, keep)
	if err != nil {
		return err
	}
	docs := make([]certificateDoc, 0, len(items))
	for i := range items {
		docs = append(docs, h.certificateDoc(r.Context(), &items[i]))
	}
	return writeJSON(w, http.StatusOK, page(limit, offset, total, docs))
}

// searchQuery turns the vendor's filters into a store query and the
// filters left for the scan.
func (h *Handler) searchQuery(ctx context.Context, q url.Values) (store.CertificateQuery, []keepFunc, error) {
	cq := store.CertificateQuery{Now: h.d.Now(), Contains: q.Get("common_name"), Sort: "-created_at", WithTotal: true}
	var keep []keepFunc
	if v := q.Get("profile_id"); v != "" {
		p, err := h.d.Profiles.GetProfile(ctx, v)
		if errNotFound(err) {
			return cq, nil, errEmpty{}
		}
		if err != nil {
			return cq, nil, err
		}
		cq.ProfileID = p.ID
	}
	if v := q.Get("seat_id"); v != "" {
		cq.Labels = map[string]string{seatLabel: v}
	}
	if v := q.Get("serial_number"); v != "" {
		canon, err := certutil.NormalizeSerial(v)
		if err != nil {
			return cq, nil, fieldErr("serial_number", "invalid_input", "serial_number is not a hex serial number")
		}
		cq.Serial = canon
	}
	if v := q.Get("thumbprint"); v != "" {
		tp, err := certutil.NormalizeFingerprint(v)
		if err != nil || len(tp) != 64 {
			return cq, nil, fieldErr("thumbprint", "invalid_input", "thumbprint must be a SHA-256 thumbprint (64 hex digits)")
		}
		cq.SHA256 = tp
	}
	if v := q.Get("status"); v != "" {
		st, ok := searchStatuses[strings.ToLower(v)]
		if !ok {
			return cq, nil, fieldErr("status", "invalid_input", "status must be ISSUED, EXPIRED, REVOKED or SUSPENDED")
		}
		cq.Statuses = []string{st}
	}
	if err := h.orgFilter(ctx, q, &cq); err != nil {
		return cq, nil, err
	}
	if err := h.dateFilters(q, &cq, &keep); err != nil {
		return cq, nil, err
	}
	if err := h.issuerFilters(ctx, q, &cq, &keep); err != nil {
		return cq, nil, err
	}
	if v := q.Get("seat_type_id"); v != "" {
		st, err := seatType(v)
		if err != nil {
			return cq, nil, fieldErr("seat_type_id", "invalid_input", "seat_type_id must be USER_SEAT, DEVICE_SEAT or SERVER_SEAT")
		}
		keep = append(keep, h.seatTypeFilter(st))
	}
	return cq, keep, nil
}

// orgFilter: business_unit_id, business_unit_name and account_id all name
// the Signet organization (the status document's business_unit and
// account). One the caller may not see is refused as on the native API.
func (h *Handler) orgFilter(ctx context.Context, q url.Values, cq *store.CertificateQuery) error {
	for _, name := range []string{"business_unit_id", "business_unit_name", "account_id"} {
		v := q.Get(name)
		if v == "" {
			continue
		}
		o, err := h.d.Directory.Organization(ctx, v)
		if errNotFound(err) {
			return errEmpty{}
		}
		if err != nil {
			return err
		}
		if cq.OrgID != "" && cq.OrgID != o.ID {
			return errEmpty{}
		}
		cq.OrgID = o.ID
	}
	return nil
}

// dateFilters: valid_to ("certificates expiring before") is the store's
// expiry bound; valid_from ("certificates issued after") is scanned.
func (h *Handler) dateFilters(q url.Values, cq *store.CertificateQuery, keep *[]keepFunc) error {
	if v := q.Get("valid_to"); v != "" {
		t, err := parseSearchDate(v)
		if err != nil {
			return fieldErr("valid_to", "invalid_input", "valid_to must be a date (yyyy-MM-dd) or a time (yyyy-MM-ddTHH:mm:ssZ)")
		}
		cq.ExpiresBefore = &t
	}
	if v := q.Get("valid_from"); v != "" {
		t, err := parseSearchDate(v)
		if err != nil {
			return fieldErr("valid_from", "invalid_input", "valid_from must be a date (yyyy-MM-dd) or a time (yyyy-MM-ddTHH:mm:ssZ)")
		}
		*keep = append(*keep, func(_ context.Context, c *store.Certificate) bool { return !c.NotBefore.Before(t) })
	}
	return nil
}

// parseSearchDate reads the vendor's date forms: its own
// "yyyy-MM-ddTHH:mm:ssZ" (RFC 3339), "yyyy-MM-dd HH:mm:ss" or a date.
func parseSearchDate(s string) (time.Time, error) {
	var err error
	for _, layout := range []string{time.RFC3339, "2006-01-02 15:04:05", "2006-01-02"} {
		var t time.Time
		if t, err = time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, err
}

// issuerFilters: issuing_ca_id (a Signet CA id or name), issuing_ca_name
// (the issuing CA certificate's common name, as the status document shows
// it, or the Signet CA's name), issuing_ca_serial_number (hex, any form,
// or the decimal the profile document shows) and aki (the authority key
// identifier in hex, colons allowed).
func (h *Handler) issuerFilters(ctx context.Context, q url.Values, cq *store.CertificateQuery, keep *[]keepFunc) error {
	if v := q.Get("issuing_ca_id"); v != "" {
		ca, err := h.d.CAs.Resolve(ctx, v)
		if errNotFound(err) {
			return errEmpty{}
		}
		if err != nil {
			return err
		}
		cq.CAID = ca.ID
	}
	name, serial := q.Get("issuing_ca_name"), q.Get("issuing_ca_serial_number")
	if name == "" && serial == "" {
		return h.akiFilter(q.Get("aki"), keep)
	}
	hexSerial := ""
	if serial != "" {
		canon, err := certutil.NormalizeSerial(serial)
		if err != nil {
			return fieldErr("issuing_ca_serial_number", "invalid_input", "issuing_ca_serial_number is not a serial number")
		}
		hexSerial = canon
	}
	cas, _, err := h.d.CAs.List(ctx, store.ListQuery{Limit: 1000})
	if err != nil {
		return err
	}
	var ids []string
	for _, ca := range cas {
		cert, err := x509.ParseCertificate(ca.CertDER)
		if err != nil {
			continue
		}
		if name != "" && !strings.EqualFold(name, cert.Subject.CommonName) && !strings.EqualFold(name, ca.Name) {
			continue
		}
		if serial != "" && cert.SerialNumber.Text(16) != hexSerial && cert.SerialNumber.String() != serial {
			continue
		}
		if cq.CAID == "" || cq.CAID == ca.ID {
			ids = append(ids, ca.ID)
		}
	}
	switch len(ids) {
	case 0:
		return errEmpty{}
	case 1:
		cq.CAID = ids[0]
	default:
		*keep = append(*keep, func(_ context.Context, c *store.Certificate) bool { return slices.Contains(ids, c.CAID) })
	}
	return h.akiFilter(q.Get("aki"), keep)
}

// akiFilter compares the certificate's authority key identifier, so that
// imported certificates of other issuers are found too.
func (h *Handler) akiFilter(v string, keep *[]keepFunc) error {
	if v == "" {
		return nil
	}
	aki, err := hex.DecodeString(strings.NewReplacer(":", "", " ", "").Replace(v))
	if err != nil || len(aki) == 0 || len(aki) > 64 {
		return fieldErr("aki", "invalid_input", "aki must be the authority key identifier in hex")
	}
	*keep = append(*keep, func(_ context.Context, c *store.Certificate) bool {
		leaf, err := x509.ParseCertificate(c.DER)
		return err == nil && string(leaf.AuthorityKeyId) == string(aki)
	})
	return nil
}

// seatTypeFilter keeps certificates whose seat is of type st. Seats are
// read once per search.
func (h *Handler) seatTypeFilter(st string) keepFunc {
	types := map[string]string{}
	return func(ctx context.Context, c *store.Certificate) bool {
		key := seatKey(c.OrgID, h.seatOf(ctx, c))
		t, ok := types[key]
		if !ok {
			if s, err := h.loadSeat(ctx, c.OrgID, h.seatOf(ctx, c)); err == nil {
				t = s.SeatType
			}
			types[key] = t
		}
		return t == st
	}
}

// searchPage walks Signet's cursor pages to the requested offset. Without
// scan filters the store counts the total; with them, the matches among at
// most maxScan certificates are counted here.
func (h *Handler) searchPage(ctx context.Context, cq store.CertificateQuery, offset, limit int, keep []keepFunc) ([]store.Certificate, int64, error) {
	var (
		out              []store.Certificate
		total, matched   int64
		scanned          int
		countedByTheScan = len(keep) > 0
	)
	cq.WithTotal = !countedByTheScan
	for {
		cq.Limit = 1000
		pg, err := h.d.Inventory.Search(ctx, cq)
		if err != nil {
			return nil, 0, err
		}
		if cq.WithTotal {
			total, cq.WithTotal = pg.Total, false
		}
		for i := range pg.Items {
			scanned++
			if !keepAll(ctx, keep, &pg.Items[i]) {
				continue
			}
			if matched >= int64(offset) && len(out) < limit {
				out = append(out, pg.Items[i])
			}
			matched++
		}
		done := pg.NextCursor == "" || scanned >= maxScan
		if !countedByTheScan && len(out) >= limit {
			done = true
		}
		if done {
			if countedByTheScan {
				total = matched
			}
			return out, total, nil
		}
		cq.Cursor = pg.NextCursor
	}
}

func keepAll(ctx context.Context, keep []keepFunc, c *store.Certificate) bool {
	for _, k := range keep {
		if !k(ctx, c) {
			return false
		}
	}
	return true
}
