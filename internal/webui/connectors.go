package webui

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
	"github.com/signet-pki/signet/internal/upstream"
)

// fieldErrors is a refused form's violations, each placed next to the
// control it concerns; those no control owns are listed above the form.
type fieldErrors struct {
	Form    string
	General []string
	Fields  map[string][]string
}

// placeErrors turns a service's refusal of form into fieldErrors, with
// place naming the control of each violation's field ("" = above the
// form). Errors that are not about the input are returned as they are.
func placeErrors(form string, err error, place func(field string) string) (*fieldErrors, error) {
	pe := problem.As(err)
	if pe == nil || (pe.Kind != problem.KindInvalid && pe.Kind != problem.KindConflict && pe.Kind != problem.KindNotFound) {
		return nil, err
	}
	fe := &fieldErrors{Form: form, Fields: map[string][]string{}}
	if len(pe.Violations) == 0 {
		fe.General = []string{pe.Message}
	}
	for _, v := range pe.Violations {
		if f := place(v.Field); f != "" {
			fe.Fields[f] = append(fe.Fields[f], v.Message)
			continue
		}
		msg := v.Message
		if v.Field != "" {
			msg = v.Field + ": " + msg
		}
		fe.General = append(fe.General, msg)
	}
	return fe, nil
}

// Top returns the messages of form that no control owns.
func (f *fieldErrors) Top(form string) []string {
	if f == nil || f.Form != form {
		return nil
	}
	return f.General
}

// For returns the messages of one control of form.
func (f *fieldErrors) For(form, field string) []string {
	if f == nil || f.Form != form {
		return nil
	}
	return f.Fields[field]
}

// connectorField maps a connector violation's field to its control.
func connectorField(field string) string {
	switch {
	case field == "name", field == "type", field == "status":
		return field
	case field == "config.root_pem":
		return "root_pem"
	case field == "config" || strings.HasPrefix(field, "config."):
		return "config"
	case field == "secrets" || strings.HasPrefix(field, "secrets."):
		return "secrets"
	}
	return ""
}

// connectorRow is a connector with the profiles that issue through it.
type connectorRow struct {
	upstream.Connector
	UsedBy []string
}

// connectorForm is what the create and edit forms hold. Secrets are not
// here: they are write-only and never rendered back, not even after a
// refused post.
type connectorForm struct {
	Name, Type, Status, Config, RootPEM string
	SecretNames                         []string
}

type connectorsView struct {
	Items     []connectorRow
	Types     []string
	New       connectorForm
	Edit      *connectorRow // the connector in the editor, if any
	EditForm  connectorForm
	Err       *fieldErrors
	CanManage bool
}

// secretRows is how many secret name/value pairs a form offers.
const secretRows = 3

// connectorsAllowed lets those who run or audit the CAs see connectors
// (health, errors, which profiles use them); a requester gets the 403
// page. Changes are decided by the connector service itself.
func (u *UI) connectorsAllowed(r *http.Request) error {
	if u.d.Upstream == nil {
		return problem.NotFound("page_not_found", "there is no page %s", r.URL.Path)
	}
	if _, err := auth.Require(r.Context(), auth.PermCAManage); err == nil {
		return nil
	}
	_, err := auth.Require(r.Context(), auth.PermAuditRead)
	return err
}

func (u *UI) connectors(w http.ResponseWriter, r *http.Request) error {
	if err := u.connectorsAllowed(r); err != nil {
		return err
	}
	v := connectorsView{}
	if ref := r.URL.Query().Get("edit"); ref != "" {
		c, err := u.d.Upstream.Get(r.Context(), ref)
		if err != nil {
			return err
		}
		v.Edit = &connectorRow{Connector: *c}
		v.EditForm = formOfConnector(c)
	}
	return u.showConnectors(w, r, http.StatusOK, v)
}

