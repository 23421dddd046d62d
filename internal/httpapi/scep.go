package httpapi

import (
	"net/http"
)

// scepRoutes mount the SCEP server (RFC 8894) at /scep/{profile}. Public:
// SCEP authenticates with challenge passwords and signed messages of its own.
func (a *API) scepRoutes() []route {
	if a.svc.SCEP == nil {
		return nil
	}
	serve := func(w http.ResponseWriter, r *http.Request) error { a.svc.SCEP.ServeHTTP(w, r); return nil }
	return []route{
		{method: "GET", pattern: "/scep/{profile}", summary: "SCEP (RFC 8894): ?operation=GetCACaps, GetCACert, PKIOperation (base64 message)", tag: "scep", public: true, handler: serve},
		{method: "POST", pattern: "/scep/{profile}", summary: "SCEP (RFC 8894): ?operation=PKIOperation", tag: "scep", public: true, handler: serve},
		// Clients that append a CGI path to the configured URL (Cisco IOS:
		// /cgi-bin/pkiclient.exe) reach the same server.
		{method: "GET", pattern: "/scep/{profile}/{rest...}", summary: "SCEP with a client-appended path (e.g. /cgi-bin/pkiclient.exe)", tag: "scep", public: true, handler: serve},
		{method: "POST", pattern: "/scep/{profile}/{rest...}", summary: "SCEP PKIOperation with a client-appended path", tag: "scep", public: true, handler: serve},
	}
}
