package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/signet-pki/signet/internal/app"
	"github.com/signet-pki/signet/internal/audit"
	"github.com/signet-pki/signet/internal/config"
)

var (
	orgView = view{cols: []column{{"ID", "id"}, {"NAME", "name"}, {"CREATED", "created_at"}},
		detail: []column{{"ID", "id"}, {"NAME", "name"}, {"CREATED", "created_at"}}}
	teamView = view{cols: []column{{"ID", "id"}, {"ORG", "org_id"}, {"NAME", "name"}, {"DESCRIPTION", "description"}},
		detail: []column{{"ID", "id"}, {"ORG", "org_id"}, {"NAME", "name"}, {"DESCRIPTION", "description"}, {"CREATED", "created_at"}}}
	principalView = view{cols: []column{{"ID", "id"}, {"NAME", "name"}, {"ORG", "org_id"}, {"ROLES", "roles"},
		{"TEAMS", "team_ids"}, {"DISABLED", "disabled"}},
		detail: []column{{"ID", "id"}, {"KIND", "kind"}, {"NAME", "name"}, {"DISPLAY NAME", "display_name"},
			{"EMAIL", "email"}, {"ORG", "org_id"}, {"ROLES", "roles"}, {"TEAMS", "team_ids"},
			{"PASSWORD", "has_password"}, {"LOCKED UNTIL", "locked_until"}, {"DISABLED", "disabled"}, {"CREATED", "created_at"}}}
	auditView = view{cols: []column{{"SEQ", "seq"}, {"TIME", "time"}, {"PRINCIPAL", "principal"}, {"ACTION", "action"},
		{"OBJECT", "object_id"}, {"OUTCOME", "outcome"}, {"SOURCE", "source_ip"}},
		detail: []column{{"SEQ", "seq"}, {"TIME", "time"}, {"PRINCIPAL", "principal"}, {"SOURCE", "source_ip"},
			{"ORG", "org_id"}, {"ACTION", "action"}, {"OBJECT TYPE", "object_type"}, {"OBJECT", "object_id"},
			{"OUTCOME", "outcome"}, {"DETAILS", "details"}, {"HASH", "hash"}}}
)

func newOrgCmd(g *globals) *cobra.Command {
	const path = "/api/v1/organizations"
	cmd := &cobra.Command{Use: "org", Short: "Manage organizations (the tenancy boundary)"}
	cmd.AddCommand(
		listCmd(g, listSpec{short: "List organizations", path: path, view: orgView}),
		getCmd(g, "Get an organization by id or name", path, orgView),
		apiCmd(g, apiSpec{use: "create NAME", short: "Create an organization (global admins)", args: cobra.ExactArgs(1), view: orgView,
			build: func(_ *cobra.Command, a []string) (request, error) {
				return request{method: http.MethodPost, path: path, body: map[string]any{"name": a[0]}}, nil
			}}),
		apiCmd(g, apiSpec{use: "rename ID NEW-NAME", short: "Rename an organization", args: cobra.ExactArgs(2), view: orgView,
			build: func(_ *cobra.Command, a []string) (request, error) {
				return request{method: http.MethodPatch, path: path + "/" + esc(a[0]), body: map[string]any{"name": a[1]}}, nil
			}}),
		deleteCmd(g, "Delete an organization that owns nothing", path, "organization"),
	)
	return cmd
}

// orgFlag adds --org to a list and passes it as the org query parameter.
func orgFlag(org *string) (func(*cobra.Command), func(url.Values) error) {
	return func(cmd *cobra.Command) {
			cmd.Flags().StringVar(org, "org", "", "organization id (global principals; default: all)")
		}, func(q url.Values) error {
			if *org != "" {
				q.Set("org", *org)
			}
			return nil
		}
}

func newTeamCmd(g *globals) *cobra.Command {
	const path = "/api/v1/teams"
	var org, desc, createOrg string
	flags, query := orgFlag(&org)
	create := apiCmd(g, apiSpec{use: "create NAME", short: "Create a team", args: cobra.ExactArgs(1), view: teamView,
		build: func(_ *cobra.Command, a []string) (request, error) {
			return request{method: http.MethodPost, path: path, body: map[string]any{"name": a[0], "description": desc, "org": createOrg}}, nil
		}})
	create.Flags().StringVar(&desc, "description", "", "what the team does")
	create.Flags().StringVar(&createOrg, "org", "", "organization id or name (global principals; default: yours)")
	cmd := &cobra.Command{Use: "team", Short: "Manage teams, which can own certificates"}
	cmd.AddCommand(listCmd(g, listSpec{short: "List teams", path: path, view: teamView, flags: flags, query: query}),
		getCmd(g, "Get a team", path, teamView), create, deleteCmd(g, "Delete a team that owns nothing", path, "team"))
	return cmd
}

