package upstream

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/signet-pki/signet/internal/problem"
)

// TypeSectigo is Sectigo Certificate Manager (the SCM REST API of seed
// 003), or any server speaking it, such as another Signet's /compat/sectigo.
const TypeSectigo = "sectigo"

// sectigo enrolls SSL certificates through SCM: POST /api/ssl/v1/enroll
// answers an sslId, and GET /api/ssl/v1/collect/{sslId} answers the
// certificate once it is issued (after approval, when the certificate
// profile needs it).
//
// Config: url (https base URL, before /api), customer_uri, login, org_id
// (the organization or department id), cert_type (the certificate profile
// id), term (days; default: the validity Signet's profile asks for), root_pem
// (PEM roots for the API's TLS; default: the system's).
// Secrets: password (the login's password or API key).
type sectigo struct {
	base               string // ends before /api
	customerURI, login string
	password           string
	orgID, certType    int64
	term               int64
	client             *http.Client
}

// sectigoCollectFormat is the document's "cert with chain, PEM"; the chain
// is reordered leaf first whatever order the server lists it in.
const sectigoCollectFormat = "x509"

// sectigoPendingCodes are collect errors that mean "not issued yet, ask
// again": the document's "being processed" (-1400), "not available now"
// (-109) and "not ready to be applied" (-1113).
var sectigoPendingCodes = map[int]bool{-1400: true, -109: true, -1113: true}

// sectigoPendingStates are certificate states (GET /api/ssl/v1/{sslId})
// on the way to issuance; any other state without a certificate is final.
var sectigoPendingStates = map[string]bool{"requested": true, "approved": true, "applied": true, "pending": true,
	"submitted": true, "awaiting approval": true, "not enrolled": true, "enrolled": true}

// sectigoAlreadyRevoked is the document's "Your certificate already revoked".
const sectigoAlreadyRevoked = -159

func newSectigo(cfg map[string]any, secrets map[string]string, base *http.Client) (*sectigo, error) {
	var vs []problem.Violation
	add := func(field, msg string) {
		vs = append(vs, problem.Violation{Field: field, Code: "invalid", Message: msg})
	}
	u, ok := vendorBase(configString(cfg, "url"), "/api")
	if !ok {
		add("config.url", "url must be the API's https:// base URL (for example https://cert-manager.com)")
	}
	c := &sectigo{base: u, customerURI: configString(cfg, "customer_uri"), login: configString(cfg, "login"),
		password: strings.TrimRight(secrets["password"], "\r\n")} // a password file's line end is not part of it
	if c.customerURI == "" {
		add("config.customer_uri", "customer_uri is the customer URI sent with every call")
	}
	if c.login == "" {
		add("config.login", "login is the administrator's login")
	}
	if c.password == "" {
		add("secrets.password", "password is the login's password")
	}
	ints := []struct {
		key      string
		dst      *int64
		required bool
	}{{"org_id", &c.orgID, true}, {"cert_type", &c.certType, true}, {"term", &c.term, false}}
	for _, f := range ints {
		n, set, err := configInt(cfg, f.key)
		switch {
		case err != nil:
			add("config."+f.key, err.Error())
		case !set && f.required:
			add("config."+f.key, f.key+" is required")
		case set && n <= 0:
			add("config."+f.key, f.key+" must be positive")
		default:
			*f.dst = n
		}
	}
	client, err := clientWithRoots(base, configString(cfg, "root_pem"))
	if err != nil {
		add("config.root_pem", err.Error())
	}
	if len(vs) > 0 {
		return nil, problem.Violations("connector_invalid", "the Sectigo connector is invalid", vs)
	}
	c.client = client
	return c, nil
}

// sectigoError is an SCM error answer: {"code": -N, "description": "..."}.
type sectigoError struct {
	status int
	code   int
	desc   string
}

// call makes one exchange and returns the answer's body, or the vendor's
// error (sectigoError inside the verdict of vendorError).
func (c *sectigo) call(ctx context.Context, method, path string, body any) ([]byte, *sectigoError, error) {
	h := map[string]string{"login": c.login, "password": c.password, "customerUri": c.customerURI, "Accept": "application/json, */*"}
	if body != nil {
		h["Content-Type"] = "application/json;charset=UTF-8"
	}
	a, err := vendorDo(ctx, c.client, method, c.base+path, h, body)
	if err != nil {
		return nil, nil, err
	}
	if a.status/100 == 2 {
		return a.body, nil, nil
	}
	se := &sectigoError{status: a.status, desc: snippet(a.body)}
	var e struct {
		Code        int    `json:"code"`
		Description string `json:"description"`
	}
	if json.Unmarshal(a.body, &e) == nil && (e.Code != 0 || e.Description != "") {
		se.code, se.desc = e.Code, e.Description
	}
	return nil, se, vendorError("sectigo", method+" "+pathOf(c.base+path), a.status, fmt.Sprintf("%d: %s", se.code, se.desc))
}

