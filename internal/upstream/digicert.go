package upstream

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/signet-pki/signet/internal/problem"
)

// TypeDigiCert is DigiCert ONE Enterprise PKI Manager / Trust Lifecycle
// Manager (the mPKI REST API of seeds 000 and 002), or any server speaking
// it, such as another Signet's /compat/digicert.
const TypeDigiCert = "digicert"

// digicert issues through the mPKI API: POST /certificate answers the
// certificate at once, or a request_id when the profile needs approval,
// which GET /certificate-pickup/{request_id} answers once issued.
//
// Config: url (https base URL, before /mpki/api/v1), profile_id, seat_id
// (the seat certificates are issued to; default: the CSR's common name or
// first name, as DigiCert's server seats are named), root_pem (PEM roots
// for the API's TLS; default: the system's).
// Secrets: api_key (sent as x-api-key).
type digicert struct {
	base      string // ends in /mpki/api/v1
	profileID string
	seatID    string
	apiKey    string
	client    *http.Client
}

const digicertAPI = "/mpki/api/v1"

// digicertSerialRef marks a reference that is a certificate's serial (the
// certificate exists; its chain is still to be fetched) rather than a
// pickup request id.
const digicertSerialRef = "serial:"

func newDigiCert(cfg map[string]any, secrets map[string]string, base *http.Client) (*digicert, error) {
	var vs []problem.Violation
	add := func(field, msg string) {
		vs = append(vs, problem.Violation{Field: field, Code: "invalid", Message: msg})
	}
	u, ok := vendorBase(configString(cfg, "url"), digicertAPI)
	if !ok {
		add("config.url", "url must be the API's https:// base URL (for example https://one.digicert.com)")
	}
	c := &digicert{base: u + digicertAPI, profileID: configString(cfg, "profile_id"), seatID: configString(cfg, "seat_id"),
		apiKey: strings.TrimSpace(secrets["api_key"])}
	if c.profileID == "" {
		add("config.profile_id", "profile_id names the certificate profile to issue with")
	}
	if c.apiKey == "" {
		add("secrets.api_key", "api_key is the API key sent as x-api-key")
	}
	client, err := clientWithRoots(base, configString(cfg, "root_pem"))
	if err != nil {
		add("config.root_pem", err.Error())
	}
	if len(vs) > 0 {
		return nil, problem.Violations("connector_invalid", "the DigiCert connector is invalid", vs)
	}
	c.client = client
	return c, nil
}

// digicertCertificate is the CertificateResponse of issue and pickup, and
// the fields of the certificate document this connector reads.
type digicertCertificate struct {
	SerialNumber string `json:"serial_number"`
	Certificate  string `json:"certificate"`
	RequestID    string `json:"request_id"`
	Status       string `json:"status"`
}

// call makes one exchange; idemKey, when set, lets a retried issuance
// return the first one's answer instead of a second certificate.
func (c *digicert) call(ctx context.Context, method, path, idemKey string, body, out any) error {
	h := map[string]string{"x-api-key": c.apiKey, "Accept": "application/json"}
	if body != nil {
		h["Content-Type"] = "application/json"
	}
	if idemKey != "" {
		h["Idempotency-Key"] = idemKey
	}
	a, err := vendorDo(ctx, c.client, method, c.base+path, h, body)
	if err != nil {
		return err
	}
	if a.status/100 != 2 {
		// {"error": {"code", "message", "field"}}
		var e struct {
			Error struct {
				Code, Message, Field string
			} `json:"error"`
		}
		msg := snippet(a.body)
		if json.Unmarshal(a.body, &e) == nil && (e.Error.Code != "" || e.Error.Message != "") {
			msg = e.Error.Code + ": " + e.Error.Message
			if e.Error.Field != "" {
				msg += " (field " + e.Error.Field + ")"
			}
		}
		return vendorError("digicert", method+" "+path, a.status, msg)
	}
	if out == nil || len(a.body) == 0 {
		return nil
	}
	if err := json.Unmarshal(a.body, out); err != nil {
		return fmt.Errorf("digicert %s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// Issue posts the CSR to the profile for the seat.
func (c *digicert) Issue(ctx context.Context, o Order) (Result, error) {
	csr, err := x509.ParseCertificateRequest(o.CSR)
	if err != nil {
		return Result{}, &RejectedError{Message: "CSR does not parse: " + err.Error()}
	}
	seat := c.seatID
	if seat == "" {
		seat = csr.Subject.CommonName
	}
	if seat == "" {
		if names := csrNames(csr); len(names) > 0 {
			seat = names[0]
		}
	}
	if seat == "" {
		return Result{}, &RejectedError{Message: "the CSR names nobody to be the DigiCert seat: configure seat_id on the connector"}
	}
	body := map[string]any{"profile": map[string]string{"id": c.profileID}, "seat": map[string]string{"seat_id": seat},
		"csr": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: o.CSR})), "delivery_format": "x509"}
	if o.ValidityDays > 0 {
		body["validity"] = map[string]any{"unit": "days", "duration": o.ValidityDays}
	}
	idem := ""
	if o.RequestID != "" {
		idem = "signet-" + o.RequestID
	}
	var out digicertCertificate
	if err := c.call(ctx, http.MethodPost, "/certificate", idem, body, &out); err != nil {
		return Result{}, err
	}
	switch {
	case out.Certificate != "":
		return c.complete(ctx, out.SerialNumber, out.Certificate), nil
	case out.RequestID != "":
		return Result{Ref: out.RequestID}, nil
	}
	return Result{}, fmt.Errorf("digicert answered the issuance with neither a certificate nor a request_id")
}

