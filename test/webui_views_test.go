package test

import (
	"bytes"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/config"
	"github.com/signet-pki/signet/internal/testutil"
)

// These tests read the web UI as a browser without JavaScript does (see
// uiClient): what each page lists, where its links lead, what it offers to
// download, and what each role is shown.

var (
	inventoryRow = regexp.MustCompile(`<td><a href="/ui/certificates/([0-9a-f]+)">([^<]*)</a></td>`)
	nextLink     = regexp.MustCompile(`<a href="([^"]+)" rel="next">`)
)

// rows returns the serials and common names an inventory page lists, in order.
func rows(page string) (serials, names []string) {
	for _, m := range inventoryRow.FindAllStringSubmatch(page, -1) {
		serials, names = append(serials, m[1]), append(names, m[2])
	}
	return serials, names
}

// TestWebUIInventoryFiltersPagesAndDownloads: every inventory filter
// narrows the table to what it names (owner and team by name too), cursor
// pages cover the view exactly once, sorting orders it, and a certificate
// downloads in every format, each checked with openssl.
func TestWebUIInventoryFiltersPagesAndDownloads(t *testing.T) {
	e := newUIEnv(t, false)
	seedForScreenshots(t, e) // 24 × svcNN.example.com: tls-server, signet-issuing, owned by admin
	// One certificate for each filter to single out.
	e.Must(t, 201, "POST", "/api/v1/cas", admin, map[string]any{"name": "other-int", "kind": "intermediate", "parent": "signet-root",
		"key": map[string]any{"algorithm": "ecdsa", "bits": 256}, "subject": map[string]any{"common_name": "Other Intermediate"}, "validity_days": 365})
	e.Must(t, 201, "POST", "/api/v1/profiles", admin, map[string]any{"name": "other", "template": "tls-server", "ca": "other-int"})
	team := str(e.Must(t, 201, "POST", "/api/v1/teams", admin, map[string]any{"name": "payments"}).Map(t), "id")
	enroll := func(profile, cn, owner string) string {
		body := map[string]any{"profile": profile, "keygen": map[string]any{"algorithm": "ecdsa", "bits": 256},
			"subject": map[string]any{"common_name": cn}, "sans": []string{cn}}
		if owner != "" {
			body["owner"] = owner
		}
		return str(e.Must(t, 201, "POST", "/api/v1/certificates", admin, body).Map(t), "certificate", "serial")
	}
	otherCA := enroll("other", "other.example.com", "")
	ritas := enroll("tls-server", "rita.example.com", e.principals["rita"])
	teams := enroll("tls-server", "pay.example.com", team)
	e.opensslCert(t, "legacy", "/CN=legacy.example.net")
	imp := e.Must(t, 200, "POST", "/api/v1/certificates/import", admin, map[string]any{"pem": readFile(t, filepath.Join(e.dir, "legacy.pem"))}).Map(t)
	imported := imp["imported"].([]any)[0].(map[string]any)["serial"].(string)
	caID := str(e.Must(t, 200, "GET", "/api/v1/cas/other-int", admin, nil).Map(t), "id")
	profID := str(e.Must(t, 200, "GET", "/api/v1/profiles/other", admin, nil).Map(t), "id")

	u := newUIClient(t, e)
	u.login("admin", uiAdminPassword)
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"ca=" + caID, []string{otherCA}},
		{"profile=" + profID, []string{otherCA}},
		{"owner=rita", []string{ritas}},
		{"owner=" + e.principals["rita"], []string{ritas}},
		{"owner=payments", []string{teams}},
		{"source=imported", []string{imported}},
		{"q=legacy.example", []string{imported}},
		{"q=" + strings.ToUpper(ritas), []string{ritas}}, // a serial, in any case
		{"status=active&q=svc0&expiring=10", nil},        // filled in below
	} {
		resp, page := u.do("GET", "/ui/certificates?"+tc.query, nil)
		got, _ := rows(page)
		if tc.want == nil { // svc00 expires in 3 days, svc01 in 7, svc02 in 11
			tc.want = []string{serialByCN(t, e, "svc01.example.com"), serialByCN(t, e, "svc00.example.com")}
		}
		if resp.StatusCode != 200 || !slices.Equal(got, tc.want) {
			t.Errorf("?%s: %d, rows %v, want %v", tc.query, resp.StatusCode, got, tc.want)
		}
	}
	// A name that is nobody's is a 400 page naming the owner field.
	if resp, page := u.do("GET", "/ui/certificates?owner=nobody-at-all", nil); resp.StatusCode != 400 ||
		!strings.Contains(page, "<strong>owner</strong>") {
		t.Errorf("unknown owner: %d", resp.StatusCode)
	}
	// The owner column links to that owner's certificates.
	if _, page := u.do("GET", "/ui/certificates?q=rita.example.com", nil); !strings.Contains(page, `href="/ui/certificates?owner=`+e.principals["rita"]+`"`) {
		t.Error("the owner column does not link to the owner's certificates")
	}

	// Pages of 10 sorted by name: every certificate once, in order, then no next page.
	total := len(e.Must(t, 200, "GET", "/api/v1/certificates?limit=1000", admin, nil).Map(t)["items"].([]any))
	var seen []string
	path := "/ui/certificates?sort=common_name&limit=10"
	for pages := 0; path != ""; pages++ {
		if pages > total/10+1 {
			t.Fatalf("more pages than certificates: %v", seen)
		}
		resp, page := u.do("GET", path, nil)
		_, names := rows(page)
		if resp.StatusCode != 200 || len(names) == 0 || len(names) > 10 {
			t.Fatalf("%s: %d, %d rows", path, resp.StatusCode, len(names))
		}
		seen = append(seen, names...)
		path = ""
		if m := nextLink.FindStringSubmatch(page); m != nil {
			path = html.UnescapeString(m[1])
			if !strings.Contains(path, "sort=common_name") || !strings.Contains(path, "limit=10") {
				t.Fatalf("the next page forgets the view: %s", path)
			}
		}
	}
	if len(seen) != total || !slices.IsSorted(seen) {
		t.Fatalf("paging by name saw %d of %d certificates, sorted %v: %v", len(seen), total, slices.IsSorted(seen), seen)
	}
	_, page := u.do("GET", "/ui/certificates?sort=-common_name&limit=500", nil)
	if _, names := rows(page); len(names) != total || !slices.IsSortedFunc(names, func(a, b string) int { return strings.Compare(b, a) }) {
		t.Fatalf("descending sort: %v", names)
	}

	// The certificate page decodes the certificate itself: compare with openssl.
	_, page = u.do("GET", "/ui/certificates/"+otherCA, nil)
	leafPEM := str(e.Must(t, 200, "GET", "/api/v1/certificates/"+otherCA, admin, nil).Map(t), "certificate_pem")
	leafPath := testutil.WriteFile(t, e.dir, "other.crt", []byte(leafPEM))
	fp := strings.TrimSpace(strings.SplitN(testutil.Openssl(t, e.dir, "x509", "-in", leafPath, "-noout", "-fingerprint", "-sha256"), "=", 2)[1])
	for _, want := range []string{"<dt>Subject</dt><dd>CN=other.example.com</dd>", "<dt>DNS names</dt><dd>other.example.com</dd>",
		"<dt>Key</dt><dd>ECDSA P-256</dd>", "<td>Subject Alternative Name</td><td><code>2.5.29.17</code></td>",
		`<code class="fp">` + fp + `</code>`, "<li>CN=Other Intermediate<br>", "<li>CN=Signet Root CA,O=Signet<br>"} {
		if !strings.Contains(page, want) {
			t.Errorf("the certificate page lacks %s", want)
		}
	}
	// Every download format of one certificate, as openssl reads it.
	formats := regexp.MustCompile(`href="/ui/certificates/`+otherCA+`/download\?format=(\w+)"`).FindAllStringSubmatch(page, -1)
	var offered []string
	for _, f := range formats {
		offered = append(offered, f[1])
	}
	if !slices.Equal(offered, []string{"pem", "chain", "der", "pkcs7"}) {
		t.Fatalf("the certificate page offers %v", offered)
	}
	for _, tc := range []struct {
		format, ctype, file string
		check               func(path string)
	}{
		{"pem", "application/x-pem-file", otherCA + ".pem", func(p string) {
			out := testutil.Openssl(t, e.dir, "x509", "-in", p, "-noout", "-serial", "-subject")
			// openssl pads the serial to whole bytes ("serial=068F..."): compare without leading zeros.
			serial, _, _ := strings.Cut(strings.TrimPrefix(strings.ToLower(out), "serial="), "\n")
			if strings.TrimLeft(strings.TrimSpace(serial), "0") != strings.TrimLeft(strings.ToLower(otherCA), "0") || !strings.Contains(out, "other.example.com") {
				t.Errorf("PEM: %s", out)
			}
		}},
		{"der", "application/pkix-cert", otherCA + ".cer", func(p string) {
			if out := testutil.Openssl(t, e.dir, "x509", "-inform", "DER", "-in", p, "-noout", "-subject"); !strings.Contains(out, "other.example.com") {
				t.Errorf("DER: %s", out)
			}
		}},
		{"chain", "application/x-pem-file", otherCA + "-chain.pem", func(p string) {
			// Leaf, the intermediate, the root: the leaf verifies with the chain as untrusted and the root as anchor.
			b, _ := os.ReadFile(p)
			if n := bytes.Count(b, []byte("BEGIN CERTIFICATE")); n != 3 {
				t.Errorf("chain has %d certificates, want 3", n)
			}
			block, _ := pem.Decode(b)
			e.verify(t, "dl-chain", string(pem.EncodeToMemory(block)), string(b))
		}},
		{"pkcs7", "application/pkcs7-mime", otherCA + ".p7b", func(p string) {
			out := testutil.Openssl(t, e.dir, "pkcs7", "-inform", "DER", "-in", p, "-print_certs", "-noout")
			for _, want := range []string{"other.example.com", "Other Intermediate", "Signet Root CA"} {
				if !strings.Contains(out, want) {
					t.Errorf("PKCS#7 lacks %s:\n%s", want, out)
				}
			}
		}},
	} {
		resp, body := u.do("GET", "/ui/certificates/"+otherCA+"/download?format="+tc.format, nil)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != tc.ctype ||
			resp.Header.Get("Content-Disposition") != `attachment; filename="`+tc.file+`"` {
			t.Errorf("download %s: %d %q %q", tc.format, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"))
			continue
		}
		tc.check(testutil.WriteFile(t, e.dir, "dl-"+tc.format, []byte(body)))
	}
	// A format nobody offers is a 400 page, not a file.
	if resp, _ := u.do("GET", "/ui/certificates/"+otherCA+"/download?format=pkcs12", nil); resp.StatusCode != 400 {
		t.Errorf("PKCS#12 of a stored certificate: %d", resp.StatusCode)
	}
}

