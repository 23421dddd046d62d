package webui

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"net"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

func TestNiceTicksCoverTheMaximumInRoundSteps(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want []int64
	}{
		{1, []int64{0, 1}},
		{5, []int64{0, 1, 2, 3, 4, 5}},
		{6, []int64{0, 2, 4, 6}},
		{11, []int64{0, 5, 10, 15}},
		{99, []int64{0, 20, 40, 60, 80, 100}},
		{123456, []int64{0, 50000, 100000, 150000}},
	} {
		if got := niceTicks(tc.n); !slices.Equal(got, tc.want) {
			t.Errorf("niceTicks(%d) = %v, want %v", tc.n, got, tc.want)
		}
	}
}

func TestSafeNextStaysOnThisSite(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "/"},
		{"/ui/certificates?status=active", "/ui/certificates?status=active"},
		{"//evil.example/x", "/"},
		{"https://evil.example/", "/"},
		{"/\\evil.example", "/"},
		{"/ok\r\nSet-Cookie: x=y", "/"},
	} {
		if got := safeNext(tc.in); got != tc.want {
			t.Errorf("safeNext(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestFormFieldPlacesViolationsNextToTheirControl(t *testing.T) {
	for _, tc := range []struct{ field, mode, want string }{
		{"validity_days", "csr", "validity_days"},
		{"key", "csr", "csr"},
		{"sans.dns[0]", "csr", "csr"},
		{"subject.common_name", "keygen", "common_name"},
		{"subject.organization", "keygen", "organization"},
		{"subject.country", "keygen", "common_name"},
		{"sans.dns[1]", "keygen", "sans"},
		{"keygen", "keygen", "key"},
		{"csr", "csr", "csr"},
		{"something_else", "csr", ""},
	} {
		if got := formField(tc.field, tc.mode); got != tc.want {
			t.Errorf("formField(%q, %q) = %q, want %q", tc.field, tc.mode, got, tc.want)
		}
	}
}

func TestFiltersRoundTripThroughTheURL(t *testing.T) {
	now := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		query      string
		serial     string
		contains   string
		violations []string
	}{
		{query: "q=web.example.com&status=active&status=on_hold&sort=not_after", contains: "web.example.com"},
		{query: "q=7F:19:A4:7C:8D:59:E2:2D", serial: "7f19a47c8d59e22d"},
		{query: "q=deadbeef", contains: "deadbeef"}, // too short to be a serial
		{query: "expiring=soon&expires_after=2026-13-01", violations: []string{"expiring", "expires_after"}},
	} {
		v, _ := url.ParseQuery(tc.query)
		f := parseFilters(v)
		q, err := f.query(now)
		var got []string
		if pe := problem.As(err); pe != nil {
			for _, vi := range pe.Violations {
				got = append(got, vi.Field)
			}
		}
		if !slices.Equal(got, tc.violations) {
			t.Errorf("%s: violations %v, want %v", tc.query, got, tc.violations)
		}
		if err != nil {
			continue
		}
		if q.Serial != tc.serial || q.Contains != tc.contains {
			t.Errorf("%s: serial %q contains %q", tc.query, q.Serial, q.Contains)
		}
		back, _ := url.ParseQuery(strings.TrimPrefix(withQuery("", f.values(false)), "?"))
		if again := parseFilters(back); !slices.Equal(again.Status, f.Status) || again.Q != f.Q || again.Sort != f.Sort {
			t.Errorf("%s: filters do not survive the URL: %+v vs %+v", tc.query, again, f)
		}
	}
}

func TestCSRFTokenIsPerSessionAndComparedStrictly(t *testing.T) {
	a, b := csrfToken("sgt_a.secret1"), csrfToken("sgt_b.secret2")
	if a == b || len(a) != 64 || a != csrfToken("sgt_a.secret1") {
		t.Fatalf("tokens %q %q", a, b)
	}
	for _, tc := range []struct {
		got  string
		want bool
	}{{a, true}, {b, false}, {"", false}, {a[:63], false}} {
		if sameSecret(tc.got, a) != tc.want {
			t.Errorf("sameSecret(%q) != %v", tc.got, tc.want)
		}
	}
}

func TestDescribeRequestShowsWhatIsAskedFor(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "a.example.com"},
		DNSNames: []string{"a.example.com"}, IPAddresses: []net.IP{net.ParseIP("10.0.0.1")}}, key)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		req  store.Request
		want requested
	}{
		{"csr", store.Request{CSRPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))},
			requested{Subject: "CN=a.example.com", Names: []string{"a.example.com", "10.0.0.1"}, Key: "ECDSA P-256"}},
		{"keygen", store.Request{Keygen: []byte(`{"keygen":{"algorithm":"rsa","bits":3072},"subject":{"common_name":"b.example.com","organization":["B"]},"sans":["b.example.com"]}`)},
			requested{Subject: "CN=b.example.com,O=B", Names: []string{"b.example.com"}, Key: "server-generated rsa 3072"}},
		{"unreadable csr", store.Request{CSRPEM: "garbage"}, requested{Subject: "(the CSR cannot be read)"}},
		{"nothing", store.Request{}, requested{Subject: "(no CSR or key parameters recorded)"}},
	} {
		got := describeRequest(&tc.req)
		if got.Subject != tc.want.Subject || !slices.Equal(got.Names, tc.want.Names) || got.Key != tc.want.Key {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
