package cli

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/signet-pki/signet/internal/agent"
)

var agentView = view{cols: []column{{"ID", "id"}, {"HOST", "hostname"}, {"PRINCIPAL", "principal_id"},
	{"LAST CHECK-IN", "last_check_in"}, {"FIRST SEEN", "first_seen"}}}

// newAgentCmd is `signet agent`: run the renewal agent on this host, or list agents.
func newAgentCmd(g *globals) *cobra.Command {
	var file string
	var once bool
	run := &cobra.Command{Use: "run", Short: "Keep the certificates in the agent's configuration fresh (renew, write, reload)", Args: cobra.NoArgs,
		Example: "  SIGNET_API_KEY=... signet agent run --config /etc/signet/agent.yaml\n  signet agent run --config agent.yaml --once   # from cron",
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			var cfg agent.Config
			if err := yaml.Unmarshal(b, &cfg); err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			cfg.APIKey = g.apiKey
			if cfg.Server == "" {
				cfg.Server = g.server
			}
			client, err := agentClient(cfg.CACert)
			if err != nil {
				return err
			}
			r, err := agent.NewRunner(cfg, client, time.Now, slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil)))
			if err != nil {
				return err
			}
			if once {
				return r.RunOnce(cmd.Context())
			}
			return r.Run(cmd.Context())
		}}
	run.Flags().StringVar(&file, "config", "signet-agent.yaml", "agent configuration (YAML)")
	run.Flags().BoolVar(&once, "once", false, "one round, then exit (for cron)")
	cmd := &cobra.Command{Use: "agent", Short: "The renewal agent"}
	cmd.AddCommand(run, listCmd(g, listSpec{short: "List agents and their last check-in", path: "/api/v1/agents", view: agentView}))
	return cmd
}

func agentClient(caFile string) (*http.Client, error) {
	c := &http.Client{Timeout: 60 * time.Second}
	if caFile == "" {
		return c, nil
	}
	b, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s: no PEM certificate", caFile)
	}
	c.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	return c, nil
}