func serialByCN(t *testing.T, e *env, cn string) string {
	t.Helper()
	items := e.Must(t, 200, "GET", "/api/v1/certificates?q="+url.QueryEscape(cn), admin, nil).Map(t)["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("%d certificates named %s", len(items), cn)
	}
	return items[0].(map[string]any)["serial"].(string)
}

var (
	barTitle = regexp.MustCompile(`<a href="([^"]+)" aria-label="(\d+) certificates expiring ([0-9-]+) to ([0-9-]+)">`)
	dayTitle = regexp.MustCompile(`<title>(\d+) certificates issued on ([0-9-]+)</title>`)
	cardBig  = regexp.MustCompile(`<h2>([^<]+)</h2><p class="big"><a href="([^"]+)">([0-9,]+)</a>`)
)

// TestWebUIDashboardCountsAndLinks: the dashboard's cards and charts agree
// with the inventory they link to, managers see what waits for them with
// the requester's name, administrators see recent audit events, and a
// requester sees neither.
func TestWebUIDashboardCountsAndLinks(t *testing.T) {
	e := newUIEnv(t, false)
	seedForScreenshots(t, e) // expiring in 3, 7, 11, … 95 days
	_, csr := e.csr(t, "dash", "/CN=dash.example.com", "DNS:dash.example.com", ecKey...)
	rita := newUIClient(t, e)
	rita.login("rita", uiPassword)
	_, form := rita.do("GET", "/ui/request?profile=gated", nil)
	resp, _ := rita.do("POST", "/ui/request", url.Values{"csrf": {csrfOf(t, form)}, "profile": {"gated"}, "mode": {"csr"}, "csr": {csr}})
	reqID := strings.TrimPrefix(strings.SplitN(resp.Header.Get("Location"), "?", 2)[0], "/ui/requests/")

	u := newUIClient(t, e)
	u.login("admin", uiAdminPassword)
	_, dash := u.do("GET", "/", nil)
	cards := map[string][2]string{}
	for _, m := range cardBig.FindAllStringSubmatch(dash, -1) {
		cards[m[1]] = [2]string{html.UnescapeString(m[2]), m[3]}
	}
	for _, tc := range []struct{ card, count string }{
		{"Total", "24"}, {"Active", "24"}, {"Revoked", "0"},
		{"Expiring in 7 days", "2"}, {"Expiring in 30 days", "7"}, {"Expiring in 90 days", "22"},
	} {
		c, ok := cards[tc.card]
		if !ok || c[1] != tc.count {
			t.Errorf("card %q: %v, want %s", tc.card, c, tc.count)
			continue
		}
		// Each card links to exactly the certificates it counts.
		_, page := u.do("GET", c[0]+"&limit=500", nil)
		if tc.card == "Total" {
			_, page = u.do("GET", c[0]+"?limit=500", nil)
		}
		if got, _ := rows(page); strconv.Itoa(len(got)) != tc.count {
			t.Errorf("card %q links to %s listing %d certificates", tc.card, c[0], len(got))
		}
	}
	// Each timeline bar links to the certificates of its week.
	bars := barTitle.FindAllStringSubmatch(dash, -1)
	if len(bars) != 13 {
		t.Fatalf("%d timeline bars, want 13", len(bars))
	}
	sum := 0
	for _, b := range bars {
		n, _ := strconv.Atoi(b[2])
		sum += n
		_, page := u.do("GET", html.UnescapeString(b[1])+"&limit=500", nil)
		if got, _ := rows(page); len(got) != n {
			t.Errorf("bar %s–%s says %d, its link lists %d", b[3], b[4], n, len(got))
		}
	}
	// The weeks start today at 00:00 UTC: the 13 weeks end before now + 91
	// days, so of 3 + 4i days (i < 24) those up to 87 days fall in them.
	if sum != 22 {
		t.Errorf("the timeline counts %d certificates, want 22", sum)
	}
	days := dayTitle.FindAllStringSubmatch(dash, -1)
	if len(days) != 14 || days[13][1] != "24" {
		t.Errorf("issued per day: %v, want 14 days ending with 24 today", days)
	}
	if !regexp.MustCompile(`<a href="/ui/requests/` + reqID + `">` + reqID + `</a></td><td>CN=dash.example.com</td><td>rita</td>`).MatchString(dash) {
		t.Errorf("pending approvals do not show %s for CN=dash.example.com by rita", reqID)
	}
	if !strings.Contains(dash, "<h2>Recent audit events</h2>") || !strings.Contains(dash, "<td>request.create</td>") {
		t.Error("the administrator's dashboard lacks the recent request.create event")
	}
	_, mine := rita.do("GET", "/", nil)
	if strings.Contains(mine, "Pending approvals") || strings.Contains(mine, "Recent audit events") {
		t.Error("a requester's dashboard shows approvals or audit events")
	}
}