// complete turns an issued certificate into a Result with its chain. The
// certificate exists upstream now, so nothing here may fail the order in a
// way that issues it again: if the chain cannot be fetched for now, the
// serial becomes the reference to poll.
func (c *digicert) complete(ctx context.Context, serial, leafPEM string) Result {
	leaves := pemCertificates(leafPEM)
	if len(leaves) == 0 || serial == "" {
		if serial == "" {
			// No serial to come back with: keep what was answered.
			return Result{Chain: leaves}
		}
		return Result{Ref: digicertSerialRef + serial}
	}
	var formats struct {
		Chain []struct {
			CertBlob string `json:"cert_blob"`
		} `json:"x509_cert_chain"`
	}
	err := c.call(ctx, http.MethodGet, "/certificate/"+url.PathEscape(serial)+"/additional-formats", "", nil, &formats)
	if err != nil {
		if IsRejected(err) {
			// The server does not offer the chain: the certificate alone.
			return Result{Chain: leaves[:1]}
		}
		return Result{Ref: digicertSerialRef + serial}
	}
	var blobs []string
	for _, e := range formats.Chain {
		blobs = append(blobs, e.CertBlob)
	}
	chain, err := orderChain(pemCertificates(blobs...), leaves[0])
	if err != nil {
		return Result{Chain: leaves[:1]}
	}
	return Result{Chain: chain}
}

// Poll picks up an approval-required request, or fetches the chain of a
// certificate already issued.
func (c *digicert) Poll(ctx context.Context, ref string) (Result, error) {
	if serial, ok := strings.CutPrefix(ref, digicertSerialRef); ok {
		var doc digicertCertificate
		if err := c.call(ctx, http.MethodGet, "/certificate/"+url.PathEscape(serial), "", nil, &doc); err != nil {
			return Result{}, err
		}
		res := c.complete(ctx, serial, doc.Certificate)
		if len(res.Chain) == 0 && res.Ref == "" {
			res.Ref = ref
		}
		return res, nil
	}
	var out digicertCertificate
	if err := c.call(ctx, http.MethodGet, "/certificate-pickup/"+url.PathEscape(ref), "", nil, &out); err != nil {
		return Result{}, err
	}
	if out.Certificate != "" {
		res := c.complete(ctx, out.SerialNumber, out.Certificate)
		if len(res.Chain) == 0 && res.Ref == "" {
			res.Ref = ref
		}
		return res, nil
	}
	switch strings.ToLower(out.Status) {
	case "rejected", "denied", "declined", "failed", "canceled", "cancelled":
		return Result{}, &RejectedError{Message: fmt.Sprintf("digicert: request %s was %s", ref, strings.ToLower(out.Status))}
	}
	return Result{Ref: ref}, nil // pending approval (or not yet issued)
}

// Revoke revokes by serial with the reason's name. A certificate the
// upstream reports revoked already counts as done: a retry after a lost
// answer must not fail.
func (c *digicert) Revoke(ctx context.Context, leaf *x509.Certificate, reason int) error {
	serial := hexSerial(leaf)
	err := c.call(ctx, http.MethodPut, "/certificate/"+serial+"/revoke", "", map[string]string{"revocation_reason": reasonName(reason)}, nil)
	if err == nil || !IsRejected(err) {
		return err
	}
	var doc digicertCertificate
	if c.call(ctx, http.MethodGet, "/certificate/"+serial, "", nil, &doc) == nil && strings.EqualFold(doc.Status, "revoked") {
		return nil
	}
	return err
}
