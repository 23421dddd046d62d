package cli

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

var caColumns = []column{{"ID", "id"}, {"NAME", "name"}, {"KIND", "kind"}, {"STATUS", "status"}, {"KEY", "key_type"},
	{"NOT AFTER", "not_after"}, {"SUBJECT", "subject"}}

func getPath(prefix string) func(*cobra.Command, []string) (string, string, any, error) {
	return func(_ *cobra.Command, a []string) (string, string, any, error) {
		return "GET", prefix + esc(a[0]), nil, nil
	}
}

func listPath(path string) func(*cobra.Command, []string) (string, string, any, error) {
	return func(_ *cobra.Command, _ []string) (string, string, any, error) { return "GET", path, nil, nil }
}

func newCACmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "ca", Short: "Manage certificate authorities"}
	cmd.AddCommand(
		simple(g, "list", "List CAs", cobra.NoArgs, caColumns, listPath("/api/v1/cas?limit=1000")),
		simple(g, "get ID", "Show a CA (id or name)", cobra.ExactArgs(1), caColumns, getPath("/api/v1/cas/")),
		newCACreateCmd(g), newCAImportCmd(g),
		simple(g, "disable ID", "Disable a CA", cobra.ExactArgs(1), caColumns, func(_ *cobra.Command, a []string) (string, string, any, error) {
			return "POST", "/api/v1/cas/" + esc(a[0]) + "/disable", nil, nil
		}),
		simple(g, "enable ID", "Re-enable a CA", cobra.ExactArgs(1), caColumns, func(_ *cobra.Command, a []string) (string, string, any, error) {
			return "POST", "/api/v1/cas/" + esc(a[0]) + "/enable", nil, nil
		}),
		newCADownloadCmd(g, "cert ID", "Print the CA certificate", "/certificate"),
		newCADownloadCmd(g, "chain ID", "Print the CA chain (CA first, up to its root)", "/chain"),
	)
	return cmd
}

func newCADownloadCmd(g *globals, use, short, suffix string) *cobra.Command {
	var format string
	cmd := &cobra.Command{Use: use, Short: short, Args: cobra.ExactArgs(1), RunE: func(cmd *cobra.Command, a []string) error {
		c, err := newClient(g)
		if err != nil {
			return err
		}
		raw, err := c.do(cmd.Context(), "GET", "/api/v1/cas/"+esc(a[0])+suffix+"?format="+format, nil, nil)
		if err != nil {
			return err
		}
		_, err = cmd.OutOrStdout().Write(raw)
		return err
	}}
	cmd.Flags().StringVar(&format, "format", "pem", "pem or der (certificate only)")
	return cmd
}

func newCACreateCmd(g *globals) *cobra.Command {
	var name, kind, parent, key, cn string
	var org, country, permitted, excluded []string
	var days, pathLen int
	cmd := simple(g, "create", "Create a root or intermediate CA", cobra.NoArgs, caColumns, func(cmd *cobra.Command, _ []string) (string, string, any, error) {
		alg, bitsText, _ := strings.Cut(key, ":")
		bits := 0
		if bitsText != "" {
			var err error
			if bits, err = strconv.Atoi(bitsText); err != nil {
				return "", "", nil, fmt.Errorf("--key %q: size must be a number", key)
			}
		}
		body := map[string]any{"name": name, "kind": kind, "parent": parent, "key": map[string]any{"algorithm": alg, "bits": bits},
			"subject": map[string]any{"common_name": cn, "organization": org, "country": country}, "validity_days": days}
		if cmd.Flags().Changed("path-len") {
			body["path_len"] = pathLen
		}
		if len(permitted)+len(excluded) > 0 {
			body["name_constraints"] = map[string]any{"permitted_dns": permitted, "excluded_dns": excluded}
		}
		return "POST", "/api/v1/cas", body, nil
	})
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "unique name")
	f.StringVar(&kind, "kind", "intermediate", "root or intermediate")
	f.StringVar(&parent, "parent", "", "issuing CA (id or name) for an intermediate")
	f.StringVar(&key, "key", "ecdsa:256", "key: ecdsa:256|384, rsa:2048|3072|4096 or ed25519")
	f.StringVar(&cn, "cn", "", "subject common name")
	f.StringSliceVar(&org, "org", nil, "subject organization")
	f.StringSliceVar(&country, "country", nil, "subject country (two letters)")
	f.IntVar(&days, "validity-days", 1825, "validity in days")
	f.IntVar(&pathLen, "path-len", 0, "maximum number of CAs below this one")
	f.StringSliceVar(&permitted, "permitted-dns", nil, "name constraint: permitted DNS domain (repeatable)")
	f.StringSliceVar(&excluded, "excluded-dns", nil, "name constraint: excluded DNS domain (repeatable)")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

