package test

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/signet-pki/signet/internal/config"
	"github.com/signet-pki/signet/internal/testutil"
)

// tenant is one organization of the permission matrix with a key per role.
type tenant struct {
	id, name   string
	ca, tpl    string // CA and template ids
	profile    string // auto-approved profile name
	gated      string // manual-approval profile name
	keys       map[string]string
	principals map[string]string
	teamID     string
}

var matrixRoles = []string{"admin", "manager", "requester", "auditor"}

// newTenant creates an organization with an intermediate CA under the
// default root, a template, an auto and a manual profile, and one service
// account and key per role — all as the global admin.
func (e *env) newTenant(t *testing.T, name string) *tenant {
	t.Helper()
	org := e.Must(t, 201, "POST", "/api/v1/organizations", admin, map[string]any{"name": name}).Map(t)
	tn := &tenant{id: org["id"].(string), name: name, keys: map[string]string{}, principals: map[string]string{}}
	ca := e.Must(t, 201, "POST", "/api/v1/cas", admin, map[string]any{"name": name + "-ca", "kind": "intermediate",
		"parent": "signet-root", "org": tn.id, "key": map[string]any{"algorithm": "ecdsa", "bits": 256},
		"subject": map[string]any{"common_name": name + " CA"}, "validity_days": 365}).Map(t)
	tn.ca = ca["id"].(string)
	spec := e.Must(t, 200, "GET", "/api/v1/templates/tls-server", admin, nil).Map(t)["spec"]
	tpl := e.Must(t, 201, "POST", "/api/v1/templates", admin, map[string]any{"name": name + "-tls", "org": tn.id, "spec": spec}).Map(t)
	tn.tpl = tpl["id"].(string)
	tn.profile, tn.gated = name+"-auto", name+"-gated"
	for prof, approval := range map[string]string{tn.profile: "auto", tn.gated: "manual"} {
		e.Must(t, 201, "POST", "/api/v1/profiles", admin, map[string]any{"name": prof, "org": tn.id, "template": tn.tpl,
			"ca": tn.ca, "approval": approval})
	}
	tn.teamID = e.Must(t, 201, "POST", "/api/v1/teams", admin, map[string]any{"name": "web", "org": tn.id}).Map(t)["id"].(string)
	for _, role := range matrixRoles {
		sa := e.Must(t, 201, "POST", "/api/v1/service-accounts", admin, map[string]any{"name": name + "-" + role,
			"org": tn.id, "roles": []string{role}, "team_ids": []string{tn.teamID}}).Map(t)
		tn.principals[role] = sa["id"].(string)
		key := e.Must(t, 201, "POST", "/api/v1/api-keys", admin, map[string]any{"name": name + "-" + role,
			"principal_id": sa["id"]}).Map(t)
		tn.keys[role] = key["key"].(string)
	}
	bot := e.Must(t, 201, "POST", "/api/v1/service-accounts", admin, map[string]any{"name": name + "-bot",
		"org": tn.id, "roles": []string{"requester"}}).Map(t)
	tn.principals["bot"] = bot["id"].(string)
	return tn
}

// enrollIn issues a certificate in the tenant as its admin, owned by owner.
func (e *env) enrollIn(t *testing.T, tn *tenant, cn, owner string) string {
	t.Helper()
	body := map[string]any{"profile": tn.profile, "keygen": map[string]any{"algorithm": "ecdsa", "bits": 256},
		"subject": map[string]any{"common_name": cn}, "sans": []string{cn}}
	if owner != "" {
		body["owner"] = owner
	}
	m := e.Must(t, 201, "POST", "/api/v1/certificates", tn.keys["admin"], body).Map(t)
	return str(m, "certificate", "serial")
}

// op is one API operation of the matrix. prepare creates what it acts on
// (fresh for every attempt, as the target tenant's admin) and returns the
// request path and body.
type op struct {
	name    string
	method  string
	allowed []string // roles allowed within their own organization
	prepare func(t *testing.T, e *env, tn *tenant, n int) (path string, body any)
}

