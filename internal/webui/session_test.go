package webui

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/audit"
	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/ca"
	"github.com/signet-pki/signet/internal/inventory"
	"github.com/signet-pki/signet/internal/keystore"
	"github.com/signet-pki/signet/internal/profile"
	"github.com/signet-pki/signet/internal/store"
	"github.com/signet-pki/signet/internal/store/sqlite"
)

// uiOver serves the web UI over a fresh SQLite store with a clock the test
// moves, and signs up a global auditor "ann".
func uiOver(t *testing.T, clock func() time.Time) *httptest.Server {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "signet.db"), sqlite.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	sealer, err := keystore.NewSealer([]byte("test-passphrase-0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	cas := ca.New(st, sealer, clock)
	keys := auth.NewAPIKeys(st, clock)
	dir := auth.NewDirectory(st, auth.Argon2id{Memory: 1024, Time: 1, Threads: 1}, clock, keys.Forget)
	if _, err := dir.EnsurePrincipal(auth.WithPrincipal(ctx, auth.System()), auth.NewPrincipal{Kind: store.PrincipalUser,
		Global: true, Name: "ann", Roles: []string{auth.RoleAuditor}, Password: "ann-password-0123456789"}); err != nil {
		t.Fatal(err)
	}
	ui, err := New(Deps{CAs: cas, Profiles: profile.New(st, cas, clock), Inventory: inventory.New(st, clock), APIKeys: keys,
		Directory: dir, Audit: audit.New(st, clock), Now: clock, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ui) // 127.0.0.1
	t.Cleanup(srv.Close)
	return srv
}

var loginToken = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// TestSessionEndsWhenItExpires: a session cookie opens pages until the
// session's lifetime (auth.SessionLifetime) has passed on the server's
// clock, then pages send the browser to sign in again and a form post is
// refused, whatever the browser does with the cookie's own expiry.
func TestSessionEndsWhenItExpires(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	srv := uiOver(t, clock)
	c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, path string, form url.Values, cookies ...*http.Cookie) (*http.Response, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, srv.URL+path, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for _, ck := range cookies {
			req.AddCookie(ck)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	cookie := func(resp *http.Response, name string) *http.Cookie {
		for _, ck := range resp.Cookies() {
			if ck.Name == name {
				return ck
			}
		}
		return nil
	}

	resp, page := do("GET", LoginPath, nil)
	m := loginToken.FindStringSubmatch(page)
	lc := cookie(resp, loginCookie)
	if m == nil || lc == nil || !lc.HttpOnly || lc.SameSite != http.SameSiteStrictMode || lc.Value != m[1] {
		t.Fatalf("login form: token %v, cookie %+v", m, lc)
	}
	resp, _ = do("POST", LoginPath, url.Values{"csrf": {m[1]}, "username": {"ann"}, "password": {"ann-password-0123456789"},
		"next": {"/ui/certificates"}}, lc)
	sc := cookie(resp, SessionCookie)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/certificates" || sc == nil {
		t.Fatalf("sign in: %d %s %v", resp.StatusCode, resp.Header.Get("Location"), resp.Cookies())
	}
	// Plain HTTP: not Secure (a browser would drop it), still HttpOnly and Lax.
	if !sc.HttpOnly || sc.Secure || sc.SameSite != http.SameSiteLaxMode || sc.MaxAge != int(auth.SessionLifetime.Seconds()) {
		t.Fatalf("session cookie: %+v", sc)
	}
	if done := cookie(resp, loginCookie); done == nil || done.MaxAge >= 0 {
		t.Errorf("the login form's cookie is not cleared: %+v", done)
	}

	for _, tc := range []struct {
		after    time.Duration
		wantPage int
	}{
		{0, http.StatusOK},
		{auth.SessionLifetime - time.Minute, http.StatusOK},
		{2 * time.Minute, http.StatusSeeOther}, // one minute past the lifetime
	} {
		advance(tc.after)
		resp, _ := do("GET", "/ui/certificates?status=active", nil, sc)
		if resp.StatusCode != tc.wantPage {
			t.Fatalf("%s: GET %d, want %d", clock().Format(time.Kitchen), resp.StatusCode, tc.wantPage)
		}
		if tc.wantPage == http.StatusSeeOther && resp.Header.Get("Location") != "/login?next=%2Fui%2Fcertificates%3Fstatus%3Dactive" {
			t.Fatalf("expired session sent to %s", resp.Header.Get("Location"))
		}
	}
	// A form of the expired session is refused (401 page) and its cookie cleared.
	resp, page = do("POST", LogoutPath, url.Values{"csrf": {csrfToken(sc.Value)}}, sc)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "<title>") {
		t.Fatalf("post with an expired session: %d", resp.StatusCode)
	}
	if gone := cookie(resp, SessionCookie); gone == nil || gone.MaxAge >= 0 {
		t.Errorf("the expired session's cookie is not cleared: %+v", gone)
	}
}
