package sectigo

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// kindSSL is a Sectigo certificate record: ID = the sslId (decimal), KeyID
// = its renewId, AccountID = the organization. It ties the number to the
// Signet request (or, for certificates without one, the serial) and keeps
// what only this API knows (comments, locations, the key-generation
// keystore). Status and every certificate fact come from issuance.
const kindSSL = "sectigo.ssl"

// kindKeystoreToken maps a one-time keystore download token's hash to its sslId.
const kindKeystoreToken = "sectigo.keystore"

// noRequestOffset keeps the sslIds of certificates that have no request
// (imported, discovered) apart from request ids: sslId = offset + the
// certificate's IntID.
const noRequestOffset = 1_000_000_000

type record struct {
	RequestID         string     `json:"request_id,omitempty"`
	Serial            string     `json:"serial,omitempty"` // only for certificates without a request
	Comments          string     `json:"comments,omitempty"`
	ExternalRequester string     `json:"external_requester,omitempty"`
	Term              int        `json:"term,omitempty"`
	Declined          bool       `json:"declined,omitempty"`
	Replaced          []string   `json:"replaced,omitempty"` // serials this record's certificate replaced
	ManualRenewal     string     `json:"manual_renewal,omitempty"`
	Keystore          []byte     `json:"keystore,omitempty"` // PKCS#12 sealed by the client's pass phrase
	KeystoreExpires   *time.Time `json:"keystore_expires,omitempty"`
	Locations         []location `json:"locations,omitempty"`
	NextLocation      int64      `json:"next_location,omitempty"`
}

type location struct {
	ID      int64             `json:"id"`
	Type    string            `json:"locationType"`
	Name    string            `json:"name"`
	Details map[string]string `json:"details"`
}

// view is a record with what the services say about it now.
type view struct {
	id      int64
	renewID string
	obj     *store.ProtocolObject
	rec     record
	req     *store.Request     // nil for certificates without a request
	cert    *store.Certificate // nil until issued
}

func newRenewID() (string, error) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 20)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			return "", fmt.Errorf("renew id: %w", err)
		}
		b[i] = alphabet[n.Int64()]
	}
	return string(b), nil
}

// putRecord creates the record for sslId unless it exists, and returns it.
func (h *Handler) putRecord(ctx context.Context, id int64, orgID string, rec record) (*store.ProtocolObject, error) {
	key := strconv.FormatInt(id, 10)
	if o, err := h.d.Store.GetProtocolObject(ctx, kindSSL, key); err == nil {
		return o, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("load sectigo record: %w", err)
	}
	renewID, err := newRenewID()
	if err != nil {
		return nil, err
	}
	data, _ := json.Marshal(rec)
	now := h.d.Now()
	o := &store.ProtocolObject{Kind: kindSSL, ID: key, AccountID: orgID, KeyID: renewID, Status: "ssl", Data: data, CreatedAt: now, UpdatedAt: now}
	err = h.d.Store.Update(ctx, func(tx store.Tx) error { return tx.InsertProtocolObject(ctx, o) })
	if errors.Is(err, store.ErrDuplicate) { // a concurrent call made it first
		return h.d.Store.GetProtocolObject(ctx, kindSSL, key)
	}
	if err != nil {
		return nil, fmt.Errorf("store sectigo record: %w", err)
	}
	return o, nil
}

// saveRecord writes a changed record back.
func (h *Handler) saveRecord(ctx context.Context, v *view) error {
	v.obj.Data, _ = json.Marshal(v.rec)
	v.obj.UpdatedAt = h.d.Now()
	return h.d.Store.Update(ctx, func(tx store.Tx) error { return tx.UpdateProtocolObject(ctx, v.obj, "ssl") })
}

// recordFor returns the record of an inventory certificate, creating it
// the first time the certificate is shown through this API.
func (h *Handler) recordFor(c *call, cert *store.Certificate) (*view, error) {
	var id int64
	var rec record
	var req *store.Request
	if cert.RequestID != "" {
		r, err := h.d.Issuance.GetRequest(c.ctx, cert.RequestID)
		if err != nil {
			return nil, err
		}
		id, rec.RequestID, req = r.IntID, r.ID, r
	} else {
		id, rec.Serial = noRequestOffset+cert.IntID, cert.Serial
	}
	o, err := h.putRecord(c.ctx, id, cert.OrgID, rec)
	if err != nil {
		return nil, err
	}
	v := &view{id: id, renewID: o.KeyID, obj: o, req: req, cert: cert}
	if err := json.Unmarshal(o.Data, &v.rec); err != nil {
		return nil, fmt.Errorf("decode sectigo record: %w", err)
	}
	return v, nil
}

// load resolves an sslId path parameter for the caller's organization.
func (h *Handler) load(c *call, raw string) (*view, error) {
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return nil, errWrongSSLID(raw)
	}
	o, err := h.d.Store.GetProtocolObject(c.ctx, kindSSL, strconv.FormatInt(id, 10))
	if errors.Is(err, store.ErrNotFound) {
		return nil, errWrongSSLID(raw)
	}
	if err != nil {
		return nil, fmt.Errorf("load sectigo record: %w", err)
	}
	return h.viewOf(c, o, raw)
}

