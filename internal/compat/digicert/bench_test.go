package digicert_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/signet-pki/signet/internal/testutil"
)

// BenchmarkIssue compares one issuance through the DigiCert API with the
// same issuance through the native API (same server, same CSR, sequential),
// to show what the adapter costs.
func BenchmarkIssue(b *testing.B) {
	srv := testutil.StartServer(b)
	key := ecKey(b)
	csrPEM := csr(b, key, "bench.example.com")
	post := func(b *testing.B, url string, body any, header string, value string) {
		buf, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", url, bytes.NewReader(buf))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(header, value)
		resp, err := srv.Client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 201 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	b.Run("digicert", func(b *testing.B) {
		body := map[string]any{"profile": map[string]any{"id": "tls-server"}, "seat": map[string]any{"seat_id": "bench"}, "csr": csrPEM}
		for b.Loop() {
			post(b, srv.URL+"/compat/digicert/mpki/api/v1/certificate", body, "x-api-key", testutil.AdminKey)
		}
	})
	b.Run("native", func(b *testing.B) {
		body := map[string]any{"profile": "tls-server", "csr": csrPEM}
		for b.Loop() {
			post(b, srv.URL+"/api/v1/certificates", body, "Authorization", "Bearer "+testutil.AdminKey)
		}
	})
}