// TestWebUIRequestWithAnUploadedCSR posts the request form with a CSR file
// (multipart, as a browser sends a file input): the certificate carries
// the CSR's key; a file that is not a CSR is shown next to the CSR field,
// and an oversized one is refused.
func TestWebUIRequestWithAnUploadedCSR(t *testing.T) {
	e := newUIEnv(t, false)
	keyPath, csr := e.csr(t, "upload", "/CN=upload.example.com", "DNS:upload.example.com", ecKey...)
	u := newUIClient(t, e)
	u.login("rita", uiPassword)
	_, form := u.do("GET", "/ui/request?profile=tls-server", nil)
	token := csrfOf(t, form)
	post := func(file []byte) (*http.Response, string) {
		return u.postFile("/ui/request", map[string]string{"csrf": token, "profile": "tls-server", "mode": "csr", "csr": ""},
			"csr_file", "upload.csr", file)
	}
	resp, page := post([]byte(csr))
	m := regexp.MustCompile(`Serial <code>([0-9a-f]+)</code>`).FindStringSubmatch(page)
	if resp.StatusCode != 201 || m == nil || strings.Contains(page, "download-p12") {
		t.Fatalf("upload: %d\n%.2000s", resp.StatusCode, page)
	}
	leaf := str(e.Must(t, 200, "GET", "/api/v1/certificates/"+m[1], admin, nil).Map(t), "certificate_pem")
	leafPath := testutil.WriteFile(t, e.dir, "upload.crt", []byte(leaf))
	if got, want := testutil.Openssl(t, e.dir, "x509", "-in", leafPath, "-noout", "-pubkey"),
		testutil.Openssl(t, e.dir, "pkey", "-in", keyPath, "-pubout"); got != want {
		t.Fatalf("the certificate's key is not the CSR's:\n%s\n%s", got, want)
	}
	// Renewing it with a new CSR (the renew form's text field): the successor carries the new key.
	newKey, newCSR := e.csr(t, "upload2", "/CN=upload.example.com", "DNS:upload.example.com", ecKey...)
	resp, page = u.do("POST", "/ui/certificates/"+m[1]+"/renew", url.Values{"csrf": {token}, "csr": {newCSR}})
	next := regexp.MustCompile(`Serial <code>([0-9a-f]+)</code>`).FindStringSubmatch(page)
	if resp.StatusCode != 201 || next == nil || strings.Contains(page, "download-p12") {
		t.Fatalf("renew with a CSR: %d\n%.2000s", resp.StatusCode, page)
	}
	succ := e.Must(t, 200, "GET", "/api/v1/certificates/"+next[1], admin, nil).Map(t)
	succPath := testutil.WriteFile(t, e.dir, "upload2.crt", []byte(str(succ, "certificate_pem")))
	if got, want := testutil.Openssl(t, e.dir, "x509", "-in", succPath, "-noout", "-pubkey"),
		testutil.Openssl(t, e.dir, "pkey", "-in", newKey, "-pubout"); got != want || str(succ, "renewed_from") != m[1] {
		t.Fatalf("the renewal does not carry the new CSR's key or its link: %v", succ)
	}
	resp, page = post([]byte("this is not a CSR"))
	if resp.StatusCode != 400 || !regexp.MustCompile(`id="csr"[^>]*aria-invalid="true"`).MatchString(page) ||
		!strings.Contains(page, `<ul class="field-error" id="csr-err">`) {
		t.Errorf("a file that is no CSR: %d\n%.3000s", resp.StatusCode, page)
	}
	if resp, _ = post(bytes.Repeat([]byte("A"), 70<<10)); resp.StatusCode != 413 {
		t.Errorf("a 70 KB CSR file: %d, want 413", resp.StatusCode)
	}
}

