package test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// hostileBodies are request bodies no endpoint should take, each a kind
// of mistake or attack a client may send.
var hostileBodies = []struct{ name, body string }{
	{"truncated JSON", `{"name": `},
	{"array", `[]`},
	{"string", `"hello"`},
	{"number", `123`},
	{"null", `null`},
	{"unknown field", `{"no_such_field": 1}`},
	{"wrong types", `{"name": 7, "profile": [], "csr": {}, "roles": "admin", "limit": "x"}`},
	{"deep nesting", strings.Repeat("[", 20000) + strings.Repeat("]", 20000)},
	{"invalid UTF-8", "{\"name\": \"\xff\xfe\"}"},
	{"oversized", `{"name":"` + strings.Repeat("A", 3<<20) + `"}`},
}

// hostilePathValues replace each {param} of a route (already escaped).
var hostilePathValues = []string{
	"x", "%00", "..%2f..", strings.Repeat("a", 3000), "'%20OR%201=1--", "%C3%A9", "-1",
	"99999999999999999999999", "%ff", "%2e%2e",
}

// hostileQuery is every list filter at once, each malformed.
const hostileQuery = "?limit=-5&cursor=%ff%fe&sort=nope&status=zzz&expires_before=yesterday&expires_after=1e9" +
	"&expiring_within=-3&org=nope&q=%00&profile=%ff&ca=x&after=-1&since=never&format=nope&type=%00"

// TestEveryRouteRefusesBadInputWithAProblem drives every registered route
// with malformed bodies, path values and query strings, as an admin (so
// that authorization does not answer first): nothing may answer 5xx, and
// every refusal from the native API is a problem document with a code.
func TestEveryRouteRefusesBadInputWithAProblem(t *testing.T) {
	e := newEnv(t)
	var routes []string
	for _, r := range e.App.API.Routes() {
		if !strings.HasPrefix(r, "ANY ") && !strings.HasPrefix(r, "HEAD ") {
			routes = append(routes, r)
		}
	}
	statuses := sweepRoutes(t, e, routes, admin, nil, func(t *testing.T, path string, status int, body []byte, contentType string) {
		if !strings.HasPrefix(path, "/api/v1/") {
			return
		}
		var doc struct {
			Code string `json:"code"`
		}
		if !strings.HasPrefix(contentType, "application/problem+json") || json.Unmarshal(body, &doc) != nil || doc.Code == "" {
			t.Errorf("%d is not a problem document (%s): %.300s", status, contentType, body)
		}
	})
	if len(routes) < 100 || statuses[400]+statuses[404]+statuses[413] < len(routes)*5 {
		t.Errorf("few refusals for %d routes (%v): is the admin key refused?", len(routes), statuses)
	}
}

// TestEveryCompatRouteRefusesBadInput does the same to the DigiCert,
// Sectigo, Notary and Infisical APIs, each authenticated in its vendor's
// way as the admin: no 5xx, and every refusal is a JSON body (the vendors'
// error documents differ; their tests check each one's shape).
func TestEveryCompatRouteRefusesBadInput(t *testing.T) {
	e := newEnv(t)
	me := e.Must(t, 200, "GET", "/api/v1/me", admin, nil).Map(t)
	credentials := map[string][]string{
		"digicert":  {"x-api-key", admin},
		"sectigo":   {"login", me["name"].(string), "password", admin, "customerUri", "default"},
		"notary":    {"Authorization", "Bearer " + admin},
		"infisical": {"Authorization", "Bearer " + admin},
	}
	byVendor := map[string][]string{}
	for _, r := range e.App.API.CompatRoutes() {
		_, path, _ := strings.Cut(r, " ")
		vendor := strings.SplitN(strings.TrimPrefix(path, "/compat/"), "/", 2)[0]
		byVendor[vendor] = append(byVendor[vendor], r)
	}
	for vendor, headers := range credentials {
		t.Run(vendor, func(t *testing.T) {
			routes := byVendor[vendor]
			statuses := sweepRoutes(t, e, routes, "", headers, func(t *testing.T, _ string, status int, body []byte, _ string) {
				if len(body) > 0 && !json.Valid(body) {
					t.Errorf("%d is not JSON: %.300s", status, body)
				}
			})
			if len(routes) < 8 || statuses[401]+statuses[403] > len(routes) {
				t.Errorf("%d routes, answers %v: is the admin refused?", len(routes), statuses)
			}
		})
	}
}

