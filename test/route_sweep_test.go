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
	statuses := map[int]int{}
	check := func(t *testing.T, method, path, what string, status int, body []byte, contentType string) {
		t.Helper()
		statuses[status]++
		if status >= 500 {
			t.Errorf("%s %s (%s): %d %.300s", method, path, what, status, body)
			return
		}
		if status < 400 || !strings.HasPrefix(path, "/api/v1/") {
			return
		}
		var doc struct {
			Code string `json:"code"`
		}
		if !strings.HasPrefix(contentType, "application/problem+json") || json.Unmarshal(body, &doc) != nil || doc.Code == "" {
			t.Errorf("%s %s (%s): %d is not a problem document (%s): %.300s", method, path, what, status, contentType, body)
		}
	}
	routes := e.App.API.Routes()
	if len(routes) < 100 {
		t.Fatalf("only %d routes registered", len(routes))
	}
	for _, r := range routes {
		method, pattern, _ := strings.Cut(r, " ")
		if method == "ANY" || method == "HEAD" {
			continue
		}
		t.Run(strings.ReplaceAll(r, "/", "_"), func(t *testing.T) {
			for _, v := range hostilePathValues {
				path := fillParams(pattern, v)
				resp := e.Do(t, method, path, admin, nil)
				check(t, method, path, "path value "+v[:min(len(v), 20)], resp.Status, resp.Body, resp.Header.Get("Content-Type"))
			}
			path := fillParams(pattern, "x")
			if method == "GET" {
				resp := e.Do(t, method, path+hostileQuery, admin, nil)
				check(t, method, path, "hostile query", resp.Status, resp.Body, resp.Header.Get("Content-Type"))
				return
			}
			for _, b := range hostileBodies {
				resp := e.Do(t, method, path, admin, b.body)
				check(t, method, path, b.name, resp.Status, resp.Body, resp.Header.Get("Content-Type"))
			}
		})
	}
	t.Logf("answers by status: %v", statuses)
	if statuses[400]+statuses[404]+statuses[413] < len(routes)*5 {
		t.Errorf("few refusals for %d routes (%v): is the admin key refused?", len(routes), statuses)
	}
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
