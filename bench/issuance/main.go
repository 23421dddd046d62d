// Command issuance measures certificate issuance throughput through Signet's
// HTTP API (P-256 CSRs, auto-approved profile, every certificate durably
// recorded before it is returned) as a ratio to the in-process cost of the
// same cryptographic work, measured in the same run on the same machine.
//
//	go run ./bench/issuance -duration 10s -concurrency 1,16
//
// The load is bounded: each phase stops after -duration or -max requests,
// and traffic goes only to the server it starts on 127.0.0.1.
//
// Each row also gives the process's CPU time per certificate (clients
// included: they run in this process) and the cores other processes used
// meanwhile, since on a shared machine a phase that competed for the cores
// is not comparable with one that did not; after the table, the SQLite
// writer's group-commit figures for each HTTP phase.
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
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signet-pki/signet/bench/internal/loadgen"
	"github.com/signet-pki/signet/internal/app"
	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/certutil"
	"github.com/signet-pki/signet/internal/issuance"
)

// profileTo and allocsTo, when set, receive CPU and allocation profiles of the HTTP phases.
var profileTo, allocsTo io.Writer

func main() {
	duration := flag.Duration("duration", 10*time.Second, "length of each phase")
	maxReq := flag.Int("max", 200000, "upper bound on requests per phase")
	concList := flag.String("concurrency", "1,16", "comma-separated client concurrency levels")
	csrCount := flag.Int("csrs", 256, "distinct CSRs to cycle through")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the HTTP phases here")
	memProfile := flag.String("memprofile", "", "write an allocation profile of the HTTP phases here")
	flag.Parse()
	for _, p := range []struct {
		path string
		to   *io.Writer
	}{{*cpuProfile, &profileTo}, {*memProfile, &allocsTo}} {
		if p.path == "" {
			continue
		}
		f, err := os.Create(p.path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		defer f.Close()
		*p.to = f
	}
	memProfileRate := runtime.MemProfileRate
	if allocsTo != nil {
		runtime.MemProfileRate = 0 // sample the HTTP phases only
	}
	if err := run(*duration, *maxReq, *concList, *csrCount, memProfileRate); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(duration time.Duration, maxReq int, concList string, csrCount, memProfileRate int) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := loadgen.StartSignet(ctx, "issuance", 16, nil)
	if err != nil {
		return err
	}
	defer s.Close()
	a, base := s.App, s.Base

	csrs, err := makeCSRs(csrCount)
	if err != nil {
		return err
	}
	fmt.Printf("Signet issuance benchmark — %s, GOMAXPROCS=%d, %s per phase, %d distinct P-256 CSRs\n\n",
		runtime.Version(), runtime.GOMAXPROCS(0), duration, len(csrs))

	baseline, err := inProcess(ctx, a, csrs, duration, maxReq, false)
	if err != nil {
		return err
	}
	withLint, err := inProcess(ctx, a, csrs, duration, maxReq, true)
	if err != nil {
		return err
	}
	fmt.Println("| measurement | certificates/s | ratio to in-process | p50 | p99 | errors | CPU per certificate | other processes (cores) |")
	fmt.Println("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	fmt.Printf("| in-process baseline: parse+verify CSR, x509.CreateCertificate, all cores | %.0f | 1.00 | | | | %s | %s |\n",
		baseline.rate, baseline.cpu, othersText(baseline.others))
	fmt.Printf("| in-process + zlint (Signet lints every certificate) | %.0f | %.2f | | | | %s | %s |\n",
		withLint.rate, withLint.rate/baseline.rate, withLint.cpu, othersText(withLint.others))
	if profileTo != nil {
		if err := pprof.StartCPUProfile(profileTo); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if allocsTo != nil {
		runtime.MemProfileRate = memProfileRate
		defer func() { _ = pprof.Lookup("allocs").WriteTo(allocsTo, 0) }()
	}
	var writers []string // group-commit figures of the HTTP phases, printed after the table
	for _, s := range strings.Split(concList, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || c < 1 {
			return fmt.Errorf("bad concurrency %q", s)
		}
		gc0 := groupCommit(a)
		res := overHTTP(ctx, base, csrs, c, duration, maxReq)
		gc := groupCommit(a).since(gc0)
		fmt.Printf("| HTTP API, concurrency %d, durable (SQLite, synchronous=FULL) | %.0f | %.2f | %s | %s | %d | %s | %s |\n",
			c, res.rate, res.rate/baseline.rate, res.p50.Round(10*time.Microsecond), res.p99.Round(10*time.Microsecond), res.errors,
			res.cpu, othersText(res.others))
		writers = append(writers, fmt.Sprintf("concurrency %d: %s", c, gc.describe(res.elapsed)))
	}
	fmt.Println()
	for _, w := range writers {
		fmt.Println("writer,", w)
	}
	return nil
}

type result struct {
	rate     float64
	p50, p99 time.Duration
	errors   int64
	cpu      perCert       // process CPU time (client, server and all) per certificate
	others   float64       // cores other processes used meanwhile (-1: unknown)
	elapsed  time.Duration // length of the phase
}

// perCert is a process CPU time per certificate.
type perCert time.Duration

func (p perCert) String() string { return fmt.Sprintf("%.0f µs", float64(p)/1e3) }

// cpuTime is the process's user+system CPU time so far.

// machineBusy is the CPU time all processes have used so far, from
// /proc/stat (Linux); ok is false elsewhere.
func machineBusy() (busy time.Duration, ok bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, false
	}
	var ticks int64
	for i, v := range f[1:] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, false
		}
		if i != 3 && i != 4 { // idle, iowait
			ticks += n
		}
	}
	return time.Duration(ticks) * 10 * time.Millisecond, true // USER_HZ is 100 on Linux
}

