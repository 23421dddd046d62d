package app

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/signet-pki/signet/internal/revocation"
	"github.com/signet-pki/signet/internal/store"
)

// endpoints are the URLs issued certificates carry (CRL distribution point,
// OCSP, CA issuers): the configured public URL, or once the server listens,
// the address it is bound to.
type endpoints struct {
	base atomic.Pointer[string]
}

func (e *endpoints) set(base string) {
	base = strings.TrimSuffix(base, "/")
	e.base.Store(&base)
}

// For implements issuance.Endpoints.
func (e *endpoints) For(caID string) (crl, ocsp, caIssuers string) {
	p := e.base.Load()
	if p == nil || *p == "" {
		return "", "", ""
	}
	return *p + "/crl/" + caID + ".crl", *p + "/ocsp", *p + "/api/v1/cas/" + caID + "/certificate?format=der"
}

// publicBase is the URL relying parties reach this node at.
func (a *App) publicBase(addr net.Addr) string {
	if a.Config.PublicURL != "" {
		return a.Config.PublicURL
	}
	scheme := "https://"
	if a.Config.InsecureHTTP {
		scheme = "http://"
	}
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return scheme + addr.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return scheme + net.JoinHostPort(host, port)
}

// revocationConfig maps the configuration onto the revocation service's.
func (a *App) revocationConfig() revocation.Config {
	cfg := revocation.Config{Now: a.now, Logger: a.Log, CRLValidity: a.Config.CRLValidity, CRLInterval: a.Config.CRLInterval,
		ExpiredGrace: a.Config.CRLExpiredGrace,
		OCSP: revocation.ResponderConfig{CAReloadInterval: time.Second, RecordResponderCert: func(ctx context.Context, caID string, der []byte) error {
			return a.Issuance.RecordServerCertificate(ctx, caID, "ocsp-responder", der)
		}}}
	if n := a.Config.OCSPCacheSize; n != 0 {
		cfg.OCSP.CacheSize, cfg.OCSP.UnknownCacheSize = n, n
	}
	if a.Config.OCSPSigning == "delegated" {
		cfg.OCSP.Mode = revocation.SignDelegated
	}
	return cfg
}

// statusRelay forwards issuance's status changes to the revocation service,
// which is built after issuance.
type statusRelay struct{ to *revocation.Service }

func (r *statusRelay) StatusChanged(ctx context.Context, c *store.Certificate) {
	if r.to != nil {
		r.to.StatusChanged(ctx, c)
	}
}
