package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"unicode"
)

// maxResponse bounds what the client reads from the server.
const maxResponse = 32 << 20

// client is a small client of Signet's REST API: JSON in and out, bearer
// authentication, problem documents turned into *apiError.
type client struct {
	base    string // server URL without a trailing slash
	apiKey  string
	http    *http.Client
	maxBody int64
}

// request is one API call.
type request struct {
	method string
	path   string // below the server URL, escaped, e.g. /api/v1/cas/ca_1
	query  url.Values
	body   any    // JSON-encoded unless nil
	raw    []byte // sent as is (with header's Content-Type) when body is nil
	header http.Header
}

// response is a successful (2xx) answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// apiError is an RFC 9457 problem document returned by the server.
type apiError struct {
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Status     int         `json:"status"`
	Detail     string      `json:"detail"`
	Code       string      `json:"code"`
	Violations []violation `json:"violations"`
	RequestID  string      `json:"request_id"`
}

type violation struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error reads "<detail> (<code>, HTTP <status>)" and then one line per violation.
func (e *apiError) Error() string {
	var b strings.Builder
	detail := e.Detail
	if detail == "" {
		detail = e.Title
	}
	fmt.Fprintf(&b, "%s (%s, HTTP %d)", detail, e.Code, e.Status)
	for _, v := range e.Violations {
		if v.Field == "" {
			fmt.Fprintf(&b, "\n  - %s", v.Message)
		} else {
			fmt.Fprintf(&b, "\n  - %s: %s", v.Field, v.Message)
		}
	}
	return b.String()
}

// newClient builds a client from the global flags. warn receives notes
// about insecure settings.
func newClient(g *globals, warn io.Writer) (*client, error) {
	base, err := url.Parse(strings.TrimRight(g.server, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, usagef("--server %q: want a URL such as %s", g.server, defaultServer)
	}
	base.User = nil // Signet authenticates with the API key; never echo URL credentials
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if base.Scheme == "https" {
		pool, err := trustPool(g.caCert)
		if err != nil {
			return nil, err
		}
		if pool != nil {
			tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		}
	} else if g.apiKey != "" && !isLoopback(base.Hostname()) {
		fmt.Fprintf(warn, "warning: sending the API key over plain HTTP to %s\n", base.Host)
	}
	return &client{base: strings.TrimRight(base.String(), "/"), apiKey: g.apiKey, maxBody: maxResponse,
		http: &http.Client{Transport: tr, Timeout: g.timeout}}, nil
}

// trustPool reads the CA certificate to trust: the named file, or
// ./signet-data/ca-root.pem when it exists, or nil for the system roots.
func trustPool(caFile string) (*x509.CertPool, error) {
	if caFile == "" {
		if _, err := os.Stat(defaultCACert); err != nil {
			return nil, nil
		}
		caFile = defaultCACert
	}
	data, err := readLimited(caFile, 1<<20)
	if err != nil {
		return nil, fmt.Errorf("--ca-cert: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("--ca-cert %s: no PEM certificate found", caFile)
	}
	return pool, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// do sends req and returns the body of a 2xx answer; other answers become
// errors (an *apiError when the server sent a problem document).
func (c *client) do(ctx context.Context, req request) (*response, error) {
	var body io.Reader
	if req.body != nil {
		b, err := json.Marshal(req.body)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	} else if req.raw != nil {
		body = bytes.NewReader(req.raw)
	}
	target := c.base + req.path
	if len(req.query) > 0 {
		target += "?" + req.query.Encode()
	}
	hreq, err := http.NewRequestWithContext(ctx, req.method, target, body)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	for k, vs := range req.header {
		hreq.Header[k] = vs
	}
	hreq.Header.Set("Accept", "application/json, application/problem+json;q=0.9, */*;q=0.5")
	hreq.Header.Set("User-Agent", "signet-cli")
	if req.body != nil {
		hreq.Header.Set("Content-Type", "application/json")
	}
	if c.apiKey != "" {
		hreq.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	resp, err := c.http.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("%s %s%s: %w", req.method, c.base, req.path, transportError(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read response: %w", req.method, req.path, err)
	}
	if int64(len(data)) > c.maxBody {
		return nil, fmt.Errorf("%s %s: response larger than %d bytes", req.method, req.path, c.maxBody)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, statusError(req, resp, data)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// transportError makes connection failures readable: the url.Error that
// wraps them repeats the method and URL the caller already names.
func transportError(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		if uerr.Timeout() {
			return fmt.Errorf("timed out (see --timeout): %w", uerr.Err)
		}
		err = uerr.Err
	}
	var cerr *tls.CertificateVerificationError
	if errors.As(err, &cerr) {
		return fmt.Errorf("%w (trust Signet's root CA with --ca-cert or SIGNET_CA_CERT)", err)
	}
	var operr *net.OpError
	if errors.As(err, &operr) && operr.Op == "dial" {
		return fmt.Errorf("%w (is the server running? see --server or SIGNET_SERVER)", err)
	}
	return err
}

// statusError turns a non-2xx answer into an error.
func statusError(req request, resp *http.Response, data []byte) error {
	var pe apiError
	if err := json.Unmarshal(data, &pe); err == nil && pe.Code != "" {
		if pe.Status == 0 {
			pe.Status = resp.StatusCode
		}
		return &pe
	}
	msg := fmt.Sprintf("%s %s: HTTP %s", req.method, req.path, resp.Status)
	if text := snippet(data, 200); text != "" {
		msg += ": " + text
	}
	return errors.New(msg)
}

// snippet is the start of an unexpected body, safe to print on a terminal.
func snippet(b []byte, n int) string {
	s := strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, string(b))
	if len(s) > n {
		s = s[:n] + "..."
	}
	return strings.TrimSpace(s)
}

// json sends req and checks that the answer is JSON (or empty).
func (c *client) json(ctx context.Context, req request) ([]byte, error) {
	resp, err := c.do(ctx, req)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(resp.body)) > 0 && !json.Valid(resp.body) {
		return nil, fmt.Errorf("%s %s: the server did not answer with JSON: %s", req.method, req.path, snippet(resp.body, 200))
	}
	return resp.body, nil
}

// getJSON decodes a JSON answer into v.
func (c *client) getJSON(ctx context.Context, path string, v any) error {
	raw, err := c.json(ctx, request{method: http.MethodGet, path: path})
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}

// decode parses JSON for display, keeping numbers exact.
func decode(raw []byte) (any, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode response: %w", err)
	}
	return v, nil
}