func matrixOps() []op {
	all := matrixRoles
	fixed := func(path string) func(*testing.T, *env, *tenant, int) (string, any) {
		return func(_ *testing.T, _ *env, tn *tenant, _ int) (string, any) { return fmt.Sprintf(path, tn.id), nil }
	}
	return []op{
		{"read CA", "GET", all, func(_ *testing.T, _ *env, tn *tenant, _ int) (string, any) { return "/api/v1/cas/" + tn.ca, nil }},
		{"list CAs", "GET", all, fixed("/api/v1/cas?org=%s")},
		{"create CA", "POST", []string{"admin", "manager"}, func(_ *testing.T, _ *env, tn *tenant, n int) (string, any) {
			return "/api/v1/cas", map[string]any{"name": tn.name + "-sub-" + strconv.Itoa(n), "kind": "intermediate",
				"parent": tn.ca, "org": tn.id, "key": map[string]any{"algorithm": "ecdsa", "bits": 256},
				"subject": map[string]any{"common_name": "sub"}, "validity_days": 30}
		}},
		{"read template", "GET", all, func(_ *testing.T, _ *env, tn *tenant, _ int) (string, any) { return "/api/v1/templates/" + tn.tpl, nil }},
		{"create template", "POST", []string{"admin", "manager"}, func(t *testing.T, e *env, tn *tenant, n int) (string, any) {
			spec := e.Must(t, 200, "GET", "/api/v1/templates/"+tn.tpl, admin, nil).Map(t)["spec"]
			return "/api/v1/templates", map[string]any{"name": tn.name + "-t" + strconv.Itoa(n), "org": tn.id, "spec": spec}
		}},
		{"read profile", "GET", all, func(_ *testing.T, _ *env, tn *tenant, _ int) (string, any) {
			return "/api/v1/profiles/" + tn.profile, nil
		}},
		{"enroll", "POST", []string{"admin", "manager", "requester"}, func(_ *testing.T, _ *env, tn *tenant, n int) (string, any) {
			cn := "e" + strconv.Itoa(n) + ".example.com"
			return "/api/v1/certificates", map[string]any{"profile": tn.profile, "keygen": map[string]any{"algorithm": "ecdsa", "bits": 256},
				"subject": map[string]any{"common_name": cn}, "sans": []string{cn}}
		}},
		{"read certificate", "GET", all, func(t *testing.T, e *env, tn *tenant, n int) (string, any) {
			return "/api/v1/certificates/" + e.enrollIn(t, tn, "r"+strconv.Itoa(n)+".example.com", ""), nil
		}},
		{"search inventory", "GET", all, fixed("/api/v1/certificates?org=%s")},
		{"download another's certificate", "GET", []string{"admin", "manager", "auditor"}, func(t *testing.T, e *env, tn *tenant, n int) (string, any) {
			return "/api/v1/certificates/" + e.enrollIn(t, tn, "d"+strconv.Itoa(n)+".example.com", "") + "/download", nil
		}},
		{"download the team's certificate", "GET", all, func(t *testing.T, e *env, tn *tenant, n int) (string, any) {
			return "/api/v1/certificates/" + e.enrollIn(t, tn, "dt"+strconv.Itoa(n)+".example.com", tn.teamID) + "/download", nil
		}},
		{"revoke another's certificate", "POST", []string{"admin", "manager"}, func(t *testing.T, e *env, tn *tenant, n int) (string, any) {
			return "/api/v1/certificates/" + e.enrollIn(t, tn, "v"+strconv.Itoa(n)+".example.com", "") + "/revoke", map[string]any{"reason": "superseded"}
		}},
		{"revoke the team's certificate", "POST", []string{"admin", "manager", "requester"}, func(t *testing.T, e *env, tn *tenant, n int) (string, any) {
			return "/api/v1/certificates/" + e.enrollIn(t, tn, "vt"+strconv.Itoa(n)+".example.com", tn.teamID) + "/revoke", map[string]any{"reason": "superseded"}
		}},
		{"label a certificate", "PATCH", []string{"admin", "manager"}, func(t *testing.T, e *env, tn *tenant, n int) (string, any) {
			return "/api/v1/certificates/" + e.enrollIn(t, tn, "l"+strconv.Itoa(n)+".example.com", ""), map[string]any{"labels": map[string]string{"env": "prod"}}
		}},
		{"delete an imported certificate", "DELETE", []string{"admin", "manager"}, func(t *testing.T, e *env, tn *tenant, n int) (string, any) {
			return "/api/v1/certificates/" + e.importPEM(t, tn.keys["admin"], e.selfSigned(t, "imp"+strconv.Itoa(n)+".example.org")), nil
		}},
		{"reject a request", "POST", []string{"admin", "manager"}, func(t *testing.T, e *env, tn *tenant, n int) (string, any) {
			_, csr := e.csr(t, "g"+strconv.Itoa(n), "/CN=g.example.com", "DNS:g.example.com", ecKey...)
			m := e.Must(t, 202, "POST", "/api/v1/certificates", tn.keys["requester"], map[string]any{"profile": tn.gated, "csr": csr}).Map(t)
			return "/api/v1/requests/" + str(m, "request", "id") + "/reject", map[string]any{"reason": "not needed"}
		}},
		{"list requests", "GET", all, fixed("/api/v1/requests?org=%s")},
		{"create team", "POST", []string{"admin", "manager"}, func(_ *testing.T, _ *env, tn *tenant, n int) (string, any) {
			return "/api/v1/teams", map[string]any{"name": "team-" + strconv.Itoa(n), "org": tn.id}
		}},
		{"list users", "GET", []string{"admin", "manager", "auditor"}, fixed("/api/v1/users?org=%s")},
		{"create user", "POST", []string{"admin"}, func(_ *testing.T, _ *env, tn *tenant, n int) (string, any) {
			return "/api/v1/users", map[string]any{"name": tn.name + "-user-" + strconv.Itoa(n), "org": tn.id,
				"roles": []string{"requester"}, "password": "correct horse battery staple"}
		}},
		{"mint a key for another principal", "POST", []string{"admin"}, func(_ *testing.T, _ *env, tn *tenant, n int) (string, any) {
			return "/api/v1/api-keys", map[string]any{"name": "k" + strconv.Itoa(n), "principal_id": tn.principals["bot"]}
		}},
		{"list API keys", "GET", []string{"admin", "manager", "auditor"}, fixed("/api/v1/api-keys?org=%s")},
		{"define a custom field", "POST", []string{"admin", "manager"}, func(_ *testing.T, _ *env, tn *tenant, n int) (string, any) {
			return "/api/v1/custom-fields", map[string]any{"name": "f" + strconv.Itoa(n), "org": tn.id}
		}},
		{"read the audit log", "GET", []string{"admin", "auditor"}, fixed("/api/v1/audit-events?org=%s")},
		{"renew the team's certificate", "POST", []string{"admin", "manager", "requester"}, func(t *testing.T, e *env, tn *tenant, n int) (string, any) {
			return "/api/v1/certificates/" + e.enrollIn(t, tn, "rt"+strconv.Itoa(n)+".example.com", tn.teamID) + "/renew",
				map[string]any{"keygen": map[string]any{"algorithm": "ecdsa", "bits": 256}}
		}},
		{"renew another's certificate", "POST", []string{"admin", "manager"}, func(t *testing.T, e *env, tn *tenant, n int) (string, any) {
			return "/api/v1/certificates/" + e.enrollIn(t, tn, "ro"+strconv.Itoa(n)+".example.com", "") + "/renew",
				map[string]any{"keygen": map[string]any{"algorithm": "ecdsa", "bits": 256}}
		}},
		{"suspend the team's certificate", "POST", []string{"admin", "manager", "requester"}, func(t *testing.T, e *env, tn *tenant, n int) (string, any) {
			return "/api/v1/certificates/" + e.enrollIn(t, tn, "s"+strconv.Itoa(n)+".example.com", tn.teamID) + "/suspend", map[string]any{}
		}},
		{"inventory summary", "GET", all, fixed("/api/v1/certificates/summary?org=%s")},
		{"read a request", "GET", all, func(t *testing.T, e *env, tn *tenant, n int) (string, any) {
			_, csr := e.csr(t, "q"+strconv.Itoa(n), "/CN=q.example.com", "DNS:q.example.com", ecKey...)
			m := e.Must(t, 202, "POST", "/api/v1/certificates", tn.keys["requester"], map[string]any{"profile": tn.gated, "csr": csr}).Map(t)
			return "/api/v1/requests/" + str(m, "request", "id"), nil
		}},
		{"approve a request", "POST", []string{"admin", "manager"}, func(t *testing.T, e *env, tn *tenant, n int) (string, any) {
			_, csr := e.csr(t, "a"+strconv.Itoa(n), "/CN=a.example.com", "DNS:a.example.com", ecKey...)
			m := e.Must(t, 202, "POST", "/api/v1/certificates", tn.keys["requester"], map[string]any{"profile": tn.gated, "csr": csr}).Map(t)
			return "/api/v1/requests/" + str(m, "request", "id") + "/approve", nil
		}},
		{"disable a CA", "POST", []string{"admin", "manager"}, func(t *testing.T, e *env, tn *tenant, n int) (string, any) {
			ca := e.Must(t, 201, "POST", "/api/v1/cas", admin, map[string]any{"name": tn.name + "-d" + strconv.Itoa(n), "kind": "intermediate",
				"parent": tn.ca, "org": tn.id, "key": map[string]any{"algorithm": "ecdsa", "bits": 256},
				"subject": map[string]any{"common_name": "d"}, "validity_days": 30}).Map(t)
			return "/api/v1/cas/" + ca["id"].(string) + "/disable", nil
		}},
		{"delete a template", "DELETE", []string{"admin", "manager"}, func(t *testing.T, e *env, tn *tenant, n int) (string, any) {
			spec := e.Must(t, 200, "GET", "/api/v1/templates/"+tn.tpl, admin, nil).Map(t)["spec"]
			tpl := e.Must(t, 201, "POST", "/api/v1/templates", admin, map[string]any{"name": tn.name + "-del" + strconv.Itoa(n), "org": tn.id, "spec": spec}).Map(t)
			return "/api/v1/templates/" + tpl["id"].(string), nil
		}},
		{"delete a profile", "DELETE", []string{"admin", "manager"}, func(t *testing.T, e *env, tn *tenant, n int) (string, any) {
			p := e.Must(t, 201, "POST", "/api/v1/profiles", admin, map[string]any{"name": tn.name + "-pdel" + strconv.Itoa(n), "org": tn.id,
				"template": tn.tpl, "ca": tn.ca}).Map(t)
			return "/api/v1/profiles/" + p["id"].(string), nil
		}},
		{"read the organization", "GET", all, func(_ *testing.T, _ *env, tn *tenant, _ int) (string, any) {
			return "/api/v1/organizations/" + tn.id, nil
		}},
		{"rename the organization", "PATCH", nil, func(_ *testing.T, _ *env, tn *tenant, n int) (string, any) {
			return "/api/v1/organizations/" + tn.id, map[string]any{"name": tn.name + "-renamed-" + strconv.Itoa(n)}
		}},
		{"read a team", "GET", all, func(_ *testing.T, _ *env, tn *tenant, _ int) (string, any) { return "/api/v1/teams/" + tn.teamID, nil }},
		{"change a user's roles", "PATCH", []string{"admin"}, func(_ *testing.T, _ *env, tn *tenant, _ int) (string, any) {
			return "/api/v1/service-accounts/" + tn.principals["bot"], map[string]any{"roles": []string{"requester"}}
		}},
		{"read another principal", "GET", []string{"admin", "manager", "auditor"}, func(_ *testing.T, _ *env, tn *tenant, _ int) (string, any) {
			return "/api/v1/service-accounts/" + tn.principals["bot"], nil
		}},
		{"revoke another principal's key", "POST", []string{"admin"}, func(t *testing.T, e *env, tn *tenant, n int) (string, any) {
			k := e.Must(t, 201, "POST", "/api/v1/api-keys", admin, map[string]any{"name": "rk" + strconv.Itoa(n), "principal_id": tn.principals["bot"]}).Map(t)
			return "/api/v1/api-keys/" + k["id"].(string) + "/revoke", nil
		}},
		{"export the audit log", "GET", []string{"admin", "auditor"}, fixed("/api/v1/audit-events/export?org=%s")},
		{"scan for TLS endpoints", "POST", []string{"admin", "manager"}, func(_ *testing.T, _ *env, tn *tenant, _ int) (string, any) {
			return "/api/v1/discovery/scans", map[string]any{"org": tn.id, "targets": []string{"127.0.0.1"}, "ports": []int{1}}
		}},
		{"list endpoints", "GET", all, fixed("/api/v1/endpoints?org=%s")},
		{"read a report", "GET", all, fixed("/api/v1/reports/expiring?org=%s")},
		{"create a notification rule", "POST", []string{"admin", "manager"}, func(_ *testing.T, _ *env, tn *tenant, n int) (string, any) {
			return "/api/v1/notification-rules", map[string]any{"org": tn.id, "name": "r" + strconv.Itoa(n), "event": "certificate.issue",
				"spec": map[string]any{"recipients": map[string]any{"owner": true}}}
		}},
		{"list notifications", "GET", []string{"admin", "manager"}, fixed("/api/v1/notifications?org=%s")},
		{"list agents", "GET", all, fixed("/api/v1/agents?org=%s")},
		{"create an organization", "POST", nil, func(_ *testing.T, _ *env, _ *tenant, n int) (string, any) {
			return "/api/v1/organizations", map[string]any{"name": "new-org-" + strconv.Itoa(n)}
		}},
	}
}

