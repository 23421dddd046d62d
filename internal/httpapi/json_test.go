package httpapi

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/signet-pki/signet/internal/problem"
)

func TestDecodeJSONReportsTheProblem(t *testing.T) {
	cases := []struct {
		name, body, code string
	}{
		{"ok", `{"profile":"p","csr":"x"}`, ""},
		{"empty", ``, "json_invalid"},
		{"syntax", `{"profile":`, "json_invalid"},
		{"type", `{"profile":1}`, "json_invalid"},
		{"unknown field", `{"profil":"p"}`, "json_invalid"},
		{"trailing object", `{"profile":"p"} {}`, "json_invalid"},
		{"array", `[1,2]`, "json_invalid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", bytes.NewBufferString(c.body))
			var v enrollBody
			err := decodeJSON(r, &v)
			if c.code == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if !problem.Is(err, c.code) {
				t.Fatalf("got %v, want code %s", err, c.code)
			}
		})
	}
}

func TestOversizedBodyIsTooLarge(t *testing.T) {
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(bytes.Repeat([]byte(" "), maxBody+10)))
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	var v enrollBody
	err := decodeJSON(r, &v)
	var mbe *http.MaxBytesError
	if err == nil || !asMaxBytes(err, &mbe) {
		t.Fatalf("want MaxBytesError, got %v", err)
	}
}

// FuzzDecodeEnroll feeds arbitrary bodies to the enrollment decoder: it must
// return a value or a problem, never panic.
func FuzzDecodeEnroll(f *testing.F) {
	f.Add([]byte(`{"profile":"tls-server","csr":"-----BEGIN CERTIFICATE REQUEST-----"}`))
	f.Add([]byte(`{"profile":"p","keygen":{"algorithm":"rsa","bits":2048},"sans":["a.example.com"]}`))
	f.Add([]byte(`{"subject":{"common_name":1}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		var v enrollBody
		if err := decodeJSON(r, &v); err != nil && problem.As(err) == nil {
			var mbe *http.MaxBytesError
			if !asMaxBytes(err, &mbe) {
				t.Fatalf("decode error is not a problem: %v", err)
			}
		}
	})
}

func asMaxBytes(err error, target **http.MaxBytesError) bool { return errors.As(err, target) }
