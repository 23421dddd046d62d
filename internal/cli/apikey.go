package cli

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

const apiKeysPath = "/api/v1/api-keys"

var apiKeyView = view{
	cols: []column{{"ID", "id"}, {"NAME", "name"}, {"PRINCIPAL", "principal_id"}, {"ROLES", "roles"},
		{"EXPIRES", "expires_at"}, {"REVOKED", "revoked_at"}, {"LAST USED", "last_used_at"}},
	detail: []column{{"ID", "id"}, {"NAME", "name"}, {"PRINCIPAL", "principal_id"}, {"ROLES", "roles"},
		{"EXPIRES", "expires_at"}, {"REVOKED", "revoked_at"}, {"LAST USED", "last_used_at"}, {"CREATED", "created_at"}},
}

func newAPIKeyCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "api-key", Short: "Manage API keys"}
	cmd.AddCommand(
		listCmd(g, listSpec{short: "List API keys (never their secrets)", path: apiKeysPath, view: apiKeyView}),
		newAPIKeyCreateCmd(g),
		postCmd(g, "revoke ID", "Revoke an API key at once", apiKeysPath, "revoke", apiKeyView),
	)
	return cmd
}

func newAPIKeyCreateCmd(g *globals) *cobra.Command {
	var name, principal, expiresIn string
	var roles []string
	cmd := &cobra.Command{Use: "create", Short: "Create an API key (its secret is shown only once)", Args: cobra.NoArgs,
		Example: "  signet api-key create --name deploy-bot --role requester --expires-in 90d",
		RunE: func(cmd *cobra.Command, _ []string) error {
			body := map[string]any{"name": name, "roles": roles}
			if expiresIn != "" {
				d, err := parseLifetime(expiresIn)
				if err != nil {
					return usagef("--expires-in %q: %v", expiresIn, err)
				}
				body["expires_at"] = timeIn(d)
			}
			switch principal {
			case "self":
			case "":
				// The common case, a key for a machine: a service account of
				// that name holding the roles, and a key for it.
				sa, err := g.call(cmd, request{method: http.MethodPost, path: "/api/v1/service-accounts",
					body: map[string]any{"name": name, "roles": roles}})
				if err != nil {
					return fmt.Errorf("create service account %s: %w", name, err)
				}
				v, err := decode(sa)
				if err != nil {
					return err
				}
				body["principal_id"] = field(v, "id")
			default:
				body["principal_id"] = principal
			}
			raw, err := g.call(cmd, request{method: http.MethodPost, path: apiKeysPath, body: body})
			if err != nil {
				return err
			}
			return printNewKey(cmd, g.output, raw)
		}}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "name (required)")
	f.StringVar(&principal, "principal", "", `principal id the key belongs to; "self" for the caller (default: a new service account named --name)`)
	f.StringSliceVar(&roles, "role", nil, "role, repeatable or comma-separated: admin, manager, requester, auditor (default with --principal: the principal's)")
	f.StringVar(&expiresIn, "expires-in", "", "lifetime, e.g. 720h or 90d (default: no expiry)")
	_ = cmd.MarkFlagRequired("name")
	cmd.PreRunE = func(cmd *cobra.Command, _ []string) error {
		if principal == "" && len(roles) == 0 {
			return usagef("--role is required when the key gets a new service account (no --principal)")
		}
		return nil
	}
	return cmd
}

// printNewKey shows a created key, its secret once.
func printNewKey(cmd *cobra.Command, output string, raw []byte) error {
	return printOnce(cmd, output, raw, apiKeyView, "key",
		"This API key is shown only now and cannot be retrieved again: store it safely.")
}

// printOnce shows a created credential whose secret the server returns this
// once: the secret (the answer's field secretField) goes to standard output,
// the record and the warning to standard error, so that
// `key=$(signet api-key create ...)` works.
func printOnce(cmd *cobra.Command, output string, raw []byte, v view, secretField, warn string) error {
	if output == outJSON {
		fmt.Fprintln(cmd.ErrOrStderr(), warn)
		return printJSON(cmd.OutOrStdout(), raw)
	}
	doc, err := decode(raw)
	if err != nil {
		return err
	}
	if err := render(cmd.ErrOrStderr(), output, raw, v); err != nil {
		return err
	}
	fmt.Fprintln(cmd.ErrOrStderr(), warn)
	_, err = fmt.Fprintln(cmd.OutOrStdout(), field(doc, secretField))
	return err
}

// parseLifetime reads a Go duration or a number of days ("90d").
func parseLifetime(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("want a positive number of days")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("want a positive duration such as 720h or 90d")
	}
	return d, nil
}

func newMeCmd(g *globals) *cobra.Command {
	return apiCmd(g, apiSpec{use: "me", short: "Show who the API key authenticates as", args: cobra.NoArgs,
		view: view{cols: []column{{"ID", "id"}, {"NAME", "name"}, {"ORG", "org_id"}, {"TEAMS", "team_ids"},
			{"ROLES", "roles"}, {"API KEY", "api_key_id"}, {"AUTHENTICATED BY", "authenticated_by"}}},
		build: func(_ *cobra.Command, _ []string) (request, error) {
			return request{method: http.MethodGet, path: "/api/v1/me"}, nil
		}})
}

// timeIn is the RFC 3339 UTC time d from now.
func timeIn(d time.Duration) string { return time.Now().Add(d).UTC().Format(time.RFC3339) }