// Issue enrolls the CSR, then tries to collect at once: an auto-approved
// profile of a fast CA answers the certificate now, anything else is
// polled. After the enrollment succeeded nothing may fail the order in a
// way that enrolls again, so a failed collect only means "poll".
func (c *sectigo) Issue(ctx context.Context, o Order) (Result, error) {
	csr, err := x509.ParseCertificateRequest(o.CSR)
	if err != nil {
		return Result{}, &RejectedError{Message: "CSR does not parse: " + err.Error()}
	}
	term := c.term
	if term == 0 {
		term = int64(o.ValidityDays)
	}
	if term <= 0 {
		return Result{}, &RejectedError{Message: "no term: configure term on the connector or a default validity on the profile"}
	}
	var sans []string
	sans = append(sans, csr.DNSNames...)
	for _, ip := range csr.IPAddresses {
		sans = append(sans, ip.String())
	}
	body := map[string]any{"orgId": c.orgID, "certType": c.certType, "term": term,
		"csr":          string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: o.CSR})),
		"subjAltNames": strings.Join(sans, ","), "comments": "Signet request " + o.RequestID, "externalRequester": ""}
	data, _, err := c.call(ctx, http.MethodPost, "/api/ssl/v1/enroll", body)
	if err != nil {
		return Result{}, err
	}
	var out struct {
		SSLID int64 `json:"sslId"`
	}
	if err := json.Unmarshal(data, &out); err != nil || out.SSLID == 0 {
		return Result{}, fmt.Errorf("sectigo enroll: the answer has no sslId: %s", snippet(data))
	}
	ref := strconv.FormatInt(out.SSLID, 10)
	res, err := c.Poll(ctx, ref)
	if IsRejected(err) {
		return Result{}, err
	}
	if err != nil || len(res.Chain) == 0 {
		return Result{Ref: ref}, nil
	}
	return res, nil
}

// Poll collects the certificate with its chain. When the collect is
// refused for a reason that is not one of the "not yet" codes, the
// certificate's state decides: on its way (requested, approved...) means
// poll again; anything else (declined, rejected, revoked...) is final.
func (c *sectigo) Poll(ctx context.Context, ref string) (Result, error) {
	id, err := strconv.ParseInt(ref, 10, 64)
	if err != nil || id <= 0 {
		return Result{}, &RejectedError{Message: fmt.Sprintf("sectigo: %q is not an sslId", ref)}
	}
	data, se, err := c.call(ctx, http.MethodGet, "/api/ssl/v1/collect/"+ref+"?format="+sectigoCollectFormat, nil)
	switch {
	case err == nil:
		chain, err := orderChain(pemCertificates(string(data)), nil)
		if err != nil {
			return Result{}, fmt.Errorf("sectigo collect %s: %w", ref, err)
		}
		return Result{Chain: chain}, nil
	case se == nil || !IsRejected(err):
		return Result{}, err // transport, 5xx, credentials: retried
	case sectigoPendingCodes[se.code]:
		return Result{Ref: ref}, nil
	}
	details, _, derr := c.call(ctx, http.MethodGet, "/api/ssl/v1/"+ref, nil)
	if derr != nil {
		return Result{}, derr
	}
	var st struct {
		Status string `json:"status"`
	}
	if json.Unmarshal(details, &st) != nil || st.Status == "" {
		return Result{}, fmt.Errorf("sectigo: certificate %s: no status in %s", ref, snippet(details))
	}
	if sectigoPendingStates[strings.ToLower(st.Status)] {
		return Result{Ref: ref}, nil
	}
	if strings.EqualFold(st.Status, "Issued") {
		return Result{}, fmt.Errorf("sectigo: certificate %s is issued but cannot be collected yet: %d: %s", ref, se.code, se.desc)
	}
	return Result{}, &RejectedError{Status: se.status, Message: fmt.Sprintf("sectigo: certificate %s is %s: %d: %s", ref, st.Status, se.code, se.desc)}
}

// sectigoReasons are the reason codes the document accepts; others are
// sent as unspecified, their name kept in the reason text.
var sectigoReasons = map[int]bool{0: true, 1: true, 3: true, 4: true, 5: true}

// Revoke revokes by serial (the document's colon-separated hex). The
// document's "already revoked" counts as done: a retry after a lost answer
// must not fail.
func (c *sectigo) Revoke(ctx context.Context, leaf *x509.Certificate, reason int) error {
	hex := hexSerial(leaf)
	parts := make([]string, 0, len(hex)/2)
	for i := 0; i < len(hex); i += 2 {
		parts = append(parts, hex[i:i+2])
	}
	code := reason
	if !sectigoReasons[code] {
		code = 0
	}
	body := map[string]any{"reasonCode": code, "reason": "revoked through Signet: " + reasonName(reason)}
	_, se, err := c.call(ctx, http.MethodPost, "/api/ssl/v1/revoke/serial/"+strings.Join(parts, ":"), body)
	if se != nil && se.code == sectigoAlreadyRevoked {
		return nil
	}
	return err
}
