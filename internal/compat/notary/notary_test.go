package notary

import (
	"encoding/json"
	"testing"

	"github.com/signet-pki/signet/internal/auth"
)

func TestParseFlexibleID(t *testing.T) {
	for _, tc := range []struct {
		raw string
		id  int64
		ok  bool
	}{
		{`"7"`, 7, true}, {`7`, 7, true}, {`" 12 "`, 12, true},
		{``, 0, false}, {`null`, 0, false}, {`"0"`, 0, false}, {`-3`, 0, false}, {`"ca_x"`, 0, false}, {`1.5`, 0, false},
	} {
		id, err := parseFlexibleID(json.RawMessage(tc.raw))
		if (err == nil) != tc.ok || id != tc.id {
			t.Errorf("parseFlexibleID(%s) = %d, %v; want %d ok=%v", tc.raw, id, err, tc.id, tc.ok)
		}
	}
}

func TestRoleIDs(t *testing.T) {
	for _, tc := range []struct {
		roles []string
		want  int
	}{
		{[]string{auth.RoleAdmin}, 0}, {[]string{auth.RoleRequester, auth.RoleManager}, 1},
		{[]string{auth.RoleRequester}, 2}, {[]string{auth.RoleAuditor}, 3}, {nil, 3},
	} {
		if got := roleID(tc.roles); got != tc.want {
			t.Errorf("roleID(%v) = %d, want %d", tc.roles, got, tc.want)
		}
		if len(tc.roles) == 1 && roleNames[tc.want] != tc.roles[0] {
			t.Errorf("roleNames[%d] = %s, want %s", tc.want, roleNames[tc.want], tc.roles[0])
		}
	}
}

func TestVisible(t *testing.T) {
	rec := &csrRecord{Requester: "svc_a"}
	for _, tc := range []struct {
		name string
		p    *auth.Principal
		org  string
		want bool
	}{
		{"own requester", &auth.Principal{ID: "svc_a", OrgID: "org_1", Roles: []string{auth.RoleRequester}}, "org_1", true},
		{"other requester", &auth.Principal{ID: "svc_b", OrgID: "org_1", Roles: []string{auth.RoleRequester}}, "org_1", false},
		{"manager", &auth.Principal{ID: "svc_c", OrgID: "org_1", Roles: []string{auth.RoleManager}}, "org_1", true},
		{"other organization", &auth.Principal{ID: "svc_a", OrgID: "org_2", Roles: []string{auth.RoleAdmin}}, "org_1", false},
		{"global admin", &auth.Principal{ID: "usr_x", Roles: []string{auth.RoleAdmin}}, "org_1", true},
	} {
		if got := visible(tc.p, tc.org, rec); got != tc.want {
			t.Errorf("%s: visible = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// FuzzParseFlexibleID: any certificate_authority_id is a positive id or an error.
func FuzzParseFlexibleID(f *testing.F) {
	for _, s := range []string{`"7"`, `7`, `null`, `""`, `"-1"`, `1e3`, `{"a":1}`, `"99999999999999999999"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := parseFlexibleID(json.RawMessage(s))
		if err == nil && id <= 0 {
			t.Fatalf("parseFlexibleID(%q) = %d", s, id)
		}
	})
}
