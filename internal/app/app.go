// Package app is the composition root: config -> store -> keys -> services ->
// HTTP server. It is the only package that knows every other one.
package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/signet-pki/signet/internal/agent"
	"github.com/signet-pki/signet/internal/audit"
	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/ca"
	"github.com/signet-pki/signet/internal/config"
	"github.com/signet-pki/signet/internal/discovery"
	"github.com/signet-pki/signet/internal/domain"
	"github.com/signet-pki/signet/internal/httpapi"
	"github.com/signet-pki/signet/internal/inventory"
	"github.com/signet-pki/signet/internal/issuance"
	"github.com/signet-pki/signet/internal/keystore"
	"github.com/signet-pki/signet/internal/notify"
	"github.com/signet-pki/signet/internal/profile"
	"github.com/signet-pki/signet/internal/revocation"
	"github.com/signet-pki/signet/internal/store"
	"github.com/signet-pki/signet/internal/telemetry"
	"github.com/signet-pki/signet/internal/upstream"
)

// App is a running Signet node's services.
type App struct {
	Config     config.Config
	Log        *slog.Logger
	Store      Backend
	CAs        *ca.Service
	Profiles   *profile.Service
	Issuance   *issuance.Service
	Inventory  *inventory.Service
	APIKeys    *auth.APIKeys
	Revocation *revocation.Service
	Discovery  *discovery.Service
	Notify     *notify.Service
	Domains    *domain.Service
	Upstream   *upstream.Service // external CA connectors (upstream.go)
	endpoints  *endpoints
	Directory  *auth.Directory
	Audit      *audit.Service
	API        *httpapi.API
	now        func() time.Time

	// FirstStart describes what bootstrap created, for the banner; nil on later starts.
	FirstStart *Bootstrap
}

// Open builds every service over the data directory, creating it (and the
// default CA hierarchy, profile and admin key) on first start.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger) (*App, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	pass, err := keystore.LoadPassphrase(cfg.KeyPassphrase, cfg.PassphrasePath())
	if err != nil {
		return nil, fmt.Errorf("CA key passphrase: %w", err)
	}
	sealer, err := keystore.NewSealer(pass)
	if err != nil {
		return nil, fmt.Errorf("CA key passphrase: %w", err)
	}
	now := func() time.Time { return time.Now().UTC() }
	st, err := openBackend(ctx, cfg, now, log)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	a := &App{Config: cfg, Log: log, Store: st, now: now}
	if err := a.wire(ctx, sealer); err != nil {
		_ = st.Close()
		return nil, err
	}
	if a.FirstStart, err = a.bootstrap(ctx); err != nil {
		_ = st.Close()
		return nil, fmt.Errorf("first start: %w", err)
	}
	return a, nil
}

func (a *App) wire(ctx context.Context, sealer *keystore.Sealer) error {
	a.CAs = ca.New(a.Store, sealer, a.now)
	if err := a.CAs.LoadKeys(ctx); err != nil {
		return fmt.Errorf("load CA keys (is SIGNET_KEY_PASSPHRASE right?): %w", err)
	}
	linter, err := issuance.NewLinter()
	if err != nil {
		return err
	}
	a.APIKeys = auth.NewAPIKeys(a.Store, a.now)
	a.Directory = auth.NewDirectory(a.Store, auth.DefaultArgon2id, a.now, a.APIKeys.Forget)
	a.Audit = audit.New(a.Store, a.now)
	a.Profiles = profile.New(a.Store, a.CAs, a.now)
	a.endpoints = &endpoints{}
	if a.Config.PublicURL != "" {
		a.endpoints.set(a.Config.PublicURL)
	}
	// The revocation service records its responder certificates through
	// issuance, and issuance tells it of status changes: built in two steps.
	listener := &statusRelay{}
	if a.Domains, err = a.domainService(); err != nil {
		return fmt.Errorf("domains: %w", err)
	}
	a.Upstream = a.upstreamService(sealer)
	a.Issuance = issuance.New(issuance.Deps{Store: a.Store, CAs: a.CAs, Profiles: a.Profiles, Linter: linter,
		Attributes: a.Directory, Endpoints: a.endpoints, Listener: listener, Domains: a.Domains, Upstream: a.Upstream, Now: a.now})
	if a.Revocation, err = revocation.New(a.Store, a.CAs, a.revocationConfig()); err != nil {
		return err
	}
	listener.to = a.Revocation
	a.Inventory = inventory.New(a.Store, a.now)
	allowed, err := discovery.ParseAllowed(a.Config.DiscoveryAllowedNetworks)
	if err != nil {
		return err
	}
	sm := a.Config.SMTP
	a.Notify = notify.New(a.Store, notify.Config{Now: a.now, Logger: a.Log, Reports: a.Inventory, SMTP: notify.SMTPConfig{Host: sm.Host, Port: sm.Port,
		From: sm.From, Username: sm.Username, Password: sm.Password, StartTLS: sm.StartTLS, InsecureSkipVerify: sm.InsecureSkipVerify}})
	a.Domains.SetMailer(a.Notify) // email DCV goes through the notification relay
	a.Discovery = discovery.NewService(a.Store, a.Issuance, discovery.Config{Allowed: allowed, Now: a.now,
		Prober: &discovery.Prober{Roots: a.trustAnchors, Now: a.now}})
	acmeSvc, err := a.acmeService(sealer)
	if err != nil {
		return fmt.Errorf("ACME: %w", err)
	}
	compat, err := a.compatHandlers()
	if err != nil {
		return fmt.Errorf("compatibility APIs: %w", err)
	}
	secrets := a.enrollSecrets()
	ui, err := a.webUI()
	if err != nil {
		return fmt.Errorf("web UI: %w", err)
	}
	metrics := telemetry.New(telemetry.Sources{Pool: a.Store.Pool, Leader: a.Store.IsLeader, Database: a.Store.Name(),
		Summary: func(ctx context.Context) (*store.Summary, error) { return a.Store.Summarize(ctx, a.now(), "") }})
	a.API = httpapi.New(httpapi.Services{CAs: a.CAs, Profiles: a.Profiles, Issuance: a.Issuance,
		Inventory: a.Inventory, APIKeys: a.APIKeys, Directory: a.Directory, Audit: a.Audit,
		Auth: a.APIKeys, ClientCerts: auth.NewClientCerts(a.Store, a.now), Now: a.now,
		Ready: a.ready, Observe: metrics.ObserveRequest, Metrics: metrics.Handler(), Revocation: a.Revocation, Discovery: a.Discovery, Notify: a.Notify, Agents: agent.NewRegistry(a.Store, a.now),
		ACME: acmeSvc, Compat: compat, Domains: a.Domains, WebUI: ui,
		EST: a.estService(secrets), SCEP: a.scepService(secrets, sealer), EnrollSecrets: secrets,
		CMP: a.cmpService(sealer), Upstream: a.Upstream,
	}, a.Log)
	return nil
}

