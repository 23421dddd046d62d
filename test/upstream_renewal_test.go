package test

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/agent"
	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/config"
	"github.com/signet-pki/signet/internal/issuance"
	"github.com/signet-pki/signet/internal/notify"
	"github.com/signet-pki/signet/internal/testutil"
)

// Renewal of externally issued certificates, with a second Signet playing
// DigiCert (vendorCA): dc-auto issues at once, dc-manual only after the
// vendor's manager approves, so the broker's request waits pending_upstream
// and its upstream job picks the certificate up.

// vendorProfiles gives the broker the DigiCert connectors and profiles
// dc-auto and dc-manual (30 days, *.upstream.test, server keygen allowed).
func (e *env) vendorProfiles(t *testing.T, v *vendorCA) {
	t.Helper()
	e.upstreamTemplate(t, "up")
	for _, kind := range []string{"auto", "manual"} {
		name := "dc-" + kind
		e.Must(t, 201, "POST", "/api/v1/connectors", admin, v.connectorBody("digicert", name, "vendor-"+kind, v.brokerKey))
		e.Must(t, 201, "POST", "/api/v1/profiles", admin, map[string]any{"name": name, "template": "up",
			"issuer_type": "external", "connector": name, "default_validity_days": 30})
	}
}

// vendorPending counts the vendor's pending requests whose CSR names cn.
func (v *vendorCA) vendorPending(t *testing.T, cn string) int {
	t.Helper()
	var page struct {
		Items []struct {
			CSR string `json:"csr"`
		} `json:"items"`
	}
	v.Must(t, 200, "GET", "/api/v1/requests?status=pending&limit=200", admin, nil).JSON(t, &page)
	n := 0
	for _, r := range page.Items {
		if b, _ := pem.Decode([]byte(r.CSR)); b != nil {
			if csr, err := x509.ParseCertificateRequest(b.Bytes); err == nil && csr.Subject.CommonName == cn {
				n++
			}
		}
	}
	return n
}

// pendingRenewals lists the broker's pending_upstream requests renewing serial.
func (e *env) pendingRenewals(t *testing.T, serial string) []string {
	t.Helper()
	var page struct {
		Items []struct {
			ID        string `json:"id"`
			RenewalOf string `json:"renewal_of"`
		} `json:"items"`
	}
	e.Must(t, 200, "GET", "/api/v1/requests?status=pending_upstream&limit=200", admin, nil).JSON(t, &page)
	var ids []string
	for _, r := range page.Items {
		if r.RenewalOf == serial {
			ids = append(ids, r.ID)
		}
	}
	return ids
}

// checkVendorSuccessor checks that the broker renewed old by a certificate
// the vendor signed for the same key, linked both ways, and returns it.
func (e *env) checkVendorSuccessor(t *testing.T, v *vendorCA, name, old string) map[string]any {
	t.Helper()
	o := e.Must(t, 200, "GET", "/api/v1/certificates/"+old, admin, nil).Map(t)
	next, _ := o["renewed_by"].(string)
	if next == "" {
		t.Fatalf("%s was not renewed: %v", old, o)
	}
	n := e.Must(t, 200, "GET", "/api/v1/certificates/"+next, admin, nil).Map(t)
	if n["renewed_from"] != old || n["owner"] != o["owner"] || n["ca_id"] != nil || n["status"] != "active" {
		t.Fatalf("successor of %s: %v", old, n)
	}
	if string(publicKeyOf(t, o["certificate_pem"].(string))) != string(publicKeyOf(t, n["certificate_pem"].(string))) {
		t.Fatalf("the renewal of %s changed the key: its holder could not use it", old)
	}
	chain := e.Must(t, 200, "GET", "/api/v1/certificates/"+next+"/download?format=chain", admin, nil)
	e.verifyVendorChain(t, v, name, n["certificate_pem"].(string), string(chain.Body))
	if m := v.Must(t, 200, "GET", "/api/v1/certificates/"+next, admin, nil).Map(t); m["status"] != "active" {
		t.Fatalf("the vendor's inventory lacks the renewal %s: %v", next, m)
	}
	return n
}

