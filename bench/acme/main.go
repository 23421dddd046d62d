// Command acme measures full ACME orders per second through Signet's ACME
// server — new-order, http-01 challenge validated over the network,
// finalize, certificate download — with Go ACME clients
// (golang.org/x/crypto/acme), next to the native API's issuance rate
// measured in the same run on the same server.
//
//	go run ./bench/acme -duration 10s -concurrency 8
//
// The load is bounded (each phase stops after -duration or -max
// operations) and stays on 127.0.0.1: the server, its http-01 challenge
// server and every client run in this process.
package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/crypto/acme"

	"github.com/signet-pki/signet/internal/app"
	"github.com/signet-pki/signet/internal/config"
)

const adminKey = "bench-admin-key-0123456789abcdefghij"

func main() {
	duration := flag.Duration("duration", 10*time.Second, "length of each phase")
	maxOps := flag.Int("max", 100000, "upper bound on operations per phase")
	conc := flag.Int("concurrency", 8, "concurrent clients")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the ACME phase here")
	flag.Parse()
	if err := run(*duration, *maxOps, *conc, *cpuProfile); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// challenges is the http-01 responder every client publishes its key
// authorizations through.
type challenges struct{ m sync.Map }

func (c *challenges) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if v, ok := c.m.Load(strings.TrimPrefix(r.URL.Path, "/.well-known/acme-challenge/")); ok {
		_, _ = io.WriteString(w, v.(string))
		return
	}
	http.NotFound(w, r)
}

func run(duration time.Duration, maxOps, conc int, cpuProfile string) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	chal := &challenges{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	chalSrv := &http.Server{Handler: chal, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = chalSrv.Serve(ln) }()
	defer chalSrv.Close()

	dir, err := os.MkdirTemp("", "signet-acme-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg := config.Defaults()
	cfg.DataDir, cfg.Listen, cfg.InsecureHTTP = dir, "127.0.0.1:0", true
	cfg.AdminAPIKey, cfg.KeyPassphrase, cfg.LogLevel = adminKey, "bench-passphrase-123456", "error"
	cfg.ACME = config.ACME{HTTP01Port: ln.Addr().(*net.TCPAddr).Port, Resolve: []string{"*.bench.test=127.0.0.1"}}
	if err := cfg.Validate(); err != nil {
		return err
	}
	a, err := app.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return err
	}
	defer a.Close()
	ready := make(chan net.Addr, 1)
	go func() { _ = a.Serve(ctx, ready) }()
	base := "http://" + (<-ready).String()
	httpClient := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 4 * conc}}

	fmt.Printf("Signet ACME benchmark — %s, GOMAXPROCS=%d, %s per phase, concurrency %d, P-256 keys, SQLite synchronous=FULL\n\n",
		runtime.Version(), runtime.GOMAXPROCS(0), duration, conc)
	native, err := nativePhase(ctx, base, httpClient, conc, duration, maxOps)
	if err != nil {
		return err
	}
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	orders, err := acmePhase(ctx, base, httpClient, chal, conc, duration, maxOps)
	pprof.StopCPUProfile()
	if err != nil {
		return err
	}
	fmt.Println("| measurement | per second | ratio to native API | p50 | p99 | errors | CPU per operation |")
	fmt.Println("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
	fmt.Printf("| native API: POST /api/v1/certificates with a CSR | %.1f | 1.00 | %s | %s | %d | %s |\n",
		native.rate, native.p50, native.p99, native.errors, native.cpu)
	fmt.Printf("| ACME: new-order → http-01 → finalize → download | %.1f | %.2f | %s | %s | %d | %s |\n",
		orders.rate, orders.rate/native.rate, orders.p50, orders.p99, orders.errors, orders.cpu)
	if orders.firstErr != nil {
		fmt.Println("\nfirst ACME error:", orders.firstErr)
	}
	return nil
}

type result struct {
	rate     float64
	p50, p99 time.Duration
	errors   int64
	cpu      time.Duration // process CPU (server and clients) per successful operation
	firstErr error
}

