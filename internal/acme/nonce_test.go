package acme

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestACMENonces(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	st := newMemStore()
	n := newNonces(st, clk.now, time.Minute)
	// A second node sharing the database: same key, same use records.
	other := newNonces(st, clk.now, time.Minute)
	fresh := func() string {
		s, err := n.issue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	used := fresh()
	if err := n.consume(ctx, used); err != nil {
		t.Fatal(err)
	}
	stale := fresh()
	tampered := []byte(fresh())
	tampered[5] ^= 'A' ^ 'B' // still base64url, another expiry or random part
	cases := []struct {
		name   string
		nonce  func() string
		via    *nonces
		detail string // "" = accepted
	}{
		{"fresh", fresh, n, ""},
		{"fresh, used on another node", fresh, other, ""},
		{"used twice", func() string { return used }, n, "already been used"},
		{"used twice across nodes", func() string { return used }, other, "already been used"},
		{"empty", func() string { return "" }, n, "not issued by this server"},
		{"not base64url", func() string { return "!!!!" }, n, "not issued by this server"},
		{"wrong length", func() string { return "AAAA" }, n, "not issued by this server"},
		{"tampered", func() string { return string(tampered) }, n, "not issued by this server"},
		{"expired", func() string { clk.advance(2 * time.Minute); return stale }, n, "expired"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.via.consume(ctx, tc.nonce())
			if tc.detail == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ae *acmeError
			if !errors.As(err, &ae) || ae.Type != errBadNonce || !strings.Contains(ae.Detail, tc.detail) {
				t.Fatalf("want badNonce %q, got %v", tc.detail, err)
			}
		})
	}
}

func TestACMENonceUseRecordsAreSwept(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	st := newMemStore()
	n := newNonces(st, clk.now, time.Minute)
	for range 3 {
		s, _ := n.issue(ctx)
		if err := n.consume(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	clk.advance(5 * time.Minute) // the three have expired, and a sweep is due
	s, _ := n.issue(ctx)
	if err := n.consume(ctx, s); err != nil {
		t.Fatal(err)
	}
	count := 0
	for k := range st.objs {
		if k[0] == kindNonce {
			count++
		}
	}
	if count != 1 {
		t.Fatalf("%d nonce records after the sweep, want 1", count)
	}
}