// TestPermissionMatrix drives every operation as every role of organization
// A, on A's objects and on B's. Allowed calls succeed; denied ones are 403
// problem documents that are audited and change nothing (no audit event of
// a change follows them, and every change writes one).
func TestPermissionMatrix(t *testing.T) {
	e := &env{Server: testutil.StartServerWith(t, func(c *config.Config) { c.DiscoveryAllowedNetworks = []string{"127.0.0.1/32"} }),
		dir: t.TempDir(), principals: map[string]string{}}
	a, b := e.newTenant(t, "org-a"), e.newTenant(t, "org-b")
	n := 0
	for _, o := range matrixOps() {
		for _, role := range matrixRoles {
			for _, target := range []*tenant{a, b} {
				n++
				want := target == a && contains(o.allowed, role)
				path, body := o.prepare(t, e, target, n)
				before := e.auditHead(t)
				r := e.Do(t, o.method, path, a.keys[role], body)
				what := fmt.Sprintf("%s as %s of %s on %s's objects: %s %s", o.name, role, a.name, target.name, o.method, path)
				if want {
					if r.Status >= 300 {
						t.Errorf("%s: status %d, want success: %.300s", what, r.Status, r.Body)
					}
					continue
				}
				if r.Status != 403 || r.Header.Get("Content-Type") != "application/problem+json" {
					t.Errorf("%s: status %d, want a 403 problem document: %.300s", what, r.Status, r.Body)
					continue
				}
				after := e.auditSince(t, before)
				if len(after) != 1 || after[0]["action"] != "authz.denied" || after[0]["principal"] != a.principals[role] {
					t.Errorf("%s: want exactly one authz.denied audit event by %s, got %v", what, a.principals[role], after)
				}
			}
		}
	}
	t.Logf("%d calls checked", n)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// auditHead is the sequence number of the last audit event.
func (e *env) auditHead(t *testing.T) int {
	t.Helper()
	head := 0
	for {
		items := e.Must(t, 200, "GET", "/api/v1/audit-events?limit=1000&cursor="+strconv.Itoa(head), admin, nil).Map(t)["items"].([]any)
		if len(items) == 0 {
			return head
		}
		head = int(items[len(items)-1].(map[string]any)["seq"].(float64))
	}
}

// auditSince returns the events after seq.
func (e *env) auditSince(t *testing.T, seq int) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, it := range e.Must(t, 200, "GET", "/api/v1/audit-events?limit=1000&cursor="+strconv.Itoa(seq), admin, nil).Map(t)["items"].([]any) {
		out = append(out, it.(map[string]any))
	}
	return out
}
