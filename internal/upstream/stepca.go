package upstream

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/signet-pki/signet/internal/problem"
)

// stepCA talks to step-ca's native API (and to anything that speaks it, such
// as another RA) through a JWK provisioner: each call carries a one-time
// token (a JWT signed with the provisioner's private key, valid for five
// minutes, for one audience) — the same thing `step ca token` makes.
//
// Config: url (https base URL), provisioner (its name), root_pem (PEM roots
// that verify the CA's TLS certificate; default: the system's).
// Secrets: provisioner_key (the provisioner's private JWK, JSON).
type stepCA struct {
	base        *url.URL
	provisioner string
	key         jose.JSONWebKey
	alg         jose.SignatureAlgorithm
	client      *http.Client
	now         func() time.Time
}

// tokenLifetime is how long a one-time token is valid (step's own default).
const tokenLifetime = 5 * time.Minute

// maxUpstreamBody bounds what is read from an upstream's answer.
const maxUpstreamBody = 1 << 20

func configString(cfg map[string]any, key string) string {
	s, _ := cfg[key].(string)
	return strings.TrimSpace(s)
}

func newStepCA(cfg map[string]any, secrets map[string]string, base *http.Client, now func() time.Time) (*stepCA, error) {
	var vs []problem.Violation
	add := func(field, msg string) {
		vs = append(vs, problem.Violation{Field: field, Code: "invalid", Message: msg})
	}
	u, err := url.Parse(configString(cfg, "url"))
	if err != nil || u.Scheme != "https" || u.Host == "" {
		add("config.url", "url must be the CA's https:// base URL")
	}
	prov := configString(cfg, "provisioner")
	if prov == "" {
		add("config.provisioner", "provisioner names the JWK provisioner")
	}
	var key jose.JSONWebKey
	if err := key.UnmarshalJSON([]byte(secrets["provisioner_key"])); err != nil || key.IsPublic() || !key.Valid() {
		add("secrets.provisioner_key", "provisioner_key must be the provisioner's private JWK (JSON)")
	}
	client, err := clientWithRoots(base, configString(cfg, "root_pem"))
	if err != nil {
		add("config.root_pem", err.Error())
	}
	if len(vs) > 0 {
		return nil, problem.Violations("connector_invalid", "the step-ca connector is invalid", vs)
	}
	alg, err := signatureAlgorithm(key)
	if err != nil {
		return nil, problem.Invalid("connector_invalid", "provisioner_key: %v", err)
	}
	if key.KeyID == "" {
		// step names JWK provisioner keys by their RFC 7638 thumbprint.
		tp, err := key.Thumbprint(crypto.SHA256)
		if err != nil {
			return nil, problem.Invalid("connector_invalid", "provisioner_key: %v", err)
		}
		key.KeyID = base64.RawURLEncoding.EncodeToString(tp)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return &stepCA{base: u, provisioner: prov, key: key, alg: alg, client: client, now: now}, nil
}

func signatureAlgorithm(k jose.JSONWebKey) (jose.SignatureAlgorithm, error) {
	if k.Algorithm != "" {
		return jose.SignatureAlgorithm(k.Algorithm), nil
	}
	switch key := k.Key.(type) {
	case *ecdsa.PrivateKey:
		switch key.Curve {
		case elliptic.P256():
			return jose.ES256, nil
		case elliptic.P384():
			return jose.ES384, nil
		case elliptic.P521():
			return jose.ES512, nil
		}
	case ed25519.PrivateKey:
		return jose.EdDSA, nil
	case *rsa.PrivateKey:
		return jose.RS256, nil
	}
	return "", fmt.Errorf("unsupported key type %T", k.Key)
}

// clientWithRoots is base trusting rootsPEM (when given) for TLS.
func clientWithRoots(base *http.Client, rootsPEM string) (*http.Client, error) {
	if rootsPEM == "" {
		return base, nil
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(rootsPEM)) {
		return nil, fmt.Errorf("root_pem holds no PEM certificate")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	c := *base
	c.Transport = tr
	return &c, nil
}

// token makes a one-time token for audience path with subject sub.
func (c *stepCA) token(path, sub string, sans []string) (string, error) {
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", c.key.KeyID)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: c.alg, Key: c.key.Key}, opts)
	if err != nil {
		return "", fmt.Errorf("token signer: %w", err)
	}
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", fmt.Errorf("token id: %w", err)
	}
	now := c.now()
	claims := jwt.Claims{Issuer: c.provisioner, Subject: sub, Audience: jwt.Audience{c.endpoint(path)},
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)),
		Expiry: jwt.NewNumericDate(now.Add(tokenLifetime)), ID: hex.EncodeToString(jti)}
	b := jwt.Signed(signer).Claims(claims)
	if sans != nil {
		b = b.Claims(map[string]any{"sans": sans})
	}
	tok, err := b.Serialize()
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return tok, nil
}

