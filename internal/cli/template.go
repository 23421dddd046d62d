package cli

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/spf13/cobra"
)

const templatesPath = "/api/v1/templates"

var templateView = view{
	cols: []column{{"ID", "id"}, {"NAME", "name"}, {"MAX DAYS", "spec.max_validity_days"}, {"EKUS", "spec.ext_key_usages"},
		{"KEYGEN", "spec.allow_key_generation"}, {"DESCRIPTION", "description"}},
	detail: []column{{"ID", "id"}, {"NAME", "name"}, {"DESCRIPTION", "description"}, {"MAX DAYS", "spec.max_validity_days"},
		{"KEY TYPES", "spec.key_types"}, {"SUBJECT", "spec.subject"}, {"SANS", "spec.sans"}, {"KEY USAGES", "spec.key_usages"},
		{"EKUS", "spec.ext_key_usages"}, {"WILDCARD", "spec.allow_wildcard"}, {"KEYGEN", "spec.allow_key_generation"},
		{"CREATED", "created_at"}, {"UPDATED", "updated_at"}},
}

func newTemplateCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "template", Short: "Manage templates: what a certificate may contain"}
	cmd.AddCommand(
		listCmd(g, listSpec{short: "List templates", path: templatesPath, view: templateView}),
		getCmd(g, "Show a template (id or name)", templatesPath, templateView),
		newTemplateWriteCmd(g, false),
		newTemplateWriteCmd(g, true),
		deleteCmd(g, "Delete a template no profile uses", templatesPath, "template"),
	)
	return cmd
}

// templateFlags are the flags of template create and update.
type templateFlags struct {
	name, description, specFile, org string
}

// apply sets the fields whose flags were given.
func (f *templateFlags) apply(cmd *cobra.Command, body map[string]any) error {
	flags := cmd.Flags()
	if flags.Changed("name") {
		body["name"] = f.name
	}
	if flags.Changed("description") {
		body["description"] = f.description
	}
	if flags.Changed("org") {
		body["org"] = f.org
	}
	if flags.Changed("spec") {
		spec, err := readInput(cmd.InOrStdin(), f.specFile, maxSmallFile)
		if err != nil {
			return fmt.Errorf("--spec: %w", err)
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(spec, &obj); err != nil {
			return fmt.Errorf("--spec %s: not a JSON object: %w", f.specFile, err)
		}
		body["spec"] = json.RawMessage(spec)
	}
	return nil
}

// newTemplateWriteCmd is `template create`, or with update `template update ID`,
// which changes only the fields given (the rest are read from the server).
func newTemplateWriteCmd(g *globals, update bool) *cobra.Command {
	var f templateFlags
	spec := apiSpec{use: "create", short: "Create a template from a JSON spec", args: cobra.NoArgs, view: templateView,
		build: func(cmd *cobra.Command, _ []string) (request, error) {
			body := map[string]any{}
			err := f.apply(cmd, body)
			return request{method: http.MethodPost, path: templatesPath, body: body}, err
		}}
	if update {
		spec.use, spec.short, spec.args = "update ID", "Change a template: name, description and/or spec", cobra.ExactArgs(1)
		spec.build = func(cmd *cobra.Command, a []string) (request, error) {
			path := templatesPath + "/" + esc(a[0])
			var cur struct {
				Name        string          `json:"name"`
				Description string          `json:"description"`
				Spec        json.RawMessage `json:"spec"`
			}
			if err := currentState(cmd, g, path, &cur); err != nil {
				return request{}, err
			}
			body := map[string]any{"name": cur.Name, "description": cur.Description, "spec": cur.Spec}
			err := f.apply(cmd, body)
			return request{method: http.MethodPut, path: path, body: body}, err
		}
	}
	cmd := apiCmd(g, spec)
	cmd.Flags().StringVar(&f.name, "name", "", "template name")
	cmd.Flags().StringVar(&f.description, "description", "", "description")
	cmd.Flags().StringVar(&f.specFile, "spec", "", "JSON file with the constraints (- for stdin): key_types, subject, sans, key_usages, ext_key_usages, max_validity_days, ...")
	if !update {
		cmd.Flags().StringVar(&f.org, "org", "", "organization id or name the new object belongs to (global principals; default: yours)")
		_ = cmd.MarkFlagRequired("name")
		_ = cmd.MarkFlagRequired("spec")
	} else {
		cmd.MarkFlagsOneRequired("name", "description", "spec")
	}
	return cmd
}

// currentState reads an object an update starts from.
func currentState(cmd *cobra.Command, g *globals, path string, v any) error {
	c, err := newClient(g, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	return c.getJSON(cmd.Context(), path, v)
}
