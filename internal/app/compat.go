package app

import (
	"context"
	"fmt"
	"net"
	"net/http"
)

// compatHandlers builds the vendor-compatible APIs, by the name they are
// mounted under (/compat/{name}/) and configured by (compat_listeners).
// Each is a thin adapter over the domain services.
func (a *App) compatHandlers() (map[string]http.Handler, error) {
	handlers := map[string]http.Handler{
		"notary":    a.notaryAPI(),
		"infisical": a.infisicalAPI(),
		"digicert":  a.digicertAPI(),
		"sectigo":   a.sectigoAPI(),
	}
	return handlers, nil
}

// compatListener is a compatibility API served at the root of its own address.
type compatListener struct {
	name string
	ln   net.Listener
	srv  *http.Server
}

// listenCompat opens the configured compatibility listeners, each a copy of
// the main server (timeouts, TLS with optional client certificates) with the
// API's own handler. On error every listener opened so far is closed.
func (a *App) listenCompat(ctx context.Context, main *http.Server) ([]compatListener, error) {
	var out []compatListener
	closeAll := func() {
		for _, c := range out {
			_ = c.ln.Close()
		}
	}
	for _, cfg := range a.Config.CompatListeners {
		h, ok := a.API.Standalone(cfg.API)
		if !ok {
			closeAll()
			return nil, fmt.Errorf("compat_listeners: no compatibility API named %q", cfg.API)
		}
		var lc net.ListenConfig
		ln, err := lc.Listen(ctx, "tcp", cfg.Listen)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("compat_listeners: %s on %s: %w", cfg.API, cfg.Listen, err)
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: main.ReadHeaderTimeout, ReadTimeout: main.ReadTimeout,
			WriteTimeout: main.WriteTimeout, IdleTimeout: main.IdleTimeout, MaxHeaderBytes: main.MaxHeaderBytes,
			ErrorLog: main.ErrorLog, TLSConfig: main.TLSConfig}
		out = append(out, compatListener{name: cfg.API, ln: ln, srv: srv})
		a.Log.Info("compatibility API listening", "api", cfg.API, "addr", ln.Addr().String())
	}
	return out, nil
}
