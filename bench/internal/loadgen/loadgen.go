// Package loadgen is what the protocol benchmarks in bench/ share: an
// in-process Signet on a throwaway data directory, bounded load phases
// measured the same way (rate, latency percentiles, CPU per operation), and
// the native API's issuance phase every protocol is reported against.
package loadgen

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
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/signet-pki/signet/internal/app"
	"github.com/signet-pki/signet/internal/config"
)

// AdminKey is the admin API key of every benchmark server.
const AdminKey = "bench-admin-key-0123456789abcdefghij"

// Signet is a server started for one benchmark run.
type Signet struct {
	App  *app.App
	Base string // http://127.0.0.1:port
	// Client is a keep-alive HTTP client sized for the run's concurrency.
	Client *http.Client
	dir    string
	cancel context.CancelFunc
}

// StartSignet starts Signet (SQLite, synchronous=FULL, plain HTTP on
// 127.0.0.1) in a fresh temporary data directory. adjust, when not nil,
// changes the configuration before it is validated.
func StartSignet(ctx context.Context, name string, conc int, adjust func(*config.Config)) (*Signet, error) {
	dir, err := os.MkdirTemp("", "signet-"+name+"-bench-")
	if err != nil {
		return nil, err
	}
	cfg := config.Defaults()
	cfg.DataDir, cfg.Listen, cfg.InsecureHTTP = dir, "127.0.0.1:0", true
	cfg.AdminAPIKey, cfg.KeyPassphrase, cfg.LogLevel = AdminKey, "bench-passphrase-123456", "error"
	if adjust != nil {
		adjust(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	a, err := app.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		cancel()
		os.RemoveAll(dir)
		return nil, err
	}
	ready := make(chan net.Addr, 1)
	go func() { _ = a.Serve(ctx, ready) }()
	return &Signet{App: a, Base: "http://" + (<-ready).String(), dir: dir, cancel: cancel,
		Client: &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 4 * conc}}}, nil
}

// Close stops the server and removes its data directory.
func (s *Signet) Close() {
	s.cancel()
	s.App.Close()
	os.RemoveAll(s.dir)
}

// Result is one phase's measurement.
type Result struct {
	Rate     float64 // successful operations per second
	P50, P99 time.Duration
	Errors   int64
	CPU      time.Duration // process CPU (server and clients) per successful operation
	FirstErr error
}

// Row is the result as a row of the benchmarks' Markdown table, with its
// ratio to baseline's rate.
func (r Result) Row(name string, baseline Result) string {
	return fmt.Sprintf("| %s | %.1f | %.2f | %s | %s | %d | %s |", name, r.Rate, r.Rate/baseline.Rate, r.P50, r.P99, r.Errors, r.CPU)
}

// TableHeader is the header of the table Row writes rows of.
const TableHeader = "| measurement | per second | ratio to native API | p50 | p99 | errors | CPU per operation |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |"

// Phase runs op from conc workers until duration has passed or maxOps
// operations were started, and measures the operations that finished
// inside the phase (one cut off by its end is not counted).
func Phase(ctx context.Context, conc int, duration time.Duration, maxOps int, op func(ctx context.Context, worker int, n int64) error) Result {
	ctx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	var next, fails atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr error
	start, cpu0 := time.Now(), CPUTime()
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
					return
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
	elapsed, used := time.Since(start), CPUTime()-cpu0
	slices.Sort(lat)
	r := Result{Errors: fails.Load(), FirstErr: firstErr}
	if len(lat) > 0 {
		r.Rate = float64(len(lat)) / elapsed.Seconds()
		r.P50, r.P99 = lat[len(lat)/2].Round(100*time.Microsecond), lat[len(lat)*99/100].Round(100*time.Microsecond)
		r.CPU = (used / time.Duration(len(lat))).Round(10 * time.Microsecond)
	}
	return r
}

// CPUTime is the CPU time (user and system) this process has used.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ECCSRs makes n P-256 CSRs (DER), each for its own name under bench.test.
func ECCSRs(n int, prefix string) ([][]byte, error) {
	out := make([][]byte, n)
	for i := range out {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		name := fmt.Sprintf("%s%d.bench.test", prefix, i)
		if out[i], err = x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: name},
			DNSNames: []string{name}}, key); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// NativePhase enrolls P-256 CSRs through POST /api/v1/certificates on the
// default profile, as bench/issuance does: the rate protocols are compared to.
func (s *Signet) NativePhase(ctx context.Context, conc int, duration time.Duration, maxOps int) (Result, error) {
	csrs, err := ECCSRs(64, "n")
	if err != nil {
		return Result{}, err
	}
	bodies := make([][]byte, len(csrs))
	for i, der := range csrs {
		bodies[i], _ = json.Marshal(map[string]string{"profile": "tls-server",
			"csr": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))})
	}
	return Phase(ctx, conc, duration, maxOps, func(ctx context.Context, _ int, n int64) error {
		_, err := s.Post(ctx, "/api/v1/certificates", "application/json", bodies[n%int64(len(bodies))], nil, http.StatusCreated)
		return err
	}), nil
}

// Post sends body to path with header, or as the admin when header is nil,
// and returns the answer's body when its status is want.
func (s *Signet) Post(ctx context.Context, path, contentType string, body []byte, header http.Header, want int) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.Base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if header != nil {
		req.Header = header.Clone()
	} else {
		req.Header.Set("Authorization", "Bearer "+AdminKey)
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := s.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return b, fmt.Errorf("POST %s: status %d, want %d: %.200s", path, resp.StatusCode, want, b)
	}
	return b, nil
}
