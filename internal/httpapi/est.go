package httpapi

import (
	"net/http"
)

// estRoutes mount the EST server (RFC 7030) under /.well-known/est/. Public:
// EST authenticates on its own (client certificates, HTTP Basic,
// enrollment secrets) and answers in its own format.
func (a *API) estRoutes() []route {
	if a.svc.EST == nil {
		return nil
	}
	serve := func(w http.ResponseWriter, r *http.Request) error { a.svc.EST.ServeHTTP(w, r); return nil }
	return []route{
		{method: "GET", pattern: "/.well-known/est/{path...}", summary: "EST (RFC 7030): [{profile}/]cacerts, csrattrs", tag: "est", public: true, handler: serve},
		{method: "POST", pattern: "/.well-known/est/{path...}", summary: "EST (RFC 7030): [{profile}/]simpleenroll, simplereenroll, serverkeygen", tag: "est", public: true, handler: serve},
	}
}
