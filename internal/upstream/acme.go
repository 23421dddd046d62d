package upstream

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/acme"

	"github.com/signet-pki/signet/internal/problem"
)

// TypeACME is an RFC 8555 CA (Let's Encrypt, any ACME server) for which
// Signet is the client.
const TypeACME = "acme"

// acmeCA orders certificates from an ACME CA, proving control of the names
// with dns-01 (RFC 2136 dynamic updates) or http-01 (answered by Signet on a
// configured address).
//
// Config: directory_url, email, challenge (dns-01 | http-01), root_pem
// (trust for the directory's TLS), eab_kid; for http-01 http01_listen
// (host:port the CA's validation reaches); for dns-01 dns_server (host:port
// accepting updates), dns_zone, tsig_key_name, tsig_algorithm.
// Secrets: account_key (PEM; generated at creation when absent),
// eab_hmac_key (base64url), tsig_secret (base64).
type acmeCA struct {
	client     *acme.Client
	email      string
	eab        *acme.ExternalAccountBinding
	challenge  string
	http01     *http01Pool
	http01Addr string
	dns        *rfc2136
}

func newACME(cfg map[string]any, secrets map[string]string, base *http.Client, pool *http01Pool) (*acmeCA, error) {
	var vs []problem.Violation
	add := func(field, msg string) {
		vs = append(vs, problem.Violation{Field: field, Code: "invalid", Message: msg})
	}
	dir, err := url.Parse(configString(cfg, "directory_url"))
	if err != nil || dir.Scheme != "https" || dir.Host == "" {
		add("config.directory_url", "directory_url must be the CA's https:// ACME directory")
	}
	c := &acmeCA{email: configString(cfg, "email"), challenge: configString(cfg, "challenge"), http01: pool,
		http01Addr: configString(cfg, "http01_listen")}
	key, err := parseAccountKey(secrets["account_key"])
	if err != nil {
		add("secrets.account_key", err.Error())
	}
	if kid := configString(cfg, "eab_kid"); kid != "" {
		hmac, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(secrets["eab_hmac_key"], "="))
		if err != nil || len(hmac) == 0 {
			add("secrets.eab_hmac_key", "eab_hmac_key must be the base64url HMAC key that goes with eab_kid")
		}
		c.eab = &acme.ExternalAccountBinding{KID: kid, Key: hmac}
	}
	switch c.challenge {
	case "http-01":
		if _, _, err := net.SplitHostPort(c.http01Addr); err != nil {
			add("config.http01_listen", "http01_listen must be the host:port the CA's http-01 validation reaches")
		}
	case "dns-01":
		if c.dns, err = newRFC2136(cfg, secrets); err != nil {
			vs = append(vs, problem.As(err).Violations...)
		}
	default:
		add("config.challenge", "challenge must be dns-01 or http-01")
	}
	client, err := clientWithRoots(base, configString(cfg, "root_pem"))
	if err != nil {
		add("config.root_pem", err.Error())
	}
	if len(vs) > 0 {
		return nil, problem.Violations("connector_invalid", "the ACME connector is invalid", vs)
	}
	c.client = &acme.Client{Key: key, DirectoryURL: dir.String(), HTTPClient: client, UserAgent: "signet"}
	return c, nil
}

// newAccountKey makes the key a new ACME connector registers with.
func newAccountKey() (string, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", fmt.Errorf("generate ACME account key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return "", fmt.Errorf("encode ACME account key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
}

func parseAccountKey(s string) (crypto.Signer, error) {
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		return nil, errors.New("account_key must be a PEM private key")
	}
	if k, err := x509.ParsePKCS8PrivateKey(b.Bytes); err == nil {
		if s, ok := k.(crypto.Signer); ok {
			return s, nil
		}
	}
	if k, err := x509.ParseECPrivateKey(b.Bytes); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(b.Bytes); err == nil {
		return k, nil
	}
	return nil, errors.New("account_key is not an ECDSA or RSA private key")
}

// register makes sure the account exists (an existing key is not an error).
func (c *acmeCA) register(ctx context.Context) error {
	acct := &acme.Account{ExternalAccountBinding: c.eab}
	if c.email != "" {
		acct.Contact = []string{"mailto:" + c.email}
	}
	_, err := c.client.Register(ctx, acct, acme.AcceptTOS)
	if err != nil && !errors.Is(err, acme.ErrAccountAlreadyExists) {
		return classifyACME("register account", err)
	}
	return nil
}

// Issue runs a whole order: authorizations, challenges, finalization.
func (c *acmeCA) Issue(ctx context.Context, o Order) (Result, error) {
	csr, err := x509.ParseCertificateRequest(o.CSR)
	if err != nil {
		return Result{}, &RejectedError{Message: "CSR does not parse: " + err.Error()}
	}
	if len(csr.IPAddresses)+len(csr.EmailAddresses)+len(csr.URIs) > 0 || len(csr.DNSNames) == 0 {
		return Result{}, &RejectedError{Message: "an ACME CA certifies DNS names only, and at least one"}
	}
	if err := c.register(ctx); err != nil {
		return Result{}, err
	}
	order, err := c.client.AuthorizeOrder(ctx, acme.DomainIDs(csr.DNSNames...))
	if err != nil {
		return Result{}, classifyACME("new order", err)
	}
	for _, u := range order.AuthzURLs {
		if err := c.authorize(ctx, u); err != nil {
			return Result{}, err
		}
	}
	if order, err = c.client.WaitOrder(ctx, order.URI); err != nil {
		return Result{}, classifyACME("wait for order", err)
	}
	chain, _, err := c.client.CreateOrderCert(ctx, order.FinalizeURL, o.CSR, true)
	if err != nil {
		return Result{}, classifyACME("finalize order", err)
	}
	return Result{Chain: chain}, nil
}

