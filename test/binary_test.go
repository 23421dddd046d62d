package test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// buildSignet compiles cmd/signet once per test binary.
var buildOnce struct {
	sync.Once
	path string
	err  error
}

func signetBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "signet-bin-")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "signet")
		out, err := exec.Command("go", "build", "-o", buildOnce.path, "../cmd/signet").CombinedOutput()
		if err != nil {
			buildOnce.err = &buildError{out: string(out), err: err}
		}
	})
	if buildOnce.err != nil {
		t.Fatalf("build signet: %v", buildOnce.err)
	}
	return buildOnce.path
}

type buildError struct {
	out string
	err error
}

func (b *buildError) Error() string { return b.err.Error() + "\n" + b.out }

// process is a running `signet serve`.
type process struct {
	cmd    *exec.Cmd
	url    string
	output *strings.Builder
	mu     *sync.Mutex
}

var listening = regexp.MustCompile(`listening on (https?://\S+)`)

// startSignet runs the real binary and waits for its banner.
func startSignet(t *testing.T, env []string, args ...string) *process {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cmd := exec.CommandContext(ctx, signetBinary(t), append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	p := &process{cmd: cmd, output: &strings.Builder{}, mu: &sync.Mutex{}}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		url := ""
		for sc.Scan() {
			p.mu.Lock()
			p.output.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				url = m[1]
			}
			// The banner ends with the example command; only then is it complete.
			if url != "" && strings.Contains(sc.Text(), "signet cert issue") {
				urlc <- url
			}
		}
		close(urlc)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
		}
		cancel()
	})
	select {
	case u, ok := <-urlc:
		if !ok {
			_ = cmd.Wait()
			t.Fatalf("signet exited before listening:\n%s", p.text())
		}
		p.url = u
	case <-time.After(90 * time.Second):
		t.Fatalf("signet did not start:\n%s", p.text())
	}
	return p
}

func (p *process) text() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.output.String()
}

func (p *process) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(os.Interrupt)
	_ = p.cmd.Wait()
}

var adminKeyLine = regexp.MustCompile(`(?m)^\s+(sgt_\S+)$`)

func TestBinaryFirstStartHTTPSRestartAndWrongPassphrase(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	// First start with no configuration at all (beyond where to put data): HTTPS, generated admin key.
	p := startSignet(t, nil, "--data-dir", dataDir)
	if !strings.HasPrefix(p.url, "https://") {
		t.Fatalf("default must be HTTPS, got %s", p.url)
	}
	m := adminKeyLine.FindStringSubmatch(p.text())
	if m == nil {
		t.Fatalf("no admin key printed:\n%s", p.text())
	}
	key := m[1]
	for _, f := range []string{"signet.db", "ca-passphrase", "ca-root.pem", "server.crt", "server.key"} {
		if _, err := os.Stat(filepath.Join(dataDir, f)); err != nil {
			t.Errorf("data dir lacks %s: %v", f, err)
		}
	}
	if st, err := os.Stat(filepath.Join(dataDir, "ca-passphrase")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("passphrase file mode: %v %v", st.Mode(), err)
	}
	rootPEM, err := os.ReadFile(filepath.Join(dataDir, "ca-root.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(rootPEM)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 30 * time.Second}
	get := func(url, key string) (int, string) {
		req, _ := http.NewRequest("GET", url, nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// The HTTPS certificate chains to the generated root (the client verifies it).
	if st, _ := get(p.url+"/healthz", ""); st != 200 {
		t.Fatalf("healthz %d", st)
	}
	st, body := get(p.url+"/api/v1/cas", key)
	if st != 200 || !strings.Contains(body, "signet-root") || !strings.Contains(body, "ECDSA-P384") || !strings.Contains(body, "ECDSA-P256") {
		t.Fatalf("CAs after first start: %d %s", st, body)
	}
	// CA keys are not stored in clear anywhere in the data directory.
	db, _ := os.ReadFile(filepath.Join(dataDir, "signet.db"))
	if strings.Contains(string(db), "PRIVATE KEY") {
		t.Fatal("database contains a PEM private key")
	}
	p.stop(t)

	// Restart reuses everything: same root, same key, no new admin key.
	p2 := startSignet(t, nil, "--data-dir", dataDir)
	if adminKeyLine.MatchString(p2.text()) {
		t.Fatalf("restart printed a new admin key:\n%s", p2.text())
	}
	st, body2 := get(p2.url+"/api/v1/cas", key)
	if st != 200 || body2 != body {
		t.Fatalf("restart changed the CAs:\n%s\n%s", body, body2)
	}
	p2.stop(t)

	// A wrong passphrase is a clear error at start.
	cmd := exec.Command(signetBinary(t), "serve", "--data-dir", dataDir, "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "SIGNET_KEY_PASSPHRASE=definitely-not-the-passphrase")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "key_decrypt_failed") {
		t.Fatalf("wrong passphrase: err=%v\n%s", err, out)
	}
}

func TestBinaryAdminKeyFromEnvironmentAndInsecureHTTP(t *testing.T) {
	dataDir := t.TempDir()
	key := "env-admin-key-0123456789abcdefghij"
	p := startSignet(t, []string{"SIGNET_ADMIN_API_KEY=" + key, "SIGNET_KEY_PASSPHRASE=env-passphrase-123456"},
		"--data-dir", dataDir, "--insecure-http")
	if !strings.HasPrefix(p.url, "http://") || adminKeyLine.MatchString(p.text()) {
		t.Fatalf("want plain HTTP and no printed key:\n%s", p.text())
	}
	req, _ := http.NewRequest("GET", p.url+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("env admin key: %d", resp.StatusCode)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "ca-passphrase")); !os.IsNotExist(err) {
		t.Fatal("with SIGNET_KEY_PASSPHRASE no passphrase file should be written")
	}
}
