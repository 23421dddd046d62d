package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/cobra"
)

var (
	scanView = view{detail: []column{{"ID", "id"}, {"STATUS", "status"}, {"TOTAL", "total"}, {"DONE", "done"},
		{"REACHABLE", "reachable"}, {"NEW CERTIFICATES", "certificates"}, {"ERRORS", "errors"}}}
	endpointView = view{cols: []column{{"ID", "id"}, {"HOST", "host"}, {"PORT", "port"}, {"GRADE", "grade"},
		{"CERTIFICATE", "certificate_sha256"}, {"LAST SCAN", "last_scan"}, {"ERROR", "error"}},
		detail: []column{{"ID", "id"}, {"HOST", "host"}, {"PORT", "port"}, {"SERVER NAME", "server_name"}, {"GRADE", "grade"},
			{"CERTIFICATE", "certificate_sha256"}, {"FIRST SEEN", "first_seen"}, {"LAST SEEN", "last_seen"},
			{"LAST SCAN", "last_scan"}, {"ERROR", "error"}}}
)

func newDiscoveryCmd(g *globals) *cobra.Command {
	var targets []string
	var ports []int
	var org string
	var noWait bool
	scan := &cobra.Command{Use: "scan", Short: "Scan hosts, addresses or CIDR ranges for TLS endpoints and grade them", Args: cobra.NoArgs,
		Example: "  signet discovery scan --target 10.0.0.0/24 --port 443 --port 8443",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(targets) == 0 {
				return usagef("--target is required")
			}
			raw, err := g.call(cmd, request{method: http.MethodPost, path: "/api/v1/discovery/scans",
				body: map[string]any{"targets": targets, "ports": ports, "org": org}})
			if err != nil {
				return err
			}
			for !noWait {
				var job struct {
					ID     string `json:"id"`
					Status string `json:"status"`
				}
				if err := json.Unmarshal(raw, &job); err != nil {
					return fmt.Errorf("read scan: %w", err)
				}
				if job.Status == "done" {
					break
				}
				select {
				case <-cmd.Context().Done():
					return cmd.Context().Err()
				case <-time.After(500 * time.Millisecond):
				}
				if raw, err = g.call(cmd, request{method: http.MethodGet, path: "/api/v1/discovery/scans/" + url.PathEscape(job.ID)}); err != nil {
					return err
				}
			}
			return render(cmd.OutOrStdout(), g.output, raw, scanView)
		}}
	f := scan.Flags()
	f.StringArrayVar(&targets, "target", nil, "host name, address or CIDR range (repeatable)")
	f.IntSliceVar(&ports, "port", nil, "port (repeatable; default 443, 8443, 636, 993, 995, 465, 587)")
	f.StringVar(&org, "org", "", "organization the findings belong to (global principals)")
	f.BoolVar(&noWait, "no-wait", false, "return at once instead of waiting for the scan to finish")
	cmd := &cobra.Command{Use: "discovery", Short: "Find and grade TLS endpoints and the certificates they serve"}
	cmd.AddCommand(scan)
	return cmd
}

func newEndpointCmd(g *globals) *cobra.Command {
	const path = "/api/v1/endpoints"
	var grade string
	cmd := &cobra.Command{Use: "endpoint", Short: "Scanned TLS endpoints"}
	cmd.AddCommand(listCmd(g, listSpec{short: "List scanned endpoints", path: path, view: endpointView,
		flags: func(c *cobra.Command) { c.Flags().StringVar(&grade, "grade", "", "only this grade (A+, A, B, C, F)") },
		query: func(q url.Values) error {
			if grade != "" {
				q.Set("grade", grade)
			}
			return nil
		}}), getCmd(g, "Show an endpoint with its rating (-o json for every detail)", path, endpointView))
	return cmd
}
