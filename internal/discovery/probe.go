// Package discovery finds certificates on the network and rates the TLS
// endpoints that serve them: which protocol versions and cipher suites they
// accept, whether the chain is complete, trusted and unexpired, whether it
// matches the host name, and how strong the key is, summed up in a grade.
package discovery

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"
)

// Endpoint is one host:port to probe. ServerName is sent as SNI and checked
// against the certificate; it defaults to Host when Host is a name.
type Endpoint struct {
	Host       string
	Port       int
	ServerName string
}

func (e Endpoint) String() string { return net.JoinHostPort(e.Host, fmt.Sprint(e.Port)) }

func (e Endpoint) serverName() string {
	if e.ServerName != "" {
		return e.ServerName
	}
	if net.ParseIP(e.Host) == nil {
		return e.Host
	}
	return ""
}

// Prober connects to endpoints. Zero values take defaults.
type Prober struct {
	Timeout     time.Duration         // per connection (default 5 s)
	Roots       func() *x509.CertPool // trust anchors, read per probe (nil: the system's); Signet adds its own CAs
	Now         func() time.Time
	Dial        func(ctx context.Context, network, addr string) (net.Conn, error)
	Parallelism int // handshakes at once while enumerating one endpoint (default 4)
}

// versions from oldest to newest, as probed.
var versions = []uint16{tls.VersionTLS10, tls.VersionTLS11, tls.VersionTLS12, tls.VersionTLS13}

// Observation is what one endpoint showed.
type Observation struct {
	Endpoint     Endpoint
	Reachable    bool
	Error        string              `json:",omitempty"`
	Versions     []string            // accepted protocol versions, oldest first
	Ciphers      map[string][]Cipher // accepted suites by version (TLS 1.3: the one negotiated)
	Chain        []*x509.Certificate `json:"-"` // as served, leaf first
	ChainDER     [][]byte
	VerifyError  string `json:",omitempty"` // empty when the chain verifies for the name
	ServedAt     time.Time
	STARTTLS     string `json:",omitempty"` // protocol upgraded first ("smtp"), if any
	NegotiatedAt string // version of the best handshake
}

// Cipher is an accepted suite and how it rates.
type Cipher struct {
	ID             uint16
	Name           string
	ForwardSecrecy bool
	Rating         string // safe | weak | insecure
}

// Probe connects to e with every protocol version and, below TLS 1.3, every
// cipher suite crypto/tls can offer, and records what it accepts and the
// chain it serves.
func (p *Prober) Probe(ctx context.Context, e Endpoint) *Observation {
	o := &Observation{Endpoint: e, Ciphers: map[string][]Cipher{}, ServedAt: p.now()}
	if startTLSFor(e.Port) != "" {
		o.STARTTLS = startTLSFor(e.Port)
	}
	// The best handshake first: it tells whether the endpoint speaks TLS at all.
	state, err := p.handshake(ctx, e, tls.VersionTLS10, tls.VersionTLS13, nil)
	if err != nil {
		o.Error = err.Error()
		return o
	}
	o.Reachable = true
	o.Chain = state.PeerCertificates
	for _, c := range o.Chain {
		o.ChainDER = append(o.ChainDER, c.Raw)
	}
	o.NegotiatedAt = tls.VersionName(state.Version)
	o.VerifyError = p.verify(e, o.Chain)

	type result struct {
		version uint16
		suite   *Cipher
		ok      bool
	}
	var jobs []func() result
	for _, v := range versions {
		if v == tls.VersionTLS13 {
			jobs = append(jobs, func() result {
				st, err := p.handshake(ctx, e, v, v, nil)
				if err != nil {
					return result{version: v}
				}
				c := rate(st.CipherSuite, v)
				return result{version: v, suite: &c, ok: true}
			})
			continue
		}
		for _, s := range suitesFor(v) {
			jobs = append(jobs, func() result {
				st, err := p.handshake(ctx, e, v, v, []uint16{s})
				if err != nil || st.CipherSuite != s {
					return result{version: v}
				}
				c := rate(s, v)
				return result{version: v, suite: &c, ok: true}
			})
		}
	}
	results := runLimited(jobs, p.parallelism())
	accepted := map[uint16]bool{}
	for _, r := range results {
		if r.ok {
			accepted[r.version] = true
			name := tls.VersionName(r.version)
			o.Ciphers[name] = append(o.Ciphers[name], *r.suite)
		}
	}
	for _, v := range versions {
		if accepted[v] {
			o.Versions = append(o.Versions, tls.VersionName(v))
		}
	}
	for _, cs := range o.Ciphers {
		slices.SortFunc(cs, func(a, b Cipher) int { return int(a.ID) - int(b.ID) })
	}
	return o
}

