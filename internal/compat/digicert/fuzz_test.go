package digicert

import (
	"encoding/json"
	"testing"
)

// FuzzRequestParsing feeds arbitrary text to the parsers of untrusted
// input this package has of its own (CSR normalisation and the attribute
// check, validity conversion, Accept negotiation, enrollment profile
// references): none may panic, and a CSR they accept must be PEM.
func FuzzRequestParsing(f *testing.F) {
	for _, s := range []string{"", "MIIB", "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----",
		`{"unit":"hours","duration":48}`, `{"id":"prof_x"}`, `"tls-server"`, "application/json;q=0.9, text/*", "*/*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if csr, err := normalizeCSR("csr", s); err == nil {
			if len(csr) < 10 || csr[:10] != "-----BEGIN" {
				t.Fatalf("accepted CSR is not PEM: %q", csr)
			}
			_ = checkAttributes(&attributesIn{Subject: subjectIn{CommonName: s}}, csr)
		}
		var v validityIn
		if json.Unmarshal([]byte(s), &v) == nil {
			if d, err := v.days("validity"); err == nil && d <= 0 && (v.Duration != 0 || v.DurationValue != 0) {
				t.Fatalf("validity %+v gave %d days", v, d)
			}
		}
		var p profileRef
		_ = json.Unmarshal([]byte(s), &p)
		_ = acceptsJSON(s)
	})
}
