package test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/config"
	"github.com/signet-pki/signet/internal/store/postgres"
	"github.com/signet-pki/signet/internal/testutil"
)

// twoNodes starts two in-process Signet nodes on one throwaway PostgreSQL
// database (the second after the first has bootstrapped it).
func twoNodes(t *testing.T) (a, b *env, url string) {
	t.Helper()
	url = postgres.NewTestDatabase(t)
	node := func() *env {
		return &env{Server: testutil.StartServerWith(t, func(c *config.Config) { c.Database = url }), dir: t.TempDir(),
			principals: map[string]string{}}
	}
	a = node()
	b = node()
	return a, b, url
}

// TestTwoNodesShareOneDatabase: what one node issues the other sees,
// renews and revokes at once; both unseal the CA keys; exactly one node
// leads the background jobs, and leadership moves when it stops; the
// audit chain both wrote verifies.
func TestTwoNodesShareOneDatabase(t *testing.T) {
	a, b, url := twoNodes(t)
	serial, _ := a.issue(t, admin, "shared")
	b.Must(t, 200, "GET", "/api/v1/certificates/"+serial, admin, nil)
	renewed := b.Must(t, 201, "POST", "/api/v1/certificates/"+serial+"/renew", admin,
		map[string]any{"keygen": map[string]any{"algorithm": "ecdsa", "bits": 256}}).Map(t)
	next := str(renewed, "certificate", "serial")
	if got := a.Must(t, 200, "GET", "/api/v1/certificates/"+serial, admin, nil).Map(t)["renewed_by"]; got != next {
		t.Fatalf("node A sees renewed_by %v, want %s", got, next)
	}
	a.Must(t, 200, "POST", "/api/v1/certificates/"+next+"/revoke", admin, map[string]any{"reason": "superseded"})
	if st := b.Must(t, 200, "GET", "/api/v1/certificates/"+next, admin, nil).Map(t)["status"]; st != "revoked" {
		t.Fatalf("node B sees %v after node A revoked", st)
	}
	b.issue(t, admin, "from-b") // node B signs with the CA keys it unsealed itself

	leaders := func() (bool, bool) { return a.App.Store.IsLeader(), b.App.Store.IsLeader() }
	deadline := time.Now().Add(20 * time.Second)
	for {
		la, lb := leaders()
		if la && lb {
			t.Fatal("both nodes lead")
		}
		if la != lb {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no node became leader")
		}
		time.Sleep(100 * time.Millisecond)
	}
	la, _ := leaders()
	leader, follower := a, b
	if !la {
		leader, follower = b, a
	}
	if err := leader.App.Store.Close(); err != nil { // the leader node goes away
		t.Fatal(err)
	}
	deadline = time.Now().Add(20 * time.Second)
	for !follower.App.Store.IsLeader() {
		if time.Now().After(deadline) {
			t.Fatal("leadership did not move to the remaining node")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if v := follower.Must(t, 200, "GET", "/api/v1/audit-events/verify", admin, nil).Map(t); v["ok"] != true {
		t.Fatalf("audit chain: %v", v)
	}
	if out, _, err := runCLI("audit", "verify", "--database", url); err != nil {
		t.Fatalf("signet audit verify --database: %v\n%s", err, out)
	}
}

// TestTwoNodesRaceOnTheSameObjects: both nodes revoke, renew and approve
// the same objects at the same moment, many times; exactly one wins each
// race and the others get a 409, never a lost update or a double renewal.
func TestTwoNodesRaceOnTheSameObjects(t *testing.T) {
	a, b, _ := twoNodes(t)
	manager := a.newKey(t, "racer", "manager")
	requester := a.newKey(t, "asker", "requester")
	spec := a.Must(t, 200, "GET", "/api/v1/templates/tls-server", admin, nil).Map(t)["spec"]
	a.Must(t, 201, "POST", "/api/v1/templates", admin, map[string]any{"name": "race-tpl", "spec": spec})
	a.Must(t, 201, "POST", "/api/v1/profiles", admin, map[string]any{"name": "race-gated", "template": "race-tpl",
		"ca": "signet-issuing", "approval": "manual"})
	race := func(what string, call func(e *env) int) {
		t.Helper()
		var wg sync.WaitGroup
		codes := make([]int, 2)
		for i, e := range []*env{a, b} {
			wg.Go(func() { codes[i] = call(e) })
		}
		wg.Wait()
		ok, conflict := 0, 0
		for _, c := range codes {
			switch {
			case c >= 200 && c < 300:
				ok++
			case c == http.StatusConflict:
				conflict++
			}
		}
		if ok != 1 || conflict != 1 {
			t.Fatalf("%s: statuses %v, want one success and one 409", what, codes)
		}
	}
	for round := range 8 {
		serial, _ := a.issue(t, admin, "race")
		race("revoke", func(e *env) int {
			return e.Do(t, "POST", "/api/v1/certificates/"+serial+"/revoke", admin, map[string]any{"reason": "superseded"}).Status
		})
		serial, _ = a.issue(t, admin, "race")
		race("renew", func(e *env) int {
			return e.Do(t, "POST", "/api/v1/certificates/"+serial+"/renew", admin,
				map[string]any{"keygen": map[string]any{"algorithm": "ecdsa", "bits": 256}}).Status
		})
		renewals := a.Must(t, 200, "GET", "/api/v1/certificates?q=race.example.com&total=true", admin, nil).Map(t)["total"].(float64)
		if want := float64(3 * (round + 1)); renewals != want {
			t.Fatalf("round %d: %v certificates for race.example.com, want %v (a double renewal?)", round, renewals, want)
		}
		_, csr := a.csr(t, "race-req", "/CN=approve.example.com", "DNS:approve.example.com", ecKey...)
		req := a.Must(t, 202, "POST", "/api/v1/certificates", requester, map[string]any{"profile": "race-gated", "csr": csr}).Map(t)
		id := str(req, "request", "id")
		race("approve", func(e *env) int { return e.Do(t, "POST", "/api/v1/requests/"+id+"/approve", manager, nil).Status })
	}
	if v := b.Must(t, 200, "GET", "/api/v1/audit-events/verify", admin, nil).Map(t); v["ok"] != true {
		t.Fatalf("audit chain after the races: %v", v)
	}
}
