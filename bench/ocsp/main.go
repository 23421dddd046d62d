// Command ocsp measures Signet's OCSP responder over HTTP on loopback as a
// ratio to the in-process rate of ocsp.CreateResponse with the same key type,
// measured in the same run on the same machine:
//
//	go run ./bench/ocsp -duration 5s
//
// It starts revocation.OCSPHandler in-process on 127.0.0.1:0 over an
// in-memory status source and CA directory (no store: this isolates the
// responder), then runs these phases, each for -duration or -max requests in
// total, split into -rounds interleaved rounds so that other load on a
// shared machine affects the baseline and the HTTP phases alike:
//
//	(a) baseline: ocsp.CreateResponse on every core, P-256 key
//	(b) HTTP POST, cached responses (a fixed set of warmed serials)
//	(c) HTTP POST with a nonce: every response signed fresh
//	(d) HTTP POST, cache disabled: one status lookup and one signature per request
//
// Clients use keep-alive connections; concurrency defaults to 2×GOMAXPROCS
// because client and server share the cores. Traffic goes only to the server
// it starts; every phase stops by itself.
package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/signet-pki/signet/internal/revocation"
)

type options struct {
	duration    time.Duration
	max         int
	concurrency int
	serials     int
	delegated   bool
	rounds      int
	cpuProfile  string
	signet      bool
}

