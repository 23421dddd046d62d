package httpapi

import (
	"net/http"
	"sort"
	"strings"
)

// compatMethods are the methods the vendors' APIs use.
var compatMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}

// compatRoutes mount each compatibility API under /compat/{name}/ with the
// prefix stripped, so that it sees the vendor's own paths. They are public
// here: each authenticates in its vendor's way and error format.
func (a *API) compatRoutes() []route {
	names := make([]string, 0, len(a.svc.Compat))
	for name := range a.svc.Compat {
		names = append(names, name)
	}
	sort.Strings(names)
	var rs []route
	for _, name := range names {
		h := http.StripPrefix("/compat/"+name, a.svc.Compat[name])
		serve := func(w http.ResponseWriter, r *http.Request) error { h.ServeHTTP(w, r); return nil }
		for _, m := range compatMethods {
			rs = append(rs, route{method: m, pattern: "/compat/" + name + "/{path...}",
				summary: "The " + name + " compatibility API (vendor paths below the prefix)", tag: "compat", public: true, handler: serve})
		}
	}
	return rs
}

// CompatRoutes lists "METHOD /compat/{name}/path" for every route of the
// compatibility APIs that list theirs, for tests that drive them all.
func (a *API) CompatRoutes() []string {
	var out []string
	for name, h := range a.svc.Compat {
		lister, ok := h.(interface{ Patterns() []string })
		if !ok {
			continue
		}
		for _, p := range lister.Patterns() {
			method, path, _ := strings.Cut(p, " ")
			out = append(out, method+" /compat/"+name+path)
		}
	}
	sort.Strings(out)
	return out
}

// Standalone serves one compatibility API at the root of its own listener,
// with the same request ids, access log, panic recovery, body limit and
// metrics as the main listener. ok is false for an unknown name.
func (a *API) Standalone(name string) (h http.Handler, ok bool) {
	compat, ok := a.svc.Compat[name]
	if !ok {
		return nil, false
	}
	inner := a.wrap(route{method: "ANY", pattern: "/compat-listener/" + name, public: true,
		handler: func(w http.ResponseWriter, r *http.Request) error { compat.ServeHTTP(w, r); return nil }})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.serve(w, r, inner) }), true
}
