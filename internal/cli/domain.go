package cli

import (
	"net/http"

	"github.com/spf13/cobra"
)

const domainsPath = "/api/v1/domains"

var domainView = view{
	cols: []column{{"ID", "id"}, {"NAME", "name"}, {"ORG", "org_id"}, {"STATUS", "status"}, {"STATE", "state"},
		{"VALIDATION", "validation_status"}},
	detail: []column{{"ID", "id"}, {"NAME", "name"}, {"ORG", "org_id"}, {"STATUS", "status"}, {"STATE", "state"},
		{"VALIDATION", "validation_status"}, {"METHOD", "validation.method"}, {"VALIDATED", "validation.validated_at"},
		{"EXPIRES", "validation.expires_at"}, {"DELEGATIONS", "delegations"}, {"ORDER", "order.method"},
		{"ORDER STATUS", "order.status"}, {"LAST ERROR", "order.last_error"}, {"URL", "challenge.url"},
		{"FIRST LINE", "challenge.first_line"}, {"SECOND LINE", "challenge.second_line"}, {"HOST", "challenge.host"},
		{"POINT", "challenge.point"}, {"EMAILS", "challenge.emails"}},
}

// newDomainCmd manages registered domains and their control validation.
func newDomainCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "domain", Short: "Register domains, delegate them to teams and validate control of them"}
	cmd.AddCommand(
		listCmd(g, listSpec{short: "List registered domains", path: domainsPath, view: domainView}),
		getCmd(g, "Show a domain, its delegations, validation and challenge", domainsPath, domainView),
		newDomainRegisterCmd(g),
		deleteCmd(g, "Unregister a domain", domainsPath, "domain"),
		postCmd(g, "approve ID", "Approve a requested domain", domainsPath, "approve", domainView),
		postCmd(g, "suspend ID", "Suspend a domain", domainsPath, "suspend", domainView),
		postCmd(g, "activate ID", "Activate a suspended domain", domainsPath, "activate", domainView),
		postCmd(g, "check ID", "Check a submitted validation again", domainsPath, "validation/check", domainView),
		newDomainDelegateCmd(g),
		newDomainValidateCmd(g, "start", "Start validation and print what to publish", "validation", false),
		newDomainValidateCmd(g, "submit", "Submit the validation (checked at once; email: the code is mailed)", "validation/submit", true),
		apiCmd(g, apiSpec{use: "confirm CODE", short: "Confirm an email validation with the mailed code", args: cobra.ExactArgs(1),
			view: view{detail: []column{{"DOMAIN", "domain"}, {"VALIDATION", "validation_status"}}},
			build: func(_ *cobra.Command, a []string) (request, error) {
				return request{method: http.MethodPost, path: "/api/v1/domain-validations/email", body: map[string]any{"code": a[0]}}, nil
			}}),
	)
	return cmd
}

func newDomainRegisterCmd(g *globals) *cobra.Command {
	var org, description string
	var teams []string
	var suspended bool
	cmd := apiCmd(g, apiSpec{use: "register NAME", short: "Register a domain (a requester's registration awaits approval)",
		args: cobra.ExactArgs(1), view: domainView,
		build: func(_ *cobra.Command, a []string) (request, error) {
			dels := []map[string]any{}
			for _, t := range teams {
				dels = append(dels, map[string]any{"team": t})
			}
			return request{method: http.MethodPost, path: domainsPath, body: map[string]any{"name": a[0], "org": org,
				"description": description, "suspended": suspended, "delegations": dels}}, nil
		}})
	f := cmd.Flags()
	f.StringVar(&org, "org", "", "organization id or name (default: the caller's)")
	f.StringVar(&description, "description", "", "description")
	f.StringSliceVar(&teams, "team", nil, "team id to delegate the domain to, repeatable")
	f.BoolVar(&suspended, "suspended", false, "register it suspended")
	return cmd
}

func newDomainDelegateCmd(g *globals) *cobra.Command {
	var team string
	var remove, approve, reject bool
	cmd := apiCmd(g, apiSpec{use: "delegate ID --team TEAM", short: "Delegate a domain to a team (or --approve, --reject, --remove a delegation)",
		args: cobra.ExactArgs(1), view: domainView,
		build: func(_ *cobra.Command, a []string) (request, error) {
			p := domainsPath + "/" + esc(a[0]) + "/delegations"
			switch {
			case remove:
				return request{method: http.MethodDelete, path: p + "/" + esc(team)}, nil
			case approve:
				return request{method: http.MethodPost, path: p + "/" + esc(team) + "/approve"}, nil
			case reject:
				return request{method: http.MethodPost, path: p + "/" + esc(team) + "/reject"}, nil
			}
			return request{method: http.MethodPost, path: p, body: map[string]any{"team": team}}, nil
		}})
	f := cmd.Flags()
	f.StringVar(&team, "team", "", "team id (required)")
	f.BoolVar(&remove, "remove", false, "withdraw the team's delegation")
	f.BoolVar(&approve, "approve", false, "approve the team's requested delegation")
	f.BoolVar(&reject, "reject", false, "reject the team's requested delegation")
	_ = cmd.MarkFlagRequired("team")
	cmd.MarkFlagsMutuallyExclusive("remove", "approve", "reject")
	return cmd
}

// newDomainValidateCmd is start or submit; only submit takes --email (the
// start endpoint refuses fields it does not know).
func newDomainValidateCmd(g *globals, use, short, suffix string, withEmail bool) *cobra.Command {
	var method, email string
	cmd := apiCmd(g, apiSpec{use: use + " ID --method METHOD", short: short, args: cobra.ExactArgs(1), view: domainView,
		build: func(_ *cobra.Command, a []string) (request, error) {
			body := map[string]any{"method": method}
			if withEmail {
				body["email"] = email
			}
			return request{method: http.MethodPost, path: domainsPath + "/" + esc(a[0]) + "/" + suffix, body: body}, nil
		}})
	f := cmd.Flags()
	f.StringVar(&method, "method", "", "http, https, cname, txt or email (required)")
	if withEmail {
		f.StringVar(&email, "email", "", "with --method email: the address to mail the code to (admin@, hostmaster@, ... of the domain)")
	}
	_ = cmd.MarkFlagRequired("method")
	return cmd
}