func newCAImportCmd(g *globals) *cobra.Command {
	var name, certFile, keyFile string
	cmd := simple(g, "import", "Import an external CA certificate (and optionally its key)", cobra.NoArgs, caColumns,
		func(_ *cobra.Command, _ []string) (string, string, any, error) {
			cert, err := readFile(certFile)
			if err != nil {
				return "", "", nil, err
			}
			body := map[string]any{"name": name, "certificate": cert}
			if keyFile != "" {
				key, err := readFile(keyFile)
				if err != nil {
					return "", "", nil, err
				}
				body["private_key"] = key
			}
			return "POST", "/api/v1/cas/import", body, nil
		})
	cmd.Flags().StringVar(&name, "name", "", "name (default: the certificate's common name)")
	cmd.Flags().StringVar(&certFile, "cert", "", "CA certificate PEM file")
	cmd.Flags().StringVar(&keyFile, "key", "", "CA private key PEM file (optional)")
	_ = cmd.MarkFlagRequired("cert")
	return cmd
}

var templateColumns = []column{{"ID", "id"}, {"NAME", "name"}, {"MAX DAYS", "spec.max_validity_days"}, {"EKUS", "spec.ext_key_usages"}, {"DESCRIPTION", "description"}}

func newTemplateCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "template", Short: "Manage templates (what a certificate may contain)"}
	write := func(use, short, method string, withID bool) *cobra.Command {
		var name, desc, specFile string
		args := cobra.NoArgs
		if withID {
			args = cobra.ExactArgs(1)
		}
		c := simple(g, use, short, args, templateColumns, func(_ *cobra.Command, a []string) (string, string, any, error) {
			text, err := readFile(specFile)
			if err != nil {
				return "", "", nil, err
			}
			var spec any
			if err := json.Unmarshal([]byte(text), &spec); err != nil {
				return "", "", nil, fmt.Errorf("--spec %s: %w", specFile, err)
			}
			path := "/api/v1/templates"
			if withID {
				path += "/" + esc(a[0])
			}
			return method, path, map[string]any{"name": name, "description": desc, "spec": spec}, nil
		})
		c.Flags().StringVar(&name, "name", "", "template name")
		c.Flags().StringVar(&desc, "description", "", "description")
		c.Flags().StringVar(&specFile, "spec", "", "JSON file with the template's constraints (see the README)")
		_ = c.MarkFlagRequired("name")
		_ = c.MarkFlagRequired("spec")
		return c
	}
	cmd.AddCommand(
		simple(g, "list", "List templates", cobra.NoArgs, templateColumns, listPath("/api/v1/templates?limit=1000")),
		simple(g, "get ID", "Show a template (id or name)", cobra.ExactArgs(1), templateColumns, getPath("/api/v1/templates/")),
		write("create", "Create a template", "POST", false),
		write("update ID", "Replace a template", "PUT", true),
		simple(g, "delete ID", "Delete a template no profile uses", cobra.ExactArgs(1), nil, func(_ *cobra.Command, a []string) (string, string, any, error) {
			return "DELETE", "/api/v1/templates/" + esc(a[0]), nil, nil
		}),
	)
	return cmd
}

var profileColumns = []column{{"ID", "id"}, {"NAME", "name"}, {"TEMPLATE", "template_id"}, {"CA", "ca_id"}, {"APPROVAL", "approval"},
	{"METHODS", "enrollment_methods"}, {"STATUS", "status"}}

func newProfileCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "profile", Short: "Manage profiles (template + issuing CA + enrollment + approval)"}
	write := func(use, short, method string, withID bool) *cobra.Command {
		var name, desc, tpl, ca, approval, format, status string
		var methods []string
		var days int
		args := cobra.NoArgs
		if withID {
			args = cobra.ExactArgs(1)
		}
		c := simple(g, use, short, args, profileColumns, func(_ *cobra.Command, a []string) (string, string, any, error) {
			path := "/api/v1/profiles"
			if withID {
				path += "/" + esc(a[0])
			}
			return method, path, map[string]any{"name": name, "description": desc, "template": tpl, "ca": ca, "approval": approval,
				"default_validity_days": days, "enrollment_methods": methods, "delivery_format": format, "status": status}, nil
		})
		f := c.Flags()
		f.StringVar(&name, "name", "", "profile name")
		f.StringVar(&desc, "description", "", "description")
		f.StringVar(&tpl, "template", "", "template id or name")
		f.StringVar(&ca, "ca", "", "issuing CA id or name")
		f.StringVar(&approval, "approval", "auto", "auto or manual")
		f.IntVar(&days, "default-validity-days", 0, "default validity (0 = the template's maximum)")
		f.StringSliceVar(&methods, "methods", []string{"api"}, "enrollment methods: api, acme, est, scep")
		f.StringVar(&format, "delivery-format", "pem", "pem, der, chain, pkcs7 or pkcs12")
		f.StringVar(&status, "status", "active", "active or disabled")
		for _, r := range []string{"name", "template", "ca"} {
			_ = c.MarkFlagRequired(r)
		}
		return c
	}
	cmd.AddCommand(
		simple(g, "list", "List profiles", cobra.NoArgs, profileColumns, listPath("/api/v1/profiles?limit=1000")),
		simple(g, "get ID", "Show a profile (id or name)", cobra.ExactArgs(1), profileColumns, getPath("/api/v1/profiles/")),
		write("create", "Create a profile", "POST", false),
		write("update ID", "Replace a profile", "PUT", true),
		simple(g, "delete ID", "Delete a profile", cobra.ExactArgs(1), nil, func(_ *cobra.Command, a []string) (string, string, any, error) {
			return "DELETE", "/api/v1/profiles/" + esc(a[0]), nil, nil
		}),
	)
	return cmd
}

