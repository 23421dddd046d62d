package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// column picks one field of an API object for table output.
type column struct {
	header string
	path   string // dotted path into the JSON object
}

// view says how a command's JSON answer is shown as a table or as PEM.
type view struct {
	cols   []column         // list rows; for a single object, the fields shown
	detail []column         // fields of a single object, when they differ from cols
	pem    func(any) string // the PEM in an answer; nil when there is none
}

var errNoPEM = &usageError{err: errors.New("-o pem: this command returns no certificate; use -o table or -o json")}

// emptyCell stands in for a missing value so columns stay aligned for awk.
const emptyCell = "-"

// render prints raw (the API's JSON answer) in the chosen output format.
func render(w io.Writer, output string, raw []byte, v view) error {
	if output == outJSON {
		return printJSON(w, raw)
	}
	val, err := decode(raw)
	if err != nil {
		return err
	}
	if output == outPEM {
		if v.pem == nil {
			return errNoPEM
		}
		text := v.pem(val)
		if text == "" {
			return fmt.Errorf("the answer holds no certificate to print as PEM")
		}
		_, err := io.WriteString(w, text)
		return err
	}
	if m, ok := val.(map[string]any); ok {
		if items, ok := m["items"].([]any); ok {
			return printList(w, items, m, v.cols)
		}
	}
	cols := v.detail
	if cols == nil {
		cols = v.cols
	}
	return printDetail(w, val, cols)
}

// printJSON pretty-prints the API's JSON exactly as it was sent.
func printJSON(w io.Writer, raw []byte) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, bytes.TrimSpace(raw), "", "  "); err != nil {
		return fmt.Errorf("format JSON: %w", err)
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

// printList prints one aligned row per item, then the paging hints.
func printList(w io.Writer, items []any, page map[string]any, cols []column) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	headers := make([]string, len(cols))
	for i, c := range cols {
		headers[i] = c.header
	}
	fmt.Fprintln(tw, strings.Join(headers, "\t"))
	for _, item := range items {
		cells := make([]string, len(cols))
		for i, c := range cols {
			cells[i] = cell(item, c.path)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if total := field(page, "total"); total != "" {
		fmt.Fprintf(w, "total: %s\n", total)
	}
	if next := field(page, "next_cursor"); next != "" {
		fmt.Fprintf(w, "more: --cursor %s (or --all)\n", next)
	}
	return nil
}

// printDetail prints one object as aligned "FIELD  value" lines.
func printDetail(w io.Writer, obj any, cols []column) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range cols {
		fmt.Fprintf(tw, "%s\t%s\n", c.header, cell(obj, c.path))
	}
	return tw.Flush()
}

func cell(v any, path string) string {
	s := field(v, path)
	if s == "" {
		return emptyCell
	}
	return strings.NewReplacer("\t", " ", "\n", " ").Replace(s)
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
	return text(v)
}

// text renders a decoded JSON value for a table cell.
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return shortTime(x)
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			if s := text(e); s != "" {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, ",")
	case map[string]any:
		b, _ := json.Marshal(x)
		return string(b)
	default:
		return fmt.Sprint(x)
	}
}

// shortTime drops the fraction of a second from RFC 3339 times; other text
// is returned as is.
func shortTime(s string) string {
	if len(s) < len("2006-01-02T15:04:05Z") || s[4] != '-' || s[10] != 'T' {
		return s
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return t.UTC().Format(time.RFC3339)
}

// pemField returns the PEM at path, or for a list the PEM of every item in order.
func pemField(path string) func(any) string {
	return func(v any) string {
		if m, ok := v.(map[string]any); ok {
			if items, ok := m["items"].([]any); ok {
				var b strings.Builder
				for _, it := range items {
					b.WriteString(withNewline(field(it, path)))
				}
				return b.String()
			}
		}
		return withNewline(field(v, path))
	}
}

// pemFields concatenates several PEM fields of one object, in order.
func pemFields(paths ...string) func(any) string {
	return func(v any) string {
		var b strings.Builder
		for _, p := range paths {
			b.WriteString(withNewline(field(v, p)))
		}
		return b.String()
	}
}

func withNewline(s string) string {
	if s != "" && !strings.HasSuffix(s, "\n") {
		return s + "\n"
	}
	return s
}
