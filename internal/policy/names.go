package policy

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// checkSANs judges the request's subject alternative names: their number,
// their syntax, and whether the template's patterns allow them.
func (t *Template) checkSANs(vs *violations, r Request) {
	s := &t.SANs
	total := len(r.DNSNames) + len(r.IPAddresses) + len(r.EmailAddresses) + len(r.URIs)
	if total == 0 && s.Required {
		vs.add("sans", "san_required", "at least one subject alternative name is required")
	}
	if limit := s.limit(); total > limit {
		vs.add("sans", "too_many_sans", "the request has %d subject alternative names; the template allows at most %d", total, limit)
	}
	for i, name := range r.DNSNames {
		f := fmt.Sprintf("sans.dns[%d]", i)
		wildcard, err := checkDNSName(name)
		if err != nil {
			vs.add(f, "san_invalid", "DNS name %s is invalid: %v", quote(name), err)
			continue
		}
		// A wildcard outside the patterns breaks two rules; report both so
		// the requester does not fix one only to meet the other.
		if wildcard && !t.AllowWildcard {
			vs.add(f, "wildcard_not_allowed", "wildcard name %s is not allowed by this template", quote(name))
		}
		if !matchDNS(s.DNS, strings.ToLower(name)) {
			vs.add(f, "san_not_allowed", "DNS name %s is not allowed (%s)", quote(name), allowed(s.DNS, "DNS names"))
		}
	}
	for i, ip := range r.IPAddresses {
		f := fmt.Sprintf("sans.ip[%d]", i)
		addr, ok := netip.AddrFromSlice(ip)
		if !ok {
			vs.add(f, "san_invalid", "IP address of %d bytes is invalid (want 4 or 16)", len(ip))
			continue
		}
		// An IPv4-mapped IPv6 address is encoded as IPv4 in certificates.
		if addr = addr.Unmap(); !matchIP(s.IP, addr) {
			vs.add(f, "san_not_allowed", "IP address %s is not allowed (%s)", addr, allowed(s.IP, "IP addresses"))
		}
	}
	for i, m := range r.EmailAddresses {
		f := fmt.Sprintf("sans.email[%d]", i)
		if err := checkEmail(m); err != nil {
			vs.add(f, "san_invalid", "email address %s is invalid: %v", quote(m), err)
		} else if !matchEmail(s.Email, strings.ToLower(m)) {
			vs.add(f, "san_not_allowed", "email address %s is not allowed (%s)", quote(m), allowed(s.Email, "email addresses"))
		}
	}
	for i, u := range r.URIs {
		f := fmt.Sprintf("sans.uri[%d]", i)
		if err := checkURI(u); err != nil {
			vs.add(f, "san_invalid", "URI is invalid: %v", err)
		} else if !matchURI(s.URI, u.String()) {
			vs.add(f, "san_not_allowed", "URI %s is not allowed (%s)", quote(u.String()), allowed(s.URI, "URIs"))
		}
	}
}

func (s *SANRules) limit() int {
	if s.Max == 0 {
		return defaultMaxSANs
	}
	return s.Max
}

// cnInSANs reports whether the common name repeats a DNS or IP SAN; an IP
// is compared as an address, so "::1" matches "0:0::1".
func cnInSANs(cn string, r Request) bool {
	if addr, err := netip.ParseAddr(cn); err == nil {
		for _, ip := range r.IPAddresses {
			if a, ok := netip.AddrFromSlice(ip); ok && a.Unmap() == addr.Unmap() {
				return true
			}
		}
		return false
	}
	for _, d := range r.DNSNames {
		if strings.EqualFold(d, cn) {
			return true
		}
	}
	return false
}

// checkHostname accepts LDH host names: labels of 1-63 letters, digits and
// inner hyphens, 253 bytes in all. A single label ("db") is fine: internal
// names are common in a private PKI. A trailing dot is refused because
// certificates carry names without it, and so is an IP address, which
// belongs in an IP SAN.
func checkHostname(h string) error {
	switch {
	case h == "":
		return errors.New("it is empty")
	case len(h) > 253:
		return fmt.Errorf("it is %d bytes long; at most 253 are allowed", len(h))
	case strings.HasSuffix(h, "."):
		return errors.New("it ends with a dot")
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return errors.New("it is an IP address; request it as an IP SAN")
	}
	for label := range strings.SplitSeq(h, ".") {
		if err := checkLabel(label); err != nil {
			return err
		}
	}
	return nil
}

func checkLabel(label string) error {
	switch {
	case label == "":
		return errors.New("it has an empty label")
	case len(label) > 63:
		return fmt.Errorf("label %s is %d bytes long; at most 63 are allowed", quote(label), len(label))
	case label[0] == '-' || label[len(label)-1] == '-':
		return fmt.Errorf("label %s starts or ends with a hyphen", quote(label))
	}
	for _, c := range []byte(label) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("character %s is not allowed (only letters, digits and hyphens; use xn-- for international names)", quote(string(c)))
		}
	}
	return nil
}

// checkDNSName checks a requested DNS name, which may be a wildcard whose
// "*" is the whole first label.
func checkDNSName(name string) (wildcard bool, err error) {
	host, wildcard := strings.CutPrefix(name, "*.")
	if strings.Contains(host, "*") {
		return wildcard, errors.New("a wildcard must be the whole first label, as in *.example.com")
	}
	return wildcard, checkHostname(host)
}