func (u *UI) showConnectors(w http.ResponseWriter, r *http.Request, status int, v connectorsView) error {
	ctx := r.Context()
	list, _, err := u.d.Upstream.List(ctx, "", 200, "")
	if err != nil {
		return err
	}
	profiles, _, err := u.d.Profiles.ListProfiles(ctx, store.ListQuery{Limit: 1000})
	if err != nil {
		return err
	}
	usedBy := map[string][]string{}
	for _, p := range profiles {
		if p.ConnectorID != "" {
			usedBy[p.ConnectorID] = append(usedBy[p.ConnectorID], p.Name)
		}
	}
	for _, c := range list {
		v.Items = append(v.Items, connectorRow{Connector: c, UsedBy: usedBy[c.ID]})
	}
	if v.Edit != nil {
		v.Edit.UsedBy = usedBy[v.Edit.ID]
	}
	v.Types, v.CanManage = upstream.Types, principal(ctx).Allows(auth.PermCAManage)
	if v.New.Type == "" {
		v.New.Type = upstream.TypeStepCA
	}
	return u.render(w, r, status, "connectors", "External CA connectors", v)
}

// formOfConnector fills the edit form from a stored connector.
func formOfConnector(c *upstream.Connector) connectorForm {
	f := connectorForm{Name: c.Name, Type: c.Type, Status: c.Status, SecretNames: c.Secrets}
	keys := make([]string, 0, len(c.Config))
	for k := range c.Config {
		if k != "root_pem" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s = %s\n", k, configText(c.Config[k]))
	}
	f.Config = b.String()
	f.RootPEM, _ = c.Config["root_pem"].(string)
	return f
}

func configText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// parseConfig reads the settings textarea: one "key = value" per line
// (the CLI's --config KEY=VALUE), plus the root certificate's own field.
func parseConfig(text, rootPEM string) (map[string]any, []problem.Violation) {
	cfg := map[string]any{}
	var vs []problem.Violation
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, val, ok := strings.Cut(line, "=")
		if k = strings.TrimSpace(k); !ok || k == "" {
			vs = append(vs, problem.Violation{Field: "config", Code: "invalid",
				Message: fmt.Sprintf("line %d is not key = value", i+1)})
			continue
		}
		cfg[k] = strings.TrimSpace(val)
	}
	if p := strings.TrimSpace(rootPEM); p != "" {
		cfg["root_pem"] = p
	}
	return cfg, vs
}

// parseSecrets reads the secret name/value pairs of a form; pairs left
// empty are ignored, and a value without a name is refused.
func parseSecrets(r *http.Request) (map[string]string, []problem.Violation) {
	names, values := r.PostForm["secret_name"], r.PostForm["secret_value"]
	out := map[string]string{}
	var vs []problem.Violation
	for i := range max(len(names), len(values)) {
		var n, v string
		if i < len(names) {
			n = strings.TrimSpace(names[i])
		}
		if i < len(values) {
			v = strings.TrimSpace(values[i])
		}
		switch {
		case n == "" && v == "":
		case n == "":
			vs = append(vs, problem.Violation{Field: "secrets", Code: "required", Message: "every secret needs its name"})
		case v == "":
			vs = append(vs, problem.Violation{Field: "secrets", Code: "required", Message: fmt.Sprintf("secret %s has no value", n)})
		default:
			out[n] = v
		}
	}
	return out, vs
}

func (u *UI) createConnector(w http.ResponseWriter, r *http.Request) error {
	if u.d.Upstream == nil {
		return problem.NotFound("page_not_found", "there is no page %s", r.URL.Path)
	}
	f := connectorForm{Name: strings.TrimSpace(r.PostFormValue("name")), Type: r.PostFormValue("type"),
		Config: r.PostFormValue("config"), RootPEM: r.PostFormValue("root_pem"), SecretNames: r.PostForm["secret_name"]}
	cfg, vs := parseConfig(f.Config, f.RootPEM)
	secrets, svs := parseSecrets(r)
	vs = append(vs, svs...)
	in := upstream.Input{Name: f.Name, Type: f.Type, Config: cfg, Secrets: secrets}
	if len(secrets) == 0 {
		in.Secrets = nil
	}
	var err error
	if len(vs) > 0 {
		err = problem.Violations("form_invalid", "the connector form is invalid", vs)
	} else {
		_, err = u.d.Upstream.Create(r.Context(), in)
	}
	if err != nil {
		status := problem.HTTPStatus(problem.KindOf(err))
		fe, err := placeErrors("create", err, connectorField)
		if err != nil {
			return err
		}
		return u.showConnectors(w, r, status, connectorsView{New: f, Err: fe})
	}
	return redirect(w, r, Prefix+"admin/connectors", "Connector "+f.Name+" created.")
}

