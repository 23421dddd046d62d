package cli

import (
	"net/http"

	"github.com/spf13/cobra"
)

const enrollSecretsPath = "/api/v1/enrollment-secrets"

var enrollSecretView = view{
	cols: []column{{"ID", "id"}, {"PROFILE", "profile"}, {"PROTOCOL", "protocol"}, {"SUBJECT", "subject"}, {"NAME", "name"},
		{"STATUS", "status"}, {"EXPIRES", "expires_at"}},
	detail: []column{{"ID", "id"}, {"PROFILE", "profile"}, {"PROTOCOL", "protocol"}, {"SUBJECT", "subject"}, {"NAME", "name"},
		{"STATUS", "status"}, {"EXPIRES", "expires_at"}, {"USED", "used_at"}, {"CREATED BY", "created_by"}, {"CREATED", "created_at"}},
}

func newEnrollSecretCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "enrollment-secret", Short: "Manage one-time enrollment secrets for EST, SCEP and CMP devices"}
	cmd.AddCommand(
		newEnrollSecretCreateCmd(g),
		listCmd(g, listSpec{short: "List enrollment secrets (never their values)", path: enrollSecretsPath, view: enrollSecretView}),
		getCmd(g, "Show an enrollment secret", enrollSecretsPath, enrollSecretView),
		deleteCmd(g, "Delete an enrollment secret", enrollSecretsPath, "enrollment secret"),
	)
	return cmd
}

func newEnrollSecretCreateCmd(g *globals) *cobra.Command {
	var profile, protocol, subject, name, expiresIn string
	cmd := &cobra.Command{Use: "create", Short: "Create a one-time enrollment secret (its value is shown only once)", Args: cobra.NoArgs,
		Example: "  signet enrollment-secret create --profile tls-server --protocol scep --subject router7.example.com --expires-in 7d",
		RunE: func(cmd *cobra.Command, _ []string) error {
			body := map[string]any{"profile": profile, "protocol": protocol, "subject": subject, "name": name}
			if expiresIn != "" {
				d, err := parseLifetime(expiresIn)
				if err != nil {
					return usagef("--expires-in %q: %v", expiresIn, err)
				}
				body["expires_in"] = int64(d.Seconds())
			}
			raw, err := g.call(cmd, request{method: http.MethodPost, path: enrollSecretsPath, body: body})
			if err != nil {
				return err
			}
			return printOnce(cmd, g.output, raw, enrollSecretView, "secret",
				"This enrollment secret is shown only now and works once: hand it to the device.")
		}}
	f := cmd.Flags()
	f.StringVar(&profile, "profile", "", "profile the secret enrolls with (required)")
	f.StringVar(&protocol, "protocol", "", "est or scep (default: either; CMP has its own secrets: signet cmp-secret)")
	f.StringVar(&subject, "subject", "", "the only common name the CSR may carry (default: any)")
	f.StringVar(&name, "name", "", "a note: which device it is for")
	f.StringVar(&expiresIn, "expires-in", "", "lifetime, e.g. 24h or 7d (default 7d)")
	_ = cmd.MarkFlagRequired("profile")
	return cmd
}
