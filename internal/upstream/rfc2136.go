package upstream

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/signet-pki/signet/internal/problem"
)

// rfc2136 publishes dns-01 TXT records by RFC 2136 dynamic update, signed
// with TSIG (RFC 8945) when a key is configured: BIND, PowerDNS and Knot all
// accept it.
type rfc2136 struct {
	server  string
	zone    string
	keyName string
	alg     string
	secret  string // base64, as TSIG keys are written
}

// tsigAlgorithms are the HMACs RFC 8945 servers share; MD5 is left out.
var tsigAlgorithms = []string{dns.HmacSHA256, dns.HmacSHA384, dns.HmacSHA512, dns.HmacSHA224, dns.HmacSHA1}

func newRFC2136(cfg map[string]any, secrets map[string]string) (*rfc2136, error) {
	var vs []problem.Violation
	add := func(field, msg string) {
		vs = append(vs, problem.Violation{Field: field, Code: "invalid", Message: msg})
	}
	r := &rfc2136{server: configString(cfg, "dns_server"), zone: dns.Fqdn(strings.ToLower(configString(cfg, "dns_zone"))),
		keyName: configString(cfg, "tsig_key_name"), alg: configString(cfg, "tsig_algorithm"), secret: secrets["tsig_secret"]}
	if _, _, err := net.SplitHostPort(r.server); err != nil {
		add("config.dns_server", "dns_server must be the host:port of a server accepting RFC 2136 updates")
	}
	if r.zone == "." || r.zone == "" {
		add("config.dns_zone", "dns_zone names the zone the challenge records are updated in")
	}
	if r.keyName != "" {
		r.keyName = dns.Fqdn(r.keyName)
		if r.alg == "" {
			r.alg = dns.HmacSHA256
		}
		r.alg = dns.Fqdn(strings.ToLower(r.alg))
		if !slices.Contains(tsigAlgorithms, r.alg) {
			add("config.tsig_algorithm", "tsig_algorithm must be one of hmac-sha256, hmac-sha384, hmac-sha512, hmac-sha224, hmac-sha1")
		}
		if _, err := base64.StdEncoding.DecodeString(r.secret); err != nil || r.secret == "" {
			add("secrets.tsig_secret", "tsig_secret must be the base64 TSIG key")
		}
	}
	if len(vs) > 0 {
		return nil, problem.Violations("connector_invalid", "the dns-01 settings are invalid", vs)
	}
	return r, nil
}

// update adds (or removes) one TXT record.
func (r *rfc2136) update(ctx context.Context, fqdn, value string, add bool) error {
	fqdn = strings.ToLower(fqdn)
	if !strings.HasSuffix(fqdn, "."+r.zone) && fqdn != r.zone {
		return &RejectedError{Message: fmt.Sprintf("%s is not in the dns-01 zone %s", fqdn, r.zone)}
	}
	rr := &dns.TXT{Hdr: dns.RR_Header{Name: fqdn, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60}, Txt: []string{value}}
	m := new(dns.Msg)
	m.SetUpdate(r.zone)
	if add {
		m.Insert([]dns.RR{rr})
	} else {
		m.Remove([]dns.RR{rr})
	}
	c := &dns.Client{Net: "tcp", Timeout: 10 * time.Second}
	if r.keyName != "" {
		m.SetTsig(r.keyName, r.alg, 300, time.Now().Unix())
		c.TsigSecret = map[string]string{r.keyName: r.secret}
	}
	resp, _, err := c.ExchangeContext(ctx, m, r.server)
	// A refusal is reported by its rcode even when the answer's TSIG does
	// not verify (servers cannot sign with a key they do not know).
	if err != nil && (resp == nil || resp.Rcode == dns.RcodeSuccess) {
		return fmt.Errorf("RFC 2136 update of %s at %s: %w", fqdn, r.server, err)
	}
	if resp.Rcode != dns.RcodeSuccess {
		// A TSIG failure's detail (BADKEY, BADSIG, BADTIME) is in the
		// response's TSIG record, not its rcode (NOTAUTH).
		why := dns.RcodeToString[resp.Rcode]
		if t := resp.IsTsig(); t != nil && t.Error != dns.RcodeSuccess {
			why += " (TSIG " + dns.RcodeToString[int(t.Error)] + ")"
		}
		return fmt.Errorf("RFC 2136 update of %s at %s: the server answered %s", fqdn, r.server, why)
	}
	return nil
}
