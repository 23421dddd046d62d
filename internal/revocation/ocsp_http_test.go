package revocation

import (
	"bytes"
	"crypto"
	"crypto/x509/pkix"
	"encoding/base64"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

// serveOCSP mounts the handler on a ServeMux the way the server will.
func serveOCSP(t *testing.T, r *Responder) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	h := NewOCSPHandler(r, "/ocsp")
	mux.Handle("/ocsp", h)
	mux.Handle("/ocsp/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// base64WithSlash finds a serial whose request's base64 holds a '/' and a '+',
// the characters RFC 6960 clients must URL-encode and sloppy ones do not.
// Only the serial varies; when the CA's fixed part (its name and key
// hashes) already holds a "//", no serial avoids it, and ok is false.
func base64WithSlash(t *testing.T, f *ocspFixture) (serial *big.Int, der []byte, ok bool) {
	t.Helper()
	for i := int64(1); i < 20_000; i++ {
		s := big.NewInt(0x7000_0000 + i)
		der := request(t, f.ca.cert, s, crypto.SHA1)
		if enc := base64.StdEncoding.EncodeToString(der); strings.Contains(enc, "/") && strings.Contains(enc, "+") && !strings.Contains(enc, "//") {
			return s, der, true
		}
	}
	return nil, nil, false
}

func TestOCSPHandler(t *testing.T) {
	// A CA with a random key: try a few until one allows the request the test needs.
	var (
		f           *ocspFixture
		slashSerial *big.Int
		slashReq    []byte
		found       bool
	)
	for attempt := 0; attempt < 10 && !found; attempt++ {
		f = newOCSPFixture(t, SignDelegated, "p256", nil)
		slashSerial, slashReq, found = base64WithSlash(t, f)
	}
	if !found {
		t.Fatal("no CA of 10 gave a request with '/' and '+' and no \"//\" in its base64")
	}
	srv := serveOCSP(t, f.r)
	good := request(t, f.ca.cert, f.leaf.SerialNumber, crypto.SHA1)
	f.status.set("ca_main", slashSerial, CertStatus{Status: StatusRevoked, RevokedAt: f.clock.Now(), Reason: ocsp.KeyCompromise})
	b64 := base64.StdEncoding.EncodeToString
	nonceReq := customRequest(t, good, 1, []pkix.Extension{nonceExt(t, bytes.Repeat([]byte{1}, 16))})

	tests := []struct {
		name       string
		method     string
		path       string
		body       []byte
		header     map[string]string
		wantHTTP   int
		wantOCSP   ocsp.ResponseStatus
		wantSerial *big.Int
		wantCache  string // prefix of Cache-Control
	}{
		{name: "POST", method: "POST", path: "/ocsp", body: good, wantHTTP: 200, wantSerial: f.leaf.SerialNumber, wantCache: "max-age=3600, public"},
		{name: "POST trailing slash", method: "POST", path: "/ocsp/", body: good, wantHTTP: 200, wantSerial: f.leaf.SerialNumber},
		{name: "POST with CA", method: "POST", path: "/ocsp/ca_main", body: good, wantHTTP: 200, wantSerial: f.leaf.SerialNumber},
		{name: "POST with wrong CA", method: "POST", path: "/ocsp/ca_other", body: good, wantHTTP: 200, wantOCSP: ocsp.Unauthorized, wantCache: "no-store"},
		{name: "POST nonce", method: "POST", path: "/ocsp", body: nonceReq, wantHTTP: 200, wantSerial: f.leaf.SerialNumber, wantCache: "no-store"},
		{name: "POST garbage", method: "POST", path: "/ocsp", body: []byte("not der"), wantHTTP: 200, wantOCSP: ocsp.Malformed, wantCache: "no-store"},
		{name: "POST too large", method: "POST", path: "/ocsp", body: append(bytes.Clone(good), make([]byte, MaxOCSPRequest)...), wantHTTP: 200, wantOCSP: ocsp.Malformed},
		{name: "GET escaped", method: "GET", path: "/ocsp/" + url.PathEscape(b64(slashReq)), wantHTTP: 200, wantSerial: slashSerial},
		{name: "GET escaped with CA", method: "GET", path: "/ocsp/ca_main/" + url.PathEscape(b64(slashReq)), wantHTTP: 200, wantSerial: slashSerial},
		{name: "GET unescaped slash and plus", method: "GET", path: "/ocsp/" + b64(slashReq), wantHTTP: 200, wantSerial: slashSerial},
		{name: "GET plus as space", method: "GET", path: "/ocsp/" + strings.ReplaceAll(url.PathEscape(b64(slashReq)), "+", "%20"), wantHTTP: 200, wantSerial: slashSerial},
		{name: "GET url-safe unpadded", method: "GET", path: "/ocsp/" + base64.RawURLEncoding.EncodeToString(slashReq), wantHTTP: 200, wantSerial: slashSerial},
		{name: "GET garbage", method: "GET", path: "/ocsp/%21%21%21", wantHTTP: 200, wantOCSP: ocsp.Malformed},
		{name: "GET empty", method: "GET", path: "/ocsp", wantHTTP: 200, wantOCSP: ocsp.Malformed},
		{name: "GET too long", method: "GET", path: "/ocsp/" + strings.Repeat("A", 5*MaxOCSPRequest), wantHTTP: 200, wantOCSP: ocsp.Malformed},
		{name: "HEAD", method: "HEAD", path: "/ocsp/" + url.PathEscape(b64(good)), wantHTTP: 200},
		{name: "PUT", method: "PUT", path: "/ocsp", body: good, wantHTTP: 405},
		{name: "outside prefix", method: "POST", path: "/ocspx", body: good, wantHTTP: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.method == "POST" {
				req.Header.Set("Content-Type", "application/ocsp-request")
			}
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantHTTP {
				t.Fatalf("HTTP %d, want %d: %s", resp.StatusCode, tc.wantHTTP, body)
			}
			if tc.wantHTTP != 200 || tc.method == "HEAD" {
				return
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/ocsp-response" {
				t.Fatalf("Content-Type %q", ct)
			}
			if got := responseStatus(t, body); got != tc.wantOCSP {
				t.Fatalf("OCSP status %v, want %v", got, tc.wantOCSP)
			}
			if tc.wantSerial != nil {
				parseOK(t, body, tc.wantSerial, f.ca.cert)
			}
			if cc := resp.Header.Get("Cache-Control"); tc.wantCache != "" && !strings.HasPrefix(cc, tc.wantCache) {
				t.Fatalf("Cache-Control %q, want %q…", cc, tc.wantCache)
			}
		})
	}
}

func TestOCSPHandlerCaching(t *testing.T) {
	f := newOCSPFixture(t, SignWithCA, "p256", nil)
	srv := serveOCSP(t, f.r)
	u := srv.URL + "/ocsp/" + url.PathEscape(base64.StdEncoding.EncodeToString(request(t, f.ca.cert, f.leaf.SerialNumber, crypto.SHA1)))
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	r := parseOK(t, body, f.leaf.SerialNumber, f.ca.cert)
	h := resp.Header
	if h.Get("Last-Modified") != r.ProducedAt.UTC().Format(http.TimeFormat) || h.Get("Expires") != r.NextUpdate.UTC().Format(http.TimeFormat) {
		t.Fatalf("Last-Modified %q Expires %q for produced %v, next %v", h.Get("Last-Modified"), h.Get("Expires"), r.ProducedAt, r.NextUpdate)
	}
	etag := h.Get("ETag")
	if !strings.HasPrefix(etag, `"`) || len(etag) < 10 || h.Get("Content-Length") != strconv.Itoa(len(body)) {
		t.Fatalf("ETag %q Content-Length %q", etag, h.Get("Content-Length"))
	}

	f.clock.Advance(10 * time.Minute)
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("If-None-Match", `"other", `+etag)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match with the current ETag: HTTP %d, want 304", resp.StatusCode)
	}
	if cc := resp.Header.Get("Cache-Control"); !strings.HasPrefix(cc, "max-age=3000,") {
		t.Fatalf("Cache-Control %q ten minutes on, want max-age=3000", cc)
	}
}
