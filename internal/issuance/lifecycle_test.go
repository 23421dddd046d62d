package issuance

import (
	"testing"

	"github.com/signet-pki/signet/internal/problem"
)

func TestParseReason(t *testing.T) {
	cases := []struct {
		in   string
		want int
		code string
	}{
		{"", 0, ""},
		{"unspecified", 0, ""},
		{"keyCompromise", 1, ""},
		{"key_compromise", 1, ""},
		{"cACompromise", 2, ""},
		{"ca_compromise", 2, ""},
		{"superseded", 4, ""},
		{"cessationOfOperation", 5, ""},
		{"privilege_withdrawn", 9, ""},
		{"aACompromise", 10, ""},
		{"4", 4, ""},
		{"certificateHold", 0, "reason_invalid"},
		{"6", 0, "reason_invalid"},
		{"removeFromCRL", 0, "reason_invalid"},
		{"7", 0, "reason_invalid"},
		{"11", 0, "reason_invalid"},
		{"-1", 0, "reason_invalid"},
		{"bored", 0, "reason_invalid"},
	}
	for _, c := range cases {
		got, err := ParseReason(c.in)
		if c.code != "" {
			if !problem.Is(err, c.code) {
				t.Errorf("ParseReason(%q) error %v, want %s", c.in, err, c.code)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseReason(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
		if c.in != "" && c.in != "4" && ReasonName(got) == "" {
			t.Errorf("no name for reason %d", got)
		}
	}
}
