package app

import (
	"net/http"
	"strings"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/compat/sectigo"
	"github.com/signet-pki/signet/internal/domain"
)

// domainService builds domain registration and validation with the
// configured resolver and ports.
func (a *App) domainService() (*domain.Service, error) {
	c := a.Config.DCV
	confirm := ""
	if a.Config.PublicURL != "" {
		confirm = strings.TrimSuffix(a.Config.PublicURL, "/") + "/api/v1/domain-validations/email"
	}
	return domain.New(a.Store, nil, domain.Config{Resolver: c.Resolver, HTTPPort: c.HTTPPort, HTTPSPort: c.HTTPSPort,
		ConfirmURL: confirm, Now: a.now, Logger: a.Log})
}

// sectigoAPI builds the Sectigo Certificate Manager compatibility API.
func (a *App) sectigoAPI() http.Handler {
	return sectigo.New(sectigo.Deps{Store: a.Store, Issuance: a.Issuance, Profiles: a.Profiles, Directory: a.Directory,
		APIKeys: a.APIKeys, ClientCerts: auth.NewClientCerts(a.Store, a.now), Inventory: a.Inventory, Domains: a.Domains,
		Audit: a.Audit, Now: a.now, Logger: a.Log})
}
