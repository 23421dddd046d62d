package auth

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// VerifyClientChain is the handshake check of Signet's TLS listeners
// (tls.Config.VerifyConnection with ClientAuth RequestClientCert): a client
// certificate, when one is sent, must chain to one of roots. Any extended
// key usage passes here, because RFC 7030 re-enrollment authenticates with
// the certificate being renewed, which for a device's TLS server
// certificate says serverAuth only; what the certificate may then do is
// decided per request by ClientCertificate and HolderCertificate. The
// standard library's own client verification cannot do this: it demands
// clientAuth of every chain.
func VerifyClientChain(roots *x509.CertPool, now func() time.Time) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return nil
		}
		intermediates := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			intermediates.AddCert(c)
		}
		_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: intermediates,
			CurrentTime: now(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
		if err != nil {
			return fmt.Errorf("client certificate: %w", err)
		}
		return nil
	}
}

// HolderCertificate is the TLS client certificate of r, whose chain the
// listener verified, whatever its extended key usages: for endpoints that
// act on that one certificate (EST simplereenroll renews it). Nil without
// one.
func HolderCertificate(r *http.Request) *x509.Certificate {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil
	}
	return r.TLS.PeerCertificates[0]
}

// ClientCertificate is the TLS client certificate of r when it may
// authenticate its owner: its extended key usages allow client
// authentication (no EKU extension means any use). A TLS server
// certificate does not log its owner in, so that a web server's key cannot
// act as the person who requested its certificate. Nil otherwise.
func ClientCertificate(r *http.Request) *x509.Certificate {
	leaf := HolderCertificate(r)
	if leaf == nil {
		return nil
	}
	if len(leaf.ExtKeyUsage) == 0 && len(leaf.UnknownExtKeyUsage) == 0 ||
		slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageClientAuth) || slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageAny) {
		return leaf
	}
	return nil
}
