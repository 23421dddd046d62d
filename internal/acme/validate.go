package acme

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// validator checks challenges over the network (RFC 8555 section 8, RFC
// 8737). Which ports it connects to, which resolver it asks and which
// names it pins to addresses are configuration, so private networks and
// tests can point it at their own servers.
type validator struct {
	httpPort, tlsPort int
	resolver          *net.Resolver
	pins              []pin
}

// pin maps names matching pattern to an address: "*" every name, "*.test"
// every name under test (at any depth), anything else that name exactly.
type pin struct {
	pattern string
	addr    netip.Addr
}

// parsePins reads "pattern=address" entries (SIGNET_ACME_RESOLVE).
func parsePins(entries []string) ([]pin, error) {
	var out []pin
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		pattern, addr, ok := strings.Cut(e, "=")
		a, err := netip.ParseAddr(strings.TrimSpace(addr))
		pattern = strings.ToLower(strings.TrimSpace(pattern))
		if !ok || err != nil || pattern == "" {
			return nil, fmt.Errorf("ACME resolve entry %q: want name=address, as in *.test=127.0.0.1", e)
		}
		out = append(out, pin{pattern: strings.TrimSuffix(pattern, "."), addr: a})
	}
	return out, nil
}

func (p pin) matches(name string) bool {
	switch {
	case p.pattern == "*":
		return true
	case strings.HasPrefix(p.pattern, "*."):
		return strings.HasSuffix(name, p.pattern[1:])
	default:
		return name == p.pattern
	}
}

func newValidator(cfg Config) (*validator, error) {
	pins, err := parsePins(cfg.Resolve)
	if err != nil {
		return nil, err
	}
	v := &validator{httpPort: cfg.HTTP01Port, tlsPort: cfg.TLSALPN01Port, pins: pins, resolver: net.DefaultResolver}
	if cfg.DNSResolver != "" {
		if _, _, err := net.SplitHostPort(cfg.DNSResolver); err != nil {
			return nil, fmt.Errorf("ACME DNS resolver %q: want host:port: %w", cfg.DNSResolver, err)
		}
		server := cfg.DNSResolver
		v.resolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, server)
		}}
	}
	return v, nil
}

// validate runs one challenge; nil means it passed.
func (v *validator) validate(ctx context.Context, typ string, id identifier, token, keyAuth string) *acmeError {
	switch typ {
	case challengeHTTP01:
		return v.http01(ctx, id, token, keyAuth)
	case challengeDNS01:
		return v.dns01(ctx, id.Value, keyAuth)
	case challengeTLSALPN01:
		return v.tlsALPN01(ctx, id, keyAuth)
	default:
		return malformed("challenge type %q is not supported", typ)
	}
}

// addresses returns where name is reached: its pin, itself for an IP
// address, else what the resolver says.
func (v *validator) addresses(ctx context.Context, name string) ([]netip.Addr, *acmeError) {
	if a, err := netip.ParseAddr(name); err == nil {
		return []netip.Addr{a}, nil
	}
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	for _, p := range v.pins {
		if p.matches(name) {
			return []netip.Addr{p.addr}, nil
		}
	}
	addrs, err := v.resolver.LookupNetIP(ctx, "ip", name+".")
	if err != nil || len(addrs) == 0 {
		return nil, newError(errDNS, 0, "no address found for %s: %s", name, dnsFailure(err))
	}
	return addrs, nil
}

// dnsFailure describes a lookup error without the server address Go's
// resolver names, which is the system's even when a resolver is configured.
func dnsFailure(err error) string {
	var de *net.DNSError
	switch {
	case err == nil:
		return "no records"
	case errors.As(err, &de) && de.IsNotFound:
		return "no such name or no records of that type"
	case errors.As(err, &de):
		return de.Err
	default:
		return err.Error()
	}
}

