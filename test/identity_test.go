package test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/signet-pki/signet/internal/cli"
)

// runCLI runs the signet command line in-process.
func runCLI(args ...string) (stdout, stderr string, err error) {
	root := cli.NewRoot()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err = root.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

// TestAuditTamperIsDetected edits, then deletes, audit rows directly in the
// SQLite file and checks that `signet audit verify --data-dir` fails and
// names the first bad event, and that the API verifier agrees.
func TestAuditTamperIsDetected(t *testing.T) {
	e := newEnv(t)
	for i := range 3 {
		e.Must(t, 201, "POST", "/api/v1/teams", admin, map[string]any{"name": "team-" + string(rune('a'+i))})
	}
	out, _, err := runCLI("audit", "verify", "--data-dir", e.DataDir)
	if err != nil || !strings.Contains(out, "audit chain intact") {
		t.Fatalf("untouched chain: %v\n%s", err, out)
	}
	head := e.auditHead(t)
	if head < 4 {
		t.Fatalf("want several events, have %d", head)
	}
	db, err := sql.Open("sqlite", "file:"+e.DataDir+"/signet.db?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	edited := head - 1
	if _, err := db.Exec(`UPDATE audit_events SET details = '{"name":"forged"}' WHERE seq = ?`, edited); err != nil {
		t.Fatal(err)
	}
	_, _, err = runCLI("audit", "verify", "--data-dir", e.DataDir)
	if err == nil || !strings.Contains(err.Error(), "broken at event "+strconv.Itoa(edited)) || !strings.Contains(err.Error(), "edited") {
		t.Fatalf("edited row %d: verify said %v", edited, err)
	}
	res := e.Must(t, 200, "GET", "/api/v1/audit-events/verify", admin, nil).Map(t)
	if res["ok"] != false || int(res["first_bad"].(float64)) != edited {
		t.Fatalf("API verify after edit: %v", res)
	}
	// Deleting an earlier row is caught there, before the edited one.
	if _, err := db.Exec(`DELETE FROM audit_events WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	_, _, err = runCLI("audit", "verify", "--data-dir", e.DataDir)
	if err == nil || !strings.Contains(err.Error(), "broken at event 2") {
		t.Fatalf("deleted row 2: verify said %v", err)
	}
}

// TestLoginLockoutAuditAndNoSecretsInLogs walks a user through login,
// wrong passwords, lockout and unlock; every step is audited, and no
// password or key created along the way appears in the server log, the
// audit log or any listing.
func TestLoginLockoutAuditAndNoSecretsInLogs(t *testing.T) {
	e := newEnv(t)
	const password = "a long and secret passphrase 42"
	const newPassword = "another long secret passphrase 43"
	e.Must(t, 400, "POST", "/api/v1/users", admin, map[string]any{"name": "shorty", "roles": []string{"requester"}, "password": "short"})
	u := e.Must(t, 201, "POST", "/api/v1/users", admin, map[string]any{"name": "carol", "roles": []string{"requester"},
		"password": password}).Map(t)
	login := func(pw string, want int) map[string]any {
		return e.Must(t, want, "POST", "/api/v1/login", "", map[string]any{"username": "carol", "password": pw}).Map(t)
	}
	s := login(password, 201)
	token := s["token"].(string)
	me := e.Must(t, 200, "GET", "/api/v1/me", token, nil).Map(t)
	if me["id"] != u["id"] || me["authenticated_by"] != "session" {
		t.Fatalf("session principal: %v", me)
	}
	if got := e.Must(t, 401, "POST", "/api/v1/login", "", map[string]any{"username": "nobody", "password": password}).Map(t)["code"]; got != "invalid_credentials" {
		t.Fatalf("unknown user: %v", got)
	}
	for range 5 {
		if got := login("wrong password!!", 401)["code"]; got != "invalid_credentials" {
			t.Fatalf("wrong password: %v", got)
		}
	}
	login(password, 401) // locked now, even with the right password
	locked := e.Must(t, 200, "GET", "/api/v1/users/carol", admin, nil).Map(t)
	if locked["locked_until"] == nil {
		t.Fatalf("user not locked after 5 failures: %v", locked)
	}
	// A requester may not unlock itself; an admin may, and may reset the password.
	e.Must(t, 403, "PATCH", "/api/v1/users/carol", token, map[string]any{"unlock": true})
	e.Must(t, 200, "PATCH", "/api/v1/users/carol", admin, map[string]any{"password": newPassword})
	login(password, 401)
	token2 := login(newPassword, 201)["token"].(string)
	// Disabling the user ends its sessions: enabling it again does not bring
	// them back, it logs in anew.
	e.Must(t, 200, "PATCH", "/api/v1/users/carol", admin, map[string]any{"disabled": true})
	e.Must(t, 401, "GET", "/api/v1/me", token2, nil)
	e.Must(t, 200, "PATCH", "/api/v1/users/carol", admin, map[string]any{"disabled": false})
	e.Must(t, 401, "GET", "/api/v1/me", token2, nil)
	e.Must(t, 200, "GET", "/api/v1/me", login(newPassword, 201)["token"].(string), nil)
	// A service account's API keys are not sessions: they resume with it.
	sa := e.Must(t, 201, "POST", "/api/v1/service-accounts", admin, map[string]any{"name": "deployer", "roles": []string{"requester"}}).Map(t)
	saKey := e.Must(t, 201, "POST", "/api/v1/api-keys", admin, map[string]any{"name": "ci", "principal_id": sa["id"]}).Map(t)["key"].(string)
	e.Must(t, 200, "PATCH", "/api/v1/service-accounts/deployer", admin, map[string]any{"disabled": true})
	e.Must(t, 401, "GET", "/api/v1/me", saKey, nil)
	e.Must(t, 200, "PATCH", "/api/v1/service-accounts/deployer", admin, map[string]any{"disabled": false})
	e.Must(t, 200, "GET", "/api/v1/me", saKey, nil)

	events := e.Must(t, 200, "GET", "/api/v1/audit-events?action=auth.login&limit=100", admin, nil).Map(t)["items"].([]any)
	failures, lockedMsg := 0, false
	for _, ev := range events {
		m := ev.(map[string]any)
		if m["outcome"] == "failure" {
			failures++
		}
		if strings.Contains(string(mustJSON(t, m["details"])), "locked") {
			lockedMsg = true
		}
		if m["source_ip"] != "127.0.0.1" {
			t.Errorf("login event without the source address: %v", m)
		}
	}
	if failures < 8 || !lockedMsg {
		t.Fatalf("login audit: %d failures (want >= 8), lockout recorded %v", failures, lockedMsg)
	}

	export := e.Must(t, 200, "GET", "/api/v1/audit-events/export", admin, nil)
	keys := e.Must(t, 200, "GET", "/api/v1/api-keys", admin, nil)
	users := e.Must(t, 200, "GET", "/api/v1/users", admin, nil)
	secrets := []string{password, newPassword, token, token2, admin, strings.SplitN(token, ".", 2)[1]}
	for name, text := range map[string]string{"server log": e.LogText(), "audit export": string(export.Body),
		"key listing": string(keys.Body), "user listing": string(users.Body)} {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("a secret (%.6s…) appears in the %s", s, name)
			}
		}
	}
	if len(export.Body) == 0 || !strings.Contains(string(export.Body), `"action":"principal.create"`) {
		t.Fatalf("audit export is empty or incomplete: %.300s", export.Body)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOwnershipLabelsAndCustomFields sets owner, labels and custom fields at
// enrollment and later, and filters the inventory on them.
func TestOwnershipLabelsAndCustomFields(t *testing.T) {
	e := newEnv(t)
	e.Must(t, 201, "POST", "/api/v1/custom-fields", admin, map[string]any{"name": "cost_center", "required": true,
		"allowed_values": []string{"a1", "b2"}})
	e.Must(t, 201, "POST", "/api/v1/custom-fields", admin, map[string]any{"name": "ticket", "type": "number"})
	e.Must(t, 400, "POST", "/api/v1/custom-fields", admin, map[string]any{"name": "x", "type": "color"})
	team := e.Must(t, 201, "POST", "/api/v1/teams", admin, map[string]any{"name": "payments"}).Map(t)["id"].(string)
	enroll := func(cn string, want int, extra map[string]any) map[string]any {
		body := map[string]any{"profile": "tls-server", "keygen": map[string]any{"algorithm": "ecdsa", "bits": 256},
			"subject": map[string]any{"common_name": cn}, "sans": []string{cn}}
		for k, v := range extra {
			body[k] = v
		}
		return e.Must(t, want, "POST", "/api/v1/certificates", admin, body).Map(t)
	}
	bad := enroll("bad.example.com", 400, map[string]any{"custom_fields": map[string]string{"ticket": "abc", "nope": "1"},
		"labels": map[string]string{"bad key!": "x"}})
	if got := violationCodes(bad); strings.Join(got, ",") != "custom_field_required,custom_field_unknown,custom_field_value_invalid,label_invalid" {
		t.Fatalf("every attribute problem should be listed: %v", got)
	}
	c1 := enroll("pay.example.com", 201, map[string]any{"owner": team, "labels": map[string]string{"env": "prod", "app": "pay"},
		"custom_fields": map[string]string{"cost_center": "a1", "ticket": "42"}})
	enroll("web.example.com", 201, map[string]any{"labels": map[string]string{"env": "dev"},
		"custom_fields": map[string]string{"cost_center": "b2"}})
	serial := str(c1, "certificate", "serial")
	count := func(query string) int {
		return len(e.Must(t, 200, "GET", "/api/v1/certificates?"+query, admin, nil).Map(t)["items"].([]any))
	}
	for q, want := range map[string]int{"label.env=prod": 1, "label.env=dev": 1, "field.cost_center=b2": 1,
		"owner=" + team: 1, "label.env=prod&field.cost_center=b2": 0} {
		if got := count(q); got != want {
			t.Errorf("%s: %d certificates, want %d", q, got, want)
		}
	}
	// Later: relabel and hand over to a user; a bad value changes nothing.
	e.Must(t, 400, "PATCH", "/api/v1/certificates/"+serial, admin, map[string]any{"custom_fields": map[string]string{"cost_center": "zz"}})
	e.Must(t, 400, "PATCH", "/api/v1/certificates/"+serial, admin, map[string]any{"owner": "usr_nobody"})
	upd := e.Must(t, 200, "PATCH", "/api/v1/certificates/"+serial, admin, map[string]any{"labels": map[string]string{"env": "staging"}}).Map(t)
	if upd["labels"].(map[string]any)["env"] != "staging" || upd["custom_fields"].(map[string]any)["cost_center"] != "a1" || upd["owner"] != team {
		t.Fatalf("after PATCH: %v", upd)
	}
	if count("label.env=prod") != 0 || count("label.env=staging") != 1 {
		t.Fatal("the inventory does not see the new label")
	}
	// Definitions are cached for enrollment; a change through the API applies at once.
	e.Must(t, 201, "POST", "/api/v1/custom-fields", admin, map[string]any{"name": "approver", "required": true})
	if got := violationCodes(enroll("late.example.com", 400, map[string]any{"custom_fields": map[string]string{"cost_center": "a1"}})); strings.Join(got, ",") != "custom_field_required" {
		t.Fatalf("a field required a moment ago is not enforced: %v", got)
	}
	e.Must(t, 204, "DELETE", "/api/v1/custom-fields/approver", admin, nil)
	enroll("late.example.com", 201, map[string]any{"custom_fields": map[string]string{"cost_center": "a1"}})
	// A bad key is a 401 and an audit event.
	e.Must(t, 401, "GET", "/api/v1/me", "sgt_nope.not-a-real-secret", nil)
	failed := e.Must(t, 200, "GET", "/api/v1/audit-events?action=auth.failed", admin, nil).Map(t)["items"].([]any)
	if len(failed) != 1 || failed[0].(map[string]any)["object_id"] != "GET /api/v1/me" {
		t.Fatalf("failed authentication audit: %v", failed)
	}
}
