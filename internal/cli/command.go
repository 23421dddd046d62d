package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/spf13/cobra"
)

// apiSpec describes a command that makes one API call and prints the answer.
type apiSpec struct {
	use, short string
	args       cobra.PositionalArgs
	view       view
	done       string // printed when the answer is empty (%s is the first argument)
	build      func(cmd *cobra.Command, args []string) (request, error)
}

// apiCmd builds the command apiSpec describes.
func apiCmd(g *globals, s apiSpec) *cobra.Command {
	return &cobra.Command{Use: s.use, Short: s.short, Args: s.args, RunE: func(cmd *cobra.Command, args []string) error {
		if err := g.supports(s.view); err != nil {
			return err
		}
		req, err := s.build(cmd, args)
		if err != nil {
			return err
		}
		raw, err := g.call(cmd, req)
		if err != nil {
			return err
		}
		if len(bytes.TrimSpace(raw)) == 0 {
			if g.output != outJSON && s.done != "" {
				arg := ""
				if len(args) > 0 {
					arg = args[0]
				}
				fmt.Fprintf(cmd.OutOrStdout(), s.done+"\n", arg)
			}
			return nil
		}
		return render(cmd.OutOrStdout(), g.output, raw, s.view)
	}}
}

// supports rejects -o pem, before any request, for answers without certificates.
func (g *globals) supports(v view) error {
	if g.output == outPEM && v.pem == nil {
		return errNoPEM
	}
	return nil
}

// call makes one JSON API call with the global settings.
func (g *globals) call(cmd *cobra.Command, req request) ([]byte, error) {
	c, err := newClient(g, cmd.ErrOrStderr())
	if err != nil {
		return nil, err
	}
	return c.json(cmd.Context(), req)
}

// getCmd is `<noun> get ID`.
func getCmd(g *globals, short, prefix string, v view) *cobra.Command {
	return apiCmd(g, apiSpec{use: "get ID", short: short, args: cobra.ExactArgs(1), view: v,
		build: func(_ *cobra.Command, a []string) (request, error) {
			return request{method: http.MethodGet, path: prefix + "/" + esc(a[0])}, nil
		}})
}

// postCmd is `<noun> <verb> ID` posting to prefix/ID/suffix with no body.
func postCmd(g *globals, use, short, prefix, suffix string, v view) *cobra.Command {
	return apiCmd(g, apiSpec{use: use, short: short, args: cobra.ExactArgs(1), view: v,
		build: func(_ *cobra.Command, a []string) (request, error) {
			return request{method: http.MethodPost, path: prefix + "/" + esc(a[0]) + "/" + suffix}, nil
		}})
}

// deleteCmd is `<noun> delete ID`.
func deleteCmd(g *globals, short, prefix, noun string) *cobra.Command {
	return apiCmd(g, apiSpec{use: "delete ID", short: short, args: cobra.ExactArgs(1), done: noun + " %s deleted",
		build: func(_ *cobra.Command, a []string) (request, error) {
			return request{method: http.MethodDelete, path: prefix + "/" + esc(a[0])}, nil
		}})
}

// listSpec describes a paged listing.
type listSpec struct {
	short string
	path  string
	view  view
	// flags registers filters; query adds them to the first page's query.
	flags func(cmd *cobra.Command)
	query func(q url.Values) error
}

// listFlags are the paging flags every list takes.
type listFlags struct {
	limit  int
	cursor string
	all    bool
}

// listCmd is `<noun> list`: one page, or every page with --all.
func listCmd(g *globals, s listSpec) *cobra.Command {
	var lf listFlags
	cmd := &cobra.Command{Use: "list", Short: s.short, Args: cobra.NoArgs, RunE: func(cmd *cobra.Command, _ []string) error {
		if err := g.supports(s.view); err != nil {
			return err
		}
		q := url.Values{}
		if s.query != nil {
			if err := s.query(q); err != nil {
				return err
			}
		}
		if lf.limit != 0 {
			q.Set("limit", strconv.Itoa(lf.limit))
		}
		if lf.cursor != "" {
			q.Set("cursor", lf.cursor)
		}
		c, err := newClient(g, cmd.ErrOrStderr())
		if err != nil {
			return err
		}
		raw, err := fetchPages(cmd, c, s.path, q, lf.all)
		if err != nil {
			return err
		}
		return render(cmd.OutOrStdout(), g.output, raw, s.view)
	}}
	f := cmd.Flags()
	f.IntVar(&lf.limit, "limit", 0, "page size, 1-1000 (default: the server's, 100)")
	f.StringVar(&lf.cursor, "cursor", "", "continue from the next_cursor of a previous page")
	f.BoolVar(&lf.all, "all", false, "follow next_cursor and list every page")
	if s.flags != nil {
		s.flags(cmd)
	}
	return cmd
}

// pageJSON is the envelope of every list, with items kept as sent.
type pageJSON struct {
	Items      []json.RawMessage `json:"items"`
	NextCursor string            `json:"next_cursor,omitempty"`
	Total      *json.Number      `json:"total,omitempty"`
}

// fetchPages returns the first page, or with all every page merged into one.
func fetchPages(cmd *cobra.Command, c *client, path string, q url.Values, all bool) ([]byte, error) {
	raw, err := c.json(cmd.Context(), request{method: http.MethodGet, path: path, query: q})
	if err != nil || !all {
		return raw, err
	}
	var merged pageJSON
	if err := json.Unmarshal(raw, &merged); err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	seen := map[string]bool{}
	for merged.NextCursor != "" && !seen[merged.NextCursor] {
		seen[merged.NextCursor] = true
		q.Set("cursor", merged.NextCursor)
		q.Del("total") // counted once, on the first page
		raw, err := c.json(cmd.Context(), request{method: http.MethodGet, path: path, query: q})
		if err != nil {
			return nil, err
		}
		var p pageJSON
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, fmt.Errorf("decode %s: %w", path, err)
		}
		merged.Items = append(merged.Items, p.Items...)
		merged.NextCursor = p.NextCursor
	}
	merged.NextCursor = ""
	if merged.Items == nil {
		merged.Items = []json.RawMessage{}
	}
	return json.Marshal(merged)
}

func esc(s string) string { return url.PathEscape(s) }
