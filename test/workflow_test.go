package test

import (
	"slices"
	"strings"
	"testing"
)

// newKey creates an API key with roles and returns its token.
func (e *env) newKey(t *testing.T, name string, roles ...string) string {
	t.Helper()
	sa := e.Must(t, 201, "POST", "/api/v1/service-accounts", admin, map[string]any{"name": name, "roles": roles}).Map(t)
	m := e.Must(t, 201, "POST", "/api/v1/api-keys", admin, map[string]any{"name": name, "principal_id": sa["id"], "roles": roles}).Map(t)
	e.principals[name] = sa["id"].(string)
	return m["key"].(string)
}

func violationCodes(m map[string]any) []string {
	var codes []string
	vs, _ := m["violations"].([]any)
	for _, v := range vs {
		codes = append(codes, v.(map[string]any)["code"].(string))
	}
	slices.Sort(codes)
	return codes
}

func TestTemplateViolationsAreAllListed(t *testing.T) {
	e := newEnv(t)
	spec := map[string]any{
		"key_types": []any{map[string]any{"algorithm": "rsa", "min_bits": 3072}},
		"subject": []any{map[string]any{"field": "common_name", "required": true},
			map[string]any{"field": "organization", "required": true, "fixed_value": "Acme"}},
		"sans":              map[string]any{"dns": []string{"*.acme.com"}, "required": true},
		"key_usages":        []string{"digital_signature", "key_encipherment"},
		"ext_key_usages":    []string{"server_auth"},
		"max_validity_days": 90, "allow_wildcard": false, "allow_key_generation": false,
	}
	tpl := e.Must(t, 201, "POST", "/api/v1/templates", admin, map[string]any{"name": "acme-web", "description": "Acme web", "spec": spec}).Map(t)
	if tpl["id"] == "" || tpl["spec"].(map[string]any)["max_validity_days"].(float64) != 90 {
		t.Fatalf("template: %v", tpl)
	}
	e.Must(t, 201, "POST", "/api/v1/profiles", admin, map[string]any{"name": "acme-web", "template": "acme-web", "ca": "signet-issuing", "default_validity_days": 30})
	// ECDSA key, wrong organization, a name outside *.acme.com, a wildcard, validity too long: all reported at once.
	_, csr := e.csr(t, "bad", "/CN=www.acme.com/O=Evil", "DNS:www.acme.com,DNS:evil.org,DNS:*.acme.com", ecKey...)
	r := e.Must(t, 400, "POST", "/api/v1/certificates", admin, map[string]any{"profile": "acme-web", "csr": csr, "validity_days": 365})
	m := r.Map(t)
	if m["code"] != "policy_violation" {
		t.Fatalf("want policy_violation: %s", r.Body)
	}
	got := violationCodes(m)
	for _, want := range []string{"key_type_not_allowed", "subject_field_mismatch", "san_not_allowed", "wildcard_not_allowed", "validity_too_long"} {
		if !slices.Contains(got, want) {
			t.Errorf("violations %v lack %s", got, want)
		}
	}
	// Keygen is refused by this template.
	r = e.Must(t, 400, "POST", "/api/v1/certificates", admin, map[string]any{"profile": "acme-web",
		"keygen": map[string]any{"algorithm": "rsa", "bits": 3072}, "subject": map[string]any{"common_name": "a.acme.com"}, "sans": []string{"a.acme.com"}})
	if !slices.Contains(violationCodes(r.Map(t)), "keygen_not_allowed") {
		t.Fatalf("want keygen_not_allowed: %s", r.Body)
	}
	// A conforming request passes, with the profile's default validity.
	_, good := e.csr(t, "good", "/CN=www.acme.com/O=Acme", "DNS:www.acme.com", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072")
	ok := e.Must(t, 201, "POST", "/api/v1/certificates", admin, map[string]any{"profile": "acme-web", "csr": good}).Map(t)
	e.verify(t, "acme", str(ok, "certificate", "certificate_pem"), ok["chain_pem"].(string))
	text := strings.Join(strings.Fields(str(ok, "certificate", "not_after")), "")
	if text == "" {
		t.Fatal("no not_after")
	}
	// Template CRUD: update, refuse deleting while used, delete after the profile goes.
	spec["max_validity_days"] = 60
	e.Must(t, 200, "PUT", "/api/v1/templates/acme-web", admin, map[string]any{"name": "acme-web", "spec": spec})
	got2 := e.Must(t, 200, "GET", "/api/v1/templates/acme-web", admin, nil).Map(t)
	if got2["spec"].(map[string]any)["max_validity_days"].(float64) != 60 {
		t.Fatalf("update lost: %v", got2)
	}
	r = e.Must(t, 409, "DELETE", "/api/v1/templates/acme-web", admin, nil)
	if r.Map(t)["code"] != "template_in_use" {
		t.Fatalf("want template_in_use: %s", r.Body)
	}
	e.Must(t, 204, "DELETE", "/api/v1/profiles/acme-web", admin, nil)
	e.Must(t, 204, "DELETE", "/api/v1/templates/acme-web", admin, nil)
	e.Must(t, 404, "GET", "/api/v1/templates/acme-web", admin, nil)
	// An invalid template lists every problem.
	r = e.Must(t, 400, "POST", "/api/v1/templates", admin, map[string]any{"name": "broken", "spec": map[string]any{
		"subject":        []any{map[string]any{"field": "shoe_size"}, map[string]any{"field": "common_name", "pattern": "("}},
		"ext_key_usages": []string{"teleport"}, "max_validity_days": 0}})
	if m := r.Map(t); m["code"] != "template_invalid" || len(m["violations"].([]any)) < 4 {
		t.Fatalf("want template_invalid with 4+ violations: %s", r.Body)
	}
}

func TestManualApprovalWorkflow(t *testing.T) {
	e := newEnv(t)
	requester := e.newKey(t, "alice", "requester")
	manager := e.newKey(t, "bob", "manager")
	e.Must(t, 201, "POST", "/api/v1/profiles", admin, map[string]any{"name": "gated", "template": "tls-server", "ca": "signet-issuing", "approval": "manual"})
	_, csr := e.csr(t, "gated", "/CN=gated.example.com", "DNS:gated.example.com", ecKey...)

	pending := e.Must(t, 202, "POST", "/api/v1/certificates", requester, map[string]any{"profile": "gated", "csr": csr}).Map(t)
	reqID := str(pending, "request", "id")
	if str(pending, "request", "status") != "pending" || pending["certificate"] != nil {
		t.Fatalf("want a pending request: %v", pending)
	}
	// A requester cannot approve; a manager cannot approve their own request.
	if r := e.Must(t, 403, "POST", "/api/v1/requests/"+reqID+"/approve", requester, nil); r.Map(t)["code"] != "forbidden" {
		t.Fatalf("requester approving: %s", r.Body)
	}
	own := e.Must(t, 202, "POST", "/api/v1/certificates", manager, map[string]any{"profile": "gated", "csr": csr}).Map(t)
	if r := e.Must(t, 403, "POST", "/api/v1/requests/"+str(own, "request", "id")+"/approve", manager, nil); r.Map(t)["code"] != "self_approval" {
		t.Fatalf("self approval: %s", r.Body)
	}
	list := e.Must(t, 200, "GET", "/api/v1/requests?status=pending", manager, nil).Map(t)
	if n := len(list["items"].([]any)); n != 2 {
		t.Fatalf("want 2 pending requests, got %d", n)
	}
	approved := e.Must(t, 200, "POST", "/api/v1/requests/"+reqID+"/approve", manager, nil).Map(t)
	if str(approved, "request", "status") != "issued" || str(approved, "request", "decided_by") != e.principals["bob"] {
		t.Fatalf("approval: %v", approved["request"])
	}
	e.verify(t, "gated", str(approved, "certificate", "certificate_pem"), approved["chain_pem"].(string))
	if str(approved, "certificate", "owner") != e.principals["alice"] {
		t.Fatalf("certificate should belong to the requester")
	}
	// Double approval is a conflict.
	if r := e.Must(t, 409, "POST", "/api/v1/requests/"+reqID+"/approve", manager, nil); r.Map(t)["code"] != "request_not_pending" {
		t.Fatalf("double approval: %s", r.Body)
	}
	// Reject needs a reason, then closes the request.
	ownID := str(own, "request", "id")
	e.Must(t, 400, "POST", "/api/v1/requests/"+ownID+"/reject", admin, map[string]any{"reason": ""})
	rej := e.Must(t, 200, "POST", "/api/v1/requests/"+ownID+"/reject", admin, map[string]any{"reason": "not our domain"}).Map(t)
	if rej["status"] != "rejected" || rej["reason"] != "not our domain" {
		t.Fatalf("reject: %v", rej)
	}
	e.Must(t, 409, "POST", "/api/v1/requests/"+ownID+"/approve", admin, nil)
	// Keygen on a manual profile is refused with a reason.
	r := e.Must(t, 400, "POST", "/api/v1/certificates", requester, map[string]any{"profile": "gated",
		"keygen": map[string]any{"algorithm": "ecdsa", "bits": 256}, "sans": []string{"k.example.com"}})
	if r.Map(t)["code"] != "keygen_requires_auto_approval" {
		t.Fatalf("keygen on manual profile: %s", r.Body)
	}
}
