package test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signet-pki/signet/internal/store/postgres"
)

// TestKillOneOfTwoNodesUnderLoad runs two real signet processes on one
// PostgreSQL database, enrolls from 200 concurrent clients spread over
// both, kills node A with SIGKILL mid-run while node B keeps serving,
// restarts A, and checks: every certificate a client received is in the
// inventory, no serial is stored twice, node B kept issuing after the
// kill, and the audit chain verifies.
func TestKillOneOfTwoNodesUnderLoad(t *testing.T) {
	url := postgres.NewTestDatabase(t)
	env := []string{"SIGNET_ADMIN_API_KEY=" + admin, "SIGNET_KEY_PASSPHRASE=two-node-crash-passphrase", "SIGNET_DATABASE=" + url}
	dirA, dirB := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	a := startSignet(t, env, "--data-dir", dirA, "--insecure-http")
	b := startSignet(t, env, "--data-dir", dirB, "--insecure-http")

	body, _ := json.Marshal(map[string]any{"profile": "tls-server", "keygen": map[string]any{"algorithm": "ecdsa", "bits": 256},
		"sans": []string{"pg-crash.example.com"}})
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 200}}
	var mu sync.Mutex
	var received []string
	var afterKillB atomic.Int64
	var killed atomic.Bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 200 {
		url := a.url
		if w%2 == 1 {
			url = b.url
		}
		wg.Go(func() {
			for range 50 { // bounded even if the kill never comes
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("POST", url+"/api/v1/certificates", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+admin)
				resp, err := client.Do(req)
				if err != nil {
					if url == a.url {
						return // node A is gone
					}
					continue
				}
				raw, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					continue
				}
				var m map[string]any
				if json.Unmarshal(raw, &m) == nil {
					mu.Lock()
					received = append(received, str(m, "certificate", "serial"))
					mu.Unlock()
					if killed.Load() && url == b.url {
						afterKillB.Add(1)
					}
				}
			}
		})
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(received)
		mu.Unlock()
		if n >= 150 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed.Store(true)
	_ = a.cmd.Wait()
	for time.Now().Before(deadline) && afterKillB.Load() < 20 {
		time.Sleep(50 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if afterKillB.Load() < 20 {
		t.Fatalf("node B issued only %d certificates after node A was killed", afterKillB.Load())
	}
	a2 := startSignet(t, env, "--data-dir", dirA, "--insecure-http")
	mu.Lock()
	got := append([]string(nil), received...)
	mu.Unlock()
	for i, serial := range got {
		node := a2.url
		if i%2 == 0 {
			node = b.url
		}
		m := e2eGet(t, client, node+"/api/v1/certificates/"+serial)
		if m["serial"] != serial {
			t.Fatalf("certificate %s was returned to a client but is not in the inventory: %v", serial, m)
		}
	}
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var dups int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM (SELECT serial FROM certificates GROUP BY serial HAVING count(*) > 1) d`).Scan(&dups); err != nil || dups != 0 {
		t.Fatalf("%d serials stored twice (%v)", dups, err)
	}
	if v := e2eGet(t, client, a2.url+"/api/v1/audit-events/verify"); v["ok"] != true {
		t.Fatalf("audit chain after the kill: %v", v)
	}
	t.Logf("%d certificates returned (%d by node B after A was killed), all present; chain intact", len(got), afterKillB.Load())
}
