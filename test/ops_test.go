package test

import (
	"strings"
	"testing"
)

// TestMetricsAndReadiness: /readyz checks the database, migrations and CA
// keys; /metrics needs a global admin or auditor and reports issuance
// requests, the inventory, the database pool and leadership.
func TestMetricsAndReadiness(t *testing.T) {
	e := newEnv(t)
	if m := e.Must(t, 200, "GET", "/readyz", "", nil).Map(t); m["status"] != "ready" {
		t.Fatalf("readyz: %v", m)
	}
	e.issue(t, admin, "metrics")
	e.Must(t, 401, "GET", "/metrics", "", nil)
	auditor := e.newKey(t, "global-auditor", "auditor") // service accounts of the default organization
	e.Must(t, 403, "GET", "/metrics", auditor, nil)
	body := string(e.Must(t, 200, "GET", "/metrics", admin, nil).Body)
	for _, want := range []string{
		`signet_http_requests_total{code="201",route="POST /api/v1/certificates"} 1`,
		`signet_http_request_duration_seconds_count{route="POST /api/v1/certificates"} 1`,
		`signet_certificates{status="active"} 1`, // plain HTTP: no server certificate
		`signet_job_leader 1`,
		`signet_db_open_connections{database="sqlite"}`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q in:\n%s", want, grepLines(body, "signet_"))
		}
	}
}

func grepLines(text, prefix string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