func (c *stepCA) endpoint(path string) string {
	return c.base.String() + path
}

// Issue posts the CSR to /1.0/sign. step-ca answers at once.
func (c *stepCA) Issue(ctx context.Context, o Order) (Result, error) {
	csr, err := x509.ParseCertificateRequest(o.CSR)
	if err != nil {
		return Result{}, &RejectedError{Message: "CSR does not parse: " + err.Error()}
	}
	sans := csrNames(csr)
	sub := csr.Subject.CommonName
	if sub == "" && len(sans) > 0 {
		sub = sans[0]
	}
	ott, err := c.token("/1.0/sign", sub, sans)
	if err != nil {
		return Result{}, err
	}
	body := map[string]any{"csr": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: o.CSR})), "ott": ott}
	if o.ValidityDays > 0 {
		body["notAfter"] = fmt.Sprintf("%dh", o.ValidityDays*24)
	}
	var out struct {
		Crt       string   `json:"crt"`
		CA        string   `json:"ca"`
		CertChain []string `json:"certChain"`
	}
	if err := c.post(ctx, "/1.0/sign", body, &out); err != nil {
		return Result{}, err
	}
	pems := out.CertChain
	if len(pems) == 0 {
		pems = []string{out.Crt, out.CA}
	}
	var chain [][]byte
	for _, p := range pems {
		for rest := []byte(p); ; {
			var b *pem.Block
			if b, rest = pem.Decode(rest); b == nil {
				break
			}
			if b.Type == "CERTIFICATE" {
				chain = append(chain, b.Bytes)
			}
		}
	}
	if len(chain) == 0 {
		return Result{}, fmt.Errorf("step-ca answered without a certificate")
	}
	return Result{Chain: chain}, nil
}

// Poll is never needed: step-ca signs synchronously.
func (c *stepCA) Poll(context.Context, string) (Result, error) {
	return Result{}, &RejectedError{Message: "step-ca orders are not asynchronous"}
}

// Revoke posts to /1.0/revoke with a token for the serial (decimal, as step writes it).
func (c *stepCA) Revoke(ctx context.Context, leaf *x509.Certificate, reason int) error {
	serial := leaf.SerialNumber.String()
	ott, err := c.token("/1.0/revoke", serial, nil)
	if err != nil {
		return err
	}
	body := map[string]any{"serial": serial, "ott": ott, "reasonCode": reason, "passive": true}
	return c.post(ctx, "/1.0/revoke", body, nil)
}

// post sends JSON and decodes the answer; 4xx answers (but timeouts and
// rate limits) are rejections with step-ca's message.
func (c *stepCA) post(ctx context.Context, path string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint(path), bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("build %s: %w", path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxUpstreamBody))
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(data, &e)
		msg := strings.TrimSpace(e.Message)
		if msg == "" {
			msg = strings.TrimSpace(string(data[:min(len(data), 200)]))
		}
		return stepCAError(path, resp.StatusCode, msg)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}

// csrNames lists a CSR's SANs as strings, as step-ca's token "sans" wants them.
func csrNames(csr *x509.CertificateRequest) []string {
	out := append([]string{}, csr.DNSNames...)
	for _, ip := range csr.IPAddresses {
		out = append(out, ip.String())
	}
	out = append(out, csr.EmailAddresses...)
	for _, u := range csr.URIs {
		out = append(out, u.String())
	}
	return out
}

// stepCAError is the verdict on step-ca's error answer. 401 is what a token
// it cannot verify gets (a wrong or replaced provisioner key, another
// audience): the connector's configuration, which an admin fixes, after
// which waiting requests complete, as with the vendors' 401 (decision 33).
// 403 and the other 4xx refuse this request (its provisioner's policy or
// claims, such as too long a validity): retrying cannot change them.
func stepCAError(path string, status int, msg string) error {
	switch {
	case status == http.StatusUnauthorized:
		return fmt.Errorf("POST %s: HTTP %d: %s (check the connector's provisioner and key)", path, status, msg)
	case status/100 == 4 && status != http.StatusRequestTimeout && status != http.StatusTooManyRequests:
		return &RejectedError{Status: status, Message: msg}
	}
	return fmt.Errorf("POST %s: HTTP %d: %s", path, status, msg)
}
