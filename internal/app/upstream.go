package app

import (
	"time"

	"github.com/signet-pki/signet/internal/keystore"
	"github.com/signet-pki/signet/internal/upstream"
)

// upstreamPollInterval is how often the job leader advances orders at
// external CAs; each order also waits its own backoff, so a short tick only
// costs one indexed query when nothing is due.
const upstreamPollInterval = 2 * time.Second

// upstreamService builds the connector service (issue 13): external CAs
// whose credentials are sealed with the same key as the CA keys.
func (a *App) upstreamService(sealer *keystore.Sealer) *upstream.Service {
	return upstream.New(upstream.Deps{Store: a.Store, Sealer: sealer, Now: a.now, Log: a.Log})
}