// authorize answers one authorization's challenge of the configured type.
func (c *acmeCA) authorize(ctx context.Context, authzURL string) error {
	z, err := c.client.GetAuthorization(ctx, authzURL)
	if err != nil {
		return classifyACME("get authorization", err)
	}
	if z.Status == acme.StatusValid {
		return nil
	}
	i := slices.IndexFunc(z.Challenges, func(ch *acme.Challenge) bool { return ch.Type == c.challenge })
	if i < 0 {
		return &RejectedError{Message: fmt.Sprintf("the CA offers no %s challenge for %s", c.challenge, z.Identifier.Value)}
	}
	ch := z.Challenges[i]
	cleanup, err := c.fulfil(ctx, z.Identifier.Value, ch)
	if err != nil {
		return err
	}
	defer cleanup()
	if _, err := c.client.Accept(ctx, ch); err != nil {
		return classifyACME("accept challenge", err)
	}
	if _, err := c.client.WaitAuthorization(ctx, z.URI); err != nil {
		// A failed validation is retried with a new order: DNS may not have propagated yet.
		return fmt.Errorf("%s validation of %s: %w", c.challenge, z.Identifier.Value, err)
	}
	return nil
}

// fulfil publishes the challenge response and returns how to withdraw it.
func (c *acmeCA) fulfil(ctx context.Context, name string, ch *acme.Challenge) (func(), error) {
	switch c.challenge {
	case "http-01":
		body, err := c.client.HTTP01ChallengeResponse(ch.Token)
		if err != nil {
			return nil, fmt.Errorf("http-01 response: %w", err)
		}
		return c.http01.serve(c.http01Addr, c.client.HTTP01ChallengePath(ch.Token), body)
	default:
		value, err := c.client.DNS01ChallengeRecord(ch.Token)
		if err != nil {
			return nil, fmt.Errorf("dns-01 record: %w", err)
		}
		fqdn := "_acme-challenge." + strings.TrimSuffix(name, ".") + "."
		if err := c.dns.update(ctx, fqdn, value, true); err != nil {
			return nil, err
		}
		return func() {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_ = c.dns.update(cctx, fqdn, value, false)
		}, nil
	}
}

// Poll is not needed: Issue runs an order to its end within the call.
func (c *acmeCA) Poll(context.Context, string) (Result, error) {
	return Result{}, &RejectedError{Message: "ACME orders are completed within the call"}
}

// Revoke revokes with the account key (the account that ordered it).
func (c *acmeCA) Revoke(ctx context.Context, leaf *x509.Certificate, reason int) error {
	if err := c.register(ctx); err != nil {
		return err
	}
	if err := c.client.RevokeCert(ctx, nil, leaf.Raw, acme.CRLReasonCode(reason)); err != nil {
		return classifyACME("revoke", err)
	}
	return nil
}

// classifyACME makes the CA's definitive refusals RejectedErrors; anything
// else (network, server errors, rate limits) is retried.
func classifyACME(op string, err error) error {
	var ae *acme.Error
	if errors.As(err, &ae) && ae.StatusCode/100 == 4 && ae.StatusCode != http.StatusTooManyRequests {
		for _, t := range []string{"rejectedIdentifier", "malformed", "badCSR", "unsupportedIdentifier", "externalAccountRequired",
			"unauthorized", "caa", "badRevocationReason", "alreadyRevoked", "invalidContact", "unsupportedContact", "badPublicKey"} {
			if strings.HasSuffix(ae.ProblemType, ":"+t) {
				return &RejectedError{Status: ae.StatusCode, Message: op + ": " + ae.Detail}
			}
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// http01Pool serves http-01 answers on the configured addresses. A listener
// runs only while some order needs it, so nothing stays bound between orders.
type http01Pool struct {
	mu      sync.Mutex
	servers map[string]*http01Server
}

type http01Server struct {
	srv     *http.Server
	answers map[string]string // path -> body
}

func newHTTP01Pool() *http01Pool { return &http01Pool{servers: map[string]*http01Server{}} }

func (p *http01Pool) serve(addr, path, body string) (func(), error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.servers[addr]
	if !ok {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("listen for http-01 on %s: %w", addr, err)
		}
		s = &http01Server{answers: map[string]string{}}
		s.srv = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p.mu.Lock()
			ans, ok := s.answers[r.URL.Path]
			p.mu.Unlock()
			if !ok {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write([]byte(ans))
		})}
		go func() { _ = s.srv.Serve(ln) }()
		p.servers[addr] = s
	}
	s.answers[path] = body
	return func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		delete(s.answers, path)
		if len(s.answers) == 0 {
			_ = s.srv.Close()
			delete(p.servers, addr)
		}
	}, nil
}
