package app

import (
	"net/http"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/compat/digicert"
)

// digicertAPI builds the DigiCert mPKI / Trust Lifecycle Manager
// compatibility API over the services.
func (a *App) digicertAPI() http.Handler {
	return digicert.New(digicert.Deps{Issuance: a.Issuance, Profiles: a.Profiles, CAs: a.CAs, Inventory: a.Inventory,
		Audit: a.Audit, Directory: a.Directory, Keys: a.APIKeys, ClientCerts: auth.NewClientCerts(a.Store, a.now),
		Objects: a.Store, Ready: a.ready, Now: a.now, Logger: a.Log})
}
