package sectigo

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/signet-pki/signet/internal/certutil"
	"github.com/signet-pki/signet/internal/store"
)

// listItem is one entry of GET /api/ssl/v1.
type listItem struct {
	SSLID        int64    `json:"sslId"`
	CommonName   string   `json:"commonName"`
	SANs         []string `json:"subjectAlternativeNames"`
	SerialNumber string   `json:"serialNumber,omitempty"`
}

// paging reads size and position (defaults 10 and 0; size at most 200).
func paging(q url.Values) (size, position int, err error) {
	size, position = 10, 0
	if s := q.Get("size"); s != "" {
		if size, err = strconv.Atoi(s); err != nil || size < 1 || size > 200 {
			return 0, 0, errInvalidField("size")
		}
	}
	if s := q.Get("position"); s != "" {
		if position, err = strconv.Atoi(s); err != nil || position < 0 {
			return 0, 0, errInvalidField("position")
		}
	}
	return size, position, nil
}

// maxScan bounds the certificates a filter the store cannot apply may read.
const maxScan = 100_000

// certFilter is a list filter the store cannot apply, checked per certificate.
type certFilter func(c *store.Certificate, x *x509.Certificate) bool

func (h *Handler) listQuery(c *call, q url.Values) (store.CertificateQuery, []certFilter, error) {
	cq := store.CertificateQuery{OrgID: c.org.ID, Now: h.d.Now(), WithTotal: true}
	var post []certFilter
	if v := q.Get("commonName"); v != "" {
		cq.Name = v // the common name or a SAN, exactly (case-insensitive)
	}
	if v := q.Get("subjectAlternativeName"); v != "" {
		cq.Name = v
	}
	switch q.Get("status") {
	case "":
	case stIssued:
		cq.Statuses = []string{store.CertActive}
	case stRevoked:
		cq.Statuses = []string{store.CertRevoked, store.CertOnHold}
	case stExpired:
		cq.Statuses = []string{store.CertExpired}
	default:
		return cq, nil, errInvalidField("status")
	}
	for _, key := range []string{"sslTypeId", "certTypeId"} {
		if v := q.Get(key); v != "" {
			id, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return cq, nil, errInvalidField(key)
			}
			p, err := h.profileByID(c, id)
			if err != nil {
				return cq, nil, err
			}
			cq.ProfileID = p.Profile.ID
		}
	}
	if v := q.Get("orgId"); v != "" {
		owner, err := h.orgOrDepartment(c, v, "orgId")
		if err != nil {
			return cq, nil, err
		}
		cq.Owner = owner
	}
	if v := q.Get("serialNumber"); v != "" {
		canon, err := certutil.NormalizeSerial(v)
		if err != nil {
			return cq, nil, errInvalidField("serialNumber")
		}
		cq.Serial = canon
	}
	if v := q.Get("sha256Hash"); v != "" {
		cq.SHA256 = strings.ToLower(strings.ReplaceAll(v, ":", ""))
	}
	post = append(post, postFilters(q)...)
	post = append(post, h.requesterFilters(c, q)...)
	return cq, post, nil
}

