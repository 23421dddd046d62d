package test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"golang.org/x/net/html"

	"github.com/signet-pki/signet/internal/config"
	"github.com/signet-pki/signet/internal/testutil"
)

// Web UI users (passwords are test values).
const (
	uiAdminPassword = "admin-password-0123456789"
	uiPassword      = "password-0123456789"
)

// newUIEnv starts a server whose admin user has a known password, with a
// requester, a manager and a manually approved profile.
func newUIEnv(t *testing.T, tls bool) *env {
	t.Helper()
	change := func(c *config.Config) { c.AdminPassword = uiAdminPassword }
	var srv *testutil.Server
	if tls {
		srv = testutil.StartTLSServerWith(t, change)
	} else {
		srv = testutil.StartServerWith(t, change)
	}
	e := &env{Server: srv, dir: t.TempDir(), principals: map[string]string{}}
	for _, u := range []struct{ name, role string }{{"rita", "requester"}, {"mona", "manager"}} {
		m := e.Must(t, 201, "POST", "/api/v1/users", admin, map[string]any{"name": u.name, "roles": []string{u.role}, "password": uiPassword}).Map(t)
		e.principals[u.name] = m["id"].(string)
	}
	e.Must(t, 201, "POST", "/api/v1/profiles", admin, map[string]any{"name": "gated", "template": "tls-server", "ca": "signet-issuing", "approval": "manual"})
	return e
}

// browser starts a headless Chromium with its own profile directory (its
// own cookies: one browser is one person's session). The flags keep it off
// every outside network.
func browser(t *testing.T, parent context.Context) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is not installed (scripts/test installs it): %v", err)
	}
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1366, 768),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true), chromedp.Flag("disable-extensions", true),
		chromedp.Flag("metrics-recording-only", true), chromedp.Flag("no-pings", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider,CertificateTransparencyComponentUpdater,AutofillServerCommunication"),
	}
	actx, cancelA := chromedp.NewExecAllocator(parent, opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelA() })
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1366, 768)); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	// Accept the confirmation dialogs of irreversible actions, as a person would.
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	return ctx
}

func run(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		body, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main")))
		t.Fatalf("%s: %v\npage: %.3000s", what, err, body)
	}
}

