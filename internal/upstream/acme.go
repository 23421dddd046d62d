package upstream

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/acme"

	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// TypeACME is an RFC 8555 CA (Let's Encrypt, any ACME server) for which
// Signet is the client.
const TypeACME = "acme"

// acmeCA orders certificates from an ACME CA, proving control of the names
// with dns-01 (RFC 2136 dynamic updates) or http-01 (answered by Signet on a
// configured address, or on Signet's own listener).
//
// Config: directory_url, email, challenge (dns-01 | http-01), root_pem
// (trust for the directory's TLS), eab_kid, sync_wait_seconds (how long
// Issue waits for validation before leaving the order to the job; default
// 10, 0 = never wait); for http-01 http01_listen (host:port the CA's
// validation reaches; empty: Signet's own listener answers, from the
// store, so any node behind a load balancer can); for dns-01 dns_server (host:port accepting updates),
// dns_zone, tsig_key_name, tsig_algorithm.
// Secrets: account_key (PEM; generated at creation when absent),
// eab_hmac_key (base64url), tsig_secret (base64).
type acmeCA struct {
	client     *acme.Client
	email      string
	eab        *acme.ExternalAccountBinding
	challenge  string
	http01     *http01Pool    // answers on http01_listen
	stored     *storedAnswers // answers on Signet's own listener (http01_listen empty)
	http01Addr string
	dns        *rfc2136
	syncWait   time.Duration
}

const (
	defaultACMESyncWait = 10 * time.Second
	// maxACMESyncWait leaves room within callTimeout for finalization.
	maxACMESyncWait = 30 * time.Second
	// acmeSyncPoll is how often Issue looks at an order it waits for.
	acmeSyncPoll = 500 * time.Millisecond
	// acmeFinalizeWait bounds waiting for a finalized order to be issued;
	// after it, the next poll fetches the certificate.
	acmeFinalizeWait = 20 * time.Second
	// http01TTL bounds how long an http-01 answer is served without its
	// order finishing.
	http01TTL = time.Hour
)

