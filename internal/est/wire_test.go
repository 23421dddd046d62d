package est

import (
	"encoding/asn1"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/policy"
	"github.com/signet-pki/signet/internal/problem"
)

func TestCSRAttributesFollowTheTemplate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tmpl  policy.Template
		want  []string // OIDs that must appear (as OID or attribute type)
		avoid []string
	}{
		{"default TLS server", policy.DefaultTLSServer(), []string{"1.2.840.113549.1.9.7", "1.2.840.10045.2.1", "1.2.840.113549.1.1.1", "1.2.840.10045.4.3.2", "1.2.840.113549.1.9.14"}, nil},
		{"RSA only, no SANs", policy.Template{KeyTypes: []policy.KeyRule{{Algorithm: "rsa", MinBits: 3072}}},
			[]string{"1.2.840.113549.1.1.1", "1.2.840.113549.1.1.11"}, []string{"1.2.840.10045.2.1", "1.2.840.113549.1.9.14"}},
		{"P-384", policy.Template{KeyTypes: []policy.KeyRule{{Algorithm: "ecdsa", MinBits: 384}}}, []string{"1.3.132.0.34"}, []string{"1.2.840.10045.3.1.7"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			der, err := csrAttributes(&tc.tmpl)
			if err != nil {
				t.Fatal(err)
			}
			var items []asn1.RawValue
			if rest, err := asn1.Unmarshal(der, &items); err != nil || len(rest) != 0 {
				t.Fatalf("csrattrs is not a SEQUENCE: %v", err)
			}
			var seen []string
			for _, it := range items {
				var oid asn1.ObjectIdentifier
				if _, err := asn1.Unmarshal(it.FullBytes, &oid); err == nil {
					seen = append(seen, oid.String())
					continue
				}
				var a attribute
				if _, err := asn1.Unmarshal(it.FullBytes, &a); err != nil {
					t.Fatalf("item is neither OID nor Attribute: %v", err)
				}
				seen = append(seen, a.Type.String())
				for _, v := range a.Values {
					seen = append(seen, v.String())
				}
			}
			all := strings.Join(seen, " ")
			for _, w := range tc.want {
				if !strings.Contains(" "+all+" ", " "+w+" ") {
					t.Errorf("csrattrs lacks %s: %s", w, all)
				}
			}
			for _, w := range tc.avoid {
				if strings.Contains(" "+all+" ", " "+w+" ") {
					t.Errorf("csrattrs has %s: %s", w, all)
				}
			}
		})
	}
}

func TestStatusOfMapsEveryClientError(t *testing.T) {
	for _, tc := range []struct {
		err     error
		want    int
		wantMsg string
	}{
		{problem.Invalid("x", "bad"), 400, "x: bad"},
		{problem.Violations("policy_violation", "bad", []problem.Violation{{Field: "san", Message: "no"}}), 400, "policy_violation: bad; san: no"},
		{problem.Unauthorized("x", "who"), 401, "x: who"},
		{problem.Forbidden("x", "no"), 403, "x: no"},
		{problem.NotFound("x", "none"), 404, "x: none"},
		{problem.Conflict("x", "state"), 409, "x: state"},
		{problem.New(problem.KindTooLarge, "x", "big"), 413, "x: big"},
		{problem.New(problem.KindUnavailable, "x", "later"), 503, "x: later"},
		{&estError{status: 415, msg: "type"}, 415, "type"},
		{errors.New("disk on fire"), 500, "internal error"},
	} {
		if got, msg := statusOf(tc.err); got != tc.want || msg != tc.wantMsg {
			t.Errorf("statusOf(%v) = %d %q, want %d %q", tc.err, got, msg, tc.want, tc.wantMsg)
		}
	}
}

// FuzzReadBase64: no body makes the reader panic or accept non-base64.
func FuzzReadBase64(f *testing.F) {
	f.Add("MIIB")
	f.Add("a b\r\nc=")
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/pkcs10")
		der, err := readBase64(httptest.NewRecorder(), r, "application/pkcs10")
		if err == nil && len(der) == 0 {
			t.Fatal("empty body accepted")
		}
	})
}