// postFilters are the document's filters on certificate contents.
func postFilters(q url.Values) []certFilter {
	var out []certFilter
	eq := func(key string, get func(s *store.Certificate, x *x509.Certificate) string) {
		if v := q.Get(key); v != "" {
			out = append(out, func(s *store.Certificate, x *x509.Certificate) bool { return strings.EqualFold(get(s, x), v) })
		}
	}
	eq("sha1Hash", func(s *store.Certificate, _ *x509.Certificate) string { return s.SHA1 })
	eq("md5Hash", func(s *store.Certificate, _ *x509.Certificate) string { m, _, _ := hashes(s.DER); return m })
	eq("issuer", func(s *store.Certificate, _ *x509.Certificate) string { return s.Issuer })
	eq("signatureAlgorithm", func(_ *store.Certificate, x *x509.Certificate) string { return sigAlgName(x.SignatureAlgorithm) })
	keyInfo := func(x *x509.Certificate) (string, string) {
		alg, bits := certutil.KeyInfo(x.PublicKey)
		if alg = strings.ToUpper(alg); alg == "ECDSA" {
			return "EC", "P-" + strconv.Itoa(bits)
		}
		return alg, strconv.Itoa(bits)
	}
	eq("keyAlgorithm", func(_ *store.Certificate, x *x509.Certificate) string { a, _ := keyInfo(x); return a })
	eq("keyParam", func(_ *store.Certificate, x *x509.Certificate) string { _, p := keyInfo(x); return p })
	eq("keySize", func(_ *store.Certificate, x *x509.Certificate) string {
		_, p := keyInfo(x)
		return strings.TrimPrefix(p, "P-")
	})
	eq("requestedVia", func(s *store.Certificate, _ *x509.Certificate) string {
		return requestedViaFilter[requestedVia(s.Method, s.Source)]
	})
	eq("installStatus", func(*store.Certificate, *x509.Certificate) string { return "NONE" }) // no auto-installation
	eq("vendor", func(*store.Certificate, *x509.Certificate) string { return "" })
	eq("renewalStatus", func(s *store.Certificate, _ *x509.Certificate) string {
		if s.RenewedBy != "" {
			return "SUCCESSFUL"
		}
		return "NOT_SCHEDULED"
	})
	eq("discoveryStatus", func(s *store.Certificate, _ *x509.Certificate) string {
		if s.Source == store.SourceDiscovered {
			return "Deployed"
		}
		return "NotDeployed"
	})
	for _, key := range []string{"keyUsage", "extendedKeyUsage"} {
		if v := q.Get(key); v != "" {
			ext := key == "extendedKeyUsage"
			out = append(out, func(_ *store.Certificate, x *x509.Certificate) bool {
				ku, eku := keyUsages(x)
				if ext {
					ku = eku
				}
				return slices.ContainsFunc(ku, func(u string) bool { return strings.EqualFold(u, v) })
			})
		}
	}
	return out
}

// requesterFilters are requester (the requesting principal's name, email
// or id) and externalRequester (part of the record's external requester).
func (h *Handler) requesterFilters(c *call, q url.Values) []certFilter {
	var out []certFilter
	if v := q.Get("requester"); v != "" {
		out = append(out, func(s *store.Certificate, _ *x509.Certificate) bool {
			if s.RequestID == "" {
				return false
			}
			r, err := h.d.Issuance.GetRequest(c.ctx, s.RequestID)
			if err != nil {
				return false
			}
			return strings.EqualFold(r.RequesterID, v) || strings.EqualFold(h.principalName(c, r.RequesterID), v)
		})
	}
	if v := strings.ToLower(q.Get("externalRequester")); v != "" {
		out = append(out, func(s *store.Certificate, _ *x509.Certificate) bool {
			if s.RequestID == "" {
				return false
			}
			r, err := h.d.Issuance.GetRequest(c.ctx, s.RequestID)
			if err != nil {
				return false
			}
			o, err := h.d.Store.GetProtocolObject(c.ctx, kindSSL, strconv.FormatInt(r.IntID, 10))
			if err != nil {
				return false
			}
			var rec record
			return json.Unmarshal(o.Data, &rec) == nil && strings.Contains(strings.ToLower(rec.ExternalRequester), v)
		})
	}
	return out
}

// principalName shows a principal by name, or by id when the caller may not look it up.
func (h *Handler) principalName(c *call, id string) string {
	if p, err := h.d.Directory.Principal(c.ctx, id); err == nil {
		return p.Name
	}
	return id
}

