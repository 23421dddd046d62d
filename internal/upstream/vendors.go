package upstream

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Helpers the vendor REST connectors (DigiCert, Sectigo) share: one JSON
// exchange, the transient-or-definitive verdict on an error answer, chains
// out of PEM, serial spellings and revocation reasons.

// vendorAnswer is one HTTP exchange's outcome.
type vendorAnswer struct {
	status int
	body   []byte
}

// vendorDo sends method url with headers and an optional JSON body and
// reads the (bounded) answer. Only transport failures are errors here: the
// caller reads the status in its vendor's terms.
func vendorDo(ctx context.Context, client *http.Client, method, u string, header map[string]string, body any) (*vendorAnswer, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode %s %s: %w", method, pathOf(u), err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("build %s %s: %w", method, pathOf(u), err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		// url.Error repeats the URL, which is no secret; headers are never in it.
		return nil, fmt.Errorf("%s %s: %w", method, pathOf(u), err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxUpstreamBody))
	if err != nil {
		return nil, fmt.Errorf("read %s %s: %w", method, pathOf(u), err)
	}
	return &vendorAnswer{status: resp.StatusCode, body: data}, nil
}

func pathOf(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.Path
	}
	return u
}

// transientStatus are 4xx answers that a later attempt may not get: the
// connector's credentials or rights can be fixed by an admin (then every
// waiting request completes), and timeouts and rate limits pass.
var transientStatus = map[int]bool{
	http.StatusUnauthorized: true, http.StatusForbidden: true, http.StatusRequestTimeout: true,
	http.StatusTooEarly: true, http.StatusTooManyRequests: true,
}

// vendorError is the verdict on an error answer: other 4xx are definitive
// refusals in the vendor's words; everything else is retried.
func vendorError(vendor, op string, status int, msg string) error {
	if status/100 == 4 && !transientStatus[status] {
		return &RejectedError{Status: status, Message: vendor + ": " + msg}
	}
	hint := ""
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		hint = " (check the connector's credentials)"
	}
	return fmt.Errorf("%s %s: HTTP %d: %s%s", vendor, op, status, msg, hint)
}

// snippet is a short excerpt of a body that is not the vendor's error document.
func snippet(b []byte) string {
	s := strings.TrimSpace(string(b[:min(len(b), 200)]))
	if s == "" {
		return "(empty answer)"
	}
	return s
}

// pemCertificates decodes every CERTIFICATE block in texts.
func pemCertificates(texts ...string) [][]byte {
	var out [][]byte
	for _, t := range texts {
		rest := []byte(strings.ReplaceAll(t, `\n`, "\n"))
		for {
			var b *pem.Block
			if b, rest = pem.Decode(rest); b == nil {
				break
			}
			if b.Type == "CERTIFICATE" {
				out = append(out, b.Bytes)
			}
		}
	}
	return out
}

// orderChain puts a vendor's certificates in the order Result wants: the
// leaf first, then each certificate's issuer, as far as the set goes.
// Vendors list chains root-first or leaf-first depending on the format, so
// the order is rebuilt from the certificates themselves. leaf, when known,
// is the end-entity certificate; otherwise it is the one that issued none
// of the others.
func orderChain(ders [][]byte, leaf []byte) ([][]byte, error) {
	var certs []*x509.Certificate
	seen := map[string]bool{}
	for _, d := range append([][]byte{leaf}, ders...) {
		if len(d) == 0 || seen[string(d)] {
			continue
		}
		seen[string(d)] = true
		c, err := x509.ParseCertificate(d)
		if err != nil {
			return nil, fmt.Errorf("the upstream's certificate does not parse: %w", err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("the upstream answered without a certificate")
	}
	first := -1
	if len(leaf) > 0 {
		first = 0
	} else {
		for i, c := range certs {
			issuesOther := false
			for j, o := range certs {
				if i != j && bytes.Equal(o.RawIssuer, c.RawSubject) {
					issuesOther = true
				}
			}
			if !issuesOther && (first < 0 || !c.IsCA) {
				first = i
			}
		}
		if first < 0 {
			return nil, fmt.Errorf("the upstream's chain has no end-entity certificate")
		}
	}
	used := map[int]bool{first: true}
	out := [][]byte{certs[first].Raw}
	for cur := certs[first]; !bytes.Equal(cur.RawIssuer, cur.RawSubject); {
		next := -1
		for i, c := range certs {
			if !used[i] && bytes.Equal(c.RawSubject, cur.RawIssuer) {
				next = i
				break
			}
		}
		if next < 0 {
			break
		}
		used[next] = true
		out = append(out, certs[next].Raw)
		cur = certs[next]
	}
	return out, nil
}

// hexSerial is a serial as vendors spell it: upper-case hex, whole bytes.
func hexSerial(c *x509.Certificate) string {
	s := strings.ToUpper(c.SerialNumber.Text(16))
	if len(s)%2 == 1 {
		s = "0" + s
	}
	return s
}

// reasonNames are RFC 5280 reason codes by their snake_case names (the
// DigiCert API's revocation_reason values).
var reasonNames = map[int]string{0: "unspecified", 1: "key_compromise", 2: "ca_compromise", 3: "affiliation_changed",
	4: "superseded", 5: "cessation_of_operation", 6: "certificate_hold", 9: "privilege_withdrawn", 10: "aa_compromise"}

func reasonName(code int) string {
	if n, ok := reasonNames[code]; ok {
		return n
	}
	return "unspecified"
}

// configInt reads an integer setting given as a JSON number or as decimal
// text (the CLI's --config KEY=VALUE sends text).
func configInt(cfg map[string]any, key string) (int64, bool, error) {
	switch v := cfg[key].(type) {
	case nil:
		return 0, false, nil
	case float64:
		if v != float64(int64(v)) {
			return 0, true, fmt.Errorf("%s must be an integer", key)
		}
		return int64(v), true, nil
	case json.Number:
		n, err := v.Int64()
		return n, true, err
	case string:
		if strings.TrimSpace(v) == "" {
			return 0, false, nil
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return 0, true, fmt.Errorf("%s must be an integer", key)
		}
		return n, true, nil
	}
	return 0, true, fmt.Errorf("%s must be an integer", key)
}

// vendorBase checks a vendor API's base URL (https: the credentials travel
// in headers) and removes the trailing slash and any API path suffix the
// admin copied along with it.
func vendorBase(raw string, suffixes ...string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", false
	}
	p := strings.TrimRight(u.Path, "/")
	for _, s := range suffixes {
		p = strings.TrimSuffix(p, s)
	}
	u.Path, u.RawPath = p, ""
	return u.String(), true
}
