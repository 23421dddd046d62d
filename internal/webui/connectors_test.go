package webui

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

func TestParseConfigReadsKeyValueLines(t *testing.T) {
	for _, tc := range []struct {
		name, text, root string
		want             map[string]any
		bad              int
	}{
		{"empty", "", "", map[string]any{}, 0},
		{"lines", "url = https://ca:9000\n\n# comment\nprovisioner=signet\r\n", "", map[string]any{"url": "https://ca:9000", "provisioner": "signet"}, 0},
		{"value with =", "eab_kid = a=b", "", map[string]any{"eab_kid": "a=b"}, 0},
		{"root from its own field", "url = x", " PEM\n", map[string]any{"url": "x", "root_pem": "PEM"}, 0},
		{"no =", "url https://x\n= value", "", map[string]any{}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, vs := parseConfig(tc.text, tc.root)
			if !maps.Equal(got, tc.want) || len(vs) != tc.bad {
				t.Errorf("parseConfig(%q) = %v, %v", tc.text, got, vs)
			}
			for _, v := range vs {
				if connectorField(v.Field) != "config" {
					t.Errorf("violation %v is not placed at the settings", v)
				}
			}
		})
	}
}

func TestParseSecretsPairsNamesAndValues(t *testing.T) {
	for _, tc := range []struct {
		name          string
		names, values []string
		want          map[string]string
		bad           int
	}{
		{"none", []string{"", ""}, []string{"", ""}, map[string]string{}, 0},
		{"one", []string{"api_key", ""}, []string{" s3cret ", ""}, map[string]string{"api_key": "s3cret"}, 0},
		{"a known name left empty", []string{"api_key"}, []string{""}, map[string]string{}, 1},
		{"value without name", []string{""}, []string{"topsecretvalue"}, map[string]string{}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &http.Request{PostForm: url.Values{"secret_name": tc.names, "secret_value": tc.values}}
			got, vs := parseSecrets(r)
			if !maps.Equal(got, tc.want) || len(vs) != tc.bad {
				t.Errorf("parseSecrets = %v, %v", got, vs)
			}
			for _, v := range vs {
				if strings.Contains(v.Message, "topsecretvalue") {
					t.Errorf("a violation repeats the secret: %q", v.Message)
				}
			}
		})
	}
}

func TestPlaceErrorsPutsViolationsAtTheirControls(t *testing.T) {
	err := problem.Violations("connector_invalid", "invalid", []problem.Violation{
		{Field: "config.url", Message: "url must be https"}, {Field: "secrets.provisioner_key", Message: "bad key"},
		{Field: "config.root_pem", Message: "no PEM"}, {Field: "name", Message: "bad name"}, {Field: "elsewhere", Message: "odd"}})
	fe, rest := placeErrors("create", err, connectorField)
	if rest != nil {
		t.Fatal(rest)
	}
	for field, want := range map[string]string{"config": "url must be https", "secrets": "bad key", "root_pem": "no PEM", "name": "bad name"} {
		if got := fe.For("create", field); !slices.Equal(got, []string{want}) {
			t.Errorf("field %s: %v", field, got)
		}
	}
	if got := fe.Top("create"); !slices.Equal(got, []string{"elsewhere: odd"}) {
		t.Errorf("top: %v", got)
	}
	if fe.For("update", "name") != nil || fe.Top("update") != nil {
		t.Error("another form's controls show this form's errors")
	}
	// Errors that are not about the input are not form errors.
	if _, rest := placeErrors("create", problem.Forbidden("forbidden", "no"), connectorField); rest == nil {
		t.Error("a refusal became a form error")
	}
	var none *fieldErrors
	if none.For("create", "name") != nil || none.Top("create") != nil {
		t.Error("no errors should read as none")
	}
}

func TestSecretSlotsShowNamesNeverValues(t *testing.T) {
	for _, tc := range []struct {
		names []string
		want  []string
	}{
		{nil, []string{"", "", ""}},
		{[]string{"api_key"}, []string{"api_key", "", ""}},
		{[]string{"a", "b", "c"}, []string{"a", "b", "c", ""}},
		{[]string{" ", "a"}, []string{"a", "", ""}},
	} {
		if got := (connectorForm{SecretNames: tc.names}).SecretSlots(); !slices.Equal(got, tc.want) {
			t.Errorf("SecretSlots(%v) = %v, want %v", tc.names, got, tc.want)
		}
	}
}

func TestStatusLabelExplainsWaitingForTheExternalCA(t *testing.T) {
	if got := statusLabel(store.RequestPendingUpstream); got != "waiting for the external CA" {
		t.Errorf("pending_upstream reads %q", got)
	}
	if got := statusLabel(store.RequestPending); got != store.RequestPending {
		t.Errorf("pending reads %q", got)
	}
}
