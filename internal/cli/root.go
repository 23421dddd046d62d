// Package cli is the `signet` command: the server (`serve`) and a client
// for every operation of the REST API, with table, JSON or PEM output.
package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// globals are the flags every client command shares.
type globals struct {
	server  string
	apiKey  string
	caCert  string
	output  string
	timeout time.Duration
}

// NewRoot builds the whole command tree.
func NewRoot() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "signet",
		Short:         "Signet: private CA and certificate lifecycle manager",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			switch g.output {
			case "table", "json", "pem":
				return nil
			}
			return fmt.Errorf("--output must be table, json or pem")
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.server, "server", envOr("SIGNET_SERVER", "https://127.0.0.1:8443"), "Signet server URL (SIGNET_SERVER)")
	pf.StringVar(&g.apiKey, "api-key", os.Getenv("SIGNET_API_KEY"), "API key (SIGNET_API_KEY)")
	pf.StringVar(&g.caCert, "ca-cert", os.Getenv("SIGNET_CA_CERT"), "PEM file of the CA that signed the server's HTTPS certificate (SIGNET_CA_CERT; default ./signet-data/ca-root.pem if present)")
	pf.StringVarP(&g.output, "output", "o", "table", "output format: table, json or pem")
	pf.DurationVar(&g.timeout, "timeout", defaultTimeout(), "request timeout")
	root.AddCommand(newServeCmd(), newCertCmd(g), newCACmd(g), newTemplateCmd(g), newProfileCmd(g),
		newRequestCmd(g), newAPIKeyCmd(g), newMeCmd(g))
	return root
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// column picks one field of an API object for table output.
type column struct {
	header string
	path   string // dotted path into the JSON object
}

// printResult renders v: JSON as the API returned it, or a table of cols.
// Lists ({"items": [...]}) print one row per item.
func printResult(w io.Writer, g *globals, v any, cols []column) error {
	if g.output == "json" || cols == nil {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(w, string(b))
		return err
	}
	if g.output == "pem" {
		return printPEM(w, v)
	}
	rows := []any{v}
	var next string
	if m, ok := v.(map[string]any); ok {
		if items, ok := m["items"].([]any); ok {
			rows = items
			next, _ = m["next_cursor"].(string)
			if total, ok := m["total"].(float64); ok {
				defer fmt.Fprintf(w, "total: %d\n", int64(total))
			}
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	headers := make([]string, len(cols))
	for i, c := range cols {
		headers[i] = c.header
	}
	fmt.Fprintln(tw, strings.Join(headers, "\t"))
	for _, r := range rows {
		cells := make([]string, len(cols))
		for i, c := range cols {
			cells[i] = field(r, c.path)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if next != "" {
		fmt.Fprintf(w, "more: --cursor %s\n", next)
	}
	return nil
}

// field reads a dotted path from a decoded JSON value as display text.
func field(v any, path string) string {
	for _, p := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[p]
	}
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return fmt.Sprintf("%g", x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = fmt.Sprint(e)
		}
		return strings.Join(parts, ",")
	default:
		return fmt.Sprint(x)
	}
}

// printPEM prints every certificate_pem/chain_pem found in v.
func printPEM(w io.Writer, v any) error {
	var out []string
	var walk func(any)
	walk = func(x any) {
		switch t := x.(type) {
		case map[string]any:
			for _, k := range []string{"certificate_pem", "chain_pem"} {
				if s, ok := t[k].(string); ok && s != "" {
					out = append(out, s)
				}
			}
			for k, e := range t {
				if k != "certificate_pem" && k != "chain_pem" {
					walk(e)
				}
			}
		case []any:
			for _, e := range t {
				walk(e)
			}
		}
	}
	walk(v)
	if len(out) == 0 {
		return fmt.Errorf("the response holds no certificate to print as PEM")
	}
	_, err := fmt.Fprint(w, strings.Join(out, ""))
	return err
}

// simple builds a command that makes one API call and prints the result.
func simple(g *globals, use, short string, args cobra.PositionalArgs, cols []column,
	req func(cmd *cobra.Command, args []string) (method, path string, body any, err error)) *cobra.Command {
	return &cobra.Command{Use: use, Short: short, Args: args, RunE: func(cmd *cobra.Command, a []string) error {
		method, path, body, err := req(cmd, a)
		if err != nil {
			return err
		}
		c, err := newClient(g)
		if err != nil {
			return err
		}
		v, _, err := c.call(cmd.Context(), method, path, body)
		if err != nil {
			return err
		}
		if v == nil {
			fmt.Fprintln(cmd.OutOrStdout(), "done")
			return nil
		}
		return printResult(cmd.OutOrStdout(), g, v, cols)
	}}
}

func esc(s string) string { return url.PathEscape(s) }

func readFile(path string) (string, error) {
	if path == "-" {
		b, err := io.ReadAll(io.LimitReader(os.Stdin, 16<<20))
		return string(b), err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// Execute runs the CLI and returns the process exit code.
func Execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := NewRoot()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "error:", err)
		if strings.Contains(err.Error(), "unknown command") || strings.Contains(err.Error(), "unknown flag") ||
			strings.Contains(err.Error(), "accepts ") || strings.Contains(err.Error(), "required flag") {
			return 2
		}
		return 1
	}
	return 0
}
