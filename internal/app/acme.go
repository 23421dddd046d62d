package app

import (
	"github.com/signet-pki/signet/internal/acme"
	"github.com/signet-pki/signet/internal/keystore"
)

// acmeService builds the ACME server over issuance, with the validation
// settings of the configuration; sealer protects EAB keys.
func (a *App) acmeService(sealer *keystore.Sealer) (*acme.Service, error) {
	c := a.Config.ACME
	return acme.New(acme.Deps{Store: a.Store, Issuance: a.Issuance, Profiles: a.Profiles, CAs: a.CAs, Teams: a.Directory,
		Secrets: sealer},
		acme.Config{PublicURL: a.Config.PublicURL, HTTP01Port: c.HTTP01Port, TLSALPN01Port: c.TLSALPN01Port,
			DNSResolver: c.DNSResolver, Resolve: c.Resolve, Now: a.now, Logger: a.Log})
}
