package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/signet-pki/signet/internal/app"
	"github.com/signet-pki/signet/internal/config"
)

// newServeCmd is `signet serve`: the server itself.
func newServeCmd() *cobra.Command {
	var configFile string
	var flags config.Config
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the Signet server (creates ./signet-data with a CA hierarchy on first start)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := config.Defaults()
			if err := cfg.LoadFile(configFile); err != nil {
				return err
			}
			if err := cfg.LoadEnv(os.Getenv); err != nil {
				return err
			}
			fs := cmd.Flags()
			if fs.Changed("data-dir") {
				cfg.DataDir = flags.DataDir
			}
			if fs.Changed("listen") {
				cfg.Listen = flags.Listen
			}
			if fs.Changed("insecure-http") {
				cfg.InsecureHTTP = flags.InsecureHTTP
			}
			if fs.Changed("database") {
				cfg.Database = flags.Database
			}
			if fs.Changed("log-level") {
				cfg.LogLevel = flags.LogLevel
			}
			if err := cfg.Validate(); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return serve(ctx, cfg, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&configFile, "config", "", "YAML configuration file")
	f.StringVar(&flags.DataDir, "data-dir", "signet-data", "data directory (SIGNET_DATA_DIR)")
	f.StringVar(&flags.Listen, "listen", "127.0.0.1:8443", "address to listen on (SIGNET_LISTEN)")
	f.BoolVar(&flags.InsecureHTTP, "insecure-http", false, "serve plain HTTP, for use behind a TLS proxy or in tests (SIGNET_INSECURE_HTTP)")
	f.StringVar(&flags.LogLevel, "log-level", "info", "debug, info, warn or error (SIGNET_LOG_LEVEL)")
	f.StringVar(&flags.Database, "database", "", "PostgreSQL URL for several nodes (SIGNET_DATABASE; default: SQLite in the data directory)")
	return cmd
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func serve(ctx context.Context, cfg config.Config, stdout, stderr io.Writer) error {
	log := newLogger(cfg, stderr)
	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	ready := make(chan net.Addr, 1)
	errc := make(chan error, 1)
	go func() { errc <- a.Serve(ctx, ready) }()
	select {
	case err := <-errc:
		return err
	case addr := <-ready:
		printBanner(stdout, a, addr)
	}
	return <-errc
}

// printBanner tells the operator where to go next; the admin key appears here once.
func printBanner(w io.Writer, a *app.App, addr net.Addr) {
	scheme := "https"
	if a.Config.InsecureHTTP {
		scheme = "http"
	}
	url := fmt.Sprintf("%s://%s", scheme, addr)
	fmt.Fprintf(w, "Signet is listening on %s (data: %s)\n", url, a.Config.DataDir)
	if b := a.FirstStart; b != nil {
		fmt.Fprintf(w, "First start: created root CA %q and issuing CA %q; root certificate in %s\n",
			b.RootCA.Name, b.IssuingCA.Name, b.RootCAPath)
		if b.AdminAPIKey != "" {
			fmt.Fprintf(w, "\nAdmin API key (shown only this once, store it now):\n\n    %s\n\n", b.AdminAPIKey)
		}
		if b.AdminPassword != "" {
			fmt.Fprintf(w, "Web UI: %s/login as user \"admin\" with password (shown only this once):\n\n    %s\n\n", url, b.AdminPassword)
		}
	}
	fmt.Fprintf(w, "Next:\n    export SIGNET_SERVER=%s SIGNET_API_KEY=<admin key>", url)
	if !a.Config.InsecureHTTP {
		fmt.Fprintf(w, " SIGNET_CA_CERT=%s/ca-root.pem", a.Config.DataDir)
	}
	fmt.Fprintf(w, "\n    signet cert issue --profile tls-server --keygen ecdsa --cn app.example.com --san app.example.com --key-out app.key --cert-out app.crt\n")
}
