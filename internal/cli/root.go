// Package cli is the `signet` command: the server (`signet serve`) and a
// client for the REST API (`signet <noun> <verb>`), with table, JSON or PEM
// output.
package cli

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
)

// Environment variables the client reads when the matching flag is not given.
const (
	envServer = "SIGNET_SERVER"
	envAPIKey = "SIGNET_API_KEY"
	envCACert = "SIGNET_CA_CERT"

	defaultServer  = "https://127.0.0.1:8443"
	defaultCACert  = "signet-data/ca-root.pem"
	defaultTimeout = 60 * time.Second
)

// Output formats.
const (
	outTable = "table"
	outJSON  = "json"
	outPEM   = "pem"
)

// globals are the flags every client command shares. The API key is never
// a flag default (that would print it in --help); it is read from the
// environment when the command runs.
type globals struct {
	server  string
	apiKey  string
	caCert  string
	output  string
	timeout time.Duration
	getenv  func(string) string
}

// NewRoot builds the whole command tree.
func NewRoot() *cobra.Command {
	g := &globals{getenv: os.Getenv}
	root := &cobra.Command{
		Use:           "signet",
		Short:         "Signet: private CA and certificate lifecycle manager",
		Long:          "Signet: private CA and certificate lifecycle manager.\n\n`signet serve` runs the server; every other command is a client of its REST API,\nconfigured by --server/SIGNET_SERVER and --api-key/SIGNET_API_KEY.",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return g.resolve(cmd)
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.server, "server", defaultServer, "Signet server URL (env "+envServer+")")
	pf.StringVar(&g.apiKey, "api-key", "", "API key (env "+envAPIKey+"; prefer the environment: flags show in process listings)")
	pf.StringVar(&g.caCert, "ca-cert", "", "PEM file of the CA to trust for HTTPS (env "+envCACert+"; default ./"+defaultCACert+" if it exists)")
	pf.StringVarP(&g.output, "output", "o", outTable, "output format: table, json or pem")
	pf.DurationVar(&g.timeout, "timeout", defaultTimeout, "timeout of each request")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err: err} })
	root.AddCommand(newServeCmd(), newCertCmd(g), newCACmd(g), newTemplateCmd(g), newProfileCmd(g),
		newRequestCmd(g), newAPIKeyCmd(g), newMeCmd(g), newOrgCmd(g), newTeamCmd(g),
		newPrincipalCmd(g, "user", "user", "/api/v1/users"),
		newPrincipalCmd(g, "service-account", "service account", "/api/v1/service-accounts"), newAuditCmd(g), newBackupCmd(), newRestoreCmd(),
		newCRLCmd(g), newOCSPCmd(g), newMigrateCmd(),
		newDiscoveryCmd(g), newEndpointCmd(g), newReportCmd(g), newNotifyCmd(g),
		newAgentCmd(g), newDomainCmd(g))
	root.AddCommand(newEnrollSecretCmd(g))
	root.AddCommand(newCMPSecretCmd(g))
	root.AddCommand(newConnectorCmd(g))
	markRunErrors(root)
	return root
}

// resolve fills unset flags from the environment and checks the output format.
func (g *globals) resolve(cmd *cobra.Command) error {
	flags := cmd.Flags()
	fromEnv := func(dst *string, flag, env string) {
		if !flags.Changed(flag) {
			if v := g.getenv(env); v != "" {
				*dst = v
			}
		}
	}
	fromEnv(&g.server, "server", envServer)
	fromEnv(&g.apiKey, "api-key", envAPIKey)
	fromEnv(&g.caCert, "ca-cert", envCACert)
	switch g.output {
	case outTable, outJSON, outPEM:
	default:
		return usagef("--output %q: want table, json or pem", g.output)
	}
	if g.timeout <= 0 {
		return usagef("--timeout must be positive")
	}
	return nil
}

// usageError is a mistake in how a command was invoked: exit status 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...)}
}

// runError is an error returned while running a command (after its flags
// and arguments were accepted): exit status 1.
type runError struct{ err error }

func (e *runError) Error() string { return e.err.Error() }
func (e *runError) Unwrap() error { return e.err }

// markRunErrors wraps every command's RunE so ExitCode can tell failures
// of the operation from errors cobra reports before running it (unknown
// command or flag, wrong number of arguments, missing required flag).
func markRunErrors(cmd *cobra.Command) {
	if run := cmd.RunE; run != nil {
		cmd.RunE = func(c *cobra.Command, args []string) error {
			if err := run(c, args); err != nil {
				return &runError{err: err}
			}
			return nil
		}
	}
	for _, sub := range cmd.Commands() {
		markRunErrors(sub)
	}
}

// ExitCode is the process exit status for an error from executing the root
// command: 0 for nil, 2 for usage errors, 1 for everything else.
func ExitCode(err error) int {
	var ue *usageError
	var re *runError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		return 2
	case errors.As(err, &re):
		return 1
	default:
		return 2 // reported by cobra before the command ran
	}
}