// submit runs an action that leaves the page (a form post or a link) and
// waits until the next page has loaded: queries during a navigation fail.
func submit(t *testing.T, ctx context.Context, what string, action chromedp.Action[chromedp.Void]) {
	t.Helper()
	run(t, ctx, what+": mark the page", chromedp.Evaluate[chromedp.Void](`window.__signetOld = 1`))
	run(t, ctx, what, action)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		done, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!window.__signetOld && document.readyState === "complete"`))
		if err == nil && done {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: the next page did not load", what)
}

func signIn(t *testing.T, ctx context.Context, base, user, password string) {
	t.Helper()
	run(t, ctx, "sign in as "+user,
		chromedp.Navigate(base+"/login"),
		chromedp.SendKeys(chromedp.CSS("#username"), user),
		chromedp.SendKeys(chromedp.CSS("#password"), password))
	submit(t, ctx, "submit the sign-in form", chromedp.Submit(chromedp.CSS("#password")))
	run(t, ctx, "dashboard", chromedp.WaitVisible(chromedp.CSS("nav[aria-label=Main]")))
	if h1 := textOf(t, ctx, "h1"); h1 != "Dashboard" {
		t.Fatalf("after signing in as %s the page is %q", user, h1)
	}
}

func textOf(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("read %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func title(t *testing.T, ctx context.Context) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil {
		t.Fatalf("title: %v", err)
	}
	return s
}

func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatalf("location: %v", err)
	}
	return s
}

func eval[T any](t *testing.T, ctx context.Context, js string, opts ...chromedp.EvaluateOption) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, opts...))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// TestWebUIRequestApproveSearchDownloadRevokeAudit is the browser
// walk: a requester asks with a CSR, a manager approves in a second
// session, the requester finds, downloads and revokes the certificate, and
// an administrator sees the revocation in the audit log.
func TestWebUIRequestApproveSearchDownloadRevokeAudit(t *testing.T) {
	e := newUIEnv(t, false)
	seedForScreenshots(t, e)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rita, mona := browser(t, ctx), browser(t, ctx)
	focusFollowsLayout(t, rita, e.URL+"/login")
	signIn(t, rita, e.URL, "rita", uiPassword)
	signIn(t, mona, e.URL, "mona", uiPassword)
	focusFollowsLayout(t, mona, e.URL+"/ui/certificates?limit=5")
	focusFollowsLayout(t, rita, e.URL+"/") // cards, then the chart's bars left to right

	// The requester pastes a CSR for a manually approved profile.
	_, csr := e.csr(t, "ui", "/CN=ui.example.com", "DNS:ui.example.com", ecKey...)
	run(t, rita, "submit a CSR",
		chromedp.Navigate(e.URL+"/ui/request?profile=gated"),
		chromedp.SetValue(chromedp.CSS("#csr"), csr))
	submit(t, rita, "submit the request", chromedp.Click(chromedp.CSS("#submit-request")))
	run(t, rita, "request page", chromedp.WaitVisible(chromedp.CSS("#request-status")))
	loc := location(t, rita)
	if got := textOf(t, rita, "#request-status"); got != "pending" {
		t.Fatalf("request status %q, want pending", got)
	}
	reqURL, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	reqID := reqURL.Path[strings.LastIndex(reqURL.Path, "/")+1:]
	if !strings.HasPrefix(reqID, "req_") {
		t.Fatalf("redirected to %s", loc)
	}

	// The requester cannot approve: no queue for them, and its own request has no buttons.
	run(t, rita, "approvals as requester", chromedp.Navigate(e.URL+"/ui/approvals"), chromedp.WaitVisible(chromedp.CSS("h1")))
	if got := title(t, rita); !strings.HasPrefix(got, "Forbidden") {
		t.Fatalf("requester's approvals page: %q", got)
	}

	// The manager approves it in their own session.
	run(t, mona, "approve",
		chromedp.Navigate(e.URL+"/ui/approvals"))
	submit(t, mona, "click approve", chromedp.Click(chromedp.CSS("#approve-"+reqID)))
	run(t, mona, "approved", chromedp.WaitVisible(chromedp.CSS(".flash")))
	flash := textOf(t, mona, ".flash")
	if !strings.Contains(flash, "issued") {
		t.Fatalf("after approval: %q", flash)
	}

	// The requester sees the result and finds the certificate by search.
	run(t, rita, "see the decision", chromedp.Navigate(e.URL+"/ui/requests/"+reqID), chromedp.WaitVisible(chromedp.CSS("#request-cert")))
	if got := textOf(t, rita, "#request-status"); got != "issued" {
		t.Fatalf("request status after approval %q", got)
	}
	serial := textOf(t, rita, "#request-cert")
	run(t, rita, "search",
		chromedp.Navigate(e.URL+"/ui/certificates"),
		chromedp.SendKeys(chromedp.CSS("#q"), "ui.example"))
	submit(t, rita, "submit the search", chromedp.Submit(chromedp.CSS("#q")))
	run(t, rita, "results", chromedp.WaitVisible(chromedp.CSS(`a[href="/ui/certificates/`+serial+`"]`)))
	loc = location(t, rita)
	if !strings.Contains(loc, "q=ui.example") {
		t.Fatalf("filters are not in the URL: %s", loc)
	}
	rows := eval[int](t, rita, `document.querySelectorAll("table.inventory tbody tr").length`)
	if rows != 1 {
		t.Fatalf("search for ui.example shows %d rows, want 1", rows)
	}
	submit(t, rita, "open the certificate", chromedp.Click(chromedp.CSS(`a[href="/ui/certificates/`+serial+`"]`)))
	run(t, rita, "certificate page", chromedp.WaitVisible(chromedp.CSS(".downloads")))

	// Download the PEM with the browser's own session.
	pemText := eval[string](t, rita, `fetch(document.querySelector('.downloads a[href$="format=pem"]').href).then(r => r.text())`,
		chromedp.EvalAwaitPromise)
	var leaf *x509.Certificate
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		t.Fatalf("download is not PEM: %q", pemText)
	}
	leaf, err = x509.ParseCertificate(block.Bytes)
	if err != nil || serialOf(leaf) != serial || leaf.Subject.CommonName != "ui.example.com" {
		t.Fatalf("downloaded certificate %v (err %v), want serial %s", leaf, err, serial)
	}

	// A form post without its CSRF token is refused and changes nothing.
	run(t, rita, "drop the CSRF field",
		chromedp.Evaluate[chromedp.Void](`document.querySelector('form[action$="/suspend"] input[name=csrf]').remove()`))
	submit(t, rita, "suspend without CSRF", chromedp.Submit(chromedp.CSS(`form[action$="/suspend"] button`)))
	run(t, rita, "refusal page", chromedp.WaitVisible(chromedp.CSS(".error")))
	if got := title(t, rita); !strings.HasPrefix(got, "Forbidden") {
		t.Fatalf("post without CSRF token: page %q", got)
	}
	if st := str(e.Must(t, 200, "GET", "/api/v1/certificates/"+serial, admin, nil).Map(t), "status"); st != "active" {
		t.Fatalf("a post without CSRF token changed the status to %s", st)
	}

	// Revoke, with a reason and the confirmation.
	run(t, rita, "revoke",
		chromedp.Navigate(e.URL+"/ui/certificates/"+serial),
		chromedp.SetValue(chromedp.CSS("#reason"), "key_compromise"),
		chromedp.Click(chromedp.CSS("#confirm")))
	submit(t, rita, "click revoke", chromedp.Click(chromedp.CSS("#revoke")))
	run(t, rita, "revoked", chromedp.WaitVisible(chromedp.CSS(".flash")))
	if got := textOf(t, rita, "h1 .badge"); got != "revoked" {
		t.Fatalf("after revoking the page says %q", got)
	}
	c := e.Must(t, 200, "GET", "/api/v1/certificates/"+serial, admin, nil).Map(t)
	if c["status"] != "revoked" || c["revocation_reason"] != "key_compromise" {
		t.Fatalf("certificate after UI revoke: %v", c)
	}

	// A requester gets the 403 page on administration and nothing happens.
	for _, path := range []string{"/ui/admin/identity", "/ui/audit"} {
		run(t, rita, "open "+path, chromedp.Navigate(e.URL+path), chromedp.WaitVisible(chromedp.CSS("h1")))
		if got := title(t, rita); !strings.HasPrefix(got, "Forbidden") {
			t.Fatalf("requester on %s sees %q", path, got)
		}
	}
	// The CA page shows a requester no create form; a form posted anyway
	// (crafted, with the session's own CSRF token) is refused.
	run(t, rita, "open the CAs as requester", chromedp.Navigate(e.URL+"/ui/admin/cas"), chromedp.WaitVisible(chromedp.CSS("h1")))
	if eval[bool](t, rita, `document.querySelector('form[action="/ui/admin/cas"]') !== null`) {
		t.Fatal("a requester is shown the create-CA form")
	}
	run(t, rita, "craft a create-CA form", chromedp.Evaluate[chromedp.Void](`(() => {
		const f = document.createElement("form");
		f.method = "post"; f.action = "/ui/admin/cas"; f.id = "rogue";
		const add = (n, v) => { const i = document.createElement("input"); i.type = "hidden"; i.name = n; i.value = v; f.appendChild(i); };
		add("csrf", document.querySelector('form.who input[name=csrf]').value);
		add("name", "rogue-ca"); add("kind", "root"); add("common_name", "Rogue");
		document.body.appendChild(f);
	})()`))
	submit(t, rita, "post the CA form", chromedp.Evaluate[chromedp.Void](`document.getElementById("rogue").submit()`))
	run(t, rita, "refusal page", chromedp.WaitVisible(chromedp.CSS(".error")))
	if got := title(t, rita); !strings.HasPrefix(got, "Forbidden") {
		t.Fatalf("requester creating a CA sees %q", got)
	}
	e.Must(t, 404, "GET", "/api/v1/cas/rogue-ca", admin, nil)

	// The manager signs out; an administrator finds the revocation in the audit log.
	submit(t, mona, "sign out", chromedp.Click(chromedp.CSS(".who button")))
	run(t, mona, "sign-in form", chromedp.WaitVisible(chromedp.CSS("#username")))
	signIn(t, mona, e.URL, "admin", uiAdminPassword)
	run(t, mona, "audit page",
		chromedp.Navigate(e.URL+"/ui/audit?verify=1&object_id="+serial),
		chromedp.WaitVisible(chromedp.CSS("#chain-status")))
	audit := textOf(t, mona, "table.audit")
	for _, want := range []string{"certificate.issue", "certificate.revoke"} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit page for %s lacks %s:\n%s", serial, want, audit)
		}
	}
	if got := textOf(t, mona, "#chain-status"); !strings.HasPrefix(got, "Chain verified") {
		t.Errorf("chain status: %q", got)
	}
	run(t, mona, "denied events", chromedp.Navigate(e.URL+"/ui/audit?outcome=denied&principal="+e.principals["rita"]),
		chromedp.WaitVisible(chromedp.CSS("table.audit")))
	if denied := textOf(t, mona, "table.audit"); !strings.Contains(denied, "/ui/admin/cas") || !strings.Contains(denied, "csrf_invalid") {
		t.Errorf("the refusals are not audited:\n%s", denied)
	}

	screenshots(t, mona, e.URL, serial)
}

// focusFollowsLayout presses Tab through a page and checks that focus
// visits every focusable element once, in document order, each at or
// after the previous one in reading order (below it, or to its right on
// the same row, where elements overlap vertically). For single-column
// pages.
func focusFollowsLayout(t *testing.T, ctx context.Context, pageURL string) {
	t.Helper()
	run(t, ctx, "open "+pageURL, chromedp.Navigate(pageURL), chromedp.WaitVisible(chromedp.CSS("main")),
		chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur()`))
	want := eval[int](t, ctx, `document.querySelectorAll("a[href], button, input:not([type=hidden]), select, textarea").length`)
	type stop struct {
		Index  int     `json:"index"`
		X      float64 `json:"x"`
		Top    float64 `json:"top"`
		Bottom float64 `json:"bottom"`
	}
	tab := func() stop {
		run(t, ctx, "press Tab", chromedp.KeyEvent("\t"))
		return eval[stop](t, ctx, `(() => {
			const all = [...document.querySelectorAll("a[href], button, input:not([type=hidden]), select, textarea")];
			const el = document.activeElement, r = el.getBoundingClientRect();
			return {index: all.indexOf(el), x: r.left, top: r.top, bottom: r.bottom};
		})()`)
	}
	// Focus may start anywhere (autofocus): go round to the first element.
	first := tab()
	for range want + 2 {
		if first.Index == 0 {
			break
		}
		first = tab()
	}
	stops := []stop{first}
	for len(stops) < want {
		stops = append(stops, tab())
	}
	for i, s := range stops {
		if s.Index != i {
			t.Fatalf("%s: Tab %d focuses element %d, want %d (stops %v)", pageURL, i+1, s.Index, i, stops)
		}
		if i > 0 {
			p := stops[i-1]
			above := s.Bottom <= p.Top
			sameRow := s.Top < p.Bottom && p.Top < s.Bottom
			if above || (sameRow && s.X < p.X) {
				t.Errorf("%s: focus moves back in the layout from %v to %v", pageURL, p, s)
			}
		}
	}
}

