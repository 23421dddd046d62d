package digicert_test

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestCertificateSearchFilters: every CertificateSearchParameters filter of
// the vendor's OpenAPI narrows the search, alone and combined with paging.
func TestCertificateSearchFilters(t *testing.T) {
	e := newEnv(t)
	prof := e.profileID("tls-server")
	e.must(201, "POST", "/mpki/api/v1/seat", map[string]any{"seat_id": "device-1", "seat_type": map[string]any{"id": "DEVICE_SEAT"}})

	long := e.issue(prof, "user-1", csr(t, ecKey(t), "long.example.com"))["serial_number"].(string)
	short := e.must(201, "POST", "/mpki/api/v1/certificate", map[string]any{"profile": map[string]any{"id": prof},
		"seat": map[string]any{"seat_id": "user-1"}, "csr": csr(t, ecKey(t), "short.example.com"),
		"validity": map[string]any{"unit": "days", "duration": 10}}).obj(t)["serial_number"].(string)
	device := e.issue(prof, "device-1", csr(t, ecKey(t), "device.example.com"))["serial_number"].(string)

	// A certificate of another CA, valid since two days, with its own AKI.
	extDER, extAKI := externalIssued(t)
	imp := e.must(200, "POST", "/mpki/api/v1/certificate-import", []map[string]any{
		{"cert_type": "x509", "seat_id": "legacy", "cert": base64.StdEncoding.EncodeToString(extDER)}}).arr(t)
	extern := imp[0].(map[string]any)["serial_number"].(string)

	leaf := parsePEM(t, e.must(200, "GET", "/mpki/api/v1/certificate/"+long, nil).obj(t)["certificate"].(string))
	caSKI := hex.EncodeToString(leaf.AuthorityKeyId)
	chain := e.must(200, "GET", "/mpki/api/v1/certificate/"+long+"/additional-formats", nil).obj(t)["x509_cert_chain"].([]any)
	issuingCA := parsePEM(t, chain[1].(map[string]any)["cert_blob"].(string))
	orgID := e.native(200, "GET", "/api/v1/me", nil)["org_id"].(string)

	now := time.Now().UTC()
	day := func(d int) string { return now.AddDate(0, 0, d).Format("2006-01-02") }
	signet := []string{long, short, device}
	all := append([]string{extern}, signet...)
	cases := []struct {
		name, query string
		want        []string
	}{
		{"no filter", "", all},
		{"valid_to (expiring before)", "valid_to=" + day(20), []string{short, extern}},
		{"valid_to as a time", "valid_to=" + now.AddDate(0, 0, 20).Format(time.RFC3339), []string{short, extern}},
		{"valid_from (issued after)", "valid_from=" + day(-1), signet},
		{"valid_from in the future", "valid_from=" + day(2), nil},
		{"valid_from and valid_to", "valid_from=" + day(-1) + "&valid_to=" + day(20), []string{short}},
		{"aki of the issuing CA", "aki=" + strings.ToUpper(caSKI), signet},
		{"aki with colons", "aki=" + colons(extAKI), []string{extern}},
		{"aki of nobody", "aki=0102030405", nil},
		{"issuing_ca_name", "issuing_ca_name=" + url.QueryEscape(issuingCA.Subject.CommonName), signet},
		{"issuing_ca_name, Signet name", "issuing_ca_name=signet-issuing", signet},
		{"issuing_ca_name unknown", "issuing_ca_name=Nobody+CA", nil},
		{"issuing_ca_serial_number hex", "issuing_ca_serial_number=" + strings.ToUpper(issuingCA.SerialNumber.Text(16)), signet},
		{"issuing_ca_serial_number decimal", "issuing_ca_serial_number=" + issuingCA.SerialNumber.String(), signet},
		{"issuing_ca_id by name", "issuing_ca_id=signet-issuing", signet},
		{"issuing_ca_id unknown", "issuing_ca_id=ca_nope", nil},
		{"business_unit_id", "business_unit_id=" + orgID, all},
		{"business_unit_name", "business_unit_name=default", all},
		{"account_id", "account_id=" + orgID, all},
		{"business_unit_id unknown", "business_unit_id=org_nope", nil},
		{"seat_type_id", "seat_type_id=DEVICE_SEAT", []string{device}},
		{"seat_type_id and seat", "seat_type_id=USER_SEAT&seat_id=user-1", []string{long, short}},
		{"combined with common_name", "common_name=short&valid_from=" + day(-1), []string{short}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := e.must(200, "GET", "/mpki/api/v1/certificate-search?limit=100&"+c.query, nil).obj(t)
			var serials []string
			for _, it := range got["items"].([]any) {
				serials = append(serials, it.(map[string]any)["serial_number"].(string))
			}
			if !sameSet(serials, c.want) || int(got["total"].(float64)) != len(c.want) {
				t.Errorf("%s: total %v items %v, want %v", c.query, got["total"], serials, c.want)
			}
		})
	}

	// Paging over a filter applied by the scan: the total counts every
	// match, the window is offset..offset+limit, newest first.
	p := e.must(200, "GET", "/mpki/api/v1/certificate-search?valid_from="+day(-1)+"&limit=1&offset=1", nil).obj(t)
	items := p["items"].([]any)
	if p["total"].(float64) != 3 || len(items) != 1 || items[0].(map[string]any)["serial_number"] != short {
		t.Errorf("paged scan: %v", p)
	}

	for _, c := range []struct{ query, field string }{
		{"valid_from=yesterday", "valid_from"},
		{"valid_to=2026-13-45", "valid_to"},
		{"aki=zz", "aki"},
		{"issuing_ca_serial_number=not-a-serial", "issuing_ca_serial_number"},
		{"seat_type_id=ROBOT_SEAT", "seat_type_id"},
	} {
		r := e.do("GET", "/mpki/api/v1/certificate-search?"+c.query, e.key, nil)
		wantError(t, c.query, r, 400, "invalid_input", c.field)
	}
}

// externalIssued is a leaf signed by a CA Signet does not know, valid from
// two days ago, as DER, with the AKI it carries (hex).
func externalIssued(t *testing.T) ([]byte, string) {
	t.Helper()
	caKey, leafKey := ecKey(t), ecKey(t)
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(77), Subject: pkix.Name{CommonName: "Old Corp CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, SubjectKeyId: []byte{0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4},
		NotBefore: now.AddDate(0, 0, -10), NotAfter: now.AddDate(1, 0, 0)}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(0x1e6ac7), Subject: pkix.Name{CommonName: "old.example.com"},
		DNSNames: []string{"old.example.com"}, NotBefore: now.AddDate(0, 0, -2), NotAfter: now.AddDate(0, 0, 5)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, leafKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	return der, hex.EncodeToString(caTmpl.SubjectKeyId)
}

func parsePEM(t *testing.T, s string) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		t.Fatalf("not PEM: %q", s)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func colons(h string) string {
	var parts []string
	for i := 0; i+2 <= len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	a, b = append([]string(nil), a...), append([]string(nil), b...)
	sort.Strings(a)
	sort.Strings(b)
	for i := range a {
		if !strings.EqualFold(strings.TrimLeft(a[i], "0"), strings.TrimLeft(b[i], "0")) {
			return false
		}
	}
	return true
}
