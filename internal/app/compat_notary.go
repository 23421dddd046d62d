package app

import (
	"net/http"

	"github.com/signet-pki/signet/internal/compat/notary"
)

// notaryAPI builds the Canonical Notary compatibility API over the services.
func (a *App) notaryAPI() http.Handler {
	return notary.New(notary.Deps{Store: a.Store, Issuance: a.Issuance, CAs: a.CAs, Profiles: a.Profiles,
		CRLs: a.Revocation, Directory: a.Directory, Keys: a.APIKeys, Now: a.now, Logger: a.Log, Audit: a.Audit})
}
