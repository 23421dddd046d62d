package app

import (
	"strings"

	"github.com/signet-pki/signet/internal/webui"
)

// webUI builds the web console over the same services as the API.
func (a *App) webUI() (*webui.UI, error) {
	return webui.New(webui.Deps{CAs: a.CAs, Profiles: a.Profiles, Issuance: a.Issuance, Inventory: a.Inventory,
		APIKeys: a.APIKeys, Directory: a.Directory, Audit: a.Audit, Upstream: a.Upstream, Now: a.now, Log: a.Log,
		SecureCookies: strings.HasPrefix(strings.ToLower(a.Config.PublicURL), "https://")})
}