// meter measures a phase: wall time, this process's CPU time, and the CPU
// other processes took meanwhile (this machine is shared, and a phase that
// competed for the cores is not comparable with one that did not).
type meter struct {
	start      time.Time
	cpu, total time.Duration
	totalOK    bool
}

func startMeter() meter {
	m := meter{start: time.Now(), cpu: loadgen.CPUTime()}
	m.total, m.totalOK = machineBusy()
	return m
}

// stop returns the phase's length, the process's CPU time per certificate,
// and the cores other processes used on average (-1 if unknown).
func (m meter) stop(n int64) (elapsed time.Duration, cpu perCert, others float64) {
	elapsed, used := time.Since(m.start), loadgen.CPUTime()-m.cpu
	if n > 0 {
		cpu = perCert(used / time.Duration(n))
	}
	others = -1
	if total, ok := machineBusy(); ok && m.totalOK {
		others = max(0, (total-m.total-used).Seconds()/elapsed.Seconds())
	}
	return elapsed, cpu, others
}

func othersText(cores float64) string {
	if cores < 0 {
		return "?"
	}
	return fmt.Sprintf("%.2f", cores)
}

// commitStats are the SQLite writer's group-commit counters.
type commitStats struct {
	batches, updates uint64
	busy             time.Duration
	ok               bool
}

func groupCommit(a *app.App) commitStats {
	s, ok := a.Store.(interface {
		GroupCommitStats() (batches, updates uint64, busy time.Duration)
	})
	if !ok {
		return commitStats{}
	}
	b, u, busy := s.GroupCommitStats()
	return commitStats{batches: b, updates: u, busy: busy, ok: true}
}

func (c commitStats) since(prev commitStats) commitStats {
	return commitStats{batches: c.batches - prev.batches, updates: c.updates - prev.updates, busy: c.busy - prev.busy, ok: c.ok}
}

func (c commitStats) describe(elapsed time.Duration) string {
	if !c.ok || c.batches == 0 {
		return "no group-commit figures"
	}
	return fmt.Sprintf("%.1f updates per commit, %.0f µs per commit (statements, commit and fsync), busy %.0f %% of the phase",
		float64(c.updates)/float64(c.batches), float64(c.busy.Microseconds())/float64(c.batches),
		100*c.busy.Seconds()/elapsed.Seconds())
}

