package cli

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/spf13/cobra"
)

// newReportCmd is `signet report KIND`: the server builds it, the CLI saves or prints it.
func newReportCmd(g *globals) *cobra.Command {
	var format, out string
	var days int
	cmd := &cobra.Command{Use: "report KIND", Short: "Reports: expiring, breakdown, weak, revocations, volume", Args: cobra.ExactArgs(1),
		Example: "  signet report expiring --days 30 --format csv --out expiring.csv\n  signet report breakdown --format html --out inventory.html",
		RunE: func(cmd *cobra.Command, a []string) error {
			q := url.Values{"format": {format}}
			if days > 0 {
				q.Set("days", strconv.Itoa(days))
			}
			return download(cmd, g, request{method: http.MethodGet, path: "/api/v1/reports/" + esc(a[0]), query: q}, out)
		}}
	cmd.Flags().StringVar(&format, "format", "csv", "json, csv or html")
	cmd.Flags().IntVar(&days, "days", 0, "window in days (expiring: ahead, default 30; revocations and volume: back, default 90)")
	cmd.Flags().StringVar(&out, "out", "", "write to this file instead of standard output")
	return cmd
}
