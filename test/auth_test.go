package test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestAPIKeysAuthenticateExpireAndRevoke(t *testing.T) {
	e := newEnv(t)
	sa := e.Must(t, 201, "POST", "/api/v1/service-accounts", admin, map[string]any{"name": "ci", "roles": []string{"requester"}}).Map(t)
	created := e.Must(t, 201, "POST", "/api/v1/api-keys", admin, map[string]any{"name": "ci", "principal_id": sa["id"]}).Map(t)
	token := created["key"].(string)
	id := created["id"].(string)
	me := e.Must(t, 200, "GET", "/api/v1/me", token, nil).Map(t)
	if me["api_key_id"] != id || me["roles"].([]any)[0] != "requester" {
		t.Fatalf("me: %v", me)
	}
	// Listed without the secret, stored hashed.
	list := e.Must(t, 200, "GET", "/api/v1/api-keys", admin, nil)
	if strings.Contains(string(list.Body), token) || strings.Contains(string(list.Body), strings.SplitN(token, ".", 2)[1]) {
		t.Fatal("key secret appears in the listing")
	}
	// A requester may not create keys or CAs.
	if r := e.Must(t, 403, "POST", "/api/v1/api-keys", token, map[string]any{"name": "x", "roles": []string{"admin"}}); r.Map(t)["code"] != "roles_exceed_principal" {
		t.Fatalf("requester creating keys: %s", r.Body)
	}
	e.Must(t, 403, "POST", "/api/v1/cas", token, map[string]any{"name": "x"})
	// An auditor reads but changes nothing.
	aud := e.newKey(t, "auditor", "auditor")
	e.Must(t, 200, "GET", "/api/v1/certificates", aud, nil)
	e.Must(t, 403, "POST", "/api/v1/certificates", aud, map[string]any{"profile": "tls-server"})
	// Revoked keys are refused at once.
	e.Must(t, 200, "POST", "/api/v1/api-keys/"+id+"/revoke", admin, nil)
	if r := e.Must(t, 401, "GET", "/api/v1/me", token, nil); r.Map(t)["code"] != "invalid_api_key" {
		t.Fatalf("revoked key: %s", r.Body)
	}
	e.Must(t, 409, "POST", "/api/v1/api-keys/"+id+"/revoke", admin, nil)
	// Expired keys are refused.
	soon := time.Now().Add(1500 * time.Millisecond).UTC().Format(time.RFC3339Nano)
	exp := e.Must(t, 201, "POST", "/api/v1/api-keys", admin, map[string]any{"name": "short", "roles": []string{"auditor"}, "expires_at": soon}).Map(t)
	e.Must(t, 200, "GET", "/api/v1/me", exp["key"].(string), nil)
	time.Sleep(1600 * time.Millisecond)
	e.Must(t, 401, "GET", "/api/v1/me", exp["key"].(string), nil)
	e.Must(t, 400, "POST", "/api/v1/api-keys", admin, map[string]any{"name": "past", "roles": []string{"auditor"}, "expires_at": "2001-01-01T00:00:00Z"})
	e.Must(t, 400, "POST", "/api/v1/api-keys", admin, map[string]any{"name": "norole", "roles": []string{"wizard"}})
	// Malformed credentials.
	for _, h := range []string{"Basic abc", "Bearer", "Bearer sgt_nothing.here", "Bearer " + strings.Repeat("x", 40)} {
		req, _ := http.NewRequest("GET", e.URL+"/api/v1/me", nil)
		req.Header.Set("Authorization", h)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
			t.Fatalf("%q: status %d", h, resp.StatusCode)
		}
	}
	if strings.Contains(e.LogText(), token) || strings.Contains(e.LogText(), admin) {
		t.Fatal("an API key appears in the server log")
	}
}

func TestOpenAPIDocumentMatchesRoutes(t *testing.T) {
	e := newEnv(t)
	doc := e.Must(t, 200, "GET", "/api/v1/openapi.json", "", nil).Map(t)
	if doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi version %v", doc["openapi"])
	}
	paths := doc["paths"].(map[string]any)
	documented := map[string]bool{}
	for p, item := range paths {
		for m := range item.(map[string]any) {
			documented[strings.ToUpper(m)+" "+p] = true
		}
	}
	registered := e.App.API.Routes()
	if len(registered) != len(documented) {
		t.Errorf("%d routes registered, %d documented", len(registered), len(documented))
	}
	for _, r := range registered {
		if !documented[r] {
			t.Errorf("route %s is not documented", r)
		}
		// Every documented operation is really served (not the 404 fallback or a 405).
		method, path, _ := strings.Cut(r, " ")
		path = strings.NewReplacer("{id}", "x", "{serial}", "ab").Replace(path)
		resp := e.Do(t, method, path, admin, nil)
		if resp.Status == 405 || strings.Contains(string(resp.Body), "route_not_found") {
			t.Errorf("%s %s is documented but not served: %d %s", method, path, resp.Status, resp.Body)
		}
	}
}