// seedForScreenshots issues certificates expiring over the next weeks, so
// the dashboard and inventory have something to show.
func seedForScreenshots(t *testing.T, e *env) {
	t.Helper()
	for i := range 24 {
		days := 3 + i*4
		cn := fmt.Sprintf("svc%02d.example.com", i)
		e.Must(t, 201, "POST", "/api/v1/certificates", admin, map[string]any{"profile": "tls-server",
			"keygen": map[string]any{"algorithm": "ecdsa", "bits": 256}, "subject": map[string]any{"common_name": cn},
			"sans": []string{cn}, "validity_days": days})
	}
}

// screenshots captures the dashboard, inventory and certificate page at
// 1366×768. They are written to $SIGNET_SCREENSHOTS (docs/screenshots for
// the README) only when it is set, so an ordinary run rewrites nothing.
func screenshots(t *testing.T, ctx context.Context, base, serial string) {
	t.Helper()
	dir := os.Getenv("SIGNET_SCREENSHOTS")
	for _, s := range []struct{ name, path string }{
		{"dashboard", "/"}, {"inventory", "/ui/certificates?status=active&sort=not_after"}, {"certificate", "/ui/certificates/" + serial},
	} {
		run(t, ctx, "open "+s.name, chromedp.Navigate(base+s.path), chromedp.WaitVisible(chromedp.CSS("main")))
		buf, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("screenshot %s: %v", s.name, err)
		}
		img, err := png.DecodeConfig(bytes.NewReader(buf))
		if err != nil || img.Width != 1366 || img.Height != 768 {
			t.Fatalf("screenshot %s: %dx%d, %v", s.name, img.Width, img.Height, err)
		}
		if dir != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, s.name+".png"), buf, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// uiClient is a browser without JavaScript: a cookie jar and form posts.
type uiClient struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newUIClient(t *testing.T, e *env) *uiClient {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: e.Client.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &uiClient{t: t, base: e.URL, c: c}
}

