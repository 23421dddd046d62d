package app

import (
	"github.com/signet-pki/signet/internal/enrollsecret"
	"github.com/signet-pki/signet/internal/keystore"
	"github.com/signet-pki/signet/internal/scep"
)

// scepService builds the SCEP server over issuance; its RA keys are sealed
// like CA keys.
func (a *App) scepService(secrets *enrollsecret.Service, sealer *keystore.Sealer) *scep.Service {
	return scep.New(scep.Deps{Store: a.Store, Issuance: a.Issuance, Profiles: a.Profiles, CAs: a.CAs, Secrets: secrets,
		Sealer: sealer, Recorder: a.Issuance, CRLs: a.Revocation, Audit: a.Audit}, scep.Config{Now: a.now, Logger: a.Log})
}
