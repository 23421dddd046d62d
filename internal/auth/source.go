package auth

import (
	"net"
	"net/http"
)

// SourceIP is the address a request comes from, as principals and audit
// events record it: RemoteAddr without its port (as is when it has none).
func SourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
