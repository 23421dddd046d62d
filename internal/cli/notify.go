package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"

	"github.com/spf13/cobra"
)

var (
	ruleView = view{cols: []column{{"ID", "id"}, {"NAME", "name"}, {"EVENT", "event"}, {"ENABLED", "enabled"}, {"CREATED", "created_at"}},
		detail: []column{{"ID", "id"}, {"NAME", "name"}, {"EVENT", "event"}, {"ENABLED", "enabled"}, {"SPEC", "spec"}}}
	notificationView = view{cols: []column{{"ID", "id"}, {"CHANNEL", "channel"}, {"TARGET", "target"}, {"STATUS", "status"},
		{"ATTEMPTS", "attempts"}, {"LAST ERROR", "last_error"}, {"CREATED", "created_at"}}}
)

func newNotifyCmd(g *globals) *cobra.Command {
	const rules = "/api/v1/notification-rules"
	var file string
	create := apiCmd(g, apiSpec{use: "create-rule", short: "Create a notification rule from a JSON file (see the API docs)", args: cobra.NoArgs, view: ruleView,
		build: func(_ *cobra.Command, _ []string) (request, error) {
			b, err := os.ReadFile(file)
			if err != nil {
				return request{}, err
			}
			var body map[string]any
			if err := json.Unmarshal(b, &body); err != nil {
				return request{}, fmt.Errorf("%s: %w", file, err)
			}
			return request{method: http.MethodPost, path: rules, body: body}, nil
		}})
	create.Example = `  echo '{"name":"expiry","event":"certificate.expiring","spec":{"thresholds":[30,7,1],"recipients":{"owner":true}}}' > r.json
  signet notify create-rule --file r.json`
	create.Flags().StringVar(&file, "file", "", "rule as JSON: name, event, spec (required)")
	_ = create.MarkFlagRequired("file")
	cmd := &cobra.Command{Use: "notify", Short: "Expiry and event notifications (email, webhooks)"}
	rulesCmd := listCmd(g, listSpec{short: "List notification rules", path: rules, view: ruleView})
	rulesCmd.Use = "rules"
	sent := listCmd(g, listSpec{short: "List queued and sent notifications", path: "/api/v1/notifications", view: notificationView})
	cmd.AddCommand(rulesCmd, sent, create, deleteCmd(g, "Delete a notification rule", rules, "notification rule"))
	return cmd
}
