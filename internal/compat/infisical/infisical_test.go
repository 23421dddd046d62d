package infisical

import "testing"

func TestParseTTL(t *testing.T) {
	for _, tc := range []struct {
		in   string
		days int
		ok   bool
	}{
		{"", 0, true},
		{"90d", 90, true},
		{"1y", 365, true},
		{"12h", 1, true},
		{"25h", 2, true},
		{"2w", 14, true},
		{"7776000s", 90, true},
		{"86400000", 1, true}, // a bare number is milliseconds
		{"1.5d", 2, true},
		{"0d", 0, false},
		{"-1d", 0, false},
		{"soon", 0, false},
		{"d", 0, false},
		{"101y", 0, false},
		{"1e400d", 0, false},
		{"NaNd", 0, false},
	} {
		days, err := parseTTL(tc.in)
		if (err == nil) != tc.ok || days != tc.days {
			t.Errorf("parseTTL(%q) = %d, %v; want %d, ok=%v", tc.in, days, err, tc.days, tc.ok)
		}
	}
}

func TestKeygenMapping(t *testing.T) {
	for _, tc := range []struct {
		in   string
		alg  string
		bits int
	}{
		{"", "rsa", 2048}, {"RSA_4096", "rsa", 4096}, {"EC_prime256v1", "ecdsa", 256}, {"ec_secp384r1", "ecdsa", 384},
	} {
		kg, err := keygenFor(tc.in)
		if err != nil || kg.Algorithm != tc.alg || kg.Bits != tc.bits {
			t.Errorf("keygenFor(%q) = %+v, %v", tc.in, kg, err)
		}
	}
	if _, err := keygenFor("DSA_1024"); err == nil {
		t.Error("DSA accepted")
	}
	for _, tc := range []struct {
		keyType string
		alg     string
		bits    int
	}{{"RSA-2048", "rsa", 2048}, {"ECDSA-P256", "ecdsa", 256}, {"ECDSA-P384", "ecdsa", 384}} {
		kg, err := keygenOf(tc.keyType)
		if err != nil || kg.Algorithm != tc.alg || kg.Bits != tc.bits {
			t.Errorf("keygenOf(%q) = %+v, %v", tc.keyType, kg, err)
		}
	}
	for _, bad := range []string{"Ed25519", "RSA-x", ""} {
		if _, err := keygenOf(bad); err == nil {
			t.Errorf("keygenOf(%q) accepted", bad)
		}
	}
}

// FuzzParseTTL: any ttl text is a bounded number of days or an error, never a panic.
func FuzzParseTTL(f *testing.F) {
	for _, s := range []string{"90d", "1y", "12h", "7776000s", "86400000", "1e400d", "-1d", "", "d", "NaNd", "Infh"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		days, err := parseTTL(s)
		if err == nil && (days < 0 || days > 100*365+1) {
			t.Fatalf("parseTTL(%q) = %d", s, days)
		}
	})
}
