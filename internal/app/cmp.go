package app

import (
	"github.com/signet-pki/signet/internal/cmp"
	"github.com/signet-pki/signet/internal/keystore"
)

// cmpService builds the CMP server over issuance; /.well-known/cmp without
// a label serves the default profile. Its shared secrets are sealed with
// the CA key sealer: a MAC needs the secret itself.
func (a *App) cmpService(sealer *keystore.Sealer) *cmp.Service {
	return cmp.New(cmp.Deps{Store: a.Store, Issuance: a.Issuance, Profiles: a.Profiles, CAs: a.CAs, Orgs: a.Directory,
		Sealer: sealer, Audit: a.Audit, CRLs: a.Revocation}, cmp.Config{DefaultProfile: DefaultProfile, Now: a.now, Logger: a.Log})
}
