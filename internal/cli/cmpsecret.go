package cli

import (
	"net/http"

	"github.com/spf13/cobra"
)

const cmpSecretsPath = "/api/v1/cmp/secrets"

var cmpSecretView = view{
	cols: []column{{"REFERENCE", "reference"}, {"PROFILE", "profile_id"}, {"NAME", "name"}, {"STATUS", "status"}, {"EXPIRES", "expires_at"}},
	detail: []column{{"REFERENCE", "reference"}, {"PROFILE", "profile_id"}, {"NAME", "name"}, {"STATUS", "status"},
		{"EXPIRES", "expires_at"}, {"USED", "used_at"}, {"TRANSACTION", "transaction"}, {"CREATED BY", "created_by"}, {"CREATED", "created_at"}},
}

// newCMPSecretCmd manages the shared secrets CMP clients protect their
// messages with (openssl cmp -ref REFERENCE -secret pass:SECRET).
func newCMPSecretCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "cmp-secret", Short: "Manage one-time CMP shared secrets (reference + secret for MAC-protected enrollment)"}
	cmd.AddCommand(
		newCMPSecretCreateCmd(g),
		listCmd(g, listSpec{short: "List CMP shared secrets (never their values)", path: cmpSecretsPath, view: cmpSecretView}),
		getCmd(g, "Show a CMP shared secret", cmpSecretsPath, cmpSecretView),
		deleteCmd(g, "Delete a CMP shared secret", cmpSecretsPath, "CMP shared secret"),
	)
	return cmd
}

func newCMPSecretCreateCmd(g *globals) *cobra.Command {
	var profile, name string
	var ttlHours int
	cmd := &cobra.Command{Use: "create", Short: "Create a one-time CMP shared secret (its value is shown only once)", Args: cobra.NoArgs,
		Example: "  signet cmp-secret create --profile tls-server --name router7 --ttl-hours 48",
		RunE: func(cmd *cobra.Command, _ []string) error {
			body := map[string]any{"profile": profile, "name": name, "ttl_hours": ttlHours}
			raw, err := g.call(cmd, request{method: http.MethodPost, path: cmpSecretsPath, body: body})
			if err != nil {
				return err
			}
			return printOnce(cmd, g.output, raw, cmpSecretView, "secret",
				"This secret is shown only now and works for one enrollment: openssl cmp -ref <reference> -secret pass:<secret>.")
		}}
	f := cmd.Flags()
	f.StringVar(&profile, "profile", "", "profile the secret enrolls with (required)")
	f.StringVar(&name, "name", "", "a note: which device it is for")
	f.IntVar(&ttlHours, "ttl-hours", 0, "lifetime in hours (default 168)")
	_ = cmd.MarkFlagRequired("profile")
	return cmd
}