// TestUpstreamServerAutoRenewal: the server's auto-renewal job renews
// server-keyed certificates of external profiles for the same key — at
// once through an upstream that answers at once, and through one that
// answers "pending" as a pending_upstream request the upstream job
// completes and links after the vendor's approval, never placing a second
// order meanwhile. Audit events and certificate.renew notifications are
// those of internal renewals; a CSR-made certificate is left alone.
func TestUpstreamServerAutoRenewal(t *testing.T) {
	v := newVendorCA(t)
	e := &env{Server: testutil.StartServerWith(t, func(c *config.Config) {
		c.AutoRenew = []config.AutoRenew{{Profile: "dc-auto", DaysBefore: 10}, {Profile: "dc-manual", DaysBefore: 10}}
	}), dir: t.TempDir(), principals: map[string]string{}}
	e.vendorProfiles(t, v)

	// A webhook following certificate.renew, delivered by a notifier of our own.
	hook := newWebhookRecorder(t, nil)
	notifier := notify.New(e.App.Store, notify.Config{})
	rule := e.Must(t, 201, "POST", "/api/v1/notification-rules", admin, map[string]any{"name": "renewals", "event": "certificate.renew",
		"spec": map[string]any{"webhook": map[string]any{"url": hook.URL}}}).Map(t)
	hook.setSecret(rule["spec"].(map[string]any)["webhook"].(map[string]any)["secret"].(string))

	keygen := func(profile, cn string, want int) enrolled {
		t.Helper()
		var out enrolled
		e.Must(t, want, "POST", "/api/v1/certificates", admin, map[string]any{"profile": profile,
			"keygen": map[string]any{"algorithm": "ecdsa", "bits": 256}, "subject": map[string]any{"common_name": cn},
			"sans": []string{cn}}).JSON(t, &out)
		if out.Key == "" {
			t.Fatalf("keygen enrollment on %s delivered no key: %+v", profile, out)
		}
		return out
	}
	syncOld := keygen("dc-auto", "auto-renew.upstream.test", 201)
	if syncOld.Certificate == nil {
		t.Fatalf("dc-auto: %+v", syncOld)
	}
	_, csr := e.csr(t, "csr-made", "/CN=csr-made.upstream.test", "DNS:csr-made.upstream.test", ecKey...)
	var fromCSR enrolled
	e.Must(t, 201, "POST", "/api/v1/certificates", admin, map[string]any{"profile": "dc-auto", "csr": csr}).JSON(t, &fromCSR)
	asyncCN := "manual-renew.upstream.test"
	first := keygen("dc-manual", asyncCN, 202)
	v.Must(t, 200, "POST", "/api/v1/requests/"+v.pendingFor(t, asyncCN)+"/approve", admin, nil)
	asyncOld := e.waitVendorIssued(t, first.Request.ID, 30*time.Second)["certificate_serial"].(string)

	ctx, log := context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil))
	if n, err := e.App.Issuance.AutoRenewPass(ctx, e.App.AutoRenewPolicies(), time.Now(), log); err != nil || n != 0 {
		t.Fatalf("with 30 days left the pass renewed %d (err %v), want 0", n, err)
	}
	later := time.Now().Add(25 * 24 * time.Hour) // 5 days left: inside the 10-day window
	if n, err := e.App.Issuance.AutoRenewPass(ctx, e.App.AutoRenewPolicies(), later, log); err != nil || n != 2 {
		t.Fatalf("auto-renewal pass renewed %d (err %v), want 2 (one at once, one submitted)", n, err)
	}

	// The synchronous upstream: renewed, linked, same key, signed by the vendor.
	syncNew := e.checkVendorSuccessor(t, v, "auto-renewed", syncOld.Certificate.Serial)
	if got := e.Must(t, 200, "GET", "/api/v1/certificates/"+fromCSR.Certificate.Serial, admin, nil).Map(t)["renewed_by"]; got != nil {
		t.Fatalf("a CSR-made certificate was renewed by the server: %v", got)
	}

	// The asynchronous one: a pending_upstream renewal, not linked yet.
	ids := e.pendingRenewals(t, asyncOld)
	if len(ids) != 1 {
		t.Fatalf("pending renewals of %s: %v, want 1", asyncOld, ids)
	}
	if o := e.Must(t, 200, "GET", "/api/v1/certificates/"+asyncOld, admin, nil).Map(t); o["renewed_by"] != nil {
		t.Fatalf("linked before the upstream issued: %v", o)
	}
	// Another pass while it waits places no second order, and neither can a person.
	manualOnly := []issuance.AutoRenewPolicy{{Profile: "dc-manual", DaysBefore: 10}}
	if n, err := e.App.Issuance.AutoRenewPass(ctx, manualOnly, later, log); err != nil || n != 0 {
		t.Fatalf("a pass while the renewal waits renewed %d (err %v), want 0", n, err)
	}
	_, csr = e.csr(t, "manual-2", "/CN="+asyncCN, "DNS:"+asyncCN, ecKey...)
	if m := e.Must(t, 409, "POST", "/api/v1/certificates/"+asyncOld+"/renew", admin, map[string]any{"csr": csr}).Map(t); m["code"] != "renewal_in_progress" {
		t.Fatalf("renewing while a renewal waits upstream: %v", m)
	}
	if got := e.pendingRenewals(t, asyncOld); len(got) != 1 || v.vendorPending(t, asyncCN) != 1 {
		t.Fatalf("after a second pass: renewals %v, vendor pending %d; want one of each", got, v.vendorPending(t, asyncCN))
	}
	v.Must(t, 200, "POST", "/api/v1/requests/"+v.pendingFor(t, asyncCN)+"/approve", admin, nil)
	req := e.waitVendorIssued(t, ids[0], 30*time.Second)
	asyncNew := e.checkVendorSuccessor(t, v, "manual-renewed", asyncOld)
	if req["certificate_serial"] != asyncNew["serial"] || req["renewal_of"] != asyncOld {
		t.Fatalf("renewal request %v, successor %v", req, asyncNew["serial"])
	}

	// A predecessor revoked while its renewal waits upstream: the vendor's
	// certificate is still recorded when it comes (unlinked: there is no
	// active certificate left to link), not lost or fetched at every pass.
	_, csr = e.csr(t, "manual-3", "/CN="+asyncCN, "DNS:"+asyncCN, ecKey...)
	var late enrolled
	e.Must(t, 202, "POST", "/api/v1/certificates/"+asyncNew["serial"].(string)+"/renew", admin, map[string]any{"csr": csr}).JSON(t, &late)
	e.Must(t, 200, "POST", "/api/v1/certificates/"+asyncNew["serial"].(string)+"/revoke", admin, map[string]any{"reason": "key_compromise"})
	v.Must(t, 200, "POST", "/api/v1/requests/"+v.pendingFor(t, asyncCN)+"/approve", admin, nil)
	lateSerial := e.waitVendorIssued(t, late.Request.ID, 30*time.Second)["certificate_serial"].(string)
	if m := e.Must(t, 200, "GET", "/api/v1/certificates/"+lateSerial, admin, nil).Map(t); m["status"] != "active" || m["renewed_from"] != nil {
		t.Fatalf("the renewal of a revoked certificate: %v", m)
	}
	if m := e.Must(t, 200, "GET", "/api/v1/certificates/"+asyncNew["serial"].(string), admin, nil).Map(t); m["status"] != "revoked" || m["renewed_by"] != nil {
		t.Fatalf("the revoked predecessor: %v", m)
	}

	// Audit and notifications as for internal renewals.
	evs := e.Must(t, 200, "GET", "/api/v1/audit-events?action=certificate.renew&principal=system", admin, nil).Map(t)["items"].([]any)
	var audited []string
	for _, ev := range evs {
		audited = append(audited, ev.(map[string]any)["object_id"].(string))
	}
	slices.Sort(audited)
	want := []string{syncNew["serial"].(string), asyncNew["serial"].(string)}
	slices.Sort(want)
	if !slices.Equal(audited, want) {
		t.Fatalf("certificate.renew audit events by the system: %v, want %v", audited, want)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if err := notifier.Tick(auth.WithPrincipal(ctx, auth.System())); err != nil {
			t.Fatal(err)
		}
		got := strings.Join(hook.bodies(), "\n")
		if strings.Contains(got, want[0]) && strings.Contains(got, want[1]) {
			if strings.Count(got, `"event":"certificate.renew"`) != 2 {
				t.Fatalf("webhook calls: %s", got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("certificate.renew webhooks for %v: got %s", want, got)
		}
	}
}

// TestUpstreamAgentRenewal: the agent keeps files of external profiles
// fresh. Through an upstream that answers at once it writes them at its
// round; through one that waits for approval it keeps the key and the
// request between rounds (never placing a second request), and writes
// both when the certificate is issued. Each certificate chains to the
// vendor's root and is for the key next to it.
func TestUpstreamAgentRenewal(t *testing.T) {
	v := newVendorCA(t)
	e := newEnv(t)
	e.vendorProfiles(t, v)
	key := e.newKey(t, "ext-agent", "requester")
	dir := t.TempDir()
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	managed := func(kind string) agent.Managed {
		cn := "agent-" + kind + ".upstream.test"
		return agent.Managed{Name: kind, Profile: "dc-" + kind, CommonName: cn, SANs: []string{cn},
			CertPath: filepath.Join(dir, kind+".crt"), KeyPath: filepath.Join(dir, kind+".key")}
	}
	cfg := agent.Config{Server: e.URL, APIKey: key, ID: "ext-1", Certificates: []agent.Managed{managed("auto"), managed("manual")}}
	r, err := agent.NewRunner(cfg, e.Client, clock, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	round := func() {
		t.Helper()
		if err := r.RunOnce(ctx); err != nil {
			t.Fatalf("agent round: %v", err)
		}
	}
	// installed checks a managed pair and returns its serial.
	installed := func(m agent.Managed) string {
		t.Helper()
		certs := pemCerts(t, readFile(t, m.CertPath))
		if len(certs) < 2 {
			t.Fatalf("%s holds %d certificates, want the leaf and the vendor's chain", m.CertPath, len(certs))
		}
		leafPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certs[0].Raw}))
		var chain strings.Builder
		for _, c := range certs[1:] {
			chain.Write(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
		}
		e.verifyVendorChain(t, v, m.Name, leafPEM, chain.String())
		kb, _ := pem.Decode([]byte(readFile(t, m.KeyPath)))
		if kb == nil {
			t.Fatalf("%s holds no key", m.KeyPath)
		}
		k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
		if err != nil || !publicEqual(t, k.(crypto.Signer).Public(), certs[0].PublicKey) {
			t.Fatalf("%s is not the key of %s (%v)", m.KeyPath, m.CertPath, err)
		}
		if fi, err := os.Stat(m.KeyPath); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("key file mode: %v %v", fi, err)
		}
		return strings.ToLower(certs[0].SerialNumber.Text(16))
	}
	auto, manual := cfg.Certificates[0], cfg.Certificates[1]
	approveManual := func() {
		t.Helper()
		// Two more rounds while the vendor waits: still one request there.
		round()
		round()
		if n := v.vendorPending(t, manual.CommonName); n != 1 {
			t.Fatalf("the vendor has %d pending requests for %s, want 1", n, manual.CommonName)
		}
		if _, err := os.Stat(manual.KeyPath + ".pending"); err != nil {
			t.Fatalf("the agent did not keep the pending request's key: %v", err)
		}
		var page struct {
			Items []struct{ ID string } `json:"items"`
		}
		e.Must(t, 200, "GET", "/api/v1/requests?status=pending_upstream", admin, nil).JSON(t, &page)
		if len(page.Items) != 1 {
			t.Fatalf("the broker has %d pending_upstream requests, want 1", len(page.Items))
		}
		v.Must(t, 200, "POST", "/api/v1/requests/"+v.pendingFor(t, manual.CommonName)+"/approve", admin, nil)
		e.waitVendorIssued(t, page.Items[0].ID, 30*time.Second)
	}

	round()
	autoFirst := installed(auto)
	if _, err := os.Stat(manual.CertPath); err == nil {
		t.Fatal("a certificate file for a request the vendor has not approved")
	}
	approveManual()
	round()
	manualFirst := installed(manual)
	if _, err := os.Stat(manual.KeyPath + ".pending"); err == nil {
		t.Fatal("the pending file outlived the pickup")
	}
	round()
	if installed(auto) != autoFirst || installed(manual) != manualFirst {
		t.Fatal("fresh certificates were renewed")
	}

	// Past two thirds of the 30 days: both renewed, the manual one after approval.
	mu.Lock()
	now = now.Add(21 * 24 * time.Hour)
	mu.Unlock()
	round()
	if s := installed(auto); s == autoFirst {
		t.Fatal("the dc-auto certificate was not renewed near its end")
	}
	if installed(manual) != manualFirst {
		t.Fatal("the dc-manual files changed before the vendor approved")
	}
	approveManual()
	round()
	if s := installed(manual); s == manualFirst {
		t.Fatal("the dc-manual certificate was not renewed after approval")
	}
	agents := e.Must(t, 200, "GET", "/api/v1/agents", admin, nil).Map(t)["items"].([]any)
	states := map[string]any{}
	for _, c := range agents[0].(map[string]any)["report"].(map[string]any)["certificates"].([]any) {
		states[c.(map[string]any)["name"].(string)] = c.(map[string]any)["state"]
	}
	if states["manual"] != "renewed" {
		t.Fatalf("agent report: %v", states)
	}
}

