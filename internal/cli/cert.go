package cli

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
)

const certsPath = "/api/v1/certificates"

var certView = view{
	cols: []column{{"SERIAL", "serial"}, {"COMMON NAME", "common_name"}, {"SANS", "sans"}, {"STATUS", "status"},
		{"NOT AFTER", "not_after"}, {"OWNER", "owner"}, {"SOURCE", "source"}},
	detail: []column{{"SERIAL", "serial"}, {"STATUS", "status"}, {"COMMON NAME", "common_name"}, {"SANS", "sans"},
		{"SUBJECT", "subject"}, {"ISSUER", "issuer"}, {"KEY TYPE", "key_type"}, {"NOT BEFORE", "not_before"},
		{"NOT AFTER", "not_after"}, {"SHA256", "sha256"}, {"OWNER", "owner"}, {"SOURCE", "source"}, {"CA", "ca_id"},
		{"PROFILE", "profile_id"}, {"REQUEST", "request_id"}, {"REVOCATION REASON", "revocation_reason"},
		{"REVOKED AT", "revoked_at"}, {"RENEWED FROM", "renewed_from"}, {"RENEWED BY", "renewed_by"}},
	pem: pemField("certificate_pem"),
}

func newCertCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "cert", Short: "Issue, find, renew, revoke, download, import and delete certificates"}
	cmd.AddCommand(
		newCertIssueCmd(g),
		newCertListCmd(g),
		getCmd(g, "Show a certificate by serial", certsPath, certView),
		newCertDownloadCmd(g),
		newCertRenewCmd(g),
		newCertRevokeCmd(g),
		postCmd(g, "suspend SERIAL", "Put a certificate on hold (certificateHold)", certsPath, "suspend", certView),
		postCmd(g, "resume SERIAL", "Take a certificate off hold", certsPath, "resume", certView),
		newCertImportCmd(g),
		apiCmd(g, apiSpec{use: "delete SERIAL", short: "Delete an imported or discovered certificate from the inventory (Signet's own stay: revoke those)",
			args: cobra.ExactArgs(1), done: "certificate %s deleted",
			build: func(_ *cobra.Command, a []string) (request, error) {
				return request{method: http.MethodDelete, path: certsPath + "/" + esc(a[0])}, nil
			}}),
		apiCmd(g, apiSpec{use: "summary", short: "Counts by status, expiry window and CA", args: cobra.NoArgs,
			view: view{cols: []column{{"TOTAL", "total"}, {"ACTIVE", "by_status.active"}, {"EXPIRED", "by_status.expired"},
				{"REVOKED", "by_status.revoked"}, {"ON HOLD", "by_status.on_hold"}, {"EXPIRING 7D", "expiring.7d"},
				{"EXPIRING 30D", "expiring.30d"}, {"EXPIRING 90D", "expiring.90d"}, {"BY CA", "by_ca"}}},
			build: func(_ *cobra.Command, _ []string) (request, error) {
				return request{method: http.MethodGet, path: certsPath + "/summary"}, nil
			}}),
	)
	return cmd
}

// certFilters maps cert list flags to inventory query parameters.
var certFilters = []struct{ flag, param, help string }{
	{"status", "status", "active, expired, revoked or on_hold (comma-separated)"},
	{"ca", "ca", "issuing CA id or name"},
	{"profile", "profile", "profile id or name"},
	{"owner", "owner", "owner"},
	{"q", "q", "text the common name or a SAN contains"},
	{"name", "name", "exact common name or SAN"},
	{"serial", "serial", "serial number"},
	{"sha256", "sha256", "SHA-256 thumbprint"},
	{"source", "source", "issued, imported or discovered"},
	{"expiring", "expiring_within", "expiring within a number of days, e.g. 30d"},
	{"expires-before", "expires_before", "expiring before an RFC 3339 time, e.g. 2026-12-31T00:00:00Z"},
	{"expires-after", "expires_after", "expiring after an RFC 3339 time"},
	{"sort", "sort", "not_after, created_at or common_name; prefix - to reverse"},
}

func newCertListCmd(g *globals) *cobra.Command {
	values := make([]string, len(certFilters))
	var total bool
	return listCmd(g, listSpec{short: "Search the inventory", path: certsPath, view: certView,
		flags: func(cmd *cobra.Command) {
			for i, f := range certFilters {
				cmd.Flags().StringVar(&values[i], f.flag, "", f.help)
			}
			cmd.Flags().BoolVar(&total, "total", false, "also count every match")
		},
		query: func(q url.Values) error {
			for i, f := range certFilters {
				if values[i] != "" {
					q.Set(f.param, values[i])
				}
			}
			if total {
				q.Set("total", "true")
			}
			return nil
		}})
}