func (u *uiClient) do(method, path string, form url.Values) (*http.Response, string) {
	u.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u.base+path, body)
	if err != nil {
		u.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := u.c.Do(req)
	if err != nil {
		u.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// postFile posts a multipart form, as a browser does for a form with a
// file input: fields, then file under fileField.
func (u *uiClient) postFile(path string, fields map[string]string, fileField, fileName string, file []byte) (*http.Response, string) {
	u.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for k, v := range fields {
		_ = w.WriteField(k, v)
	}
	if file != nil {
		fw, _ := w.CreateFormFile(fileField, fileName)
		_, _ = fw.Write(file)
	}
	_ = w.Close()
	req, err := http.NewRequest("POST", u.base+path, &body)
	if err != nil {
		u.t.Fatal(err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	resp, err := u.c.Do(req)
	if err != nil {
		u.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF field in page:\n%.2000s", page)
	}
	return m[1]
}

func (u *uiClient) login(user, password string) *http.Response {
	u.t.Helper()
	_, page := u.do("GET", "/login", nil)
	resp, _ := u.do("POST", "/login", url.Values{"csrf": {csrfOf(u.t, page)}, "username": {user}, "password": {password}})
	return resp
}

func cookieNamed(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// TestWebUISessionsAndCSRF checks the session cookie's attributes on
// HTTPS, the login form's own CSRF token, wrong passwords, sign-out
// revoking the session, and CSRF checks on form posts.
func TestWebUISessionsAndCSRF(t *testing.T) {
	e := newUIEnv(t, true)
	u := newUIClient(t, e)
	resp, _ := u.do("GET", "/ui/certificates?status=active", nil)
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/login?next=%2Fui%2Fcertificates%3Fstatus%3Dactive" {
		t.Fatalf("signed-out page: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Unknown GET paths outside the UI keep the API's problem document.
	if r := e.Do(t, "GET", "/api/v1/no-such-thing", admin, nil); r.Status != 404 || !strings.Contains(string(r.Body), "route_not_found") {
		t.Fatalf("unknown API path: %d %s", r.Status, r.Body)
	}
	// The login form refuses a post without its token.
	resp, page := u.do("POST", "/login", url.Values{"username": {"rita"}, "password": {uiPassword}})
	if resp.StatusCode != 403 || cookieNamed(resp, "signet_session") != nil || !strings.Contains(page, "Please try again") {
		t.Fatalf("login without CSRF token: %d", resp.StatusCode)
	}
	if resp := u.login("rita", "wrong-password-000"); resp.StatusCode != 401 || cookieNamed(resp, "signet_session") != nil {
		t.Fatalf("wrong password: %d", resp.StatusCode)
	}
	resp = u.login("rita", uiPassword)
	c := cookieNamed(resp, "signet_session")
	if resp.StatusCode != 303 || c == nil {
		t.Fatalf("login: %d %v", resp.StatusCode, resp.Cookies())
	}
	if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.MaxAge <= 0 || c.MaxAge > 12*3600 || c.Path != "/" {
		t.Fatalf("session cookie attributes: %+v", c)
	}
	serial := str(e.Must(t, 201, "POST", "/api/v1/certificates", admin, map[string]any{"profile": "tls-server",
		"keygen": map[string]any{"algorithm": "ecdsa", "bits": 256}, "subject": map[string]any{"common_name": "csrf.example.com"},
		"sans": []string{"csrf.example.com"}, "owner": e.principals["rita"]}).Map(t), "certificate", "serial")
	_, certPage := u.do("GET", "/ui/certificates/"+serial, nil)
	token := csrfOf(t, certPage)
	for _, tc := range []struct {
		name string
		form url.Values
		want int
	}{
		{"no token", url.Values{}, 403},
		{"wrong token", url.Values{"csrf": {strings.Repeat("0", len(token))}}, 403},
		{"right token", url.Values{"csrf": {token}}, 303},
	} {
		resp, _ := u.do("POST", "/ui/certificates/"+serial+"/suspend", tc.form)
		st := str(e.Must(t, 200, "GET", "/api/v1/certificates/"+serial, admin, nil).Map(t), "status")
		if resp.StatusCode != tc.want || (tc.want == 403) != (st == "active") {
			t.Errorf("%s: %d (want %d), certificate now %s", tc.name, resp.StatusCode, tc.want, st)
		}
	}
	if resp, _ := u.do("POST", "/ui/certificates/"+serial+"/resume", url.Values{"csrf": {token}}); resp.StatusCode != 303 ||
		str(e.Must(t, 200, "GET", "/api/v1/certificates/"+serial, admin, nil).Map(t), "status") != "active" {
		t.Fatalf("resume: %d", resp.StatusCode)
	}
	// Revoking needs the confirmation box.
	if resp, _ := u.do("POST", "/ui/certificates/"+serial+"/revoke", url.Values{"csrf": {token}, "reason": {"superseded"}}); resp.StatusCode != 400 ||
		str(e.Must(t, 200, "GET", "/api/v1/certificates/"+serial, admin, nil).Map(t), "status") != "active" {
		t.Fatalf("revoke without confirmation: %d", resp.StatusCode)
	}
	// Sign out revokes the session: the old cookie no longer works anywhere.
	old := c.Value
	if resp, _ := u.do("POST", "/logout", url.Values{"csrf": {token}}); resp.StatusCode != 303 {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if r := e.Do(t, "GET", "/api/v1/me", old, nil); r.Status != 401 {
		t.Fatalf("the session survived sign-out: %d", r.Status)
	}
	u2 := newUIClient(t, e)
	target, _ := url.Parse(e.URL)
	u2.c.Jar.SetCookies(target, []*http.Cookie{{Name: "signet_session", Value: old}})
	if resp, _ := u2.do("GET", "/", nil); resp.StatusCode != 303 {
		t.Fatalf("old session cookie still opens the dashboard: %d", resp.StatusCode)
	}
	if strings.Contains(e.LogText(), old) || strings.Contains(e.LogText(), uiPassword) {
		t.Fatal("a session token or password appears in the server log")
	}
}

// TestWebUIPagesReadWithoutJavaScript fetches every page as a plain HTTP
// client, as each role: each has a title, every form control a label, and
// the content is in the HTML (no script needed to read).
func TestWebUIPagesReadWithoutJavaScript(t *testing.T) {
	e := newUIEnv(t, false)
	seedForScreenshots(t, e)
	page := e.Must(t, 200, "GET", "/api/v1/certificates?limit=1", admin, nil).Map(t)
	serial := page["items"].([]any)[0].(map[string]any)["serial"].(string)
	caID := str(e.Must(t, 200, "GET", "/api/v1/cas/signet-issuing", admin, nil).Map(t), "id")
	pages := []struct {
		path, contains string
		status         map[string]int // per user; absent = 200
	}{
		{"/", "Expiry timeline", nil},
		{"/ui/certificates", "svc0", nil},
		{"/ui/certificates?status=active&sort=not_after&expiring=30", "svc00.example.com", nil},
		{"/ui/certificates/" + serial, "SHA-256", map[string]int{"rita": 200}},
		{"/ui/request?profile=tls-server", "Rules of template", nil},
		{"/ui/requests", "My requests", nil},
		{"/ui/approvals", "Approvals", map[string]int{"rita": 403}},
		{"/ui/audit", "Audit log", map[string]int{"rita": 403, "mona": 403}},
		{"/ui/admin/cas", "signet-issuing", nil},
		{"/ui/admin/cas/" + caID, "Chain", nil},
		{"/ui/admin/templates", "Templates", nil},
		{"/ui/admin/profiles", "gated", nil},
		{"/ui/admin/connectors", "External CA connectors", map[string]int{"rita": 403}},
		{"/ui/admin/identity", "API keys", map[string]int{"rita": 403}},
		{"/ui/nothing-here", "", map[string]int{"admin": 404, "rita": 404, "mona": 404}},
	}
	for _, who := range []struct{ user, password string }{{"admin", uiAdminPassword}, {"mona", uiPassword}, {"rita", uiPassword}} {
		u := newUIClient(t, e)
		if resp := u.login(who.user, who.password); resp.StatusCode != 303 {
			t.Fatalf("login %s: %d", who.user, resp.StatusCode)
		}
		for _, p := range pages {
			want := 200
			if s, ok := p.status[who.user]; ok {
				want = s
			}
			resp, body := u.do("GET", p.path, nil)
			if resp.StatusCode != want {
				t.Errorf("%s GET %s: %d, want %d\n%s", who.user, p.path, resp.StatusCode, want, e.LogText())
				continue
			}
			if want == 200 && !strings.Contains(body, p.contains) {
				t.Errorf("%s GET %s lacks %q", who.user, p.path, p.contains)
			}
			checkAccessible(t, who.user+" "+p.path, body)
		}
	}
	// The CSV export is the same view.
	u := newUIClient(t, e)
	u.login("admin", uiAdminPassword)
	resp, csvText := u.do("GET", "/ui/certificates.csv?q=svc0&sort=common_name", nil)
	lines := strings.Split(strings.TrimSpace(csvText), "\n")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || len(lines) != 11 ||
		!strings.HasPrefix(lines[0], "serial,common_name") || !strings.Contains(lines[1], "svc00.example.com") {
		t.Fatalf("CSV export: %d %q", resp.StatusCode, csvText)
	}
	// Bad filters are a 400 page naming the field, not a 500.
	if resp, body := u.do("GET", "/ui/certificates?expiring=soon&sort=bogus", nil); resp.StatusCode != 400 ||
		!strings.Contains(body, "expiring") {
		t.Fatalf("bad filters: %d", resp.StatusCode)
	}
	// The timeline links each bar to the certificates it counts.
	_, dash := u.do("GET", "/", nil)
	if !strings.Contains(dash, `<a href="/ui/certificates?expires_after=`) {
		t.Fatal("timeline bars are not links")
	}
}

// checkAccessible asserts a page has a title, that every form control
// has a label (a <label for>, a wrapping <label>, or aria-label), and that
// no element reorders keyboard focus (focus follows the document order,
// which is the layout's).
func checkAccessible(t *testing.T, what, body string) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Errorf("%s: not HTML: %v", what, err)
		return
	}
	labelled := map[string]bool{}
	var title string
	var controls []*html.Node
	var walk func(n *html.Node, inLabel bool)
	walk = func(n *html.Node, inLabel bool) {
		if n.Type == html.ElementNode {
			// A positive tabindex takes an element out of the layout's focus order.
			if ti := attr(n, "tabindex"); ti != "" && ti != "0" && ti != "-1" {
				t.Errorf("%s: <%s tabindex=%s> breaks the focus order", what, n.Data, ti)
			}
			switch n.Data {
			case "title":
				if n.FirstChild != nil {
					title = n.FirstChild.Data
				}
			case "label":
				if f := attr(n, "for"); f != "" {
					labelled[f] = true
				}
				inLabel = true
			case "input", "select", "textarea":
				if attr(n, "type") != "hidden" && !inLabel && attr(n, "aria-label") == "" {
					controls = append(controls, n)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inLabel)
		}
	}
	walk(doc, false)
	if strings.TrimSpace(title) == "" {
		t.Errorf("%s: no <title>", what)
	}
	for _, c := range controls {
		if id := attr(c, "id"); id == "" || !labelled[id] {
			t.Errorf("%s: <%s name=%q> has no label", what, c.Data, attr(c, "name"))
		}
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

var adminPasswordLine = regexp.MustCompile(`(?m)^Web UI: (\S+)/login as user "admin" with password \(shown only this once\):\n\n\s+(\S+)$`)

// TestBinaryPrintsTheAdminPasswordOnceOrTakesItFromTheEnvironment starts
// the real binary: the first start prints a random admin password that
// signs in at /login; a restart prints none; SIGNET_ADMIN_PASSWORD
// replaces the random one and is never printed.
func TestBinaryPrintsTheAdminPasswordOnceOrTakesItFromTheEnvironment(t *testing.T) {
	login := func(base, password string) int {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Get(base + "/login")
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp, err = c.PostForm(base+"/login", url.Values{"csrf": {csrfOf(t, string(page))}, "username": {"admin"}, "password": {password}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	env := []string{"SIGNET_KEY_PASSPHRASE=env-passphrase-123456"}
	dataDir := t.TempDir()
	p := startSignet(t, env, "--data-dir", dataDir, "--insecure-http")
	m := adminPasswordLine.FindStringSubmatch(p.text())
	if m == nil || m[1] != p.url || len(m[2]) < 20 {
		t.Fatalf("no admin password in the banner:\n%s", p.text())
	}
	if got := login(p.url, m[2]); got != 303 {
		t.Fatalf("sign in with the printed password: %d", got)
	}
	if got := login(p.url, m[2]+"x"); got != 401 {
		t.Fatalf("sign in with a wrong password: %d", got)
	}
	p.stop(t)
	p = startSignet(t, env, "--data-dir", dataDir, "--insecure-http")
	if strings.Contains(p.text(), "Web UI:") || strings.Contains(p.text(), m[2]) {
		t.Fatalf("a restart prints the password again:\n%s", p.text())
	}
	p.stop(t)

	chosen := "chosen-admin-password-42"
	p = startSignet(t, append(env, "SIGNET_ADMIN_PASSWORD="+chosen), "--data-dir", t.TempDir(), "--insecure-http")
	if strings.Contains(p.text(), "Web UI:") || strings.Contains(p.text(), chosen) {
		t.Fatalf("the password from the environment is printed:\n%s", p.text())
	}
	if got := login(p.url, chosen); got != 303 {
		t.Fatalf("sign in with SIGNET_ADMIN_PASSWORD: %d", got)
	}
}

var p12Link = regexp.MustCompile(`href="data:application/x-pkcs12;base64,([A-Za-z0-9+/=&#;]+)"`)

// TestWebUIKeygenRequestShowsViolationsThenDeliversPKCS12Once posts the
// request form as a browser without JavaScript would: a request that
// breaks the template comes back with each violation next to its field;
// a good one returns the PKCS#12 (with the pass phrase) in that response
// only.
func TestWebUIKeygenRequestShowsViolationsThenDeliversPKCS12Once(t *testing.T) {
	e := newUIEnv(t, false)
	u := newUIClient(t, e)
	u.login("rita", uiPassword)
	_, form := u.do("GET", "/ui/request?profile=tls-server", nil)
	token := csrfOf(t, form)
	resp, page := u.do("POST", "/ui/request", url.Values{"csrf": {token}, "profile": {"tls-server"}, "mode": {"keygen"},
		"common_name": {"app.example.com"}, "sans": {""}, "key": {"ecdsa-256"}, "validity_days": {"1000"}, "pkcs12_password": {""}})
	if resp.StatusCode != 400 {
		t.Fatalf("bad request: %d", resp.StatusCode)
	}
	for _, tc := range []struct{ field, message string }{
		{"pkcs12_password", "pass phrase"},
	} {
		re := regexp.MustCompile(`(?s)id="` + tc.field + `"[^>]*aria-invalid="true"[^>]*>\s*(?:</p>)?\s*<ul class="field-error"[^>]*>\s*<li>[^<]*` + tc.message)
		if !re.MatchString(page) {
			t.Errorf("no %q error next to %s:\n%.4000s", tc.message, tc.field, page)
		}
	}
	// With the pass phrase, the service's own violations come back per field.
	for _, tc := range []struct {
		form      url.Values
		id, words string
	}{
		{url.Values{"common_name": {"app.example.com"}, "sans": {"app.example.com"}, "validity_days": {"1000"}}, "validity_days", "exceeds"},
		{url.Values{"common_name": {"app.example.com"}, "sans": {"app.example.com\nops@example.com"}}, "sans", "email"},
		{url.Values{"common_name": {"app.example.com"}, "sans": {"other.example.com"}}, "common_name", "subject alternative names"},
		{url.Values{"common_name": {"app.example.com"}, "sans": {"app.example.com"}, "validity_days": {"ten"}}, "validity_days", "whole number"},
	} {
		form := url.Values{"csrf": {token}, "profile": {"tls-server"}, "mode": {"keygen"}, "key": {"ecdsa-256"}, "pkcs12_password": {"p12-pass-phrase-1"}}
		for k, v := range tc.form {
			form[k] = v
		}
		resp, page = u.do("POST", "/ui/request", form)
		re := regexp.MustCompile(`id="` + tc.id + `"[^<]*>(?:[^<]*</textarea>)?</p>\s*<ul class="field-error"[^>]*>\s*<li>[^<]*` + tc.words)
		if resp.StatusCode != 400 || !re.MatchString(page) {
			t.Errorf("%v: %d, no %q error at %s:\n%.5000s", tc.form, resp.StatusCode, tc.words, tc.id, page)
		}
	}
	if r := e.Must(t, 200, "GET", "/api/v1/certificates?q=app.example.com&total=true", admin, nil).Map(t); r["total"].(float64) != 0 {
		t.Fatalf("a refused request issued something: %v", r)
	}
	// A good request: the PKCS#12 is in this response, for this pass phrase.
	resp, page = u.do("POST", "/ui/request", url.Values{"csrf": {token}, "profile": {"tls-server"}, "mode": {"keygen"},
		"common_name": {"app.example.com"}, "sans": {"app.example.com\nwww.app.example.com"}, "key": {"ecdsa-256"},
		"pkcs12_password": {"p12-pass-phrase-1"}})
	m := p12Link.FindStringSubmatch(page)
	if resp.StatusCode != 201 || m == nil || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("keygen: %d %q\n%.3000s", resp.StatusCode, resp.Header.Get("Cache-Control"), page)
	}
	der, err := base64.StdEncoding.DecodeString(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	p12 := testutil.WriteFile(t, e.dir, "ui.p12", der)
	out := testutil.Openssl(t, e.dir, "pkcs12", "-in", p12, "-passin", "pass:p12-pass-phrase-1", "-nodes", "-info")
	if !strings.Contains(out, "BEGIN PRIVATE KEY") || !strings.Contains(out, "subject=CN") || !strings.Contains(out, "app.example.com") {
		t.Fatalf("PKCS#12 content:\n%s", out)
	}
	if _, err := testutil.OpensslErr(e.dir, "pkcs12", "-in", p12, "-passin", "pass:wrong", "-nodes"); err == nil {
		t.Fatal("the PKCS#12 opens with a wrong pass phrase")
	}
	// Renew it from its page with a new server-generated key: the successor is linked.
	serial := regexp.MustCompile(`Serial <code>([0-9a-f]+)</code>`).FindStringSubmatch(page)[1]
	resp, page = u.do("POST", "/ui/certificates/"+serial+"/renew", url.Values{"csrf": {token}, "key": {"ecdsa-384"},
		"pkcs12_password": {"p12-pass-phrase-2"}})
	if resp.StatusCode != 201 || !p12Link.MatchString(page) {
		t.Fatalf("renew: %d\n%.3000s", resp.StatusCode, page)
	}
	old := e.Must(t, 200, "GET", "/api/v1/certificates/"+serial, admin, nil).Map(t)
	next := str(old, "renewed_by")
	if next == "" || str(e.Must(t, 200, "GET", "/api/v1/certificates/"+next, admin, nil).Map(t), "renewed_from") != serial {
		t.Fatalf("renewal links: %v", old)
	}
	if _, body := u.do("GET", "/ui/certificates/"+serial, nil); !strings.Contains(body, `href="/ui/certificates/`+next+`"`) {
		t.Fatal("the certificate page does not link to its renewal")
	}
}

var newSecret = regexp.MustCompile(`<code id="new-secret">([^<]+)</code>`)

// TestWebUIAdministration drives the administration forms as an admin:
// template validation errors are shown and nothing is saved; templates,
// profiles, CAs, teams, users and API keys are created (a key's secret is
// shown once and works at once), a CA is disabled and a key revoked.
func TestWebUIAdministration(t *testing.T) {
	e := newUIEnv(t, false)
	u := newUIClient(t, e)
	u.login("admin", uiAdminPassword)
	_, page := u.do("GET", "/ui/admin/templates", nil)
	token := csrfOf(t, page)
	post := func(path string, form url.Values) (*http.Response, string) {
		form.Set("csrf", token)
		return u.do("POST", path, form)
	}
	for _, tc := range []struct {
		spec, want string
	}{
		{`{"max_validity_days": 30,`, "not valid template JSON"},
		{`{"max_validity_days": 0, "sans": {"dns": ["*"]}}`, "max_validity_days"},
		{`{"max_validity_days": 30, "no_such_rule": true}`, "no_such_rule"},
	} {
		resp, body := post("/ui/admin/templates", url.Values{"name": {"ui-tpl"}, "spec": {tc.spec}})
		if resp.StatusCode != 400 || !strings.Contains(body, tc.want) {
			t.Errorf("template %s: %d, want 400 mentioning %q", tc.spec, resp.StatusCode, tc.want)
		}
	}
	e.Must(t, 404, "GET", "/api/v1/templates/ui-tpl", admin, nil)
	spec := `{"key_types":[{"algorithm":"ecdsa","min_bits":256}],"subject":[{"field":"common_name"}],"sans":{"dns":[".ui.example"],"required":true},` +
		`"key_usages":["digital_signature"],"ext_key_usages":["server_auth"],"max_validity_days":30,"allow_key_generation":true}`
	if resp, body := post("/ui/admin/templates", url.Values{"name": {"ui-tpl"}, "description": {"UI"}, "spec": {spec}}); resp.StatusCode != 303 {
		t.Fatalf("create template: %d\n%.2000s", resp.StatusCode, body)
	}
	tpl := e.Must(t, 200, "GET", "/api/v1/templates/ui-tpl", admin, nil).Map(t)
	// Editing it: the editor holds its rules; a broken edit is refused and changes nothing; a good one is saved.
	if _, ed := u.do("GET", "/ui/admin/templates?edit=ui-tpl", nil); !strings.Contains(ed, "Edit template ui-tpl") ||
		!strings.Contains(ed, `&#34;max_validity_days&#34;: 30`) {
		t.Fatalf("the template editor does not hold ui-tpl's rules:\n%.3000s", ed)
	}
	if resp, body := post("/ui/admin/templates", url.Values{"name": {"ui-tpl"}, "update": {"1"},
		"spec": {strings.Replace(spec, `"max_validity_days":30`, `"max_validity_days":-5`, 1)}}); resp.StatusCode != 400 ||
		!strings.Contains(body, "max_validity_days") {
		t.Fatalf("a template edit breaking a rule: %d", resp.StatusCode)
	}
	longer := strings.Replace(spec, `"max_validity_days":30`, `"max_validity_days":45`, 1)
	if resp, body := post("/ui/admin/templates", url.Values{"name": {"ui-tpl"}, "update": {"1"}, "description": {"UI"}, "spec": {longer}}); resp.StatusCode != 303 {
		t.Fatalf("edit template: %d\n%.2000s", resp.StatusCode, body)
	}
	if got := e.Must(t, 200, "GET", "/api/v1/templates/ui-tpl", admin, nil).Map(t)["spec"].(map[string]any)["max_validity_days"]; got != 45.0 {
		t.Fatalf("max_validity_days after the edit: %v", got)
	}
	// The CA: an intermediate under the root, then disabled.
	rootID := str(e.Must(t, 200, "GET", "/api/v1/cas/signet-root", admin, nil).Map(t), "id")
	resp, body := post("/ui/admin/cas", url.Values{"name": {"ui-int"}, "kind": {"intermediate"}, "parent": {rootID},
		"common_name": {"UI Intermediate"}, "key": {"ecdsa-256"}, "validity_days": {"365"}})
	if resp.StatusCode != 303 {
		t.Fatalf("create CA: %d\n%.2000s", resp.StatusCode, body)
	}
	caID := str(e.Must(t, 200, "GET", "/api/v1/cas/ui-int", admin, nil).Map(t), "id")
	if _, body := u.do("GET", "/ui/admin/cas/"+caID, nil); !strings.Contains(body, "CN=Signet Root CA") {
		t.Fatalf("the CA page does not show the chain up to the root:\n%.3000s", body)
	}
	// A profile over them, edited once.
	form := url.Values{"name": {"ui-prof"}, "template": {str(tpl, "id")}, "ca": {caID}, "approval": {"manual"},
		"methods": {"api", "acme"}, "delivery_format": {"pem"}, "status": {"active"}}
	if resp, body := post("/ui/admin/profiles", form); resp.StatusCode != 303 {
		t.Fatalf("create profile: %d\n%.2000s", resp.StatusCode, body)
	}
	form.Set("update", "1")
	form.Set("approval", "auto")
	form.Set("default_validity_days", "400")
	if resp, body := post("/ui/admin/profiles", form); resp.StatusCode != 400 || !strings.Contains(body, "validity") {
		t.Fatalf("a profile validity over the template's maximum: %d", resp.StatusCode)
	}
	form.Set("default_validity_days", "20")
	if resp, _ := post("/ui/admin/profiles", form); resp.StatusCode != 303 {
		t.Fatalf("update profile: %d", resp.StatusCode)
	}
	prof := e.Must(t, 200, "GET", "/api/v1/profiles/ui-prof", admin, nil).Map(t)
	if prof["approval"] != "auto" || prof["default_validity_days"].(float64) != 20 {
		t.Fatalf("profile after the edit: %v", prof)
	}
	if resp, _ := post("/ui/admin/cas/"+caID+"/status", url.Values{"status": {"disabled"}}); resp.StatusCode != 303 {
		t.Fatalf("disable CA: %d", resp.StatusCode)
	}
	if st := str(e.Must(t, 200, "GET", "/api/v1/cas/ui-int", admin, nil).Map(t), "status"); st != "disabled" {
		t.Fatalf("CA status %s", st)
	}
	// A team and a user in it, and an API key for the user: the secret is shown once.
	if resp, body := post("/ui/admin/identity/team", url.Values{"name": {"web"}, "description": {"Web team"}}); resp.StatusCode != 303 {
		t.Fatalf("create team: %d\n%.2000s", resp.StatusCode, body)
	}
	teams := e.Must(t, 200, "GET", "/api/v1/teams", admin, nil).Map(t)["items"].([]any)
	if len(teams) != 1 {
		t.Fatalf("teams: %v", teams)
	}
	teamID := teams[0].(map[string]any)["id"].(string)
	if resp, body := post("/ui/admin/identity/user", url.Values{"name": {"walt"}, "password": {"walt-password-0123"}, "roles": {"requester"},
		"teams": {teamID}}); resp.StatusCode != 303 {
		t.Fatalf("create user: %d\n%.2000s", resp.StatusCode, body)
	}
	walt := e.Must(t, 200, "GET", "/api/v1/users/walt", admin, nil).Map(t)
	resp, body = post("/ui/admin/identity/key", url.Values{"name": {"walt-ci"}, "principal": {walt["id"].(string)}, "roles": {"requester"}})
	m := newSecret.FindStringSubmatch(body)
	if resp.StatusCode != 201 || m == nil {
		t.Fatalf("create key: %d\n%.3000s", resp.StatusCode, body)
	}
	me := e.Must(t, 200, "GET", "/api/v1/me", m[1], nil).Map(t)
	if me["name"] != "walt" {
		t.Fatalf("the new key is %v", me)
	}
	if _, again := u.do("GET", "/ui/admin/identity", nil); strings.Contains(again, m[1]) {
		t.Fatal("the key's secret is shown again")
	}
	keyID := str(me, "api_key_id")
	if resp, _ := post("/ui/admin/identity/revoke-key", url.Values{"id": {keyID}}); resp.StatusCode != 303 {
		t.Fatalf("revoke key: %d", resp.StatusCode)
	}
	e.Must(t, 401, "GET", "/api/v1/me", m[1], nil)
	if strings.Contains(e.LogText(), m[1]) {
		t.Fatal("an API key secret appears in the server log")
	}
}

// TestWebUIRejectionReachesTheRequester: a manager rejects with a reason
// (a reason is required), and the requester reads it on the request page;
// nobody approves their own request.
func TestWebUIRejectionReachesTheRequester(t *testing.T) {
	e := newUIEnv(t, false)
	rita, mona := newUIClient(t, e), newUIClient(t, e)
	rita.login("rita", uiPassword)
	mona.login("mona", uiPassword)
	_, csr := e.csr(t, "rej", "/CN=rej.example.com", "DNS:rej.example.com", ecKey...)
	_, form := rita.do("GET", "/ui/request?profile=gated", nil)
	resp, _ := rita.do("POST", "/ui/request", url.Values{"csrf": {csrfOf(t, form)}, "profile": {"gated"}, "mode": {"csr"}, "csr": {csr}})
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != 303 || !strings.HasPrefix(loc.Path, "/ui/requests/req_") {
		t.Fatalf("submit: %d %s", resp.StatusCode, loc)
	}
	id := strings.TrimPrefix(loc.Path, "/ui/requests/")
	// The manager sees what is asked for, in the queue and on the request's page.
	_, queue := mona.do("GET", "/ui/approvals", nil)
	if !strings.Contains(queue, id) || !strings.Contains(queue, "<td>CN=rej.example.com<br><small>rej.example.com</small></td><td>gated</td><td>rita</td>") {
		t.Fatalf("the request is not in the manager's queue with its subject, names and requester:\n%.3000s", queue)
	}
	if _, detail := mona.do("GET", loc.Path, nil); !strings.Contains(detail, `id="request-subject">CN=rej.example.com<`) ||
		!strings.Contains(detail, `id="request-names">rej.example.com<`) || !strings.Contains(detail, "ECDSA P-256") {
		t.Fatalf("the request page does not show what is asked for:\n%.3000s", detail)
	}
	mtoken := csrfOf(t, queue)
	if resp, _ := mona.do("POST", "/ui/requests/"+id+"/reject", url.Values{"csrf": {mtoken}}); resp.StatusCode != 400 {
		t.Fatalf("reject without a reason: %d", resp.StatusCode)
	}
	if resp, _ := mona.do("POST", "/ui/requests/"+id+"/reject", url.Values{"csrf": {mtoken}, "reason": {"use the wildcard certificate"}}); resp.StatusCode != 303 {
		t.Fatalf("reject: %d", resp.StatusCode)
	}
	_, page := rita.do("GET", loc.Path, nil)
	if !strings.Contains(page, `id="request-status">rejected<`) || !strings.Contains(page, "use the wildcard certificate") {
		t.Fatalf("the requester does not see the decision:\n%.3000s", page)
	}
	_, mine := rita.do("GET", "/ui/requests", nil)
	if !strings.Contains(mine, id) || !strings.Contains(mine, "use the wildcard certificate") {
		t.Fatal("My requests does not list the rejection")
	}
	// A manager's own request offers no approval, and approving it is refused.
	_, form = mona.do("GET", "/ui/request?profile=gated", nil)
	resp, _ = mona.do("POST", "/ui/request", url.Values{"csrf": {csrfOf(t, form)}, "profile": {"gated"}, "mode": {"csr"}, "csr": {csr}})
	own := strings.TrimPrefix(strings.SplitN(resp.Header.Get("Location"), "?", 2)[0], "/ui/requests/")
	if _, q := mona.do("GET", "/ui/approvals", nil); strings.Contains(q, "approve-"+own) {
		t.Fatal("the queue offers to approve one's own request")
	}
	if resp, _ := mona.do("POST", "/ui/requests/"+own+"/approve", url.Values{"csrf": {mtoken}}); resp.StatusCode < 400 || resp.StatusCode >= 500 {
		t.Fatalf("approving one's own request: %d", resp.StatusCode)
	}
	if st := str(e.Must(t, 200, "GET", "/api/v1/requests/"+own, admin, nil).Map(t), "status"); st != "pending" {
		t.Fatalf("own request is %s", st)
	}
}

// TestWebUIBadInputIsAClientErrorPage: whatever a signed-in browser sends,
// the answer is a 4xx page, never a 500.
func TestWebUIBadInputIsAClientErrorPage(t *testing.T) {
	e := newUIEnv(t, false)
	u := newUIClient(t, e)
	u.login("admin", uiAdminPassword)
	_, page := u.do("GET", "/", nil)
	token := csrfOf(t, page)
	for _, tc := range []struct {
		method, path string
		form         url.Values
	}{
		{"GET", "/ui/certificates/zz-not-hex", nil},
		{"GET", "/ui/certificates/abcdef0123", nil},
		{"GET", "/ui/certificates/abcdef0123/download?format=pem", nil},
		{"GET", "/ui/certificates?cursor=garbage", nil},
		{"GET", "/ui/certificates?status=bogus&source=elsewhere", nil},
		{"GET", "/ui/certificates?expires_after=yesterday", nil},
		{"GET", "/ui/certificates.csv?expiring=-3", nil},
		{"GET", "/ui/requests/req_nope", nil},
		{"GET", "/ui/admin/cas/ca_nope", nil},
		{"GET", "/ui/admin/templates?edit=nope", nil},
		{"GET", "/ui/admin/profiles?edit=nope", nil},
		{"GET", "/ui/audit?from=13/13/2026&after=x", nil},
		{"POST", "/ui/certificates/zz/revoke", url.Values{"confirm": {"yes"}}},
		{"POST", "/ui/certificates/abcdef0123/frobnicate", url.Values{}},
		{"POST", "/ui/requests/req_nope/approve", url.Values{}},
		{"POST", "/ui/requests/req_nope/maybe", url.Values{}},
		{"POST", "/ui/request", url.Values{"profile": {"nope"}, "csr": {"garbage"}}},
		{"POST", "/ui/request", url.Values{"profile": {"tls-server"}, "csr": {"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----"}}},
		{"POST", "/ui/request", url.Values{"profile": {"tls-server"}, "mode": {"keygen"}, "key": {"rsa-1024"}, "common_name": {"x.example.com"}, "pkcs12_password": {"p12-pass-phrase-1"}}},
		{"POST", "/ui/admin/cas", url.Values{"name": {""}, "kind": {"sideways"}}},
		{"POST", "/ui/admin/cas/import", url.Values{"name": {"imp"}, "certificate": {"not a certificate"}}},
		{"POST", "/ui/admin/cas/ca_nope/status", url.Values{"status": {"paused"}}},
		{"POST", "/ui/admin/profiles", url.Values{"name": {"p"}, "template": {"nope"}, "ca": {"nope"}}},
		{"POST", "/ui/admin/identity/user", url.Values{"name": {"x"}, "password": {"short"}, "roles": {"emperor"}}},
		{"POST", "/ui/admin/identity/revoke-key", url.Values{"id": {"key_nope"}}},
		{"POST", "/ui/admin/identity/sorcery", url.Values{}},
		{"GET", "/ui/admin/connectors?edit=nope", nil},
		{"POST", "/ui/admin/connectors", url.Values{"name": {""}, "type": {"sideways"}, "config": {"=\n"}, "secret_value": {"x"}}},
		{"POST", "/ui/admin/connectors/upc_nope/update", url.Values{"name": {"x"}, "config": {"url = https://x"}}},
		{"POST", "/ui/admin/connectors/upc_nope/frobnicate", url.Values{}},
		{"POST", "/ui/admin/connectors/upc_nope/delete", url.Values{"confirm": {"yes"}}},
		{"POST", "/ui/certificates/abcdef0123/delete", url.Values{"confirm": {"yes"}}},
	} {
		if tc.form != nil {
			tc.form.Set("csrf", token)
		}
		resp, body := u.do(tc.method, tc.path, tc.form)
		if resp.StatusCode < 400 || resp.StatusCode >= 500 || !strings.Contains(body, "<title>") {
			t.Errorf("%s %s: %d, want a 4xx page\n%.1500s", tc.method, tc.path, resp.StatusCode, body)
		}
	}
	// A body over the limit is refused with 413 before anything is parsed.
	if resp, _ := u.do("POST", "/ui/request", url.Values{"csrf": {token}, "csr": {strings.Repeat("A", 2<<20)}}); resp.StatusCode != 413 {
		t.Errorf("oversized form: %d, want 413", resp.StatusCode)
	}
	if strings.Contains(e.LogText(), "level=ERROR") {
		t.Errorf("bad input logged errors:\n%s", e.LogText())
	}
}

// TestWebUIKeepsOrganizationsApart: a user of another organization sees
// none of the default organization's certificates, requests or profiles,
// and gets the 403 page when naming one directly.
func TestWebUIKeepsOrganizationsApart(t *testing.T) {
	e := newUIEnv(t, false)
	seedForScreenshots(t, e)
	e.Must(t, 201, "POST", "/api/v1/organizations", admin, map[string]any{"name": "acme"})
	e.Must(t, 201, "POST", "/api/v1/users", admin, map[string]any{"name": "otto", "org": "acme", "roles": []string{"manager"}, "password": uiPassword})
	page := e.Must(t, 200, "GET", "/api/v1/certificates?limit=1", admin, nil).Map(t)
	serial := page["items"].([]any)[0].(map[string]any)["serial"].(string)
	u := newUIClient(t, e)
	if resp := u.login("otto", uiPassword); resp.StatusCode != 303 {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	for _, tc := range []struct {
		path   string
		status int
		absent string
	}{
		{"/ui/certificates", 200, "svc0"},
		{"/ui/certificates.csv", 200, "svc0"},
		{"/", 200, "svc0"},
		{"/ui/approvals", 200, "gated"},
		{"/ui/request", 200, "tls-server"},
		{"/ui/certificates/" + serial, 403, serial + "</code>"},
		{"/ui/certificates/" + serial + "/download?format=pem", 403, "BEGIN CERTIFICATE"},
	} {
		resp, body := u.do("GET", tc.path, nil)
		if resp.StatusCode != tc.status || strings.Contains(body, tc.absent) {
			t.Errorf("otto GET %s: %d (want %d), shows %q: %v", tc.path, resp.StatusCode, tc.status, tc.absent, strings.Contains(body, tc.absent))
		}
	}
	_, dash := u.do("GET", "/", nil)
	if !regexp.MustCompile(`<h2>Total</h2><p class="big"><a [^>]*>0</a>`).MatchString(dash) {
		t.Errorf("another organization's dashboard counts the default organization's certificates:\n%.2500s", dash)
	}
	_, certPage := u.do("GET", "/ui/certificates", nil)
	if resp, _ := u.do("POST", "/ui/certificates/"+serial+"/revoke", url.Values{"csrf": {csrfOf(t, certPage)}, "confirm": {"yes"}}); resp.StatusCode != 403 {
		t.Errorf("revoking another organization's certificate: %d", resp.StatusCode)
	}
	if st := str(e.Must(t, 200, "GET", "/api/v1/certificates/"+serial, admin, nil).Map(t), "status"); st != "active" {
		t.Fatalf("another organization revoked a certificate: %s", st)
	}
}

// TestWebUIBrowserIssuerChoiceAndDelete: in a browser, the profile form
// shows only the issuer settings of the chosen type and puts the service's
// refusal of an external profile without a connector at that field; a
// manager deletes an imported certificate (confirmed) and lands on the
// inventory with a notice.
func TestWebUIBrowserIssuerChoiceAndDelete(t *testing.T) {
	e := newUIEnv(t, false)
	e.opensslCert(t, "gone", "/CN=gone.example.net")
	imp := e.Must(t, 200, "POST", "/api/v1/certificates/import", admin, map[string]any{"pem": readFile(t, filepath.Join(e.dir, "gone.pem"))}).Map(t)
	serial := imp["imported"].([]any)[0].(map[string]any)["serial"].(string)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	mona := browser(t, ctx)
	signIn(t, mona, e.URL, "mona", uiPassword)

	run(t, mona, "profile form", chromedp.Navigate(e.URL+"/ui/admin/profiles"), chromedp.WaitVisible(chromedp.CSS("#p-issuer")))
	hidden := func(sel string) bool {
		return eval[bool](t, mona, `document.querySelector('`+sel+`').closest('p').hidden`)
	}
	if hidden("#p-ca") || !hidden("#p-connector") {
		t.Fatal("an internal profile should show the CA and hide the connector")
	}
	run(t, mona, "choose external", chromedp.SetValue(chromedp.CSS("#p-issuer"), "external"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("p-issuer").dispatchEvent(new Event("change"))`),
		chromedp.SendKeys(chromedp.CSS("#p-name"), "ext-browser"))
	if !hidden("#p-ca") || hidden("#p-connector") {
		t.Fatal("an external profile should show the connector and hide the CA")
	}
	submit(t, mona, "save without a connector", chromedp.Click(chromedp.CSS(`#profile-form button[type=submit]`)))
	run(t, mona, "refusal", chromedp.WaitVisible(chromedp.CSS("#p-connector-err")))
	if got := textOf(t, mona, "#p-connector-err"); !strings.Contains(got, "needs a connector") {
		t.Fatalf("connector error: %q", got)
	}

	run(t, mona, "imported certificate", chromedp.Navigate(e.URL+"/ui/certificates/"+serial), chromedp.WaitVisible(chromedp.CSS("#delete")),
		chromedp.Click(chromedp.CSS("#confirm-delete")))
	submit(t, mona, "delete", chromedp.Click(chromedp.CSS("#delete")))
	run(t, mona, "notice", chromedp.WaitVisible(chromedp.CSS(".flash")))
	if got, loc := textOf(t, mona, ".flash"), location(t, mona); !strings.Contains(got, "gone.example.net (imported) deleted") ||
		!strings.Contains(loc, "/ui/certificates?") {
		t.Fatalf("after delete: %q at %s", got, loc)
	}
	e.Must(t, 404, "GET", "/api/v1/certificates/"+serial, admin, nil)
}
