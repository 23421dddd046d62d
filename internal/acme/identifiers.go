package acme

import (
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/signet-pki/signet/internal/policy"
	"github.com/signet-pki/signet/internal/profile"
)

// maxIdentifiers bounds an order (each costs an authorization and a
// validation); templates may allow fewer.
const maxIdentifiers = 100

// normalizeIdentifiers checks an order's identifiers and puts them in the
// form certificates carry: lower-case DNS names, canonical IP addresses,
// without duplicates.
func normalizeIdentifiers(in []identifier) ([]identifier, error) {
	if len(in) == 0 {
		return nil, malformed("an order needs at least one identifier")
	}
	if len(in) > maxIdentifiers {
		return nil, newError(errRejectedIdentifier, http.StatusBadRequest, "an order may name at most %d identifiers", maxIdentifiers)
	}
	out := make([]identifier, 0, len(in))
	for _, id := range in {
		n, err := normalizeIdentifier(id)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

func normalizeIdentifier(id identifier) (identifier, error) {
	switch id.Type {
	case "dns":
		v := strings.ToLower(id.Value)
		host, _ := strings.CutPrefix(v, "*.")
		if _, err := netip.ParseAddr(host); err == nil {
			return id, rejected(id, "%q is an IP address: use an identifier of type ip", id.Value)
		}
		if !validHostname(host) {
			return id, rejected(id, "%q is not a valid DNS name", id.Value)
		}
		return identifier{Type: "dns", Value: v}, nil
	case "ip":
		a, err := netip.ParseAddr(id.Value)
		if err != nil || a.Zone() != "" {
			return id, rejected(id, "%q is not an IP address", id.Value)
		}
		return identifier{Type: "ip", Value: a.Unmap().String()}, nil
	default:
		e := newError(errUnsupportedIdentifier, http.StatusBadRequest, "identifier type %q is not supported (dns, ip)", id.Type)
		e.Identifier = &identifier{Type: id.Type, Value: id.Value}
		return id, e
	}
}

func rejected(id identifier, format string, args ...any) *acmeError {
	e := newError(errRejectedIdentifier, http.StatusBadRequest, format, args...)
	e.Identifier = &identifier{Type: id.Type, Value: id.Value}
	return e
}

var hostLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// validHostname accepts LDH names; single labels ("db") too, as private
// networks use them (the template still decides whether they are allowed).
func validHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for l := range strings.SplitSeq(h, ".") {
		if !hostLabel.MatchString(l) {
			return false
		}
	}
	return true
}

// checkTemplate refuses identifiers the profile's template would refuse,
// before any challenge is offered for them: the template's SAN rules decide
// which names an account may get. Key and subject rules wait for the CSR.
func checkTemplate(prof *profile.Resolved, ids []identifier) error {
	dns, ips, byField := namesOf(ids)
	vs := prof.Template.Parsed.Evaluate(policy.Request{DNSNames: dns, IPAddresses: ips})
	var subs []*acmeError
	for _, v := range vs {
		if !strings.HasPrefix(v.Field, "sans") {
			continue
		}
		sub := &acmeError{Type: errRejectedIdentifier, Detail: v.Message}
		if id, ok := byField[v.Field]; ok {
			sub.Identifier = &id
		}
		subs = append(subs, sub)
	}
	if len(subs) == 0 {
		return nil
	}
	e := newError(errRejectedIdentifier, http.StatusBadRequest, "profile %s does not allow %d of the identifiers", prof.Profile.Name, len(subs))
	e.Subproblems = subs
	return e
}

// namesOf splits identifiers into DNS names and IP addresses, remembering
// which identifier each policy field ("sans.dns[0]") names.
func namesOf(ids []identifier) ([]string, []net.IP, map[string]identifier) {
	var dns []string
	var ips []net.IP
	byField := map[string]identifier{}
	for _, id := range ids {
		if id.Type == "ip" {
			byField["sans.ip["+strconv.Itoa(len(ips))+"]"] = id
			ips = append(ips, net.ParseIP(id.Value))
			continue
		}
		byField["sans.dns["+strconv.Itoa(len(dns))+"]"] = id
		dns = append(dns, id.Value)
	}
	return dns, ips, byField
}

// checkCSRNames requires a CSR to ask for exactly the order's identifiers
// (a common name, if any, must be one of them) and nothing else.
func checkCSRNames(csr *x509.CertificateRequest, ids []identifier) error {
	want := map[identifier]bool{}
	for _, id := range ids {
		want[id] = true
	}
	got := map[identifier]bool{}
	for _, n := range csr.DNSNames {
		got[identifier{Type: "dns", Value: strings.ToLower(n)}] = true
	}
	for _, ip := range csr.IPAddresses {
		a, _ := netip.AddrFromSlice(ip)
		got[identifier{Type: "ip", Value: a.Unmap().String()}] = true
	}
	if len(csr.EmailAddresses)+len(csr.URIs) > 0 {
		return newError(errBadCSR, http.StatusBadRequest, "the CSR asks for email or URI names, which ACME orders cannot carry")
	}
	if cn := csr.Subject.CommonName; cn != "" {
		id := identifier{Type: "dns", Value: strings.ToLower(cn)}
		if a, err := netip.ParseAddr(cn); err == nil {
			id = identifier{Type: "ip", Value: a.Unmap().String()}
		}
		if !want[id] {
			return newError(errBadCSR, http.StatusBadRequest, "the CSR's common name %q is not one of the order's identifiers", cn)
		}
		got[id] = true
	}
	var missing, extra []string
	for id := range want {
		if !got[id] {
			missing = append(missing, id.Value)
		}
	}
	for id := range got {
		if !want[id] {
			extra = append(extra, id.Value)
		}
	}
	if len(missing)+len(extra) > 0 {
		slices.Sort(missing)
		slices.Sort(extra)
		return newError(errBadCSR, http.StatusBadRequest, "the CSR's names differ from the order's: missing %v, not ordered %v", missing, extra)
	}
	return nil
}

// reverseName is the DNS name of an IP address's reverse zone, the SNI of
// tls-alpn-01 for IP identifiers (RFC 8738 section 6).
func reverseName(a netip.Addr) string {
	a = a.Unmap()
	var b strings.Builder
	if a.Is4() {
		o := a.As4()
		fmt.Fprintf(&b, "%d.%d.%d.%d.in-addr.arpa", o[3], o[2], o[1], o[0])
		return b.String()
	}
	const hexDigits = "0123456789abcdef"
	o := a.As16()
	for i := len(o) - 1; i >= 0; i-- {
		b.WriteByte(hexDigits[o[i]&0xf])
		b.WriteByte('.')
		b.WriteByte(hexDigits[o[i]>>4])
		b.WriteByte('.')
	}
	b.WriteString("ip6.arpa")
	return b.String()
}