// checkDNSPattern checks one of SANRules.DNS.
func checkDNSPattern(p string) error {
	if p == "*" {
		return nil
	}
	if rest, ok := strings.CutPrefix(p, "*."); ok {
		p = rest
	} else if rest, ok := strings.CutPrefix(p, "."); ok {
		p = rest
	}
	if strings.Contains(p, "*") {
		return errors.New("* is allowed only as the whole pattern or its whole first label")
	}
	return checkHostname(p)
}

// matchDNS applies the DNS patterns (see SANRules) to a valid, lower-case
// name, which may be a wildcard: its "*" label is then matched like any other.
func matchDNS(patterns []string, name string) bool {
	for _, p := range patterns {
		p = strings.ToLower(p)
		switch {
		case p == "*":
			return true
		case strings.HasPrefix(p, "*."):
			label, ok := strings.CutSuffix(name, p[1:])
			if ok && label != "" && !strings.Contains(label, ".") {
				return true
			}
		case strings.HasPrefix(p, "."):
			if len(name) > len(p) && strings.HasSuffix(name, p) {
				return true
			}
		case name == p:
			return true
		}
	}
	return false
}

// matchIP reports whether addr lies in one of the CIDRs; unparsable CIDRs
// match nothing.
func matchIP(cidrs []string, addr netip.Addr) bool {
	for _, c := range cidrs {
		if p, err := netip.ParsePrefix(c); err == nil && p.Contains(addr) {
			return true
		}
	}
	return false
}

// checkEmail accepts a plain addr-spec, local@domain: a dot-atom local part
// (no quoted strings, no comments, no display name) and a host name domain.
// rfc822Name SANs are ASCII, so is everything accepted here.
func checkEmail(addr string) error {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return errors.New("it has no @")
	}
	local, domain := addr[:at], addr[at+1:]
	if err := checkLocalPart(local); err != nil {
		return err
	}
	if err := checkHostname(domain); err != nil {
		return fmt.Errorf("domain %s: %w", quote(domain), err)
	}
	return nil
}

func checkLocalPart(local string) error {
	switch {
	case local == "":
		return errors.New("the part before @ is empty")
	case len(local) > 64:
		return fmt.Errorf("the part before @ is %d bytes long; at most 64 are allowed", len(local))
	case local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, ".."):
		return errors.New("the part before @ has a misplaced dot")
	}
	for _, c := range []byte(local) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(".!#$%&'*+-/=?^_`{|}~", c) >= 0) {
			return fmt.Errorf("character %s is not allowed before @", quote(string(c)))
		}
	}
	return nil
}

// checkEmailPattern checks one of SANRules.Email.
func checkEmailPattern(p string) error {
	if p == "*" {
		return nil
	}
	if domain, ok := strings.CutPrefix(p, "*@"); ok {
		return checkHostname(domain)
	}
	return checkEmail(p)
}

// matchEmail applies the email patterns (see SANRules) to a lower-case address.
func matchEmail(patterns []string, addr string) bool {
	for _, p := range patterns {
		p = strings.ToLower(p)
		if p == "*" || p == addr {
			return true
		}
		if domain, ok := strings.CutPrefix(p, "*@"); ok && strings.HasSuffix(addr, "@"+domain) {
			return true
		}
	}
	return false
}

// checkURI requires an absolute URI, as RFC 5280 does for URI SANs.
func checkURI(u *url.URL) error {
	switch {
	case u == nil:
		return errors.New("it is missing")
	case u.Scheme == "":
		return fmt.Errorf("%s is not absolute (it has no scheme)", quote(u.String()))
	}
	return nil
}

// checkURIPattern checks one of SANRules.URI.
func checkURIPattern(p string) error {
	if p == "*" {
		return nil
	}
	prefix := strings.TrimSuffix(p, "*")
	if strings.Contains(prefix, "*") {
		return errors.New("* is allowed only at the end")
	}
	if !hasScheme(prefix) {
		return errors.New("it does not start with a scheme such as spiffe or https")
	}
	return nil
}

// hasScheme reports whether s starts with an RFC 3986 scheme and its colon.
func hasScheme(s string) bool {
	colon := strings.IndexByte(s, ':')
	if colon < 1 {
		return false
	}
	for i, c := range []byte(s[:colon]) {
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || !(c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return true
}

// matchURI applies the URI patterns (see SANRules) to a URI's text.
func matchURI(patterns []string, u string) bool {
	for _, p := range patterns {
		if p == "*" || p == u {
			return true
		}
		if prefix, ok := strings.CutSuffix(p, "*"); ok && strings.HasPrefix(u, prefix) {
			return true
		}
	}
	return false
}

// allowed describes a pattern list for a violation message, briefly.
func allowed(patterns []string, what string) string {
	const show = 5
	switch {
	case len(patterns) == 0:
		return "the template allows no " + what
	case len(patterns) > show:
		return fmt.Sprintf("allowed: %s and %d more", strings.Join(patterns[:show], ", "), len(patterns)-show)
	}
	return "allowed: " + strings.Join(patterns, ", ")
}

// quote renders a requested value for a message: quoted, so odd characters
// show, and cut short, so a hostile request cannot bloat errors and logs.
func quote(s string) string {
	const limit = 100
	if len(s) <= limit {
		return strconv.Quote(s)
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "…"
}
