package discovery

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Ratings, in the vocabulary of the DigiCert status document (seed 000).
const (
	Secure   = "Secure"
	Weak     = "Weak"
	Insecure = "Insecure"
)

// Rating sums up an observation.
type Rating struct {
	Grade       string   `json:"grade"` // A+, A, B, C, F
	Overall     string   `json:"security_rating_score"`
	Protocols   string   `json:"protocol_score"`
	Ciphers     string   `json:"protocol_cipher_score"`
	Certificate string   `json:"certificate_chain_score"`
	Issues      []string `json:"issues"`

	KeyAlgorithm       string    `json:"key_algorithm,omitempty"`
	KeyBits            int       `json:"key_size,omitempty"`
	SignatureAlgorithm string    `json:"signature_algorithm,omitempty"`
	NotAfter           time.Time `json:"not_after,omitzero"`
	ChainTrusted       bool      `json:"chain_trusted"`
	HostnameMatch      bool      `json:"hostname_match"`
}

// rate classifies one accepted suite: insecure (broken constructions, as
// crypto/tls classifies them), weak (no forward secrecy, or CBC), or safe.
func rate(id, version uint16) Cipher {
	name := tls.CipherSuiteName(id)
	c := Cipher{ID: id, Name: name, ForwardSecrecy: version == tls.VersionTLS13 || strings.HasPrefix(name, "TLS_ECDHE_")}
	insecure := slices.ContainsFunc(tls.InsecureCipherSuites(), func(s *tls.CipherSuite) bool { return s.ID == id })
	switch {
	case insecure:
		c.Rating = "insecure"
	case !c.ForwardSecrecy || strings.Contains(name, "_CBC_"):
		c.Rating = "weak"
	default:
		c.Rating = "safe"
	}
	return c
}

// ExpiryWarning is how close to expiry a certificate makes an endpoint weak.
const ExpiryWarning = 30 * 24 * time.Hour

// Rate grades an observation.
func Rate(o *Observation, now time.Time) Rating {
	r := Rating{Protocols: Secure, Ciphers: Secure, Certificate: Secure}
	if !o.Reachable {
		r.Grade, r.Overall = "F", Insecure
		r.Issues = append(r.Issues, "no TLS handshake: "+o.Error)
		return r
	}
	worse := func(cur *string, to, issue string) {
		if to == Insecure || (to == Weak && *cur == Secure) {
			*cur = to
		}
		r.Issues = append(r.Issues, issue)
	}
	// Protocols.
	if !slices.Contains(o.Versions, "TLS 1.2") && !slices.Contains(o.Versions, "TLS 1.3") {
		worse(&r.Protocols, Insecure, "neither TLS 1.2 nor TLS 1.3 is accepted")
	}
	for _, old := range []string{"TLS 1.0", "TLS 1.1"} {
		if slices.Contains(o.Versions, old) {
			worse(&r.Protocols, Weak, old+" is accepted")
		}
	}
	// Cipher suites.
	for _, v := range o.Versions {
		for _, c := range o.Ciphers[v] {
			switch c.Rating {
			case "insecure":
				worse(&r.Ciphers, Insecure, fmt.Sprintf("insecure cipher suite %s accepted with %s", c.Name, v))
			case "weak":
				worse(&r.Ciphers, Weak, fmt.Sprintf("weak cipher suite %s accepted with %s", c.Name, v))
			}
		}
	}
	// Certificate and chain.
	rateCertificate(o, now, &r, worse)

	switch {
	case r.Certificate == Insecure || r.Protocols == Insecure:
		r.Grade = "F"
	case r.Ciphers == Insecure:
		r.Grade = "C"
	case r.Protocols == Weak || r.Ciphers == Weak || r.Certificate == Weak:
		r.Grade = "B"
	case slices.Contains(o.Versions, "TLS 1.3"):
		r.Grade = "A+"
	default:
		r.Grade = "A"
	}
	r.Overall = map[string]string{"A+": Secure, "A": Secure, "B": Weak, "C": Insecure, "F": Insecure}[r.Grade]
	return r
}

func rateCertificate(o *Observation, now time.Time, r *Rating, worse func(*string, string, string)) {
	if len(o.Chain) == 0 {
		worse(&r.Certificate, Insecure, "no certificate served")
		return
	}
	leaf := o.Chain[0]
	r.NotAfter, r.SignatureAlgorithm = leaf.NotAfter, leaf.SignatureAlgorithm.String()
	r.KeyAlgorithm, r.KeyBits = keyInfo(leaf)
	r.ChainTrusted = o.VerifyError == ""
	name := o.Endpoint.serverName()
	if name == "" {
		name = o.Endpoint.Host
	}
	r.HostnameMatch = leaf.VerifyHostname(name) == nil
	switch {
	case now.After(leaf.NotAfter):
		worse(&r.Certificate, Insecure, "the certificate expired on "+leaf.NotAfter.UTC().Format(time.DateOnly))
	case now.Before(leaf.NotBefore):
		worse(&r.Certificate, Insecure, "the certificate is not valid yet")
	case leaf.NotAfter.Sub(now) < ExpiryWarning:
		worse(&r.Certificate, Weak, fmt.Sprintf("the certificate expires in %d days", int(leaf.NotAfter.Sub(now).Hours()/24)))
	}
	if !r.HostnameMatch {
		worse(&r.Certificate, Insecure, "the certificate does not match "+name)
	}
	if !r.ChainTrusted && r.HostnameMatch && !now.After(leaf.NotAfter) {
		worse(&r.Certificate, Insecure, "the chain does not verify: "+o.VerifyError)
	}
	if string(leaf.RawIssuer) == string(leaf.RawSubject) && leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature) == nil {
		r.Issues = append(r.Issues, "the certificate is self-signed")
	}
	switch {
	case r.KeyAlgorithm == "RSA" && r.KeyBits < 2048, r.KeyAlgorithm == "ECDSA" && r.KeyBits < 256:
		worse(&r.Certificate, Insecure, fmt.Sprintf("%s key of %d bits is too small", r.KeyAlgorithm, r.KeyBits))
	}
	switch leaf.SignatureAlgorithm {
	case x509.SHA1WithRSA, x509.ECDSAWithSHA1, x509.MD5WithRSA, x509.DSAWithSHA1:
		worse(&r.Certificate, Insecure, "the certificate is signed with "+leaf.SignatureAlgorithm.String())
	}
}

func keyInfo(c *x509.Certificate) (string, int) {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		return "RSA", k.N.BitLen()
	case *ecdsa.PublicKey:
		return "ECDSA", k.Curve.Params().BitSize
	case ed25519.PublicKey:
		return "Ed25519", 256
	}
	return c.PublicKeyAlgorithm.String(), 0
}
