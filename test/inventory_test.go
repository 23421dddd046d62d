package test

import (
	"fmt"
	"net/url"
	"testing"
)

func TestInventorySearchPaginationAndSummary(t *testing.T) {
	e := newEnv(t)
	alice := e.newKey(t, "alice", "requester")
	var serials []string
	for i := range 7 {
		key := admin
		if i%2 == 0 {
			key = alice
		}
		r := e.Must(t, 201, "POST", "/api/v1/certificates", key, map[string]any{"profile": "tls-server",
			"keygen": map[string]any{"algorithm": "ecdsa", "bits": 256}, "sans": []string{fmt.Sprintf("host-%d.inv.example.com", i)},
			"validity_days": 10 + i*50}).Map(t)
		serials = append(serials, str(r, "certificate", "serial"))
	}
	e.Must(t, 200, "POST", "/api/v1/certificates/"+serials[1]+"/revoke", admin, nil)
	e.Must(t, 200, "POST", "/api/v1/certificates/"+serials[3]+"/suspend", admin, nil)

	count := func(q string) int {
		t.Helper()
		m := e.Must(t, 200, "GET", "/api/v1/certificates?total=true&"+q, admin, nil).Map(t)
		return int(m["total"].(float64))
	}
	cases := []struct {
		query string
		want  int
	}{
		{"q=inv.example.com", 7},
		{"q=HOST-3", 1},
		{"name=host-4.inv.example.com", 1},
		{"owner=" + e.principals["alice"], 4},
		{"status=revoked", 1},
		{"status=on_hold", 1},
		{"status=revoked,on_hold", 2},
		{"status=active&q=inv.example", 5},
		{"expiring_within=30d&q=inv.example", 1},
		{"expiring_within=120d&q=inv.example", 3},
		{"serial=" + serials[2], 1},
		{"ca=signet-issuing&q=inv.example", 7},
		{"profile=tls-server&q=inv.example", 7},
		{"source=imported", 0},
	}
	for _, c := range cases {
		if got := count(c.query); got != c.want {
			t.Errorf("%s: %d certificates, want %d", c.query, got, c.want)
		}
	}
	// Thumbprint search with colons and upper case.
	full := e.Must(t, 200, "GET", "/api/v1/certificates/"+serials[5], admin, nil).Map(t)
	if got := count("sha256=" + url.QueryEscape(full["sha256"].(string))); got != 1 {
		t.Errorf("sha256 search found %d", got)
	}
	// Walk every page, sorted by expiry: no duplicates, no gaps, in order.
	seen := map[string]bool{}
	cursor, last := "", ""
	for pages := 0; ; pages++ {
		m := e.Must(t, 200, "GET", "/api/v1/certificates?q=inv.example.com&sort=not_after&limit=2&cursor="+url.QueryEscape(cursor), admin, nil).Map(t)
		for _, it := range m["items"].([]any) {
			c := it.(map[string]any)
			if seen[c["serial"].(string)] {
				t.Fatalf("duplicate across pages")
			}
			seen[c["serial"].(string)] = true
			if na := c["not_after"].(string); na < last {
				t.Fatalf("not sorted: %s after %s", na, last)
			} else {
				last = na
			}
		}
		next, _ := m["next_cursor"].(string)
		if next == "" {
			break
		}
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
		cursor = next
	}
	if len(seen) != 7 {
		t.Fatalf("pagination saw %d certificates, want 7", len(seen))
	}
	if r := e.Must(t, 400, "GET", "/api/v1/certificates?cursor=not-a-cursor", admin, nil); r.Map(t)["code"] != "cursor_invalid" {
		t.Fatalf("bad cursor: %s", r.Body)
	}
	if r := e.Must(t, 400, "GET", "/api/v1/certificates?sort=color&status=shiny&limit=0", admin, nil); len(r.Map(t)["violations"].([]any)) < 2 {
		t.Fatalf("bad query should list violations: %s", r.Body)
	}
	sum := e.Must(t, 200, "GET", "/api/v1/certificates/summary", admin, nil).Map(t)
	byStatus := sum["by_status"].(map[string]any)
	if byStatus["revoked"].(float64) != 1 || byStatus["on_hold"].(float64) != 1 {
		t.Fatalf("summary: %v", sum)
	}
	exp := sum["expiring"].(map[string]any)
	// Issued: 10,60,110,...,310 days; one revoked (60), one on hold (160). Active within 30: 10d; within 90: 10d; the
	// server's own TLS certificate is not issued in insecure-http mode.
	if exp["30d"].(float64) != 1 || exp["90d"].(float64) != 1 {
		t.Fatalf("expiring counts: %v", exp)
	}
}
