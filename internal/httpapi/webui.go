package httpapi

import (
	"net/http"

	"github.com/signet-pki/signet/internal/problem"
)

// webUIRoutes mount the web console (internal/webui) on the main listener:
// the sign-in and sign-out forms, the dashboard at "/" and its pages under
// /ui/. They are public here: the UI authenticates its own session cookie
// and CSRF tokens and renders HTML errors.
func (a *API) webUIRoutes() []route {
	if a.svc.WebUI == nil {
		return nil
	}
	serve := func(w http.ResponseWriter, r *http.Request) error { a.svc.WebUI.ServeHTTP(w, r); return nil }
	// "GET /" is the dashboard; the pattern also catches every GET no other
	// route takes, which keep the API's problem document.
	dashboard := func(w http.ResponseWriter, r *http.Request) error {
		if r.URL.Path != "/" {
			return problem.NotFound("route_not_found", "no route %s %s", r.Method, r.URL.Path)
		}
		return serve(w, r)
	}
	return []route{
		{method: "GET", pattern: "/", summary: "Web UI: dashboard (HTML)", tag: "webui", public: true, handler: dashboard},
		{method: "GET", pattern: "/login", summary: "Web UI: sign-in form (HTML)", tag: "webui", public: true, handler: serve},
		{method: "POST", pattern: "/login", summary: "Web UI: sign in (form post; sets the session cookie)", tag: "webui", public: true, handler: serve},
		{method: "POST", pattern: "/logout", summary: "Web UI: sign out (form post with CSRF token)", tag: "webui", public: true, handler: serve},
		{method: "GET", pattern: "/ui/{path...}", summary: "Web UI pages (HTML)", tag: "webui", public: true, handler: serve},
		{method: "POST", pattern: "/ui/{path...}", summary: "Web UI form posts (session cookie and CSRF token)", tag: "webui", public: true, handler: serve},
	}
}