// dial connects to host:port at the first address that answers.
func (v *validator) dial(ctx context.Context, host string, port int) (net.Conn, *acmeError) {
	addrs, fail := v.addresses(ctx, host)
	if fail != nil {
		return nil, fail
	}
	var d net.Dialer
	var last error
	for _, a := range addrs {
		conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(a.Unmap().String(), strconv.Itoa(port)))
		if err == nil {
			return conn, nil
		}
		last = err
	}
	return nil, newError(errConnection, 0, "cannot connect to %s port %d: %v", host, port, last)
}

// maxHTTP01Body bounds what is read of a challenge response: a key
// authorization is under 100 bytes.
const maxHTTP01Body = 1024

// http01 fetches http://{identifier}:{port}/.well-known/acme-challenge/{token}
// and expects the key authorization (trailing white space ignored).
// Redirects are followed (see checkRedirect), their hosts through the same
// pins and resolver; https certificates are not checked (RFC 8555 8.3).
func (v *validator) http01(ctx context.Context, id identifier, token, keyAuth string) *acmeError {
	host := id.Value
	if id.Type == "ip" {
		host = "[" + host + "]"
		if a, err := netip.ParseAddr(id.Value); err == nil && a.Is4() {
			host = id.Value
		}
	}
	target := fmt.Sprintf("http://%s/.well-known/acme-challenge/%s", hostPort(host, v.httpPort, 80), token)
	var dialFail *acmeError
	tr := &http.Transport{
		DisableKeepAlives: true,
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // RFC 8555 8.3: redirect targets' certificates are not validated
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			h, p, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			port, _ := strconv.Atoi(p)
			conn, fail := v.dial(ctx, strings.Trim(h, "[]"), port)
			if fail != nil {
				dialFail = fail
				return nil, fail
			}
			return conn, nil
		},
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, CheckRedirect: v.checkRedirect}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return malformed("cannot build the validation request: %v", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		if dialFail != nil {
			return dialFail
		}
		return newError(errConnection, 0, "fetching %s: %v", target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxHTTP01Body+1))
	if err != nil {
		return newError(errConnection, 0, "reading %s: %v", target, err)
	}
	if resp.StatusCode != http.StatusOK {
		return newError(errIncorrectResponse, 0, "%s answered %d, not 200", target, resp.StatusCode)
	}
	got := strings.TrimRight(string(body), " \t\r\n")
	if len(body) > maxHTTP01Body || subtle.ConstantTimeCompare([]byte(got), []byte(keyAuth)) != 1 {
		return newError(errIncorrectResponse, 0, "%s answered %s, not the key authorization", target, describeBody(got))
	}
	return nil
}

// checkRedirect follows at most 10 redirects, to http or https on the
// standard ports or the configured http-01 port: a validation is not a
// way to make Signet fetch arbitrary services.
func (v *validator) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("more than 10 redirects")
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return fmt.Errorf("redirect to a %s URL", req.URL.Scheme)
	}
	port := req.URL.Port()
	if port != "" && port != "80" && port != "443" && port != strconv.Itoa(v.httpPort) {
		return fmt.Errorf("redirect to port %s", port)
	}
	return nil
}