// loadByRenewID resolves a renewId.
func (h *Handler) loadByRenewID(c *call, renewID string) (*view, error) {
	o, err := h.d.Store.FindProtocolObject(c.ctx, kindSSL, renewID)
	if errors.Is(err, store.ErrNotFound) || renewID == "" {
		return nil, fail(http.StatusNotFound, -123, "SSL Certificate to renew is invalid (null)")
	}
	if err != nil {
		return nil, fmt.Errorf("load sectigo record: %w", err)
	}
	return h.viewOf(c, o, o.ID)
}

func (h *Handler) viewOf(c *call, o *store.ProtocolObject, raw string) (*view, error) {
	if o.AccountID != c.org.ID {
		return nil, errWrongSSLID(raw)
	}
	id, _ := strconv.ParseInt(o.ID, 10, 64)
	v := &view{id: id, renewID: o.KeyID, obj: o}
	if err := json.Unmarshal(o.Data, &v.rec); err != nil {
		return nil, fmt.Errorf("decode sectigo record: %w", err)
	}
	hide := func(err error) error {
		if k := problem.KindOf(err); k == problem.KindNotFound || k == problem.KindForbidden {
			return errWrongSSLID(raw)
		}
		return err
	}
	serial := v.rec.Serial
	if v.rec.RequestID != "" {
		req, err := h.d.Issuance.GetRequest(c.ctx, v.rec.RequestID)
		if err != nil {
			return nil, hide(err)
		}
		v.req, serial = req, req.CertSerial
	}
	if serial != "" {
		cert, err := h.d.Issuance.GetCertificate(c.ctx, serial)
		if err != nil {
			return nil, hide(err)
		}
		v.cert = cert
	}
	return v, nil
}

// Statuses of the document.
const (
	stRequested = "Requested"
	stApproved  = "Approved"
	stDeclined  = "Declined"
	stRejected  = "Rejected"
	stIssued    = "Issued"
	stRevoked   = "Revoked"
	stExpired   = "Expired"
)

func (v *view) status(now time.Time) string {
	if v.cert == nil {
		switch {
		case v.req == nil:
			return "Invalid"
		case v.req.Status == store.RequestPending:
			return stRequested
		case v.req.Status == store.RequestApproved, v.req.Status == store.RequestPendingUpstream:
			// Approved and waiting for the CA (an external one): Sectigo's
			// clients keep collecting, as while Sectigo's CA issues.
			return stApproved
		case v.req.Status == store.RequestRejected && v.rec.Declined:
			return stDeclined
		case v.req.Status == store.RequestRejected, v.req.Status == store.RequestFailed:
			return stRejected
		}
		return "Invalid"
	}
	switch {
	case v.cert.Status != store.CertActive: // revoked, or on hold (suspended)
		return stRevoked
	case !now.Before(v.cert.NotAfter):
		return stExpired
	}
	return stIssued
}

// ownerOf shows a certificate's owner as the document's details do: a name
// and a numeric id, a principal's or (for a team) its department's. An
// owner the caller may not look up keeps its Signet id, with id 0.
func (h *Handler) ownerOf(c *call, owner string) (string, int64) {
	if owner == "" {
		return "", 0
	}
	if p, err := h.d.Directory.Principal(c.ctx, owner); err == nil {
		return p.Name, p.IntID
	}
	if t, err := h.d.Directory.Team(c.ctx, owner); err == nil {
		return t.Name, departmentOffset + t.IntID
	}
	return owner, 0
}

// sanString is certificateDetails.subjectAltNames: the product's one-line
// form, "dNSName=a.example, dNSName=b.example", in the certificate's order
// of kinds.
func sanString(x *x509.Certificate) string {
	var parts []string
	for _, n := range x.DNSNames {
		parts = append(parts, "dNSName="+n)
	}
	for _, ip := range x.IPAddresses {
		parts = append(parts, "iPAddress="+ip.String())
	}
	for _, e := range x.EmailAddresses {
		parts = append(parts, "rfc822Name="+e)
	}
	for _, u := range x.URIs {
		parts = append(parts, "uniformResourceIdentifier="+u.String())
	}
	return strings.Join(parts, ", ")
}

// sigAlgNames are signature algorithms as the product names them (its
// reports and discovery answers: "SHA256WITHRSA"), for details and the
// list filter.
var sigAlgNames = map[x509.SignatureAlgorithm]string{
	x509.SHA1WithRSA: "SHA1WITHRSA", x509.SHA256WithRSA: "SHA256WITHRSA", x509.SHA384WithRSA: "SHA384WITHRSA",
	x509.SHA512WithRSA: "SHA512WITHRSA", x509.SHA256WithRSAPSS: "SHA256WITHRSAANDMGF1",
	x509.SHA384WithRSAPSS: "SHA384WITHRSAANDMGF1", x509.SHA512WithRSAPSS: "SHA512WITHRSAANDMGF1",
	x509.ECDSAWithSHA1: "SHA1WITHECDSA", x509.ECDSAWithSHA256: "SHA256WITHECDSA", x509.ECDSAWithSHA384: "SHA384WITHECDSA",
	x509.ECDSAWithSHA512: "SHA512WITHECDSA", x509.PureEd25519: "ED25519",
}

func sigAlgName(a x509.SignatureAlgorithm) string {
	if n, ok := sigAlgNames[a]; ok {
		return n
	}
	return strings.ToUpper(a.String())
}
