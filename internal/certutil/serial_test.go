package certutil

import (
	"math/big"
	"strings"
	"testing"
)

func TestNewSerial(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		s, err := NewSerial()
		wantCode(t, err, "")
		if s.Sign() <= 0 || s.BitLen() > 127 {
			t.Fatalf("serial %x: want positive and at most 127 bits", s)
		}
		h := SerialHex(s)
		if seen[h] {
			t.Fatalf("serial %s repeated", h)
		}
		seen[h] = true
		if got, err := NormalizeSerial(h); err != nil || got != h {
			t.Fatalf("NormalizeSerial(%s) = %q, %v", h, got, err)
		}
	}
}

func TestSerialHex(t *testing.T) {
	tests := []struct {
		in   *big.Int
		want string
	}{
		{big.NewInt(0), "0"},
		{big.NewInt(1), "1"},
		{big.NewInt(0x0a3e0f), "a3e0f"},
		{new(big.Int).SetBytes([]byte{0x00, 0x00, 0xff, 0x01}), "ff01"},
		{nil, ""},
	}
	for _, tc := range tests {
		if got := SerialHex(tc.in); got != tc.want {
			t.Errorf("SerialHex(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNormalizeSerial(t *testing.T) {
	max := strings.Repeat("f", 40)
	tests := []struct {
		in, want string // want "" means serial_invalid
	}{
		{"a93e0f", "a93e0f"},
		{"A93E0F", "a93e0f"},
		{"0xA93E0F", "a93e0f"},
		{"0Xa93e0f", "a93e0f"},
		{"A9:3E:0F", "a93e0f"},
		{"a9 3e 0f", "a93e0f"},
		{"  00:A9:3E:0F\n", "a93e0f"},
		{"0x00:a9:3e:0f", "a93e0f"},
		{"a:3e:f", "a3e0f"}, // each group is a byte: 0a 3e 0f
		{"0a:3e:0f", "a3e0f"},
		{"000001", "1"},
		{"0", "0"},
		{"00:00", "0"},
		{max, max},
		{"00" + max, max}, // 21 octets in DER, 20 of value
		{"1" + strings.Repeat("0", 40), ""},
		{"", ""},
		{"   ", ""},
		{"0x", ""},
		{":", ""},
		{"xyz", ""},
		{"a9-3e-0f", ""},
		{"a9:3e0f", ""}, // groups of more than one byte are ambiguous
		{"a9:g0", ""},
		{"-1", ""},
		{"0x0x1", ""},
		{"a9\t3e", ""},
		{"é", ""},
		{strings.Repeat("0", 300) + "1", ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := NormalizeSerial(tc.in)
			if tc.want == "" {
				wantCode(t, err, "serial_invalid")
				return
			}
			wantCode(t, err, "")
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSerialFromDecimal(t *testing.T) {
	max := new(big.Int).Lsh(big.NewInt(1), 160)
	tests := []struct {
		in, want string // want "" means serial_invalid
	}{
		{"0", "0"},
		{"255", "ff"},
		{" 4096\n", "1000"},
		{"000010", "a"},
		{new(big.Int).Sub(max, big.NewInt(1)).String(), strings.Repeat("f", 40)},
		{max.String(), ""},
		{"", ""},
		{"-1", ""},
		{"+1", ""},
		{"0x10", ""},
		{"1_000", ""},
		{"12a", ""},
		{"1 2", ""},
		{strings.Repeat("9", 300), ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := SerialFromDecimal(tc.in)
			if tc.want == "" {
				wantCode(t, err, "serial_invalid")
				return
			}
			wantCode(t, err, "")
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFingerprints(t *testing.T) {
	// Known answers for the empty input.
	if got := SHA256Hex(nil); got != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Errorf("SHA256Hex = %s", got)
	}
	if got := SHA1Hex(nil); got != "da39a3ee5e6b4b0d3255bfef95601890afd80709" {
		t.Errorf("SHA1Hex = %s", got)
	}
}

func TestNormalizeFingerprint(t *testing.T) {
	sha1 := "da39a3ee5e6b4b0d3255bfef95601890afd80709"
	sha256 := "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	colons := func(s string) string {
		var parts []string
		for i := 0; i < len(s); i += 2 {
			parts = append(parts, strings.ToUpper(s[i:i+2]))
		}
		return strings.Join(parts, ":")
	}
	tests := []struct {
		name, in, want string // want "" means fingerprint_invalid
	}{
		{"sha1", sha1, sha1},
		{"sha256", sha256, sha256},
		{"upper", strings.ToUpper(sha256), sha256},
		{"colons", colons(sha256), sha256},
		{"spaces", strings.ReplaceAll(colons(sha1), ":", " "), sha1},
		{"padded", "  " + sha1 + "\n", sha1},
		{"empty", "", ""},
		{"short", sha1[:39], ""},
		{"between", sha256[:50], ""},
		{"long", sha256 + "00", ""},
		{"not hex", strings.Repeat("g", 40), ""},
		{"dashes", strings.ReplaceAll(colons(sha1), ":", "-"), ""},
		{"huge", strings.Repeat(":", 1000) + sha1, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NormalizeFingerprint(tc.in)
			if tc.want == "" {
				wantCode(t, err, "fingerprint_invalid")
				return
			}
			wantCode(t, err, "")
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}
