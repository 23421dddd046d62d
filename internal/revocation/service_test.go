package revocation

import (
	"math/big"
	"testing"
)

func TestSerialBytes(t *testing.T) {
	var dst [21]byte
	// The buffer is reused, as the CRL reader does: odd lengths after a
	// serial whose first byte had bits set must not inherit them.
	for _, h := range []string{"ff", "1", "ffff", "f", "10", "fff", "abc", "7fffffffffffffffffffffffffffffff",
		"d67cec785593dee82aecca67c30061e", "1234567890abcdef1234567890abcdef12345678", "ABC"} {
		got, ok := serialBytes(h, dst[:])
		want, _ := new(big.Int).SetString(h, 16)
		if !ok || new(big.Int).SetBytes(got).Cmp(want) != 0 {
			t.Errorf("serialBytes(%q) = %x, %v; want %x", h, got, ok, want.Bytes())
		}
	}
	for _, h := range []string{"", "xyz", "12345678901234567890123456789012345678901"} {
		if _, ok := serialBytes(h, dst[:]); ok {
			t.Errorf("serialBytes(%q) accepted", h)
		}
	}
}
