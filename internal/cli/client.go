package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// maxResponse bounds what the CLI reads from the server.
const maxResponse = 64 << 20

// client talks to Signet's REST API.
type client struct {
	base   string
	apiKey string
	http   *http.Client
}

// apiError is a problem document returned by the server.
type apiError struct {
	Status     int    `json:"status"`
	Code       string `json:"code"`
	Detail     string `json:"detail"`
	Violations []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"violations"`
}

func (e *apiError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s, HTTP %d)", e.Detail, e.Code, e.Status)
	for _, v := range e.Violations {
		fmt.Fprintf(&b, "\n  - %s: %s", v.Field, v.Message)
	}
	return b.String()
}

func newClient(g *globals) (*client, error) {
	if g.server == "" {
		return nil, fmt.Errorf("no server: set --server or SIGNET_SERVER")
	}
	if _, err := url.Parse(g.server); err != nil {
		return nil, fmt.Errorf("--server: %w", err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	caFile := g.caCert
	if caFile == "" {
		if _, err := os.Stat("signet-data/ca-root.pem"); err == nil {
			caFile = "signet-data/ca-root.pem"
		}
	}
	if caFile != "" {
		pemData, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("--ca-cert: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemData) {
			return nil, fmt.Errorf("--ca-cert %s: no PEM certificate found", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &client{base: strings.TrimRight(g.server, "/"), apiKey: g.apiKey, http: &http.Client{Transport: tr, Timeout: g.timeout}}, nil
}

// do sends body (JSON-encoded unless nil) and returns the raw response body on 2xx.
func (c *client) do(ctx context.Context, method, path string, body any, headers map[string]string) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	if resp.StatusCode >= 300 {
		var pe apiError
		if json.Unmarshal(data, &pe) == nil && pe.Code != "" {
			return nil, &pe
		}
		return nil, fmt.Errorf("%s %s: HTTP %d: %.200s", method, path, resp.StatusCode, data)
	}
	return data, nil
}

// call decodes a JSON response into a generic value for printing.
func (c *client) call(ctx context.Context, method, path string, body any) (any, []byte, error) {
	return c.callWith(ctx, method, path, body, nil)
}

func (c *client) callWith(ctx context.Context, method, path string, body any, headers map[string]string) (any, []byte, error) {
	raw, err := c.do(ctx, method, path, body, headers)
	if err != nil {
		return nil, nil, err
	}
	if len(raw) == 0 {
		return nil, raw, nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, nil, fmt.Errorf("decode response: %w", err)
	}
	return v, raw, nil
}

func defaultTimeout() time.Duration { return 60 * time.Second }
