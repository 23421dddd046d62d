package webui

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/audit"
	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/ca"
	"github.com/signet-pki/signet/internal/httpapi"
	"github.com/signet-pki/signet/internal/inventory"
	"github.com/signet-pki/signet/internal/keystore"
	"github.com/signet-pki/signet/internal/profile"
	"github.com/signet-pki/signet/internal/store"
	"github.com/signet-pki/signet/internal/store/sqlite"
)

// benchCertificates is the inventory size the issue asks the page to handle.
const benchCertificates = 1_000_000

// BenchmarkInventoryPage measures the server time of the web UI's inventory
// page (session cookie to finished HTML) against the native API's JSON
// listing of the same page, in the same run, over a real SQLite database
// of 1,000,000 certificates. The database is made once by bench/inventory
// (the inventory benchmark's synthetic certificates) and reused:
//
//	go test ./internal/webui/ -run '^$' -bench InventoryPage -benchtime 200x
//
// SIGNET_BENCH_DB names the database file (default /tmp/signet-webui-1m.db).
// It reports p50 and p99 per view besides the mean.
func BenchmarkInventoryPage(b *testing.B) {
	path := os.Getenv("SIGNET_BENCH_DB")
	if path == "" {
		path = filepath.Join(os.TempDir(), "signet-webui-1m.db")
	}
	ensureInventory(b, path)
	now := time.Now().UTC()
	clock := func() time.Time { return now }
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path, sqlite.Options{Clock: clock})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	sealer, err := keystore.NewSealer([]byte("bench-passphrase-0123456789"))
	if err != nil {
		b.Fatal(err)
	}
	cas := ca.New(st, sealer, clock)
	keys := auth.NewAPIKeys(st, clock)
	dir := auth.NewDirectory(st, auth.DefaultArgon2id, clock, keys.Forget)
	inv := inventory.New(st, clock)
	profiles := profile.New(st, cas, clock)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ui, err := New(Deps{CAs: cas, Profiles: profiles, Inventory: inv, APIKeys: keys, Directory: dir, Audit: audit.New(st, clock),
		Now: clock, Log: log})
	if err != nil {
		b.Fatal(err)
	}
	api := httpapi.New(httpapi.Services{CAs: cas, Profiles: profiles, Inventory: inv, APIKeys: keys, Directory: dir,
		Auth: keys, Now: clock, WebUI: ui}, log)
	token := benchSession(b, ctx, dir, keys)
	views := []struct{ name, ui, api string }{
		{"first_page", "/ui/certificates", "/api/v1/certificates?limit=50"},
		{"active_expiring_30d_by_expiry", "/ui/certificates?status=active&expiring=30&sort=not_after",
			"/api/v1/certificates?limit=50&status=active&expiring_within=30&sort=not_after"},
		{"search_team-7", "/ui/certificates?q=team-7", "/api/v1/certificates?limit=50&q=team-7"},
	}
	// The dashboard has no JSON twin; it is measured alone (the summary;
	// its charts' 13 weekly expiry counts and the newest 1,000 for the
	// per-day chart are cached for a minute: the first request computes
	// them, reported as uncached-ms).
	b.Run("dashboard/webui", func(b *testing.B) {
		ui.chartCache.m = nil
		var times []time.Duration
		for b.Loop() {
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = "127.0.0.1:1234"
			req.AddCookie(&http.Cookie{Name: SessionCookie, Value: token})
			w := httptest.NewRecorder()
			start := time.Now()
			api.ServeHTTP(w, req)
			times = append(times, time.Since(start))
			if w.Code != http.StatusOK {
				b.Fatalf("GET /: %d %.500s", w.Code, w.Body.String())
			}
		}
		b.ReportMetric(float64(times[0].Microseconds())/1000, "uncached-ms")
		reportPercentiles(b, times)
	})
	for _, v := range views {
		for _, side := range []struct{ name, path string }{{"webui", v.ui}, {"api_json", v.api}} {
			b.Run(v.name+"/"+side.name, func(b *testing.B) {
				var times []time.Duration
				for b.Loop() {
					req := httptest.NewRequest("GET", side.path, nil)
					req.RemoteAddr = "127.0.0.1:1234"
					if side.name == "webui" {
						req.AddCookie(&http.Cookie{Name: SessionCookie, Value: token})
					} else {
						req.Header.Set("Authorization", "Bearer "+token)
					}
					w := httptest.NewRecorder()
					start := time.Now()
					api.ServeHTTP(w, req)
					times = append(times, time.Since(start))
					if w.Code != http.StatusOK {
						b.Fatalf("GET %s: %d %.500s", side.path, w.Code, w.Body.String())
					}
				}
				reportPercentiles(b, times)
			})
		}
	}
}

func reportPercentiles(b *testing.B, times []time.Duration) {
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(times[len(times)*99/100].Microseconds())/1000, "p99-ms")
}

// ensureInventory builds the database with bench/inventory unless it
// already holds enough certificates.
func ensureInventory(b *testing.B, path string) {
	b.Helper()
	if st, err := sqlite.Open(context.Background(), path, sqlite.Options{}); err == nil {
		page, err := st.SearchCertificates(context.Background(), store.CertificateQuery{Limit: 1, WithTotal: true, Now: time.Now()})
		_ = st.Close()
		if err == nil && page.Total >= benchCertificates {
			return
		}
	}
	b.Logf("loading %d certificates into %s with bench/inventory (a few minutes, once)", benchCertificates, path)
	cmd := exec.Command("go", "run", "./bench/inventory", "-n", "1000000", "-db", path, "-r", "1", "-max", "1ms")
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("load the inventory: %v\n%s", err, out)
	}
}

// benchSession signs a global auditor in (read-only, sees everything),
// reusing the user on later runs.
func benchSession(b *testing.B, ctx context.Context, dir *auth.Directory, keys *auth.APIKeys) string {
	b.Helper()
	const user, password = "bench-auditor", "bench-password-0123456789"
	sys := auth.WithPrincipal(ctx, auth.System())
	if _, err := dir.EnsurePrincipal(sys, auth.NewPrincipal{Kind: store.PrincipalUser, Global: true, Name: user,
		Roles: []string{auth.RoleAuditor}, Password: password}); err != nil && !strings.Contains(err.Error(), "exists") {
		b.Fatal(err)
	}
	s, err := dir.Login(ctx, keys, user, password, "127.0.0.1")
	if err != nil {
		b.Fatal(err)
	}
	return s.Token
}
