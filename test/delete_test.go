package test

import (
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/config"
	"github.com/signet-pki/signet/internal/store/postgres"
	"github.com/signet-pki/signet/internal/testutil"
)

// TestDeleteImportedCertificate runs on SQLite and on PostgreSQL: a
// certificate imported through the native API is deleted and is then gone
// from every view of the inventory, the audit log says who deleted what;
// a certificate Signet issued is refused (409) and a requester may delete
// nothing (403).
func TestDeleteImportedCertificate(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t)
			if backend == "postgres" {
				pg := postgres.NewTestDatabase(t)
				e = &env{Server: testutil.StartServerWith(t, func(c *config.Config) { c.Database = pg }), dir: t.TempDir(),
					principals: map[string]string{}}
			}
			testDeleteImported(t, e)
		})
	}
}

// selfSigned is the PEM of a self-signed certificate for cn and www.cn (opensslCert).
func (e *env) selfSigned(t *testing.T, cn string) string {
	t.Helper()
	return readFile(t, filepath.Join(e.dir, e.opensslCert(t, cn, "/CN="+cn, "-addext", "subjectAltName=DNS:"+cn+",DNS:www."+cn)))
}

// importPEM imports one certificate as key and returns its serial.
func (e *env) importPEM(t *testing.T, key, pemText string) string {
	t.Helper()
	m := e.Must(t, 200, "POST", "/api/v1/certificates/import", key, map[string]any{"pem": pemText}).Map(t)
	imported := m["imported"].([]any)
	if len(imported) != 1 {
		t.Fatalf("import: %v", m)
	}
	return imported[0].(map[string]any)["serial"].(string)
}

// listed returns the serials a search of the inventory answers.
func (e *env) listed(t *testing.T, query string) []string {
	t.Helper()
	var out []string
	for _, it := range e.Must(t, 200, "GET", "/api/v1/certificates?"+query, admin, nil).Map(t)["items"].([]any) {
		out = append(out, it.(map[string]any)["serial"].(string))
	}
	return out
}

func testDeleteImported(t *testing.T, e *env) {
	legacy := e.selfSigned(t, "legacy-app.example.org")
	serial := e.importPEM(t, admin, legacy)
	searches := []string{"q=gacy-app.exam", "name=www.legacy-app.example.org", "source=imported", "serial=" + serial}
	for _, q := range searches {
		if got := e.listed(t, q); !contains(got, serial) {
			t.Fatalf("search %s before deletion: %v", q, got)
		}
	}
	total := func() float64 {
		return e.Must(t, 200, "GET", "/api/v1/certificates/summary", admin, nil).Map(t)["total"].(float64)
	}
	before := total()

	// Requesters and auditors may not delete; a refusal is a problem document and changes nothing.
	requester, auditor := e.newKey(t, "dev", "requester"), e.newKey(t, "audit", "auditor")
	for _, key := range []string{requester, auditor} {
		r := e.Must(t, 403, "DELETE", "/api/v1/certificates/"+serial, key, nil)
		if r.Header.Get("Content-Type") != "application/problem+json" || r.Map(t)["code"] != "forbidden" {
			t.Fatalf("delete by a non-manager: %s %s", r.Header.Get("Content-Type"), r.Body)
		}
	}
	e.Must(t, 200, "GET", "/api/v1/certificates/"+serial, admin, nil)

	// An admin deletes it (serial in any accepted form): it is gone from every view.
	upper := strings.ToUpper(serial)
	if r := e.Must(t, 204, "DELETE", "/api/v1/certificates/"+upper, admin, nil); len(r.Body) != 0 {
		t.Fatalf("204 with a body: %s", r.Body)
	}
	if r := e.Must(t, 404, "GET", "/api/v1/certificates/"+serial, admin, nil); r.Map(t)["code"] != "certificate_not_found" {
		t.Fatalf("get after delete: %s", r.Body)
	}
	for _, q := range searches {
		if got := e.listed(t, q); contains(got, serial) {
			t.Errorf("search %s after deletion still lists it: %v", q, got)
		}
	}
	if got := total(); got != before-1 {
		t.Errorf("summary total %v after deletion, want %v", got, before-1)
	}
	e.Must(t, 404, "DELETE", "/api/v1/certificates/"+serial, admin, nil)
	e.Must(t, 400, "DELETE", "/api/v1/certificates/not-a-serial!", admin, nil)

	// The audit log keeps who deleted what, and its chain still verifies.
	ev := e.Must(t, 200, "GET", "/api/v1/audit-events?action=certificate.delete&object_id="+url.QueryEscape(serial), admin, nil).Map(t)["items"].([]any)
	if len(ev) != 1 {
		t.Fatalf("certificate.delete events: %v", ev)
	}
	got := ev[0].(map[string]any)
	details, _ := got["details"].(map[string]any)
	imp := e.Must(t, 200, "GET", "/api/v1/audit-events?action=certificate.import&object_id="+url.QueryEscape(serial), admin, nil).Map(t)["items"].([]any)
	if len(imp) != 1 || got["principal"] == "" || got["principal"] != imp[0].(map[string]any)["principal"] || got["outcome"] != "success" ||
		details["source"] != "imported" || !strings.Contains(details["subject"].(string), "legacy-app.example.org") || details["sha256"] == "" {
		t.Errorf("deletion event: %v (import: %v)", got, imp)
	}
	if v := e.Must(t, 200, "GET", "/api/v1/audit-events/verify", admin, nil).Map(t); v["ok"] != true {
		t.Errorf("audit chain after deletion: %v", v)
	}

	// The same certificate may be imported again, and a manager may delete it.
	again := e.importPEM(t, admin, legacy)
	if again != serial {
		t.Fatalf("re-imported serial %s, want %s", again, serial)
	}
	manager := e.newKey(t, "ops", "manager")
	e.Must(t, 204, "DELETE", "/api/v1/certificates/"+serial, manager, nil)

	// A certificate Signet issued stays.
	issued, _ := e.issue(t, admin, "kept")
	r := e.Must(t, 409, "DELETE", "/api/v1/certificates/"+issued, admin, nil)
	if r.Map(t)["code"] != "certificate_issued_by_signet" {
		t.Fatalf("delete an issued certificate: %s", r.Body)
	}
	e.Must(t, 200, "GET", "/api/v1/certificates/"+issued, admin, nil)
}
