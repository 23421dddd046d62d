package cli

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
)

const requestsPath = "/api/v1/requests"

var requestView = view{
	cols: []column{{"ID", "id"}, {"STATUS", "status"}, {"KIND", "kind"}, {"PROFILE", "profile_id"}, {"REQUESTER", "requester_id"},
		{"SERIAL", "certificate_serial"}, {"CREATED", "created_at"}},
	detail: []column{{"ID", "id"}, {"STATUS", "status"}, {"KIND", "kind"}, {"PROFILE", "profile_id"}, {"REQUESTER", "requester_id"},
		{"OWNER", "owner"}, {"VALIDITY DAYS", "validity_days"}, {"RENEWAL OF", "renewal_of"}, {"SERIAL", "certificate_serial"},
		{"REASON", "reason"}, {"DECIDED BY", "decided_by"}, {"DECIDED AT", "decided_at"}, {"CREATED", "created_at"},
		{"UPDATED", "updated_at"}},
}

func newRequestCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "request", Short: "See and decide certificate requests"}
	var status, profile, reason string
	list := listCmd(g, listSpec{short: "List requests", path: requestsPath, view: requestView,
		flags: func(c *cobra.Command) {
			c.Flags().StringVar(&status, "status", "", "pending, approved, issued, rejected or failed")
			c.Flags().StringVar(&profile, "profile", "", "profile id or name")
		},
		query: func(q url.Values) error {
			if status != "" {
				q.Set("status", status)
			}
			if profile != "" {
				q.Set("profile", profile)
			}
			return nil
		}})
	approve := &cobra.Command{Use: "approve ID", Short: "Approve a pending request and issue its certificate", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, a []string) error {
			return enroll(c, g, nil, request{method: http.MethodPost, path: requestsPath + "/" + esc(a[0]) + "/approve"})
		}}
	reject := apiCmd(g, apiSpec{use: "reject ID", short: "Reject a pending request with a reason", args: cobra.ExactArgs(1),
		view: requestView, build: func(_ *cobra.Command, a []string) (request, error) {
			if strings.TrimSpace(reason) == "" {
				return request{}, usagef("--reason must not be empty")
			}
			return request{method: http.MethodPost, path: requestsPath + "/" + esc(a[0]) + "/reject",
				body: map[string]string{"reason": reason}}, nil
		}})
	reject.Flags().StringVar(&reason, "reason", "", "why the request is rejected (required)")
	_ = reject.MarkFlagRequired("reason")
	cmd.AddCommand(list, getCmd(g, "Show a request", requestsPath, requestView), approve, reject)
	return cmd
}
