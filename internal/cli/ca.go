package cli

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"
)

const casPath = "/api/v1/cas"

var caView = view{
	cols: []column{{"ID", "id"}, {"NAME", "name"}, {"KIND", "kind"}, {"STATUS", "status"}, {"KEY", "key_type"},
		{"NOT AFTER", "not_after"}, {"SUBJECT", "subject"}},
	detail: []column{{"ID", "id"}, {"NAME", "name"}, {"KIND", "kind"}, {"STATUS", "status"}, {"PARENT", "parent_id"},
		{"SUBJECT", "subject"}, {"SERIAL", "serial"}, {"KEY TYPE", "key_type"}, {"HAS KEY", "has_key"},
		{"NOT BEFORE", "not_before"}, {"NOT AFTER", "not_after"}, {"SHA256", "sha256"}, {"CREATED", "created_at"}},
	pem: pemField("certificate_pem"),
}

func newCACmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "ca", Short: "Manage certificate authorities"}
	cmd.AddCommand(
		listCmd(g, listSpec{short: "List CAs", path: casPath, view: caView}),
		getCmd(g, "Show a CA (id or name)", casPath, caView),
		newCACreateCmd(g),
		newCAImportCmd(g),
		postCmd(g, "disable ID", "Disable a CA: it issues nothing while disabled", casPath, "disable", caView),
		postCmd(g, "enable ID", "Re-enable a disabled CA", casPath, "enable", caView),
		newCACertCmd(g),
		&cobra.Command{Use: "chain ID", Short: "Print the CA's chain, the CA first, up to its root (PEM)", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, a []string) error {
				return download(cmd, g, request{method: http.MethodGet, path: casPath + "/" + esc(a[0]) + "/chain"}, "")
			}},
	)
	return cmd
}

func newCACertCmd(g *globals) *cobra.Command {
	var format, out string
	cmd := &cobra.Command{Use: "cert ID", Short: "Print the CA certificate (PEM, or DER with --format der)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			q := url.Values{}
			switch format {
			case "pem":
			case "der":
				q.Set("format", "der")
			default:
				return usagef("--format %q: want pem or der", format)
			}
			return download(cmd, g, request{method: http.MethodGet, path: casPath + "/" + esc(a[0]) + "/certificate", query: q}, out)
		}}
	cmd.Flags().StringVar(&format, "format", "pem", "pem or der")
	cmd.Flags().StringVar(&out, "out", "", "write to this file instead of standard output")
	return cmd
}

// caCreateFlags are the flags of `ca create`.
type caCreateFlags struct {
	name, kind, parent, key, cn string
	tenant                      string
	org, country                []string
	permitted, excluded         []string
	days, pathLen               int
}

func (f *caCreateFlags) body(cmd *cobra.Command) (map[string]any, error) {
	key, err := parseKeygen(f.key)
	if err != nil {
		return nil, usagef("--key %q: want ecdsa[:256|384], rsa[:2048|3072|4096] or ed25519", f.key)
	}
	cn := f.cn
	if cn == "" {
		cn = f.name
	}
	body := map[string]any{"name": f.name, "kind": f.kind, "key": key, "validity_days": f.days,
		"subject": map[string]any{"common_name": cn, "organization": f.org, "country": f.country}}
	if f.parent != "" {
		body["parent"] = f.parent
	}
	if f.tenant != "" {
		body["org"] = f.tenant
	}
	if cmd.Flags().Changed("path-len") {
		body["path_len"] = f.pathLen
	}
	if len(f.permitted)+len(f.excluded) > 0 {
		body["name_constraints"] = map[string]any{"permitted_dns": f.permitted, "excluded_dns": f.excluded}
	}
	return body, nil
}

func newCACreateCmd(g *globals) *cobra.Command {
	var f caCreateFlags
	cmd := apiCmd(g, apiSpec{use: "create", short: "Create a root CA, or an intermediate under an existing CA", args: cobra.NoArgs,
		view: caView, build: func(cmd *cobra.Command, _ []string) (request, error) {
			body, err := f.body(cmd)
			return request{method: http.MethodPost, path: casPath, body: body}, err
		}})
	cmd.Example = "  signet ca create --name ops-root --kind root --key ecdsa:384 --subject-org Example --validity-days 3650\n" +
		"  signet ca create --name ops-issuing --kind intermediate --parent ops-root --path-len 0 --permitted-dns example.com"
	fs := cmd.Flags()
	fs.StringVar(&f.name, "name", "", "unique name (required)")
	fs.StringVar(&f.kind, "kind", "", "root or intermediate (required)")
	fs.StringVar(&f.parent, "parent", "", "issuing CA (id or name) of an intermediate")
	fs.StringVar(&f.key, "key", "ecdsa:384", "key: ecdsa:256|384, rsa:2048|3072|4096 or ed25519")
	fs.StringVar(&f.cn, "cn", "", "subject common name (default: the name)")
	fs.StringArrayVar(&f.org, "subject-org", nil, "subject organization (repeatable)")
	fs.StringVar(&f.tenant, "org", "", "organization id or name the new object belongs to (global principals; default: yours)")
	fs.StringArrayVar(&f.country, "country", nil, "subject country, two letters (repeatable)")
	fs.IntVar(&f.days, "validity-days", 1825, "validity in days")
	fs.IntVar(&f.pathLen, "path-len", 0, "maximum number of CAs below this one (default: unlimited)")
	fs.StringArrayVar(&f.permitted, "permitted-dns", nil, "name constraint: permitted DNS domain (repeatable)")
	fs.StringArrayVar(&f.excluded, "excluded-dns", nil, "name constraint: excluded DNS domain (repeatable)")
	_ = cmd.MarkFlagRequired("name")
	_ = cmd.MarkFlagRequired("kind")
	return cmd
}

func newCAImportCmd(g *globals) *cobra.Command {
	var name, certFile, keyFile string
	cmd := apiCmd(g, apiSpec{use: "import", short: "Import an external CA certificate (and optionally its key)", args: cobra.NoArgs,
		view: caView, build: func(cmd *cobra.Command, _ []string) (request, error) {
			cert, err := readInput(cmd.InOrStdin(), certFile, maxSmallFile)
			if err != nil {
				return request{}, fmt.Errorf("--cert: %w", err)
			}
			body := map[string]any{"name": name, "certificate": string(cert)}
			if keyFile != "" {
				key, err := readInput(cmd.InOrStdin(), keyFile, maxSmallFile)
				if err != nil {
					return request{}, fmt.Errorf("--key: %w", err)
				}
				body["private_key"] = string(key)
			}
			return request{method: http.MethodPost, path: casPath + "/import", body: body}, nil
		}})
	cmd.Flags().StringVar(&name, "name", "", "unique name (default: the certificate's common name)")
	cmd.Flags().StringVar(&certFile, "cert", "", "CA certificate PEM file (required)")
	cmd.Flags().StringVar(&keyFile, "key", "", "CA private key PEM file, to issue from this CA (optional)")
	_ = cmd.MarkFlagRequired("cert")
	return cmd
}