func main() {
	var o options
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "length of each phase")
	flag.IntVar(&o.max, "max", 1_000_000, "upper bound on requests per phase")
	flag.IntVar(&o.concurrency, "concurrency", 2*runtime.GOMAXPROCS(0), "concurrent keep-alive HTTP clients")
	flag.IntVar(&o.serials, "serials", 1000, "distinct certificates queried")
	flag.BoolVar(&o.delegated, "delegated", true, "sign with a delegated responder certificate (false: with the CA key)")
	flag.IntVar(&o.rounds, "rounds", 3, "interleaved rounds the phases are split into")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of all phases here")
	flag.BoolVar(&o.signet, "signet", false, "measure a whole Signet server (SQLite store, real routes) instead of the bare responder")
	flag.Parse()
	if o.signet {
		if err := runSignet(o); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// fixture is a P-256 CA, its leaf serials and the in-memory sources.
type fixture struct {
	ca      *x509.Certificate
	key     crypto.Signer
	serials []*big.Int
	status  *memStatus
}

func run(o options) error {
	ctx := context.Background()
	fx, err := newFixture(o.serials)
	if err != nil {
		return err
	}
	mode := revocation.SignWithCA
	if o.delegated {
		mode = revocation.SignDelegated
	}
	cached, err := newServer(ctx, fx, mode, 0)
	if err != nil {
		return err
	}
	defer cached.close()
	uncached, err := newServer(ctx, fx, mode, -1)
	if err != nil {
		return err
	}
	defer uncached.close()

	plain, nonced, err := requests(fx)
	if err != nil {
		return err
	}
	signer := "CA key (P-256)"
	if o.delegated {
		signer = "delegated responder key (P-256)"
	}
	fmt.Printf("Signet OCSP benchmark — %s, GOMAXPROCS=%d, %s per phase (max %d requests), %d HTTP clients, %d serials, signed by the %s\n\n",
		runtime.Version(), runtime.GOMAXPROCS(0), o.duration, o.max, o.concurrency, len(fx.serials), signer)

	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	// Warm the cache so phase (b) measures hits only.
	if res := load(cached.url, plain, 1, time.Minute, len(plain)); res.errs > 0 {
		return fmt.Errorf("warming the cache: %d errors", res.errs)
	}
	phases := []struct {
		name string
		run  func(d time.Duration, max int) sample
	}{
		{"(a) in-process ocsp.CreateResponse, P-256, all cores", func(d time.Duration, max int) sample { return baseline(fx, d, max) }},
		{"in-process Responder.Respond with nonce (parse + sign, no HTTP)", func(d time.Duration, max int) sample {
			return inProcessNonce(ctx, cached.responder, nonced, d, max)
		}},
		{"(b) HTTP POST, cached", func(d time.Duration, max int) sample { return load(cached.url, plain, o.concurrency, d, max) }},
		{"(c) HTTP POST with nonce, signed per request", func(d time.Duration, max int) sample {
			return load(cached.url, nonced, o.concurrency, d, max)
		}},
		{"(d) HTTP POST, cache disabled (lookup + sign per request)", func(d time.Duration, max int) sample {
			return load(uncached.url, plain, o.concurrency, d, max)
		}},
	}
	// Rounds interleave the phases so that load from elsewhere on a shared
	// machine hits the baseline and the HTTP phases alike.
	totals := make([]sample, len(phases))
	for range o.rounds {
		for i, p := range phases {
			totals[i].add(p.run(o.duration/time.Duration(o.rounds), o.max/o.rounds))
		}
	}
	base := totals[0].rate()
	fmt.Println("| measurement | responses/s | ratio to (a) | p50 | p99 | errors |")
	fmt.Println("| --- | ---: | ---: | ---: | ---: | ---: |")
	for i, p := range phases {
		t := &totals[i]
		p50, p99 := t.percentiles()
		fmt.Printf("| %s | %.0f | %.2f | %s | %s | %d |\n", p.name, t.rate(), t.rate()/base, p50, p99, t.errs)
	}
	fmt.Printf("\nstatus lookups: cached server %d, cache-disabled server %d\n", cached.status.lookups.Load(), uncached.status.lookups.Load())
	return nil
}

// sample is what one phase achieved.
type sample struct {
	n, errs int64
	elapsed time.Duration
	lat     []time.Duration // HTTP phases only
}

func (s *sample) add(o sample) {
	s.n, s.errs, s.elapsed = s.n+o.n, s.errs+o.errs, s.elapsed+o.elapsed
	s.lat = append(s.lat, o.lat...)
}

func (s *sample) rate() float64 { return float64(s.n) / s.elapsed.Seconds() }

func (s *sample) percentiles() (string, string) {
	if len(s.lat) == 0 {
		return "", ""
	}
	slices.Sort(s.lat)
	return s.lat[len(s.lat)/2].Round(time.Microsecond).String(), s.lat[len(s.lat)*99/100].Round(time.Microsecond).String()
}

func newFixture(n int) (*fixture, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Bench OCSP CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	fx := &fixture{ca: ca, key: key, status: &memStatus{m: map[string]revocation.CertStatus{}}}
	for i := range n {
		var raw [16]byte
		if _, err := rand.Read(raw[:]); err != nil {
			return nil, err
		}
		raw[0] &= 0x7f
		s := new(big.Int).SetBytes(raw[:])
		fx.serials = append(fx.serials, s)
		st := revocation.CertStatus{Known: true, Status: revocation.StatusGood}
		if i%10 == 0 {
			st = revocation.CertStatus{Known: true, Status: revocation.StatusRevoked, RevokedAt: now.Add(-time.Hour), Reason: ocsp.KeyCompromise}
		}
		fx.status.m[s.Text(16)] = st
	}
	return fx, nil
}

// memStatus is the in-memory status source; a map read costs next to nothing,
// so the figures are the responder's own.
type memStatus struct {
	m       map[string]revocation.CertStatus // read-only after setup
	lookups atomic.Int64
}

func (s *memStatus) CertStatus(_ context.Context, _ string, serial *big.Int) (revocation.CertStatus, error) {
	s.lookups.Add(1)
	return s.m[serial.Text(16)], nil
}

type directory struct{ cas []revocation.CA }

func (d directory) CAs(context.Context) ([]revocation.CA, error) { return d.cas, nil }

// server is one responder behind an HTTP server on 127.0.0.1:0.
type server struct {
	url       string
	responder *revocation.Responder
	status    *memStatus
	srv       *http.Server
}

func newServer(ctx context.Context, fx *fixture, mode revocation.SigningMode, cacheSize int) (*server, error) {
	status := &memStatus{m: fx.status.m}
	r, err := revocation.NewResponder(directory{[]revocation.CA{{ID: "ca_bench", Certificate: fx.ca, Signer: fx.key}}}, status,
		revocation.ResponderConfig{
			Mode:                mode,
			CacheSize:           cacheSize,
			UnknownCacheSize:    cacheSize,
			RecordResponderCert: func(context.Context, string, []byte) error { return nil },
			Logger:              slog.New(slog.DiscardHandler),
		})
	if err != nil {
		return nil, err
	}
	if err := r.Reload(ctx); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	h := revocation.NewOCSPHandler(r, "/ocsp")
	mux.Handle("/ocsp", h)
	mux.Handle("/ocsp/", h)
	s := &server{url: "http://" + ln.Addr().String() + "/ocsp", responder: r, status: status,
		srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func (s *server) close() { _ = s.srv.Close() }

// requests builds one plain and one nonce request per serial.
func requests(fx *fixture) (plain, nonced [][]byte, err error) {
	for _, s := range fx.serials {
		der, err := ocsp.CreateRequest(&x509.Certificate{SerialNumber: s}, fx.ca, nil)
		if err != nil {
			return nil, nil, err
		}
		plain = append(plain, der)
		withNonce, err := addNonce(der)
		if err != nil {
			return nil, nil, err
		}
		nonced = append(nonced, withNonce)
	}
	return plain, nonced, nil
}

// addNonce re-encodes a one-certificate request with a 16-byte nonce, as
// `openssl ocsp` sends by default.
func addNonce(der []byte) ([]byte, error) {
	var req struct {
		TBS struct {
			List []asn1.RawValue
		}
	}
	if _, err := asn1.Unmarshal(der, &req); err != nil {
		return nil, err
	}
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	value, err := asn1.Marshal(nonce)
	if err != nil {
		return nil, err
	}
	var out struct {
		TBS struct {
			List []asn1.RawValue
			Exts []pkix.Extension `asn1:"explicit,tag:2"`
		}
	}
	out.TBS.List = req.TBS.List
	out.TBS.Exts = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 2}, Value: value}}
	return asn1.Marshal(out)
}

