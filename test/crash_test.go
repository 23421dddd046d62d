package test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestKillDuringIssuanceLosesNothing enrolls from several clients, kills the
// server with SIGKILL in the middle, restarts it on the same data directory
// and checks that every certificate a client received is in the inventory.
func TestKillDuringIssuanceLosesNothing(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	env := []string{"SIGNET_ADMIN_API_KEY=" + admin, "SIGNET_KEY_PASSPHRASE=crash-test-passphrase"}
	p := startSignet(t, env, "--data-dir", dataDir, "--insecure-http")

	body, _ := json.Marshal(map[string]any{"profile": "tls-server", "keygen": map[string]any{"algorithm": "ecdsa", "bits": 256},
		"sans": []string{"crash.example.com"}})
	client := &http.Client{Timeout: 10 * time.Second}
	var mu sync.Mutex
	var received []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ { // bounded even if the kill never comes
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
		if n >= 100 {
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
	if _, err := os.Stat(filepath.Join(dataDir, "signet.db")); err != nil {
		t.Fatal(err)
	}
}