// AutoRenewPolicies maps the configured server-side renewals.
func (a *App) AutoRenewPolicies() []issuance.AutoRenewPolicy {
	var out []issuance.AutoRenewPolicy
	for _, p := range a.Config.AutoRenew {
		days := p.DaysBefore
		if days <= 0 {
			days = 30
		}
		out = append(out, issuance.AutoRenewPolicy{Profile: p.Profile, DaysBefore: days})
	}
	return out
}

// discoverySchedules maps the configured scans (a schedule without a period runs daily).
func (a *App) discoverySchedules() []discovery.Schedule {
	var out []discovery.Schedule
	for _, d := range a.Config.DiscoverySchedules {
		every := d.Every
		if every <= 0 {
			every = 24 * time.Hour
		}
		out = append(out, discovery.Schedule{Name: d.Name, Every: every,
			Scan: discovery.ScanRequest{Org: d.Org, Targets: d.Targets, Ports: d.Ports}})
	}
	return out
}

// trustAnchors are the system's roots plus Signet's own CAs: what scanned
// endpoints' chains are checked against.
func (a *App) trustAnchors() *x509.CertPool {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	for _, iss := range a.CAs.All() {
		pool.AddCert(iss.Cert)
	}
	return pool
}

// ready is /readyz: the database answers with every migration applied and
// the CA keys are unsealed.
func (a *App) ready(ctx context.Context) error {
	if err := a.Store.Ready(ctx); err != nil {
		return err
	}
	return a.CAs.Ready()
}

// Close releases the store.
func (a *App) Close() error { return a.Store.Close() }

// Serve listens on the configured address until ctx is done, then shuts down
// gracefully. ready, if not nil, receives the bound address once listening.
func (a *App) Serve(ctx context.Context, ready chan<- net.Addr) error {
	ln, err := net.Listen("tcp", a.Config.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	a.endpoints.set(a.publicBase(ln.Addr()))
	if err := a.Revocation.Responder().Reload(ctx); err != nil {
		_ = ln.Close()
		return fmt.Errorf("load CAs into the OCSP responder: %w", err)
	}
	jobs, stopJobs := context.WithCancel(ctx)
	defer stopJobs()
	go a.Revocation.Run(jobs, a.Store.IsLeader)
	go a.Notify.Run(jobs, a.Store.IsLeader, time.Minute)
	go a.Discovery.RunSchedules(jobs, a.Store.IsLeader, a.discoverySchedules())
	go a.Issuance.RunAutoRenew(jobs, a.Store.IsLeader, a.AutoRenewPolicies(), time.Hour, a.Log)
	go a.Issuance.RunUpstream(jobs, a.Store.IsLeader, upstreamPollInterval, a.Log)
	srv := &http.Server{
		Handler:           a.API,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
	}
	if !a.Config.InsecureHTTP {
		tlsCfg, err := a.serverTLS(ctx)
		if err != nil {
			_ = ln.Close()
			return err
		}
		// Client certificates from Signet's own CAs authenticate their owner
		// (mTLS); a client without one still reaches the API with a key.
		// The pool is read per handshake, so a CA created since start counts.
		base := tlsCfg
		base.ClientAuth = tls.RequestClientCert
		base.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
			c := base.Clone()
			c.GetConfigForClient = nil
			pool := a.CAs.CertPool()
			c.ClientCAs = pool // names the acceptable issuers in the CertificateRequest
			c.VerifyConnection = auth.VerifyClientChain(pool, a.now)
			return c, nil
		}
		srv.TLSConfig = base
	}
	compat, err := a.listenCompat(ctx, srv)
	if err != nil {
		_ = ln.Close()
		return err
	}
	if ready != nil {
		ready <- ln.Addr()
	}
	servers := append([]compatListener{{name: "main", ln: ln, srv: srv}}, compat...)
	errc := make(chan error, len(servers))
	for _, s := range servers {
		go func() {
			var err error
			if a.Config.InsecureHTTP {
				err = s.srv.Serve(s.ln)
			} else {
				err = s.srv.ServeTLS(s.ln, "", "")
			}
			errc <- fmt.Errorf("%s listener: %w", s.name, err)
		}()
	}
	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for _, s := range servers {
		if err := s.srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) && serveErr == nil {
			serveErr = fmt.Errorf("shutdown %s listener: %w", s.name, err)
		}
	}
	return serveErr
}
