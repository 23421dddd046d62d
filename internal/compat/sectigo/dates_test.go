package sectigo

import (
	"testing"
	"time"
)

func TestDateFormat(t *testing.T) {
	at := time.Date(2025, 12, 4, 7, 48, 44, 123e6, time.UTC)
	for _, tc := range []struct{ in, want string }{
		{"", "12/04/2025"},
		{"US", "12/04/2025"},
		{"iso", "2025-12-04"},
		{"ISO_HMS", "2025-12-04T07:48:44.123Z"},
		{"EU", "04.12.2025"},
		{"UK_HMS", "04/12/2025 07:48:44"},
		{"JP", "2025/12/04"},
		{"yyyy-MM-dd'T'HH:mm:ss", "2025-12-04T07:48:44"},
		{"dd/MM/yy", "04/12/25"},
	} {
		f, err := parseDateFormat(tc.in)
		if err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		if got := f.format(at); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{"qqq", "yyyy-MM-dd 'open", "2006-01-02", "EEE"} {
		if _, err := parseDateFormat(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestColonSerial(t *testing.T) {
	for in, want := range map[string]string{"a93ec0": "A9:3E:C0", "1": "01", "abc": "0A:BC"} {
		if got := colonSerial(in); got != want {
			t.Errorf("colonSerial(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzParseDateFormat: any dateFormat is answered, never a panic, and an
// accepted one renders.
func FuzzParseDateFormat(f *testing.F) {
	for _, s := range []string{"US", "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "'", "dd.MM.yyyy"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if df, err := parseDateFormat(s); err == nil {
			_ = df.format(time.Now())
		}
	})
}

// FuzzParseCSR: untrusted CSR text yields a CSR or one of the document's errors.
func FuzzParseCSR(f *testing.F) {
	f.Add("-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----")
	f.Add("MIIBIjAN")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		_, csr, err := parseCSR(s)
		if (err == nil) == (csr == nil) {
			t.Fatalf("csr %v with err %v", csr, err)
		}
		if err != nil {
			if _, ok := err.(*apiError); !ok {
				t.Fatalf("not a document error: %v", err)
			}
		}
	})
}