func newPrincipalCmd(g *globals, use, kind, path string) *cobra.Command {
	var org, createOrg, password, display, email string
	var roles, teams []string
	var global bool
	flags, query := orgFlag(&org)
	create := apiCmd(g, apiSpec{use: "create NAME", short: "Create a " + kind, args: cobra.ExactArgs(1), view: principalView,
		build: func(_ *cobra.Command, a []string) (request, error) {
			body := map[string]any{"name": a[0], "roles": roles, "team_ids": teams, "org": createOrg, "global": global,
				"display_name": display, "email": email}
			if password != "" {
				body["password"] = password
			}
			return request{method: http.MethodPost, path: path, body: body}, nil
		}})
	f := create.Flags()
	f.StringSliceVar(&roles, "role", nil, "role, repeatable: admin, manager, requester, auditor (required)")
	f.StringSliceVar(&teams, "team", nil, "team id, repeatable")
	f.StringVar(&createOrg, "org", "", "organization id or name (global principals; default: yours)")
	f.BoolVar(&global, "global", false, "a global principal that sees every organization (global admins only)")
	f.StringVar(&display, "display-name", "", "display name")
	f.StringVar(&email, "email", "", "email address")
	if kind == "user" {
		f.StringVar(&password, "password", "", "initial password (at least 12 characters; prefer SIGNET_NEW_PASSWORD)")
	}
	_ = create.MarkFlagRequired("role")
	cmd := &cobra.Command{Use: use, Short: "Manage " + kind + "s"}
	cmd.AddCommand(listCmd(g, listSpec{short: "List " + kind + "s", path: path, view: principalView, flags: flags, query: query}),
		getCmd(g, "Get a "+kind+" by id or name", path, principalView), create,
		deleteCmd(g, "Delete a "+kind, path, kind))
	return cmd
}

func newAuditCmd(g *globals) *cobra.Command {
	var principal, action, object, outcome string
	list := listCmd(g, listSpec{short: "Search the audit log", path: "/api/v1/audit-events", view: auditView,
		flags: func(cmd *cobra.Command) {
			f := cmd.Flags()
			f.StringVar(&principal, "principal", "", "principal id")
			f.StringVar(&action, "action", "", `action, or a prefix ending in "." such as certificate.`)
			f.StringVar(&object, "object", "", "object id")
			f.StringVar(&outcome, "outcome", "", "success, failure or denied")
		},
		query: func(q url.Values) error {
			for k, v := range map[string]string{"principal": principal, "action": action, "object_id": object, "outcome": outcome} {
				if v != "" {
					q.Set(k, v)
				}
			}
			return nil
		}})
	cmd := &cobra.Command{Use: "audit", Short: "Read and verify the tamper-evident audit log"}
	cmd.AddCommand(list, newAuditVerifyCmd(g))
	return cmd
}

// newAuditVerifyCmd checks the hash chain, through the API or, with
// --data-dir, on the database file itself (no server needed).
func newAuditVerifyCmd(g *globals) *cobra.Command {
	var dataDir, database string
	cmd := &cobra.Command{Use: "verify", Short: "Verify the audit hash chain; exits non-zero on any tampering", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var res *audit.Result
			if dataDir != "" || database != "" {
				spec := database
				if spec == "" {
					spec = "sqlite:" + dataDir
				}
				var err error
				if res, err = verifyStore(cmd.Context(), spec); err != nil {
					return err
				}
			} else {
				raw, err := g.call(cmd, request{method: http.MethodGet, path: "/api/v1/audit-events/verify"})
				if err != nil {
					return err
				}
				var r audit.Result
				if err := json.Unmarshal(raw, &r); err != nil {
					return fmt.Errorf("read verification result: %w", err)
				}
				res = &r
			}
			if !res.OK {
				return fmt.Errorf("audit chain broken at event %d (%d events read): %s", res.FirstBad, res.Checked, res.Problem)
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "audit chain intact: %d events verified\n", res.Checked)
			return err
		}}
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "verify the SQLite database in this data directory directly")
	cmd.Flags().StringVar(&database, "database", "", "verify this PostgreSQL database directly (postgres://...)")
	return cmd
}

func verifyStore(ctx context.Context, spec string) (*audit.Result, error) {
	if strings.HasPrefix(spec, "sqlite:") {
		dir := strings.TrimPrefix(spec, "sqlite:")
		if _, err := os.Stat((&config.Config{DataDir: dir}).DatabasePath()); err != nil {
			return nil, fmt.Errorf("no Signet database in %s: %w", dir, err)
		}
	}
	st, err := app.OpenStore(ctx, spec, time.Now)
	if err != nil {
		return nil, err
	}
	res, err := audit.Verify(ctx, st)
	return res, errors.Join(err, st.Close())
}