// search runs the list query: straight paging in the store when every
// filter maps onto it, else a bounded scan applying the rest.
func (h *Handler) search(c *call, size, position int) ([]store.Certificate, int64, error) {
	cq, post, err := h.listQuery(c, c.r.URL.Query())
	if err != nil {
		return nil, 0, err
	}
	want := position + size
	var out []store.Certificate
	var total int64
	scanned := 0
	for {
		cq.Limit = 1000
		if len(post) == 0 {
			cq.Limit = min(1000, max(1, want-len(out)))
		}
		page, err := h.d.Inventory.Search(c.ctx, cq)
		if err != nil {
			return nil, 0, err
		}
		if len(post) == 0 && cq.Cursor == "" {
			total = page.Total
		}
		for i := range page.Items {
			it := page.Items[i]
			if len(post) > 0 && !matchAll(post, &it) {
				continue
			}
			if len(post) > 0 {
				total++
			}
			out = append(out, it)
		}
		scanned += len(page.Items)
		cq.Cursor, cq.WithTotal = page.NextCursor, false
		if page.NextCursor == "" || (len(post) == 0 && len(out) >= want) {
			break
		}
		if scanned >= maxScan {
			return nil, 0, errInvalidField("filter (too many certificates to scan; narrow the query)")
		}
	}
	if position >= len(out) {
		return nil, total, nil
	}
	return out[position:min(len(out), want)], total, nil
}

func matchAll(fs []certFilter, s *store.Certificate) bool {
	x, err := x509.ParseCertificate(s.DER)
	if err != nil {
		return false
	}
	for _, f := range fs {
		if !f(s, x) {
			return false
		}
	}
	return true
}

// requestStatuses are the list statuses of requests not (yet) certificates.
var requestStatuses = map[string]string{stRequested: store.RequestPending, stApproved: store.RequestApproved,
	stDeclined: store.RequestRejected, stRejected: store.RequestRejected}

// listRequests answers status=Requested|Approved|Declined|Rejected from
// the request queue.
func (h *Handler) listRequests(c *call, status string, size, position int) ([]listItem, int64, error) {
	var items []listItem
	var total int64
	cursor := ""
	for {
		reqs, next, err := h.d.Issuance.ListRequests(c.ctx, store.ListQuery{OrgID: c.org.ID, Status: status, Limit: 500, Cursor: cursor})
		if err != nil {
			return nil, 0, err
		}
		for _, r := range reqs {
			if total >= int64(position) && len(items) < size {
				rec := record{RequestID: r.ID}
				if _, err := h.putRecord(c.ctx, r.IntID, r.OrgID, rec); err != nil {
					return nil, 0, err
				}
				items = append(items, listItem{SSLID: r.IntID, CommonName: requestCN(&r), SANs: []string{}})
			}
			total++
		}
		if next == "" || total > maxScan {
			return items, total, nil
		}
		cursor = next
	}
}

func requestCN(r *store.Request) string {
	if blk, _ := pem.Decode([]byte(r.CSRPEM)); blk != nil {
		if csr, err := x509.ParseCertificateRequest(blk.Bytes); err == nil {
			return csr.Subject.CommonName
		}
	}
	return ""
}

func (h *Handler) list(w http.ResponseWriter, c *call) error {
	size, position, err := paging(c.r.URL.Query())
	if err != nil {
		return err
	}
	var items []listItem
	var total int64
	if st, ok := requestStatuses[c.r.URL.Query().Get("status")]; ok {
		if items, total, err = h.listRequests(c, st, size, position); err != nil {
			return err
		}
	} else {
		certs, n, err := h.search(c, size, position)
		if err != nil {
			return err
		}
		total = n
		for i := range certs {
			v, err := h.recordFor(c, &certs[i])
			if err != nil {
				return err
			}
			sans := certs[i].SANs
			if sans == nil {
				sans = []string{}
			}
			items = append(items, listItem{SSLID: v.id, CommonName: certs[i].CommonName, SANs: sans, SerialNumber: colonSerial(certs[i].Serial)})
		}
	}
	if items == nil {
		items = []listItem{}
	}
	w.Header().Set("X-Total-Count", strconv.FormatInt(total, 10))
	if c.r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return nil
	}
	return writeJSON(w, http.StatusOK, items)
}
