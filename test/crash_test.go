package test

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestKillDuringIssuanceLosesNothing enrolls from 200 concurrent clients,
// kills the server with SIGKILL in the middle, restarts it on the same data
// directory and checks that every certificate a client received is in the
// inventory, that no serial is stored twice, that the audit chain verifies
// and that SQLite finds the database intact.
func TestKillDuringIssuanceLosesNothing(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	env := []string{"SIGNET_ADMIN_API_KEY=" + admin, "SIGNET_KEY_PASSPHRASE=crash-test-passphrase"}
	p := startSignet(t, env, "--data-dir", dataDir, "--insecure-http")

	body, _ := json.Marshal(map[string]any{"profile": "tls-server", "keygen": map[string]any{"algorithm": "ecdsa", "bits": 256},
		"sans": []string{"crash.example.com"}})
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 200}}
	var mu sync.Mutex
	var received []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ { // bounded even if the kill never comes
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("POST", p.url+"/api/v1/certificates", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+admin)
				resp, err := client.Do(req)
				if err != nil {
					return // the server is gone
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					continue
				}
				var m map[string]any
				if json.Unmarshal(b, &m) == nil {
					mu.Lock()
					received = append(received, str(m, "certificate", "serial"))
					mu.Unlock()
				}
			}
		}()
	}
	// Let issuance run, then kill without warning while requests are in flight.
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(received)
		mu.Unlock()
		if n >= 300 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	_ = p.cmd.Wait()
	mu.Lock()
	got := append([]string(nil), received...)
	mu.Unlock()
	if len(got) == 0 {
		t.Fatal("no certificate was issued before the kill")
	}

	p2 := startSignet(t, env, "--data-dir", dataDir, "--insecure-http")
	seen := map[string]bool{}
	for _, serial := range got {
		if seen[serial] {
			t.Fatalf("serial %s was returned twice", serial)
		}
		seen[serial] = true
		req, _ := http.NewRequest("GET", p2.url+"/api/v1/certificates/"+serial, nil)
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("certificate %s was returned to a client but is not in the inventory after a crash (HTTP %d)", serial, resp.StatusCode)
		}
	}
	t.Logf("%d certificates returned before SIGKILL, all present after restart", len(got))
	verify := e2eGet(t, client, p2.url+"/api/v1/audit-events/verify")
	if verify["ok"] != true {
		t.Fatalf("audit chain after the crash: %v", verify)
	}
	p2.stop(t)

	db, err := sql.Open("sqlite", "file:"+filepath.Join(dataDir, "signet.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var integrity string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&integrity); err != nil || integrity != "ok" {
		t.Fatalf("integrity_check: %q %v", integrity, err)
	}
	var dups int
	if err := db.QueryRow(`SELECT count(*) FROM (SELECT serial FROM certificates GROUP BY serial HAVING count(*) > 1)`).Scan(&dups); err != nil || dups != 0 {
		t.Fatalf("%d serials stored twice (%v)", dups, err)
	}
	if out, _, err := runCLI("audit", "verify", "--data-dir", dataDir); err != nil {
		t.Fatalf("signet audit verify after the crash: %v", err)
	} else {
		t.Log(strings.TrimSpace(out))
	}
}

// e2eGet fetches a JSON object as the admin.
func e2eGet(t *testing.T, client *http.Client, url string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return m
}