// phase runs op from conc workers until duration or maxOps, and measures it.
func phase(ctx context.Context, conc int, duration time.Duration, maxOps int, op func(ctx context.Context, worker int, n int64) error) result {
	ctx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	var next, fails atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr error
	start, cpu0 := time.Now(), cpuTime()
	var wg sync.WaitGroup
	for w := range conc {
		wg.Go(func() {
			for ctx.Err() == nil {
				n := next.Add(1)
				if n > int64(maxOps) {
					return
				}
				t0 := time.Now()
				err := op(ctx, w, n)
				if ctx.Err() != nil {
					return // cut off by the end of the phase: not counted
				}
				mu.Lock()
				if err != nil {
					fails.Add(1)
					if firstErr == nil {
						firstErr = err
					}
				} else {
					lat = append(lat, time.Since(t0))
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed, used := time.Since(start), cpuTime()-cpu0
	slices.Sort(lat)
	r := result{errors: fails.Load(), firstErr: firstErr}
	if len(lat) > 0 {
		r.rate = float64(len(lat)) / elapsed.Seconds()
		r.p50, r.p99 = lat[len(lat)/2].Round(100*time.Microsecond), lat[len(lat)*99/100].Round(100*time.Microsecond)
		r.cpu = (used / time.Duration(len(lat))).Round(10 * time.Microsecond)
	}
	return r
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// nativePhase enrolls CSRs through the REST API, as bench/issuance does.
func nativePhase(ctx context.Context, base string, client *http.Client, conc int, duration time.Duration, maxOps int) (result, error) {
	csrs := make([][]byte, 64)
	for i := range csrs {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return result{}, err
		}
		name := fmt.Sprintf("n%d.bench.test", i)
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: name}, DNSNames: []string{name}}, key)
		if err != nil {
			return result{}, err
		}
		body, _ := json.Marshal(map[string]string{"profile": "tls-server", "csr": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))})
		csrs[i] = body
	}
	return phase(ctx, conc, duration, maxOps, func(ctx context.Context, _ int, n int64) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/certificates", bytes.NewReader(csrs[n%int64(len(csrs))]))
		req.Header.Set("Authorization", "Bearer "+adminKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("enroll: status %d", resp.StatusCode)
		}
		return nil
	}), nil
}

// acmePhase runs full orders, one registered account per worker.
func acmePhase(ctx context.Context, base string, hc *http.Client, chal *challenges, conc int, duration time.Duration, maxOps int) (result, error) {
	clients := make([]*acme.Client, conc)
	certKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return result{}, err
	}
	for i := range clients {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return result{}, err
		}
		clients[i] = &acme.Client{Key: key, DirectoryURL: base + "/acme/tls-server/directory", HTTPClient: hc}
		if _, err := clients[i].Register(ctx, &acme.Account{}, acme.AcceptTOS); err != nil {
			return result{}, fmt.Errorf("register: %w", err)
		}
	}
	return phase(ctx, conc, duration, maxOps, func(ctx context.Context, w int, n int64) error {
		return order(ctx, clients[w], chal, certKey, fmt.Sprintf("o%d.bench.test", n))
	}), nil
}

// order is one full ACME order for name.
func order(ctx context.Context, c *acme.Client, chal *challenges, key *ecdsa.PrivateKey, name string) error {
	o, err := c.AuthorizeOrder(ctx, acme.DomainIDs(name))
	if err != nil {
		return fmt.Errorf("new order: %w", err)
	}
	z, err := c.GetAuthorization(ctx, o.AuthzURLs[0])
	if err != nil {
		return fmt.Errorf("authorization: %w", err)
	}
	var http01 *acme.Challenge
	for _, ch := range z.Challenges {
		if ch.Type == "http-01" {
			http01 = ch
		}
	}
	if http01 == nil {
		return errors.New("no http-01 challenge")
	}
	ka, err := c.HTTP01ChallengeResponse(http01.Token)
	if err != nil {
		return err
	}
	chal.m.Store(http01.Token, ka)
	defer chal.m.Delete(http01.Token)
	if _, err := c.Accept(ctx, http01); err != nil {
		return fmt.Errorf("accept: %w", err)
	}
	if _, err := c.WaitAuthorization(ctx, o.AuthzURLs[0]); err != nil {
		return fmt.Errorf("wait authorization: %w", err)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{name}}, key)
	if err != nil {
		return err
	}
	chain, _, err := c.CreateOrderCert(ctx, o.FinalizeURL, csr, true)
	if err != nil {
		return fmt.Errorf("finalize: %w", err)
	}
	if len(chain) < 2 {
		return fmt.Errorf("chain of %d certificates", len(chain))
	}
	return nil
}