func makeCSRs(n int) ([][]byte, error) {
	out := make([][]byte, n)
	for i := range out {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		name := fmt.Sprintf("host-%d.bench.example.com", i)
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
			Subject: pkix.Name{CommonName: name}, DNSNames: []string{name}}, key)
		if err != nil {
			return nil, err
		}
		out[i] = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
	}
	return out, nil
}

// inProcess is the baseline: the same cryptographic work as an issuance, no
// HTTP, no storage, on every core.
func inProcess(ctx context.Context, a *app.App, csrs [][]byte, d time.Duration, maxReq int, lint bool) (result, error) {
	sys := auth.WithPrincipal(ctx, auth.System())
	issuing, err := a.CAs.Get(sys, app.IssuingCAName)
	if err != nil {
		return result{}, err
	}
	iss, err := a.CAs.Issuer(ctx, issuing.ID)
	if err != nil {
		return result{}, err
	}
	linter, err := issuance.NewLinter()
	if err != nil {
		return result{}, err
	}
	var done atomic.Int64
	var firstErr atomic.Value
	deadline := time.Now().Add(d)
	m := startMeter()
	var wg sync.WaitGroup
	for w := range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; time.Now().Before(deadline) && done.Load() < int64(maxReq); i++ {
				csr, err := certutil.ParseCSR(csrs[i%len(csrs)])
				if err != nil {
					firstErr.Store(err)
					return
				}
				serial, _ := certutil.NewSerial()
				tmpl := &x509.Certificate{SerialNumber: serial, Subject: csr.Subject, DNSNames: csr.DNSNames,
					NotBefore: time.Now(), NotAfter: time.Now().AddDate(0, 0, 90), KeyUsage: x509.KeyUsageDigitalSignature,
					ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true}
				der, err := x509.CreateCertificate(nil, tmpl, iss.Cert, csr.PublicKey, iss.Signer)
				if err != nil {
					firstErr.Store(err)
					return
				}
				if lint {
					_ = linter.Check(der)
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return result{}, err
	}
	elapsed, cpu, others := m.stop(done.Load())
	return result{rate: float64(done.Load()) / elapsed.Seconds(), cpu: cpu, others: others, elapsed: elapsed}, nil
}

// overHTTP enrolls with c concurrent keep-alive clients.
func overHTTP(ctx context.Context, base string, csrs [][]byte, c int, d time.Duration, maxReq int) result {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c, MaxConnsPerHost: c}, Timeout: 30 * time.Second}
	bodies := make([][]byte, len(csrs))
	for i, csr := range csrs {
		bodies[i], _ = json.Marshal(map[string]string{"profile": app.DefaultProfile, "csr": string(csr)})
	}
	var issued, errs atomic.Int64
	lat := make([][]time.Duration, c)
	deadline := time.Now().Add(d)
	m := startMeter()
	var wg sync.WaitGroup
	for w := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; time.Now().Before(deadline) && issued.Load()+errs.Load() < int64(maxReq); i += c {
				t0 := time.Now()
				ok := enroll(ctx, client, base, bodies[i%len(bodies)])
				lat[w] = append(lat[w], time.Since(t0))
				if ok {
					issued.Add(1)
				} else {
					errs.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed, cpu, others := m.stop(issued.Load())
	all := slices.Concat(lat...)
	slices.Sort(all)
	res := result{rate: float64(issued.Load()) / elapsed.Seconds(), errors: errs.Load(),
		cpu: cpu, others: others, elapsed: elapsed}
	if len(all) > 0 {
		res.p50, res.p99 = all[len(all)/2], all[len(all)*99/100]
	}
	return res
}

func enroll(ctx context.Context, client *http.Client, base string, body []byte) bool {
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/api/v1/certificates", bytes.NewReader(body))
	if err != nil {
		return false
	}
	req.Header.Set("Authorization", "Bearer "+loadgen.AdminKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode == http.StatusCreated
}