// TestUpstreamRevokeThroughCompatAPIs: revoking an externally issued
// certificate through the broker's DigiCert and Sectigo APIs goes to the
// upstream first, as through the native API: the vendor lists it revoked,
// and while the vendor refuses the broker's credential the local status
// does not change. An upstream that already revoked it agrees.
func TestUpstreamRevokeThroughCompatAPIs(t *testing.T) {
	v := newVendorCA(t)
	e := newEnv(t)
	e.vendorProfiles(t, v)
	opsKey := e.newKey(t, "ops-key", "manager")
	sectigo := []string{"login", "ops-key", "password", opsKey, "customerUri", "default"}
	issue := func(cn string) string {
		t.Helper()
		_, csr := e.csr(t, cn, "/CN="+cn, "DNS:"+cn, ecKey...)
		var got enrolled
		e.Must(t, 201, "POST", "/api/v1/certificates", admin, map[string]any{"profile": "dc-auto", "csr": csr}).JSON(t, &got)
		return got.Certificate.Serial
	}
	status := func(s *testutil.Server, serial string) any {
		t.Helper()
		return s.Must(t, 200, "GET", "/api/v1/certificates/"+serial, admin, nil).Map(t)["status"]
	}
	dc, sc, both := issue("dc-rev.upstream.test"), issue("sc-rev.upstream.test"), issue("both-rev.upstream.test")
	dcRevoke := func(serial string, want int) *testutil.Response {
		t.Helper()
		return e.Must(t, want, "PUT", "/compat/digicert/mpki/api/v1/certificate/"+serial+"/revoke", "",
			map[string]any{"revocation_reason": "key_compromise"}, "x-api-key", admin)
	}
	scRevoke := func(serial string, want int) *testutil.Response {
		t.Helper()
		return e.Must(t, want, "POST", "/compat/sectigo/api/ssl/v1/revoke/serial/"+serial, "",
			map[string]any{"reasonCode": 1, "reason": "key compromise"}, sectigo...)
	}

	// The vendor refuses the broker: nothing changes anywhere, and the
	// client hears the CA is unavailable in its API's own format.
	e.Must(t, 200, "PATCH", "/api/v1/connectors/dc-auto", admin, map[string]any{"secrets": map[string]any{"api_key": "wrong-secret-0123456789abcdef"}})
	if body := string(dcRevoke(dc, 503).Body); !strings.Contains(body, "upstream_unavailable") {
		t.Errorf("DigiCert API, upstream refusing the broker: %s", body)
	}
	if body := string(scRevoke(sc, 503).Body); !strings.Contains(body, "-195") {
		t.Errorf("Sectigo API, upstream refusing the broker: %s", body)
	}
	for _, s := range []string{dc, sc} {
		if status(e.Server, s) != "active" || status(v.Server, s) != "active" {
			t.Fatalf("%s changed status though the upstream did not revoke it: broker %v, vendor %v", s, status(e.Server, s), status(v.Server, s))
		}
	}
	e.Must(t, 200, "PATCH", "/api/v1/connectors/dc-auto", admin, map[string]any{"secrets": map[string]any{"api_key": v.brokerKey}})

	dcRevoke(dc, 204)
	scRevoke(sc, 204)
	// Revoked at the vendor first: its "already revoked" is agreement.
	v.Must(t, 200, "POST", "/api/v1/certificates/"+both+"/revoke", admin, map[string]any{"reason": "superseded"})
	scRevoke(both, 204)
	for _, s := range []string{dc, sc, both} {
		if status(e.Server, s) != "revoked" || status(v.Server, s) != "revoked" {
			t.Errorf("%s after revoking through a compatibility API: broker %v, vendor %v", s, status(e.Server, s), status(v.Server, s))
		}
	}
	if stats := e.Must(t, 200, "GET", "/api/v1/connectors/dc-auto", admin, nil).Map(t)["stats"].(map[string]any); stats["revoked"].(float64) < 2 {
		t.Errorf("connector stats: %v", stats)
	}
}