func (p *Prober) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Prober) parallelism() int {
	if p.Parallelism > 0 {
		return p.Parallelism
	}
	return 4
}

// runLimited runs jobs n at a time and returns their results in order.
func runLimited[T any](jobs []func() T, n int) []T {
	out := make([]T, len(jobs))
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i, job := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out[i] = job()
		}()
	}
	wg.Wait()
	return out
}

// suitesFor lists the suites crypto/tls can offer at version v (TLS 1.2 and
// below), secure and insecure alike: a scanner must see what a server accepts.
func suitesFor(v uint16) []uint16 {
	var ids []uint16
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		if slices.Contains(s.SupportedVersions, v) && !slices.Contains(s.SupportedVersions, tls.VersionTLS13) {
			ids = append(ids, s.ID)
		}
	}
	return ids
}

func (p *Prober) handshake(ctx context.Context, e Endpoint, minV, maxV uint16, suites []uint16) (*tls.ConnectionState, error) {
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	dial := p.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	raw, err := dial(ctx, "tcp", e.String())
	if err != nil {
		return nil, err
	}
	defer raw.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = raw.SetDeadline(dl)
	}
	if proto := startTLSFor(e.Port); proto != "" {
		if err := startTLS(raw, proto); err != nil {
			return nil, fmt.Errorf("STARTTLS: %w", err)
		}
	}
	cfg := &tls.Config{
		ServerName: e.serverName(), MinVersion: minV, MaxVersion: maxV, CipherSuites: suites,
		// The scan records what is served, trusted or not; verification is
		// done separately (verify) so that a bad chain is rated, not skipped.
		InsecureSkipVerify: true, //nolint:gosec // rated by verify below
	}
	conn := tls.Client(raw, cfg)
	if err := conn.HandshakeContext(ctx); err != nil {
		return nil, err
	}
	st := conn.ConnectionState()
	return &st, nil
}

// verify checks the served chain for the endpoint's name.
func (p *Prober) verify(e Endpoint, chain []*x509.Certificate) string {
	if len(chain) == 0 {
		return "no certificate served"
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	var roots *x509.CertPool
	if p.Roots != nil {
		roots = p.Roots()
	}
	opts := x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: p.now(), DNSName: e.serverName()}
	if opts.DNSName == "" {
		opts.DNSName = e.Host // an IP address: x509 checks IP SANs for it
	}
	if _, err := chain[0].Verify(opts); err != nil {
		return err.Error()
	}
	return ""
}

// startTLSFor names the protocol that must be upgraded before TLS on a port.
func startTLSFor(port int) string {
	if port == 587 || port == 25 {
		return "smtp"
	}
	return ""
}

// startTLS speaks just enough SMTP to upgrade the connection.
func startTLS(c net.Conn, proto string) error {
	if proto != "smtp" {
		return fmt.Errorf("unsupported STARTTLS protocol %s", proto)
	}
	r := bufio.NewReader(c)
	expect := func(code string) error {
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return err
			}
			if !strings.HasPrefix(line, code) {
				return fmt.Errorf("unexpected reply %q", strings.TrimSpace(line))
			}
			if len(line) < 4 || line[3] != '-' {
				return nil
			}
		}
	}
	if err := expect("220"); err != nil {
		return err
	}
	if _, err := fmt.Fprint(c, "EHLO signet-discovery\r\n"); err != nil {
		return err
	}
	if err := expect("250"); err != nil {
		return err
	}
	if _, err := fmt.Fprint(c, "STARTTLS\r\n"); err != nil {
		return err
	}
	if err := expect("220"); err != nil {
		return errors.New("server refused STARTTLS")
	}
	return nil
}