// keyAuthShape is what a key authorization looks like: base64url and a dot.
var keyAuthShape = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,200}$`)

// describeBody shows a wrong answer only when it looks like a key
// authorization (a stale token, another account's key): anything else is
// summarized by its length, so a redirect cannot make Signet relay the
// content of a service it reached.
func describeBody(body string) string {
	if keyAuthShape.MatchString(body) {
		return strconv.Quote(body)
	}
	return fmt.Sprintf("%d bytes of something else", len(body))
}

func hostPort(host string, port, def int) string {
	if port == def {
		return host
	}
	return host + ":" + strconv.Itoa(port)
}

// dns01 looks up TXT _acme-challenge.{domain} and expects one record to be
// base64url(SHA-256(key authorization)).
func (v *validator) dns01(ctx context.Context, domain, keyAuth string) *acmeError {
	name := "_acme-challenge." + strings.TrimSuffix(domain, ".") + "."
	records, err := v.resolver.LookupTXT(ctx, name)
	if err != nil {
		return newError(errDNS, 0, "TXT lookup of %s failed: %s", name, dnsFailure(err))
	}
	sum := sha256.Sum256([]byte(keyAuth))
	want := b64.EncodeToString(sum[:])
	for _, r := range records {
		if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(r)), []byte(want)) == 1 {
			return nil
		}
	}
	return newError(errIncorrectResponse, 0, "no TXT record of %s holds the expected digest (%d records found)", name, len(records))
}

// idPeACMEIdentifier is the acmeIdentifier extension of RFC 8737.
var idPeACMEIdentifier = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 31}

// tlsALPN01 connects with ALPN acme-tls/1 and SNI the identifier (an IP
// address's reverse name) and expects a certificate for exactly that
// identifier carrying the critical acmeIdentifier extension with
// SHA-256(key authorization).
func (v *validator) tlsALPN01(ctx context.Context, id identifier, keyAuth string) *acmeError {
	sni := id.Value
	if id.Type == "ip" {
		a, err := netip.ParseAddr(id.Value)
		if err != nil {
			return malformed("%q is not an IP address", id.Value)
		}
		sni = reverseName(a)
	}
	conn, fail := v.dial(ctx, id.Value, v.tlsPort)
	if fail != nil {
		return fail
	}
	defer conn.Close()
	tc := tls.Client(conn, &tls.Config{ServerName: sni, NextProtos: []string{"acme-tls/1"}, MinVersion: tls.VersionTLS12,
		InsecureSkipVerify: true}) //nolint:gosec // the certificate is self-signed by design; its contents are checked below
	if err := tc.HandshakeContext(ctx); err != nil {
		return newError(errTLS, 0, "TLS handshake with %s port %d: %v", id.Value, v.tlsPort, err)
	}
	st := tc.ConnectionState()
	if st.NegotiatedProtocol != "acme-tls/1" {
		return newError(errTLS, 0, "%s did not negotiate the acme-tls/1 protocol", id.Value)
	}
	if len(st.PeerCertificates) == 0 {
		return newError(errTLS, 0, "%s sent no certificate", id.Value)
	}
	return checkALPNCertificate(st.PeerCertificates[0], id, keyAuth)
}

// checkALPNCertificate applies RFC 8737 section 3 to the served certificate.
func checkALPNCertificate(cert *x509.Certificate, id identifier, keyAuth string) *acmeError {
	names := len(cert.DNSNames) + len(cert.IPAddresses) + len(cert.EmailAddresses) + len(cert.URIs)
	switch {
	case id.Type == "dns" && (names != 1 || len(cert.DNSNames) != 1 || !strings.EqualFold(cert.DNSNames[0], id.Value)):
		return newError(errIncorrectResponse, 0, "the tls-alpn-01 certificate must name exactly %s", id.Value)
	case id.Type == "ip" && (names != 1 || len(cert.IPAddresses) != 1 || cert.IPAddresses[0].String() != id.Value):
		return newError(errIncorrectResponse, 0, "the tls-alpn-01 certificate must name exactly %s", id.Value)
	}
	sum := sha256.Sum256([]byte(keyAuth))
	for _, ext := range cert.Extensions {
		if !ext.Id.Equal(idPeACMEIdentifier) {
			continue
		}
		if !ext.Critical {
			return newError(errIncorrectResponse, 0, "the acmeIdentifier extension must be critical")
		}
		var got []byte
		if rest, err := asn1.Unmarshal(ext.Value, &got); err != nil || len(rest) > 0 {
			return newError(errIncorrectResponse, 0, "the acmeIdentifier extension is not an OCTET STRING")
		}
		if subtle.ConstantTimeCompare(got, sum[:]) != 1 {
			return newError(errIncorrectResponse, 0, "the acmeIdentifier extension does not hold the key authorization's digest")
		}
		return nil
	}
	return newError(errIncorrectResponse, 0, "the tls-alpn-01 certificate has no acmeIdentifier extension")
}