// baseline is (a): ocsp.CreateResponse with the CA's P-256 key on every core.
func baseline(fx *fixture, d time.Duration, maxReq int) sample {
	var done atomic.Int64
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := w; time.Now().Before(deadline) && done.Load() < int64(maxReq); i++ {
				now := time.Now()
				tmpl := ocsp.Response{Status: ocsp.Good, SerialNumber: fx.serials[i%len(fx.serials)],
					ThisUpdate: now, NextUpdate: now.Add(time.Hour)}
				if _, err := ocsp.CreateResponse(fx.ca, fx.ca, tmpl, fx.key); err != nil {
					panic(err) // fixed, valid inputs
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	return sample{n: done.Load(), elapsed: time.Since(start)}
}

// inProcessNonce is Responder.Respond for nonce requests without HTTP.
func inProcessNonce(ctx context.Context, r *revocation.Responder, reqs [][]byte, d time.Duration, maxReq int) sample {
	var done atomic.Int64
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := w; time.Now().Before(deadline) && done.Load() < int64(maxReq); i++ {
				if resp := r.Respond(ctx, "", reqs[i%len(reqs)]); resp.Status != ocsp.Success {
					panic(fmt.Sprintf("in-process response status %v", resp.Status))
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	return sample{n: done.Load(), elapsed: time.Since(start)}
}

// load POSTs reqs round-robin from c keep-alive clients.
func load(url string, reqs [][]byte, c int, d time.Duration, maxReq int) sample {
	client := &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: c, MaxConnsPerHost: c, DisableCompression: true},
		Timeout:   30 * time.Second,
	}
	defer client.CloseIdleConnections()
	var ok, errs atomic.Int64
	lat := make([][]time.Duration, c)
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range c {
		wg.Go(func() {
			buf := make([]byte, 0, 2048)
			for i := w; time.Now().Before(deadline) && ok.Load()+errs.Load() < int64(maxReq); i += c {
				t0 := time.Now()
				var err error
				buf, err = post(client, url, reqs[i%len(reqs)], buf[:0])
				lat[w] = append(lat[w], time.Since(t0))
				if err != nil {
					errs.Add(1)
				} else {
					ok.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return sample{n: ok.Load(), errs: errs.Load(), elapsed: time.Since(start), lat: slices.Concat(lat...)}
}

var errNotOCSP = errors.New("not a successful OCSP response")

// post sends one request and checks the answer is a successful OCSP
// response (its first bytes: SEQUENCE, then responseStatus 0).
func post(client *http.Client, url string, body, buf []byte) ([]byte, error) {
	resp, err := client.Post(url, "application/ocsp-request", bytes.NewReader(body))
	if err != nil {
		return buf, err
	}
	defer resp.Body.Close()
	b := bytes.NewBuffer(buf)
	if _, err := io.Copy(b, resp.Body); err != nil {
		return buf, err
	}
	out := b.Bytes()
	if resp.StatusCode != http.StatusOK || len(out) < 7 || !bytes.Contains(out[:7], []byte{0x0a, 0x01, 0x00}) {
		return out, errNotOCSP
	}
	return out, nil
}
