package cli

import (
	"net/http"

	"github.com/spf13/cobra"
)

const profilesPath = "/api/v1/profiles"

var profileView = view{
	cols: []column{{"ID", "id"}, {"NAME", "name"}, {"TEMPLATE", "template_id"}, {"CA", "ca_id"}, {"APPROVAL", "approval"},
		{"METHODS", "enrollment_methods"}, {"STATUS", "status"}},
	detail: []column{{"ID", "id"}, {"NAME", "name"}, {"DESCRIPTION", "description"}, {"TEMPLATE", "template_id"},
		{"CA", "ca_id"}, {"ISSUER TYPE", "issuer_type"}, {"CONNECTOR", "connector"}, {"APPROVAL", "approval"}, {"DEFAULT DAYS", "default_validity_days"}, {"METHODS", "enrollment_methods"},
		{"DELIVERY", "delivery_format"}, {"STATUS", "status"}, {"CREATED", "created_at"}, {"UPDATED", "updated_at"}},
}

func newProfileCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "profile", Short: "Manage profiles: template + issuing CA + enrollment methods + approval"}
	cmd.AddCommand(
		listCmd(g, listSpec{short: "List profiles", path: profilesPath, view: profileView}),
		getCmd(g, "Show a profile (id or name)", profilesPath, profileView),
		newProfileWriteCmd(g, false),
		newProfileWriteCmd(g, true),
		deleteCmd(g, "Delete a profile", profilesPath, "profile"),
	)
	return cmd
}

// profileFlags are the flags of profile create and update.
type profileFlags struct {
	name, description, template, ca, approval, delivery, status string
	org, issuerType, connector                                  string
	methods                                                     []string
	days                                                        int
}

func (f *profileFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.name, "name", "", "profile name")
	fs.StringVar(&f.description, "description", "", "description")
	fs.StringVar(&f.template, "template", "", "template id or name")
	fs.StringVar(&f.ca, "ca", "", "issuing CA id or name (internal profiles)")
	fs.StringVar(&f.issuerType, "issuer-type", "internal", "internal (a Signet CA), external (a connector) or self_signed")
	fs.StringVar(&f.connector, "connector", "", "upstream connector id or name (external profiles)")
	fs.StringVar(&f.approval, "approval", "auto", "auto or manual")
	fs.IntVar(&f.days, "default-validity-days", 0, "default validity in days (0: the template's maximum)")
	fs.StringSliceVar(&f.methods, "methods", []string{"api"}, "enrollment methods, comma-separated: api, acme, est, scep, cmp, notary, infisical, sectigo")
	fs.StringVar(&f.delivery, "delivery-format", "pem", "pem, der, chain, pkcs7 or pkcs12")
	fs.StringVar(&f.status, "status", "active", "active or disabled")
}

// apply sets the fields whose flags were given.
func (f *profileFlags) apply(cmd *cobra.Command, body map[string]any) {
	fs := cmd.Flags()
	for flag, set := range map[string]func(){
		"name":                  func() { body["name"] = f.name },
		"description":           func() { body["description"] = f.description },
		"template":              func() { body["template"] = f.template },
		"ca":                    func() { body["ca"] = f.ca },
		"approval":              func() { body["approval"] = f.approval },
		"default-validity-days": func() { body["default_validity_days"] = f.days },
		"methods":               func() { body["enrollment_methods"] = f.methods },
		"delivery-format":       func() { body["delivery_format"] = f.delivery },
		"status":                func() { body["status"] = f.status },
		"org":                   func() { body["org"] = f.org },
		"issuer-type":           func() { body["issuer_type"] = f.issuerType },
		"connector":             func() { body["connector"] = f.connector },
	} {
		if fs.Changed(flag) {
			set()
		}
	}
}

// profileState is a profile as GET returns it, for update to start from.
type profileState struct {
	Name                string   `json:"name"`
	Description         string   `json:"description"`
	TemplateID          string   `json:"template_id"`
	CAID                string   `json:"ca_id"`
	IssuerType          string   `json:"issuer_type"`
	Connector           string   `json:"connector"`
	Approval            string   `json:"approval"`
	DefaultValidityDays int      `json:"default_validity_days"`
	EnrollmentMethods   []string `json:"enrollment_methods"`
	DeliveryFormat      string   `json:"delivery_format"`
	Status              string   `json:"status"`
}

func (p profileState) body() map[string]any {
	return map[string]any{"name": p.Name, "description": p.Description, "template": p.TemplateID, "ca": p.CAID,
		"issuer_type": p.IssuerType, "connector": p.Connector, "approval": p.Approval, "default_validity_days": p.DefaultValidityDays, "enrollment_methods": p.EnrollmentMethods,
		"delivery_format": p.DeliveryFormat, "status": p.Status}
}

// newProfileWriteCmd is `profile create`, or with update `profile update ID`,
// which changes only the fields given (the rest are read from the server).
func newProfileWriteCmd(g *globals, update bool) *cobra.Command {
	var f profileFlags
	spec := apiSpec{use: "create", short: "Create a profile", args: cobra.NoArgs, view: profileView,
		build: func(cmd *cobra.Command, _ []string) (request, error) {
			body := map[string]any{}
			f.apply(cmd, body)
			return request{method: http.MethodPost, path: profilesPath, body: body}, nil
		}}
	if update {
		spec.use, spec.short, spec.args = "update ID", "Change a profile (only the fields given)", cobra.ExactArgs(1)
		spec.build = func(cmd *cobra.Command, a []string) (request, error) {
			path := profilesPath + "/" + esc(a[0])
			var cur profileState
			if err := currentState(cmd, g, path, &cur); err != nil {
				return request{}, err
			}
			body := cur.body()
			f.apply(cmd, body)
			return request{method: http.MethodPut, path: path, body: body}, nil
		}
	}
	cmd := apiCmd(g, spec)
	f.register(cmd)
	if !update {
		cmd.Example = "  signet profile create --name web --template web-servers --ca signet-issuing --approval manual --methods api,acme"
		cmd.Flags().StringVar(&f.org, "org", "", "organization id or name the new object belongs to (global principals; default: yours)")
		// --ca is required for internal profiles only: the server says so.
		for _, r := range []string{"name", "template"} {
			_ = cmd.MarkFlagRequired(r)
		}
	}
	return cmd
}
