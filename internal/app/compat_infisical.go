package app

import (
	"net/http"

	"github.com/signet-pki/signet/internal/compat/infisical"
)

// infisicalAPI builds the Infisical PKI compatibility API over the services.
func (a *App) infisicalAPI() http.Handler {
	return infisical.New(infisical.Deps{Issuance: a.Issuance, Profiles: a.Profiles, CAs: a.CAs, Keys: a.APIKeys,
		Now: a.now, Logger: a.Log, Audit: a.Audit})
}
