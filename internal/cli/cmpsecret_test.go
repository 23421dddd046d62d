package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestCMPSecretCommands(t *testing.T) {
	s := startServer(t)
	created := s.as(testAdminKey, "cmp-secret", "create", "--profile", "tls-server", "--name", "router7", "--ttl-hours", "2")
	if created.err != nil {
		t.Fatalf("create: %v\n%s", created.err, created.stderr)
	}
	secret := strings.TrimSpace(created.stdout)
	if len(secret) != 43 || !strings.Contains(created.stderr, "cmpref_") || !strings.Contains(created.stderr, "shown only now") {
		t.Fatalf("create: stdout %q stderr %q", created.stdout, created.stderr)
	}
	var list struct {
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal([]byte(s.ok(t, "cmp-secret", "list", "-o", "json")), &list); err != nil || len(list.Items) != 1 {
		t.Fatalf("list: %v %v", err, list.Items)
	}
	ref := list.Items[0]["reference"].(string)
	if list.Items[0]["secret"] != nil || list.Items[0]["name"] != "router7" || list.Items[0]["status"] != "active" {
		t.Fatalf("list item: %v", list.Items[0])
	}
	if out := s.ok(t, "cmp-secret", "get", ref); !strings.Contains(out, ref) || strings.Contains(out, secret) {
		t.Fatalf("get: %s", out)
	}
	s.ok(t, "cmp-secret", "delete", ref)
	if r := s.as(testAdminKey, "cmp-secret", "get", ref); r.err == nil {
		t.Fatal("a deleted secret is still there")
	}
	if r := s.as(testAdminKey, "cmp-secret", "create"); r.err == nil {
		t.Fatal("create without --profile succeeded")
	}
}
