package domain

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// checker looks at the real world: DNS through the configured resolver,
// files over HTTP(S) at the configured ports of the addresses it returns.
type checker struct {
	resolver  *net.Resolver
	httpPort  int
	httpsPort int
}

func newChecker(cfg Config) (*checker, error) {
	c := &checker{resolver: net.DefaultResolver, httpPort: cfg.HTTPPort, httpsPort: cfg.HTTPSPort}
	if cfg.Resolver != "" {
		if _, _, err := net.SplitHostPort(cfg.Resolver); err != nil {
			return nil, fmt.Errorf("domain validation resolver %q: want host:port: %w", cfg.Resolver, err)
		}
		server := cfg.Resolver
		c.resolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, server)
		}}
	}
	return c, nil
}

func (c *checker) check(ctx context.Context, d *Domain) error {
	o := d.Order
	switch o.Method {
	case MethodHTTP, MethodHTTPS:
		return c.file(ctx, o.Method, d.Name, o.Token, o.Value)
	case MethodTXT:
		return c.txt(ctx, "_pki-validation."+d.Name, o.Value)
	case MethodCNAME:
		return c.cname(ctx, "_"+o.Token+"."+d.Name, o.Value)
	}
	return fmt.Errorf("method %s is not checked here", o.Method)
}

func (c *checker) txt(ctx context.Context, host, want string) error {
	records, err := c.resolver.LookupTXT(ctx, host+".")
	if err != nil {
		return fmt.Errorf("TXT %s: %w", host, dnsError(err))
	}
	if slices.Contains(records, want) {
		return nil
	}
	return fmt.Errorf("TXT %s: none of %d record(s) holds the validation value", host, len(records))
}

func (c *checker) cname(ctx context.Context, host, want string) error {
	got, err := c.resolver.LookupCNAME(ctx, host+".")
	if err != nil {
		return fmt.Errorf("CNAME %s: %w", host, dnsError(err))
	}
	if !strings.EqualFold(strings.TrimSuffix(got, "."), strings.TrimSuffix(want, ".")) {
		return fmt.Errorf("CNAME %s points to %s, not to the validation target", host, got)
	}
	return nil
}

// dnsError keeps resolver failures short and free of the resolver's address.
func dnsError(err error) error {
	var de *net.DNSError
	if errors.As(err, &de) {
		if de.IsNotFound {
			return errors.New("no such record")
		}
		if de.IsTimeout {
			return errors.New("DNS timeout")
		}
		return errors.New(de.Err)
	}
	return err
}

// maxFile bounds what is read of a validation file.
const maxFile = 4096

// file fetches http(s)://name/.well-known/pki-validation/TOKEN.txt from the
// domain's own addresses (resolved through the configured resolver) and
// wants its first two lines to be value and SecondLine. Certificates are not
// verified over HTTPS: the file proves control, the TLS certificate of a
// site not yet certified cannot. Redirects are not followed.
func (c *checker) file(ctx context.Context, scheme, name, token, value string) error {
	port := c.httpPort
	if scheme == MethodHTTPS {
		port = c.httpsPort
	}
	addrs, err := c.resolver.LookupIPAddr(ctx, name+".")
	if err != nil {
		return fmt.Errorf("address of %s: %w", name, dnsError(err))
	}
	if len(addrs) == 0 {
		return fmt.Errorf("%s has no address", name)
	}
	target := net.JoinHostPort(addrs[0].IP.String(), strconv.Itoa(port))
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, target)
		},
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true, ServerName: name}, //nolint:gosec // see the comment above
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	url := fmt.Sprintf("%s://%s/.well-known/pki-validation/%s.txt", scheme, name, token)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("validation URL: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("fetch %s: connection failed", url)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetch %s: HTTP %d", url, resp.StatusCode)
	}
	sc := bufio.NewScanner(io.LimitReader(resp.Body, maxFile))
	var lines []string
	for sc.Scan() && len(lines) < 2 {
		lines = append(lines, strings.TrimSpace(sc.Text()))
	}
	if len(lines) < 1 || lines[0] != value || (len(lines) > 1 && lines[1] != SecondLine) {
		return fmt.Errorf("fetch %s: the file does not hold the validation value", url)
	}
	return nil
}