// connectorAction changes a connector's settings (update), replaces its
// secrets (secrets), disables or enables it (status) or deletes it
// (delete, confirmed; refused while a profile uses it).
func (u *UI) connectorAction(w http.ResponseWriter, r *http.Request) error {
	if u.d.Upstream == nil {
		return problem.NotFound("page_not_found", "there is no page %s", r.URL.Path)
	}
	ctx := r.Context()
	id, action := r.PathValue("id"), r.PathValue("action")
	var err error
	var note string
	var edit *connectorForm // the form to show again if refused
	switch action {
	case "update":
		f := connectorForm{Name: strings.TrimSpace(r.PostFormValue("name")), Status: r.PostFormValue("status"),
			Config: r.PostFormValue("config"), RootPEM: r.PostFormValue("root_pem")}
		edit = &f
		cfg, vs := parseConfig(f.Config, f.RootPEM)
		if len(vs) > 0 {
			err = problem.Violations("form_invalid", "the connector form is invalid", vs)
			break
		}
		var c *upstream.Connector
		if c, err = u.d.Upstream.Update(ctx, id, upstream.Input{Name: f.Name, Status: f.Status, Config: cfg}); err == nil {
			note = "Connector " + c.Name + " saved."
		}
	case "secrets":
		edit = &connectorForm{}
		secrets, vs := parseSecrets(r)
		if len(vs) == 0 && len(secrets) == 0 {
			vs = append(vs, problem.Violation{Field: "secrets", Code: "required", Message: "give the secrets to store"})
		}
		if len(vs) > 0 {
			err = problem.Violations("form_invalid", "the secrets form is invalid", vs)
			break
		}
		var c *upstream.Connector
		if c, err = u.d.Upstream.Update(ctx, id, upstream.Input{Secrets: secrets}); err == nil {
			note = "Secrets of connector " + c.Name + " replaced."
		}
	case "status":
		var c *upstream.Connector
		if c, err = u.d.Upstream.Update(ctx, id, upstream.Input{Status: r.PostFormValue("status")}); err == nil {
			note = "Connector " + c.Name + " is now " + c.Status + "."
		}
	case "delete":
		if r.PostFormValue("confirm") != "yes" {
			err = problem.Violations("confirmation_required", "deleting a connector cannot be undone: tick the confirmation box",
				[]problem.Violation{{Field: "confirm", Code: "required", Message: "confirm the deletion"}})
			break
		}
		if err = u.d.Upstream.Delete(ctx, id); err == nil {
			note = "Connector deleted."
		}
	default:
		return problem.NotFound("action_unknown", "no connector action %q", action)
	}
	if err == nil {
		return redirect(w, r, Prefix+"admin/connectors", note)
	}
	form := "list"
	if edit != nil {
		form = action
	}
	status := problem.HTTPStatus(problem.KindOf(err))
	fe, err := placeErrors(form, err, connectorField)
	if err != nil {
		return err
	}
	v := connectorsView{Err: fe}
	if edit != nil {
		// Show the editor again with what was typed (never the secrets).
		c, gerr := u.d.Upstream.Get(ctx, id)
		if gerr != nil {
			return gerr
		}
		v.Edit, v.EditForm = &connectorRow{Connector: *c}, formOfConnector(c)
		if action == "update" {
			v.EditForm.Name, v.EditForm.Status = cmp.Or(edit.Name, c.Name), cmp.Or(edit.Status, c.Status)
			v.EditForm.Config, v.EditForm.RootPEM = edit.Config, edit.RootPEM
		}
	}
	return u.showConnectors(w, r, status, v)
}

// SecretSlots are the name fields of a secrets form: the names already
// known (never their values) and empty ones, at least secretRows.
func (f connectorForm) SecretSlots() []string {
	var out []string
	for _, n := range f.SecretNames {
		if strings.TrimSpace(n) != "" {
			out = append(out, n)
		}
	}
	out = append(out, "")
	for len(out) < secretRows {
		out = append(out, "")
	}
	return out
}