func newACME(cfg map[string]any, secrets map[string]string, base *http.Client, pool *http01Pool, stored *storedAnswers) (*acmeCA, error) {
	var vs []problem.Violation
	add := func(field, msg string) {
		vs = append(vs, problem.Violation{Field: field, Code: "invalid", Message: msg})
	}
	dir, err := url.Parse(configString(cfg, "directory_url"))
	if err != nil || dir.Scheme != "https" || dir.Host == "" {
		add("config.directory_url", "directory_url must be the CA's https:// ACME directory")
	}
	c := &acmeCA{email: configString(cfg, "email"), challenge: configString(cfg, "challenge"), http01: pool, stored: stored,
		http01Addr: configString(cfg, "http01_listen")}
	key, err := parseAccountKey(secrets["account_key"])
	if err != nil {
		add("secrets.account_key", err.Error())
	}
	if kid := configString(cfg, "eab_kid"); kid != "" {
		// CAs hand the key out base64url-encoded (RFC 8555 7.3.4); some use standard base64.
		raw := strings.TrimRight(strings.TrimSpace(secrets["eab_hmac_key"]), "=")
		hmac, err := base64.RawURLEncoding.DecodeString(raw)
		if err != nil {
			hmac, err = base64.RawStdEncoding.DecodeString(raw)
		}
		if err != nil || len(hmac) == 0 {
			add("secrets.eab_hmac_key", "eab_hmac_key must be the base64url HMAC key that goes with eab_kid")
		}
		c.eab = &acme.ExternalAccountBinding{KID: kid, Key: hmac}
	}
	switch c.challenge {
	case "http-01":
		if _, _, err := net.SplitHostPort(c.http01Addr); err != nil && c.http01Addr != "" {
			add("config.http01_listen", "http01_listen must be the host:port the CA's http-01 validation reaches, or empty for Signet's own listener")
		}
	case "dns-01":
		if c.dns, err = newRFC2136(cfg, secrets); err != nil {
			vs = append(vs, problem.As(err).Violations...)
		}
	default:
		add("config.challenge", "challenge must be dns-01 or http-01")
	}
	c.syncWait = defaultACMESyncWait
	if v, ok := cfg["sync_wait_seconds"]; ok {
		// A number from the API, a string from the CLI's KEY=VALUE.
		f, isNum := v.(float64)
		if str, isStr := v.(string); isStr {
			var err error
			f, err = strconv.ParseFloat(strings.TrimSpace(str), 64)
			isNum = err == nil
		}
		if !isNum || !(f >= 0 && f <= maxACMESyncWait.Seconds()) { // NaN fails too
			add("config.sync_wait_seconds", fmt.Sprintf("sync_wait_seconds must be a number from 0 to %d", int(maxACMESyncWait.Seconds())))
		}
		c.syncWait = time.Duration(f * float64(time.Second))
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

// Issue places an order, publishes the challenge answers and asks the CA to
// validate them, then waits up to sync_wait_seconds for the certificate. An
// order still in flight after that is answered with a reference the job
// polls: the request shows pending_upstream meanwhile.
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
	if order.URI == "" {
		return Result{}, errors.New("new order: the CA gave no order URL")
	}
	ref := acmeRef{Order: order.URI, CSR: o.CSR}
	if err := c.prove(ctx, order); err != nil {
		// Nothing half-published stays behind an order nobody will poll.
		c.withdraw(ctx, order)
		return Result{}, err
	}
	if c.syncWait <= 0 {
		return Result{Ref: ref.String()}, nil
	}
	// The wait bounds looking again, not a step under way: a finalization
	// cut short would only cost another poll.
	wctx, cancel := context.WithTimeout(ctx, c.syncWait)
	defer cancel()
	for {
		res, err := c.advance(ctx, ref)
		if len(res.Chain) > 0 || errors.Is(err, ErrOrderFailed) || IsRejected(err) {
			return res, err
		}
		// Still in flight, or a transient error while waiting: the
		// order exists, so the job polls it rather than ordering anew.
		t := time.NewTimer(acmeSyncPoll)
		select {
		case <-wctx.Done():
			t.Stop()
			return Result{Ref: ref.String()}, nil
		case <-t.C:
		}
	}
}

// Poll advances an order Issue left in flight by one step.
func (c *acmeCA) Poll(ctx context.Context, ref string) (Result, error) {
	r, err := parseACMERef(ref)
	if err != nil {
		return Result{}, &RejectedError{Message: err.Error()}
	}
	return c.advance(ctx, r)
}

// acmeRef is what the job keeps of an order in flight: its URL at the CA,
// and the CSR, which finalization needs once every name is validated.
type acmeRef struct {
	Order string
	CSR   []byte
}

func (r acmeRef) String() string {
	return r.Order + "#" + base64.RawURLEncoding.EncodeToString(r.CSR)
}

func parseACMERef(s string) (acmeRef, error) {
	u, c, ok := strings.Cut(s, "#")
	csr, err := base64.RawURLEncoding.DecodeString(c)
	if !ok || err != nil || len(csr) == 0 || !strings.HasPrefix(u, "https://") {
		return acmeRef{}, errors.New("the ACME order reference is malformed")
	}
	return acmeRef{Order: u, CSR: csr}, nil
}

// ErrOrderFailed marks an upstream order that can no longer complete (a
// validation failed, the order expired or vanished): the next attempt
// places a new order. Not a RejectedError: DNS that had not propagated,
// or a listener the CA could not reach yet, may work next time.
var ErrOrderFailed = errors.New("the upstream order failed")

// advance looks at the order once and makes the move its state calls for.
// It returns the chain once issued, the reference while in flight.
func (c *acmeCA) advance(ctx context.Context, ref acmeRef) (Result, error) {
	pending := Result{Ref: ref.String()}
	order, err := c.client.GetOrder(ctx, ref.Order)
	if err != nil {
		var ae *acme.Error
		if errors.As(err, &ae) && ae.StatusCode == http.StatusNotFound {
			return Result{}, fmt.Errorf("%w: the CA no longer knows order %s", ErrOrderFailed, ref.Order)
		}
		return Result{}, classifyACME("get order", err)
	}
	switch order.Status {
	case acme.StatusPending:
		// Answers again (a restart loses http-01 answers; a crash may
		// have come between publishing and accepting).
		if err := c.prove(ctx, order); err != nil {
			return Result{}, err
		}
		return pending, nil
	case acme.StatusReady:
		// Every name is validated: the answers have done their work.
		c.withdraw(ctx, order)
		fctx, cancel := context.WithTimeout(ctx, acmeFinalizeWait)
		defer cancel()
		chain, _, err := c.client.CreateCertFromOrder(fctx, order, ref.CSR, true)
		if err != nil {
			if fctx.Err() != nil && ctx.Err() == nil {
				return pending, nil // finalized, still processing: fetched on the next poll
			}
			return Result{}, orderError("finalize order", err)
		}
		return Result{Chain: chain}, nil
	case acme.StatusProcessing:
		return pending, nil
	case acme.StatusValid:
		chain, err := c.client.FetchCert(ctx, order.CertURL, true)
		if err != nil {
			return Result{}, classifyACME("fetch certificate", err)
		}
		c.withdraw(ctx, order)
		return Result{Chain: chain}, nil
	default: // invalid, or expired/deactivated
		why := c.whyInvalid(ctx, order)
		c.withdraw(ctx, order)
		return Result{}, fmt.Errorf("%w: %s", ErrOrderFailed, why)
	}
}

// orderError classifies a finalization failure: a refused CSR is definitive;
// an order the CA turned invalid is ordered again.
func orderError(op string, err error) error {
	var oe *acme.OrderError
	if errors.As(err, &oe) {
		return fmt.Errorf("%w: %s: order is %s: %s", ErrOrderFailed, op, oe.Status, problemText(oe.Problem))
	}
	return classifyACME(op, err)
}

// whyInvalid finds the CA's reason for an invalid order: the first failed
// challenge's (it names the name), else the order's own error.
func (c *acmeCA) whyInvalid(ctx context.Context, order *acme.Order) string {
	for _, u := range order.AuthzURLs {
		z, err := c.client.GetAuthorization(ctx, u)
		if err != nil {
			continue
		}
		for _, ch := range z.Challenges {
			if ch.Error != nil {
				return fmt.Sprintf("%s validation of %s failed: %s", ch.Type, z.Identifier.Value, problemText(ch.Error))
			}
		}
		if z.Status != acme.StatusValid && z.Status != acme.StatusPending {
			return fmt.Sprintf("authorization of %s is %s", z.Identifier.Value, z.Status)
		}
	}
	if order.Error != nil {
		return "order is " + order.Status + ": " + problemText(order.Error)
	}
	return "order is " + order.Status
}

// problemText is an ACME problem's detail (the CA's own words).
func problemText(err error) string {
	var ae *acme.Error
	if errors.As(err, &ae) && ae.Detail != "" {
		return ae.Detail
	}
	if err == nil {
		return "no reason given"
	}
	return err.Error()
}

// prove publishes the answer to, and accepts, each pending authorization's
// challenge of the configured type. Challenges already being validated
// only have their http-01 answer put back (it lives in memory).
func (c *acmeCA) prove(ctx context.Context, order *acme.Order) error {
	for _, u := range order.AuthzURLs {
		z, err := c.client.GetAuthorization(ctx, u)
		if err != nil {
			return classifyACME("get authorization", err)
		}
		if z.Status != acme.StatusPending {
			continue // valid (reused), or invalid: the order says so
		}
		i := slices.IndexFunc(z.Challenges, func(ch *acme.Challenge) bool { return ch.Type == c.challenge })
		if i < 0 {
			return &RejectedError{Message: fmt.Sprintf("the CA offers no %s challenge for %s", c.challenge, z.Identifier.Value)}
		}
		ch := z.Challenges[i]
		switch ch.Status {
		case acme.StatusPending:
			if err := c.publish(ctx, z.Identifier.Value, ch); err != nil {
				return err
			}
			if _, err := c.client.Accept(ctx, ch); err != nil {
				return classifyACME("accept "+ch.Type+" challenge for "+z.Identifier.Value, err)
			}
		case acme.StatusProcessing:
			if c.challenge == "http-01" && c.http01Addr != "" {
				if err := c.publish(ctx, z.Identifier.Value, ch); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// publish makes the challenge's answer visible to the CA.
func (c *acmeCA) publish(ctx context.Context, name string, ch *acme.Challenge) error {
	if c.challenge == "http-01" {
		body, err := c.client.HTTP01ChallengeResponse(ch.Token)
		if err != nil {
			return fmt.Errorf("http-01 response: %w", err)
		}
		if c.http01Addr == "" {
			return c.stored.publish(ctx, ch.Token, body, http01TTL)
		}
		return c.http01.publish(c.http01Addr, c.client.HTTP01ChallengePath(ch.Token), body, http01TTL)
	}
	value, err := c.client.DNS01ChallengeRecord(ch.Token)
	if err != nil {
		return fmt.Errorf("dns-01 record: %w", err)
	}
	return c.dns.update(ctx, dns01Name(name), value, true)
}

func dns01Name(name string) string {
	return "_acme-challenge." + strings.TrimSuffix(strings.TrimPrefix(name, "*."), ".") + "."
}

// withdraw removes the order's published answers once it is over. It is
// best effort (logged nowhere: the records are harmless once validated, and
// http-01 answers expire anyway), bounded so a dead DNS server cannot hold
// the call.
func (c *acmeCA) withdraw(ctx context.Context, order *acme.Order) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for _, u := range order.AuthzURLs {
		z, err := c.client.GetAuthorization(ctx, u)
		if err != nil {
			continue
		}
		for _, ch := range z.Challenges {
			if ch.Type != c.challenge {
				continue
			}
			if c.challenge == "http-01" && c.http01Addr == "" {
				c.stored.withdraw(ctx, ch.Token)
			} else if c.challenge == "http-01" {
				c.http01.withdraw(c.http01Addr, c.client.HTTP01ChallengePath(ch.Token))
			} else if value, err := c.client.DNS01ChallengeRecord(ch.Token); err == nil {
				_ = c.dns.update(ctx, dns01Name(z.Identifier.Value), value, false)
			}
		}
	}
}

// Revoke revokes with the account key (the account that ordered it). A
// certificate the CA already holds revoked is revoked: Signet follows.
func (c *acmeCA) Revoke(ctx context.Context, leaf *x509.Certificate, reason int) error {
	if err := c.register(ctx); err != nil {
		return err
	}
	err := c.client.RevokeCert(ctx, nil, leaf.Raw, acme.CRLReasonCode(reason))
	var ae *acme.Error
	if errors.As(err, &ae) && strings.HasSuffix(ae.ProblemType, ":alreadyRevoked") {
		return nil
	}
	if err != nil {
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
// runs only while some order has an answer on it, so nothing stays bound
// between orders; an answer expires after its TTL in case the order that
// published it is never finished (request deleted, CA gone).
type http01Pool struct {
	mu      sync.Mutex
	servers map[string]*http01Server
}

type http01Server struct {
	srv     *http.Server
	answers map[string]http01Answer // path -> answer
}

type http01Answer struct {
	body    string
	expires time.Time
}

func newHTTP01Pool() *http01Pool { return &http01Pool{servers: map[string]*http01Server{}} }

// publish serves body at path on addr for ttl (publishing again extends it).
func (p *http01Pool) publish(addr, path, body string, ttl time.Duration) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.servers[addr]
	if !ok {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("listen for http-01 on %s: %w", addr, err)
		}
		s = &http01Server{answers: map[string]http01Answer{}}
		s.srv = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p.mu.Lock()
			ans, ok := s.answers[r.URL.Path]
			p.mu.Unlock()
			if !ok || time.Now().After(ans.expires) || !strings.HasPrefix(r.URL.Path, "/.well-known/acme-challenge/") {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write([]byte(ans.body))
		})}
		go func() { _ = s.srv.Serve(ln) }()
		p.servers[addr] = s
	}
	_, known := s.answers[path]
	s.answers[path] = http01Answer{body: body, expires: time.Now().Add(ttl)}
	if !known { // one timer per answer: polls publish the same answer again and again
		time.AfterFunc(ttl, func() { p.expire(addr, path) })
	}
	return nil
}

// withdraw stops serving path on addr, and closes the listener when it was the last answer.
func (p *http01Pool) withdraw(addr, path string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.remove(addr, path)
}

// expire withdraws an answer whose TTL ran out, or looks again when it
// was published again since.
func (p *http01Pool) expire(addr, path string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.servers[addr]
	if !ok {
		return
	}
	a, ok := s.answers[path]
	switch {
	case !ok:
	case time.Now().Before(a.expires):
		time.AfterFunc(time.Until(a.expires), func() { p.expire(addr, path) })
	default:
		p.remove(addr, path)
	}
}

// remove is withdraw with p.mu held.
func (p *http01Pool) remove(addr, path string) {
	s, ok := p.servers[addr]
	if !ok {
		return
	}
	delete(s.answers, path)
	if len(s.answers) == 0 {
		_ = s.srv.Close()
		delete(p.servers, addr)
	}
}

// kindHTTP01Answer is an http-01 answer served on Signet's own listener
// (ID: the token; Data: {"key_authorization": ...}). In the store, every
// node behind a load balancer can answer the CA, whichever made the order.
const kindHTTP01Answer = "upstream.acme.http01"

// storedAnswers publishes http-01 answers in the store.
type storedAnswers struct {
	st  Store
	now func() time.Time
}

type http01Record struct {
	KeyAuthorization string `json:"key_authorization"`
}

// publish stores (or refreshes) the answer for token until ttl, and drops
// answers whose orders were never finished.
func (a *storedAnswers) publish(ctx context.Context, token, keyAuth string, ttl time.Duration) error {
	data, err := json.Marshal(http01Record{KeyAuthorization: keyAuth})
	if err != nil {
		return fmt.Errorf("encode http-01 answer: %w", err)
	}
	now := a.now().UTC()
	exp := now.Add(ttl)
	err = a.st.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.DeleteExpiredProtocolObjects(ctx, kindHTTP01Answer, now); err != nil {
			return fmt.Errorf("drop expired http-01 answers: %w", err)
		}
		o := &store.ProtocolObject{Kind: kindHTTP01Answer, ID: token, Status: "published", Data: data, ExpiresAt: &exp,
			CreatedAt: now, UpdatedAt: now}
		err := tx.InsertProtocolObject(ctx, o)
		if errors.Is(err, store.ErrDuplicate) {
			err = tx.UpdateProtocolObject(ctx, o, "published")
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("publish http-01 answer: %w", err)
	}
	return nil
}

func (a *storedAnswers) withdraw(ctx context.Context, token string) {
	_ = a.st.Update(ctx, func(tx store.Tx) error {
		return tx.DeleteProtocolObject(ctx, kindHTTP01Answer, token)
	})
}

// HTTP01Answer is the key authorization an ACME connector published for
// token, for GET /.well-known/acme-challenge/{token} on Signet's own
// listener. Unknown or expired tokens are not found.
func (s *Service) HTTP01Answer(ctx context.Context, token string) (string, error) {
	o, err := s.d.Store.GetProtocolObject(ctx, kindHTTP01Answer, token)
	if errors.Is(err, store.ErrNotFound) || (err == nil && o.ExpiresAt != nil && !s.d.Now().Before(*o.ExpiresAt)) {
		return "", problem.NotFound("challenge_not_found", "no http-01 challenge answer for this token")
	}
	if err != nil {
		return "", fmt.Errorf("load http-01 answer: %w", err)
	}
	var r http01Record
	if err := json.Unmarshal(o.Data, &r); err != nil {
		return "", fmt.Errorf("decode http-01 answer: %w", err)
	}
	return r.KeyAuthorization, nil
}