// TestWebUIIdentityAdministrationAndRoleViews: an administrator creates an
// organization, a service account and imports a CA from the UI, disables
// a user (their session and keys stop at once) and enables them again,
// but not themselves; other roles see the administration pages without
// the forms they could not use.
func TestWebUIIdentityAdministrationAndRoleViews(t *testing.T) {
	e := newUIEnv(t, false)
	e.Must(t, 201, "POST", "/api/v1/users", admin, map[string]any{"name": "audrey", "roles": []string{"auditor"}, "password": uiPassword})
	u := newUIClient(t, e)
	u.login("admin", uiAdminPassword)
	_, page := u.do("GET", "/ui/admin/identity", nil)
	token := csrfOf(t, page)
	post := func(path string, form url.Values) (*http.Response, string) {
		form.Set("csrf", token)
		return u.do("POST", path, form)
	}
	if resp, _ := post("/ui/admin/identity/org", url.Values{"name": {"globex"}}); resp.StatusCode != 303 {
		t.Fatalf("create organization: %d", resp.StatusCode)
	}
	e.Must(t, 200, "GET", "/api/v1/organizations/globex", admin, nil)
	if resp, body := post("/ui/admin/identity/service", url.Values{"name": {"deployer"}, "roles": {"requester"}}); resp.StatusCode != 303 {
		t.Fatalf("create service account: %d\n%.2000s", resp.StatusCode, body)
	}
	if svc := e.Must(t, 200, "GET", "/api/v1/service-accounts/deployer", admin, nil).Map(t); !strings.HasPrefix(str(svc, "id"), "svc_") {
		t.Fatalf("service account: %v", svc)
	}

	// Disabling rita ends her session and her API keys; enabling lets her back in.
	rita := newUIClient(t, e)
	if resp := rita.login("rita", uiPassword); resp.StatusCode != 303 {
		t.Fatalf("rita signs in: %d", resp.StatusCode)
	}
	ritaKey := str(e.Must(t, 201, "POST", "/api/v1/api-keys", admin, map[string]any{"name": "rita-ci", "principal_id": e.principals["rita"]}).Map(t), "key")
	e.Must(t, 200, "GET", "/api/v1/me", ritaKey, nil)
	if !strings.Contains(page, `id="disable-rita"`) || strings.Contains(page, `id="disable-admin"`) {
		t.Fatal("the identity page should offer to disable rita and not oneself")
	}
	if resp, _ := post("/ui/admin/identity/disable", url.Values{"id": {e.principals["rita"]}}); resp.StatusCode != 303 {
		t.Fatalf("disable rita: %d", resp.StatusCode)
	}
	if resp, _ := rita.do("GET", "/ui/certificates", nil); resp.StatusCode != 303 {
		t.Errorf("a disabled user's session still opens pages: %d", resp.StatusCode)
	}
	e.Must(t, 401, "GET", "/api/v1/me", ritaKey, nil)
	if resp := rita.login("rita", uiPassword); resp.StatusCode != 401 {
		t.Errorf("a disabled user signs in: %d", resp.StatusCode)
	}
	if _, p := u.do("GET", "/ui/admin/identity", nil); !strings.Contains(p, `id="status-`+e.principals["rita"]+`">disabled<`) ||
		!strings.Contains(p, `id="enable-rita"`) {
		t.Error("the identity page does not show rita as disabled with an enable button")
	}
	if resp, _ := post("/ui/admin/identity/enable", url.Values{"id": {e.principals["rita"]}}); resp.StatusCode != 303 {
		t.Fatalf("enable rita: %d", resp.StatusCode)
	}
	if resp := newUIClient(t, e).login("rita", uiPassword); resp.StatusCode != 303 {
		t.Errorf("an enabled user cannot sign in: %d", resp.StatusCode)
	}
	adminID := str(e.Must(t, 200, "GET", "/api/v1/users/admin", admin, nil).Map(t), "id")
	if resp, body := post("/ui/admin/identity/disable", url.Values{"id": {adminID}}); resp.StatusCode != 400 ||
		!strings.Contains(body, "cannot disable your own account") {
		t.Errorf("disabling oneself: %d, want 400 with the reason", resp.StatusCode)
	}
	if resp, _ := u.do("GET", "/", nil); resp.StatusCode != 200 {
		t.Errorf("the administrator's session after refusing self-disable: %d", resp.StatusCode)
	}

	// Import an external CA certificate made by openssl; its page shows it.
	testutil.Openssl(t, e.dir, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", "ext.key", "-out", "ext.pem", "-subj", "/CN=UI External CA", "-days", "365",
		"-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
	resp, body := post("/ui/admin/cas/import", url.Values{"name": {"ui-external"}, "certificate": {readFile(t, filepath.Join(e.dir, "ext.pem"))}})
	if resp.StatusCode != 303 {
		t.Fatalf("import CA: %d\n%.2000s", resp.StatusCode, body)
	}
	ext := e.Must(t, 200, "GET", "/api/v1/cas/ui-external", admin, nil).Map(t)
	if ext["kind"] != "imported" || ext["has_key"] != false {
		t.Fatalf("imported CA: %v", ext)
	}
	if _, p := u.do("GET", resp.Header.Get("Location"), nil); !strings.Contains(p, "CN=UI External CA") || !strings.Contains(p, "no key held") {
		t.Errorf("the imported CA's page:\n%.2000s", p)
	}

	// What each role is shown: forms only for what the role may do.
	caID := str(ext, "id")
	for _, tc := range []struct {
		user, path string
		present    []string
		absent     []string
	}{
		{"rita", "/ui/admin/cas", []string{"ui-external"}, []string{`action="/ui/admin/cas"`, `action="/ui/admin/cas/import"`}},
		{"rita", "/ui/admin/cas/" + caID, []string{"CN=UI External CA"}, []string{"/status"}},
		{"rita", "/ui/admin/templates", []string{"tls-server"}, []string{`action="/ui/admin/templates"`, "?edit="}},
		{"rita", "/ui/admin/profiles", []string{"gated"}, []string{`action="/ui/admin/profiles"`, "?edit="}},
		{"rita", "/", []string{"Request"}, []string{`href="/ui/admin/cas"`, `href="/ui/audit"`}},
		{"mona", "/ui/admin/identity", []string{"/ui/admin/identity/team", "rita"},
			[]string{"/ui/admin/identity/user", "/ui/admin/identity/key", "/ui/admin/identity/disable", "/ui/admin/identity/org"}},
		{"audrey", "/ui/admin/identity", []string{"rita"}, []string{`method="post" action="/ui/admin/identity/`}},
		{"audrey", "/ui/admin/cas", []string{"ui-external"}, []string{`action="/ui/admin/cas"`}},
		{"audrey", "/", []string{`href="/ui/audit"`, `href="/ui/admin/cas"`}, []string{`href="/ui/request"`}},
	} {
		c := newUIClient(t, e)
		if resp := c.login(tc.user, uiPassword); resp.StatusCode != 303 {
			t.Fatalf("login %s: %d", tc.user, resp.StatusCode)
		}
		resp, p := c.do("GET", tc.path, nil)
		if resp.StatusCode != 200 {
			t.Errorf("%s GET %s: %d", tc.user, tc.path, resp.StatusCode)
			continue
		}
		for _, s := range tc.present {
			if !strings.Contains(p, s) {
				t.Errorf("%s GET %s lacks %q", tc.user, tc.path, s)
			}
		}
		for _, s := range tc.absent {
			if strings.Contains(p, s) {
				t.Errorf("%s GET %s shows %q", tc.user, tc.path, s)
			}
		}
		checkAccessible(t, tc.user+" "+tc.path, p)
	}
	// An auditor cannot request certificates: the request page is the 403 page.
	audrey := newUIClient(t, e)
	audrey.login("audrey", uiPassword)
	if resp, body := audrey.do("GET", "/ui/request", nil); resp.StatusCode != 403 || !strings.Contains(body, "<title>Forbidden") {
		t.Errorf("an auditor's request page: %d", resp.StatusCode)
	}
	// A manager may not disable anyone even by posting the form.
	mona := newUIClient(t, e)
	if resp := mona.login("mona", uiPassword); resp.StatusCode != 303 {
		t.Fatalf("login mona: %d", resp.StatusCode)
	}
	resp, p := mona.do("GET", "/ui/admin/identity", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("mona GET identity: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := mona.do("POST", "/ui/admin/identity/disable", url.Values{"csrf": {csrfOf(t, p)}, "id": {e.principals["rita"]}}); resp.StatusCode != 403 {
		t.Errorf("a manager disabling a user: %d, want 403", resp.StatusCode)
	}
	if r := e.Must(t, 200, "GET", "/api/v1/users/rita", admin, nil).Map(t); r["disabled"] == true {
		t.Error("a manager's refused post disabled rita")
	}
}

// TestWebUICookiesAreSecureBehindATLSProxy: behind a proxy that terminates
// TLS (an https public_url, plain HTTP to Signet), the session and login
// cookies still carry Secure, so the browser never sends them in clear.
func TestWebUICookiesAreSecureBehindATLSProxy(t *testing.T) {
	srv := testutil.StartServerWith(t, func(c *config.Config) {
		c.AdminPassword = uiAdminPassword
		c.PublicURL = "https://signet.example.com"
	})
	u := newUIClient(t, &env{Server: srv, dir: t.TempDir()})
	resp, page := u.do("GET", "/login", nil)
	lc := cookieNamed(resp, "signet_login")
	if lc == nil || !lc.Secure {
		t.Fatalf("login cookie: %+v", lc)
	}
	// The client's jar keeps Secure cookies off plain HTTP, as a browser would: send it by hand.
	req, _ := http.NewRequest("POST", srv.URL+"/login", strings.NewReader(url.Values{"csrf": {csrfOf(t, page)},
		"username": {"admin"}, "password": {uiAdminPassword}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: lc.Name, Value: lc.Value})
	resp, err := u.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if sc := cookieNamed(resp, "signet_session"); resp.StatusCode != 303 || sc == nil || !sc.Secure || !sc.HttpOnly {
		t.Fatalf("session cookie behind a TLS proxy: %d %+v", resp.StatusCode, sc)
	}
}

// TestWebUIMyRequestsInABusyOrganization: every issuance is a request, so
// an organization soon has more than a page of them; a requester still
// finds their open and rejected requests, newest first, and a manager
// sees everyone's with the requester's name.
func TestWebUIMyRequestsInABusyOrganization(t *testing.T) {
	e := newUIEnv(t, false)
	for i := range 230 {
		cn := fmt.Sprintf("busy%03d.example.com", i)
		e.Must(t, 201, "POST", "/api/v1/certificates", admin, map[string]any{"profile": "tls-server",
			"keygen": map[string]any{"algorithm": "ecdsa", "bits": 256}, "subject": map[string]any{"common_name": cn}, "sans": []string{cn}})
	}
	rita, mona := newUIClient(t, e), newUIClient(t, e)
	rita.login("rita", uiPassword)
	mona.login("mona", uiPassword)
	var ids []string
	for _, name := range []string{"first", "second"} {
		_, csr := e.csr(t, name, "/CN="+name+".example.com", "DNS:"+name+".example.com", ecKey...)
		_, form := rita.do("GET", "/ui/request?profile=gated", nil)
		resp, _ := rita.do("POST", "/ui/request", url.Values{"csrf": {csrfOf(t, form)}, "profile": {"gated"}, "mode": {"csr"}, "csr": {csr}})
		ids = append(ids, strings.TrimPrefix(strings.SplitN(resp.Header.Get("Location"), "?", 2)[0], "/ui/requests/"))
	}
	_, queue := mona.do("GET", "/ui/approvals", nil)
	if resp, _ := mona.do("POST", "/ui/requests/"+ids[0]+"/reject", url.Values{"csrf": {csrfOf(t, queue)}, "reason": {"duplicate"}}); resp.StatusCode != 303 {
		t.Fatalf("reject: %d", resp.StatusCode)
	}
	row := regexp.MustCompile(`<a href="/ui/requests/(req_\w+)">`)
	_, mine := rita.do("GET", "/ui/requests", nil)
	var listed []string
	for _, m := range row.FindAllStringSubmatch(mine, -1) {
		listed = append(listed, m[1])
	}
	if !slices.Equal(listed, []string{ids[1], ids[0]}) || !strings.Contains(mine, "<td>CN=second.example.com</td>") ||
		!strings.Contains(mine, "duplicate") {
		t.Fatalf("rita's requests list %v, want %v (newest first, with the rejection)", listed, []string{ids[1], ids[0]})
	}
	if _, mineAll := rita.do("GET", "/ui/requests?all=1", nil); strings.Contains(mineAll, "All open requests") {
		t.Error("a requester lists everyone's requests")
	}
	checkAccessible(t, "rita /ui/requests", mine)
	_, detail := mona.do("GET", "/ui/requests/"+ids[1], nil)
	if !strings.Contains(detail, `action="/ui/requests/`+ids[1]+`/approve"`) || !strings.Contains(detail, "<dt>Requester</dt><dd>rita</dd>") {
		t.Errorf("the request page offers the manager no decision or no requester name:\n%.3000s", detail)
	}
	checkAccessible(t, "mona /ui/requests/"+ids[1], detail)
	_, all := mona.do("GET", "/ui/requests?all=1", nil)
	checkAccessible(t, "mona /ui/requests?all=1", all)
	if !regexp.MustCompile(`<a href="/ui/requests/` + ids[1] + `">` + ids[1] + `</a></td><td>rita</td>`).MatchString(all) {
		t.Errorf("the manager's list of all open requests lacks rita's %s:\n%.3000s", ids[1], all)
	}
}

// TestWebUIAuditPageShowsABrokenChain: after an audit row is edited in the
// database behind Signet's back, the audit page's verification names the
// first bad event instead of "Chain verified".
func TestWebUIAuditPageShowsABrokenChain(t *testing.T) {
	e := newUIEnv(t, false)
	u := newUIClient(t, e)
	u.login("admin", uiAdminPassword)
	if _, page := u.do("GET", "/ui/audit?verify=1", nil); !strings.Contains(page, `id="chain-status">Chain verified`) {
		t.Fatalf("untouched chain:\n%.3000s", page)
	}
	edited := e.auditHead(t) - 1
	db, err := sql.Open("sqlite", "file:"+e.DataDir+"/signet.db?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE audit_events SET details = '{"name":"forged"}' WHERE seq = ?`, edited); err != nil {
		t.Fatal(err)
	}
	resp, page := u.do("GET", "/ui/audit?verify=1", nil)
	if resp.StatusCode != 200 || !strings.Contains(page, `<p class="error" role="status" id="chain-status">Chain broken at event `+strconv.Itoa(edited)+`:`) {
		t.Fatalf("tampered chain: %d\n%.3000s", resp.StatusCode, page)
	}
}

// TestWebUIConnectorsAndExternalProfiles: an administrator configures a
// step-ca connector in the UI (its secret is never shown again, on any
// page), the profile form refuses an external profile without a usable
// connector next to that field and then creates one, a requester's UI
// request issues through step-ca, and with step-ca down the next request
// reads as waiting for the external CA with its reason. A requester
// cannot open or change connectors; one in use cannot be deleted.
func TestWebUIConnectorsAndExternalProfiles(t *testing.T) {
	e := newUIEnv(t, false)
	s := newStepCA(t)
	s.start(t)
	e.upstreamTemplate(t, "up")
	var jwk map[string]any
	if err := json.Unmarshal([]byte(s.provKeyJSON), &jwk); err != nil || str(jwk, "d") == "" {
		t.Fatalf("provisioner key: %v", err)
	}
	secretD := str(jwk, "d") // the private part: no page may ever contain it
	var pages []string       // every page fetched, checked for the secret at the end
	u := newUIClient(t, e)
	u.login("admin", uiAdminPassword)
	get := func(c *uiClient, path string, want int) string {
		t.Helper()
		resp, p := c.do("GET", path, nil)
		if resp.StatusCode != want {
			t.Fatalf("GET %s: %d, want %d\n%.3000s", path, resp.StatusCode, want, p)
		}
		pages = append(pages, p)
		return p
	}
	post := func(c *uiClient, path string, form url.Values, want int) (*http.Response, string) {
		t.Helper()
		resp, p := c.do("POST", path, form)
		if resp.StatusCode != want {
			t.Fatalf("POST %s: %d, want %d\n%.3000s", path, resp.StatusCode, want, p)
		}
		pages = append(pages, p)
		return resp, p
	}
	page := get(u, "/ui/admin/connectors", 200)
	checkAccessible(t, "admin connectors", page)
	token := csrfOf(t, page)
	form := func(kv ...string) url.Values {
		v := url.Values{"csrf": {token}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v
	}
	settings := "url = https://" + s.addr + "\nprovisioner = signet\n"

	// A refused connector: each problem next to its field, nothing stored, the secret not echoed.
	_, page = post(u, "/ui/admin/connectors", form("name", "step", "type", "stepca", "config", "url = http://plain\nthis is no setting",
		"root_pem", string(s.rootPEM), "secret_name", "provisioner_key", "secret_value", "not-a-jwk-"+secretD[:8]), 400)
	if !strings.Contains(page, `id="c-config-err"`) || !strings.Contains(page, "line 2 is not key = value") ||
		strings.Contains(page, "not-a-jwk-") {
		t.Errorf("refused connector form:\n%.4000s", page)
	}
	checkAccessible(t, "refused connector form", page)
	_, page = post(u, "/ui/admin/connectors", form("name", "step", "type", "stepca", "config", settings,
		"root_pem", string(s.rootPEM), "secret_name", "provisioner_key", "secret_value", "not-a-jwk"), 400)
	if !regexp.MustCompile(`<ul class="field-error" id="c-secrets-err"><li>provisioner_key must be`).MatchString(page) ||
		strings.Contains(page, "not-a-jwk") {
		t.Errorf("a bad secret is not shown next to the secrets (or is echoed):\n%.4000s", page)
	}
	e.Must(t, 404, "GET", "/api/v1/connectors/step", admin, nil)
	// The real one.
	resp, _ := post(u, "/ui/admin/connectors", form("name", "step", "type", "stepca", "config", settings,
		"root_pem", string(s.rootPEM), "secret_name", "provisioner_key", "secret_value", s.provKeyJSON), 303)
	if !strings.HasPrefix(resp.Header.Get("Location"), "/ui/admin/connectors?done=") {
		t.Errorf("after create: %s", resp.Header.Get("Location"))
	}
	conn := e.Must(t, 200, "GET", "/api/v1/connectors/step", admin, nil).Map(t)
	connID := str(conn, "id")
	if conn["type"] != "stepca" || !slices.Contains(anyStrings(conn["secret_names"]), "provisioner_key") {
		t.Fatalf("connector: %v", conn)
	}
	// The editor shows the settings and the secret's name, never its value.
	page = get(u, "/ui/admin/connectors?edit=step", 200)
	checkAccessible(t, "connector editor", page)
	if !strings.Contains(page, "provisioner = signet") || !strings.Contains(page, `name="secret_name" value="provisioner_key"`) ||
		regexp.MustCompile(`type="password"[^>]*value=`).MatchString(page) {
		t.Errorf("connector editor:\n%.4000s", page)
	}

	// The profile form: external without a connector, or with an unknown one, is refused at the connector field.
	page = get(u, "/ui/admin/profiles", 200)
	if !strings.Contains(page, `<option value="`+connID+`"`) || !strings.Contains(page, `name="issuer_type"`) {
		t.Fatalf("the profile form offers no issuer type or connector:\n%.4000s", page)
	}
	profile := func(connector string) url.Values {
		return form("name", "via-step", "template", "up", "issuer_type", "external", "connector", connector, "ca", "signet-issuing",
			"approval", "auto", "default_validity_days", "30", "methods", "api", "delivery_format", "pem", "status", "active")
	}
	for connector, want := range map[string]string{"": "an external profile needs a connector", "nope": `no connector &#34;nope&#34;`} {
		_, page = post(u, "/ui/admin/profiles", profile(connector), 400)
		if !regexp.MustCompile(`id="p-connector"[^>]*aria-invalid="true"`).MatchString(page) ||
			!strings.Contains(page, `<ul class="field-error" id="p-connector-err"><li>`+want) {
			t.Errorf("external profile with connector %q:\n%.4000s", connector, page)
		}
		checkAccessible(t, "refused profile form", page)
	}
	e.Must(t, 404, "GET", "/api/v1/profiles/via-step", admin, nil)
	post(u, "/ui/admin/profiles", profile(connID), 303)
	if p := e.Must(t, 200, "GET", "/api/v1/profiles/via-step", admin, nil).Map(t); p["issuer_type"] != "external" ||
		!strings.Contains(fmt.Sprint(p), connID) {
		t.Fatalf("profile via-step: %v", p)
	}
	if page = get(u, "/ui/admin/profiles", 200); !strings.Contains(page, `external: <a href="/ui/admin/connectors?edit=`+connID+`">step</a>`) {
		t.Errorf("the profiles table does not show the connector")
	}

	// A requester's UI request issues through step-ca.
	rita := newUIClient(t, e)
	rita.login("rita", uiPassword)
	_, csr := e.csr(t, "ext-ui", "/CN=a.upstream.test", "DNS:a.upstream.test", ecKey...)
	reqForm := get(rita, "/ui/request?profile=via-step", 200)
	_, page = post(rita, "/ui/request", url.Values{"csrf": {csrfOf(t, reqForm)}, "profile": {"via-step"}, "mode": {"csr"}, "csr": {csr}}, 201)
	m := regexp.MustCompile(`Serial <code>([0-9a-f]+)</code>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("issued page:\n%.3000s", page)
	}
	leaf := parsePEMCert(t, str(e.Must(t, 200, "GET", "/api/v1/certificates/"+m[1], admin, nil).Map(t), "certificate_pem"))
	if leaf.Issuer.CommonName != "Upstream Test Intermediate" {
		t.Errorf("the certificate was issued by %s, not step-ca", leaf.Issuer)
	}
	if page = get(u, "/ui/admin/connectors", 200); !regexp.MustCompile(`(?s)<tr id="connector-step">.*?</td>\s*<td>1</td><td>0</td><td>0</td><td>0</td>`).MatchString(page) ||
		!strings.Contains(page, "<td>via-step</td>") || strings.Contains(page, `action="/ui/admin/connectors/`+connID+`/delete"`) {
		t.Errorf("the connectors page shows no usage for step, or offers to delete it while in use:\n%.4000s", page)
	}

	// A requester can neither open the connectors page nor change anything by posting.
	for _, path := range []string{"/ui/admin/connectors", "/ui/admin/connectors?edit=step"} {
		if p := get(rita, path, 403); !strings.Contains(p, "<title>Forbidden") {
			t.Errorf("rita GET %s: not the 403 page", path)
		}
	}
	ritaToken := csrfOf(t, reqForm)
	post(rita, "/ui/admin/connectors", url.Values{"csrf": {ritaToken}, "name": {"rogue"}, "type": {"stepca"}, "config": {settings},
		"secret_name": {"provisioner_key"}, "secret_value": {s.provKeyJSON}}, 403)
	post(rita, "/ui/admin/connectors/"+connID+"/status", url.Values{"csrf": {ritaToken}, "status": {"disabled"}}, 403)
	post(rita, "/ui/admin/connectors/"+connID+"/secrets", url.Values{"csrf": {ritaToken}, "secret_name": {"provisioner_key"}, "secret_value": {"x"}}, 403)
	e.Must(t, 404, "GET", "/api/v1/connectors/rogue", admin, nil)
	if c := e.Must(t, 200, "GET", "/api/v1/connectors/step", admin, nil).Map(t); c["status"] != "active" || c["updated_at"] != conn["updated_at"] {
		t.Errorf("a requester's posts changed the connector: %v", c)
	}
	mona := newUIClient(t, e)
	mona.login("mona", uiPassword)
	checkAccessible(t, "mona connectors", get(mona, "/ui/admin/connectors", 200))

	// Settings, secrets and status change from the UI; a connector in use is not deleted.
	post(u, "/ui/admin/connectors/"+connID+"/secrets", form("secret_name", "provisioner_key", "secret_value", ""), 400)
	post(u, "/ui/admin/connectors/"+connID+"/secrets", form("secret_name", "provisioner_key", "secret_value", s.provKeyJSON), 303)
	post(u, "/ui/admin/connectors/"+connID+"/update", form("name", "step", "status", "active", "config", settings+"extra = 1",
		"root_pem", string(s.rootPEM)), 303)
	if c := e.Must(t, 200, "GET", "/api/v1/connectors/step", admin, nil).Map(t); str(c, "config", "extra") != "1" {
		t.Errorf("settings not saved: %v", c["config"])
	}
	_, page = post(u, "/ui/admin/connectors/"+connID+"/update", form("name", "Bad Name!", "status", "active", "config", settings), 400)
	if !strings.Contains(page, `id="e-name-err"`) {
		t.Errorf("a bad name is not shown next to the name:\n%.3000s", page)
	}
	post(u, "/ui/admin/connectors/"+connID+"/status", form("status", "disabled"), 303)
	if c := e.Must(t, 200, "GET", "/api/v1/connectors/step", admin, nil).Map(t); c["status"] != "disabled" {
		t.Errorf("disable: %v", c["status"])
	}
	post(u, "/ui/admin/connectors/"+connID+"/status", form("status", "active"), 303)
	if _, page = post(u, "/ui/admin/connectors/"+connID+"/delete", form("confirm", "yes"), 409); !strings.Contains(page, "via-step") {
		t.Errorf("deleting a connector in use: %.2000s", page)
	}
	spare := str(e.Must(t, 201, "POST", "/api/v1/connectors", admin, s.connectorBody("spare")).Map(t), "id")
	post(u, "/ui/admin/connectors/"+spare+"/delete", form(), 400)
	post(rita, "/ui/admin/connectors/"+spare+"/delete", url.Values{"csrf": {ritaToken}, "confirm": {"yes"}}, 403)
	e.Must(t, 200, "GET", "/api/v1/connectors/spare", admin, nil)
	post(u, "/ui/admin/connectors/"+spare+"/delete", form("confirm", "yes"), 303)
	e.Must(t, 404, "GET", "/api/v1/connectors/spare", admin, nil)

	// step-ca down: the next request waits for the external CA, and its pages say so with the reason.
	s.stop()
	_, csr = e.csr(t, "ext-ui2", "/CN=b.upstream.test", "DNS:b.upstream.test", ecKey...)
	resp, _ = post(rita, "/ui/request", url.Values{"csrf": {ritaToken}, "profile": {"via-step"}, "mode": {"csr"}, "csr": {csr}}, 303)
	reqPath := strings.SplitN(resp.Header.Get("Location"), "?", 2)[0]
	if !strings.HasPrefix(reqPath, "/ui/requests/req_") || !strings.Contains(resp.Header.Get("Location"), "external+CA") {
		t.Fatalf("pending request: %s", resp.Header.Get("Location"))
	}
	page = get(rita, reqPath, 200)
	checkAccessible(t, "pending_upstream request", page)
	if !strings.Contains(page, `id="request-status">waiting for the external CA<`) || !strings.Contains(page, "(connector <strong>step</strong>)") ||
		!regexp.MustCompile(`<dt>External CA's last answer</dt><dd id="request-reason">[^<]+</dd>`).MatchString(page) {
		t.Errorf("a request waiting for step-ca:\n%.4000s", page)
	}
	// A server-generated key is delivered at once even though its certificate waits: the key is never stored.
	_, page = post(rita, "/ui/request", url.Values{"csrf": {ritaToken}, "profile": {"via-step"}, "mode": {"keygen"},
		"common_name": {"c.upstream.test"}, "sans": {"c.upstream.test"}, "key": {"ecdsa-256"}, "pkcs12_password": {"p12-pass-phrase-1"}}, 202)
	checkAccessible(t, "pending keygen", page)
	km := regexp.MustCompile(`href="data:application/x-pem-file;base64,([A-Za-z0-9+/=&#;]+)" download="(req_\w+)\.key" id="download-key"`).FindStringSubmatch(page)
	if km == nil || !strings.Contains(page, `id="pending-note">Request <a href="/ui/requests/`+km[2]+`">`) {
		t.Fatalf("pending keygen page:\n%.3000s", page)
	}
	keyPEM, _ := base64.StdEncoding.DecodeString(html.UnescapeString(km[1]))
	if b, _ := pem.Decode(keyPEM); b == nil || !strings.Contains(b.Type, "PRIVATE KEY") {
		t.Errorf("the delivered key is not a PEM private key: %q", keyPEM)
	}
	if page = get(rita, "/ui/requests", 200); !strings.Contains(page, `<span class="badge req-pending_upstream">waiting for the external CA</span>`) {
		t.Errorf("my requests do not show the waiting request:\n%.3000s", page)
	}
	if page = get(u, "/ui/admin/connectors", 200); !regexp.MustCompile(`<tr id="connector-step">(.|\n)*?<span class="error">[^<]+</span>`).MatchString(page) {
		t.Errorf("the connectors page does not show step's last error:\n%.4000s", page)
	}

	for i, p := range pages {
		if strings.Contains(p, secretD) || strings.Contains(p, s.provKeyJSON) {
			t.Errorf("page %d shows the provisioner's private key", i)
		}
	}
	if strings.Contains(e.LogText(), secretD) {
		t.Error("the server log contains the provisioner's private key")
	}
}

// TestWebUIDeleteImportedCertificate: an imported certificate's page offers
// managers a confirmed, CSRF-protected Delete that removes it and returns
// to the inventory with a notice; a certificate Signet issued offers none
// and a forged post is refused, as is a requester's.
func TestWebUIDeleteImportedCertificate(t *testing.T) {
	e := newUIEnv(t, false)
	e.opensslCert(t, "old", "/CN=old.example.net")
	imp := e.Must(t, 200, "POST", "/api/v1/certificates/import", admin, map[string]any{"pem": readFile(t, filepath.Join(e.dir, "old.pem"))}).Map(t)
	imported := imp["imported"].([]any)[0].(map[string]any)["serial"].(string)
	issued := str(e.Must(t, 201, "POST", "/api/v1/certificates", admin, map[string]any{"profile": "tls-server",
		"keygen": map[string]any{"algorithm": "ecdsa", "bits": 256}, "subject": map[string]any{"common_name": "kept.example.com"},
		"sans": []string{"kept.example.com"}, "owner": e.principals["rita"]}).Map(t), "certificate", "serial")
	deleteAction := func(serial string) string { return `action="/ui/certificates/` + serial + `/delete"` }

	mona, rita := newUIClient(t, e), newUIClient(t, e)
	mona.login("mona", uiPassword)
	rita.login("rita", uiPassword)
	_, page := mona.do("GET", "/ui/certificates/"+imported, nil)
	checkAccessible(t, "imported certificate", page)
	if !strings.Contains(page, deleteAction(imported)) || !strings.Contains(page, `data-confirm="Delete this imported certificate`) {
		t.Fatalf("the imported certificate's page offers no confirmed delete:\n%.4000s", page)
	}
	token := csrfOf(t, page)
	if _, p := mona.do("GET", "/ui/certificates/"+issued, nil); strings.Contains(p, deleteAction(issued)) {
		t.Error("an issued certificate's page offers Delete")
	}
	if _, p := rita.do("GET", "/ui/certificates/"+imported, nil); strings.Contains(p, deleteAction(imported)) {
		t.Error("a requester is offered Delete")
	}
	_, ritaPage := rita.do("GET", "/ui/certificates/"+issued, nil)
	for _, tc := range []struct {
		name   string
		c      *uiClient
		serial string
		form   url.Values
		want   int
	}{
		{"issued by Signet", mona, issued, url.Values{"csrf": {token}, "confirm": {"yes"}}, 409},
		{"unconfirmed", mona, imported, url.Values{"csrf": {token}}, 400},
		{"no CSRF token", mona, imported, url.Values{"confirm": {"yes"}}, 403},
		{"requester", rita, imported, url.Values{"csrf": {csrfOf(t, ritaPage)}, "confirm": {"yes"}}, 403},
	} {
		if resp, _ := tc.c.do("POST", "/ui/certificates/"+tc.serial+"/delete", tc.form); resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
		e.Must(t, 200, "GET", "/api/v1/certificates/"+tc.serial, admin, nil)
	}
	resp, _ := mona.do("POST", "/ui/certificates/"+imported+"/delete", url.Values{"csrf": {token}, "confirm": {"yes"}})
	loc := resp.Header.Get("Location")
	if resp.StatusCode != 303 || !strings.HasPrefix(loc, "/ui/certificates?done=") {
		t.Fatalf("delete: %d %s", resp.StatusCode, loc)
	}
	e.Must(t, 404, "GET", "/api/v1/certificates/"+imported, admin, nil)
	if _, p := mona.do("GET", loc, nil); !strings.Contains(p, `<p class="flash" role="status">Certificate old.example.net (imported) deleted from the inventory.</p>`) {
		t.Errorf("the inventory shows no notice:\n%.2000s", p)
	}
}
