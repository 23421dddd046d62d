package app

import (
	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/enrollsecret"
	"github.com/signet-pki/signet/internal/est"
)

// enrollSecrets builds the one-time enrollment secrets EST, SCEP and CMP accept.
func (a *App) enrollSecrets() *enrollsecret.Service {
	return enrollsecret.New(a.Store, a.Profiles, a.Directory, a.now)
}

// estService builds the EST server over issuance; /.well-known/est/
// without a label serves the default profile.
func (a *App) estService(secrets *enrollsecret.Service) *est.Service {
	return est.New(est.Deps{Store: a.Store, Issuance: a.Issuance, Profiles: a.Profiles, CAs: a.CAs, Keys: a.APIKeys,
		Passwords: a.Directory, ClientCerts: auth.NewClientCerts(a.Store, a.now), Secrets: secrets, Audit: a.Audit},
		est.Config{DefaultProfile: DefaultProfile, Now: a.now, Logger: a.Log})
}