// sweepRoutes sends the hostile path values to every route, the hostile
// query to GET routes and the hostile bodies to the others, and fails on
// any 5xx; refusals (4xx) also go through refused. It returns the count of
// answers by status.
func sweepRoutes(t *testing.T, e *env, routes []string, key string, headers []string,
	refused func(t *testing.T, path string, status int, body []byte, contentType string)) map[int]int {
	statuses := map[int]int{}
	send := func(t *testing.T, method, path, what string, body any) {
		t.Helper()
		resp := e.Do(t, method, path, key, body, headers...)
		statuses[resp.Status]++
		switch {
		case resp.Status >= 500:
			t.Errorf("%s %s (%s): %d %.300s", method, path, what, resp.Status, resp.Body)
		case resp.Status >= 400:
			refused(t, path, resp.Status, resp.Body, resp.Header.Get("Content-Type"))
		}
	}
	for _, r := range routes {
		method, pattern, _ := strings.Cut(r, " ")
		t.Run(strings.ReplaceAll(r, "/", "_"), func(t *testing.T) {
			for _, v := range hostilePathValues {
				send(t, method, fillParams(pattern, v), "path value "+v[:min(len(v), 20)], nil)
			}
			path := fillParams(pattern, "x")
			if method == "GET" {
				send(t, method, path+hostileQuery, "hostile query", nil)
				return
			}
			for _, b := range hostileBodies {
				send(t, method, path, b.name, b.body)
			}
		})
	}
	t.Logf("answers by status: %v", statuses)
	return statuses
}

// fillParams puts v in place of every {param} of a route pattern.
func fillParams(pattern, v string) string {
	var b strings.Builder
	for {
		open := strings.Index(pattern, "{")
		if open < 0 {
			b.WriteString(pattern)
			return b.String()
		}
		end := strings.Index(pattern[open:], "}")
		b.WriteString(pattern[:open])
		if strings.HasSuffix(pattern[open:open+end], "...") {
			b.WriteString(url.PathEscape("x"))
		} else {
			b.WriteString(v)
		}
		pattern = pattern[open+end+1:]
	}
}

// TestOrgFilterByIDOrName: a list's ?org= takes an organization's id or
// its name; a name that names nothing is 404 (a typo must not look like an
// empty inventory), an unknown id stays a filter (a deleted organization's
// audit events remain), and a principal of one organization may name only
// its own, whatever the other exists or not.
func TestOrgFilterByIDOrName(t *testing.T) {
	e := newEnv(t)
	acme := e.Must(t, 201, "POST", "/api/v1/organizations", admin, map[string]any{"name": "acme"}).Map(t)["id"].(string)
	e.issue(t, admin, "in-default")
	total := func(key, org string) float64 {
		return e.Must(t, 200, "GET", "/api/v1/certificates?total=true&org="+org, key, nil).Map(t)["total"].(float64)
	}
	if byID, byName := total(admin, "org_default"), total(admin, "default"); byID < 1 || byName != byID {
		t.Fatalf("default organization by id: %v certificates, by name: %v", byID, byName)
	}
	if n := total(admin, "acme"); n != 0 {
		t.Fatalf("acme by name: %v certificates", n)
	}
	for _, path := range []string{"/api/v1/certificates?org=acmee", "/api/v1/profiles?org=acmee", "/api/v1/requests?org=acmee",
		"/api/v1/audit-events?org=acmee", "/api/v1/certificates/summary?org=acmee", "/api/v1/domains?org=acmee",
		"/api/v1/teams?org=acmee", "/api/v1/users?org=acmee", "/api/v1/service-accounts?org=acmee"} {
		if r := e.Must(t, 404, "GET", path, admin, nil).Map(t); r["code"] != "organization_not_found" {
			t.Errorf("%s: %v", path, r)
		}
	}
	e.Must(t, 200, "GET", "/api/v1/audit-events?org=org_deletedlongago", admin, nil)

	sa := e.Must(t, 201, "POST", "/api/v1/service-accounts", admin, map[string]any{"org": acme, "name": "acme-auditor", "roles": []string{"auditor"}}).Map(t)
	key := e.Must(t, 201, "POST", "/api/v1/api-keys", admin, map[string]any{"name": "acme-auditor", "principal_id": sa["id"]}).Map(t)["key"].(string)
	if total(key, "acme") != 0 || total(key, acme) != 0 {
		t.Fatal("acme's own auditor could not name acme")
	}
	for _, other := range []string{"default", "org_default", "acmee"} {
		if r := e.Must(t, 403, "GET", "/api/v1/certificates?org="+other, key, nil).Map(t); r["code"] != "other_organization" {
			t.Errorf("acme's auditor naming %s: %v", other, r)
		}
	}
}
