package cli

import (
	"net/http"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

const connectorsPath = "/api/v1/connectors"

var connectorView = view{
	cols: []column{{"ID", "id"}, {"NAME", "name"}, {"TYPE", "type"}, {"STATUS", "status"}, {"ISSUED", "stats.issued"},
		{"FAILED", "stats.failed"}, {"LAST SUCCESS", "stats.last_success"}, {"LAST ERROR", "stats.last_error"}},
	detail: []column{{"ID", "id"}, {"NAME", "name"}, {"ORG", "org_id"}, {"TYPE", "type"}, {"STATUS", "status"},
		{"SECRETS", "secret_names"}, {"ISSUED", "stats.issued"}, {"PENDING ANSWERS", "stats.pending"}, {"FAILED", "stats.failed"},
		{"REVOKED", "stats.revoked"}, {"LAST SUCCESS", "stats.last_success"}, {"LAST ERROR", "stats.last_error"},
		{"LAST ERROR AT", "stats.last_error_at"}, {"CREATED", "created_at"}, {"UPDATED", "updated_at"}},
}

func newConnectorCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "connector", Short: "Manage upstream CA connectors (external CAs that external profiles issue through)"}
	cmd.AddCommand(
		listCmd(g, listSpec{short: "List connectors with their health and usage", path: connectorsPath, view: connectorView}),
		getCmd(g, "Show a connector (id or name)", connectorsPath, connectorView),
		newConnectorWriteCmd(g, false),
		newConnectorWriteCmd(g, true),
		deleteCmd(g, "Delete a connector no profile uses", connectorsPath, "connector"),
	)
	return cmd
}

// connectorFlags are the flags of connector create and update. Secrets are
// only read from files: flags show in process listings.
type connectorFlags struct {
	name, typ, status, org   string
	config, configFile, secs []string
}

func (f *connectorFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.name, "name", "", "connector name")
	fs.StringVar(&f.typ, "type", "", "connector type: stepca | acme | digicert | sectigo")
	fs.StringVar(&f.status, "status", "", "active or disabled")
	fs.StringArrayVar(&f.config, "config", nil, "configuration KEY=VALUE (repeatable), e.g. url=https://ca.internal:9000")
	fs.StringArrayVar(&f.configFile, "config-file", nil, "configuration KEY=PATH read from a file (repeatable), e.g. root_pem=root.crt")
	fs.StringArrayVar(&f.secs, "secret-file", nil, "secret KEY=PATH read from a file (repeatable), e.g. provisioner_key=prov.jwk")
}

func keyValues(flag string, pairs []string, fromFile bool) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, usagef("--%s %q: want KEY=%s", flag, p, map[bool]string{true: "PATH", false: "VALUE"}[fromFile])
		}
		if fromFile {
			b, err := os.ReadFile(v)
			if err != nil {
				return nil, usagef("--%s %s: %v", flag, k, err)
			}
			v = string(b)
		}
		out[k] = v
	}
	return out, nil
}

func (f *connectorFlags) body(cmd *cobra.Command) (map[string]any, error) {
	body := map[string]any{}
	fs := cmd.Flags()
	for flag, v := range map[string]string{"name": f.name, "type": f.typ, "status": f.status, "org": f.org} {
		if fs.Changed(flag) {
			body[flag] = v
		}
	}
	if fs.Changed("config") || fs.Changed("config-file") {
		cfg, err := keyValues("config", f.config, false)
		if err != nil {
			return nil, err
		}
		files, err := keyValues("config-file", f.configFile, true)
		if err != nil {
			return nil, err
		}
		for k, v := range files {
			cfg[k] = v
		}
		body["config"] = cfg
	}
	if fs.Changed("secret-file") {
		secrets, err := keyValues("secret-file", f.secs, true)
		if err != nil {
			return nil, err
		}
		body["secrets"] = secrets
	}
	return body, nil
}

// newConnectorWriteCmd is `connector create`, or with update `connector
// update ID`, which changes only what is given (config and secrets as a whole).
func newConnectorWriteCmd(g *globals, update bool) *cobra.Command {
	var f connectorFlags
	spec := apiSpec{use: "create", short: "Create a connector (secrets are sealed and never shown again)", args: cobra.NoArgs, view: connectorView,
		build: func(cmd *cobra.Command, _ []string) (request, error) {
			body, err := f.body(cmd)
			return request{method: http.MethodPost, path: connectorsPath, body: body}, err
		}}
	if update {
		spec.use, spec.short, spec.args = "update ID", "Change a connector (only what is given)", cobra.ExactArgs(1)
		spec.build = func(cmd *cobra.Command, a []string) (request, error) {
			body, err := f.body(cmd)
			return request{method: http.MethodPatch, path: connectorsPath + "/" + esc(a[0]), body: body}, err
		}
	}
	cmd := apiCmd(g, spec)
	f.register(cmd)
	if !update {
		cmd.Example = "  signet connector create --name step --type stepca --config url=https://ca.internal:9000 \\\n" +
			"    --config provisioner=signet --config-file root_pem=root_ca.crt --secret-file provisioner_key=provisioner.jwk"
		cmd.Flags().StringVar(&f.org, "org", "", "organization id or name the connector belongs to (global principals; default: yours)")
		for _, r := range []string{"name", "type"} {
			_ = cmd.MarkFlagRequired(r)
		}
	}
	return cmd
}