func newCertRevokeCmd(g *globals) *cobra.Command {
	var reason, invalidity string
	cmd := apiCmd(g, apiSpec{use: "revoke SERIAL", short: "Revoke a certificate with an RFC 5280 reason", args: cobra.ExactArgs(1),
		view: certView, build: func(_ *cobra.Command, a []string) (request, error) {
			body := map[string]string{}
			if reason != "" {
				body["reason"] = reason
			}
			if invalidity != "" {
				body["invalidity_date"] = invalidity
			}
			return request{method: http.MethodPost, path: certsPath + "/" + esc(a[0]) + "/revoke", body: body}, nil
		}})
	cmd.Flags().StringVar(&reason, "reason", "", "unspecified, key_compromise, ca_compromise, affiliation_changed, superseded, cessation_of_operation or privilege_withdrawn (default unspecified)")
	cmd.Flags().StringVar(&invalidity, "invalidity-date", "", "RFC 3339 time the key is known or suspected to have been compromised (CRL invalidityDate)")
	return cmd
}

var importView = view{
	cols: []column{{"SERIAL", "serial"}, {"COMMON NAME", "common_name"}, {"ISSUER", "issuer"}, {"NOT AFTER", "not_after"}, {"STATUS", "status"}},
	pem:  pemField("certificate_pem"),
}

func newCertImportCmd(g *globals) *cobra.Command {
	var owner, password string
	cmd := &cobra.Command{Use: "import FILE|DIR...", Short: "Import certificates from any issuer: PEM, DER, PKCS#7 (.p7b), PKCS#12 and Java KeyStore files, or whole directories (- for PEM on stdin)",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			var bundle []byte
			var err error
			if len(a) == 1 && a[0] == "-" {
				bundle, err = readInput(cmd.InOrStdin(), a[0], maxInputFile)
			} else {
				var notes []string
				bundle, notes, err = collectCertificates(a, password)
				for _, n := range notes {
					fmt.Fprintln(cmd.ErrOrStderr(), n)
				}
				if err == nil && len(bundle) == 0 {
					err = usagef("no certificate found in %s", strings.Join(a, ", "))
				}
			}
			if err != nil {
				return err
			}
			raw, err := g.call(cmd, request{method: http.MethodPost, path: certsPath + "/import",
				body: map[string]string{"pem": string(bundle), "owner": owner}})
			if err != nil || g.output == outJSON {
				if err == nil {
					err = printJSON(cmd.OutOrStdout(), raw)
				}
				return err
			}
			return printImport(cmd, g.output, raw)
		}}
	cmd.Flags().StringVar(&owner, "owner", "", "owner of the imported certificates (default: you)")
	cmd.Flags().StringVar(&password, "password", "", "password of PKCS#12 (.p12/.pfx) and Java KeyStore (JKS) files, used here: it is never sent")
	cmd.Flags().StringVar(&password, "pkcs12-password", "", "the same as --password")
	return cmd
}

// printImport shows the imported certificates, then what was skipped and why.
func printImport(cmd *cobra.Command, output string, raw []byte) error {
	v, err := decode(raw)
	if err != nil {
		return err
	}
	m, _ := v.(map[string]any)
	imported, _ := m["imported"].([]any)
	skipped, _ := m["skipped"].([]any)
	if output == outPEM {
		_, err := fmt.Fprint(cmd.OutOrStdout(), importView.pem(map[string]any{"items": imported}))
		return err
	}
	if err := printList(cmd.OutOrStdout(), imported, nil, importView.cols); err != nil {
		return err
	}
	for _, s := range skipped {
		fmt.Fprintf(cmd.ErrOrStderr(), "skipped %s: %s\n", cell(s, "serial"), cell(s, "reason"))
	}
	return nil
}

func newCertDownloadCmd(g *globals) *cobra.Command {
	var format, out string
	cmd := &cobra.Command{Use: "download SERIAL", Short: "Download a certificate as pem, der, chain or pkcs7 (raw bytes)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			return download(cmd, g, request{method: http.MethodGet, path: certsPath + "/" + esc(a[0]) + "/download",
				query: url.Values{"format": {format}}}, out)
		}}
	cmd.Flags().StringVar(&format, "format", "pem", "pem, der, chain (certificate and its CAs, PEM) or pkcs7")
	cmd.Flags().StringVar(&out, "out", "", "write to this file instead of standard output")
	return cmd
}

// download writes the raw answer to out, or to standard output.
func download(cmd *cobra.Command, g *globals, req request, out string) error {
	c, err := newClient(g, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	resp, err := c.do(cmd.Context(), req)
	if err != nil {
		return err
	}
	if out != "" {
		return writeFile(out, resp.body, 0o644)
	}
	_, err = cmd.OutOrStdout().Write(resp.body)
	return err
}