var requestColumns = []column{{"ID", "id"}, {"PROFILE", "profile_id"}, {"REQUESTER", "requester_id"}, {"STATUS", "status"},
	{"KIND", "kind"}, {"SERIAL", "certificate_serial"}, {"CREATED", "created_at"}, {"REASON", "reason"}}

func newRequestCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "request", Short: "See and decide certificate requests"}
	var status, profile, reason string
	list := simple(g, "list", "List requests", cobra.NoArgs, requestColumns, func(_ *cobra.Command, _ []string) (string, string, any, error) {
		return "GET", "/api/v1/requests?limit=1000&status=" + esc(status) + "&profile=" + esc(profile), nil, nil
	})
	list.Flags().StringVar(&status, "status", "", "pending, issued, rejected or failed")
	list.Flags().StringVar(&profile, "profile", "", "profile id or name")
	reject := simple(g, "reject ID", "Reject a pending request", cobra.ExactArgs(1), requestColumns, func(_ *cobra.Command, a []string) (string, string, any, error) {
		return "POST", "/api/v1/requests/" + esc(a[0]) + "/reject", map[string]any{"reason": reason}, nil
	})
	reject.Flags().StringVar(&reason, "reason", "", "why (required)")
	cmd.AddCommand(list,
		simple(g, "get ID", "Show a request", cobra.ExactArgs(1), requestColumns, getPath("/api/v1/requests/")),
		simple(g, "approve ID", "Approve a pending request and issue its certificate", cobra.ExactArgs(1), enrollColumns,
			func(_ *cobra.Command, a []string) (string, string, any, error) {
				return "POST", "/api/v1/requests/" + esc(a[0]) + "/approve", nil, nil
			}),
		reject)
	return cmd
}

var apiKeyColumns = []column{{"ID", "id"}, {"NAME", "name"}, {"PRINCIPAL", "principal_id"}, {"ROLES", "roles"},
	{"EXPIRES", "expires_at"}, {"REVOKED", "revoked_at"}, {"LAST USED", "last_used_at"}}

func newAPIKeyCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "api-key", Short: "Manage API keys"}
	var name, principal string
	var roles []string
	var expiresIn time.Duration
	create := &cobra.Command{Use: "create", Short: "Create an API key (shown only once)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			body := map[string]any{"name": name, "roles": roles, "principal_id": principal}
			if expiresIn > 0 {
				body["expires_at"] = time.Now().Add(expiresIn).UTC().Format(time.RFC3339)
			}
			c, err := newClient(g)
			if err != nil {
				return err
			}
			v, _, err := c.call(cmd.Context(), "POST", "/api/v1/api-keys", body)
			if err != nil {
				return err
			}
			if g.output == "json" {
				return printResult(cmd.OutOrStdout(), g, v, nil)
			}
			if err := printResult(cmd.OutOrStdout(), g, v, apiKeyColumns); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "\nkey (shown only now, store it safely):\n%s\n", field(v, "key"))
			return nil
		}}
	create.Flags().StringVar(&name, "name", "", "name")
	create.Flags().StringVar(&principal, "principal", "", "principal the key acts as (default: derived from the name)")
	create.Flags().StringSliceVar(&roles, "role", nil, "role: admin, manager, requester, auditor (repeatable)")
	create.Flags().DurationVar(&expiresIn, "expires-in", 0, "lifetime, e.g. 720h (default: no expiry)")
	_ = create.MarkFlagRequired("name")
	_ = create.MarkFlagRequired("role")
	cmd.AddCommand(
		simple(g, "list", "List API keys", cobra.NoArgs, apiKeyColumns, listPath("/api/v1/api-keys?limit=1000")),
		create,
		simple(g, "revoke ID", "Revoke an API key", cobra.ExactArgs(1), apiKeyColumns, func(_ *cobra.Command, a []string) (string, string, any, error) {
			return "POST", "/api/v1/api-keys/" + esc(a[0]) + "/revoke", nil, nil
		}),
	)
	return cmd
}

func newMeCmd(g *globals) *cobra.Command {
	return simple(g, "me", "Show who you are authenticated as", cobra.NoArgs,
		[]column{{"ID", "id"}, {"NAME", "name"}, {"ROLES", "roles"}, {"API KEY", "api_key_id"}}, listPath("/api/v1/me"))
}
