package test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/config"
	"github.com/signet-pki/signet/internal/testutil"
)

// Real ACME clients from Debian (lego, certbot) against Signet over HTTPS
// on loopback. scripts/test installs them; under CI a missing client fails
// the test, elsewhere it is skipped.

func requireClient(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed: scripts/test installs it (apt-get install -y %s)", name, name)
		}
		t.Skipf("%s is not installed (apt-get install -y %s, or run scripts/test); skipping", name, name)
	}
	return path
}

// clientEnv is an HTTPS Signet whose ACME validation connects to the ports
// the client's own challenge servers listen on.
type clientEnv struct {
	*env
	https     string // https://127.0.0.1:port
	root      string // Signet's root certificate file
	httpPort  int
	alpnPort  int
	scratch   string
	clientEnv []string
}

func newClientEnv(t *testing.T) *clientEnv {
	t.Helper()
	// The clients' own challenge servers listen on these ports (freePort: discovery_test.go).
	ce := &clientEnv{httpPort: freePort(t), alpnPort: freePort(t), scratch: t.TempDir()}
	srv := testutil.StartServerWith(t, func(c *config.Config) {
		c.InsecureHTTP = false
		c.ACME = config.ACME{HTTP01Port: ce.httpPort, TLSALPN01Port: ce.alpnPort, Resolve: []string{"*.test=127.0.0.1"}}
	})
	// testutil started it as if plain HTTP: talk to it over HTTPS, trusting Signet's root.
	srv.URL = strings.Replace(srv.URL, "http://", "https://", 1)
	srv.Client = &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: srv.TLSConfig(t)}}
	ce.env = &env{Server: srv, dir: t.TempDir(), principals: map[string]string{}}
	ce.https = srv.URL
	ce.root = filepath.Join(srv.DataDir, "ca-root.pem")
	ce.clientEnv = append(os.Environ(), "LEGO_CA_CERTIFICATES="+ce.root, "REQUESTS_CA_BUNDLE="+ce.root)
	return ce
}

// run executes a client with a bounded time and returns its output.
func (ce *clientEnv) run(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env, cmd.Dir = ce.clientEnv, ce.scratch
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// opensslVerify checks leaf against Signet's root with the given chain.
func (ce *clientEnv) opensslVerify(t *testing.T, leaf, chain string) {
	t.Helper()
	out := testutil.Openssl(t, ce.scratch, "verify", "-CAfile", ce.root, "-untrusted", chain, leaf)
	if !strings.Contains(out, ": OK") {
		t.Fatalf("openssl verify %s: %s", leaf, out)
	}
}

func (ce *clientEnv) certificateStatus(t *testing.T, file string) (serial string, rec map[string]any) {
	t.Helper()
	serial = serialOf(parseCertFile(t, file))
	return serial, ce.Must(t, 200, "GET", "/api/v1/certificates/"+serial, admin, nil).Map(t)
}

// TestACMELegoRunRenewRevoke: lego registers with external account binding,
// gets a certificate over http-01 with its own challenge server, renews
// over tls-alpn-01, and revokes; Signet's inventory follows each step.
func TestACMELegoRunRenewRevoke(t *testing.T) {
	lego := requireClient(t, "lego")
	ce := newClientEnv(t)
	team := ce.Must(t, 201, "POST", "/api/v1/teams", admin, map[string]any{"name": "lego-hosts"}).Map(t)
	ce.Must(t, 200, "PUT", "/api/v1/acme/profiles/tls-server", admin, map[string]any{"eab_required": true})
	eab := ce.Must(t, 201, "POST", "/api/v1/acme/eab-keys", admin, map[string]any{"team": "lego-hosts"}).Map(t)
	path := filepath.Join(ce.scratch, "lego")
	common := []string{"--server", ce.https + "/acme/tls-server/directory", "--email", "ops@example.test", "--accept-tos",
		"--domains", "lego.test", "--path", path, "--eab", "--kid", eab["id"].(string), "--hmac", eab["hmac_key"].(string)}

	ce.run(t, lego, append(common, "--http", "--http.port", "127.0.0.1:"+itoa(ce.httpPort), "run")...)
	crt, issuer := filepath.Join(path, "certificates", "lego.test.crt"), filepath.Join(path, "certificates", "lego.test.issuer.crt")
	ce.opensslVerify(t, crt, issuer)
	first, rec := ce.certificateStatus(t, crt)
	if rec["owner"] != team["id"] || rec["status"] != "active" || rec["profile_id"] == "" {
		t.Fatalf("lego's certificate in the inventory: %v", rec)
	}

	ce.run(t, lego, append(common, "--tls", "--tls.port", "127.0.0.1:"+itoa(ce.alpnPort), "renew", "--days", "1000", "--no-random-sleep")...)
	ce.opensslVerify(t, crt, issuer)
	second, _ := ce.certificateStatus(t, crt)
	if second == first {
		t.Fatal("lego renew kept the same certificate")
	}

	ce.run(t, lego, append(common, "revoke", "--keep", "--reason", "4")...)
	if _, rec := ce.certificateStatus(t, crt); rec["status"] != "revoked" || rec["revocation_reason"] != "superseded" {
		t.Fatalf("after lego revoke: %v", rec)
	}
}

// TestACMECertbotCertonlyRenewRevoke: certbot's standalone authenticator gets a
// certificate, renews it by force and revokes it; the files it writes
// verify against Signet's chain.
func TestACMECertbotCertonlyRenewRevoke(t *testing.T) {
	certbot := requireClient(t, "certbot")
	ce := newClientEnv(t)
	dirs := []string{"--config-dir", filepath.Join(ce.scratch, "config"), "--work-dir", filepath.Join(ce.scratch, "work"),
		"--logs-dir", filepath.Join(ce.scratch, "logs"), "--non-interactive"}
	ce.run(t, certbot, append([]string{"certonly", "--standalone", "--agree-tos", "-m", "ops@example.test",
		"--server", ce.https + "/acme/tls-server/directory", "--http-01-port", itoa(ce.httpPort), "--http-01-address", "127.0.0.1",
		"-d", "certbot.test", "-d", "www.certbot.test"}, dirs...)...)
	live := filepath.Join(ce.scratch, "config", "live", "certbot.test")
	cert, chain := filepath.Join(live, "cert.pem"), filepath.Join(live, "chain.pem")
	ce.opensslVerify(t, cert, chain)
	ce.opensslVerify(t, filepath.Join(live, "fullchain.pem"), chain)
	first, rec := ce.certificateStatus(t, cert)
	if rec["status"] != "active" || !strings.HasPrefix(rec["owner"].(string), "acme_acct_") {
		t.Fatalf("certbot's certificate in the inventory: %v", rec)
	}

	ce.run(t, certbot, append([]string{"renew", "--force-renewal", "--no-random-sleep-on-renew"}, dirs...)...)
	ce.opensslVerify(t, cert, chain)
	second, _ := ce.certificateStatus(t, cert)
	if second == first {
		t.Fatal("certbot renew kept the same certificate")
	}

	ce.run(t, certbot, append([]string{"revoke", "--cert-path", cert, "--reason", "keycompromise", "--no-delete-after-revoke",
		"--server", ce.https + "/acme/tls-server/directory"}, dirs...)...)
	if _, rec := ce.certificateStatus(t, cert); rec["status"] != "revoked" || rec["revocation_reason"] != "key_compromise" {
		t.Fatalf("after certbot revoke: %v", rec)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
