package test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/csv"
	"encoding/pem"
	"math/big"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestReportsMatchTheInventory builds each report and checks it against the
// inventory's own counts, in JSON, CSV and HTML, through the API and the CLI.
func TestReportsMatchTheInventory(t *testing.T) {
	e := newEnv(t)
	var serials []string
	for _, d := range []int{10, 20, 60} {
		m := e.Must(t, 201, "POST", "/api/v1/certificates", admin, map[string]any{"profile": "tls-server", "validity_days": d,
			"keygen": map[string]any{"algorithm": "ecdsa", "bits": 256}, "sans": []string{"r" + strconv.Itoa(d) + ".example.com"}}).Map(t)
		serials = append(serials, str(m, "certificate", "serial"))
	}
	e.Must(t, 200, "POST", "/api/v1/certificates/"+serials[2]+"/revoke", admin, map[string]any{"reason": "superseded"})
	// An imported legacy certificate: RSA-1024, SHA-1.
	key, _ := rsa.GenerateKey(rand.Reader, 1024)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(77), Subject: pkix.Name{CommonName: "legacy.example.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0), SignatureAlgorithm: x509.SHA1WithRSA}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	e.Must(t, 200, "POST", "/api/v1/certificates/import", admin, map[string]any{"pem": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))})

	expiring := e.Must(t, 200, "GET", "/api/v1/reports/expiring?days=30", admin, nil).Map(t)
	search := e.Must(t, 200, "GET", "/api/v1/certificates?status=active&expiring_within=30d&total=true", admin, nil).Map(t)
	if expiring["totals"].(map[string]any)["expiring"] != search["total"] || search["total"].(float64) != 2 {
		t.Fatalf("expiring report %v vs search total %v", expiring["totals"], search["total"])
	}
	breakdown := e.Must(t, 200, "GET", "/api/v1/reports/breakdown", admin, nil).Map(t)
	summary := e.Must(t, 200, "GET", "/api/v1/certificates/summary", admin, nil).Map(t)
	var byStatus int
	for _, row := range breakdown["rows"].([]any) {
		cells := row.([]any)
		if cells[0] == "status" {
			n, _ := strconv.Atoi(cells[2].(string))
			byStatus += n
			if want := summary["by_status"].(map[string]any)[cells[1].(string)]; want != float64(n) {
				t.Errorf("status %s: report %d, summary %v", cells[1], n, want)
			}
		}
	}
	if float64(byStatus) != summary["total"] {
		t.Errorf("breakdown by status sums to %d, summary total %v", byStatus, summary["total"])
	}
	weak := e.Must(t, 200, "GET", "/api/v1/reports/weak", admin, nil).Map(t)
	if rows := weak["rows"].([]any); len(rows) != 2 || !strings.Contains(string(mustJSON(t, rows)), "RSA key of 1024 bits") {
		t.Fatalf("weak report: %v", rows)
	}
	rev := e.Must(t, 200, "GET", "/api/v1/reports/revocations", admin, nil).Map(t)
	if rows := rev["rows"].([]any); len(rows) != 1 || rows[0].([]any)[0] != serials[2] {
		t.Fatalf("revocations report: %v", rows)
	}
	vol := e.Must(t, 200, "GET", "/api/v1/reports/volume?days=7&format=csv", admin, nil)
	recs, err := csv.NewReader(strings.NewReader(string(vol.Body))).ReadAll()
	if err != nil || len(recs) != 8 || recs[0][1] != "issued" || recs[7][1] != "3" || recs[7][2] != "1" {
		t.Fatalf("volume CSV: %v %v", err, recs)
	}
	html := e.Must(t, 200, "GET", "/api/v1/reports/expiring?format=html", admin, nil)
	if html.Header.Get("Content-Type") != "text/html; charset=utf-8" || !strings.Contains(string(html.Body), "<h1>Certificates expiring within 30 days</h1>") {
		t.Fatalf("HTML report: %.200s", html.Body)
	}
	e.Must(t, 404, "GET", "/api/v1/reports/nonsense", admin, nil)
	e.Must(t, 400, "GET", "/api/v1/reports/expiring?format=pdf", admin, nil)
	out, _, err := runCLI("--server", e.URL, "--api-key", admin, "report", "expiring")
	if err != nil || !strings.HasPrefix(out, "serial,common_name,owner") || strings.Count(out, "\n") != 3 {
		t.Fatalf("signet report expiring: %v\n%s", err, out)
	}
}
